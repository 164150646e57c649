import type { Clock, EventBus, Store } from '../domain/ports.js';
import { SendError } from '../domain/ports.js';
import type { DirectPurpose } from '../domain/channels.js';
import { AppError, appError, errors } from '../domain/errors.js';
import { CHANNEL_IDENTITY, type Actor, type Agent, type Channel, type Conversation } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import { authorize } from './access.js';
import { recordAudit } from './audit.js';

/** Stored as the error of a reply a takeover cut before it was delivered. */
export const CUT_BY_TAKEOVER = 'cut: a person took over the conversation';
/** WhatsApp allows free-form messages only this long after the person's last inbound message. */
export const WHATSAPP_WINDOW_MS = 24 * 3_600_000;
/** Channels whose messages reach the person by being stored (the web chat reads them); the rest are pushed. */
const STORED_ONLY = new Set<string>(['web', 'api', 'openai']);

/**
 * The replies this process is generating right now, by conversation: `chat.send` registers each
 * streamed answer, and a takeover aborts them, so nothing that was being answered is delivered after
 * it. (Replies generated in other processes are stopped by the inbox worker's mode check instead.)
 */
export function inFlightReplies() {
  const byConversation = new Map<string, Set<AbortController>>();
  return {
    /** Registers an answer being generated; call `done()` when it ends. */
    track(conversationId: string): { signal: AbortSignal; done(): void } {
      const c = new AbortController();
      let set = byConversation.get(conversationId);
      if (!set) byConversation.set(conversationId, (set = new Set()));
      set.add(c);
      return {
        signal: c.signal,
        done() {
          set.delete(c);
          if (!set.size && byConversation.get(conversationId) === set) byConversation.delete(conversationId);
        },
      };
    },
    /** Aborts every answer being generated in the conversation; returns how many. */
    cut(conversationId: string): number {
      const set = byConversation.get(conversationId);
      if (!set) return 0;
      for (const c of set) c.abort(new Error(CUT_BY_TAKEOVER));
      byConversation.delete(conversationId);
      return set.size;
    },
  };
}
export type InFlightReplies = ReturnType<typeof inFlightReplies>;

/** What a message sent outside a reply needs (channels.send). */
export type SendDirect = (m: { channel: string; agentId: string | null; to: string; text: string; purpose: DirectPurpose }) => Promise<{ providerMessageId: string | null }>;

/**
 * A person of the operator's side steps into a conversation (issue 15): takes it over (the agent
 * stops answering it on every channel), replies by hand on the person's channel, hands it back — or
 * it is handed back automatically after the agent's `handoff.autoReleaseMinutes` of silence.
 */
