/** Billing: plans, each customer's standing, Stripe's side (events, invoices) and the payment gateway. */

/** A plan customers are on: limits enforced by the API, prices shown and billed through Stripe. */
export type Plan = {
  id: string; name: string; description: string; priceUsdMonth: number; stripePriceId: string | null;
  maxAgents: number; monthlyMessages: number | null; monthlyCostUsd: number | null;
  /** Tools agents on this plan may use: memory, web_fetch, web_search, exec. */
  tools: string[];
  trialDays: number; sort: number;
  /** Schedules a customer may have across their agents, the shortest schedule interval and site-check interval, in minutes (null: no cap; issue 17). */
  maxSchedules?: number | null; minScheduleMinutes?: number | null; minCheckIntervalMinutes?: number | null;
  /** Knowledge sources per agent, pages per site source, and bytes of uploaded files per agent (null: no cap; issue 18). */
  maxKnowledgeSources?: number | null; maxKnowledgePages?: number | null; maxKnowledgeBytes?: number | null;
};
export type BillingState = {
  userId: string; planId: string | null; planStatus: 'none' | 'trialing' | 'active' | 'past_due' | 'canceled';
  trialEndsAt: string | null; currentPeriodEnd: string | null; pastDueSince: string | null;
  stripeCustomerId: string | null; stripeSubscriptionId: string | null;
};
export interface PlanRepo {
  list(): Promise<Plan[]>;
  get(id: string): Promise<Plan | undefined>;
  upsert(p: Plan): Promise<Plan>;
  delete(id: string): Promise<boolean>;
  billing(userId: string): Promise<BillingState | undefined>;
  billingByStripeCustomer(stripeCustomerId: string): Promise<BillingState | undefined>;
  setBilling(userId: string, patch: Partial<Omit<BillingState, 'userId'>>): Promise<void>;
  /** Customers past due since before `before` (their grace period is over). */
  pastDue(before: string): Promise<BillingState[]>;
}

/** An invoice as Stripe reported it (amounts in the currency's major unit). */
export type Invoice = {
  id: string; userId: string; stripeInvoiceId: string; amountUsd: number; currency: string; status: string;
  hostedUrl: string | null; periodStart: string | null; periodEnd: string | null; createdAt: string;
};
/** A customer's month: user messages to their agents, model spend, and agents they have (not deleted). */
export type CustomerUsage = { messages: number; costUsd: number; agents: number };
/** Stripe's side of billing: handled events, invoices, and the order in which events were applied. */
export interface BillingRepo {
  /** Records an event as handled; false when it already was (a redelivery). Call it in the transaction that applies the event. */
  claimEvent(e: { id: string; type: string; created: number }): Promise<boolean>;
  /** Holds this customer's billing row until the transaction ends, so two events for one customer apply one after the other. */
  lockCustomer(userId: string): Promise<void>;
  /**
   * `created` (Unix seconds) of the newest events applied to the customer's billing state, per stream: the subscription
   * (checkout, subscription events, changes by hand) and payments (invoices). Older events must not roll state back.
   */
  lastEventAt(userId: string): Promise<{ subscription: number | null; payment: number | null }>;
  setLastEventAt(userId: string, stream: 'subscription' | 'payment', created: number): Promise<void>;
  /** Inserts or updates by Stripe invoice id; a paid invoice is never set back to another status. */
  upsertInvoice(i: Omit<Invoice, 'id'>): Promise<void>;
  invoices(userId: string, limit: number): Promise<Invoice[]>;
  /** How many users are on a plan. */
  countOnPlan(planId: string): Promise<number>;
  /** Usage per customer in a month (YYYY-MM), for these customers or all. */
  usage(month: string, userIds?: string[]): Promise<Map<string, CustomerUsage>>;
}

/** A Stripe event whose signature was checked: the envelope, and its object still to be parsed. */
export type BillingEvent = { id: string; type: string; created: number; object: unknown; previousAttributes: unknown };
/** The payment provider (Stripe): hosted pages to pay and manage, and signed webhooks. */
export interface BillingGateway {
  /** A hosted Checkout page for a monthly subscription to one price. */
  checkout(p: {
    userId: string; email: string; customerId: string | null; planId: string; priceId: string; trialDays: number; successUrl: string; cancelUrl: string;
  }): Promise<{ id: string; url: string }>;
  /** A hosted page where the customer manages their subscription, payment method and invoices. */
  portal(p: { customerId: string; returnUrl: string }): Promise<{ url: string }>;
  /** Checks the Stripe-Signature header over the exact body bytes; throws AppError 400 `invalid_signature`. */
  verify(raw: Buffer, signature: string | undefined): BillingEvent;
}
