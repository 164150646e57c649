import type { Db } from '../db.js';
import type { Clock, IdGenerator, TokenRepo, TokenRow } from '../../domain/ports.js';
import { toUser } from './users.js';
import { prepared } from '../prepared.js';

type Row = { id: string; user_id: string; kind: string; name: string; prefix: string; created_at: string; last_used_at: string | null; expires_at: string | null };
const toToken = (r: Row): TokenRow => ({
  id: r.id, userId: r.user_id, kind: r.kind as TokenRow['kind'], name: r.name, prefix: r.prefix,
  createdAt: r.created_at, lastUsedAt: r.last_used_at, expiresAt: r.expires_at,
});
const cols = ['id', 'user_id', 'kind', 'name', 'prefix', 'created_at', 'last_used_at', 'expires_at'] as const;

/** Every authenticated request asks (prepared: built once). */
const tokenWithUser = prepared((db, p: { hash: string }) => db.selectFrom('tokens as t').innerJoin('users as u', 'u.id', 't.user_id')
  .select(['t.id', 't.user_id', 't.kind', 't.name', 't.prefix', 't.created_at', 't.last_used_at', 't.expires_at',
    'u.email', 'u.role', 'u.created_at as u_created_at', 'u.monthly_budget_usd', 'u.name as u_name', 'u.status', 'u.email_verified_at', 'u.timezone'])
  .where('t.hash', '=', p.hash));

export function tokenRepo(db: Db, ids: IdGenerator, clock: Clock): TokenRepo {
  return {
    async insert(t) {
      const row = {
        id: ids.id(), user_id: t.userId, kind: t.kind, name: t.name, prefix: t.prefix, hash: t.hash,
        created_at: clock.now().toISOString(), last_used_at: null, expires_at: t.expiresAt,
      };
      await db.insertInto('tokens').values(row).execute();
      return toToken(row);
    },
    async byHash(hash) {
      const r = await db.selectFrom('tokens').select(cols).where('hash', '=', hash).executeTakeFirst();
      return r && toToken(r);
    },
    async withUser(hash) {
      const r = await tokenWithUser.first(db, { hash });
      return r && { token: toToken(r), user: toUser({ ...r, id: r.user_id, created_at: r.u_created_at, name: r.u_name }) };
    },
    async touch(id, at) {
      await db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
    },
    async listKeys(userId) {
      const rows = await db.selectFrom('tokens').select(cols)
        .where('user_id', '=', userId).where('kind', '=', 'api_key').orderBy('created_at', 'desc').execute();
      return rows.map(toToken);
    },
    async delete(id, userId) {
      let q = db.deleteFrom('tokens').where('id', '=', id);
      if (userId) q = q.where('user_id', '=', userId);
      const r = await q.executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async deleteSessions(userId) {
      const r = await db.deleteFrom('tokens').where('user_id', '=', userId).where('kind', '=', 'session').executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