export function takeoverService<V>(deps: {
  store: Pick<Store, 'agents' | 'conversations' | 'people' | 'inbox' | 'audit' | 'transaction'>;
  events: EventBus; clock: Clock; log: Logger; replies: InFlightReplies; send: SendDirect;
  /** The conversation as `GET /api/conversations/:id` shows it (what takeover and release answer). */
  view: (actor: Actor, id: string) => Promise<V>;
}) {
  const { store, events, clock, log, replies } = deps;
  const now = () => clock.now().toISOString();

  /** The conversation and its agent, if the actor may act on it (customers: their own agents' only, else 404; auditors 403). */
  async function load(actor: Actor, id: string): Promise<{ conv: Conversation; agent: Agent }> {
    const conv = await store.conversations.byId(id);
    const agent = conv && (await store.agents.byId(conv.agentId));
    if (!conv || !agent) throw errors.notFound('Conversation');
    authorize(actor, 'conversation.write', agent, 'Conversation');
    return { conv, agent };
  }

  const announce = (c: Conversation) => events.publish({ type: 'conversation.updated', agentId: c.agentId, conversationId: c.id, conversation: c });

  /** The user's name as the person sees it: their display name, else the local part of their e-mail. */
  const displayName = (actor: Actor) => actor.user.name?.trim() || actor.user.email.split('@')[0] || 'Support';

  /**
   * Where a message to the person goes: the channel they last wrote on in this conversation (a
   * conversation can span channels), else the conversation's; and, for WhatsApp, whether the
   * 24-hour customer-service window is open (counted from their last inbound WhatsApp message).
   */
  async function destination(conv: Conversation): Promise<{ channel: Channel; windowOpen: boolean }> {
    const last = await store.conversations.lastPersonMessage(conv.id);
    const channel = (last?.channel ?? conv.channel) as Channel;
    const windowOpen = channel !== 'whatsapp'
      || (!!last && last.channel === 'whatsapp' && clock.now().getTime() - Date.parse(last.createdAt) < WHATSAPP_WINDOW_MS);
    return { channel, windowOpen };
  }

  /** Pushes a text to the person on a messaging channel (nothing to do on the web chat and the API: the message is stored). */
  async function push(conv: Conversation, agent: Agent, channel: Channel, text: string, purpose: DirectPurpose): Promise<void> {
    if (STORED_ONLY.has(channel)) return;
    const kind = CHANNEL_IDENTITY[channel]?.person ?? channel;
    const identity = (await store.people.identities(conv.personId)).find((p) => p.kind === kind);
    if (!identity) throw appError('reply_not_delivered', `This person has no ${channel} identity to send to.`);
    try {
      await deps.send({ channel, agentId: agent.id, to: identity.externalId, text, purpose });
    } catch (err) {
      if (err instanceof AppError) throw err;
      log.warn('human reply not delivered', { conversationId: conv.id, channel, error: err });
      throw appError('reply_not_delivered', `The ${channel} message was not delivered${err instanceof SendError ? `: ${err.message}` : '.'}`);
    }
  }

  /** Hands a conversation back to the agent automatically; exactly one process wins the conditional update. */
  async function autoRelease(conv: Conversation, agent: Agent, quietSince: string): Promise<boolean> {
    const { channel, windowOpen } = await destination(conv);
    const text = agent.handoff.releaseMessage;
    const released = await store.transaction(async (tx) => {
      const c = await tx.conversations.release(conv.id, { takenOverAt: conv.takenOverAt, quietSince });
      if (!c) return undefined;
      await tx.conversations.addMessage({ conversationId: conv.id, role: 'assistant', content: text, status: 'complete', channel });
      await recordAudit(tx, 'system', 'conversation.released', { type: 'conversation', id: conv.id }, { agentId: conv.agentId, automatic: true, takenOverBy: conv.takenOverBy });
      return c;
    });
    if (!released) return false;
    announce(released);
    if (windowOpen) {
      await push(conv, agent, channel, text, 'handoff_release').catch((err: unknown) => log.warn('hand-back notice not delivered', { conversationId: conv.id, error: err }));
    }
    return true;
  }

  return {
    /**
     * Takes the conversation over: the agent stops answering it; answers being generated are cut and
     * unsent reply parts dropped. Another user already holding it: 409 already_taken_over. The same
     * user taking it over again is answered as it is (idempotent; nothing new is logged).
     */
    async takeover(actor: Actor, id: string): Promise<V> {
      const { conv } = await load(actor, id);
      const taken = await store.transaction(async (tx) => {
        const c = await tx.conversations.takeOver(conv.id, actor.user.id, now());
        if (!c) return undefined;
        const dropped = await tx.inbox.dropPending({ conversationId: conv.id }, CUT_BY_TAKEOVER);
        await recordAudit(tx, actor, 'conversation.taken_over', { type: 'conversation', id: conv.id }, { agentId: conv.agentId, droppedParts: dropped });
        return c;
      });
      if (!taken) {
        const current = await store.conversations.byId(conv.id);
        if (current?.mode === 'human' && current.takenOverBy === actor.user.id) return deps.view(actor, conv.id);
        throw errors.conflict('already_taken_over', 'Someone else has already taken this conversation over.');
      }
      replies.cut(conv.id);
      announce(taken);
      return deps.view(actor, conv.id);
    },

    /** Hands the conversation back to the agent (already in agent mode: answered as it is). */
    async release(actor: Actor, id: string): Promise<V> {
      const { conv } = await load(actor, id);
      const released = await store.transaction(async (tx) => {
        const c = await tx.conversations.release(conv.id);
        if (c) await recordAudit(tx, actor, 'conversation.released', { type: 'conversation', id: conv.id }, { agentId: conv.agentId, takenOverBy: conv.takenOverBy });
        return c;
      });
      if (released) announce(released);
      return deps.view(actor, conv.id);
    },

    /**
     * A reply written by a person, delivered on the person's channel and stored as an assistant
     * message with `author: {type: 'human', userId, name}` — in either mode (in agent mode the agent
     * then sees it as history). WhatsApp outside its 24-hour window: 409 outside_window, nothing stored.
     */
    async reply(actor: Actor, id: string, text: string): Promise<{ messageId: string; delivered: true }> {
      const { conv, agent } = await load(actor, id);
      if (agent.status === 'deleted') throw errors.conflict('agent_deleted', 'This agent was deleted; its conversations can be read but not answered.');
      const { channel, windowOpen } = await destination(conv);
      if (!windowOpen) {
        throw errors.conflict('outside_window', "The person last wrote on WhatsApp more than 24 hours ago: outside WhatsApp's customer-service window only an approved message template can be sent.");
      }
      await push(conv, agent, channel, text, 'human_reply');
      const author = { type: 'human' as const, userId: actor.user.id, name: displayName(actor) };
      const message = await store.transaction(async (tx) => {
        const m = await tx.conversations.addMessage({ conversationId: conv.id, role: 'assistant', content: text, status: 'complete', channel, author });
        await recordAudit(tx, actor, 'conversation.replied', { type: 'conversation', id: conv.id }, { agentId: conv.agentId, messageId: m.id, channel, mode: conv.mode });
        return m;
      });
      return { messageId: message.id, delivered: true };
    },

    /**
     * Hands back every conversation whose person has waited `handoff.autoReleaseMinutes` (per agent;
     * 0: never) without a word from the operator, and tells the person the agent's `releaseMessage`.
     * The clock starts at the person's last message or the takeover, whichever is later; an operator
     * reply after the person's last message means nobody is waiting. Safe in several processes at once.
     */
    async sweep(): Promise<number> {
      let released = 0;
      const at = clock.now().getTime();
      const agents = new Map<string, Agent | undefined>();
      for (const conv of await store.conversations.heldByHuman(500)) {
        if (!agents.has(conv.agentId)) agents.set(conv.agentId, await store.agents.byId(conv.agentId));
        const agent = agents.get(conv.agentId);
        const minutes = agent?.handoff.autoReleaseMinutes ?? 0;
        if (!agent || agent.status === 'deleted' || minutes <= 0) continue;
        const person = conv.lastPersonMessageAt;
        const lastHuman = await store.conversations.lastHumanReplyAt(conv.id);
        if (person && lastHuman && lastHuman >= person) continue; // the operator answered last: nobody waits
        const since = [person, conv.takenOverAt, lastHuman].filter((x): x is string => !!x).sort().at(-1);
        if (!since || at - Date.parse(since) < minutes * 60_000) continue;
        try {
          if (await autoRelease(conv, agent, since)) released++;
        } catch (err) {
          log.error('automatic hand-back failed', { conversationId: conv.id, error: err });
        }
      }
      return released;
    },
  };
}
export type TakeoverService<V = unknown> = ReturnType<typeof takeoverService<V>>;
