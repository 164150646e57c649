/**
 * Plans and billing. Plans limit what customers may do (agents, messages, spend, tools) whether or
 * not payments are set up; with Stripe configured, customers subscribe through Checkout, manage the
 * subscription in the Billing Portal, and Stripe's webhooks move their billing state. Webhooks are
 * applied once per event id and never roll state back to an older event; customers past due longer
 * than the grace period have their agents paused, and paying resumes exactly those agents.
 */
import { z } from 'zod';
import type { BillingEvent, BillingGateway, BillingState, Clock, CustomerUsage, Plan, Store } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';
import { errors } from '../domain/errors.js';
import { zodProblems } from '../domain/schemas.js';
import type { Logger } from '../infra/logger.js';
import { authorize } from './access.js';
import { changedFields, recordAudit, type AuditActor } from './audit.js';

export const PLAN_TOOLS = ['memory', 'web_fetch', 'web_search', 'exec'] as const;
const PLAN_STATUSES = ['none', 'trialing', 'active', 'past_due', 'canceled'] as const;

export const planIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'must be 1–40 lowercase letters, digits, - or _');
/** PUT /api/plans/:id. Creating a plan needs name, priceUsdMonth and maxAgents; an update may send any subset. */
export const planInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(80).optional(),
  description: z.string().max(500).optional(),
  priceUsdMonth: z.number().min(0).max(100_000).optional(),
  stripePriceId: z.string().regex(/^price_[A-Za-z0-9_]+$/, 'must be a Stripe price id (price_…)').nullable().optional(),
  maxAgents: z.number().int().min(0).max(10_000).optional(),
  monthlyMessages: z.number().int().min(0).max(100_000_000).nullable().optional(),
  monthlyCostUsd: z.number().min(0).max(1_000_000).nullable().optional(),
  tools: z.array(z.enum(PLAN_TOOLS)).max(PLAN_TOOLS.length)
    .refine((t) => new Set(t).size === t.length, 'must not name a tool twice').optional(),
  trialDays: z.number().int().min(0).max(365).optional(),
  sort: z.number().int().min(-1000).max(1000).optional(),
  maxSchedules: z.number().int().min(0).max(100_000).nullable().optional(),
  minScheduleMinutes: z.number().int().min(1).max(525_600).nullable().optional(),
  minCheckIntervalMinutes: z.number().int().min(1).max(1440).nullable().optional(),
  maxKnowledgeSources: z.number().int().min(0).max(100_000).nullable().optional(),
  maxKnowledgePages: z.number().int().min(1).max(50_000).nullable().optional(),
  maxKnowledgeBytes: z.number().int().min(0).max(1_000_000_000_000).nullable().optional(),
});
export type PlanInput = z.infer<typeof planInputSchema>;

export const customerPlanSchema = z.strictObject({
  planId: planIdSchema.nullable(),
  status: z.enum(PLAN_STATUSES).optional(),
});

/** What a customer may do now. Null limits mean unlimited (operators, and customers the operator manages without a plan). */
export type Limits = {
  plan: Plan | null; maxAgents: number | null; monthlyMessages: number | null; monthlyCostUsd: number | null; tools: string[] | null;
  trialExpired: boolean; blocked: null | 'trial_expired' | 'canceled';
};
const UNLIMITED: Omit<Limits, 'plan'> = { maxAgents: null, monthlyMessages: null, monthlyCostUsd: null, tools: null, trialExpired: false, blocked: null };

/**
 * What a customer's plan allows now, from the store alone — so the budget (and the admission step)
 * can read it without the billing service, which is built later (it needs the channels).
 */
