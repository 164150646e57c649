import { createRoute, z } from '@hono/zod-openapi';
import { customerPlanSchema, planIdSchema, planInputSchema } from '../../services/billing.js';
import { router } from '../router.js';
import { authorize } from '../../services/access.js';
import type { BillingService } from '../../services/billing.js';
import { jsonBody, ok, noContent, errorResponses, IdParam } from '../schemas.js';

const PlanSchema = z.object({
  id: z.string(), name: z.string(), description: z.string(), priceUsdMonth: z.number(), stripePriceId: z.string().nullable(),
  maxAgents: z.number(), monthlyMessages: z.number().nullable(), monthlyCostUsd: z.number().nullable(),
  tools: z.array(z.string()).openapi({ description: 'Tools agents on this plan may use: memory, web_fetch, web_search, exec' }),
  trialDays: z.number(), sort: z.number(),
  maxSchedules: z.number().nullable().optional(), minScheduleMinutes: z.number().nullable().optional(), minCheckIntervalMinutes: z.number().nullable().optional(),
  maxKnowledgeSources: z.number().nullable().optional().openapi({ description: 'Knowledge sources per agent (null: no cap)' }),
  maxKnowledgePages: z.number().nullable().optional().openapi({ description: 'Pages one site source may read (null: the installation limit)' }),
  maxKnowledgeBytes: z.number().nullable().optional().openapi({ description: 'Bytes of uploaded knowledge files per agent (null: the installation limit)' }),
}).openapi('Plan');
const StatusSchema = z.enum(['none', 'trialing', 'active', 'past_due', 'canceled']);
const BillingSchema = z.object({
  plan: z.string().nullable().openapi({ description: 'The id of the plan the customer is on (trial, starter, pro, …), or null' }),
  planDetails: z.union([PlanSchema, z.null()]), status: StatusSchema, trialEndsAt: z.string().nullable(), currentPeriodEnd: z.string().nullable(),
  pastDueSince: z.string().nullable(), graceEndsAt: z.string().nullable().openapi({ description: 'When agents are paused if the payment is still overdue' }),
  period: z.string().openapi({ description: 'The month usage counts, YYYY-MM (UTC)' }),
  usage: z.object({ messages: z.number(), costUsd: z.number(), agents: z.number() }),
  limits: z.object({ maxAgents: z.number().nullable(), monthlyMessages: z.number().nullable(), monthlyCostUsd: z.number().nullable(), tools: z.array(z.string()).nullable() })
    .openapi({ description: 'null: unlimited' }),
  trialExpired: z.boolean(), blocked: z.enum(['trial_expired', 'canceled']).nullable(),
  billingConfigured: z.boolean(), hasBillingAccount: z.boolean(),
}).openapi('Billing');
const InvoiceSchema = z.object({
  id: z.string(), stripeInvoiceId: z.string(), amountUsd: z.number().openapi({ description: "In the invoice's currency, major units" }), currency: z.string(),
  status: z.string(), hostedUrl: z.string().nullable(), periodStart: z.string().nullable(), periodEnd: z.string().nullable(), createdAt: z.string(),
}).openapi('Invoice');
const CustomerSchema = z.object({
  id: z.string(), email: z.string(), name: z.string().nullable(), status: z.string(), createdAt: z.string(),
  plan: z.string().nullable().openapi({ description: 'The plan id' }), planStatus: StatusSchema, trialEndsAt: z.string().nullable(),
  currentPeriodEnd: z.string().nullable(), pastDueSince: z.string().nullable(),
  agents: z.number(), usage: z.object({ messages: z.number(), costUsd: z.number() }).openapi({ description: 'This month (UTC)' }),
}).openapi('Customer');
const UrlSchema = z.object({ url: z.string() });
const PlanParam = z.object({ id: planIdSchema });

const origin = (url: string) => new URL(url).origin;

