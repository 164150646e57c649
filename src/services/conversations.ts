import type { Store } from '../domain/ports.js';
import type { Actor, Agent } from '../domain/types.js';
import { errors } from '../domain/errors.js';
import { authorize, canSeeAllAgents } from './access.js';
import { publicAgents, publiclyListed } from './agents.js';
import { collectReply, type ChatEvent, type ChatService } from './chat.js';
import type { InboxService } from './inbox.js';
import type { MemoryService } from './memory.js';
import { peopleDirectory } from './people.js';
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
  chat: Pick<ChatService, 'send' | 'availability' | 'history' | 'newConversation'>;
  inbox: Pick<InboxService, 'inline'>;
  memory: Pick<MemoryService, 'closeByOperator' | 'listSummaries' | 'getSummary' | 'people'>;
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
      closedAt: conv.closedAt, closedReason: conv.closedReason, summaryStatus: conv.summaryStatus,
      summary: summary ? { ...summary, userId: person?.externalId ?? summary.personId, person: shown } : null,
      messages: messages.map(({ conversationId: _c, ...m }) => ({ ...m, media: media.get(m.id) ?? [] })),
      toolCalls: toolCalls.map(({ agentId: _a, conversationId: _c, ...t }) => t),
    };
  }

  const publicAgent = (actor: Actor | undefined, slug: string) => findPublicAgent(store, actor, slug);

  /** Sends through the inbox: if this process dies mid-reply, a worker finishes the reply and it appears in the history. */
  const throughInbox = (agent: Agent, person: Visitor, channel: 'web' | 'api', text: string): AsyncGenerator<ChatEvent> =>
    inbox.inline({ channel, agentId: agent.id, sender: person.externalId, text },
      (sourceId) => chat.send({ agent, person, channel, text, sourceId }));

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
    /** A message to an agent over the message API, answered whole. `userId` names the person (default: the caller). */
    async message(actor: Actor, agentId: string, input: { text: string; userId?: string }) {
      const agent = await store.agents.byId(agentId);
      if (!agent || agent.status === 'deleted') throw errors.notFound('Agent');
      authorize(actor, 'agent.message', agent);
      const person = { kind: 'api', externalId: input.userId ?? `user:${actor.user.id}` };
      return collectReply(throughInbox(agent, person, 'api', input.text));
    },

    // ----- the public pages -----
    /** Agents listed on the home page (see publiclyListed). */
    async listed() {
      const list = await publicAgents(store);
      return list.map((a) => ({ slug: a.slug, name: a.name, description: a.description, icon: a.icon }));
    },
    /** One public agent's card, and whether it can answer now. */
    async publicCard(actor: Actor | undefined, slug: string) {
      const a = await publicAgent(actor, slug);
      return { slug: a.slug, name: a.name, description: a.description, icon: a.icon, ...(await chat.availability(a)) };
    },
    /** This visitor's current conversation with a public agent. */
    async visitorHistory(actor: Actor | undefined, slug: string, visitor: VisitorOf) {
      const agent = await publicAgent(actor, slug);
      return chat.history(agent, visitor());
    },
    /** Starts over: the visitor's next message opens a new conversation. */
    async visitorNewConversation(actor: Actor | undefined, slug: string, visitor: VisitorOf, reason: 'new_conversation' | 'switched_agent') {
      const agent = await publicAgent(actor, slug);
      await chat.newConversation(agent, visitor(), reason);
    },
    /** A visitor's message to a public agent; the reply's events stream from the generator. */
    async visitorSend(actor: Actor | undefined, slug: string, visitor: VisitorOf, text: string): Promise<AsyncGenerator<ChatEvent>> {
      const agent = await publicAgent(actor, slug);
      return throughInbox(agent, visitor(), 'web', text);
    },
  };
}
export type ConversationService = ReturnType<typeof conversationService>;
