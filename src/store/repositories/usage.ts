import { sql } from 'kysely';
import type { Db } from '../db.js';
import type { Clock, IdGenerator, UsageFilter, UsageRepo } from '../../domain/ports.js';
import type { UsageRecord } from '../../domain/types.js';
import { maskStored } from '../../infra/redact.js';
import type { Database } from '../schema.js';
import { prepared } from '../prepared.js';

/** Every model call's attempt writes one (prepared: built once). */
const insertUsage = prepared((db, p: Database['usage']) => db.insertInto('usage').values({
  id: p.id, agent_id: p.agent_id, conversation_id: p.conversation_id, message_id: p.message_id, channel: p.channel, purpose: p.purpose,
  provider: p.provider, model: p.model, input_tokens: p.input_tokens, output_tokens: p.output_tokens, cost_usd: p.cost_usd,
  ttft_ms: p.ttft_ms, latency_ms: p.latency_ms, status: p.status, error: p.error, day: p.day, created_at: p.created_at,
}));

export function usageRepo(db: Db, ids: IdGenerator, clock: Clock): UsageRepo {
  function filtered(f: UsageFilter) {
    let q = db.selectFrom('usage').where('day', '>=', f.from).where('day', '<=', f.to);
    if (f.agentIds) q = f.agentIds.length ? q.where('agent_id', 'in', f.agentIds) : q.where(sql<boolean>`1 = 0`);
    return q;
  }
  const sums = (eb: any) => [
    eb.fn.countAll().as('requests'),
    eb.fn.coalesce(eb.fn.sum('input_tokens'), eb.lit(0)).as('input_tokens'),
    eb.fn.coalesce(eb.fn.sum('output_tokens'), eb.lit(0)).as('output_tokens'),
    eb.fn.coalesce(eb.fn.sum('cost_usd'), eb.lit(0)).as('cost_usd'),
  ];
  const toTotals = (r: any) => ({
    requests: Number(r.requests), inputTokens: Number(r.input_tokens), outputTokens: Number(r.output_tokens),
    costUsd: Math.round(Number(r.cost_usd) * 1e8) / 1e8,
  });
  return {
    async insert(u) {
      const now = clock.now();
      const rec: UsageRecord = { ...u, id: ids.id(), createdAt: now.toISOString() };
      await insertUsage.execute(db, {
        id: rec.id, agent_id: u.agentId, conversation_id: u.conversationId, message_id: u.messageId,
        channel: u.channel, purpose: u.purpose, provider: u.provider, model: u.model,
        input_tokens: u.inputTokens, output_tokens: u.outputTokens, cost_usd: u.costUsd,
        ttft_ms: u.ttftMs, latency_ms: u.latencyMs, status: u.status, error: maskStored(u.error),
        day: rec.createdAt.slice(0, 10), created_at: rec.createdAt,
      });
      return rec;
    },
    async totals(f) {
      return toTotals(await filtered(f).select(sums).executeTakeFirstOrThrow());
    },
    async groupBy(f, by) {
      const col = by === 'day' ? 'day' : by === 'agent' ? 'agent_id' : by === 'purpose' ? 'purpose' : 'model';
      const rows = await filtered(f).select((eb) => [eb.ref(col).as('key'), ...sums(eb)]).groupBy(col).orderBy(col).execute();
      return rows.map((r: any) => ({ key: String(r.key ?? ''), ...toTotals(r) }));
    },
  };
}
