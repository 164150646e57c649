import { createRoute, z } from '@hono/zod-openapi';
import type { ScheduleService } from '../../services/schedules.js';
import { ScheduleInput, SchedulePatchInput } from '../../services/schedules.js';
import type { OwnerService } from '../../services/owner.js';
import { router } from '../router.js';
import { errorResponses, IdParam, jsonBody, noContent, ok } from '../schemas.js';

const tags = ['Schedules'];
const DeliverSchema = z.object({ channel: z.enum(['telegram', 'whatsapp', 'email', 'webhook', 'dashboard']), to: z.string().optional() });
const ScheduleSchema = z.object({
  id: z.string(), name: z.string(), kind: z.string(), cron: z.string().nullable(), everyMinutes: z.number().nullable(), timezone: z.string().nullable(),
  instruction: z.string(), deliver: DeliverSchema, enabled: z.boolean(),
  nextRunAt: z.string().nullable().openapi({ description: 'The next slot (ISO, UTC); null while paused' }), createdAt: z.string(), updatedAt: z.string(),
}).openapi('Schedule');
const RunSchema = z.object({
  id: z.string(), scheduledFor: z.string().nullable().openapi({ description: 'The slot this run stood for; null for a manual run' }),
  startedAt: z.string(), finishedAt: z.string().nullable(), status: z.enum(['running', 'ok', 'failed', 'skipped']),
  late: z.boolean(), costUsd: z.number(), output: z.string().nullable(), error: z.string().nullable().openapi({ description: 'Why a run failed or was skipped' }),
  conversationId: z.string().nullable(),
  delivery: z.object({ channel: DeliverSchema.shape.channel, status: z.enum(['sent', 'failed', 'skipped']), error: z.string().optional() }),
}).openapi('ScheduleRun');
const Params = z.object({ id: z.string().min(1).max(100), scheduleId: z.string().min(1).max(100) });

/** Scheduled tasks of an agent and their runs (issue 17), and the owner's one-time Telegram link. */
export function scheduleRoutes(deps: { schedules: ScheduleService; owner: OwnerService }) {
  const { schedules, owner } = deps;
  const app = router();

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/schedules', tags, summary: "An agent's schedules with their next run times",
    request: { params: IdParam }, responses: { 200: ok(z.object({ items: z.array(ScheduleSchema) })), ...errorResponses(401, 404) } }),
  async (c) => c.json({ items: await schedules.list(c.get('actor'), c.req.valid('param').id) }, 200));

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/schedules', tags,
    summary: 'Create a schedule: `cron` (with `timezone`, default the account\'s) or `everyMinutes`, an instruction, and where the result goes. Plans cap the count and the interval.',
    request: { params: IdParam, ...jsonBody(ScheduleInput) }, responses: { 201: ok(ScheduleSchema, 'Created'), ...errorResponses(400, 401, 403, 404) } }),
  async (c) => c.json(await schedules.createFor(c.get('actor'), c.req.valid('param').id, c.req.valid('json')), 201));

  app.openapi(createRoute({ method: 'patch', path: '/api/agents/{id}/schedules/{scheduleId}', tags, summary: 'Change a schedule (enabled: false pauses it)',
    request: { params: Params, ...jsonBody(SchedulePatchInput) }, responses: { 200: ok(ScheduleSchema), ...errorResponses(400, 401, 403, 404) } }),
  async (c) => {
    const p = c.req.valid('param');
    return c.json(await schedules.update(c.get('actor'), p.id, p.scheduleId, c.req.valid('json')), 200);
  });

  app.openapi(createRoute({ method: 'delete', path: '/api/agents/{id}/schedules/{scheduleId}', tags, summary: 'Delete a schedule and its run history',
    request: { params: Params }, responses: { ...noContent, ...errorResponses(401, 403, 404) } }),
  async (c) => {
    const p = c.req.valid('param');
    await schedules.remove(c.get('actor'), p.id, p.scheduleId);
    return c.body(null, 204);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/schedules/{scheduleId}/run', tags, summary: 'Run a schedule now (for testing it); the run has no slot',
    request: { params: Params }, responses: { 202: ok(z.object({ runId: z.string() }), 'Queued'), ...errorResponses(401, 403, 404) } }),
  async (c) => {
    const p = c.req.valid('param');
    return c.json(await schedules.runNow(c.get('actor'), p.id, p.scheduleId), 202);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/schedules/{scheduleId}/runs', tags, summary: 'Runs of a schedule, newest first, with output, cost and delivery',
    request: { params: Params, query: z.object({ limit: z.coerce.number().int().min(1).max(200).optional() }) },
    responses: { 200: ok(z.object({ items: z.array(RunSchema) })), ...errorResponses(401, 404) } }),
  async (c) => {
    const p = c.req.valid('param');
    return c.json({ items: await schedules.runs(c.get('actor'), p.id, p.scheduleId, c.req.valid('query').limit) }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/owner-link', tags,
    summary: "A one-time link (15 minutes) that makes the Telegram chat opening it the agent's owner chat: reports and alerts go there",
    request: { params: IdParam }, responses: { 200: ok(z.object({ url: z.string(), code: z.string(), expiresAt: z.string() })), ...errorResponses(401, 403, 404, 409) } }),
  async (c) => c.json(await owner.createLink(c.get('actor'), c.req.valid('param').id), 200));

  return app;
}
