// Fake Stripe API for integration tests (PROTOCOLS.md section 4). Only node:http, binds 127.0.0.1 on a random port;
// point the official client at it with `new Stripe(key, { host: '127.0.0.1', port, protocol: 'http' })` (the app:
// STRIPE_API_URL=fake.apiUrl). Requests are form-encoded with `Authorization: Bearer <secret key>`, exactly as
// stripe-node sends them; answers use Stripe's error envelope {error:{type, code, message, param, doc_url}}.
// Routes: POST /v1/customers, GET /v1/customers/:id, POST /v1/checkout/sessions, GET /v1/checkout/sessions/:id,
// POST /v1/billing_portal/sessions, GET /v1/subscriptions/:id. POSTs honour Idempotency-Key like Stripe (same key
// and body: the first answer again, with `Idempotent-Replayed: true`).
// Webhooks: objects and events are shaped for API version 2026-10-28.endive (no top-level invoice.subscription, no
// top-level subscription.current_period_end), serialized like Stripe (pretty-printed) and signed over those exact
// bytes with the real package's stripe.webhooks.generateTestHeaderString; deliveries are kept for replay.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';

export const FAKE_STRIPE_API_VERSION = '2026-10-28.endive';

export interface StripeJournalEntry {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** The form body decoded into nested objects and arrays (`line_items[0][price]` → form.line_items[0].price). */
  form: Record<string, any>;
  /** The form body as flat key → value pairs, exactly as sent. */
  flat: Record<string, string>;
  status: number;
  at: number;
}

export interface StripeDelivery {
  url: string;
  headers: Record<string, string>;
  /** The exact bytes that were POSTed (and signed). */
  rawBody: Buffer;
  status: number;
  body: string;
  at: number;
}

/** A scripted answer for the next request to a route ("POST /v1/checkout/sessions"). */
export type StripeScript =
  | { status: number; error: { type: string; code?: string; message: string; param?: string; decline_code?: string }; headers?: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'malformed' };

export const stripeErrors = {
  /** 429 as Stripe sends it; `shouldRetry` adds Stripe-Should-Retry (stripe-node retries only then, or on 409/5xx). */
  rateLimit: (o: { retryAfter?: number; shouldRetry?: boolean } = {}): StripeScript => ({
    status: 429,
    error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.' },
    headers: { 'Retry-After': String(o.retryAfter ?? 1), ...(o.shouldRetry === undefined ? {} : { 'Stripe-Should-Retry': String(o.shouldRetry) }) },
  }),
  serverError: (): StripeScript => ({ status: 500, error: { type: 'api_error', message: 'Sorry, something went wrong. We\'ve already been notified of the problem.' }, headers: { 'Stripe-Should-Retry': 'true' } }),
  invalid: (message: string, param?: string, code = 'parameter_invalid_string'): StripeScript => ({ status: 400, error: { type: 'invalid_request_error', code, message, param } }),
  hang: (): StripeScript => ({ kind: 'hang' }),
  reset: (): StripeScript => ({ kind: 'reset' }),
  malformed: (): StripeScript => ({ kind: 'malformed' }),
};

export type StripeEvent = {
  id: string; object: 'event'; api_version: string; created: number; livemode: false; pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null }; type: string;
  data: { object: Record<string, any>; previous_attributes?: Record<string, any> };
};

export interface FakeStripeOptions {
  secretKey: string;
  webhookSecret: string;
  /** Prices that exist (recurring monthly unless `interval: null`). */
  prices?: { id: string; unitAmount: number; currency?: string; interval?: 'month' | 'year' | null }[];
  /** Unix-milliseconds clock for object and event `created` and signature timestamps (default Date.now). */
  now?: () => number;
}

export interface FakeStripe {
  apiUrl: string;
  port: number;
  journal: StripeJournalEntry[];
  deliveries: StripeDelivery[];
  customers: Map<string, Record<string, any>>;
  sessions: Map<string, Record<string, any>>;
  subscriptions: Map<string, Record<string, any>>;
  invoices: Map<string, Record<string, any>>;
  /** Requests to one route, e.g. requests('POST /v1/checkout/sessions'). */
  requests(route: string): StripeJournalEntry[];
  enqueue(route: string, ...scripts: StripeScript[]): void;
  addPrice(p: { id: string; unitAmount: number; currency?: string; interval?: 'month' | 'year' | null }): void;
  setNow(now: (() => number) | null): void;

