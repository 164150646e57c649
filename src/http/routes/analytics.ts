import { createRoute, z } from '@hono/zod-openapi';
import { errors } from '../../domain/errors.js';
import type { AnalyticsReport } from '../../services/analytics.js';
import { router } from '../router.js';
import { toCsv } from '../csv.js';
import { authorize } from '../../services/access.js';
import type { AnalyticsService } from '../../services/analytics.js';
import { DayParam as day, errorResponses } from '../schemas.js';


const n = z.number();
const ms = z.number().nullable();
const Activity = { messages: n, people: n };
const Usage = { requests: n, inputTokens: n, outputTokens: n, costUsd: n };
const AnalyticsSchema = z.object({
  range: z.object({ from: z.string(), to: z.string() }),
  definitions: z.object({ messages: z.string(), replies: z.string(), people: z.string(), requests: z.string() })
    .openapi({ description: 'What each figure counts (the same definitions on every page): `requests` are model calls, not messages' }),
  totals: z.object({ ...Activity, replies: n, ...Usage }),
  series: z.array(z.object({ date: z.string(), ...Activity, replies: n, ...Usage })),
  byAgent: z.array(z.object({ agentId: z.string().nullable(), name: z.string(), ...Activity, ...Usage })),
  byModel: z.array(z.object({ model: z.string(), ...Usage })),
  byChannel: z.array(z.object({ channel: z.string(), ...Activity, requests: n, costUsd: n })),
  latency: z.object({
    ttftP50Ms: ms, ttftP95Ms: ms, latencyP50Ms: ms, latencyP95Ms: ms,
    series: z.array(z.object({ date: z.string(), ttftP50Ms: ms, ttftP95Ms: ms })),
  }),
  delivery: z.object({ byChannel: z.array(z.object({ channel: z.string(), sent: n, delivered: n, read: n, failed: n, undelivered: n, pending: n })) }),
}).openapi('Analytics');

/** The tables a report can be downloaded as, with their CSV columns. */
const TABLES = {
  series: ['date', 'messages', 'replies', 'people', 'requests', 'inputTokens', 'outputTokens', 'costUsd'],
  byAgent: ['agentId', 'name', 'messages', 'people', 'requests', 'inputTokens', 'outputTokens', 'costUsd'],
  byModel: ['model', 'requests', 'inputTokens', 'outputTokens', 'costUsd'],
  byChannel: ['channel', 'messages', 'people', 'requests', 'costUsd'],
  delivery: ['channel', 'sent', 'delivered', 'read', 'failed', 'undelivered', 'pending'],
} as const;
type Table = keyof typeof TABLES;
const rowsOf = (r: AnalyticsReport, t: Table): Record<string, unknown>[] => (t === 'delivery' ? r.delivery.byChannel : r[t]);

export function analyticsRoutes(deps: { analytics: AnalyticsService }) {
  const app = router();

  app.openapi(createRoute({ method: 'get', path: '/api/analytics', tags: ['Usage'],
    summary: 'Messages, people, model usage and cost per day and by agent, model and channel; latency percentiles; delivery outcomes. `format=csv&table=…` downloads one table.',
    request: { query: z.object({
      from: day.optional().openapi({ description: 'First day (UTC, inclusive); default 29 days before `to`' }),
      to: day.optional().openapi({ description: 'Last day (UTC, inclusive); default today' }),
      agentId: z.string().max(100).optional(),
      format: z.enum(['json', 'csv']).optional(),
      table: z.enum(Object.keys(TABLES) as [Table, ...Table[]]).optional().openapi({ description: 'The table to download with format=csv' }),
    }) },
    responses: {
      200: { description: 'OK', content: { 'application/json': { schema: AnalyticsSchema }, 'text/csv': { schema: z.string() } } },
      ...errorResponses(400, 401, 404),
    } }),
  async (c) => {
    const actor = authorize(c.get('actor'), 'usage.read');
    const { format, table, ...q } = c.req.valid('query');
    if (format === 'csv' && !table) throw errors.validation([{ path: 'table', message: `is required with format=csv: one of ${Object.keys(TABLES).join(', ')}` }]);
    const report = await deps.analytics.report(actor, q);
    if (format === 'csv' && table) {
      c.header('Content-Disposition', `attachment; filename="analytics-${table}-${report.range.from}-${report.range.to}.csv"`);
      return c.body(toCsv(rowsOf(report, table), [...TABLES[table]]), 200, { 'Content-Type': 'text/csv; charset=utf-8' }) as never;
    }
    return c.json(report, 200);
  });

  return app;
}