export function planLimits(deps: { store: Pick<Store, 'users' | 'plans'>; clock: Clock }) {
  const { store, clock } = deps;
  return async function limitsFor(userId: string): Promise<Limits> {
    const user = await store.users.byId(userId);
    if (!user || user.role !== 'customer') return { plan: null, ...UNLIMITED };
    const b = (await store.plans.billing(userId)) ?? NO_BILLING(userId);
    const plan = b.planId ? (await store.plans.get(b.planId)) ?? null : null;
    // A trial Stripe runs (a paid plan's trial days) ends when Stripe says so; only our own trials expire by the clock.
    const trialExpired = b.planStatus === 'trialing' && !b.stripeSubscriptionId && !!b.trialEndsAt && b.trialEndsAt <= clock.now().toISOString();
    const blocked = b.planStatus === 'canceled' ? 'canceled' : trialExpired ? 'trial_expired' : null;
    if (!plan) return { plan: null, ...UNLIMITED, trialExpired, blocked };
    return { plan, maxAgents: plan.maxAgents, monthlyMessages: plan.monthlyMessages, monthlyCostUsd: plan.monthlyCostUsd, tools: [...plan.tools], trialExpired, blocked };
  };
}

/** Where an agent answers besides the web (Telegram bots): stopped while it is paused, started again when it resumes. */
export type AgentChannels = { activate(agentId: string): Promise<void>; deactivate(agentId: string): Promise<void> };

// ----- the parts of Stripe objects we read (API 2026-10-28.endive; see PROTOCOLS.md on the version trap) -----
const ref = z.union([z.string(), z.object({ id: z.string() })]).nullable().optional()
  .transform((v) => (v == null ? null : typeof v === 'string' ? v : v.id));
const metadata = z.record(z.string(), z.string()).nullable().optional().transform((m) => m ?? {});
const CheckoutSession = z.object({
  id: z.string(), mode: z.string(), payment_status: z.string().optional(), client_reference_id: z.string().nullable().optional(),
  customer: ref, subscription: ref, metadata,
});
const Subscription = z.object({
  id: z.string(), status: z.string(), customer: ref, metadata, trial_end: z.number().nullable().optional(),
  items: z.object({ data: z.array(z.object({ price: z.object({ id: z.string() }), current_period_end: z.number().optional() })) }),
});
const Invoice = z.object({
  id: z.string(), customer: ref, status: z.string().nullable(), amount_paid: z.number(), amount_due: z.number(), currency: z.string(),
  hosted_invoice_url: z.string().nullable().optional(), created: z.number(),
  period_start: z.number().optional(), period_end: z.number().optional(),
  lines: z.object({ data: z.array(z.object({ period: z.object({ start: z.number(), end: z.number() }).optional() })) }).optional(),
  parent: z.object({ subscription_details: z.object({ subscription: ref, metadata }).nullable().optional() }).nullable().optional(),
});

const iso = (unixSeconds: number | null | undefined) => (unixSeconds == null ? null : new Date(unixSeconds * 1000).toISOString());
const NO_BILLING = (userId: string): BillingState => ({
  userId, planId: null, planStatus: 'none', trialEndsAt: null, currentPeriodEnd: null, pastDueSince: null, stripeCustomerId: null, stripeSubscriptionId: null,
});

/** Stripe's subscription status in ours; undefined: no change yet (`incomplete`: the first payment is still being made). */
function mapStatus(s: string): BillingState['planStatus'] | undefined {
  switch (s) {
    case 'active': return 'active';
    case 'trialing': return 'trialing';
    case 'past_due': case 'unpaid': case 'paused': return 'past_due';
    case 'canceled': case 'incomplete_expired': return 'canceled';
    default: return undefined;
  }
}

