import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeForm, FAKE_STRIPE_API_VERSION, startFakeStripe, stripeErrors, type FakeStripe } from './stripe-server.js';

const KEY = 'sk_test_fakeKey123456789';
const WHSEC = 'whsec_fakeSecret123';

let fake: FakeStripe;
let stripe: Stripe;
let receiver: Server;
let hookUrl: string;
const received: { raw: Buffer; signature: string | undefined; ok: boolean; error?: string }[] = [];

/** What the app must do: constructEvent over the exact bytes with the real package. */
function check(raw: Buffer, signature: string | undefined) {
  try {
    stripe.webhooks.constructEvent(raw, signature ?? '', WHSEC);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

beforeAll(async () => {
  fake = await startFakeStripe({ secretKey: KEY, webhookSecret: WHSEC, prices: [{ id: 'price_starter', unitAmount: 2900 }, { id: 'price_once', unitAmount: 500, interval: null }] });
  stripe = new Stripe(KEY, { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0 });
  receiver = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(parts);
      const signature = req.headers['stripe-signature'] as string | undefined;
      const r = check(raw, signature);
      received.push({ raw, signature, ...r });
      res.writeHead(r.ok ? 200 : 400, { 'content-type': 'application/json' }).end(JSON.stringify(r.ok ? { received: true } : { error: r.error }));
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await fake.close();
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
});
beforeEach(() => {
  fake.reset();
  received.length = 0;
});

const newSession = (extra: Partial<Stripe.Checkout.SessionCreateParams> = {}) => stripe.checkout.sessions.create({
  mode: 'subscription', line_items: [{ price: 'price_starter', quantity: 1 }], client_reference_id: 'user-1',
  metadata: { plan: 'starter' }, subscription_data: { metadata: { plan: 'starter', userId: 'user-1' } },
  success_url: 'https://app.example/ok', cancel_url: 'https://app.example/cancel', customer_email: 'ana@example.com', ...extra,
});

describe('fake Stripe API', () => {
  it('decodes the bracketed form keys stripe-node sends', () => {
    const { form, flat } = decodeForm('line_items[0][price]=p1&line_items[0][quantity]=1&line_items[1][price]=p2&metadata[plan]=pro&expand[0]=x&mode=subscription');
    expect(form).toEqual({ line_items: [{ price: 'p1', quantity: '1' }, { price: 'p2' }], metadata: { plan: 'pro' }, expand: ['x'], mode: 'subscription' });
    expect(flat['metadata[plan]']).toBe('pro');
  });

  it('creates a Checkout session from the form stripe-node posts, with Bearer auth and the pinned version', async () => {
    const s = await newSession();
    expect(s.id).toMatch(/^cs_test_/);
    expect(s.url).toContain(s.id);
    expect(s).toMatchObject({ object: 'checkout.session', mode: 'subscription', status: 'open', client_reference_id: 'user-1', metadata: { plan: 'starter' } });
    const [req] = fake.requests('POST /v1/checkout/sessions');
    expect(req!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req!.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(req!.headers['stripe-version']).toBe(FAKE_STRIPE_API_VERSION);
    expect(req!.headers['idempotency-key']).toBeTruthy();
    expect(req!.flat).toMatchObject({ mode: 'subscription', 'line_items[0][price]': 'price_starter', 'line_items[0][quantity]': '1', client_reference_id: 'user-1', 'metadata[plan]': 'starter' });
  });

  it("answers Stripe's error envelope, which the client turns into typed errors", async () => {
    const missing = await newSession({ line_items: [{ price: 'price_nope', quantity: 1 }] }).catch((e) => e);
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).toMatchObject({ code: 'resource_missing', param: 'line_items[0][price]', statusCode: 400 });
    expect(missing.message).toBe("No such price: 'price_nope'");
    const oneTime = await newSession({ line_items: [{ price: 'price_once', quantity: 1 }] }).catch((e) => e);
    expect(oneTime.message).toMatch(/recurring price/);
    const both = await newSession({ customer: 'cus_x' }).catch((e) => e);
    expect(both.message).toMatch(/only specify one of these parameters: customer, customer_email/);
    const noUrl = await newSession({ success_url: undefined }).catch((e) => e);
    expect(noUrl).toMatchObject({ code: 'parameter_missing', param: 'success_url' });
    const wrongKey = await new Stripe('sk_test_wrongwrongwrong', { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0 }).customers.create({}).catch((e) => e);
    expect(wrongKey).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(wrongKey.message).not.toContain('wrongwrongwrong');
    const r = await fetch(`${fake.apiUrl}/v1/customers`, { method: 'POST' });
    expect(r.status).toBe(401);
    expect(((await r.json()) as any).error.type).toBe('invalid_request_error');
  });

  it('scripts 429s: retried by the client only with Stripe-Should-Retry, replayed under the same Idempotency-Key', async () => {
    fake.enqueue('POST /v1/customers', stripeErrors.rateLimit({ retryAfter: 2 }));
    const e = await stripe.customers.create({ email: 'a@example.com' }).catch((x) => x);
    expect(e).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(e.headers['retry-after']).toBe('2');

    const retrying = new Stripe(KEY, { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 1 });
    fake.reset();
    fake.enqueue('POST /v1/customers', stripeErrors.rateLimit({ shouldRetry: true }));
    const c = await retrying.customers.create({ email: 'b@example.com' });
    expect(c.id).toMatch(/^cus_/);
    const reqs = fake.requests('POST /v1/customers');
    expect(reqs.map((r) => r.status)).toEqual([429, 200]);
    expect(reqs[0]!.headers['idempotency-key']).toBe(reqs[1]!.headers['idempotency-key']);
  });

  it('honours Idempotency-Key: the same request again gets the first answer', async () => {
    const post = () => fetch(`${fake.apiUrl}/v1/customers`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'k1' }, body: 'email=x%40example.com' });
    const a = await post();
    const b = await post();
    expect(((await a.json()) as any).id).toBe(((await b.json()) as any).id);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(fake.customers.size).toBeGreaterThan(0);
  });

  it('opens a Billing Portal session only for a customer that exists', async () => {
    const none = await stripe.billingPortal.sessions.create({ customer: 'cus_nope' }).catch((e) => e);
    expect(none).toMatchObject({ code: 'resource_missing', param: 'customer' });
    const s = await newSession();
    const done = fake.completeCheckout(s.id);
    const portal = await stripe.billingPortal.sessions.create({ customer: done.customer, return_url: 'https://app.example/billing' });
    expect(portal.url).toMatch(/^https:\/\/billing\.stripe\.com\//);
    expect(fake.requests('POST /v1/billing_portal/sessions').at(-1)!.flat).toEqual({ customer: done.customer, return_url: 'https://app.example/billing' });
    expect((await stripe.subscriptions.retrieve(done.subscription)).status).toBe('active');
  });
});

describe('fake Stripe webhooks', () => {
  it('builds events in the pinned API version: no top-level invoice.subscription or subscription.current_period_end', async () => {
    const s = await newSession();
    const { events, subscription } = fake.completeCheckout(s.id);
    const sub = events.subscriptionCreated.data.object;
    expect(sub).not.toHaveProperty('current_period_end');
    expect(sub.items.data[0]).toMatchObject({ current_period_end: expect.any(Number), price: { id: 'price_starter' } });
    expect(sub.metadata).toEqual({ plan: 'starter', userId: 'user-1' });
    const inv = events.invoicePaid.data.object;
    expect(inv).not.toHaveProperty('subscription');
    expect(inv.parent.subscription_details).toMatchObject({ subscription, metadata: { userId: 'user-1' } });
    expect(events.checkoutCompleted.data.object).toMatchObject({ status: 'complete', payment_status: 'paid', client_reference_id: 'user-1', subscription });
    expect(events.checkoutCompleted.api_version).toBe(FAKE_STRIPE_API_VERSION);
    const failed = fake.invoicePaymentFailed(subscription, { nextPaymentAttempt: null });
    expect(failed.data.object).toMatchObject({ status: 'open', next_payment_attempt: null });
    expect(fake.subscriptions.get(subscription)!.status).toBe('unpaid');
    const updated = fake.updateSubscription(subscription, { cancelAtPeriodEnd: true });
    expect(updated.data.previous_attributes).toEqual({ cancel_at_period_end: false });
  });

  it('signs the exact bytes with the real package, and replays them unchanged', async () => {
    const ev = fake.event('customer.created', { id: 'cus_1', object: 'customer' });
    expect((await fake.deliver(hookUrl, ev)).status).toBe(200);
    expect((await fake.replay(-1)).status).toBe(200);
    expect(received[1]!.raw.equals(received[0]!.raw)).toBe(true);
    expect(received[1]!.signature).toBe(received[0]!.signature);
    expect(received[0]!.raw.toString()).toContain('\n  "id"'); // pretty-printed, like Stripe
  });

  it('fails a re-serialized body, a wrong secret, a missing header and a stale timestamp; passes a future one and a second v1', async () => {
    const ev = fake.event('customer.created', { id: 'cus_2', object: 'customer' });
    const raw = JSON.stringify(ev, null, 2);
    const reserialized = JSON.stringify(JSON.parse(raw));
    expect((await fake.deliverRaw(hookUrl, reserialized, { signature: fake.sign(raw) })).status).toBe(400);
    expect((await fake.deliverRaw(hookUrl, raw, { secret: 'whsec_other' })).status).toBe(400);
    expect((await fake.deliverRaw(hookUrl, raw, { signature: null })).status).toBe(400);
    const now = Math.floor(Date.now() / 1000);
    expect((await fake.deliverRaw(hookUrl, raw, { timestamp: now - 301 })).status).toBe(400);
    expect(received.at(-1)!.error).toMatch(/tolerance/);
    expect((await fake.deliverRaw(hookUrl, raw, { timestamp: now + 600 })).status).toBe(200);
    const good = fake.sign(raw, { timestamp: now });
    const rolled = `t=${now},v1=${'0'.repeat(64)},${good.split(',')[1]}`;
    expect((await fake.deliverRaw(hookUrl, raw, { signature: rolled })).status).toBe(200);
  });
});
