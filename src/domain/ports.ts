/**
 * Ports: the small interfaces services use to reach the outside world.
 * Adapters in store/, llm/ and channels/ implement them; tests can pass their own.
 */
import type { z } from 'zod';
import type {
  Agent, AgentStatus, CloseReason, Summary, SummaryStatus, Persona, Channel, ChatMessage, Conversation, MessageRole, MessageStatus, Person,
  ProviderConfig, ProviderKind, Provisioning, Role, TokenUsage, UsageRecord, UsageTotals, User,
} from './types.js';

export interface Clock { now(): Date }
export interface IdGenerator { id(): string; token(bytes?: number): string }

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

/** Symmetric encryption for secrets at rest (provider keys, bot tokens). */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

/** Outgoing e-mail (sign-up verification, password reset, magic links, alerts). */
export type OutgoingMail = { to: string; subject: string; text: string; html?: string };
export interface Mailer {
  /** Whether an SMTP server is set (SMTP_URL, or the SMTP settings in the dashboard). */
  configured(): Promise<boolean>;
  /** Sends one mail; throws when the server refuses or cannot be reached. */
  send(m: OutgoingMail): Promise<void>;
}

// ---------- model calls ----------
export type ModelMessage = { role: 'user' | 'assistant'; content: string };
/**
 * A tool the model may call. `execute` runs our code with validated input and returns text for the
 * model; it must never throw for expected failures (return an explanation instead).
 */
export type ModelTool<S extends z.ZodType = z.ZodType> = {
  name: string;
  description: string;
  input: S;
  execute(input: z.infer<S>): Promise<string>;
};
export type ModelRequest = {
  provider: ProviderConfig;
  modelName: string; // the part after "provider:"
  system: string;
  messages: ModelMessage[];
  temperature: number;
  signal?: AbortSignal;
  tools?: ModelTool[];
  /** Answers (and records) a call to a tool the model was not offered; the text starts with "Error:". */
  refuse?: (toolName: string, input: unknown) => Promise<string>;
  maxOutputTokens?: number;
  /** Model round trips allowed when tools are called (default 4). */
  maxSteps?: number;
};
export type ModelStreamEvent =
  | { type: 'text'; text: string }
  | { type: 'tool'; name: string; input: unknown; output: string }
  | { type: 'finish'; usage: TokenUsage; finishReason: string };