  // ----- what happens at Stripe, as events -----
  /** The customer pays on the Checkout page: creates the customer (unless the session named one), the subscription and its first invoice. */
  completeCheckout(sessionId: string, o?: { trialDays?: number; created?: number }): { customer: string; subscription: string; invoice: string; events: { subscriptionCreated: StripeEvent; invoicePaid: StripeEvent; checkoutCompleted: StripeEvent } };
  /** Changes a subscription (status, price, cancel_at_period_end…) and returns customer.subscription.updated with previous_attributes. */
  updateSubscription(subId: string, patch: { status?: string; price?: string; cancelAtPeriodEnd?: boolean }, o?: { created?: number }): StripeEvent;
  deleteSubscription(subId: string, o?: { created?: number }): StripeEvent;
  /** The next period's invoice: paid, or failed with a retry scheduled (`nextPaymentAttempt` null: no more retries). */
  invoicePaid(subId: string, o?: { created?: number; invoiceId?: string }): StripeEvent;
  invoicePaymentFailed(subId: string, o?: { created?: number; nextPaymentAttempt?: number | null }): StripeEvent;
  /** Any event around any object. */
  event(type: string, object: Record<string, any>, o?: { created?: number; previousAttributes?: Record<string, any>; id?: string }): StripeEvent;

