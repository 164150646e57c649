import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db } from '../db.js';
import { prepared } from '../prepared.js';
import type { AnalyticsRepo, UsageFilter } from '../../domain/ports.js';
import { nextDay } from './text-keys.js';
import { countByStatus } from './inbox.js';

const money = (v: unknown) => Math.round(Number(v) * 1e8) / 1e8;

/**
 * Read-only aggregates for the analytics page. Portable SQL only: days are the text prefix of ISO
 * timestamps (`substr(created_at, 1, 10)`), or the usage table's `day` column.
 */
/** Every admitted message is logged (prepared: built once). */
const recordMessage = prepared((db, p: { id: string; agentId: string; personId: string | null; channel: string; day: string; at: string }) => db.insertInto('person_messages')
  .values({ id: p.id, agent_id: p.agentId, person_id: p.personId, channel: p.channel, day: p.day, created_at: p.at })
  .onConflict((oc) => oc.column('id').doNothing()));

export function analyticsRepo(db: Db): AnalyticsRepo {
  /** An agent filter on a column: all agents (undefined), none (an empty list) or these. */
  const agentsIn = (col: string, ids: string[] | undefined): Expression<SqlBool> =>
    ids === undefined ? sql<SqlBool>`1 = 1` : ids.length ? sql<SqlBool>`${sql.ref(col)} in (${sql.join(ids)})` : sql<SqlBool>`1 = 0`;

  function usageRows(f: UsageFilter) {
    return db.selectFrom('usage').where('day', '>=', f.from).where('day', '<=', f.to).where(agentsIn('agent_id', f.agentIds));
  }

  return {
    async activity(f, by) {
      // Messages and people from the log of received messages (every way in, /v1 included);
      // replies from the stored conversations (ways in that keep one).
      const inKey = {
        total: sql<string>`''`, day: sql<string>`p.day`, agent: sql<string>`p.agent_id`, channel: sql<string>`p.channel`,
      }[by];
      const outKey = {
        total: sql<string>`''`,
        day: sql<string>`substr(m.created_at, 1, 10)`,
        agent: sql<string>`c.agent_id`,
        channel: sql<string>`coalesce(m.channel, c.channel)`,
      }[by];
      let received = db.selectFrom('person_messages as p')
        .where('p.day', '>=', f.from).where('p.day', '<=', f.to).where(agentsIn('p.agent_id', f.agentIds))
        .select([inKey.as('key'), sql<number>`count(*)`.as('messages'), sql<number>`count(distinct p.person_id)`.as('people')]);
      let replies = db.selectFrom('messages as m').innerJoin('conversations as c', 'c.id', 'm.conversation_id')
        .where('m.created_at', '>=', f.from).where('m.created_at', '<', nextDay(f.to)).where(agentsIn('c.agent_id', f.agentIds))
        .where('m.role', '=', 'assistant').where('m.status', '=', 'complete')
        .select([outKey.as('key'), sql<number>`count(*)`.as('replies')]);
      if (by !== 'total') {
        received = received.groupBy(inKey);
        replies = replies.groupBy(outKey);
      }
      const [ins, outs] = await Promise.all([received.execute(), replies.execute()]);
      const rows = new Map<string, { key: string; messages: number; replies: number; people: number }>();
      const row = (key: unknown) => {
        const k = String(key ?? '');
        let r = rows.get(k);
        if (!r) rows.set(k, (r = { key: k, messages: 0, replies: 0, people: 0 }));
        return r;
      };
      for (const r of ins) Object.assign(row(r.key), { messages: Number(r.messages), people: Number(r.people) });
      for (const r of outs) row(r.key).replies = Number(r.replies);
      if (by === 'total') row('');
      return [...rows.values()].sort((a, b) => a.key.localeCompare(b.key));
    },

    async recordMessage(m) {
      await recordMessage.execute(db, { id: m.id, agentId: m.agentId, personId: m.personId, channel: m.channel, day: m.at.slice(0, 10), at: m.at });
    },

    async usageByChannel(f) {
      const rows = await usageRows(f).select((eb) => [
        'channel as key',
        eb.fn.countAll().as('requests'),
        eb.fn.coalesce(eb.fn.sum('input_tokens'), eb.lit(0)).as('input_tokens'),
        eb.fn.coalesce(eb.fn.sum('output_tokens'), eb.lit(0)).as('output_tokens'),
        eb.fn.coalesce(eb.fn.sum('cost_usd'), eb.lit(0)).as('cost_usd'),
      ]).groupBy('channel').orderBy('channel').execute();
      return rows.map((r) => ({
        key: r.key, requests: Number(r.requests), inputTokens: Number(r.input_tokens), outputTokens: Number(r.output_tokens), costUsd: money(r.cost_usd),
      }));
    },

    async latencySamples(f, limit) {
      const rows = await usageRows(f).where('purpose', '=', 'chat').where('status', '=', 'ok')
        .select(['day', 'ttft_ms', 'latency_ms']).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map((r) => ({ day: r.day, ttftMs: r.ttft_ms === null ? null : Number(r.ttft_ms), latencyMs: Number(r.latency_ms) }));
    },

    async delivery(f) {
      const rows = await db.selectFrom('outbox')
        .where('created_at', '>=', f.from).where('created_at', '<', nextDay(f.to)).where(agentsIn('agent_id', f.agentIds))
        .select((eb) => ['channel', 'status', 'delivery', eb.fn.countAll().as('n')])
        .groupBy(['channel', 'status', 'delivery']).orderBy('channel').execute();
      return rows.map((r) => ({ channel: r.channel, status: r.status, delivery: r.delivery, count: Number(r.n) }));
    },

    outboxCounts: () => countByStatus(db, 'outbox'),

    async channelHealth(agentId, channels) {
      const [inbound, outbound, failed] = await Promise.all([
        db.selectFrom('inbox').where('agent_id', '=', agentId).where('channel', 'in', channels)
          .select((eb) => eb.fn.max('received_at').as('at')).executeTakeFirst(),
        db.selectFrom('outbox').where('agent_id', '=', agentId).where('channel', 'in', channels).where('status', '=', 'sent')
          .select((eb) => eb.fn.max('sent_at').as('at')).executeTakeFirst(),
        // A part that failed for good, or is waiting to retry after an error; a failed receipt sets delivery_at.
        db.selectFrom('outbox').where('agent_id', '=', agentId).where('channel', 'in', channels).where('last_error', 'is not', null)
          .select(['last_error', sql<string>`coalesce(delivery_at, sent_at, created_at)`.as('at')])
          .orderBy(sql`coalesce(delivery_at, sent_at, created_at)`, 'desc').limit(1).executeTakeFirst(),
      ]);
      return { lastInboundAt: inbound?.at ?? null, lastOutboundAt: outbound?.at ?? null, lastError: failed?.last_error ?? null, lastErrorAt: failed?.at ?? null };
    },
  };
}
