import { sql } from 'kysely';
import type { Db } from '../db.js';
import type { AuditRepo, Clock, IdGenerator } from '../../domain/ports.js';

/** A LIKE pattern matching `s` literally (used with ESCAPE '\'). */
const likeLiteral = (s: string) => s.replace(/[\\%_]/g, '\\$&');

/** The audit log: who did what to what, and when. It also serves as the shared counter of login failures and mail requests. */
export function auditRepo(db: Db, ids: IdGenerator, clock: Clock): AuditRepo {
  return {
    async add(e) {
      await db.insertInto('audit_log').values({
        id: ids.id(), actor_id: e.actorId, actor_role: e.actorRole ?? null, action: e.action, target_type: e.targetType, target_id: e.targetId,
        detail: JSON.stringify(e.detail), created_at: clock.now().toISOString(),
      }).execute();
    },
    async list(limit, f = {}) {
      const { action } = f;
      let q = db.selectFrom('audit_log').selectAll();
      if (f.targetType) q = q.where('target_type', '=', f.targetType);
      if (f.targetId) q = q.where('target_id', '=', f.targetId);
      if (action?.endsWith('*')) q = q.where(sql<boolean>`action like ${`${likeLiteral(action.slice(0, -1))}%`} escape '\\'`);
      else if (action) q = q.where('action', '=', action);
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map((r) => ({ id: r.id, actorId: r.actor_id, actorRole: r.actor_role, action: r.action, targetType: r.target_type, targetId: r.target_id, detail: JSON.parse(r.detail) as Record<string, unknown>, createdAt: r.created_at }));
    },
    async tally(f) {
      if (!f.actions.length) return { count: 0, first: null, last: null };
      // The created_at index narrows this to the window; the rest is a short scan.
      let q = db.selectFrom('audit_log').where('created_at', '>', f.since).where('action', 'in', f.actions);
      if (f.targetId !== undefined) q = q.where('target_id', '=', f.targetId);
      // detail is JSON written by add(), so the address appears exactly as "ip":"…".
      if (f.ip !== undefined) q = q.where(sql<boolean>`detail like ${`%${likeLiteral(`"ip":${JSON.stringify(f.ip)}`)}%`} escape '\\'`);
      const r = await q.select((eb) => [eb.fn.countAll().as('n'), eb.fn.min('created_at').as('first'), eb.fn.max('created_at').as('last')]).executeTakeFirstOrThrow();
      return { count: Number(r.n), first: (r.first as string | null) ?? null, last: (r.last as string | null) ?? null };
    },
  };
}
