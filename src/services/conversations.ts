import type { Clock, ConversationEvent, EventBus, InboxRow, Store } from '../domain/ports.js';
import type { Actor, Agent, Channel, ChatMessage, ConversationMode } from '../domain/types.js';
import { errors } from '../domain/errors.js';
import { authorize, canSeeAllAgents } from './access.js';
import { publicAgents, publiclyListed } from './agents.js';
import { collectReply, type ChatEvent, type ChatService } from './chat.js';
import type { InboxService } from './inbox.js';
import type { MemoryService } from './memory.js';
import { peopleDirectory, type PersonView } from './people.js';
import type { MediaService, MediaView } from './media.js';

export type Visitor = { kind: string; externalId: string };
/** The visitor, resolved only once the agent is found (resolving it may start a cookie). */
export type VisitorOf = () => Visitor;

/** Public pages see an agent when it is publicly listed, or when a signed-in user may open it (a preview). */
export async function findPublicAgent(store: Pick<Store, 'agents'>, actor: Actor | undefined, slug: string): Promise<Agent> {
  const a = await store.agents.bySlug(slug);
  const visibleToActor = !!actor && !!a && (canSeeAllAgents(actor) || a.ownerId === actor.user.id);
  if (!a || a.status === 'deleted' || !(publiclyListed(a) || visibleToActor)) throw errors.notFound('Agent');
  return a;
}

/**
 * Conversations as the dashboard, the message API and the public web chat see them: an agent's
 * conversation list and recent history, one transcript with its summary and tool calls, a message
 * sent through the inbox, and the public pages' agent lookups. The reads that routes used to make
 * on the store directly live here.
 */