export function billingService(deps: {
  store: Pick<Store, 'users' | 'plans' | 'billing' | 'audit' | 'transaction'>; clock: Clock; log: Logger; channels: AgentChannels;
  /** Stripe, when STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are set. */
  gateway?: BillingGateway;
  graceDays: number;
  /** Where Checkout and the Portal send the customer back to (else the address the request came to). */
  publicUrl?: string;
}) {
  const { store, clock, log, gateway } = deps;
  const month = () => clock.now().toISOString().slice(0, 7);
  const graceMs = deps.graceDays * 86_400_000;

  const notConfigured = () => errors.badRequest('billing_not_configured', 'Payments are not set up on this Switchboard (STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET); ask the operator to put you on a plan.');
  const requireGateway = () => { if (!gateway) throw notConfigured(); return gateway; };
  const requireCustomer = (actor: Actor) => {
    if (actor.user.role !== 'customer') throw errors.forbidden('Only customer accounts subscribe to plans; operators are not billed.');
  };

  const limitsFor = planLimits({ store, clock });


  /** Agents paused for billing go back to active (in the transaction); their channels start after it commits. */
  async function resumeBillingPaused(tx: Store, userId: string): Promise<string[]> {
    const paused = (await tx.agents.list({ ownerId: userId, status: 'paused' })).filter((a) => a.pausedReason === 'billing');
    for (const a of paused) await tx.agents.update(a.id, { status: 'active', pausedReason: null });
    return paused.map((a) => a.id);
  }

  /** Applies a billing change inside a transaction; resumes billing-paused agents when the customer is in good standing. */
  async function applyState(tx: Store, before: BillingState, patch: Partial<Omit<BillingState, 'userId'>>, audit: { actor: AuditActor; action: string; detail: Record<string, unknown> }) {
    await tx.plans.setBilling(before.userId, patch);
    const after = { ...before, ...patch };
    const resumed = after.planStatus === 'active' || after.planStatus === 'trialing' || after.planStatus === 'none' ? await resumeBillingPaused(tx, before.userId) : [];
    // One entry for the change: the billing fields that changed, and the agents it resumed.
    await recordAudit(tx, audit.actor, audit.action, { type: 'user', id: before.userId }, {
      ...audit.detail, ...changedFields(before, patch), planId: after.planId, planStatus: after.planStatus,
      previous: { planId: before.planId, planStatus: before.planStatus }, ...(resumed.length ? { agentsResumed: resumed } : {}),
    });
    return resumed;
  }

  async function startChannels(agentIds: string[]) {
    for (const id of agentIds) await deps.channels.activate(id).catch((err) => log.warn('agent channel did not start after billing resume', { agentId: id, error: (err as Error).message }));
  }

  /** The customer a Stripe object belongs to: by the user id we gave Stripe, else by the Stripe customer. */
  async function findCustomer(tx: Store, userIds: (string | null | undefined)[], stripeCustomerId: string | null): Promise<BillingState | undefined> {
    for (const id of userIds) {
      if (!id) continue;
      const u = await tx.users.byId(id);
      if (u?.role === 'customer') return (await tx.plans.billing(id)) ?? NO_BILLING(id);
    }
    return stripeCustomerId ? tx.plans.billingByStripeCustomer(stripeCustomerId) : undefined;
  }

  async function planForPrice(tx: Store, priceId: string | undefined, fallback: string | undefined): Promise<string | undefined> {
    const plans = await tx.plans.list();
    return plans.find((p) => priceId && p.stripePriceId === priceId)?.id ?? plans.find((p) => p.id === fallback)?.id;
  }

  function parse<T extends z.ZodType>(schema: T, e: BillingEvent): z.infer<T> {
    const r = schema.safeParse(e.object);
    if (!r.success) {
      const problems = zodProblems(r.error).map((p) => `${p.path || '(object)'}: ${p.message}`).join('; ');
      log.error('stripe event not understood', { eventId: e.id, type: e.type, problems });
      throw errors.badRequest('invalid_payload', `The ${e.type} event lacks fields Switchboard needs (${problems}); check the webhook endpoint's API version.`);
    }
    return r.data;
  }

  type Outcome = { userId: string | null; applied: boolean; resumed: string[] };
  /** Applies one event inside the transaction that records it. */
  type Handler = (tx: Store, e: BillingEvent) => Promise<Outcome>;

  /**
   * Locks the customer, checks event order, and applies `change` unless the event is older than what it would overwrite.
   * Two streams: the subscription (checkout, subscription events, changes by hand) and payments (invoices). An invoice
   * event must be newer than both. A subscription event must be newer than the subscription stream; it may still set the
   * plan, period and ids when a newer invoice event came first, but the standing (active or past due) is then the
   * invoice's (`standingFresh` false) — except a cancellation, which ends that subscription whatever was paid.
   */
  async function ordered(
    tx: Store, e: BillingEvent, b: BillingState, stream: 'subscription' | 'payment',
    change: (b: BillingState, o: { standingFresh: boolean }) => Promise<Partial<Omit<BillingState, 'userId'>> | undefined>,
  ): Promise<Outcome> {
    await tx.billing.lockCustomer(b.userId);
    const current = (await tx.plans.billing(b.userId)) ?? b;
    const marks = await tx.billing.lastEventAt(b.userId);
    const older = (mark: number | null) => mark !== null && e.created < mark;
    if (older(marks.subscription) || (stream === 'payment' && older(marks.payment))) {
      log.info('stripe event older than the state it would change; ignored', { eventId: e.id, type: e.type, created: e.created, marks });
      return { userId: b.userId, applied: false, resumed: [] };
    }
    const patch = await change(current, { standingFresh: !older(marks.payment) });
    if (!patch) return { userId: b.userId, applied: false, resumed: [] };
    await tx.billing.setLastEventAt(b.userId, stream, e.created);
    const resumed = await applyState(tx, current, patch, { actor: 'system', action: 'billing.event', detail: { eventId: e.id, type: e.type } });
    return { userId: b.userId, applied: true, resumed };
  }

  const skip = (userId: string | null = null): Outcome => ({ userId, applied: false, resumed: [] });

  async function recordInvoice(tx: Store, userId: string, inv: z.infer<typeof Invoice>) {
    const period = inv.lines?.data.find((l) => l.period)?.period;
    await tx.billing.upsertInvoice({
      userId, stripeInvoiceId: inv.id, amountUsd: (inv.status === 'paid' ? inv.amount_paid : inv.amount_due) / 100, currency: inv.currency.toLowerCase(),
      status: inv.status ?? 'draft', hostedUrl: inv.hosted_invoice_url ?? null,
      periodStart: iso(period?.start ?? inv.period_start), periodEnd: iso(period?.end ?? inv.period_end), createdAt: iso(inv.created)!,
    });
  }

  const handlers: Record<string, Handler> = {
    async 'checkout.session.completed'(tx, e) {
      const s = parse(CheckoutSession, e);
      if (s.mode !== 'subscription') return skip();
      const b = await findCustomer(tx, [s.client_reference_id, s.metadata.userId], s.customer);
      if (!b) { log.warn('checkout for an unknown customer', { eventId: e.id, clientReferenceId: s.client_reference_id }); return skip(); }
      return ordered(tx, e, b, 'subscription', async (cur) => {
        const planId = await planForPrice(tx, undefined, s.metadata.plan);
        if (!planId) log.warn('checkout names no known plan; the customer keeps their plan', { eventId: e.id, plan: s.metadata.plan });
        const ids = { stripeCustomerId: s.customer ?? cur.stripeCustomerId, stripeSubscriptionId: s.subscription ?? cur.stripeSubscriptionId };
        if (s.payment_status === 'unpaid') return ids; // an async payment method: the subscription events decide
        // Subscription events about this same subscription already told its status; they are the authority.
        const known = cur.stripeSubscriptionId === s.subscription && (cur.planStatus === 'active' || cur.planStatus === 'trialing' || cur.planStatus === 'past_due');
        return { ...ids, planId: planId ?? cur.planId, ...(known ? {} : { planStatus: 'active' as const, pastDueSince: null, trialEndsAt: null }) };
      });
    },

    async 'customer.subscription.created'(tx, e) { return subscriptionChanged(tx, e, false); },
    async 'customer.subscription.updated'(tx, e) { return subscriptionChanged(tx, e, false); },
    async 'customer.subscription.deleted'(tx, e) { return subscriptionChanged(tx, e, true); },

    async 'invoice.paid'(tx, e) {
      const inv = parse(Invoice, e);
      const details = inv.parent?.subscription_details;
      const b = await findCustomer(tx, [details?.metadata.userId], inv.customer);
      if (!b) { log.warn('invoice for an unknown customer', { eventId: e.id, customer: inv.customer }); return skip(); }
      await tx.billing.lockCustomer(b.userId); // before the invoice row: every event takes the customer first
      await recordInvoice(tx, b.userId, inv);
      return ordered(tx, e, b, 'payment', async (cur) => {
        const bind = !cur.stripeCustomerId && inv.customer ? { stripeCustomerId: inv.customer } : {};
        const ours = !details?.subscription || !cur.stripeSubscriptionId || details.subscription === cur.stripeSubscriptionId;
        if (cur.planStatus === 'past_due' && ours) return { ...bind, planStatus: 'active', pastDueSince: null };
        // Paid and in good standing already: still resume anything paused for billing (a manual fix, a lost event).
        return { ...bind };
      });
    },

    async 'invoice.payment_failed'(tx, e) {
      const inv = parse(Invoice, e);
      const details = inv.parent?.subscription_details;
      const b = await findCustomer(tx, [details?.metadata.userId], inv.customer);
      if (!b) { log.warn('invoice for an unknown customer', { eventId: e.id, customer: inv.customer }); return skip(); }
      await tx.billing.lockCustomer(b.userId); // before the invoice row: every event takes the customer first
      await recordInvoice(tx, b.userId, inv);
      return ordered(tx, e, b, 'payment', async (cur) => {
        const ours = !details?.subscription || !cur.stripeSubscriptionId || details.subscription === cur.stripeSubscriptionId;
        // A failed first payment (checkout still incomplete) leaves a customer without a plan as they are.
        if (!ours || !(cur.planStatus === 'active' || cur.planStatus === 'trialing' || cur.planStatus === 'past_due')) return undefined;
        return { planStatus: 'past_due', pastDueSince: cur.pastDueSince ?? clock.now().toISOString() };
      });
    },
  };

  async function subscriptionChanged(tx: Store, e: BillingEvent, deleted: boolean): Promise<Outcome> {
    const sub = parse(Subscription, e);
    const b = await findCustomer(tx, [sub.metadata.userId], sub.customer);
    if (!b) { log.warn('subscription of an unknown customer', { eventId: e.id, customer: sub.customer }); return skip(); }
    return ordered(tx, e, b, 'subscription', async (cur, { standingFresh }) => {
      const status = deleted ? 'canceled' : mapStatus(sub.status);
      const current = !cur.stripeSubscriptionId || cur.stripeSubscriptionId === sub.id;
      if (status === undefined) return current && !cur.stripeCustomerId && sub.customer ? { stripeCustomerId: sub.customer } : undefined;
      if (status === 'canceled') {
        // Another subscription has replaced this one: its end changes nothing.
        if (!current) return undefined;
        return { planId: null, planStatus: 'canceled', stripeSubscriptionId: null, currentPeriodEnd: null, pastDueSince: null, trialEndsAt: null, stripeCustomerId: sub.customer ?? cur.stripeCustomerId };
      }
      const planId = (await planForPrice(tx, sub.items.data[0]?.price.id, sub.metadata.plan)) ?? cur.planId;
      const periodEnds = sub.items.data.map((i) => i.current_period_end).filter((n): n is number => typeof n === 'number');
      const fields = {
        planId, stripeSubscriptionId: sub.id, stripeCustomerId: sub.customer ?? cur.stripeCustomerId,
        currentPeriodEnd: periodEnds.length ? iso(Math.max(...periodEnds)) : cur.currentPeriodEnd,
      };
      // A newer invoice event already said whether this customer pays: keep its standing.
      if (!standingFresh && current) return fields;
      return {
        ...fields, planStatus: status,
        trialEndsAt: status === 'trialing' ? iso(sub.trial_end) : null,
        pastDueSince: status === 'past_due' ? cur.pastDueSince ?? clock.now().toISOString() : null,
      };
    });
  }

  const customerRow = (u: { id: string; email: string; name?: string | null; status?: string; createdAt: string }, b: BillingState, usage: CustomerUsage | undefined) => ({
    id: u.id, email: u.email, name: u.name ?? null, status: u.status ?? 'active', createdAt: u.createdAt,
    plan: b.planId, planStatus: b.planStatus, trialEndsAt: b.trialEndsAt, currentPeriodEnd: b.currentPeriodEnd, pastDueSince: b.pastDueSince,
    agents: usage?.agents ?? 0, usage: { messages: usage?.messages ?? 0, costUsd: usage?.costUsd ?? 0 },
  });

  return {
    limitsFor,
    billingConfigured: () => !!gateway,

    /** GET /api/billing: the caller's own plan, standing, usage this month and limits. */
    async view(actor: Actor) {
      const userId = actor.user.id;
      const b = (await store.plans.billing(userId)) ?? NO_BILLING(userId);
      const limits = await limitsFor(userId);
      const plan = b.planId ? (await store.plans.get(b.planId)) ?? null : null;
      const usage = (await store.billing.usage(month(), [userId])).get(userId) ?? { messages: 0, costUsd: 0, agents: 0 };
      return {
        plan: plan?.id ?? null, planDetails: plan, status: b.planStatus, trialEndsAt: b.trialEndsAt, currentPeriodEnd: b.currentPeriodEnd, pastDueSince: b.pastDueSince,
        graceEndsAt: b.pastDueSince ? new Date(Date.parse(b.pastDueSince) + graceMs).toISOString() : null,
        period: month(), usage,
        limits: { maxAgents: limits.maxAgents, monthlyMessages: limits.monthlyMessages, monthlyCostUsd: limits.monthlyCostUsd, tools: limits.tools },
        trialExpired: limits.trialExpired, blocked: limits.blocked,
        billingConfigured: !!gateway, hasBillingAccount: !!b.stripeCustomerId,
      };
    },

    /** POST /api/billing/checkout: a Stripe Checkout page for a plan. */
    async checkout(actor: Actor, planId: string, origin: string) {
      requireCustomer(actor);
      const gw = requireGateway();
      const plan = await store.plans.get(planId);
      if (!plan) throw errors.validation([{ path: 'plan', message: `unknown plan "${planId}"; available: ${(await store.plans.list()).map((p) => p.id).join(', ')}` }]);
      if (!plan.stripePriceId) throw errors.badRequest('plan_not_purchasable', `The plan "${plan.name}" (${plan.id}) has no Stripe price yet; the operator must set its stripePriceId.`);
      const b = (await store.plans.billing(actor.user.id)) ?? NO_BILLING(actor.user.id);
      if (b.stripeSubscriptionId && (b.planStatus === 'active' || b.planStatus === 'trialing' || b.planStatus === 'past_due')) {
        throw errors.conflict('already_subscribed', 'You already have a subscription; change plans or payment details in the billing portal (POST /api/billing/portal).');
      }
      const base = deps.publicUrl ?? origin;
      const session = await gw.checkout({
        userId: actor.user.id, email: actor.user.email, customerId: b.stripeCustomerId, planId: plan.id, priceId: plan.stripePriceId,
        // A trial once: a customer who has paid before does not get another.
        trialDays: b.stripeCustomerId ? 0 : plan.trialDays,
        successUrl: `${base}/dashboard/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}`, cancelUrl: `${base}/dashboard/billing?checkout=canceled`,
      });
      await recordAudit(store, actor, 'billing.checkout_started', { type: 'user', id: actor.user.id }, { plan: plan.id, session: session.id });
      return { url: session.url };
    },

    /** POST /api/billing/portal: the Stripe Billing Portal for the caller's subscription. */
    async portal(actor: Actor, origin: string) {
      requireCustomer(actor);
      const gw = requireGateway();
      const b = await store.plans.billing(actor.user.id);
      if (!b?.stripeCustomerId) throw errors.badRequest('no_billing_account', 'You have no billing account at Stripe yet; subscribe to a plan first.');
      return gw.portal({ customerId: b.stripeCustomerId, returnUrl: `${deps.publicUrl ?? origin}/dashboard/billing` });
    },

    async invoices(actor: Actor) {
      return store.billing.invoices(actor.user.id, 100);
    },

    /** POST /api/webhooks/stripe: verifies, then applies the event once, in one transaction with its record. */
    async handleWebhook(raw: Buffer, signature: string | undefined): Promise<{ received: true; duplicate?: true; ignored?: true }> {
      const e = requireGateway().verify(raw, signature);
      const handler = handlers[e.type];
      const outcome = await store.transaction(async (tx) => {
        if (!(await tx.billing.claimEvent({ id: e.id, type: e.type, created: e.created }))) return 'duplicate' as const;
        return handler ? handler(tx, e) : ('ignored' as const);
      });
      if (outcome === 'duplicate') { log.info('stripe event already handled', { eventId: e.id, type: e.type }); return { received: true, duplicate: true }; }
      if (outcome === 'ignored') return { received: true, ignored: true };
      log.info('stripe event handled', { eventId: e.id, type: e.type, userId: outcome.userId, applied: outcome.applied });
      await startChannels(outcome.resumed);
      return { received: true };
    },

    /** Pauses every active agent of customers past due for longer than the grace period (the periodic sweep calls it). */
    async enforceGrace(): Promise<{ customers: number; paused: number }> {
      const before = new Date(clock.now().getTime() - graceMs).toISOString();
      let customers = 0;
      let paused = 0;
      for (const due of await store.plans.pastDue(before)) {
        const ids = await store.transaction(async (tx) => {
          await tx.billing.lockCustomer(due.userId);
          const cur = await tx.plans.billing(due.userId);
          // Paid in the meantime? Then nothing to pause.
          if (cur?.planStatus !== 'past_due' || !cur.pastDueSince || cur.pastDueSince >= before) return [];
          const agents = await tx.agents.list({ ownerId: due.userId, status: 'active' });
          for (const a of agents) await tx.agents.update(a.id, { status: 'paused', pausedReason: 'billing' });
          if (agents.length) {
            await tx.audit.add({ actorId: null, actorRole: 'system', action: 'billing.agents_paused', targetType: 'user', targetId: due.userId, detail: { agents: agents.map((a) => a.id), pastDueSince: cur.pastDueSince, graceDays: deps.graceDays } });
          }
          return agents.map((a) => a.id);
        });
        if (!ids.length) continue;
        customers++;
        paused += ids.length;
        log.warn('agents paused: payment overdue past the grace period', { userId: due.userId, agents: ids.length });
        for (const id of ids) await deps.channels.deactivate(id).catch((err) => log.warn('agent channel did not stop', { agentId: id, error: (err as Error).message }));
      }
      return { customers, paused };
    },

    // ----- plans (GET is public; changes need owner or admin) -----
    listPlans: () => store.plans.list(),

    async putPlan(actor: Actor, id: string, input: PlanInput): Promise<{ plan: Plan; created: boolean }> {
      authorize(actor, 'plan.write');
      const current = await store.plans.get(id);
      if (!current) {
        const missing = (['name', 'priceUsdMonth', 'maxAgents'] as const).filter((k) => input[k] === undefined);
        if (missing.length) throw errors.validation(missing.map((k) => ({ path: k, message: 'is required to create a plan' })));
      }
      const sort = input.sort ?? current?.sort ?? Math.max(-1, ...(await store.plans.list()).map((p) => p.sort)) + 1;
      const next: Plan = {
        id, name: input.name ?? current!.name, description: input.description ?? current?.description ?? '',
        priceUsdMonth: input.priceUsdMonth ?? current!.priceUsdMonth,
        stripePriceId: input.stripePriceId !== undefined ? input.stripePriceId : current?.stripePriceId ?? null,
        maxAgents: input.maxAgents ?? current!.maxAgents,
        monthlyMessages: input.monthlyMessages !== undefined ? input.monthlyMessages : current?.monthlyMessages ?? null,
        monthlyCostUsd: input.monthlyCostUsd !== undefined ? input.monthlyCostUsd : current?.monthlyCostUsd ?? null,
        tools: input.tools ?? current?.tools ?? [], trialDays: input.trialDays ?? current?.trialDays ?? 0, sort,
        maxSchedules: input.maxSchedules !== undefined ? input.maxSchedules : current?.maxSchedules ?? null,
        minScheduleMinutes: input.minScheduleMinutes !== undefined ? input.minScheduleMinutes : current?.minScheduleMinutes ?? null,
        minCheckIntervalMinutes: input.minCheckIntervalMinutes !== undefined ? input.minCheckIntervalMinutes : current?.minCheckIntervalMinutes ?? null,
        maxKnowledgeSources: input.maxKnowledgeSources !== undefined ? input.maxKnowledgeSources : current?.maxKnowledgeSources ?? null,
        maxKnowledgePages: input.maxKnowledgePages !== undefined ? input.maxKnowledgePages : current?.maxKnowledgePages ?? null,
        maxKnowledgeBytes: input.maxKnowledgeBytes !== undefined ? input.maxKnowledgeBytes : current?.maxKnowledgeBytes ?? null,
      };
      const diff = changedFields(current, current ? input : next);
      const plan = current && !diff.fields.length ? current : await store.transaction(async (tx) => {
        const p = await tx.plans.upsert(next);
        await recordAudit(tx, actor, current ? 'plan.updated' : 'plan.created', { type: 'plan', id }, diff);
        return p;
      });
      return { plan, created: !current };
    },

    async deletePlan(actor: Actor, id: string) {
      authorize(actor, 'plan.write');
      const plan = await store.plans.get(id);
      if (!plan) throw errors.notFound('Plan');
      const n = await store.billing.countOnPlan(id);
      if (n > 0) throw errors.conflict('plan_in_use', `${n} customer${n === 1 ? ' is' : 's are'} on the plan "${plan.name}"; move them to another plan first.`);
      await store.transaction(async (tx) => {
        await tx.plans.delete(id);
        await recordAudit(tx, actor, 'plan.deleted', { type: 'plan', id }, { name: plan.name, priceUsdMonth: plan.priceUsdMonth });
      });
    },

    // ----- customers (operators) -----
    async listCustomers(actor: Actor) {
      authorize(actor, 'customer.read');
      const users = (await store.users.list()).filter((u) => u.role === 'customer');
      const usage = await store.billing.usage(month(), users.map((u) => u.id));
      const rows = [];
      for (const u of users) rows.push(customerRow(u, (await store.plans.billing(u.id)) ?? NO_BILLING(u.id), usage.get(u.id)));
      return rows;
    },

    /** Puts a customer on a plan by hand (no Stripe, a deal, a fix); newer Stripe events still apply afterwards. */
    async setCustomerPlan(actor: Actor, userId: string, input: z.infer<typeof customerPlanSchema>) {
      authorize(actor, 'customer.write');
      const user = await store.users.byId(userId);
      if (!user || user.role !== 'customer') throw errors.notFound('Customer');
      const plan = input.planId ? await store.plans.get(input.planId) : null;
      if (input.planId && !plan) throw errors.validation([{ path: 'planId', message: `unknown plan "${input.planId}"; available: ${(await store.plans.list()).map((p) => p.id).join(', ')}` }]);
      const status = input.status ?? (plan ? 'active' : 'none');
      const now = clock.now();
      const resumed = await store.transaction(async (tx) => {
        await tx.billing.lockCustomer(userId);
        const cur = (await tx.plans.billing(userId)) ?? NO_BILLING(userId);
        // Stripe events from before this moment must not undo it.
        await tx.billing.setLastEventAt(userId, 'subscription', Math.floor(now.getTime() / 1000));
        return applyState(tx, cur, {
          planId: plan?.id ?? null, planStatus: status,
          trialEndsAt: status === 'trialing' ? new Date(now.getTime() + (plan?.trialDays || 14) * 86_400_000).toISOString() : null,
          pastDueSince: status === 'past_due' ? cur.pastDueSince ?? now.toISOString() : null,
        }, { actor, action: 'customer.plan_set', detail: {} });
      });
      await startChannels(resumed);
      const usage = await store.billing.usage(month(), [userId]);
      return customerRow(user, (await store.plans.billing(userId))!, usage.get(userId));
    },

    /** Starts the free trial plan for a new customer (sign-up calls it); false when there is no trial plan. */
    async startTrial(userId: string, planId = 'trial'): Promise<boolean> {
      const plan = await store.plans.get(planId);
      if (!plan) return false;
      const days = plan.trialDays || 14;
      await store.plans.setBilling(userId, { planId: plan.id, planStatus: 'trialing', trialEndsAt: new Date(clock.now().getTime() + days * 86_400_000).toISOString() });
      return true;
    },
  };
}
export type BillingService = ReturnType<typeof billingService>;
