/**
 * What a messaging channel is to the rest of Switchboard: one adapter interface (verify a webhook,
 * parse it into domain messages, send with classified failures), and the small port services use
 * for an agent's own bot. Interfaces only; the adapters live in src/channels/.
 */
import type { ChannelSender, DirectSend, InboundMessage } from './ports.js';

/**
 * A webhook request as an adapter sees it: the web framework shrunk to what verification and
 * parsing need (as grammY's webhook adapters do). `body()` is read only when the adapter asks, so a
 * request whose header check fails is refused before its body is read.
 */
export type WebhookRequest = {
  /** The URL the request came to, as the server saw it. */
  url: string;
  header(name: string): string | undefined;
  body(): Promise<Uint8Array>;
  /** Path parameters (the agent id of a Telegram bot's webhook). */
  params: Record<string, string>;
  /** Query parameters (Meta's verification handshake). */
  query: Record<string, string | undefined>;
};

/** A provider's report about a message we sent, by the provider's message id. */
export type DeliveryReceipt = {
  providerMessageId: string;
  delivery?: 'sent' | 'delivered' | 'read';
  failed?: { status: 'failed' | 'undelivered'; error: string };
};

/** What one webhook request carried. */
export type InboundBatch = { messages: InboundMessage[]; receipts: DeliveryReceipt[] };

/** Why a message is sent outside a reply; recorded with it. */
export type DirectPurpose = DirectSend['purpose'];

/**
 * One messaging platform. The registry (src/channels/registry.ts) holds every adapter; one whose
 * settings are absent (`enabled()` false) takes no part in sending, and its webhook answers 404.
 */
export interface ChannelAdapter {
  /** The inbox channel: 'telegram', 'whatsapp' (Cloud API), 'twilio'. */
  readonly channel: string;
  /** The conversation channel its messages belong to (Twilio's are WhatsApp conversations). */
  readonly conversationChannel: string;
  /** Whether the settings it needs are present now (environment or dashboard). */
  enabled(): Promise<boolean>;
  /** Checks the request comes from the platform; throws an AppError (not configured: 404; bad signature: 401 or 403). */
  verify(req: WebhookRequest): Promise<void>;
  /** The verified request's messages and delivery receipts, mapped from the platform's payload in this one place. */
  parse(req: WebhookRequest): Promise<InboundBatch>;
  /** Outbound: markup, length limit, and a send whose failures are SendErrors (retryable or final). */
  readonly sender: ChannelSender;
  /** Told what a webhook brought, after it is stored (health figures of channels without a per-agent row). */
  observe?(e: { accepted: number; failed: string[] }): Promise<void>;
  /** A platform's GET handshake (Meta's hub.challenge): the text to answer. */
  challenge?(req: WebhookRequest): Promise<string>;
  /** What the webhook answers when the platform wants a body (Twilio: empty TwiML). */
  readonly ack?: { body: string; contentType: string };
}

export type TelegramBotInfo = { id: number; username: string; firstName: string };
export type TelegramView = { username: string; link: string; mode: 'webhook' | 'polling'; lastInboundAt: string | null; lastOutboundAt: string | null; lastError: string | null; lastErrorAt: string | null; connectedAt: string };

/**
 * An agent's own bot (Telegram), as services see it: checked, connected, started and stopped with
 * the agent, shown on the agent. Services depend on this port, never on the grammY adapter.
 */
export interface AgentBots {
  validate(token: string, forAgentId?: string): Promise<TelegramBotInfo>;
  connect(agentId: string, token: string, me: TelegramBotInfo): Promise<void>;
  disconnect(agentId: string): Promise<void>;
  activate(agentId: string): Promise<void>;
  deactivate(agentId: string): Promise<void>;
  views(agentIds: string[]): Promise<Map<string, TelegramView>>;
}
