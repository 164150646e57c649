import type { Clock, Store } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';
import { errors } from '../domain/errors.js';
import { authorize, canSeeAllAgents } from './access.js';

const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * The agents a report may cover: the one asked for (404 unless the caller may read it), all of them
 * (undefined) for owner, admin and auditor, or a customer's own.
 */
export async function reportScope(store: Pick<Store, 'agents'>, actor: Actor, agentId?: string): Promise<string[] | undefined> {
  if (agentId) {
    const a = await store.agents.byId(agentId);
    if (!a) throw errors.notFound('Agent');
    authorize(actor, 'agent.read', a);
    return [agentId];
  }
  if (canSeeAllAgents(actor)) return undefined;
  return (await store.agents.list({ ownerId: actor.user.id })).map((a) => a.id);
}

/** Usage reports. Customers only ever see their own agents' rows. */
export function usageService(deps: { store: Pick<Store, 'agents' | 'usage'>; clock: Clock }) {
  const { store, clock } = deps;
  const scope = (actor: Actor, agentId?: string) => reportScope(store, actor, agentId);

  return {
    async report(actor: Actor, q: { agentId?: string; from?: string; to?: string }) {
      const now = clock.now();
      const to = q.to ?? day(now);
      const from = q.from ?? day(new Date(now.getTime() - 29 * 86_400_000));
      if (from > to) throw errors.validation([{ path: 'from', message: 'must not be after "to"' }]);
      const f = { agentIds: await scope(actor, q.agentId), from, to };
      const [totals, days, agents, models, purposes, names] = await Promise.all([
        store.usage.totals(f), store.usage.groupBy(f, 'day'), store.usage.groupBy(f, 'agent'), store.usage.groupBy(f, 'model'), store.usage.groupBy(f, 'purpose'),
        store.agents.list(canSeeAllAgents(actor) ? {} : { ownerId: actor.user.id }),
      ]);
      // A continuous series: days without traffic are zeros, so charts do not lie by omission.
      const byDay = new Map(days.map((d) => [d.key, d]));
      const series = [];
      for (let t = Date.parse(from + 'T00:00:00Z'); t <= Date.parse(to + 'T00:00:00Z') && series.length < 3660; t += 86_400_000) {
        const k = day(new Date(t));
        const { key: _k, ...v } = byDay.get(k) ?? { key: k, requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
        series.push({ date: k, ...v });
      }
      const nameOf = new Map(names.map((a) => [a.id, a.name]));
      return {
        from, to, ...totals, totals, series,
        byAgent: agents.map(({ key, ...v }) => ({ agentId: key || null, name: nameOf.get(key) ?? (key ? 'deleted agent' : 'no agent'), ...v })),
        byModel: models.map(({ key, ...v }) => ({ model: key, ...v })),
        // What each kind of work costs (chat, summaries, routing, embeddings, transcription, speech…), dearest first.
        byPurpose: purposes.map(({ key, ...v }) => ({ purpose: key, ...v })).sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests || a.purpose.localeCompare(b.purpose)),
      };
    },

    /** Today and this month, per agent, for the dashboard. */
    async summary(actor: Actor) {
      const now = clock.now();
      const today = day(now);
      const monthStart = today.slice(0, 8) + '01';
      const agents = await store.agents.list(canSeeAllAgents(actor) ? {} : { ownerId: actor.user.id });
      const ids = agents.map((a) => a.id);
      const [t, m] = await Promise.all([
        store.usage.groupBy({ agentIds: ids, from: today, to: today }, 'agent'),
        store.usage.groupBy({ agentIds: ids, from: monthStart, to: today }, 'agent'),
      ]);
      const zero = { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
      const strip = (b?: { key: string } & typeof zero) => (b ? { requests: b.requests, inputTokens: b.inputTokens, outputTokens: b.outputTokens, costUsd: b.costUsd } : zero);
      return {
        agents: agents.map((a) => ({
          agentId: a.id, name: a.name, slug: a.slug,
          today: strip(t.find((x) => x.key === a.id)), month: strip(m.find((x) => x.key === a.id)),
        })),
      };
    },
  };
}
export type UsageService = ReturnType<typeof usageService>;