  // ----- webhooks -----
  /** `t=…,v1=…` for these bytes, from the real package. */
  sign(payload: string, o?: { timestamp?: number; secret?: string }): string;
  /** Serializes like Stripe, signs and POSTs. `signature: null` omits the header, a string replaces it. */
  deliver(url: string, event: StripeEvent, o?: { signature?: string | null; timestamp?: number; secret?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any }>;
  /** POSTs exact bytes (signed unless `signature` is given or null). */
  deliverRaw(url: string, raw: string | Buffer, o?: { signature?: string | null; timestamp?: number; secret?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any }>;
  /** Re-POSTs the nth delivery (negative: from the end) byte for byte with the same headers. */
  replay(n: number): Promise<{ status: number; body: any }>;
  reset(): void;
  close(): Promise<void>;
}

const rid = (prefix: string, n = 14) => `${prefix}_${randomBytes(n).toString('base64url').replace(/[-_]/g, 'x').slice(0, n + 10)}`;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** Decodes Stripe's bracketed form keys into nested objects; all-numeric keys become arrays. */
export function decodeForm(raw: string): { form: Record<string, any>; flat: Record<string, string> } {
  const flat: Record<string, string> = {};
  const form: Record<string, any> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    flat[key] = value;
    const path = key.replace(/\]/g, '').split('[');
    let node: Record<string, any> = form;
    path.forEach((k, i) => {
      if (i === path.length - 1) node[k] = value;
      else node = node[k] ??= {};
    });
  }
  const arrays = (v: any): any => {
    if (!v || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    if (keys.length && keys.every((k) => /^\d+$/.test(k))) return keys.sort((a, b) => Number(a) - Number(b)).map((k) => arrays(v[k]));
    for (const k of keys) v[k] = arrays(v[k]);
    return v;
  };
  return { form: arrays(form), flat };
}

export async function startFakeStripe(opts: FakeStripeOptions): Promise<FakeStripe> {
  const journal: StripeJournalEntry[] = [];
  const deliveries: StripeDelivery[] = [];
  const customers = new Map<string, Record<string, any>>();
  const sessions = new Map<string, Record<string, any>>();
  const subscriptions = new Map<string, Record<string, any>>();
  const invoices = new Map<string, Record<string, any>>();
  const prices = new Map<string, Record<string, any>>();
  const idempotent = new Map<string, { body: string; status: number; payload: unknown }>();
  let scripts = new Map<string, StripeScript[]>();
  let nowFn: (() => number) | null = opts.now ?? null;
  const now = () => (nowFn ?? Date.now)();
  const seconds = () => Math.floor(now() / 1000);
  const signer = new Stripe(opts.secretKey);

  const addPrice: FakeStripe['addPrice'] = (p) => {
    prices.set(p.id, {
      id: p.id, object: 'price', active: true, currency: p.currency ?? 'usd', unit_amount: p.unitAmount, type: p.interval === null ? 'one_time' : 'recurring',
      recurring: p.interval === null ? null : { interval: p.interval ?? 'month', interval_count: 1, usage_type: 'licensed' }, product: `prod_${p.id.slice(6)}`, livemode: false,
    });
  };
  for (const p of opts.prices ?? []) addPrice(p);

  const apiError = (status: number, error: { type: string; code?: string; message: string; param?: string }) => ({
    status, body: { error: { ...error, ...(error.code ? { doc_url: `https://stripe.com/docs/error-codes/${error.code.replace(/_/g, '-')}` } : {}), request_log_url: `https://dashboard.stripe.com/test/logs/${rid('req')}` } },
  });
  const missing = (param: string, what: string, id: string) => apiError(400, { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${what}: '${id}'`, param });
  const required = (param: string) => apiError(400, { type: 'invalid_request_error', code: 'parameter_missing', message: `Missing required param: ${param}.`, param });

  function createCustomer(f: Record<string, any>) {
    const c = { id: rid('cus'), object: 'customer', email: f.email ?? null, name: f.name ?? null, metadata: f.metadata ?? {}, created: seconds(), livemode: false };
    customers.set(c.id, c);
    return c;
  }

  function createSession(f: Record<string, any>): { status: number; body: unknown } {
    if (!f.mode) return required('mode');
    if (!['payment', 'subscription', 'setup'].includes(f.mode)) return apiError(400, { type: 'invalid_request_error', code: 'parameter_invalid_string', message: `Invalid mode: must be one of payment, setup, or subscription`, param: 'mode' });
    if (!f.success_url && f.ui_mode !== 'embedded') return required('success_url');
    if (f.customer && f.customer_email) return apiError(400, { type: 'invalid_request_error', message: 'You may only specify one of these parameters: customer, customer_email.', param: 'customer_email' });
    if (f.customer && !customers.has(f.customer)) return missing('customer', 'customer', f.customer);
    const items: any[] = Array.isArray(f.line_items) ? f.line_items : [];
    if (f.mode !== 'setup' && !items.length) return required('line_items');
    for (const [i, li] of items.entries()) {
      if (!li.price) return required(`line_items[${i}][price]`);
      const price = prices.get(li.price);
      if (!price) return missing(`line_items[${i}][price]`, 'price', li.price);
      if (f.mode === 'subscription' && !price.recurring) return apiError(400, { type: 'invalid_request_error', message: 'You must provide at least one recurring price in `subscription` mode when using prices.', param: 'line_items' });
      if (li.quantity !== undefined && !/^\d+$/.test(li.quantity)) return apiError(400, { type: 'invalid_request_error', code: 'parameter_invalid_integer', message: 'Invalid integer: ' + li.quantity, param: `line_items[${i}][quantity]` });
    }
    const first = items[0] ? prices.get(items[0].price)! : undefined;
    const id = `cs_test_${randomBytes(24).toString('base64url').replace(/[-_]/g, 'a')}`;
    const created = seconds();
    const s = {
      id, object: 'checkout.session', mode: f.mode, status: 'open', payment_status: 'unpaid', url: `https://checkout.stripe.com/c/pay/${id}`,
      client_reference_id: f.client_reference_id ?? null, customer: f.customer ?? null, customer_email: f.customer_email ?? null, customer_details: null,
      metadata: f.metadata ?? {}, subscription: null, invoice: null, success_url: f.success_url ?? null, cancel_url: f.cancel_url ?? null,
      amount_total: items.reduce((n, li) => n + prices.get(li.price)!.unit_amount * Number(li.quantity ?? 1), 0), currency: first?.currency ?? 'usd',
      created, expires_at: created + 86_400, livemode: false,
      // Not part of Stripe's answer; kept for completeCheckout.
      _line_items: items, _subscription_data: f.subscription_data ?? {},
    };
    sessions.set(id, s);
    const { _line_items, _subscription_data, ...shown } = s;
    return { status: 200, body: shown };
  }

  function createPortal(f: Record<string, any>) {
    if (!f.customer) return required('customer');
    if (!customers.has(f.customer)) return missing('customer', 'customer', f.customer);
    const id = rid('bps');
    return { status: 200, body: { id, object: 'billing_portal.session', customer: f.customer, return_url: f.return_url ?? null, url: `https://billing.stripe.com/p/session/test_${id.slice(4)}`, created: seconds(), livemode: false, configuration: 'bpc_fake', flow: null, locale: null, on_behalf_of: null } };
  }

  function route(method: string, path: string, f: Record<string, any>): { status: number; body: unknown } {
    let m: RegExpExecArray | null;
    if (method === 'POST' && path === '/v1/customers') return { status: 200, body: createCustomer(f) };
    if (method === 'GET' && (m = /^\/v1\/customers\/([^/]+)$/.exec(path))) return customers.has(m[1]!) ? { status: 200, body: customers.get(m[1]!) } : missing('id', 'customer', m[1]!);
    if (method === 'POST' && path === '/v1/checkout/sessions') return createSession(f);
    if (method === 'GET' && (m = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(path))) {
      const s = sessions.get(m[1]!);
      if (!s) return missing('session', 'checkout.session', m[1]!);
      const { _line_items, _subscription_data, ...shown } = s;
      return { status: 200, body: shown };
    }
    if (method === 'POST' && path === '/v1/billing_portal/sessions') return createPortal(f);
    if (method === 'GET' && (m = /^\/v1\/subscriptions\/([^/]+)$/.exec(path))) return subscriptions.has(m[1]!) ? { status: 200, body: subscriptions.get(m[1]!) } : missing('id', 'subscription', m[1]!);
    return apiError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.` });
  }

  const server = createServer(async (req, res) => {
    const rawBody = await readBody(req).catch(() => Buffer.alloc(0));
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://x');
    const { form, flat } = decodeForm(method === 'GET' ? url.search.slice(1) : rawBody.toString('utf8'));
    const entry: StripeJournalEntry = { method, path: url.pathname, headers: req.headers, rawBody, form, flat, status: 0, at: Date.now() };
    journal.push(entry);
    const requestId = rid('req');
    const send = (r: { status: number; body: unknown }, headers: Record<string, string> = {}) => {
      entry.status = r.status;
      res.writeHead(r.status, { 'content-type': 'application/json', 'request-id': requestId, 'stripe-version': String(req.headers['stripe-version'] ?? FAKE_STRIPE_API_VERSION), ...headers });
      res.end(JSON.stringify(r.body, null, 2));
    };

    const auth = req.headers.authorization;
    const key = /^Bearer (.+)$/.exec(auth ?? '')?.[1];
    if (!key) return send(apiError(401, { type: 'invalid_request_error', message: 'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. \'Authorization: Bearer YOUR_SECRET_KEY\').' }));
    if (key !== opts.secretKey) return send(apiError(401, { type: 'invalid_request_error', code: 'api_key_expired', message: `Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}` }));
    if (method === 'POST' && !/^application\/x-www-form-urlencoded\b/.test(req.headers['content-type'] ?? '') && rawBody.length) {
      return send(apiError(400, { type: 'invalid_request_error', message: 'Invalid request: the body must be application/x-www-form-urlencoded.' }));
    }

    const script = scripts.get(`${method} ${url.pathname}`)?.shift();
    if (script) {
      if ('kind' in script) {
        entry.status = -1;
        if (script.kind === 'reset') return void req.socket.destroy();
        if (script.kind === 'malformed') { res.writeHead(200, { 'content-type': 'application/json', 'request-id': requestId }); return void res.end('{"id": "cs_test_trunc'); }
        return; // hang
      }
      return send(apiError(script.status, script.error), script.headers);
    }

    const idemKey = method === 'POST' ? (req.headers['idempotency-key'] as string | undefined) : undefined;
    if (idemKey) {
      const prior = idempotent.get(`${url.pathname} ${idemKey}`);
      if (prior) {
        if (prior.body !== rawBody.toString('utf8')) {
          return send(apiError(400, { type: 'idempotency_error', message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idemKey}' if you meant to execute a different request.` }));
        }
        return send({ status: prior.status, body: prior.payload }, { 'Idempotent-Replayed': 'true', 'Idempotency-Key': idemKey });
      }
    }
    let r: { status: number; body: unknown };
    try { r = route(method, url.pathname, form); } catch (e) { r = apiError(500, { type: 'api_error', message: `fake failure: ${e}` }); }
    if (idemKey && r.status < 500) idempotent.set(`${url.pathname} ${idemKey}`, { body: rawBody.toString('utf8'), status: r.status, payload: r.body });
    send(r, idemKey ? { 'Idempotency-Key': idemKey } : {});
  });

  // ----- objects and events -----
  const event = (type: string, object: Record<string, any>, o: { created?: number; previousAttributes?: Record<string, any>; id?: string } = {}): StripeEvent => ({
    id: o.id ?? rid('evt', 20), object: 'event', api_version: FAKE_STRIPE_API_VERSION, created: o.created ?? seconds(), livemode: false, pending_webhooks: 1,
    request: { id: rid('req'), idempotency_key: null }, type,
    data: { object: structuredClone(object), ...(o.previousAttributes ? { previous_attributes: o.previousAttributes } : {}) },
  });

  function makeInvoice(sub: Record<string, any>, status: 'paid' | 'open', o: { created?: number; nextPaymentAttempt?: number | null; billingReason?: string; invoiceId?: string; attempt?: number } = {}) {
    const item = sub.items.data[0];
    const created = o.created ?? seconds();
    const amount = item.price.unit_amount * item.quantity;
    const id = o.invoiceId ?? rid('in');
    const inv = {
      id, object: 'invoice', customer: sub.customer, status, currency: item.price.currency,
      amount_due: amount, amount_paid: status === 'paid' ? amount : 0, amount_remaining: status === 'paid' ? 0 : amount,
      attempt_count: o.attempt ?? 1, attempted: true, billing_reason: o.billingReason ?? 'subscription_cycle',
      next_payment_attempt: status === 'paid' ? null : o.nextPaymentAttempt === undefined ? created + 3 * 86_400 : o.nextPaymentAttempt,
      hosted_invoice_url: `https://invoice.stripe.com/i/acct_fake/test_${id.slice(3)}`, invoice_pdf: `https://pay.stripe.com/invoice/acct_fake/test_${id.slice(3)}/pdf`,
      // For subscription invoices these name the *previous* period; the line's period is the one paid for.
      period_start: item.current_period_start, period_end: item.current_period_start,
      lines: { object: 'list', has_more: false, url: `/v1/invoices/${id}/lines`, data: [{
        id: rid('il'), object: 'line_item', amount, currency: item.price.currency, description: `1 × (at $${(item.price.unit_amount / 100).toFixed(2)} / month)`,
        period: { start: item.current_period_start, end: item.current_period_end }, quantity: item.quantity,
        pricing: { type: 'price_details', price_details: { price: item.price.id, product: item.price.product }, unit_amount_decimal: String(item.price.unit_amount) },
        parent: { type: 'subscription_item_details', subscription_item_details: { subscription: sub.id, subscription_item: item.id, proration: false }, invoice_item_details: null },
      }] },
      parent: { type: 'subscription_details', quote_details: null, subscription_details: { subscription: sub.id, metadata: structuredClone(sub.metadata) } },
      status_transitions: { paid_at: status === 'paid' ? created : null, finalized_at: created },
      created, livemode: false,
    };
    invoices.set(id, inv);
    sub.latest_invoice = id;
    return inv;
  }

  const subOf = (subId: string) => {
    const s = subscriptions.get(subId);
    if (!s) throw new Error(`fake stripe: no subscription ${subId}`);
    return s;
  };

  const completeCheckout: FakeStripe['completeCheckout'] = (sessionId, o = {}) => {
    const s = sessions.get(sessionId);
    if (!s) throw new Error(`fake stripe: no checkout session ${sessionId}`);
    if (s.status !== 'open') throw new Error(`fake stripe: session ${sessionId} is ${s.status}`);
    if (s.mode !== 'subscription') throw new Error('fake stripe: completeCheckout supports subscription mode');
    const created = o.created ?? seconds();
    const customer = s.customer ?? createCustomer({ email: s.customer_email }).id;
    const trialDays = o.trialDays ?? (s._subscription_data.trial_period_days ? Number(s._subscription_data.trial_period_days) : 0);
    const start = created;
    const end = trialDays ? start + trialDays * 86_400 : start + 30 * 86_400;
    const sub: Record<string, any> = {
      id: rid('sub'), object: 'subscription', customer, status: trialDays ? 'trialing' : 'active', collection_method: 'charge_automatically', currency: 'usd',
      items: { object: 'list', has_more: false, data: s._line_items.map((li: any) => ({
        id: rid('si'), object: 'subscription_item', price: structuredClone(prices.get(li.price)!), quantity: Number(li.quantity ?? 1),
        current_period_start: start, current_period_end: end, created,
      })) },
      cancel_at_period_end: false, cancel_at: null, canceled_at: null, ended_at: null,
      trial_start: trialDays ? start : null, trial_end: trialDays ? end : null,
      metadata: structuredClone(s._subscription_data.metadata ?? {}), latest_invoice: null,
      billing_cycle_anchor: end, start_date: start, created, livemode: false,
    };
    subscriptions.set(sub.id, sub);
    const inv = makeInvoice(sub, 'paid', { created, billingReason: 'subscription_create' });
    if (trialDays) { inv.amount_due = 0; inv.amount_paid = 0; inv.lines.data[0].amount = 0; }
    Object.assign(s, {
      status: 'complete', payment_status: trialDays ? 'no_payment_required' : 'paid', customer, subscription: sub.id,
      customer_details: { email: s.customer_email ?? customers.get(customer)?.email ?? null, name: null, address: null, phone: null, tax_exempt: 'none', tax_ids: [] },
    });
    const { _line_items, _subscription_data, ...session } = s;
    return {
      customer, subscription: sub.id, invoice: inv.id,
      events: {
        subscriptionCreated: event('customer.subscription.created', sub, { created }),
        invoicePaid: event('invoice.paid', inv, { created }),
        checkoutCompleted: event('checkout.session.completed', session, { created }),
      },
    };
  };

  const updateSubscription: FakeStripe['updateSubscription'] = (subId, patch, o = {}) => {
    const sub = subOf(subId);
    const prev: Record<string, any> = {};
    if (patch.status !== undefined && patch.status !== sub.status) { prev.status = sub.status; sub.status = patch.status; }
    if (patch.cancelAtPeriodEnd !== undefined) { prev.cancel_at_period_end = sub.cancel_at_period_end; sub.cancel_at_period_end = patch.cancelAtPeriodEnd; sub.cancel_at = patch.cancelAtPeriodEnd ? sub.items.data[0].current_period_end : null; }
    if (patch.price !== undefined) {
      const price = prices.get(patch.price);
      if (!price) throw new Error(`fake stripe: no price ${patch.price}`);
      prev.items = structuredClone(sub.items);
      sub.items.data[0].price = structuredClone(price);
    }
    return event('customer.subscription.updated', sub, { created: o.created, previousAttributes: prev });
  };

  const deleteSubscription: FakeStripe['deleteSubscription'] = (subId, o = {}) => {
    const sub = subOf(subId);
    const at = o.created ?? seconds();
    Object.assign(sub, { status: 'canceled', canceled_at: at, ended_at: at, cancel_at_period_end: false });
    return event('customer.subscription.deleted', sub, { created: at });
  };

  const advancePeriod = (sub: Record<string, any>) => {
    for (const it of sub.items.data) { it.current_period_start = it.current_period_end; it.current_period_end += 30 * 86_400; }
  };

  const invoicePaid: FakeStripe['invoicePaid'] = (subId, o = {}) => {
    const sub = subOf(subId);
    const failed = sub.latest_invoice ? invoices.get(sub.latest_invoice) : undefined;
    let inv: Record<string, any>;
    if (failed && failed.status === 'open' && !o.invoiceId) {
      // A retry of the open invoice succeeded.
      Object.assign(failed, { status: 'paid', amount_paid: failed.amount_due, amount_remaining: 0, next_payment_attempt: null, attempt_count: failed.attempt_count + 1 });
      failed.status_transitions.paid_at = o.created ?? seconds();
      inv = failed;
    } else {
      advancePeriod(sub);
      inv = makeInvoice(sub, 'paid', { created: o.created, invoiceId: o.invoiceId });
    }
    if (sub.status === 'past_due' || sub.status === 'unpaid') sub.status = 'active';
    return event('invoice.paid', inv, { created: o.created });
  };

  const invoicePaymentFailed: FakeStripe['invoicePaymentFailed'] = (subId, o = {}) => {
    const sub = subOf(subId);
    const open = sub.latest_invoice ? invoices.get(sub.latest_invoice) : undefined;
    let inv: Record<string, any>;
    if (open && open.status === 'open') {
      open.attempt_count += 1;
      open.next_payment_attempt = o.nextPaymentAttempt === undefined ? (o.created ?? seconds()) + 3 * 86_400 : o.nextPaymentAttempt;
      inv = open;
    } else {
      advancePeriod(sub);
      inv = makeInvoice(sub, 'open', { created: o.created, nextPaymentAttempt: o.nextPaymentAttempt });
    }
    sub.status = inv.next_payment_attempt === null ? 'unpaid' : 'past_due';
    return event('invoice.payment_failed', inv, { created: o.created });
  };

  // ----- webhook delivery -----
  const sign: FakeStripe['sign'] = (payload, o = {}) =>
    signer.webhooks.generateTestHeaderString({ payload, secret: o.secret ?? opts.webhookSecret, timestamp: o.timestamp ?? seconds() });

  async function post(url: string, headers: Record<string, string>, rawBody: Buffer) {
    const r = await fetch(url, { method: 'POST', headers, body: rawBody });
    const text = await r.text();
    deliveries.push({ url, headers, rawBody, status: r.status, body: text, at: Date.now() });
    let body: any = text;
    try { body = text ? JSON.parse(text) : null; } catch { /* keep text */ }
    return { status: r.status, body };
  }

  const deliverRaw: FakeStripe['deliverRaw'] = (url, raw, o = {}) => {
    const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8');
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8', 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)', 'cache-control': 'no-cache', accept: '*/*; q=0.5, application/xml',
      ...o.headers,
    };
    if (o.signature !== null) headers['stripe-signature'] = o.signature ?? sign(bytes.toString('utf8'), { timestamp: o.timestamp, secret: o.secret });
    return post(url, headers, bytes);
  };

  const sockets = new Set<Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    apiUrl: `http://127.0.0.1:${port}`,
    port, journal, deliveries, customers, sessions, subscriptions, invoices,
    requests: (r) => { const [method, path] = r.split(' '); return journal.filter((j) => j.method === method && j.path === path); },
    enqueue: (r, ...s) => { scripts.set(r, [...(scripts.get(r) ?? []), ...s]); },
    addPrice,
    setNow: (fn) => { nowFn = fn; },
    completeCheckout, updateSubscription, deleteSubscription, invoicePaid, invoicePaymentFailed, event,
    sign,
    deliver: (url, ev, o) => deliverRaw(url, JSON.stringify(ev, null, 2), o),
    deliverRaw,
    replay: (n) => {
      const d = deliveries.at(n);
      if (!d) throw new Error(`replay: no delivery #${n}`);
      return post(d.url, d.headers, d.rawBody);
    },
    reset: () => {
      journal.length = 0;
      deliveries.length = 0;
      scripts = new Map();
      idempotent.clear();
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
