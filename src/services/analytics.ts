import type { Clock, Store, UsageBucket } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';
import { errors } from '../domain/errors.js';
import { canSeeAllAgents } from './access.js';
import { reportScope } from './usage.js';

const DAY_MS = 86_400_000;
const day = (d: Date) => d.toISOString().slice(0, 10);
const dayMs = (d: string) => Date.parse(`${d}T00:00:00Z`);
const money = (v: number) => Math.round(v * 1e8) / 1e8;

/** Longest range a report covers, in days (from and to inclusive). */
export const MAX_RANGE_DAYS = 366;
/** Percentiles are computed in the process from at most this many of the newest calls in range. */
export const LATENCY_SAMPLE_LIMIT = 50_000;

/** Nearest-rank percentile of sorted numbers; null for none. */
export function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

const sortNum = (xs: number[]) => xs.sort((a, b) => a - b);
const zeroUsage = { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
const zeroActivity = { messages: 0, replies: 0, people: 0 };
const usageOf = (b: UsageBucket | undefined) => (b ? { requests: b.requests, inputTokens: b.inputTokens, outputTokens: b.outputTokens, costUsd: b.costUsd } : zeroUsage);

/** Most expensive first, then the busiest, then by name: a stable order for tables and charts. */
const byWeight = <T extends { costUsd: number; requests: number }>(key: (t: T) => string) => (a: T, b: T) =>
  b.costUsd - a.costUsd || b.requests - a.requests || key(a).localeCompare(key(b));

export type AnalyticsQuery = { agentId?: string; from?: string; to?: string };

/**
 * The one definition of each figure, used by every page and report that shows it (the overview,
 * the Analytics page and its tables, the usage summary) and served with each report so the pages
 * show the same words. Field names in the API: `messages`, `replies`, `people`, `requests`.
 */
export const FIGURES = {
  messages: 'Messages: what people sent to agents, one per message received, on any channel (web chat, message API, Telegram, WhatsApp and the OpenAI-compatible /v1, its own channel "openai"). A message refused by a budget counts; one refused before it was taken (paused agent, too long) does not.',
  replies: "Replies: agents' complete answers stored in conversations (/v1 answers are returned to the caller, not stored).",
  people: 'People: distinct persons who sent messages (a browser linked to a phone counts as that phone\'s person).',
  requests: 'Model calls: every attempt to call a model — chat answers, fallbacks and retries, summaries, routing and embeddings — successful or not. One message can cost several calls, or none.',
} as const;

/**
 * Analytics: conversation activity (messages, replies, people), model usage and cost, latency
 * percentiles and delivery outcomes, per day and broken down by agent, model and channel.
 * Scoped like usage reports: customers only ever see their own agents.
 */
export function analyticsService(deps: { store: Pick<Store, 'agents' | 'analytics' | 'usage'>; clock: Clock }) {
  const { store, clock } = deps;

  function range(q: AnalyticsQuery) {
    const to = q.to ?? day(clock.now());
    const from = q.from ?? day(new Date(dayMs(to) - 29 * DAY_MS));
    if (from > to) throw errors.validation([{ path: 'from', message: 'must not be after "to"' }]);
    const days = (dayMs(to) - dayMs(from)) / DAY_MS + 1;
    if (days > MAX_RANGE_DAYS) throw errors.validation([{ path: 'from', message: `the range may cover at most ${MAX_RANGE_DAYS} days` }]);
    const list: string[] = [];
    for (let t = dayMs(from); t <= dayMs(to); t += DAY_MS) list.push(day(new Date(t)));
    return { from, to, days: list };
  }

  return {
    async report(actor: Actor, q: AnalyticsQuery) {
      const { from, to, days } = range(q);
      const f = { agentIds: await reportScope(store, actor, q.agentId), from, to };
      const a = store.analytics;
      const [
        [activityTotal], activityDays, activityAgents, activityChannels,
        usageTotals, usageDays, usageAgents, usageModels, usageChannels,
        samples, delivery, agents,
      ] = await Promise.all([
        a.activity(f, 'total'), a.activity(f, 'day'), a.activity(f, 'agent'), a.activity(f, 'channel'),
        store.usage.totals(f), store.usage.groupBy(f, 'day'), store.usage.groupBy(f, 'agent'), store.usage.groupBy(f, 'model'), a.usageByChannel(f),
        a.latencySamples(f, LATENCY_SAMPLE_LIMIT), a.delivery(f),
        store.agents.list(canSeeAllAgents(actor) ? {} : { ownerId: actor.user.id }),
      ]);

      // One row per day, zeros included, so charts do not lie by omission.
      const actDay = new Map(activityDays.map((b) => [b.key, b]));
      const useDay = new Map(usageDays.map((b) => [b.key, b]));
      const series = days.map((date) => {
        const act = actDay.get(date) ?? zeroActivity;
        return { date, messages: act.messages, replies: act.replies, people: act.people, ...usageOf(useDay.get(date)) };
      });

      const nameOf = new Map(agents.map((x) => [x.id, x.name]));
      const actAgent = new Map(activityAgents.map((b) => [b.key, b]));
      const useAgent = new Map(usageAgents.map((b) => [b.key, b]));
      const byAgent = [...new Set([...actAgent.keys(), ...useAgent.keys()])].map((key) => {
        const act = actAgent.get(key) ?? zeroActivity;
        const { requests, inputTokens, outputTokens, costUsd } = usageOf(useAgent.get(key));
        return {
          agentId: key || null, name: nameOf.get(key) ?? (key ? 'deleted agent' : 'no agent'),
          messages: act.messages, people: act.people, requests, inputTokens, outputTokens, costUsd,
        };
      }).sort(byWeight((r) => r.name));

      const byModel = usageModels.map(({ key, ...u }) => ({ model: key, ...u })).sort(byWeight((r) => r.model));

      const actChannel = new Map(activityChannels.map((b) => [b.key, b]));
      const useChannel = new Map(usageChannels.map((b) => [b.key, b]));
      const byChannel = [...new Set([...actChannel.keys(), ...useChannel.keys()])].map((channel) => {
        const act = actChannel.get(channel) ?? zeroActivity;
        const u = usageOf(useChannel.get(channel));
        return { channel, messages: act.messages, people: act.people, requests: u.requests, costUsd: u.costUsd };
      }).sort(byWeight((r) => r.channel));

      // Latency of successful chat calls: percentiles over the range and per day.
      const ttftByDay = new Map<string, number[]>();
      const ttft: number[] = [];
      const latency: number[] = [];
      for (const s of samples) {
        latency.push(s.latencyMs);
        if (s.ttftMs === null) continue;
        ttft.push(s.ttftMs);
        const list = ttftByDay.get(s.day) ?? [];
        list.push(s.ttftMs);
        ttftByDay.set(s.day, list);
      }
      sortNum(ttft);
      sortNum(latency);
      const latencySeries = days.map((date) => {
        const xs = sortNum(ttftByDay.get(date) ?? []);
        return { date, ttftP50Ms: percentile(xs, 0.5), ttftP95Ms: percentile(xs, 0.95) };
      });

      // Delivery outcome of each outbound part: a receipt ('delivered', 'read') beats a plain 'sent'.
      const deliveryRows = new Map<string, { channel: string; sent: number; delivered: number; read: number; failed: number; undelivered: number; pending: number }>();
      for (const d of delivery) {
        const row = deliveryRows.get(d.channel) ?? { channel: d.channel, sent: 0, delivered: 0, read: 0, failed: 0, undelivered: 0, pending: 0 };
        deliveryRows.set(d.channel, row);
        const bucket = d.status === 'failed' ? 'failed' : d.status === 'undelivered' ? 'undelivered'
          : d.status === 'sent' ? (d.delivery === 'read' ? 'read' : d.delivery === 'delivered' ? 'delivered' : 'sent')
          : 'pending'; // pending, or being sent right now
        row[bucket] += d.count;
      }

      const act = activityTotal ?? zeroActivity;
      return {
        range: { from, to },
        definitions: FIGURES,
        totals: { messages: act.messages, replies: act.replies, people: act.people, ...usageTotals, costUsd: money(usageTotals.costUsd) },
        series,
        byAgent,
        byModel,
        byChannel,
        latency: {
          ttftP50Ms: percentile(ttft, 0.5), ttftP95Ms: percentile(ttft, 0.95),
          latencyP50Ms: percentile(latency, 0.5), latencyP95Ms: percentile(latency, 0.95),
          series: latencySeries,
        },
        delivery: { byChannel: [...deliveryRows.values()].sort((x, y) => x.channel.localeCompare(y.channel)) },
      };
    },
  };
}
export type AnalyticsService = ReturnType<typeof analyticsService>;
export type AnalyticsReport = Awaited<ReturnType<AnalyticsService['report']>>;
