/** Conversation events: what the live inbox and an open web chat hear about as it happens (issue 15). */
import type { ChatMessage, Conversation } from '../types.js';

export type ConversationEvent =
  /** A message was stored in a conversation (a person's, the agent's, or a human reply). */
  | { type: 'message.created'; agentId: string; conversationId: string; message: ChatMessage }
  /** A conversation changed: a new message, its mode (takeover, release), its handoff state, closed. */
  | { type: 'conversation.updated'; agentId: string; conversationId: string; conversation?: Conversation };

/**
 * Publish/subscribe for conversation events. The in-process bus (infra/events.ts) reaches the
 * subscribers of this process; with several processes on PostgreSQL, an adapter carries events
 * between them. Subscribers filter what their caller may see: events carry the agent id for that.
 * Publishing never throws and never waits for subscribers.
 */
export interface EventBus {
  publish(e: ConversationEvent): void;
  /** Returns the function that unsubscribes. */
  subscribe(fn: (e: ConversationEvent) => void): () => void;
  /** Whether anyone listens (publishers may skip work that only listeners need). */
  listening(): boolean;
  /** Releases what the bus holds (a database connection); subscribers hear nothing more. */
  close?(): Promise<void>;
}