export function conversationService(deps: {
  store: Pick<Store, 'agents' | 'conversations' | 'summaries' | 'people' | 'toolCalls'>;
  chat: Pick<ChatService, 'send' | 'availability' | 'history' | 'newConversation' | 'capabilities'>;
  inbox: Pick<InboxService, 'inline'>;
  memory: Pick<MemoryService, 'closeByOperator' | 'listSummaries' | 'getSummary' | 'people'>;
  /** Conversation events: an open web chat hears of replies written by a person (issue 15). */
  events?: EventBus; clock?: Clock;
  /** The voice notes and images of messages, for transcripts. */
  media?: Pick<MediaService, 'forMessages'>;
}) {
  const { store, chat, inbox, memory } = deps;
  /** One person, one label: every list and page that shows a person shows `person: {id, label, identities}`. */
  const directory = peopleDirectory(store);

  /** An agent the actor may see, deleted ones included (their kept history stays readable). */
  async function agentRecord(actor: Actor, id: string): Promise<Agent> {
    const a = await store.agents.byId(id);
    if (!a) throw errors.notFound('Agent');
    authorize(actor, 'agent.read', a);
    return a;
  }

  async function view(actor: Actor, id: string) {
    const conv = await store.conversations.byId(id);
    const agent = conv && (await store.agents.byId(conv.agentId));
    if (!conv || !agent) throw errors.notFound('Conversation');
    authorize(actor, 'conversation.read', agent, 'Conversation');
    const [messages, summary, person, toolCalls, shown] = await Promise.all([
      store.conversations.messages(conv.id), store.summaries.byConversation(conv.id), store.people.byId(conv.personId),
      store.toolCalls.forConversation(conv.id), directory.one(conv.personId),
    ]);
    const media = deps.media ? await deps.media.forMessages(messages.map((m) => m.id)) : new Map<string, MediaView[]>();
    return {
      id: conv.id, agentId: conv.agentId, channel: conv.channel, personId: conv.personId, userId: person?.externalId ?? conv.personId,
      person: shown,
      createdAt: conv.createdAt, lastMessageAt: conv.lastMessageAt, status: conv.closedAt ? 'closed' as const : 'open' as const,
      mode: conv.mode, needsHuman: conv.needsHuman, handoffReason: conv.handoffReason, takenOverBy: conv.takenOverBy, takenOverAt: conv.takenOverAt,
      closedAt: conv.closedAt, closedReason: conv.closedReason, summaryStatus: conv.summaryStatus,
      summary: summary ? { ...summary, userId: person?.externalId ?? summary.personId, person: shown } : null,
      messages: messages.map(({ conversationId: _c, ...m }) => ({ ...m, media: media.get(m.id) ?? [] })),
      toolCalls: toolCalls.map(({ agentId: _a, conversationId: _c, ...t }) => t),
    };
  }

  // ----- the inbox (issue 15) -----

  /** The cursor is the last item's keyset, opaque to clients: base64url of `[lastMessageAt, id]`, checked on the way back. */
  const encodeCursor = (r: { lastMessageAt: string; id: string }) => Buffer.from(JSON.stringify([r.lastMessageAt, r.id])).toString('base64url');
  function decodeCursor(cursor: string): { lastMessageAt: string; id: string } {
    const bad = () => errors.validation([{ path: 'cursor', message: 'Not a cursor this list gave out; start again without it.' }]);
    let v: unknown;
    try { v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')); } catch { throw bad(); }
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string' || v[1].length === 0 || v[1].length > 100
      || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v[0])) throw bad();
    return { lastMessageAt: v[0], id: v[1] };
  }

  /** The inbox's view of one conversation (the list item; `unanswered`: the person spoke last). */
  const inboxItem = (r: InboxRow, person: PersonView) => ({
    id: r.id, agentId: r.agentId, agentName: r.agentName, channel: r.channel, personId: r.personId, person,
    mode: r.mode, needsHuman: r.needsHuman, handoffReason: r.handoffReason, takenOverBy: r.takenOverBy,
    lastMessageAt: r.lastMessageAt, lastMessagePreview: r.lastMessagePreview, lastMessageRole: r.lastMessageRole,
    unanswered: r.lastMessageRole === 'user', status: r.closedAt ? 'closed' as const : 'open' as const, createdAt: r.createdAt,
  });

  async function inboxList(actor: Actor, f: InboxQuery) {
    authorize(actor, 'conversation.read');
    // An agent filter names an agent the actor may see, or it is not found (as everywhere else for a customer).
    if (f.agentId) await agentRecord(actor, f.agentId);
    const limit = f.limit ?? 50;
    const rows = await store.conversations.inboxPage({
      ownerId: canSeeAllAgents(actor) ? undefined : actor.user.id,
      agentId: f.agentId, channel: f.channel, mode: f.mode, needsHuman: f.needsHuman, unanswered: f.unanswered,
      q: f.q?.trim() || undefined, after: f.cursor ? decodeCursor(f.cursor) : undefined, limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const people = await directory.present(page.map((r) => r.personId));
    return { items: page.map((r) => inboxItem(r, people.get(r.personId)!)), nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!) : null };
  }

  /**
   * Subscribes to conversation events the actor may see: operators and auditors every agent's,
   * customers their own agents'. The set of visible agents is loaded once and reloaded when an event
   * names an agent it does not know (a customer's new agent). Returns the function that unsubscribes.
   */
  function watch(actor: Actor, send: (e: InboxEvent) => void): () => void {
    const bus = deps.events;
    if (!bus) throw new Error('conversation events are not wired');
    authorize(actor, 'conversation.read');
    const all = canSeeAllAgents(actor);
    let visible: Promise<Set<string>> | undefined;
    // Agents known to be someone else's: their events cost no lookup (an agent never changes owner).
    const others = new Set<string>();
    const load = () => store.agents.list({ ownerId: actor.user.id }).then((l) => new Set(l.map((a) => a.id)));
    let chain = Promise.resolve();
    const deliver = async (e: ConversationEvent) => {
      if (!all) {
        if (others.has(e.agentId)) return;
        let known = await (visible ??= load());
        if (!known.has(e.agentId)) { visible = load(); known = await visible; }
        if (!known.has(e.agentId)) { if (others.size < 10_000) others.add(e.agentId); return; }
      }
      send(presentEvent(e));
    };
    // In order: one event at a time per subscriber (a reload of the agent set must not reorder them).
    return bus.subscribe((e) => { chain = chain.then(() => deliver(e)).catch(() => {}); });
  }

  /** Public pages see an agent when it is publicly listed, or when a signed-in user may open it (a preview). */
  const publicAgent = (actor: Actor | undefined, slug: string) => findPublicAgent(store, actor, slug);

  /** Sends through the inbox: if this process dies mid-reply, a worker finishes the reply and it appears in the history. */
  const throughInbox = (agent: Agent, person: Visitor, channel: 'web' | 'api', text: string, mediaIds?: string[]): AsyncGenerator<ChatEvent> =>
    inbox.inline({ channel, agentId: agent.id, sender: person.externalId, text, ...(mediaIds?.length ? { mediaIds } : {}) },
      (sourceId, firstAttempt) => chat.send({ agent, person, channel, text, sourceId, firstAttempt, ...(mediaIds?.length ? { mediaIds } : {}) }));

  return {
    /** An agent's recent conversations (newest first, at most 200). */
    async listForAgent(actor: Actor, agentId: string) {
      const agent = await agentRecord(actor, agentId);
      const list = await store.conversations.listForAgent(agent.id, 200);
      const people = await directory.present(list.map((r) => r.personId));
      return list.map((r) => ({ id: r.id, channel: r.channel, personId: r.personId, person: people.get(r.personId)!, messageCount: r.messageCount, lastMessageAt: r.lastMessageAt, createdAt: r.createdAt, closedAt: r.closedAt, closedReason: r.closedReason, summaryStatus: r.summaryStatus, downgraded: r.downgraded }));
    },
    /** An agent's session summaries (see memory.listSummaries), each with its person. */
    async summaries(actor: Actor, agentId: string, f: Parameters<MemoryService['listSummaries']>[2]) {
      const items = await memory.listSummaries(actor, agentId, f);
      const people = await directory.present(items.map((s) => s.personId));
      return items.map((s) => ({ ...s, person: people.get(s.personId)! }));
    },
    /** One summary, with its person. */
    async summary(actor: Actor, id: string) {
      const s = await memory.getSummary(actor, id);
      return { ...s, person: await directory.one(s.personId) };
    },
    /** The people who talked with an agent, each by their one label. */
    async people(actor: Actor, agentId: string, q?: string) {
      const list = await memory.people(actor, agentId, q);
      const people = await directory.present(list.map((p) => p.id));
      return list.map((p) => ({ ...p, person: people.get(p.id)! }));
    },
    /** The agent's latest messages across its conversations and channels. */
    async recentMessages(actor: Actor, agentId: string, limit = 100) {
      const agent = await agentRecord(actor, agentId);
      const list = await store.conversations.recentForAgent(agent.id, limit);
      const people = await directory.present(list.map((m) => m.personId));
      return list.map((m) => ({ ...m, person: people.get(m.personId)! }));
    },
    /** One conversation: transcript, session state, summary, tool calls. Another customer's is not found. */
    view,
    /** Ends the session now (its summary is queued) and answers the conversation as it is then. */
    async close(actor: Actor, id: string) {
      await memory.closeByOperator(actor, id);
      return view(actor, id);
    },
    /** What this installation can do for an agent (hear, speak, see), for GET /api/agents/{id}. */
    capabilities: (agent: Agent) => chat.capabilities(agent),
    /** A message to an agent over the message API, answered whole. `userId` names the person (default: the caller). */
    async message(actor: Actor, agentId: string, input: { text?: string; userId?: string; mediaIds?: string[] }) {
      const agent = await store.agents.byId(agentId);
      if (!agent || agent.status === 'deleted') throw errors.notFound('Agent');
      authorize(actor, 'agent.message', agent);
      const person = { kind: 'api', externalId: input.userId ?? `user:${actor.user.id}` };
      return collectReply(throughInbox(agent, person, 'api', input.text ?? '', input.mediaIds));
    },

    /** The inbox: conversations across the agents the actor may see, newest activity first, one keyset page at a time. */
    inboxList,
    /** Live inbox events for what the actor may see (see `watch`). */
    watch,

    // ----- the public pages -----
    /** Agents listed on the home page (see publiclyListed). */
    async listed() {
      const list = await publicAgents(store);
      return list.map((a) => ({ slug: a.slug, name: a.name, description: a.description, icon: a.icon }));
    },
    /** One public agent's card, and whether it can answer now. */
    async publicCard(actor: Actor | undefined, slug: string) {
      const a = await publicAgent(actor, slug);
      return { slug: a.slug, name: a.name, description: a.description, icon: a.icon, ...(await chat.availability(a)), capabilities: await chat.capabilities(a), voice: { reply: a.voice.reply } };
    },
    /** This visitor's current conversation with a public agent. */
    async visitorHistory(actor: Actor | undefined, slug: string, visitor: VisitorOf) {
      const agent = await publicAgent(actor, slug);
      const h = await chat.history(agent, visitor());
      // Voice notes and images come back from the media store (never the browser's blob URLs).
      const media = deps.media && h.messages.length ? await deps.media.forMessages(h.messages.map((m) => m.id)) : new Map<string, MediaView[]>();
      return { ...h, messages: h.messages.map((m) => ({ ...m, media: media.get(m.id) ?? [] })) };
    },
    /** Starts over: the visitor's next message opens a new conversation. */
    async visitorNewConversation(actor: Actor | undefined, slug: string, visitor: VisitorOf, reason: 'new_conversation' | 'switched_agent') {
      const agent = await publicAgent(actor, slug);
      await chat.newConversation(agent, visitor(), reason);
    },
    /**
     * The replies that reach this visitor's conversation with a public agent without a request of
     * theirs — a person's reply, the agent's hand-back notice — as they are stored. Resolves the agent
     * first (404 before any stream); `subscribe` returns the function that stops listening.
     */
    async visitorEvents(actor: Actor | undefined, slug: string, visitor: VisitorOf) {
      const agent = await publicAgent(actor, slug);
      const v = visitor();
      const web = await store.people.upsert(v.kind, v.externalId);
      const link = await store.people.linkOf(web.id, (deps.clock?.now() ?? new Date()).toISOString());
      const mine = new Set([web.id, ...(link ? [link.linkedPersonId] : [])]);
      const ofVisitor = new Map<string, boolean>();
      const isMine = async (conversationId: string) => {
        let yes = ofVisitor.get(conversationId);
        if (yes === undefined) {
          const conv = await store.conversations.byId(conversationId);
          yes = !!conv && mine.has(conv.personId);
          if (ofVisitor.size > 100) ofVisitor.clear();
          ofVisitor.set(conversationId, yes);
        }
        return yes;
      };
      return {
        subscribe(fn: (m: ReturnType<typeof visitorMessage>) => void): () => void {
          if (!deps.events) return () => {};
          return deps.events.subscribe((e) => {
            if (e.type !== 'message.created' || e.agentId !== agent.id || e.message.role !== 'assistant') return;
            void isMine(e.conversationId).then((yes) => { if (yes) fn(visitorMessage(e.message)); }, () => {});
          });
        },
      };
    },
    /** A visitor's message to a public agent; the reply's events stream from the generator. */
    async visitorSend(actor: Actor | undefined, slug: string, visitor: VisitorOf, text: string, mediaIds?: string[]): Promise<AsyncGenerator<ChatEvent>> {
      const agent = await publicAgent(actor, slug);
      return throughInbox(agent, visitor(), 'web', text, mediaIds);
    },
  };
}
export type ConversationService = ReturnType<typeof conversationService>;

