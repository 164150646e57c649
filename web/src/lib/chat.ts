import type { Message } from './api';

/** A message as the chat view shows it: stored messages plus the reply being streamed. */
export interface ChatItem {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  status: 'complete' | 'error' | 'streaming';
  createdAt?: string;
}

export function toChatItem(m: Message): ChatItem {
  return { id: m.id, role: m.role, content: m.content, status: m.status, createdAt: m.createdAt };
}
