import { createRoute, z } from '@hono/zod-openapi';
import type { SiteWatchService } from '../../services/site-watch.js';
import type { SiteReportService } from '../../services/site-report.js';
import { authorize } from '../../services/access.js';
import { router } from '../router.js';
import { errorResponses, ok } from '../schemas.js';

const tags = ['Site watch'];
const params = z.object({ id: z.string().min(1) });
const isoTime = z.string().max(40).refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 time').transform((s) => new Date(s).toISOString());

const SiteCheck = z.object({
  at: z.string(), ok: z.boolean(), status: z.number().openapi({ description: 'HTTP status; 0 when the site did not answer (or the guard refused it)' }),
  ttfbMs: z.number().nullable(), totalMs: z.number().nullable(), certDaysLeft: z.number().optional().openapi({ description: 'https only: days until the TLS certificate expires' }),
  error: z.string().optional(),
}).openapi('SiteCheck');
const SiteChecks = z.object({
  url: z.string().nullable(),
  state: z.object({ state: z.enum(['up', 'down']), since: z.string(), reason: z.string().nullable() }).nullable(),
  items: z.array(SiteCheck),
  uptime: z.object({ day: z.number().nullable(), week: z.number().nullable(), month: z.number().nullable() }).openapi({ description: 'Share of checks that succeeded over the last 24 h, 7 d and 30 d (0..1; null: no checks yet)' }),
  events: z.array(z.object({ id: z.string(), kind: z.enum(['down', 'up']), at: z.string(), detail: z.string() })).openapi({ description: 'The site going down and coming back, newest first' }),
}).openapi('SiteChecks');
const SiteFinding = z.object({ id: z.string(), severity: z.enum(['high', 'medium', 'low']), title: z.string(), detail: z.string().openapi({ description: 'Why it matters' }), url: z.string().optional() });
const SiteAudit = z.object({
  id: z.string(), at: z.string(), url: z.string(), source: z.enum(['api', 'tool', 'schedule']), status: z.enum(['queued', 'running', 'done', 'failed']), finishedAt: z.string().nullable(),
  scores: z.object({ seo: z.number(), performance: z.number().optional(), accessibility: z.number().optional() }),
  findings: z.array(SiteFinding).openapi({ description: 'Ranked by impact, highest first' }), notes: z.array(z.string()), error: z.string().nullable(),
}).openapi('SiteAudit');

const SiteReportItem = z.object({
  date: z.string().openapi({ description: 'YYYY-MM-DD in the account time zone' }), path: z.string().openapi({ description: 'In the agent workspace, e.g. reports/2026-03-09.md' }),
  excerpt: z.string().openapi({ description: 'The first of the next steps' }), updatedAt: z.string(),
}).openapi('SiteReportItem');
const SiteReport = z.object({ date: z.string(), path: z.string(), content: z.string().openapi({ description: 'Markdown' }), updatedAt: z.string() }).openapi('SiteReport');

/** The site watch of an agent: uptime checks, audits and weekly reports (issue 17). Owner-scoped through the services. */
export function siteRoutes(deps: { siteWatch: SiteWatchService; siteReport: SiteReportService }) {
  const { siteWatch, siteReport } = deps;
  const app = router();

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/site/checks', tags,
    summary: "The agent's uptime checks between `from` and `to` (default: the last 24 h) and its uptime over the last day, week and month.",
    request: { params, query: z.object({ from: isoTime.optional(), to: isoTime.optional() }) },
    responses: { 200: ok(SiteChecks, 'Checks'), ...errorResponses(400, 401, 403, 404) } }),
  async (c) => c.json(await siteWatch.checks(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id, c.req.valid('query')), 200));

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/site/audits', tags,
    summary: "The agent's site audits, newest first, with scores and findings ranked by impact.",
    request: { params },
    responses: { 200: ok(z.object({ items: z.array(SiteAudit) }), 'Audits'), ...errorResponses(401, 403, 404) } }),
  async (c) => c.json(await siteWatch.audits(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id), 200));

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/site/audits', tags,
    summary: "Runs an audit of the agent's site now (a durable job); its result appears in the audit list. One at a time per agent, and a few an hour.",
    request: { params, body: { required: false, content: { 'application/json': { schema: z.strictObject({ url: z.string().trim().min(1).max(2048).optional() }) } } } },
    responses: { 202: ok(z.object({ auditId: z.string() }), 'Queued'), ...errorResponses(400, 401, 403, 404, 409, 429) } }),
  async (c) => {
    const body = (c.req.valid('json') ?? {}) as { url?: string };
    return c.json(await siteWatch.requestAudit(authorize(c.get('actor'), 'agent.write'), c.req.valid('param').id, body), 202);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/site/reports', tags,
    summary: "The agent's weekly site reports (kept in its workspace under reports/), newest first.",
    request: { params },
    responses: { 200: ok(z.object({ items: z.array(SiteReportItem) }), 'Reports'), ...errorResponses(401, 403, 404) } }),
  async (c) => c.json(await siteReport.list(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id), 200));

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/site/reports/{date}', tags,
    summary: 'One weekly site report (Markdown) by its date.',
    request: { params: params.extend({ date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD') }) },
    responses: { 200: ok(SiteReport, 'Report'), ...errorResponses(400, 401, 403, 404) } }),
  async (c) => {
    const { id, date } = c.req.valid('param');
    return c.json(await siteReport.read(authorize(c.get('actor'), 'agent.read'), id, date), 200);
  });

  return app;
}