/**
 * A message as the public chat shows it: who wrote it by type and, for a person's reply, the name
 * they go by — never their user id or e-mail.
 */
export function visitorMessage(m: ChatMessage & { media?: MediaView[] }) {
  return {
    id: m.id, role: m.role, content: m.content, status: m.status, channel: m.channel, createdAt: m.createdAt,
    author: { type: m.author.type, ...(m.author.type === 'human' && m.author.name ? { name: m.author.name } : {}) },
    ...(m.media?.length ? { media: m.media } : {}),
  };
}

export type InboxQuery = { agentId?: string; channel?: Channel; mode?: ConversationMode; needsHuman?: boolean; unanswered?: boolean; q?: string; limit?: number; cursor?: string };

/** What the live inbox receives: the message itself (the caller's own data), or the conversation's new state. */
export type InboxEvent =
  | { type: 'message.created'; agentId: string; conversationId: string; message: { id: string; conversationId: string; role: string; content: string; status: string; author: ChatMessage['author']; channel: string | null; createdAt: string } }
  | { type: 'conversation.updated'; agentId: string; conversationId: string; conversation: { id: string; agentId: string; channel: string; personId: string; mode: ConversationMode; needsHuman: boolean; handoffReason: string | null; takenOverBy: string | null; lastMessageAt: string; status: 'open' | 'closed' } | null };

function presentEvent(e: ConversationEvent): InboxEvent {
  if (e.type === 'message.created') {
    const m = e.message;
    return { type: e.type, agentId: e.agentId, conversationId: e.conversationId,
      message: { id: m.id, conversationId: m.conversationId, role: m.role, content: m.content, status: m.status, author: m.author, channel: m.channel, createdAt: m.createdAt } };
  }
  const c = e.conversation;
  return { type: e.type, agentId: e.agentId, conversationId: e.conversationId,
    conversation: c ? { id: c.id, agentId: c.agentId, channel: c.channel, personId: c.personId, mode: c.mode, needsHuman: c.needsHuman, handoffReason: c.handoffReason, takenOverBy: c.takenOverBy, lastMessageAt: c.lastMessageAt, status: c.closedAt ? 'closed' : 'open' } : null };
}
