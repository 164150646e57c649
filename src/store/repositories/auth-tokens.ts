import type { Db } from '../db.js';
import type { AuthTokenRepo, Clock, IdGenerator } from '../../domain/ports.js';

/** One-time e-mail tokens (verify_email, reset_password, magic_link), stored as sha256 hashes. */
export function authTokenRepo(db: Db, ids: IdGenerator, clock: Clock): AuthTokenRepo {
  return {
    async insert(t) {
      await db.insertInto('auth_tokens').values({
        id: ids.id(), user_id: t.userId, kind: t.kind, token_hash: t.tokenHash, expires_at: t.expiresAt, used_at: null, created_at: clock.now().toISOString(),
      }).execute();
    },
    async consume(kind, tokenHash, now) {
      // One conditional UPDATE: of two requests with the same token only one sees used_at still null.
      const r = await db.updateTable('auth_tokens').set({ used_at: now })
        .where('token_hash', '=', tokenHash).where('kind', '=', kind).where('used_at', 'is', null).where('expires_at', '>', now)
        .returning('user_id').executeTakeFirst();
      return r && { userId: r.user_id };
    },
    async countSince(userId, kind, since) {
      const r = await db.selectFrom('auth_tokens').select((eb) => eb.fn.countAll().as('n'))
        .where('user_id', '=', userId).where('kind', '=', kind).where('created_at', '>', since).executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async purge(before) {
      const r = await db.deleteFrom('auth_tokens').where('expires_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async revoke(userId, kinds, now) {
      if (!kinds.length) return 0;
      const r = await db.updateTable('auth_tokens').set({ used_at: now })
        .where('user_id', '=', userId).where('kind', 'in', kinds).where('used_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
  };
}