/** Plans, a customer's billing, the operator's customer list, and Stripe's webhook. */
export function billingRoutes(deps: { billing: BillingService }) {
  const { billing } = deps;
  const app = router();

  // ----- plans -----
  app.openapi(createRoute({ method: 'get', path: '/api/plans', tags: ['Plans'], summary: 'Plans and their limits, in display order (public: the landing page shows them)',
    security: [], responses: { 200: ok(z.object({ plans: z.array(PlanSchema) })) } }),
  async (c) => c.json({ plans: await billing.listPlans() }, 200));

  app.openapi(createRoute({ method: 'put', path: '/api/plans/{id}', tags: ['Plans'],
    summary: 'Create a plan (name, priceUsdMonth and maxAgents required) or change some of its fields (owner, admin)',
    request: { params: PlanParam, ...jsonBody(planInputSchema) },
    responses: { 200: ok(PlanSchema, 'Updated'), 201: ok(PlanSchema, 'Created'), ...errorResponses(400, 401, 403) } }),
  async (c) => {
    const r = await billing.putPlan(authorize(c.get('actor'), 'plan.write'), c.req.valid('param').id, c.req.valid('json'));
    return r.created ? c.json(r.plan, 201) : c.json(r.plan, 200);
  });

  app.openapi(createRoute({ method: 'delete', path: '/api/plans/{id}', tags: ['Plans'], summary: 'Delete a plan nobody is on (owner, admin); 409 plan_in_use otherwise',
    request: { params: PlanParam }, responses: { ...noContent, ...errorResponses(401, 403, 404, 409) } }),
  async (c) => {
    await billing.deletePlan(authorize(c.get('actor'), 'plan.write'), c.req.valid('param').id);
    return c.body(null, 204);
  });

  // ----- the signed-in user's billing -----
  app.openapi(createRoute({ method: 'get', path: '/api/billing', tags: ['Billing'],
    summary: "Your plan, its standing, this month's usage and your limits (operators see their own, unbilled and unlimited, view)",
    responses: { 200: ok(BillingSchema), ...errorResponses(401) } }),
  async (c) => c.json(await billing.view(authorize(c.get('actor'), 'session.read')), 200));

  app.openapi(createRoute({ method: 'post', path: '/api/billing/checkout', tags: ['Billing'],
    summary: 'Start a Stripe Checkout for a plan (customers); answers the page to send the customer to',
    request: jsonBody(z.strictObject({ plan: planIdSchema })),
    responses: { 200: ok(UrlSchema), ...errorResponses(400, 401, 403, 409, 502, 503) } }),
  async (c) => c.json(await billing.checkout(authorize(c.get('actor'), 'session.write'), c.req.valid('json').plan, origin(c.req.url)), 200));

  app.openapi(createRoute({ method: 'post', path: '/api/billing/portal', tags: ['Billing'],
    summary: 'Open the Stripe Billing Portal (customers with a Stripe account): change plan, card, cancel, invoices',
    responses: { 200: ok(UrlSchema), ...errorResponses(400, 401, 403, 502, 503) } }),
  async (c) => c.json(await billing.portal(authorize(c.get('actor'), 'session.write'), origin(c.req.url)), 200));

  app.openapi(createRoute({ method: 'get', path: '/api/billing/invoices', tags: ['Billing'], summary: 'Your invoices, newest first',
    responses: { 200: ok(z.object({ invoices: z.array(InvoiceSchema) })), ...errorResponses(401) } }),
  async (c) => c.json({ invoices: await billing.invoices(authorize(c.get('actor'), 'session.read')) }, 200));

  // ----- customers (operators) -----
  app.openapi(createRoute({ method: 'get', path: '/api/customers', tags: ['Customers'], summary: 'Customers with their plan, agents and usage this month (owner, admin, auditor)',
    responses: { 200: ok(z.object({ customers: z.array(CustomerSchema) })), ...errorResponses(401, 403) } }),
  async (c) => c.json({ customers: await billing.listCustomers(authorize(c.get('actor'), 'customer.read')) }, 200));

  app.openapi(createRoute({ method: 'put', path: '/api/customers/{id}/plan', tags: ['Customers'],
    summary: 'Put a customer on a plan by hand (owner, admin); status defaults to active (none without a plan)',
    request: { params: IdParam, ...jsonBody(customerPlanSchema) },
    responses: { 200: ok(CustomerSchema), ...errorResponses(400, 401, 403, 404) } }),
  async (c) => c.json(await billing.setCustomerPlan(authorize(c.get('actor'), 'customer.write'), c.req.valid('param').id, c.req.valid('json')), 200));

  // ----- Stripe -----
  app.openapi(createRoute({ method: 'post', path: '/api/webhooks/stripe', tags: ['Webhooks'],
    summary: 'Stripe events; requires Stripe-Signature over the raw body. Each event id is applied once; unknown types are acknowledged and ignored',
    security: [], responses: { 200: ok(z.object({ received: z.boolean(), duplicate: z.boolean().optional(), ignored: z.boolean().optional() })), ...errorResponses(400) } }),
  async (c) => {
    const raw = Buffer.from(await c.req.arrayBuffer());
    return c.json(await billing.handleWebhook(raw, c.req.header('stripe-signature')), 200);
  });

  return app;
}
