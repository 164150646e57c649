/** Usage rows and the analytics read over conversations, usage and delivery. */
import type { UsageRecord, UsageTotals } from '../types.js';

export type UsageFilter = { agentIds?: string[]; from: string; to: string };
export type UsageBucket = UsageTotals & { key: string };
export interface UsageRepo {
  insert(u: Omit<UsageRecord, 'id' | 'createdAt'>): Promise<UsageRecord>;
  totals(f: UsageFilter): Promise<UsageTotals>;
  groupBy(f: UsageFilter, by: 'day' | 'agent' | 'model' | 'purpose'): Promise<UsageBucket[]>;
}

/** Conversation activity, model usage by channel, latency samples and delivery counts, for analytics. */
export type ActivityBucket = { key: string; messages: number; replies: number; people: number };
export type LatencySample = { day: string; ttftMs: number | null; latencyMs: number };
export type DeliveryCount = { channel: string; status: string; delivery: string | null; count: number };
export interface AnalyticsRepo {
  /**
   * Person messages received (the person_messages log: every way in, /v1 included), distinct people
   * among them, and complete replies stored in conversations, in range: one total row, or grouped.
   */
  activity(f: UsageFilter, by: 'total' | 'day' | 'agent' | 'channel'): Promise<ActivityBucket[]>;
  /** Logs one person message an agent received (the admission step calls this once per message). */
  recordMessage(m: { id: string; agentId: string; personId: string | null; channel: string; at: string }): Promise<void>;
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
