import type { InboundMedia } from './inbox.js';
/** Channels: per-agent channel accounts, and what the inbox worker needs to send on one (`SendError` classifies a failed send). */

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
  /**
   * Downloads a file a person sent (an inbound message's media), bounded by `maxBytes` (a larger file
   * throws 413 media_too_large) and `timeoutMs`. Absent on channels that carry no files.
   */
  download?(m: { agentId: string | null; account: string; media: InboundMedia }, limits: { maxBytes: number; timeoutMs: number }): Promise<Uint8Array>;
  /**
   * Sends a spoken reply (OGG/Opus bytes from the media store; `mediaId` names the stored file, for a
   * channel that sends a link to it rather than the bytes). Absent where the channel cannot.
   */
  sendVoice?(m: { agentId: string | null; account: string; recipient: string; mediaId: string; bytes: Uint8Array; mimeType: string }): Promise<{ providerMessageId: string | null }>;
  /** Shows "typing…" once; the worker repeats it while the model works. */
  typing?(m: { agentId: string | null; account: string; recipient: string }): Promise<void>;
}
