import type { Message } from './api';

/** A message as the chat view shows it: stored messages plus the reply being streamed. */
export interface ChatItem {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  status: 'complete' | 'error' | 'streaming';
  createdAt?: string;
  /** A reply written by a person of the support side: the name they go by (shown instead of the agent's). */
  authorName?: string;
}

export function toChatItem(m: Message): ChatItem {
  const authorName = m.author?.type === 'human' ? (m.author.name ?? 'Support') : undefined;
  return { id: m.id, role: m.role, content: m.content, status: m.status, createdAt: m.createdAt, ...(authorName ? { authorName } : {}) };
}
