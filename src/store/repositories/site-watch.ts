import { sql } from 'kysely';
import type { Db } from '../db.js';
import type { SiteAudit, SiteCheck, SiteEvent, SiteWatchRepo } from '../../domain/ports.js';
import type { Database } from '../schema.js';

const toCheck = (r: Database['site_checks']): SiteCheck => ({
  id: r.id, agentId: r.agent_id, slot: r.slot, at: r.at, ok: Number(r.ok) === 1, status: Number(r.status),
  ttfbMs: r.ttfb_ms === null ? null : Number(r.ttfb_ms), totalMs: r.total_ms === null ? null : Number(r.total_ms),
  certDaysLeft: r.cert_days_left === null ? null : Number(r.cert_days_left), error: r.error,
});
const toAudit = (r: Database['site_audits']): SiteAudit => ({
  id: r.id, agentId: r.agent_id, at: r.at, url: r.url, source: r.source as SiteAudit['source'], status: r.status as SiteAudit['status'],
  finishedAt: r.finished_at, scores: r.scores ? JSON.parse(r.scores) : null, findings: r.findings ? JSON.parse(r.findings) : [],
  pages: r.pages ? JSON.parse(r.pages) : {}, notes: r.notes ? JSON.parse(r.notes) : [], error: r.error,
});

/** The site watch's rows; checks are unique per (agent, slot), the state changes by compare-and-set. */
export function siteWatchRepo(db: Db): SiteWatchRepo {
  return {
    async insertCheck(c) {
      const r = await db.insertInto('site_checks').values({
        id: c.id, agent_id: c.agentId, slot: c.slot, at: c.at, ok: c.ok ? 1 : 0, status: c.status, ttfb_ms: c.ttfbMs, total_ms: c.totalMs,
        cert_days_left: c.certDaysLeft, error: c.error,
      }).onConflict((oc) => oc.columns(['agent_id', 'slot']).doNothing()).executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async checks(agentId, from, to, limit) {
      const rows = await db.selectFrom('site_checks').selectAll().where('agent_id', '=', agentId).where('at', '>=', from).where('at', '<=', to)
        .orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.reverse().map(toCheck);
    },
    async lastChecks(agentId, n) {
      return (await db.selectFrom('site_checks').selectAll().where('agent_id', '=', agentId).orderBy('at', 'desc').orderBy('id', 'desc').limit(n).execute()).map(toCheck);
    },
    async uptime(agentId, since, until) {
      const r = await db.selectFrom('site_checks').where('agent_id', '=', agentId).where('at', '>=', since).where('at', '<=', until)
        .select([sql<number>`count(*)`.as('total'), sql<number>`coalesce(sum(ok), 0)`.as('ok')]).executeTakeFirst();
      return { ok: Number(r?.ok ?? 0), total: Number(r?.total ?? 0) };
    },
    async prune(before) {
      const r = await db.deleteFrom('site_checks').where('at', '<', before).executeTakeFirst();
      await db.deleteFrom('site_events').where('at', '<', before).execute();
      return Number(r.numDeletedRows ?? 0n);
    },
    async state(agentId) {
      const r = await db.selectFrom('site_state').selectAll().where('agent_id', '=', agentId).executeTakeFirst();
      return r ? { agentId: r.agent_id, state: r.state as 'up' | 'down', since: r.since, reason: r.reason } : undefined;
    },
    async changeState(agentId, from, to) {
      if (from === undefined) {
        const r = await db.insertInto('site_state').values({ agent_id: agentId, state: to.state, since: to.since, reason: to.reason })
          .onConflict((oc) => oc.column('agent_id').doNothing()).executeTakeFirst();
        return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
      }
      const r = await db.updateTable('site_state').set({ state: to.state, since: to.since, reason: to.reason })
        .where('agent_id', '=', agentId).where('state', '=', from).executeTakeFirst();
      return Number(r.numUpdatedRows ?? 0n) > 0;
    },
    async insertEvent(e: SiteEvent) {
      await db.insertInto('site_events').values({ id: e.id, agent_id: e.agentId, kind: e.kind, at: e.at, detail: e.detail }).execute();
    },
    async events(agentId, limit) {
      const rows = await db.selectFrom('site_events').selectAll().where('agent_id', '=', agentId).orderBy('at', 'desc').limit(limit).execute();
      return rows.map((r) => ({ id: r.id, agentId: r.agent_id, kind: r.kind as SiteEvent['kind'], at: r.at, detail: r.detail }));
    },
    async insertAudit(a) {
      await db.insertInto('site_audits').values({
        id: a.id, agent_id: a.agentId, at: a.at, url: a.url, source: a.source, status: a.status, finished_at: a.finishedAt,
        scores: a.scores ? JSON.stringify(a.scores) : null, findings: JSON.stringify(a.findings), pages: JSON.stringify(a.pages),
        notes: JSON.stringify(a.notes), error: a.error,
      }).execute();
    },
    async updateAudit(id, p) {
      const set: Partial<Database['site_audits']> = {};
      if (p.status !== undefined) set.status = p.status;
      if (p.finishedAt !== undefined) set.finished_at = p.finishedAt;
      if (p.scores !== undefined) set.scores = p.scores ? JSON.stringify(p.scores) : null;
      if (p.findings !== undefined) set.findings = JSON.stringify(p.findings);
      if (p.pages !== undefined) set.pages = JSON.stringify(p.pages);
      if (p.notes !== undefined) set.notes = JSON.stringify(p.notes);
      if (p.error !== undefined) set.error = p.error;
      if (Object.keys(set).length) await db.updateTable('site_audits').set(set).where('id', '=', id).execute();
    },
    async audit(id) {
      const r = await db.selectFrom('site_audits').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toAudit(r) : undefined;
    },
    async audits(agentId, limit) {
      return (await db.selectFrom('site_audits').selectAll().where('agent_id', '=', agentId).orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute()).map(toAudit);
    },
    async auditCounts(agentId, since) {
      const r = await db.selectFrom('site_audits').where('agent_id', '=', agentId)
        .select([
          sql<number>`coalesce(sum(case when at >= ${since} then 1 else 0 end), 0)`.as('recent'),
          sql<number>`coalesce(sum(case when status in ('queued', 'running') then 1 else 0 end), 0)`.as('open'),
        ]).executeTakeFirst();
      return { recent: Number(r?.recent ?? 0), open: Number(r?.open ?? 0) };
    },
  };
}
