// The live inbox (issue 15): the conversation list (generated client), the event stream (EventSource,
// the session cookie authenticates it), and the operator's actions on one conversation.
import { client, unwrap, apiError } from './api/client';
import type { components, paths } from './api/schema';

export type InboxItem = components['schemas']['InboxItem'];
export type InboxQuery = NonNullable<paths['/api/conversations']['get']['parameters']['query']>;
export type InboxPage = { items: InboxItem[]; nextCursor: string | null };

export const inboxList = (query: InboxQuery, signal?: AbortSignal): Promise<InboxPage> =>
  unwrap(client.GET('/api/conversations', { params: { query }, signal }));

export type MessageAuthor = { type: 'agent' | 'human' | 'person'; userId?: string; name?: string };
/** What GET /api/conversations/stream sends (src/services/conversations.ts, InboxEvent). */
export type InboxEvent =
  | {
      type: 'message.created'; agentId: string; conversationId: string;
      message: { id: string; conversationId: string; role: string; content: string; status: string; author: MessageAuthor; channel: string | null; createdAt: string };
    }
  | {
      type: 'conversation.updated'; agentId: string; conversationId: string;
      conversation: { id: string; agentId: string; channel: string; personId: string; mode: 'agent' | 'human'; needsHuman: boolean; handoffReason: string | null; takenOverBy: string | null; lastMessageAt: string; status: 'open' | 'closed' } | null;
    };

/**
 * Listens to the inbox stream. The browser's EventSource reconnects by itself (the server's `retry:`
 * hint); `onState` says whether it is connected, so the page can say "reconnecting" and reload what
 * it may have missed when it is back. Returns the function that closes it.
 */
export function watchInbox(onEvent: (e: InboxEvent) => void, onState?: (connected: boolean) => void): () => void {
  const source = new EventSource('/api/conversations/stream');
  const handle = (ev: MessageEvent) => {
    try { onEvent(JSON.parse(ev.data) as InboxEvent); } catch { /* not ours */ }
  };
  source.addEventListener('message.created', handle as EventListener);
  source.addEventListener('conversation.updated', handle as EventListener);
  source.addEventListener('ready', () => onState?.(true));
  source.onerror = () => onState?.(false);
  return () => source.close();
}

// ----- the operator's actions (routes from the takeover work of issue 15) -----

async function post<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method: 'POST', credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) throw apiError(res, parsed);
  return parsed as T;
}

const path = (id: string, action: string) => `/api/conversations/${encodeURIComponent(id)}/${action}`;
export const takeOver = (id: string) => post<unknown>(path(id, 'takeover'));
export const handBack = (id: string) => post<unknown>(path(id, 'release'));
/** 201 {messageId, delivered}; 409 outside_window on WhatsApp outside its 24-hour window. */
export const replyAsPerson = (id: string, text: string) => post<{ messageId: string; delivered: boolean }>(path(id, 'reply'), { text });

/** How a message's author is shown: the person, the agent, or the named operator who wrote it. */
export function authorLabel(role: string, author: MessageAuthor | undefined, agentName: string): string {
  if (author?.type === 'human') return author.name ? author.name : 'Operator';
  if (role === 'user' || author?.type === 'person') return 'Person';
  return agentName;
}
