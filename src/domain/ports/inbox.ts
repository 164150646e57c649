/** The durable inbox and outbox of channel messages, and each person's routing state on a shared number. */
import type { Agent } from '../types.js';

export type InboundMessage = {
  channel: string; account: string; externalId: string; threadKey: string; agentId: string | null;
  sender: string; senderName: string | null; text: string; payload: unknown;
  /** The provider's order within the thread (sortable text); arrival order breaks ties. */
  orderKey?: string;
};
/**
 * A file a person sent on a messaging channel, as the webhook named it (kept in the inbound message's
 * `payload.media`): downloaded later by the inbox worker through the channel's sender, never in the
 * webhook. `unsupported`: a kind we do not read (video, document, sticker…), answered politely.
 */
export type InboundMedia =
  | { kind: 'audio' | 'image'; provider: 'telegram'; fileId: string; size?: number }
  | { kind: 'audio' | 'image'; provider: 'whatsapp'; mediaId: string; mimeType?: string }
  | { kind: 'audio' | 'image'; provider: 'twilio'; url: string; contentType?: string }
  | { kind: 'unsupported'; what: string };
/** The media an inbound message's payload names, if any. */
export function inboundMedia(payload: unknown): InboundMedia | undefined {
  const m = (payload as { media?: InboundMedia } | null)?.media;
  return m && typeof m === 'object' && typeof m.kind === 'string' ? m : undefined;
}
/**
 * Where a router sent a message: to an agent (with the text it should answer), or an answer of its own.
 * `agent`: the agent as the router read it a moment ago, so the worker need not read it again; never
 * stored with the route (a message routed again after a crash reads its agent afresh).
 */
