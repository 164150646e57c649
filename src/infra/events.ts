/** The in-process event bus: listeners of this process, called synchronously, each failure logged and contained. */
import type { ConversationEvent, EventBus, Store } from '../domain/ports.js';
import type { Logger } from './logger.js';

export function localEventBus(log?: Logger): EventBus & { deliver(e: ConversationEvent): void } {
  const listeners = new Set<(e: ConversationEvent) => void>();
  function deliver(e: ConversationEvent) {
    for (const fn of [...listeners]) {
      try { fn(e); } catch (err) { log?.warn('event listener failed', { error: err, type: e.type }); }
    }
  }
  return {
    publish: deliver,
    deliver,
    subscribe(fn) {
      listeners.add(fn);
      return () => { listeners.delete(fn); };
    },
    listening: () => listeners.size > 0,
  };
}

/**
 * Every stored message is announced (`message.created`, then `conversation.updated`), whichever
 * service stored it: the web chat, a channel's worker, a human reply, a handoff notice. The
 * conversation comes back from the update that touched it (RETURNING), only while someone listens.
 */
export function withConversationEvents(store: Store, bus: EventBus): Store {
  const conversations: Store['conversations'] = {
    ...store.conversations,
    async addMessage(m) {
      if (!bus.listening()) return store.conversations.addMessage(m);
      // The conversation comes back from the statement that updated it (one read fewer a message).
      const { message, conversation } = await store.conversations.addMessageWithConversation(m);
      if (conversation) {
        bus.publish({ type: 'message.created', agentId: conversation.agentId, conversationId: conversation.id, message });
        bus.publish({ type: 'conversation.updated', agentId: conversation.agentId, conversationId: conversation.id, conversation });
      }
      return message;
    },
  };
  return { ...store, conversations, transaction: (fn) => store.transaction((tx) => fn(withConversationEvents(tx, bus))) };
}
