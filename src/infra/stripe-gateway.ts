/**
 * The BillingGateway over the official `stripe` package: Checkout and Billing Portal sessions, and
 * webhook verification with `stripe.webhooks.constructEvent` over the raw body. Stripe's refusals,
 * rate limits and network failures become AppErrors with safe messages; details go to the log.
 */
import type Stripe from 'stripe';
import type { BillingEvent, BillingGateway, Clock } from '../domain/ports.js';
import { AppError } from '../domain/errors.js';
import type { Logger } from './logger.js';
import { lazyDefault } from './lazy.js';

/** Loaded when Stripe is configured (a gateway is built), not at start. */
const stripePackage = lazyDefault<typeof Stripe>('stripe');

/** The API version requests are made with. Webhook payloads follow the endpoint's version: register the endpoint with this one. */
export const STRIPE_API_VERSION = '2026-10-28.endive' satisfies Stripe.LatestApiVersion;

export function stripeGateway(opts: {
  secretKey: string; webhookSecret: string; apiUrl: string; clock: Clock; log: Logger;
  maxNetworkRetries?: number; timeoutMs?: number;
}): BillingGateway {
  const StripeLib = stripePackage();
  const u = new URL(opts.apiUrl);
  const protocol = u.protocol === 'http:' ? 'http' : 'https';
  const stripe = new StripeLib(opts.secretKey, {
    apiVersion: STRIPE_API_VERSION,
    host: u.hostname,
    port: u.port ? Number(u.port) : protocol === 'http' ? 80 : 443,
    protocol,
    maxNetworkRetries: opts.maxNetworkRetries ?? 2,
    timeout: opts.timeoutMs ?? 20_000,
    telemetry: false,
    appInfo: { name: 'Switchboard' },
  });

  /** Runs one API call; Stripe's failures become AppErrors that name the call but never the key. */
  async function call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof StripeLib.errors.StripeError)) throw err;
      opts.log.warn('stripe call failed', { method, type: err.type, code: err.code, status: err.statusCode, requestId: err.requestId, error: err.message });
      if (err instanceof StripeLib.errors.StripeRateLimitError) {
        const retryAfter = Number(err.headers?.['retry-after']);
        throw new AppError(503, 'stripe_rate_limited', 'Stripe is busy right now; try again in a moment.', { retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? Math.ceil(retryAfter) : 5 });
      }
      if (err instanceof StripeLib.errors.StripeConnectionError) throw new AppError(502, 'stripe_unreachable', 'Stripe could not be reached; try again in a moment.');
      if (err instanceof StripeLib.errors.StripeAuthenticationError || err instanceof StripeLib.errors.StripePermissionError) {
        throw new AppError(502, 'stripe_error', 'Stripe refused the API key (STRIPE_SECRET_KEY); the operator must check it.');
      }
      if (err instanceof StripeLib.errors.StripeInvalidRequestError) {
        throw new AppError(502, 'stripe_error', `Stripe refused ${method}: ${err.message}${err.param ? ` (${err.param})` : ''}`);
      }
      throw new AppError(502, 'stripe_error', `Stripe failed to answer ${method}; try again in a moment.`);
    }
  }

  return {
    async checkout(p) {
      const metadata = { plan: p.planId, userId: p.userId };
      const s = await call('checkout.sessions.create', () => stripe.checkout.sessions.create({
        mode: 'subscription',
        line_items: [{ price: p.priceId, quantity: 1 }],
        client_reference_id: p.userId,
        metadata,
        // The subscription carries the user too, so its events can be matched even before checkout.session.completed arrives.
        subscription_data: { metadata, ...(p.trialDays > 0 ? { trial_period_days: p.trialDays } : {}) },
        success_url: p.successUrl,
        cancel_url: p.cancelUrl,
        ...(p.customerId ? { customer: p.customerId } : { customer_email: p.email }),
      }));
      if (!s.url) throw new AppError(502, 'stripe_error', 'Stripe created a Checkout session without a URL.');
      return { id: s.id, url: s.url };
    },

    async portal(p) {
      const s = await call('billing_portal.sessions.create', () => stripe.billingPortal.sessions.create({ customer: p.customerId, return_url: p.returnUrl }));
      return { url: s.url };
    },

    verify(raw, signature): BillingEvent {
      if (!signature) throw new AppError(400, 'stripe_invalid_signature', 'The Stripe-Signature header is missing.');
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(raw, signature, opts.webhookSecret, undefined, undefined, opts.clock.now().getTime());
      } catch (err) {
        if (err instanceof StripeLib.errors.StripeSignatureVerificationError) {
          throw new AppError(400, 'stripe_invalid_signature', 'The Stripe-Signature header does not match the body (wrong secret, altered body, or older than 5 minutes).');
        }
        throw new AppError(400, 'invalid_payload', 'The webhook body is not a Stripe event.');
      }
      const e = event as unknown as { id?: unknown; type?: unknown; created?: unknown; data?: { object?: unknown; previous_attributes?: unknown } };
      // `created` orders a customer's events ("never backwards"): Unix seconds, a whole positive number.
      if (typeof e.id !== 'string' || typeof e.type !== 'string' || !Number.isSafeInteger(e.created) || (e.created as number) <= 0 || !e.data || typeof e.data.object !== 'object' || e.data.object === null) {
        throw new AppError(400, 'invalid_payload', 'The webhook body is not a Stripe event.');
      }
      return { id: e.id, type: e.type, created: e.created as number, object: e.data.object, previousAttributes: e.data.previous_attributes ?? null };
    },
  };
}
