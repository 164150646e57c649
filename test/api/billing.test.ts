/**
 * Plans and billing over real HTTP with a fake Stripe: Checkout and the Billing Portal send Stripe
 * what it needs, signed webhooks move a customer's plan once per event and never backwards, a
 * payment overdue past the grace period pauses the customer's agents (and their Telegram bots) and
 * paying resumes exactly those; without Stripe keys plans still limit. Operators see customers,
 * customers see only themselves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeStripe, stripeErrors, type FakeStripe, type StripeEvent } from '../fakes/stripe-server.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram-server.js';

const KEY = 'sk_test_switchboardBilling';
const WHSEC = 'whsec_switchboardBilling';
const TG_TOKEN = '333333333:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsbw9';
const PASSWORD = 'correct horse battery';
const DAY = 86_400_000;

type Customer = { id: string; email: string; token: string };

/** Creates a user with a role through the API and signs them in. */
async function addUser(app: TestApp, owner: string, email: string, role: 'customer' | 'auditor' | 'admin' = 'customer'): Promise<Customer> {
  const r = await app.api('/api/users', { token: owner, body: { email, password: PASSWORD, role } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const l = await app.api('/api/auth/login', { body: { email, password: PASSWORD } });
  expect(l.status).toBe(200);
  return { id: r.body.id, email, token: l.body.token };
}

/** Early in this month, so the grace period's days never cross into the next month's usage. */
const monthStart = () => { const d = new Date(); return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 2, 12); };

describe('billing with Stripe', () => {
  const clock = manualClock(monthStart());
  let app: TestApp;
  let stripe: FakeStripe;
  let tg: FakeTelegram;
  let owner: string;
  let hook: string;
  const customers: Record<string, Customer> = {};

  const billing = async (c: Customer) => (await app.api('/api/billing', { token: c.token })).body;
  const secs = () => Math.floor(clock.now().getTime() / 1000);
  const send = (ev: StripeEvent, o?: Parameters<FakeStripe['deliver']>[2]) => stripe.deliver(hook, ev, o);
  /** Goes through Checkout for a plan and has the customer pay; returns Stripe's events, not yet delivered. */
  async function subscribe(c: Customer, plan: string) {
    const r = await app.api('/api/billing/checkout', { token: c.token, body: { plan } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const sessionId = String(r.body.url).split('/').at(-1)!;
    return stripe.completeCheckout(sessionId);
  }
  const auditFor = async (eventId: string) => (await app.server.services.store.audit.list(500)).filter((e) => e.action === 'billing.event' && e.detail.eventId === eventId);

  beforeAll(async () => {
    stripe = await startFakeStripe({
      secretKey: KEY, webhookSecret: WHSEC, now: () => clock.now().getTime(),
      prices: [{ id: 'price_starter', unitAmount: 2900 }, { id: 'price_pro', unitAmount: 9900 }],
    });
    tg = await startFakeTelegram({ bots: [{ token: TG_TOKEN, username: 'ShopBot' }] });
    app = await startTestApp({ clock, publicUrl: true, env: { STRIPE_SECRET_KEY: KEY, STRIPE_WEBHOOK_SECRET: WHSEC, STRIPE_API_URL: stripe.apiUrl, TELEGRAM_API_ROOT: tg.apiRoot } });
    hook = `${app.url}/api/webhooks/stripe`;
    owner = await app.owner();
    for (const name of ['ana', 'bo', 'cy', 'di']) customers[name] = await addUser(app, owner, `${name}@example.com`);
    const priced = await app.api('/api/plans/starter', { method: 'PUT', token: owner, body: { stripePriceId: 'price_starter' } });
    expect(priced.status).toBe(200);
  }, 30_000);
  afterAll(async () => {
    await app?.close();
    await stripe?.close();
    await tg?.close();
  });

  it('shows plans to anyone, and lets only owners and admins change them, validating every field', async () => {
    const pub = await app.api('/api/plans');
    expect(pub.status).toBe(200);
    expect(pub.body.plans.map((p: any) => p.id)).toEqual(['trial', 'starter', 'pro']);
    expect(pub.body.plans[1]).toMatchObject({ name: 'Starter', priceUsdMonth: 29, stripePriceId: 'price_starter', maxAgents: 2, tools: ['memory', 'web_fetch', 'web_search'] });

    const ana = customers.ana!;
    expect((await app.api('/api/plans/team', { method: 'PUT', token: ana.token, body: { name: 'Team', priceUsdMonth: 199, maxAgents: 25 } })).status).toBe(403);
    const missing = await app.api('/api/plans/team', { method: 'PUT', token: owner, body: { description: 'For agencies' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.fields.map((f: any) => f.path).sort()).toEqual(['maxAgents', 'name', 'priceUsdMonth']);
    const bad = await app.api('/api/plans/team', { method: 'PUT', token: owner, body: { name: 'Team', priceUsdMonth: -1, maxAgents: 2.5, tools: ['memory', 'shell'], stripePriceId: 'prod_123', trialDays: 400, colour: 'red' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: any) => f.path).sort()).toEqual(['colour', 'maxAgents', 'priceUsdMonth', 'stripePriceId', 'tools.1', 'trialDays']);
    const twice = await app.api('/api/plans/team', { method: 'PUT', token: owner, body: { name: 'Team', priceUsdMonth: 1, maxAgents: 1, tools: ['memory', 'memory'] } });
    expect(twice.body.error.fields[0].path).toBe('tools');
    expect((await app.api('/api/plans/Bad%20Id', { method: 'PUT', token: owner, body: { name: 'x' } })).status).toBe(400);

    const created = await app.api('/api/plans/team', { method: 'PUT', token: owner, body: { name: 'Team', priceUsdMonth: 199, maxAgents: 25, tools: ['memory', 'exec'] } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: 'team', name: 'Team', description: '', priceUsdMonth: 199, stripePriceId: null, maxAgents: 25, monthlyMessages: null, monthlyCostUsd: null, tools: ['memory', 'exec'], trialDays: 0, sort: 3, maxSchedules: null, minScheduleMinutes: null, minCheckIntervalMinutes: null, maxKnowledgeSources: null, maxKnowledgePages: null, maxKnowledgeBytes: null });
    const updated = await app.api('/api/plans/team', { method: 'PUT', token: owner, body: { monthlyMessages: 50_000, description: 'For agencies' } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'Team', priceUsdMonth: 199, monthlyMessages: 50_000, description: 'For agencies', tools: ['memory', 'exec'] });
    expect((await app.api('/api/plans')).body.plans.map((p: any) => p.id)).toEqual(['trial', 'starter', 'pro', 'team']);

    expect((await app.api('/api/plans/team', { method: 'DELETE', token: ana.token })).status).toBe(403);
    expect((await app.api('/api/plans/team', { method: 'DELETE', token: owner })).status).toBe(204);
    expect((await app.api('/api/plans/team', { method: 'DELETE', token: owner })).status).toBe(404);
    const audit = (await app.server.services.store.audit.list(100)).filter((e) => e.targetType === 'plan' && e.targetId === 'team').map((e) => e.action);
    expect(audit.sort()).toEqual(['plan.created', 'plan.deleted', 'plan.updated']);
  });

  it('sends Stripe Checkout the price, the user and the plan, and refuses plans without a price', async () => {
    const ana = customers.ana!;
    const noPrice = await app.api('/api/billing/checkout', { token: ana.token, body: { plan: 'pro' } });
    expect(noPrice.status).toBe(400);
    expect(noPrice.body.error.code).toBe('plan_not_purchasable');
    expect(noPrice.body.error.message).toContain('pro');
    const unknown = await app.api('/api/billing/checkout', { token: ana.token, body: { plan: 'gold' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.fields[0]).toMatchObject({ path: 'plan', message: expect.stringContaining('starter') });
    expect((await app.api('/api/billing/checkout', { token: owner, body: { plan: 'starter' } })).status).toBe(403);
    const portal = await app.api('/api/billing/portal', { token: ana.token, method: 'POST' });
    expect(portal.status).toBe(400);
    expect(portal.body.error.code).toBe('no_billing_account');

    const r = await app.api('/api/billing/checkout', { token: ana.token, body: { plan: 'starter' } });
    expect(r.status).toBe(200);
    expect(r.body.url).toMatch(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
    const sent = stripe.requests('POST /v1/checkout/sessions').at(-1)!;
    expect(sent.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent.flat).toMatchObject({
      mode: 'subscription', client_reference_id: ana.id, 'metadata[plan]': 'starter', 'line_items[0][price]': 'price_starter', 'line_items[0][quantity]': '1',
      customer_email: ana.email, 'subscription_data[metadata][userId]': ana.id, success_url: expect.stringContaining(`${app.url}/dashboard/billing`),
    });
    expect(sent.flat).not.toHaveProperty('customer');
  });

  it("turns Stripe's refusals and rate limits into safe errors, retrying when Stripe says so", async () => {
    const eve = await addUser(app, owner, 'eve@example.com');
    const checkout = () => app.api('/api/billing/checkout', { token: eve.token, body: { plan: 'starter' } });
    stripe.enqueue('POST /v1/checkout/sessions', stripeErrors.rateLimit({ retryAfter: 7 }));
    const limited = await checkout();
    expect(limited.status).toBe(503);
    expect(limited.body.error.code).toBe('stripe_rate_limited');
    expect(limited.headers.get('retry-after')).toBe('7');
    stripe.enqueue('POST /v1/checkout/sessions', stripeErrors.rateLimit({ shouldRetry: true }));
    const before = stripe.requests('POST /v1/checkout/sessions').length;
    expect((await checkout()).status).toBe(200);
    const tries = stripe.requests('POST /v1/checkout/sessions').slice(before);
    expect(tries.map((r) => r.status)).toEqual([429, 200]);
    expect(tries[0]!.headers['idempotency-key']).toBe(tries[1]!.headers['idempotency-key']);

    await app.api('/api/plans/starter', { method: 'PUT', token: owner, body: { stripePriceId: 'price_gone' } });
    const refused = await checkout();
    await app.api('/api/plans/starter', { method: 'PUT', token: owner, body: { stripePriceId: 'price_starter' } });
    expect(refused.status).toBe(502);
    expect(refused.body.error).toMatchObject({ code: 'stripe_error', message: expect.stringContaining("No such price: 'price_gone'") });
    expect(JSON.stringify(refused.body)).not.toContain(KEY);
  });

  it('puts the customer on the plan when a signed checkout.session.completed arrives, before or after the other events', async () => {
    const ana = customers.ana!;
    const before = await billing(ana);
    expect(before).toMatchObject({ plan: null, status: 'none', billingConfigured: true, hasBillingAccount: false });
    const session = [...stripe.sessions.values()].find((s) => s.client_reference_id === ana.id && s.status === 'open')!;
    const { events, customer, subscription, invoice } = stripe.completeCheckout(session.id);
    // Stripe does not promise order: the invoice first (created a second after the checkout, as clocks go), then the
    // checkout, then the subscription.
    const invoicePaid = stripe.event('invoice.paid', events.invoicePaid.data.object, { created: events.checkoutCompleted.created + 1 });
    expect((await send(invoicePaid)).status).toBe(200);
    const r = await send(events.checkoutCompleted);
    expect(r).toMatchObject({ status: 200, body: { received: true } });
    const on = await billing(ana);
    expect(on).toMatchObject({ plan: 'starter', planDetails: { id: 'starter', name: 'Starter' }, status: 'active', hasBillingAccount: true, pastDueSince: null, blocked: null });
    expect(on.limits).toEqual({ maxAgents: 2, monthlyMessages: 3000, monthlyCostUsd: 15, tools: ['memory', 'web_fetch', 'web_search'] });
    expect((await send(events.subscriptionCreated)).status).toBe(200);
    expect((await billing(ana)).currentPeriodEnd).toBe(new Date(stripe.subscriptions.get(subscription)!.items.data[0].current_period_end * 1000).toISOString());
    const state = await app.server.services.store.plans.billing(ana.id);
    expect(state).toMatchObject({ stripeCustomerId: customer, stripeSubscriptionId: subscription });

    const inv = await app.api('/api/billing/invoices', { token: ana.token });
    expect(inv.body.invoices).toEqual([expect.objectContaining({ stripeInvoiceId: invoice, amountUsd: 29, currency: 'usd', status: 'paid', hostedUrl: expect.stringContaining('invoice.stripe.com') })]);
    const limits = await app.server.services.billing.limitsFor(ana.id);
    expect(limits).toMatchObject({ plan: { id: 'starter' }, maxAgents: 2, monthlyMessages: 3000, monthlyCostUsd: 15, trialExpired: false, blocked: null });

    const portal = await app.api('/api/billing/portal', { token: ana.token, method: 'POST' });
    expect(portal.status).toBe(200);
    expect(portal.body.url).toMatch(/^https:\/\/billing\.stripe\.com\//);
    expect(stripe.requests('POST /v1/billing_portal/sessions').at(-1)!.flat).toEqual({ customer, return_url: `${app.url}/dashboard/billing` });
    const again = await app.api('/api/billing/checkout', { token: ana.token, body: { plan: 'starter' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_subscribed');
  });

  it('refuses a missing or bad signature with 400 and changes nothing', async () => {
    const bo = customers.bo!;
    const { events } = await subscribe(bo, 'starter');
    const raw = JSON.stringify(events.checkoutCompleted, null, 2);
    const wrongSecret = await stripe.deliverRaw(hook, raw, { secret: 'whsec_notOurs' });
    expect(wrongSecret.status).toBe(400);
    expect(wrongSecret.body.error.code).toBe('stripe_invalid_signature');
    expect((await stripe.deliverRaw(hook, raw, { signature: null })).body.error.code).toBe('stripe_invalid_signature');
    const forged = raw.replace(bo.id, customers.cy!.id);
    expect((await stripe.deliverRaw(hook, forged, { signature: stripe.sign(raw) })).status).toBe(400);
    expect((await stripe.deliverRaw(hook, JSON.stringify(events.checkoutCompleted), { signature: stripe.sign(raw) })).status).toBe(400);
    expect((await stripe.deliverRaw(hook, raw, { timestamp: secs() - 301 })).status).toBe(400);
    expect((await billing(bo)).status).toBe('none');
    expect((await billing(customers.cy!)).status).toBe('none');
    expect(await auditFor(events.checkoutCompleted.id)).toHaveLength(0);

    // The refused deliveries recorded nothing, so Stripe's properly signed retry still applies.
    expect((await stripe.deliverRaw(hook, raw)).status).toBe(200);
    expect(await billing(bo)).toMatchObject({ status: 'active', plan: 'starter' });
  });

  it('applies the same event id once: a redelivery answers 200 and changes nothing', async () => {
    const bo = customers.bo!;
    const sub = (await app.server.services.store.plans.billing(bo.id))!.stripeSubscriptionId!;
    const t = secs();
    const failed = stripe.invoicePaymentFailed(sub, { created: t });
    expect((await send(failed)).status).toBe(200);
    const failedDelivery = stripe.deliveries.length - 1;
    expect((await billing(bo)).status).toBe('past_due');
    // Paid in the same second: only the event id tells the redelivered failure apart from a new one.
    const paid = stripe.invoicePaid(sub, { created: t });
    expect((await send(paid)).status).toBe(200);
    expect((await billing(bo)).status).toBe('active');
    const invoices = (await app.api('/api/billing/invoices', { token: bo.token })).body.invoices;

    const replay = await stripe.replay(failedDelivery);
    expect(replay).toMatchObject({ status: 200, body: { received: true, duplicate: true } });
    expect(await billing(bo)).toMatchObject({ status: 'active', pastDueSince: null });
    expect((await app.api('/api/billing/invoices', { token: bo.token })).body.invoices).toEqual(invoices);
    expect((await stripe.replay(failedDelivery)).status).toBe(200);
    expect(await auditFor(failed.id)).toHaveLength(1);
    expect(await auditFor(paid.id)).toHaveLength(1);

    // Delivered five times at once (Stripe retrying while the first is still running): applied once.
    const renewal = stripe.invoicePaid(sub);
    const first = await send(renewal);
    const burst = await Promise.all(Array.from({ length: 4 }, () => stripe.replay(stripe.deliveries.length - 1)));
    expect([first, ...burst].every((r) => r.status === 200)).toBe(true);
    expect(await auditFor(renewal.id)).toHaveLength(1);
    expect((await app.api('/api/billing/invoices', { token: bo.token })).body.invoices).toHaveLength(invoices.length + 1);

    const unknown = await send(stripe.event('customer.created', { id: 'cus_zzz', object: 'customer' }));
    expect(unknown).toMatchObject({ status: 200, body: { received: true, ignored: true } });
  });

  it('never rolls state back when an older event arrives after a newer one', async () => {
    const cy = customers.cy!;
    const priced = await app.api('/api/plans/pro', { method: 'PUT', token: owner, body: { stripePriceId: 'price_pro' } });
    expect(priced.status).toBe(200);
    const t = secs();
    const { events, subscription, customer } = await subscribe(cy, 'starter');
    expect((await send(events.subscriptionCreated)).status).toBe(200); // the checkout event itself is held back (see below)
    expect(await billing(cy)).toMatchObject({ status: 'active', plan: 'starter' });

    const older = stripe.updateSubscription(subscription, { status: 'past_due' }, { created: t + 10 });
    const newer = stripe.updateSubscription(subscription, { status: 'active', price: 'price_pro' }, { created: t + 20 });
    expect((await send(newer)).status).toBe(200);
    expect(await billing(cy)).toMatchObject({ status: 'active', plan: 'pro' });
    expect((await send(older)).status).toBe(200);
    expect(await billing(cy)).toMatchObject({ status: 'active', plan: 'pro', pastDueSince: null });

    const deleted = stripe.deleteSubscription(subscription, { created: t + 40 });
    expect((await send(deleted)).status).toBe(200);
    expect(await billing(cy)).toMatchObject({ status: 'canceled', plan: null, blocked: 'canceled' });
    expect(await app.server.services.billing.limitsFor(cy.id)).toMatchObject({ blocked: 'canceled' });
    // The checkout that started it all, delivered last: older than the cancellation, so it changes nothing.
    expect((await send(events.checkoutCompleted)).status).toBe(200);
    expect((await billing(cy)).status).toBe('canceled');

    // Subscribing again reuses the Stripe customer and gives no second trial.
    clock.advance(60_000);
    const r = await app.api('/api/billing/checkout', { token: cy.token, body: { plan: 'starter' } });
    expect(r.status).toBe(200);
    const sent = stripe.requests('POST /v1/checkout/sessions').at(-1)!.flat;
    expect(sent).toMatchObject({ customer, client_reference_id: cy.id, 'metadata[plan]': 'starter' });
    expect(sent).not.toHaveProperty('customer_email');
    const resub = stripe.completeCheckout(String(r.body.url).split('/').at(-1)!);
    expect(resub.customer).toBe(customer);
    expect((await send(resub.events.checkoutCompleted)).status).toBe(200);
    expect(await billing(cy)).toMatchObject({ status: 'active', plan: 'starter', blocked: null });

    // A payment failure, then a subscription update from before it that still said "active": the customer stays past due.
    const t2 = secs();
    expect((await send(stripe.invoicePaymentFailed(resub.subscription, { created: t2 + 30 }))).status).toBe(200);
    const stale = stripe.event('customer.subscription.updated', { ...stripe.subscriptions.get(resub.subscription)!, status: 'active' }, { created: t2 + 25 });
    expect((await send(stale)).status).toBe(200);
    expect(await billing(cy)).toMatchObject({ status: 'past_due', plan: 'starter' });
    expect((await send(stripe.invoicePaid(resub.subscription, { created: t2 + 40 }))).status).toBe(200);
    expect((await billing(cy)).status).toBe('active');
  });

  it('pauses a past-due customer’s agents after the grace period, and paying resumes exactly those', async () => {
    const di = customers.di!;
    const shop = (await app.api('/api/agents', { token: di.token, body: { name: 'Shop' } })).body;
    const blog = (await app.api('/api/agents', { token: di.token, body: { name: 'Blog' } })).body;
    const bot = await app.api(`/api/agents/${shop.id}`, { method: 'PATCH', token: di.token, body: { telegramBotToken: TG_TOKEN } });
    expect(bot.status, JSON.stringify(bot.body)).toBe(200);
    expect(tg.bots.get(TG_TOKEN)!.webhook).not.toBeNull();
    expect((await app.api(`/api/agents/${blog.id}/pause`, { method: 'POST', token: di.token })).status).toBe(200);
    const said = await app.api(`/api/agents/${shop.id}/message`, { token: di.token, body: { text: 'hello' } });
    expect(said.status).toBe(200);

    const { events, subscription } = await subscribe(di, 'starter');
    expect((await send(events.checkoutCompleted)).status).toBe(200);
    const failed = stripe.invoicePaymentFailed(subscription);
    expect((await send(failed)).status).toBe(200);
    const due = await billing(di);
    expect(due).toMatchObject({ status: 'past_due', pastDueSince: clock.now().toISOString(), graceEndsAt: new Date(clock.now().getTime() + 7 * DAY).toISOString() });
    expect(await app.server.services.billing.enforceGrace()).toEqual({ customers: 0, paused: 0 });
    // A second failed attempt does not restart the grace period.
    clock.advance(3 * DAY);
    expect((await send(stripe.invoicePaymentFailed(subscription))).status).toBe(200);
    expect((await billing(di)).pastDueSince).toBe(due.pastDueSince);
    expect(await app.server.services.billing.enforceGrace()).toEqual({ customers: 0, paused: 0 });

    clock.advance(4 * DAY + 60_000);
    expect(await app.server.services.billing.enforceGrace()).toEqual({ customers: 1, paused: 1 });
    const agent = async (id: string) => (await app.api(`/api/agents/${id}`, { token: di.token })).body;
    expect(await agent(shop.id)).toMatchObject({ status: 'paused', pausedReason: 'billing' });
    expect((await agent(blog.id)).status).toBe('paused');
    expect((await agent(blog.id)).pausedReason).not.toBe('billing');
    expect(tg.bots.get(TG_TOKEN)!.webhook).toBeNull();
    expect(await app.server.services.billing.enforceGrace()).toEqual({ customers: 0, paused: 0 });
    // Agents the other customers own are untouched.
    expect((await app.server.services.store.agents.list({ status: 'paused' })).every((a) => a.ownerId === di.id)).toBe(true);

    expect((await send(stripe.invoicePaid(subscription))).status).toBe(200);
    expect(await billing(di)).toMatchObject({ status: 'active', pastDueSince: null, graceEndsAt: null });
    expect(await agent(shop.id)).toMatchObject({ status: 'active', pausedReason: null });
    expect((await agent(blog.id)).status).toBe('paused');
    expect(tg.bots.get(TG_TOKEN)!.webhook).not.toBeNull();
    const entries = (await app.server.services.store.audit.list(500)).filter((e) => e.targetId === di.id);
    expect(entries.map((e) => e.action)).toEqual(expect.arrayContaining(['billing.agents_paused', 'billing.event', 'billing.checkout_started']));
    // The payment's one entry names the agents it resumed.
    expect(entries.find((e) => e.action === 'billing.event' && Array.isArray(e.detail.agentsResumed))?.detail.agentsResumed).toEqual([shop.id]);
  });

  it('lists customers for operators only, and lets owners and admins set a plan by hand', async () => {
    const auditor = await addUser(app, owner, 'audit@example.com', 'auditor');
    const di = customers.di!;
    const list = await app.api('/api/customers', { token: owner });
    expect(list.status).toBe(200);
    expect(list.body.customers.map((c: any) => c.email).sort()).toEqual(['ana@example.com', 'bo@example.com', 'cy@example.com', 'di@example.com', 'eve@example.com']);
    const row = list.body.customers.find((c: any) => c.id === di.id);
    expect(row).toMatchObject({ email: 'di@example.com', status: 'active', plan: 'starter', planStatus: 'active', trialEndsAt: null, agents: 2, usage: { messages: 1 } });
    expect(row.usage.costUsd).toBeGreaterThan(0);
    expect((await app.api('/api/customers', { token: auditor.token })).status).toBe(200);
    expect((await app.api('/api/customers', { token: di.token })).status).toBe(403);

    const bo = customers.bo!;
    expect((await app.api(`/api/customers/${bo.id}/plan`, { method: 'PUT', token: auditor.token, body: { planId: 'pro' } })).status).toBe(403);
    expect((await app.api(`/api/customers/${bo.id}/plan`, { method: 'PUT', token: bo.token, body: { planId: 'pro' } })).status).toBe(403);
    expect((await app.api('/api/customers/nobody/plan', { method: 'PUT', token: owner, body: { planId: 'pro' } })).status).toBe(404);
    expect((await app.api(`/api/customers/${auditor.id}/plan`, { method: 'PUT', token: owner, body: { planId: 'pro' } })).status).toBe(404);
    const gold = await app.api(`/api/customers/${bo.id}/plan`, { method: 'PUT', token: owner, body: { planId: 'gold' } });
    expect(gold.body.error.fields[0].path).toBe('planId');
    const badStatus = await app.api(`/api/customers/${bo.id}/plan`, { method: 'PUT', token: owner, body: { planId: 'pro', status: 'vip' } });
    expect(badStatus.status).toBe(400);

    const set = await app.api(`/api/customers/${bo.id}/plan`, { method: 'PUT', token: owner, body: { planId: 'pro' } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ id: bo.id, plan: 'pro', planStatus: 'active' });
    expect((await billing(bo)).limits.maxAgents).toBe(10);
    const trial = await app.api(`/api/customers/${bo.id}/plan`, { method: 'PUT', token: owner, body: { planId: 'trial', status: 'trialing' } });
    expect(trial.body).toMatchObject({ plan: 'trial', planStatus: 'trialing', trialEndsAt: new Date(clock.now().getTime() + 14 * DAY).toISOString() });
    expect((await app.server.services.store.audit.list(200)).some((e) => e.action === 'customer.plan_set' && e.targetId === bo.id)).toBe(true);

    const inUse = await app.api('/api/plans/starter', { method: 'DELETE', token: owner });
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.code).toBe('plan_in_use');
  });

  it("never shows one customer another's billing", async () => {
    const [ana, bo] = [customers.ana!, customers.bo!];
    const mine = await app.api(`/api/billing?userId=${ana.id}`, { token: bo.token });
    expect(mine.status).toBe(200);
    expect(mine.body.plan).toBe('trial');
    const anaInvoices = (await app.api('/api/billing/invoices', { token: ana.token })).body.invoices.map((i: any) => i.stripeInvoiceId);
    const boInvoices = (await app.api('/api/billing/invoices', { token: bo.token })).body.invoices.map((i: any) => i.stripeInvoiceId);
    expect(anaInvoices.length).toBeGreaterThan(0);
    expect(boInvoices.filter((id: string) => anaInvoices.includes(id))).toEqual([]);
    expect((await app.api('/api/customers', { token: bo.token })).status).toBe(403);
    expect((await app.api(`/api/customers/${ana.id}/plan`, { method: 'PUT', token: bo.token, body: { planId: null } })).status).toBe(403);
    expect((await app.api('/api/billing')).status).toBe(401);
    // The operator's own view: not billed, nothing limited.
    expect(await billing({ id: '', email: '', token: owner })).toMatchObject({ plan: null, status: 'none', limits: { maxAgents: null, monthlyMessages: null, monthlyCostUsd: null, tools: null } });
  });

  it('takes an event dated after 2038 (where a 32-bit integer ends), and refuses a `created` that is no time', async () => {
    const late = await addUser(app, owner, 'late@example.com');
    const r = await app.api('/api/billing/checkout', { token: late.token, body: { plan: 'starter' } });
    const { events } = stripe.completeCheckout(String(r.body.url).split('/').at(-1)!);
    const future = stripe.event('checkout.session.completed', events.checkoutCompleted.data.object, { created: 2_200_000_000 });
    expect((await send(future)).status).toBe(200);
    expect(await billing(late)).toMatchObject({ plan: 'starter', status: 'active' });
    for (const created of [1e308, -5, 1.5]) {
      const odd = stripe.event('invoice.paid', events.invoicePaid.data.object, { created });
      const res = await send(odd);
      expect(res.status, String(created)).toBe(400);
      expect(res.body.error.code).toBe('invalid_payload');
    }
  });
});

describe('billing without Stripe keys', () => {
  const clock = manualClock();
  let app: TestApp;
  let owner: string;
  let customer: Customer;

  beforeAll(async () => {
    app = await startTestApp({ clock });
    owner = await app.owner();
    customer = await addUser(app, owner, 'solo@example.com');
  }, 30_000);
  afterAll(async () => { await app?.close(); });

  it('answers 400 billing_not_configured to checkout, portal and the webhook', async () => {
    for (const path of ['/api/billing/checkout', '/api/billing/portal']) {
      const r = await app.api(path, { token: customer.token, body: path.endsWith('checkout') ? { plan: 'starter' } : {} });
      expect(r.status, path).toBe(400);
      expect(r.body.error.code).toBe('billing_not_configured');
    }
    const hook = await app.api('/api/webhooks/stripe', { raw: '{"id":"evt_1"}', headers: { 'stripe-signature': 't=1,v1=00' } });
    expect(hook.status).toBe(400);
    expect(hook.body.error.code).toBe('billing_not_configured');
    expect((await app.api('/api/billing', { token: customer.token })).body).toMatchObject({ billingConfigured: false, status: 'none', plan: null });
  });

  it('still limits by plan: unlimited without one, the plan once set, blocked when a trial ends', async () => {
    const limits = () => app.server.services.billing.limitsFor(customer.id);
    expect(await limits()).toEqual({ plan: null, maxAgents: null, monthlyMessages: null, monthlyCostUsd: null, tools: null, trialExpired: false, blocked: null });
    const ownerId = (await app.api('/api/auth/me', { token: owner })).body.user.id;
    expect(await app.server.services.billing.limitsFor(ownerId)).toMatchObject({ plan: null, maxAgents: null, blocked: null });

    const set = await app.api(`/api/customers/${customer.id}/plan`, { method: 'PUT', token: owner, body: { planId: 'starter' } });
    expect(set.body).toMatchObject({ plan: 'starter', planStatus: 'active' });
    expect(await limits()).toMatchObject({ plan: { id: 'starter' }, maxAgents: 2, monthlyMessages: 3000, monthlyCostUsd: 15, tools: ['memory', 'web_fetch', 'web_search'], blocked: null });
    expect((await app.api('/api/billing', { token: customer.token })).body.limits).toEqual({ maxAgents: 2, monthlyMessages: 3000, monthlyCostUsd: 15, tools: ['memory', 'web_fetch', 'web_search'] });

    await app.api(`/api/customers/${customer.id}/plan`, { method: 'PUT', token: owner, body: { planId: 'trial', status: 'trialing' } });
    expect(await limits()).toMatchObject({ plan: { id: 'trial' }, maxAgents: 1, trialExpired: false, blocked: null });
    clock.advance(14 * DAY + 1000);
    expect(await limits()).toMatchObject({ plan: { id: 'trial' }, trialExpired: true, blocked: 'trial_expired' });
    expect((await app.api('/api/billing', { token: customer.token })).body).toMatchObject({ status: 'trialing', trialExpired: true, blocked: 'trial_expired' });

    await app.api(`/api/customers/${customer.id}/plan`, { method: 'PUT', token: owner, body: { planId: null } });
    expect(await limits()).toMatchObject({ plan: null, maxAgents: null, blocked: null });
  });
});