/** Failure of a model provider, kept apart from our own bugs (grammY's lesson). */
export class ProviderError extends Error {
  constructor(
    readonly kind: 'api' | 'network' | 'timeout' | 'not_configured',
    message: string,
    readonly provider: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** Text embeddings, for ranking memory by meaning as well as by words. */
export interface EmbeddingPort {
  embed(req: { provider: ProviderConfig; modelName: string; texts: string[] }): Promise<{ vectors: number[][]; tokens: number }>;
}

export interface ChatModelPort {
  /** Streams a reply; throws ProviderError when the provider fails (before or during the stream). */
  stream(req: ModelRequest): AsyncIterable<ModelStreamEvent>;
  /** The model names a provider offers, or undefined when it cannot be asked (offline, no such endpoint). */
  listModels(provider: ProviderConfig): Promise<string[] | undefined>;
}

// ---------- storage ----------
export type NewUser = { email: string; passwordHash: string; role: Role; name?: string | null };
export interface UserRepo {
  count(): Promise<number>;
  countByRole(role: Role): Promise<number>;
  insert(u: NewUser): Promise<User>;
  byId(id: string): Promise<User | undefined>;
  byEmailWithHash(email: string): Promise<(User & { passwordHash: string }) | undefined>;
  list(): Promise<User[]>;
  setBudget(id: string, monthlyBudgetUsd: number | null): Promise<boolean>;
  /** Takes a write lock on the user's row until the transaction ends (serializes per-customer checks). */
  lock(id: string): Promise<void>;
  /** Changes the status; false when it already was that (or no such user). */
  setStatus(id: string, status: 'active' | 'suspended'): Promise<boolean>;
  setPasswordHash(id: string, passwordHash: string): Promise<void>;
  /** Records the first verification of the user's e-mail address; later calls keep the first time. */
  markEmailVerified(id: string, at: string): Promise<void>;
  delete(id: string): Promise<boolean>;
}

export type TokenRow = { id: string; userId: string; kind: 'session' | 'api_key'; name: string; prefix: string; createdAt: string; lastUsedAt: string | null; expiresAt: string | null };
export interface TokenRepo {
  insert(t: { userId: string; kind: 'session' | 'api_key'; name: string; prefix: string; hash: string; expiresAt: string | null }): Promise<TokenRow>;
  byHash(hash: string): Promise<TokenRow | undefined>;
  touch(id: string, at: string): Promise<void>;
  listKeys(userId: string): Promise<TokenRow[]>;
  delete(id: string, userId?: string): Promise<boolean>;
  /** Ends every session of a user (API keys stay); returns how many. */
  deleteSessions(userId: string): Promise<number>;
}

/** One-time links sent by e-mail. Only the sha256 of the token is stored. */
export type AuthTokenKind = 'verify_email' | 'reset_password' | 'magic_link';
export interface AuthTokenRepo {
  insert(t: { userId: string; kind: AuthTokenKind; tokenHash: string; expiresAt: string }): Promise<void>;
  /** Uses the token if it is of this kind, unused and unexpired at `now`; exactly one caller wins. Answers its user. */
  consume(kind: AuthTokenKind, tokenHash: string, now: string): Promise<{ userId: string } | undefined>;
  /** Tokens of a kind issued to a user since `since` (to limit mails per address). */
  countSince(userId: string, kind: AuthTokenKind, since: string): Promise<number>;
  /** Marks a user's unused tokens of these kinds as used (a new password voids older links). */
  revoke(userId: string, kinds: AuthTokenKind[], now: string): Promise<number>;
  /** Deletes tokens that expired before `before` (long past any rate-limit window). */
  purge(before: string): Promise<number>;
}

export type AgentInput = Omit<Agent, 'id' | 'version' | 'createdAt' | 'updatedAt'>;
export type AgentPatch = Partial<Omit<Agent, 'id' | 'ownerId' | 'version' | 'createdAt' | 'updatedAt' | 'persona'>> & { persona?: Partial<Persona> };
export interface AgentRepo {
  insert(a: AgentInput): Promise<Agent>;
  byId(id: string): Promise<Agent | undefined>;
  bySlug(slug: string): Promise<Agent | undefined>;
  slugExists(slug: string): Promise<boolean>;
  list(filter: { ownerId?: string; listed?: boolean; status?: AgentStatus }): Promise<Agent[]>;
  /** Applies the patch when `expectedVersion` matches (or is undefined); returns undefined on a version mismatch. */
  update(id: string, patch: AgentPatch, expectedVersion?: number): Promise<Agent | undefined>;
  delete(id: string): Promise<boolean>;
}

export interface PersonRepo {
  upsert(kind: string, externalId: string): Promise<Person>;
  byId(id: string): Promise<Person | undefined>;
  byExternalId(externalId: string): Promise<Person[]>;
  /** The people linked to this one (who count as it), and itself. */
  identities(personId: string): Promise<Person[]>;
  /** People who talked with an agent, with counts, most recent first. */
  forAgent(agentId: string, q: string | undefined, limit: number): Promise<(Person & { conversations: number; summaries: number; lastMessageAt: string })[]>;
  /** Deletes a person's conversations (messages, summaries) — with the given agents only, or all and the person itself. */
  erase(personId: string, agentIds?: string[]): Promise<{ conversations: number; messages: number; summaries: number; links: number }>;
  /** The person this one counts as right now: the phone it is linked to, or itself. */
  canonical(personId: string, now: string): Promise<string>;
  link(personId: string, linkedPersonId: string, expiresAt: string, now: string): Promise<void>;
  unlink(personId: string): Promise<void>;
  linkOf(personId: string, now: string): Promise<{ linkedPersonId: string; expiresAt: string } | undefined>;
  // one-time link codes
  addCode(c: { personId: string; phone: string; codeHash: string; expiresAt: string }, now: string): Promise<void>;
  codesSince(by: { personId?: string; phone?: string }, since: string): Promise<number>;
  /** The newest unused, unexpired code of a person. */
  liveCode(personId: string, now: string): Promise<{ id: string; phone: string; codeHash: string; attempts: number } | undefined>;
  /** Counts one try at a code, atomically: false (nothing counted) when it already had `max` tries. */
  countAttempt(codeId: string, max: number): Promise<boolean>;
  useCode(codeId: string, now: string): Promise<boolean>;
}

export interface ConversationRepo {
  /** The person's open conversation with the agent, whatever channel it started on. */
  open(agentId: string, personId: string): Promise<Conversation | undefined>;
  create(c: { agentId: string; personId: string; channel: Channel }): Promise<Conversation>;
  byId(id: string): Promise<Conversation | undefined>;
  /** Ends a session; false when it had already ended (so exactly one caller queues its summary). */
  close(id: string, at: string, reason: CloseReason): Promise<boolean>;
  /** The person's most recently ended session with the agent. */
  lastClosed(agentId: string, personId: string): Promise<Conversation | undefined>;
  /** Open conversations of an agent idle since before `before`. */
  idle(agentId: string, before: string, limit: number): Promise<Conversation[]>;
  setSummaryStatus(id: string, status: SummaryStatus): Promise<void>;
  setMemoryContext(id: string, context: string | null): Promise<void>;
  markDowngraded(id: string): Promise<void>;
  /** Stores a new running summary, only if `fromSeq` still is the compaction point (no lost update). */
  compact(id: string, fromSeq: number, throughSeq: number, runningSummary: string): Promise<boolean>;
  /** Messages with their sequence numbers after `afterSeq`, oldest first. */
  messagesAfter(conversationId: string, afterSeq: number): Promise<(ChatMessage & { seq: number })[]>;
  listForAgent(agentId: string, limit: number): Promise<(Conversation & { messageCount: number })[]>;
  addMessage(m: { conversationId: string; role: MessageRole; content: string; status: MessageStatus; error?: string | null; sourceId?: string; channel?: Channel }): Promise<ChatMessage>;
  /** The user message stored for an inbound source id (an inbox row), and the reply that followed it, if any. */
  bySource(sourceId: string): Promise<{ message: ChatMessage; reply: ChatMessage | undefined } | undefined>;
  /** The agent's latest messages across all conversations and channels, oldest first. */
  /** Moves a person's open conversations to another person, except with agents the other already has one with. */
  adoptOpen(fromPersonId: string, toPersonId: string): Promise<number>;
  recentForAgent(agentId: string, limit: number): Promise<(ChatMessage & { channel: Channel; personId: string })[]>;
  /** Deletes every conversation of an agent (messages, summaries) and the inbound/outbound copies of its channel messages. */
  eraseAgent(agentId: string): Promise<{ conversations: number; messages: number; summaries: number }>;
  messages(conversationId: string, limit?: number): Promise<ChatMessage[]>;
}

export type SummarySearch = { agentId: string; personIds?: string[]; q?: string; limit: number };
export interface SummaryRepo {
  /** Stores the summary of a conversation unless it has one; returns the stored one either way. */
  insert(s: Omit<Summary, 'id' | 'createdAt'> & { embedding?: number[] | null }): Promise<Summary>;
  byId(id: string): Promise<Summary | undefined>;
  byConversation(conversationId: string): Promise<Summary | undefined>;
  /** Newest first. */
  list(f: SummarySearch): Promise<Summary[]>;
  /** Full-text matches with the engine's relevance (higher is better). */
  search(f: SummarySearch & { q: string }): Promise<(Summary & { rank: number })[]>;
  /** Candidates for vector ranking: summaries with embeddings. */
  withEmbeddings(f: SummarySearch): Promise<(Summary & { embedding: number[] })[]>;
}

export interface WorkspaceRepo {
  list(agentId: string): Promise<{ path: string; size: number; updatedAt: string }[]>;
  get(agentId: string, path: string): Promise<{ path: string; content: string; updatedAt: string } | undefined>;
  put(agentId: string, path: string, content: string): Promise<{ path: string; content: string; updatedAt: string }>;
  /** Writes only if the file is still as the writer saw it (`base` = its updatedAt, or null: absent); undefined otherwise. */
  putIf(agentId: string, path: string, content: string, base: string | null): Promise<{ path: string; content: string; updatedAt: string } | undefined>;
  /** Appends text atomically (creating the file), refusing to grow it past `maxLength`; returns false when full. */
  append(agentId: string, path: string, text: string, maxLength: number): Promise<boolean>;
  delete(agentId: string, path: string): Promise<boolean>;
}

/** A running total: an agent's or a customer's month (YYYY-MM), or one person's day with one agent (YYYY-MM-DD; scopeId agentId:personId). */
export type SpendKey = { scope: 'agent' | 'customer' | 'person'; scopeId: string; period: string };
export type BudgetAlert = {
  id: string; scope: SpendKey['scope']; scopeId: string; period: string; kind: 'downgrade' | 'stop'; ownerId: string | null;
  percent: number; spentUsd: number; budgetUsd: number; message: string; createdAt: string; acknowledgedAt: string | null;
  webhookStatus: string | null; emailStatus: string | null;
};
export interface BudgetRepo {
  get(k: SpendKey): Promise<{ spentUsd: number; reservedUsd: number; messages: number }>;
  /**
   * Reserves each amount while its scope's spent + reserved is under its limit (null: no limit), all
   * or nothing, in one transaction; the holds expire at `expiresAt` if never settled.
   */
  reserve(holdId: string, items: { key: SpendKey; amountUsd: number; limitUsd: number | null }[], expiresAt: string): Promise<{ ok: true } | { ok: false; refused: SpendKey }>;
  /** Releases the holds and adds what the call really cost. */
  settle(holdId: string, items: { key: SpendKey; actualUsd: number }[]): Promise<void>;
  /** Counts one message unless `cap` were reached; false when it was. */
  countMessage(k: SpendKey, cap: number): Promise<boolean>;
  /** Releases holds of calls that never settled (a crashed process). */
  expireHolds(now: string): Promise<number>;
  /** Records an alert unless this one was raised this period; returns its id when new. */
  addAlert(a: Omit<BudgetAlert, 'id' | 'createdAt' | 'acknowledgedAt' | 'webhookStatus' | 'emailStatus'>): Promise<string | undefined>;
  alert(id: string): Promise<BudgetAlert | undefined>;
  alerts(f: { ownerId?: string; limit: number }): Promise<BudgetAlert[]>;
  updateAlert(id: string, patch: { acknowledgedAt?: string; webhookStatus?: string; emailStatus?: string }): Promise<void>;
  usageByModel(agentId: string, fromDay: string): Promise<{ model: string; inputTokens: number; outputTokens: number; costUsd: number; requests: number }[]>;
  dailySpend(agentId: string, month: string): Promise<{ day: string; costUsd: number }[]>;
}

/** A plan customers are on: limits enforced by the API, prices shown and billed through Stripe. */
export type Plan = {
  id: string; name: string; description: string; priceUsdMonth: number; stripePriceId: string | null;
  maxAgents: number; monthlyMessages: number | null; monthlyCostUsd: number | null;
  /** Tools agents on this plan may use: memory, web_fetch, web_search, exec. */
  tools: string[];
  trialDays: number; sort: number;
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

/** One tool call, on record with its conversation (arguments with secrets redacted). */
export type ToolCallRecord = {
  id: string; agentId: string; conversationId: string | null; tool: string; args: unknown;
  outcome: 'ok' | 'error' | 'refused' | 'pending' | 'approved' | 'denied' | 'expired';
  resultPreview: string | null; resultBytes: number; durationMs: number; createdAt: string;
};
export interface ToolCallRepo {
  insert(c: Omit<ToolCallRecord, 'id' | 'createdAt'> & { id?: string }): Promise<ToolCallRecord>;
  setOutcome(id: string, outcome: ToolCallRecord['outcome'], resultPreview?: string | null): Promise<void>;
  forConversation(conversationId: string): Promise<ToolCallRecord[]>;
  forAgent(agentId: string, limit: number): Promise<ToolCallRecord[]>;
}

/** The provisioning pipeline of each customer agent (one row per agent; a retry updates it). */
export interface ProvisioningRepo {
  get(agentId: string): Promise<Provisioning | undefined>;
  /** Creates the record, or replaces it. */
  put(p: Provisioning): Promise<void>;
  update(agentId: string, patch: Partial<Omit<Provisioning, 'agentId' | 'startedAt'>>): Promise<void>;
}

export type ApprovalRow = {
  id: string; agentId: string; conversationId: string | null; toolCallId: string; tool: string; argsSealed: string;
  status: 'pending' | 'approved' | 'denied' | 'expired' | 'done' | 'failed'; result: string | null;
  decidedBy: string | null; expiresAt: string; createdAt: string; decidedAt: string | null;
};
export interface ApprovalRepo {
  insert(a: Pick<ApprovalRow, 'id' | 'agentId' | 'conversationId' | 'toolCallId' | 'tool' | 'argsSealed' | 'status' | 'expiresAt'>): Promise<void>;
  byId(id: string): Promise<ApprovalRow | undefined>;
  list(f: { agentIds?: string[]; status?: string; limit: number }): Promise<ApprovalRow[]>;
  /** pending → status, only while pending (exactly one decision wins). */
  decide(id: string, status: 'approved' | 'denied' | 'expired', by: string | null, at: string): Promise<boolean>;
  finish(id: string, status: 'done' | 'failed', result: string): Promise<void>;
  /** Pending requests whose time ran out. */
  expiring(now: string): Promise<ApprovalRow[]>;
}

export type AuditEntry = { id: string; actorId: string | null; action: string; targetType: string; targetId: string; detail: Record<string, unknown>; createdAt: string };
export type AuditFilter = { actions: string[]; since: string; targetId?: string; ip?: string };
export interface AuditRepo {
  add(e: Omit<AuditEntry, 'id' | 'createdAt'>): Promise<void>;
  /** Newest first; `action` matches exactly, or as a prefix when it ends in `*` (`auth.*`). */
  list(limit: number, action?: string): Promise<AuditEntry[]>;
  /** Entries after `since` with one of the actions (for one target, or whose detail.ip is `ip`): how many, the oldest and newest time. */
  tally(f: AuditFilter): Promise<{ count: number; first: string | null; last: string | null }>;
}

export type ProviderRow = Omit<ProviderConfig, 'source' | 'apiKey'> & { apiKeySealed: string | null };
export interface ProviderRepo {
  list(): Promise<ProviderRow[]>;
  get(name: string): Promise<ProviderRow | undefined>;
  upsert(p: ProviderRow): Promise<void>;
  delete(name: string): Promise<boolean>;
}
export type { ProviderKind };

export interface SettingsRepo {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
}

export type UsageFilter = { agentIds?: string[]; from: string; to: string };
export type UsageBucket = UsageTotals & { key: string };
export interface UsageRepo {
  insert(u: Omit<UsageRecord, 'id' | 'createdAt'>): Promise<UsageRecord>;
  totals(f: UsageFilter): Promise<UsageTotals>;
  groupBy(f: UsageFilter, by: 'day' | 'agent' | 'model'): Promise<UsageBucket[]>;
}

/** Conversation activity, model usage by channel, latency samples and delivery counts, for analytics. */
export type ActivityBucket = { key: string; messages: number; replies: number; people: number };
export type LatencySample = { day: string; ttftMs: number | null; latencyMs: number };
export type DeliveryCount = { channel: string; status: string; delivery: string | null; count: number };
export interface AnalyticsRepo {
  /** User messages, complete replies and distinct people (with a user message) in range: one total row, or grouped. */
  activity(f: UsageFilter, by: 'total' | 'day' | 'agent' | 'channel'): Promise<ActivityBucket[]>;
  /** Usage rows (all purposes) grouped by channel. */
  usageByChannel(f: UsageFilter): Promise<UsageBucket[]>;
  /** The latest successful chat calls in range, newest first. */
  latencySamples(f: UsageFilter, limit: number): Promise<LatencySample[]>;
  /** Outbound parts created in range, counted by channel, status and delivery receipt. */
  delivery(f: UsageFilter): Promise<DeliveryCount[]>;
  /** Every outbound part by status (for the metrics gauge). */
  outboxCounts(): Promise<Record<string, number>>;
  /**
   * An agent's traffic on channels without a per-agent channel row (WhatsApp's shared number), from the
   * inbox and outbox: the last message routed to it, the last part sent, the last part that failed.
   */
  channelHealth(agentId: string, channels: string[]): Promise<{ lastInboundAt: string | null; lastOutboundAt: string | null; lastError: string | null; lastErrorAt: string | null }>;
}

// ---------- channels: the durable inbox and outbox ----------
export type InboundMessage = {
  channel: string; account: string; externalId: string; threadKey: string; agentId: string | null;
  sender: string; senderName: string | null; text: string; payload: unknown;
  /** The provider's order within the thread (sortable text); arrival order breaks ties. */
  orderKey?: string;
};
/** Where a router sent a message: to an agent (with the text it should answer), or an answer of its own. */
export type InboxRoute = { agentId: string; text?: string } | { reply: string } | { drop: string };
/** A message sent outside a conversation's reply: a link code, an approval notice, a test message. */
export type DirectSend = {
  channel: string; agentId: string | null; recipient: string; text: string; purpose: 'link_code' | 'approval' | 'test';
  status: 'sent' | 'failed' | 'undelivered'; providerMessageId: string | null; lastError: string | null;
};
export type InboxItem = InboundMessage & { id: string; seq: number; status: 'queued' | 'processing' | 'done' | 'failed'; attempts: number; replyReady: boolean; lastError: string | null; receivedAt: string; route: InboxRoute | null };
export type OutboxItem = { id: string; inboxId: string; part: number; channel: string; agentId: string | null; recipient: string; text: string; status: 'pending' | 'sending' | 'sent' | 'failed' | 'undelivered'; attempts: number; lastError: string | null; providerMessageId: string | null; sentAt: string | null };
export interface InboxRepo {
  /**
   * Stores an inbound message unless its (channel, account, externalId) was seen before. With
   * `leaseUntil` it is stored already leased to the caller, which answers it itself (the web chat).
   */
  accept(m: InboundMessage, at: string, leaseUntil?: string): Promise<{ id: string; duplicate: boolean }>;
  /** Leases the next message (received before `settledBefore`) whose conversation has nothing earlier pending and nothing in flight. */
  claim(now: string, leaseUntil: string, settledBefore?: string): Promise<InboxItem | undefined>;
  extend(id: string, leaseUntil: string): Promise<void>;
  /** Sets the agent a message is routed to (channels that share one number route after accepting). */
  setAgent(id: string, agentId: string | null): Promise<void>;
  /** Stores the reply as ordered parts and marks the reply as ready, in one transaction. */
  saveReply(id: string, parts: { channel: string; agentId: string | null; recipient: string; text: string }[], at: string): Promise<void>;
  /** Parts still to send, in order: pending ones, and ones whose send started before `staleBefore` and never finished. */
  pendingParts(inboxId: string, staleBefore?: string): Promise<OutboxItem[]>;
  /** Marks a part as being sent now; false when another worker is sending it. */
  claimPart(id: string, now: string, staleBefore: string): Promise<boolean>;
  markPart(id: string, patch: { status: OutboxItem['status']; attempts?: number; lastError?: string | null; providerMessageId?: string | null; sentAt?: string | null }): Promise<void>;
  /** Puts a message back in the queue, not to be picked before `notBefore`. */
  retryLater(id: string, notBefore: string, error: string): Promise<void>;
  finish(id: string, status: 'done' | 'failed', at: string, error?: string | null): Promise<void>;
  counts(): Promise<Record<string, number>>;
  byId(id: string): Promise<InboxItem | undefined>;
  failedParts(agentId: string | null, limit: number): Promise<(OutboxItem & { createdAt: string })[]>;
  /** Records a message sent outside a reply (link code, approval notice, test message), sent or refused. */
  recordDirect(d: DirectSend, at: string): Promise<void>;
  /** The latest such messages, newest first. */
  recentDirect(agentId: string | null, limit: number): Promise<(DirectSend & { id: string; createdAt: string; delivery: string | null; deliveryAt: string | null })[]>;
  /** Records the routing decision (and the agent, when it names one); call it in the transaction that changes the person's state. */
  setRoute(id: string, route: InboxRoute): Promise<void>;
  /** Inbound messages given up on before any reply existed (routing or storage kept failing), newest first. */
  failedInbound(agentId: string | null, limit: number): Promise<InboxItem[]>;
  /** Latest outbound parts with their delivery receipts. */
  recentParts(agentId: string | null, limit: number): Promise<(OutboxItem & { createdAt: string; delivery: string | null; deliveryAt: string | null })[]>;
  /** Whether a part with this provider message id is on record (its send has been stored). */
  hasProviderMessage(channel: string, providerMessageId: string): Promise<boolean>;
  /** Applies a provider's delivery receipt to the part it sent. */
  receipt(channel: string, providerMessageId: string, r: { delivery?: 'sent' | 'delivered' | 'read'; failed?: { status: 'failed' | 'undelivered'; error: string } }, at: string): Promise<boolean>;
}

export type PersonState = { personId: string; currentAgentId: string | null; pendingAgentId: string | null; pendingText: string | null };
export interface PersonStateRepo {
  get(personId: string): Promise<PersonState | undefined>;
  set(s: PersonState, at: string): Promise<void>;
}

export type ChannelRow = {
  agentId: string; channel: string; secretSealed: string; info: Record<string, unknown>; webhookSecret: string | null;
  mode: 'webhook' | 'polling'; pollOffset: number | null; lastInboundAt: string | null; lastOutboundAt: string | null;
  lastError: string | null; lastErrorAt: string | null; createdAt: string;
};
export interface ChannelRepo {
  upsert(r: Omit<ChannelRow, 'createdAt' | 'lastInboundAt' | 'lastOutboundAt' | 'lastError' | 'lastErrorAt' | 'pollOffset'>): Promise<void>;
  get(agentId: string, channel: string): Promise<ChannelRow | undefined>;
  forAgents(agentIds: string[]): Promise<ChannelRow[]>;
  all(channel: string): Promise<ChannelRow[]>;
  delete(agentId: string, channel: string): Promise<boolean>;
  touch(agentId: string, channel: string, patch: { lastInboundAt?: string; lastOutboundAt?: string; lastError?: string | null; lastErrorAt?: string | null; pollOffset?: number }): Promise<void>;
}

export interface Store {
  users: UserRepo;
  tokens: TokenRepo;
  agents: AgentRepo;
  people: PersonRepo;
  conversations: ConversationRepo;
  providers: ProviderRepo;
  settings: SettingsRepo;
  usage: UsageRepo;
  analytics: AnalyticsRepo;
  inbox: InboxRepo;
  channels: ChannelRepo;
  personState: PersonStateRepo;
  summaries: SummaryRepo;
  workspace: WorkspaceRepo;
  audit: AuditRepo;
  budget: BudgetRepo;
  plans: PlanRepo;
  provisioning: ProvisioningRepo;
  billing: BillingRepo;
  authTokens: AuthTokenRepo;
  toolCalls: ToolCallRepo;
  approvals: ApprovalRepo;
  /** Runs fn in one transaction, with a store bound to it. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// ---------- outbound channel adapters ----------
/** A send that failed. `retryable` failures are tried again with backoff; others are final. */
export class SendError extends Error {
  constructor(message: string, readonly retryable: boolean, readonly retryAfterMs?: number, readonly code?: string | number) {
    super(message);
    this.name = 'SendError';
  }
}

/** What the inbox worker needs from a channel to answer on it. */
export interface ChannelSender {
  readonly channel: string;
  /** Longest text one message may carry, in UTF-16 units. */
  readonly maxLength: number;
  /** How the reply (Markdown from the model) is turned into this channel's markup, and that markup's kind for splitting. */
  readonly render?: (markdown: string) => string;
  readonly format?: 'plain' | 'markdown' | 'html';
  send(m: { agentId: string | null; account: string; recipient: string; text: string }): Promise<{ providerMessageId: string | null }>;
  /** Shows "typing…" once; the worker repeats it while the model works. */
  typing?(m: { agentId: string | null; account: string; recipient: string }): Promise<void>;
}
