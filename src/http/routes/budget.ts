import { createRoute, z } from '@hono/zod-openapi';
import { alertSettingsSchema } from '../../services/alerts.js';
import { router } from '../router.js';
import { authorize } from '../../services/access.js';
import type { BudgetService } from '../../services/budget.js';
import type { AlertService } from '../../services/alerts.js';
import { jsonBody, ok, errorResponses, IdParam } from '../schemas.js';

const tags = ['Budgets'];
const StateSchema = z.enum(['normal', 'downgraded', 'stopped']);
const BudgetSchema = z.object({
  agentId: z.string(), period: z.string().openapi({ description: 'The month, YYYY-MM (UTC)' }), monthlyBudgetUsd: z.number().nullable(),
  spentUsd: z.number(), reservedUsd: z.number().openapi({ description: 'Promised to model calls still running' }), percent: z.number().nullable(),
  state: StateSchema, downgradeAtPercent: z.number(), stopAtPercent: z.number(), fallbackModel: z.string().nullable(),
  projectedUsd: z.number().openapi({ description: "This month's spend at the pace so far" }),
  series: z.array(z.object({ date: z.string(), spentUsd: z.number().nullable() })).openapi({ description: 'Cumulative spend per day of the month (burn-down); null for days to come' }),
  customer: z.object({ monthlyBudgetUsd: z.number(), spentUsd: z.number() }).nullable(),
}).openapi('Budget');
const AlertSchema = z.object({
  id: z.string(), scope: z.enum(['agent', 'customer', 'person']), scopeId: z.string(), period: z.string(), kind: z.enum(['downgrade', 'stop']),
  ownerId: z.string().nullable(), percent: z.number(), spentUsd: z.number(), budgetUsd: z.number(), message: z.string(), createdAt: z.string(),
  acknowledgedAt: z.string().nullable(), webhookStatus: z.string().nullable(), emailStatus: z.string().nullable(),
}).openapi('BudgetAlert');
const AlertSettingsView = z.object({
  webhookUrl: z.string().nullable(), hasWebhookSecret: z.boolean(),
  email: z.object({ host: z.string(), port: z.number(), secure: z.boolean(), user: z.string().nullable(), hasPassword: z.boolean(), from: z.string(), to: z.array(z.string()) }).nullable(),
}).openapi('AlertSettings');

export function budgetRoutes(deps: { budget: BudgetService; alerts: AlertService }) {
  const { budget, alerts } = deps;
  const app = router();

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/budget', tags, summary: "An agent's budget this month: spent, state (normal, downgraded, stopped) and burn-down",
    request: { params: IdParam }, responses: { 200: ok(BudgetSchema), ...errorResponses(401, 404) } }),
  async (c) => c.json(await budget.status(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id), 200));

  app.openapi(createRoute({ method: 'get', path: '/api/recommendations', tags,
    summary: 'What each agent would have cost over the last 30 days on each cheaper configured model',
    responses: { 200: ok(z.object({ windowDays: z.number(), items: z.array(z.object({
      agentId: z.string(), agentName: z.string(), currentModel: z.string().nullable(), last30DaysUsd: z.number(), requests: z.number(),
      suggestions: z.array(z.object({ model: z.string(), estimatedUsd: z.number(), savingsUsd: z.number(), savingsPercent: z.number() })),
      message: z.string().nullable(),
    })) })), ...errorResponses(401) } }),
  async (c) => c.json(await budget.recommendations(authorize(c.get('actor'), 'usage.read')), 200));

  app.openapi(createRoute({ method: 'get', path: '/api/alerts', tags, summary: 'Budget alerts, newest first (each threshold once per period)',
    responses: { 200: ok(z.object({ alerts: z.array(AlertSchema) })), ...errorResponses(401) } }),
  async (c) => c.json({ alerts: await alerts.list(authorize(c.get('actor'), 'alert.read')) }, 200));

  app.openapi(createRoute({ method: 'post', path: '/api/alerts/{id}/ack', tags, summary: 'Mark an alert as seen',
    request: { params: IdParam }, responses: { 200: ok(AlertSchema), ...errorResponses(401, 403, 404) } }),
  async (c) => c.json(await alerts.acknowledge(authorize(c.get('actor'), 'alert.ack'), c.req.valid('param').id), 200));

  app.openapi(createRoute({ method: 'get', path: '/api/settings/alerts', tags, summary: 'Where budget alerts are sent (secrets are never returned)',
    responses: { 200: ok(AlertSettingsView), ...errorResponses(401, 403) } }),
  async (c) => c.json(await alerts.settings(authorize(c.get('actor'), 'alertSettings.read')), 200));

  app.openapi(createRoute({ method: 'put', path: '/api/settings/alerts', tags,
    summary: 'Set the alert webhook and SMTP settings. `webhookSecret` and `email.password` are write-only: omit to keep, "" to remove.',
    request: jsonBody(alertSettingsSchema), responses: { 200: ok(AlertSettingsView), ...errorResponses(400, 401, 403) } }),
  async (c) => c.json(await alerts.update(authorize(c.get('actor'), 'alertSettings.write'), c.req.valid('json')), 200));

  app.openapi(createRoute({ method: 'post', path: '/api/settings/alerts/test', tags, summary: 'Send a test alert through the webhook and e-mail',
    responses: { 200: ok(z.object({ webhook: z.string(), email: z.string() })), ...errorResponses(400, 401, 403) } }),
  async (c) => c.json(await alerts.test(authorize(c.get('actor'), 'alertSettings.write')), 200));

  return app;
}