export type InboxRoute = { agentId: string; text?: string; agent?: Agent } | { reply: string } | { drop: string };
/** A message sent outside a conversation's reply: a link code, an approval notice, a test message. */
export type DirectSend = {
  channel: string; agentId: string | null; recipient: string; text: string; purpose: 'link_code' | 'approval' | 'test' | 'human_reply' | 'handoff_release' | 'handoff' | 'schedule' | 'owner_link' | 'site_alert';
  status: 'sent' | 'failed' | 'undelivered'; providerMessageId: string | null; lastError: string | null;
};
export type InboxItem = InboundMessage & { id: string; seq: number; status: 'queued' | 'processing' | 'done' | 'failed'; attempts: number; replyReady: boolean; lastError: string | null; receivedAt: string; route: InboxRoute | null };
export type OutboxItem = { id: string; inboxId: string; part: number; channel: string; agentId: string | null; recipient: string; text: string; status: 'pending' | 'sending' | 'sent' | 'failed' | 'undelivered' | 'dropped'; attempts: number; lastError: string | null; providerMessageId: string | null; sentAt: string | null };
/** The inbound queue: messages accepted once, claimed in order per conversation under a lease, routed and finished. */
export interface InboxQueue {
  /**
   * Stores an inbound message unless its (channel, account, externalId) was seen before. With
   * `leaseUntil` it is stored already leased to the caller, which answers it itself (the web chat).
   */
  accept(m: InboundMessage, at: string, leaseUntil?: string): Promise<{ id: string; duplicate: boolean }>;
  /**
   * Group commit: stores several inbound messages (queued, in this order) in one transaction, one
   * result per message. Rejects as a whole when the transaction fails; nothing is stored then.
   */
  acceptMany(ms: InboundMessage[], at: string): Promise<{ id: string; duplicate: boolean }[]>;
  /** Leases the next message (received before `settledBefore`) whose conversation has nothing earlier pending and nothing in flight. */
  claim(now: string, leaseUntil: string, settledBefore?: string): Promise<InboxItem | undefined>;
  /**
   * Claims up to `limit` messages at once (one query and one update), each the earliest open message
   * of a different conversation, with the same rules as claim; in seq order.
   */
  claimMany(now: string, leaseUntil: string, settledBefore: string | undefined, limit: number): Promise<InboxItem[]>;
  extend(id: string, leaseUntil: string): Promise<void>;
  /** Sets the agent a message is routed to (channels that share one number route after accepting). */
  setAgent(id: string, agentId: string | null): Promise<void>;
  /** Records the routing decision (and the agent, when it names one); call it in the transaction that changes the person's state. */
  setRoute(id: string, route: InboxRoute): Promise<void>;
  /** Puts a message back in the queue, not to be picked before `notBefore`. */
  retryLater(id: string, notBefore: string, error: string): Promise<void>;
  /** Replaces a message's payload (the worker records what it stored for it, e.g. the media ids of a downloaded file). */
  setPayload(id: string, payload: unknown): Promise<void>;
  finish(id: string, status: 'done' | 'failed', at: string, error?: string | null): Promise<void>;
  counts(): Promise<Record<string, number>>;
  /** Folds the status counts' pending changes into their totals (PostgreSQL; SQLite keeps them current): how many were folded. */
  foldCounts(): Promise<number>;
  byId(id: string): Promise<InboxItem | undefined>;
  /** Inbound messages given up on before any reply existed (routing or storage kept failing), newest first. */
  failedInbound(agentId: string | null, limit: number): Promise<InboxItem[]>;
}
/** Replies as numbered outbound parts, stored before they are sent, and their sending state. */
export interface OutboxParts {
  /**
   * Stores the reply as ordered parts and marks the reply as ready, in one transaction. Returns the
   * parts as stored (pending, in order), or undefined when some were stored before (read them then).
   * `claimFirst`: the first part is stored claimed for sending at `at` (status 'sending', as
   * `claimPart` would leave it), unless a person has taken the conversation over (then pending).
   */
  saveReply(id: string, parts: { channel: string; agentId: string | null; recipient: string; text: string }[], at: string, o?: { claimFirst?: boolean }): Promise<OutboxItem[] | undefined>;
  /** Parts still to send, in order: pending ones, and ones whose send started before `staleBefore` and never finished. */
  pendingParts(inboxId: string, staleBefore?: string): Promise<OutboxItem[]>;
  /**
   * Marks a part as being sent now; false when another worker is sending it, or when a person has
   * taken its conversation over (see `heldByHuman`).
   */
  claimPart(id: string, now: string, staleBefore: string): Promise<boolean>;
  markPart(id: string, patch: { status: OutboxItem['status']; attempts?: number; lastError?: string | null; providerMessageId?: string | null; sentAt?: string | null }): Promise<void>;
  failedParts(agentId: string | null, limit: number): Promise<(OutboxItem & { createdAt: string })[]>;
  /** Whether the conversation this inbound message was stored in is held by a person (takeover): nothing more may be sent for it. */
  heldByHuman(inboxId: string): Promise<boolean>;
  /** Marks every unsent part of a conversation's replies (or of one inbound message's reply) `dropped`: a person took it over. Returns how many. */
  dropPending(of: { conversationId: string } | { inboxId: string }, reason: string): Promise<number>;
  /** Latest outbound parts with their delivery receipts. */
  recentParts(agentId: string | null, limit: number): Promise<(OutboxItem & { createdAt: string; delivery: string | null; deliveryAt: string | null })[]>;
}
/** Providers' delivery receipts for the parts they sent. */
export interface DeliveryReceipts {
  /** Whether a part with this provider message id is on record (its send has been stored). */
  hasProviderMessage(channel: string, providerMessageId: string): Promise<boolean>;
  /** Applies a provider's delivery receipt to the part it sent. */
  receipt(channel: string, providerMessageId: string, r: { delivery?: 'sent' | 'delivered' | 'read'; failed?: { status: 'failed' | 'undelivered'; error: string } }, at: string): Promise<boolean>;
}
/** Messages sent outside a reply (link codes, approval notices, test messages). */
export interface DirectSends {
  /** Records a message sent outside a reply (link code, approval notice, test message), sent or refused. */
  recordDirect(d: DirectSend, at: string): Promise<void>;
  /** The latest such messages, newest first. */
  recentDirect(agentId: string | null, limit: number): Promise<(DirectSend & { id: string; createdAt: string; delivery: string | null; deliveryAt: string | null })[]>;
}
/** The inbox table and its outbox, as one repository (services take the parts they use). */
export interface InboxRepo extends InboxQueue, OutboxParts, DeliveryReceipts, DirectSends {}

export type PersonState = { personId: string; currentAgentId: string | null; pendingAgentId: string | null; pendingText: string | null };
export interface PersonStateRepo {
  get(personId: string): Promise<PersonState | undefined>;
  set(s: PersonState, at: string): Promise<void>;
}
