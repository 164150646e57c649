import { PostgresAdapter, sql } from 'kysely';
import type { Db } from '../db.js';
import { prepared, preparedShapes } from '../prepared.js';
import type { Clock, ConversationRepo, IdGenerator, PersonRepo } from '../../domain/ports.js';
import { inboxChannelsOf, type Channel, type ChatMessage, type CloseReason, type Conversation, type ConversationMode, type MessageAuthor, type MessageRole, type MessageStatus, type Person, type SummaryStatus } from '../../domain/types.js';
import type { Database } from '../schema.js';
import { maskStored } from '../../infra/redact.js';

const toConversation = (r: Database['conversations']): Conversation => ({
  id: r.id, agentId: r.agent_id, personId: r.person_id, channel: r.channel as Channel,
  createdAt: r.created_at, lastMessageAt: r.last_message_at, closedAt: r.closed_at,
  closedReason: r.closed_reason as CloseReason | null, summaryStatus: (r.summary_status ?? 'none') as SummaryStatus,
  runningSummary: r.running_summary, compactedThrough: Number(r.compacted_through ?? 0), memoryContext: r.memory_context,
  downgraded: Number(r.downgraded ?? 0) === 1,
  mode: (r.mode ?? 'agent') as ConversationMode, needsHuman: Number(r.needs_human ?? 0) === 1, handoffReason: r.handoff_reason ?? null,
  needsHumanAt: r.needs_human_at ?? null, takenOverBy: r.taken_over_by ?? null, takenOverAt: r.taken_over_at ?? null,
  lastPersonMessageAt: r.last_person_message_at ?? null,
});
const toPerson = (r: Omit<Database['people'], 'display_name'> & { display_name?: string | null }) => ({ id: r.id, kind: r.kind, externalId: r.external_id, createdAt: r.created_at, displayName: r.display_name ?? null });
/** Who wrote a message: stored for human replies; the role says it for the rest. */
export function messageAuthor(role: string, type: string | null | undefined, userId: string | null | undefined, name: string | null | undefined): MessageAuthor {
  if (type === 'human') return { type: 'human', ...(userId ? { userId } : {}), ...(name ? { name } : {}) };
  return { type: role === 'user' ? 'person' : 'agent' };
}
const toMessage = (r: Omit<Database['messages'], 'seq' | 'source_id' | 'channel' | 'author_type' | 'author_user_id' | 'author_name'> & { channel?: string | null; author_type?: string | null; author_user_id?: string | null; author_name?: string | null }): ChatMessage => ({
  id: r.id, conversationId: r.conversation_id, role: r.role as MessageRole, content: r.content,
  status: r.status as MessageStatus, error: r.error, channel: (r.channel ?? null) as Channel | null, createdAt: r.created_at,
  author: messageAuthor(r.role, r.author_type, r.author_user_id, r.author_name),
});
const MESSAGE_COLS = ['id', 'conversation_id', 'role', 'content', 'status', 'error', 'created_at', 'channel', 'author_type', 'author_user_id', 'author_name'] as const;

/** A message stored after the conversation's last (every chat turn stores two; prepared: built once). */
const insertMessage = prepared((db, p: Database['messages']) => db.insertInto('messages').values({
  id: p.id, conversation_id: p.conversation_id, role: p.role, content: p.content, status: p.status, error: p.error, created_at: p.created_at,
  channel: p.channel, author_type: p.author_type, author_user_id: p.author_user_id, author_name: p.author_name, source_id: p.source_id,
  seq: sql<number>`(select coalesce(max(seq), 0) + 1 from messages where conversation_id = ${p.conversation_id})`,
}));
/**
 * The conversation's "latest message" columns after a message: a person's message also sets
 * last_person_message_at; a message without text (a failed reply) leaves the preview as it was; with
 * `returning`, the row as the update left it. Eight shapes, each prepared once.
 */
const touchConversation = preparedShapes((shape: `${boolean}:${boolean}:${boolean}`) => {
  const [byPerson, preview, returning] = shape.split(':').map((x) => x === 'true');
  return (db, p: { id: string; at: string; preview: string | null; role: string }) => {
    const q = db.updateTable('conversations')
      .set({ last_message_at: p.at, ...(byPerson ? { last_person_message_at: p.at } : {}), ...(preview ? { last_message_preview: p.preview, last_message_role: p.role } : {}) })
      .where('id', '=', p.id);
    // The conversation as this message left it, for the events that announce both (no read after).
    return returning ? q.returningAll() : q;
  };
});

/** A person by id (read for every message: the prompt's notes and name). */
const personById = prepared((db, p: { id: string }) => db.selectFrom('people').selectAll().where('id', '=', p.id));
/** A channel identity's person with the person they count as (asked by every message and /v1 call; prepared: built once). */
const personResolve = prepared((db, p: { kind: string; externalId: string; now: string }) => db.selectFrom('people as p')
  .leftJoin('person_links as l', (j) => j.onRef('l.person_id', '=', 'p.id').on('l.expires_at', '>', p.now))
  .select(['p.id', 'p.display_name', 'l.linked_person_id']).where('p.kind', '=', p.kind).where('p.external_id', '=', p.externalId));

/** A channel identity's person (every channel message asks; prepared: built once). */
const personByExternal = prepared((db, p: { kind: string; externalId: string }) => db.selectFrom('people').selectAll()
  .where('kind', '=', p.kind).where('external_id', '=', p.externalId));
/**
 * A person's open conversation with an agent (every chat turn asks; prepared: built once). SQLite is told
 * the index: left to choose, it takes an index that gives the order (by agent and time) and walks every
 * conversation of the agent; the person's open ones are one or two, sorted in no time (migration 0036).
 */
export const openConversation = prepared((db, p: { agentId: string; personId: string }) => db
  .selectFrom(db.getExecutor().adapter instanceof PostgresAdapter ? 'conversations'
    : (sql`"conversations" indexed by "conversations_person_open"` as unknown as 'conversations')).selectAll()
  .where('agent_id', '=', p.agentId).where('person_id', '=', p.personId)
  .where('closed_at', 'is', null).orderBy('last_message_at', 'desc').limit(1));
/** A new person (a channel identity's or a web visitor's first message; prepared: built once). */
const personInsert = prepared((db, p: { id: string; kind: string; externalId: string; at: string; name: string | null }) => db.insertInto('people')
  .values({ id: p.id, kind: p.kind, external_id: p.externalId, created_at: p.at, display_name: p.name })
  .onConflict((oc) => oc.columns(['kind', 'external_id']).doNothing()).returning('id'));
/** Whom a person counts as while a link holds (every chat turn asks; prepared: built once). */
const linkedTo = prepared((db, p: { personId: string; now: string }) => db.selectFrom('person_links').select('linked_person_id')
  .where('person_id', '=', p.personId).where('expires_at', '>', p.now));
/** A person's most recently closed conversation with an agent (a new session starts from it; prepared: built once). */
const lastClosedConversation = prepared((db, p: { agentId: string; personId: string }) => db.selectFrom('conversations').selectAll()
  .where('agent_id', '=', p.agentId).where('person_id', '=', p.personId).where('closed_at', 'is not', null).orderBy('closed_at', 'desc').limit(1));
/** What every new conversation starts with, besides its ids, channel and time. */
const NEW_CONVERSATION = {
  closed_at: null, closed_reason: null, summary_status: 'none', running_summary: null, compacted_through: 0, memory_context: null, downgraded: 0,
  mode: 'agent', needs_human: 0, handoff_reason: null, needs_human_at: null, taken_over_by: null, taken_over_at: null, last_person_message_at: null, last_message_preview: null, last_message_role: null,
} as const;
/** A new conversation (a person's first message to an agent, or after the last one closed; prepared: built once). */
const conversationInsert = prepared((db, p: { id: string; agentId: string; personId: string; channel: string; at: string }) => db.insertInto('conversations')
  .values({ id: p.id, agent_id: p.agentId, person_id: p.personId, channel: p.channel, created_at: p.at, last_message_at: p.at, ...NEW_CONVERSATION }));
/** A conversation's messages after a seq (every chat turn reads its history; prepared: built once). */
const messagesAfterSeq = prepared((db, p: { conversationId: string; afterSeq: number }) => db.selectFrom('messages').select([...MESSAGE_COLS, 'seq'])
  .where('conversation_id', '=', p.conversationId).where('seq', '>', p.afterSeq).orderBy('seq'));

export function personRepo(db: Db, ids: IdGenerator, clock: Clock): PersonRepo {
  /** A new person, or undefined when someone stored them first (the row is theirs then: read it). */
  async function insertPerson(kind: string, externalId: string, name: string | null): Promise<Person | undefined> {
    const id = ids.id();
    const at = clock.now().toISOString();
    const made = await personInsert.first(db, { id, kind, externalId, at, name });
    return made && toPerson({ id, kind, external_id: externalId, created_at: at, display_name: name });
  }
  const repo: PersonRepo = {
    async upsert(kind, externalId, displayName) {
      const name = displayName?.trim().slice(0, 120) || null;
      const existing = await personByExternal.first(db, { kind, externalId });
      if (!existing) {
        const made = await insertPerson(kind, externalId, name);
        if (made) return made;
      } else if (name && existing.display_name !== name) {
        // The channel's newest name for them (a Telegram user renamed, a new WhatsApp profile name).
        await db.updateTable('people').set({ display_name: name }).where('id', '=', existing.id).execute();
        existing.display_name = name;
      }
      const r = existing ?? await personByExternal.first(db, { kind, externalId });
      if (!r) throw new Error(`person ${kind}:${externalId} was not stored`);
      return toPerson(r);
    },
    async byId(id) {
      const r = await personById.first(db, { id });
      return r && toPerson(r);
    },
    async byExternalId(externalId) {
      return (await db.selectFrom('people').selectAll().where('external_id', '=', externalId).orderBy('created_at').execute()).map(toPerson);
    },
    async identities(personId) {
      const rows = await db.selectFrom('people').selectAll()
        .where((eb) => eb.or([eb('id', '=', personId), eb('id', 'in', eb.selectFrom('person_links').select('person_id').where('linked_person_id', '=', personId))]))
        .execute();
      return rows.map(toPerson);
    },
    async forAgent(agentId, q, limit) {
      let query = db.selectFrom('conversations as c').innerJoin('people as p', 'p.id', 'c.person_id')
        .select(['p.id', 'p.kind', 'p.external_id', 'p.created_at'])
        .select((eb) => [
          eb.fn.count<number>('c.id').as('conversations'),
          eb.fn.max('c.last_message_at').as('last_message_at'),
          eb.selectFrom('summaries as s').select((e) => e.fn.countAll<number>().as('n'))
            .whereRef('s.person_id', '=', 'p.id').where('s.agent_id', '=', agentId).as('summaries'),
        ])
        .where('c.agent_id', '=', agentId)
        .groupBy(['p.id', 'p.kind', 'p.external_id', 'p.created_at']);
      if (q) query = query.where('p.external_id', 'like', `%${q.replace(/[\\%_]/g, '')}%`);
      const rows = await query.orderBy('last_message_at', 'desc').limit(limit).execute();
      return rows.map((r) => ({ ...toPerson(r), conversations: Number(r.conversations), summaries: Number(r.summaries ?? 0), lastMessageAt: String(r.last_message_at) }));
    },
    async erase(personId, agentIds) {
      const run = async (tx: Db) => {
        let convs = tx.selectFrom('conversations').select('id').where('person_id', '=', personId);
        if (agentIds) convs = convs.where('agent_id', 'in', agentIds.length ? agentIds : ['']);
        const ids = (await convs.execute()).map((r) => r.id);
        const count = async (t: 'messages' | 'summaries') => ids.length
          ? Number((await tx.selectFrom(t).select((eb) => eb.fn.countAll<number>().as('n')).where('conversation_id', 'in', ids).executeTakeFirstOrThrow()).n) : 0;
        const messages = await count('messages');
        const summaries = await count('summaries');
        if (ids.length) {
          await tx.deleteFrom('summaries').where('conversation_id', 'in', ids).execute();
          await tx.deleteFrom('messages').where('conversation_id', 'in', ids).execute();
          await tx.updateTable('usage').set({ conversation_id: null }).where('conversation_id', 'in', ids).execute();
          await tx.deleteFrom('conversations').where('id', 'in', ids).execute();
        }
        // Analytics keep the count of messages received, not who sent them.
        let counted = tx.updateTable('person_messages').set({ person_id: null }).where('person_id', '=', personId);
        if (agentIds) counted = counted.where('agent_id', 'in', agentIds.length ? agentIds : ['']);
        await counted.execute();
        let notes = tx.deleteFrom('person_notes').where('person_id', '=', personId);
        if (agentIds) notes = notes.where('agent_id', 'in', agentIds.length ? agentIds : ['']);
        await notes.execute();
        // What the channels kept of this person: their inbound messages (with the reply parts, by cascade)
        // and the messages sent to them outside a reply.
        const person = await tx.selectFrom('people').select(['kind', 'external_id']).where('id', '=', personId).executeTakeFirst();
        const channels = person ? inboxChannelsOf(person.kind) : [];
        if (person && channels.length) {
          let inbox = tx.deleteFrom('inbox').where('sender', '=', person.external_id).where('channel', 'in', channels);
          let direct = tx.deleteFrom('direct_sends').where('recipient', '=', person.external_id).where('channel', 'in', channels);
          if (agentIds) {
            inbox = inbox.where('agent_id', 'in', agentIds.length ? agentIds : ['']);
            direct = direct.where('agent_id', 'in', agentIds.length ? agentIds : ['']);
          }
          await inbox.execute();
          await direct.execute();
        }
        let links = 0;
        if (!agentIds) {
          const l = await tx.deleteFrom('person_links').where((eb) => eb.or([eb('person_id', '=', personId), eb('linked_person_id', '=', personId)])).executeTakeFirst();
          links = Number(l.numDeletedRows);
          await tx.deleteFrom('people').where('id', '=', personId).execute(); // cascades: link codes, person state
        }
        return { conversations: ids.length, messages, summaries, links };
      };
      return db.isTransaction ? run(db) : db.transaction().execute(run);
    },
    async resolve(kind, externalId, displayName, now) {
      const name = displayName?.trim().slice(0, 120) || null;
      const r = await personResolve.first(db, { kind, externalId, now });
      if (!r) {
        // Their first message: a person stored a moment ago has no link (a link names a person that
        // existed), so they count as themselves. Two first messages at once: the other one stored them.
        const made = await insertPerson(kind, externalId, name);
        if (made) return { id: made.id, created: true };
      }
      if (!r || (name && r.display_name !== name)) {
        const p = await repo.upsert(kind, externalId, displayName); // stored by someone else a moment ago, or renamed: as upsert does it
        return { id: await repo.canonical(p.id, now), created: false };
      }
      return { id: r.linked_person_id ?? r.id, created: false };
    },
    async canonical(personId, now) {
      const l = await linkedTo.first(db, { personId, now });
      return l?.linked_person_id ?? personId;
    },
    async link(personId, linkedPersonId, expiresAt, now) {
      await db.insertInto('person_links').values({ person_id: personId, linked_person_id: linkedPersonId, expires_at: expiresAt, created_at: now })
        .onConflict((oc) => oc.column('person_id').doUpdateSet({ linked_person_id: linkedPersonId, expires_at: expiresAt, created_at: now })).execute();
    },
    async unlink(personId) {
      await db.deleteFrom('person_links').where('person_id', '=', personId).execute();
    },
    async linkOf(personId, now) {
      const l = await db.selectFrom('person_links').selectAll().where('person_id', '=', personId).where('expires_at', '>', now).executeTakeFirst();
      return l && { linkedPersonId: l.linked_person_id, expiresAt: l.expires_at };
    },
    async addCode(c, now) {
      await db.insertInto('link_codes').values({ id: ids.id(), person_id: c.personId, phone: c.phone, code_hash: c.codeHash, attempts: 0, expires_at: c.expiresAt, used_at: null, created_at: now }).execute();
    },
    async codesSince(by, since) {
      let q = db.selectFrom('link_codes').select((eb) => eb.fn.countAll().as('n')).where('created_at', '>=', since);
      if (by.personId) q = q.where('person_id', '=', by.personId);
      if (by.phone) q = q.where('phone', '=', by.phone);
      return Number((await q.executeTakeFirstOrThrow()).n);
    },
    async liveCode(personId, now) {
      const r = await db.selectFrom('link_codes').selectAll().where('person_id', '=', personId).where('used_at', 'is', null)
        .where('expires_at', '>', now).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
      return r && { id: r.id, phone: r.phone, codeHash: r.code_hash, attempts: Number(r.attempts) };
    },
    async countAttempt(codeId, max) {
      const r = await db.updateTable('link_codes').set((eb) => ({ attempts: eb('attempts', '+', 1) })).where('id', '=', codeId).where('attempts', '<', max).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async useCode(codeId, now) {
      const r = await db.updateTable('link_codes').set({ used_at: now }).where('id', '=', codeId).where('used_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  };
  return repo;
}

export function conversationRepo(db: Db, ids: IdGenerator, clock: Clock): ConversationRepo {
  /** A message, and the conversation's latest-message fields; with `withConversation` the conversation as it left it (RETURNING). */
  async function storeMessage(m: Parameters<ConversationRepo['addMessage']>[0], withConversation: boolean): Promise<{ message: ChatMessage; conversation: Conversation | undefined }> {
    const at = clock.now().toISOString();
    const human = m.author?.type === 'human' ? m.author : undefined;
    const row = {
      id: ids.id(), conversation_id: m.conversationId, role: m.role, content: m.content, status: m.status, error: maskStored(m.error ?? null), created_at: at, channel: m.channel ?? null,
      author_type: human ? 'human' : null, author_user_id: human?.userId ?? null, author_name: human?.name ?? null,
    };
    await insertMessage.execute(db, { ...row, source_id: m.sourceId ?? null, seq: 0 });
    // The inbox's view of the conversation: its latest message (a failed reply with no text leaves the preview as it was).
    const touched = await touchConversation(`${m.role === 'user'}:${!!m.content}:${withConversation}`).execute(db, { id: m.conversationId, at, preview: m.content ? m.content.slice(0, 200) : null, role: m.role });
    const conv = withConversation ? touched.rows[0] as unknown as Database['conversations'] | undefined : undefined;
    return { message: toMessage(row), conversation: conv && toConversation(conv) };
  }

  return {
    async open(agentId, personId) {
      const r = await openConversation.first(db, { agentId, personId });
      return r && toConversation(r);
    },
    async create(c) {
      const at = clock.now().toISOString();
      const id = ids.id();
      await conversationInsert.execute(db, { id, agentId: c.agentId, personId: c.personId, channel: c.channel, at });
      return toConversation({ id, agent_id: c.agentId, person_id: c.personId, channel: c.channel, created_at: at, last_message_at: at, ...NEW_CONVERSATION });
    },
    async byId(id) {
      const r = await db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toConversation(r);
    },
    async close(id, at, reason) {
      const r = await db.updateTable('conversations').set({ closed_at: at, closed_reason: reason })
        .where('id', '=', id).where('closed_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async lastClosed(agentId, personId) {
      const r = await lastClosedConversation.first(db, { agentId, personId });
      return r && toConversation(r);
    },
    async idle(agentId, before, limit) {
      const rows = await db.selectFrom('conversations').selectAll().where('closed_at', 'is', null)
        .where('agent_id', '=', agentId).where('last_message_at', '<', before).where('mode', '=', 'agent') // taken over: open until handed back
        .orderBy('last_message_at').limit(limit).execute();
      return rows.map(toConversation);
    },
    async setSummaryStatus(id, status) {
      await db.updateTable('conversations').set({ summary_status: status }).where('id', '=', id).execute();
    },
    async markNeedsHuman(id, reason, at) {
      // Conditional: only the first request while the agent answers marks it (and is told so).
      const r = await db.updateTable('conversations').set({ needs_human: 1, handoff_reason: reason, needs_human_at: at })
        .where('id', '=', id).where('needs_human', '=', 0).where('mode', '=', 'agent').executeTakeFirst();
      if (Number(r.numUpdatedRows ?? 0) === 0) return undefined;
      const row = await db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toConversation(row);
    },
    async needsHumanCount(ownerId) {
      let q = db.selectFrom('conversations as c').innerJoin('agents as a', 'a.id', 'c.agent_id')
        .select((eb) => eb.fn.countAll().as('n'))
        .where(sql<boolean>`c.needs_human = 1`).where('c.mode', '=', 'agent').where('a.status', '!=', 'deleted'); // literal: the partial index conversations_waiting
      if (ownerId !== undefined) q = q.where('a.owner_id', '=', ownerId);
      return Number((await q.executeTakeFirst())?.n ?? 0);
    },
    async markDowngraded(id) {
      await db.updateTable('conversations').set({ downgraded: 1 }).where('id', '=', id).where('downgraded', '=', 0).execute();
    },
    async setMemoryContext(id, context) {
      await db.updateTable('conversations').set({ memory_context: context }).where('id', '=', id).execute();
    },
    async compact(id, fromSeq, throughSeq, runningSummary) {
      const r = await db.updateTable('conversations').set({ running_summary: runningSummary, compacted_through: throughSeq })
        .where('id', '=', id).where('compacted_through', '=', fromSeq).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async messagesAfter(conversationId, afterSeq) {
      const { rows } = await messagesAfterSeq.execute(db, { conversationId, afterSeq });
      return rows.map((r) => ({ ...toMessage(r), seq: Number(r.seq) }));
    },
    async listForAgent(agentId, limit) {
      const rows = await db.selectFrom('conversations as c')
        .selectAll('c')
        .select((eb) => eb.selectFrom('messages as m').whereRef('m.conversation_id', '=', 'c.id')
          .select((e) => e.fn.countAll().as('n')).as('message_count'))
        .where('c.agent_id', '=', agentId).orderBy('c.last_message_at', 'desc').limit(limit).execute();
      return rows.map((r) => ({ ...toConversation(r), messageCount: Number(r.message_count ?? 0) }));
    },
    async addMessage(m) {
      return (await storeMessage(m, false)).message;
    },
    addMessageWithConversation: (m) => storeMessage(m, true),
    async messageById(id) {
      const row = await db.selectFrom('messages').select([...MESSAGE_COLS]).where('id', '=', id).executeTakeFirst();
      return row && toMessage(row);
    },
    async bySource(sourceId) {
      const user = await db.selectFrom('messages').select([...MESSAGE_COLS, 'seq'])
        .where('source_id', '=', sourceId).executeTakeFirst();
      if (!user) return undefined;
      const reply = await db.selectFrom('messages').select([...MESSAGE_COLS])
        .where('conversation_id', '=', user.conversation_id).where('seq', '>', user.seq).where('role', '=', 'assistant')
        .orderBy('seq').limit(1).executeTakeFirst();
      return { message: toMessage(user), reply: reply && toMessage(reply) };
    },
    async adoptOpen(fromPersonId, toPersonId) {
      const r = await db.updateTable('conversations').set({ person_id: toPersonId })
        .where('person_id', '=', fromPersonId).where('closed_at', 'is', null)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('conversations as o').select('o.id')
          .where('o.person_id', '=', toPersonId).where('o.closed_at', 'is', null).whereRef('o.agent_id', '=', 'conversations.agent_id'))))
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async eraseAgent(agentId) {
      const run = async (tx: Db) => {
        const ids = tx.selectFrom('conversations').select('id').where('agent_id', '=', agentId);
        const count = async (t: 'messages' | 'summaries') =>
          Number((await tx.selectFrom(t).select((eb) => eb.fn.countAll<number>().as('n')).where('conversation_id', 'in', ids).executeTakeFirstOrThrow()).n);
        const messages = await count('messages');
        const summaries = await count('summaries');
        await tx.deleteFrom('summaries').where('conversation_id', 'in', ids).execute();
        await tx.deleteFrom('messages').where('conversation_id', 'in', ids).execute();
        await tx.updateTable('usage').set({ conversation_id: null }).where('conversation_id', 'in', ids).execute();
        const c = await tx.deleteFrom('conversations').where('agent_id', '=', agentId).executeTakeFirst();
        await tx.deleteFrom('inbox').where('agent_id', '=', agentId).execute(); // the channel copies; outbox parts cascade
        return { conversations: Number(c.numDeletedRows), messages, summaries };
      };
      return db.isTransaction ? run(db) : db.transaction().execute(run);
    },
    async recentForAgent(agentId, limit) {
      const rows = await db.selectFrom('messages as m').innerJoin('conversations as c', 'c.id', 'm.conversation_id')
        .select(['m.id', 'm.conversation_id', 'm.role', 'm.content', 'm.status', 'm.error', 'm.created_at', 'm.channel as message_channel', 'm.author_type', 'm.author_user_id', 'm.author_name', 'c.channel', 'c.person_id'])
        .where('c.agent_id', '=', agentId).orderBy('m.created_at', 'desc').orderBy('m.seq', 'desc').limit(limit).execute();
      return rows.reverse().map((r) => ({ ...toMessage(r), channel: (r.message_channel ?? r.channel) as Channel, personId: r.person_id }));
    },
    async messages(conversationId, limit) {
      // The newest `limit` messages, returned oldest first.
      let q = db.selectFrom('messages').select([...MESSAGE_COLS, 'seq'])
        .where('conversation_id', '=', conversationId).orderBy('seq', 'desc');
      if (limit) q = q.limit(limit);
      return (await q.execute()).reverse().map(toMessage);
    },
    // ----- human takeover (issue 15) -----
    async takeOver(id, userId, at) {
      // One conditional update: of two operators taking over at once, exactly one changes the row.
      const r = await db.updateTable('conversations').set({ mode: 'human', taken_over_by: userId, taken_over_at: at, needs_human: 0 })
        .where('id', '=', id).where('mode', '=', 'agent').returningAll().executeTakeFirst();
      return r && toConversation(r);
    },
    async release(id, ifUnchanged) {
      let q = db.updateTable('conversations').set({ mode: 'agent', taken_over_by: null, taken_over_at: null })
        .where('id', '=', id).where('mode', '=', 'human');
      if (ifUnchanged) {
        const { takenOverAt, quietSince } = ifUnchanged;
        q = q.where((eb) => (takenOverAt === null ? eb('taken_over_at', 'is', null) : eb('taken_over_at', '=', takenOverAt)))
          .where((eb) => eb.not(eb.exists(eb.selectFrom('messages as m').select('m.id')
            .whereRef('m.conversation_id', '=', 'conversations.id').where('m.author_type', '=', 'human').where('m.created_at', '>', quietSince))));
      }
      const r = await q.returningAll().executeTakeFirst();
      return r && toConversation(r);
    },
    async heldByHuman(limit) {
      return (await db.selectFrom('conversations').selectAll().where('mode', '=', 'human').where('closed_at', 'is', null).orderBy('taken_over_at').limit(limit).execute()).map(toConversation);
    },
    async lastHumanReplyAt(conversationId) {
      const r = await db.selectFrom('messages').select((eb) => eb.fn.max('created_at').as('at'))
        .where('conversation_id', '=', conversationId).where('author_type', '=', 'human').executeTakeFirst();
      return (r?.at as string | null | undefined) ?? null;
    },
    async lastPersonMessage(conversationId) {
      const r = await db.selectFrom('messages').select(['channel', 'created_at']).where('conversation_id', '=', conversationId).where('role', '=', 'user')
        .orderBy('seq', 'desc').limit(1).executeTakeFirst();
      return r && { channel: (r.channel ?? null) as Channel | null, createdAt: r.created_at };
    },
    async markFailed(messageId, error) {
      await db.updateTable('messages').set({ status: 'error', error: maskStored(error) }).where('id', '=', messageId).execute();
    },
    async inboxPage(f) {
      // The filters and the keyset (newest activity first, id breaking ties), on conversations as `t`.
      const filtered = <Q extends { where: (...a: any[]) => Q }>(q: Q, t: 'c' | 'k'): Q => {
        const col = (name: string) => sql.ref(`${t}.${name}`);
        if (f.channel) q = q.where(col('channel'), '=', f.channel);
        if (f.mode) q = q.where(col('mode'), '=', f.mode);
        // The literal 1 lets SQLite use the partial index over waiting conversations (conversations_waiting).
        if (f.needsHuman !== undefined) q = q.where(sql<boolean>`${col('needs_human')} = ${sql.lit(f.needsHuman ? 1 : 0)}`);
        if (f.unanswered) q = q.where(col('last_message_role'), '=', 'user');
        if (f.q) {
          // No message index: a LIKE with escaped wildcards over the messages of the conversations in scope (case-insensitive on both).
          const pattern = `%${f.q.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
          q = q.where(sql<boolean>`exists (select 1 from messages as m where m.conversation_id = ${col('id')} and lower(m.content) like ${pattern} escape '\\')`);
        }
        if (f.after) {
          const { lastMessageAt: at, id } = f.after;
          q = q.where(sql<boolean>`(${col('last_message_at')} < ${at} or (${col('last_message_at')} = ${at} and ${col('id')} < ${id}))`);
        }
        return q;
      };
      // PostgreSQL plans this from statistics (the newest conversations by conversations_last_message for
      // an owner with many, the owner's agents first for one with few) and needs no help. SQLite has none,
      // and for a customer took their agents first, then every conversation of theirs, sorted for each page:
      // 126 ms with 100,000 (and the open inbox reloads its page as new conversations arrive).
      const sqlite = !(db.getExecutor().adapter instanceof PostgresAdapter);
      const page = (q: ReturnType<typeof scoped>) => q.orderBy('c.last_message_at', 'desc').orderBy('c.id', 'desc').limit(f.limit).execute();
      // A customer's inbox, or one agent's, on SQLite: for each of their agents, its newest `perAgent`
      // conversations in scope, read in order through conversations_agent_activity (migration 0034), each
      // row then found by id, and the newest of those.
      const scoped = (perAgent: number) => {
        let q = db.selectFrom('agents as a').innerJoin('conversations as c', (j) => j.onTrue()).selectAll('c').select(['a.name as agent_name'])
          .where('c.id', 'in', (eb) => filtered(eb.selectFrom('conversations as k').select('k.id').whereRef('k.agent_id', '=', 'a.id'), 'k')
            .orderBy('k.last_message_at', 'desc').orderBy('k.id', 'desc').limit(perAgent));
        if (f.ownerId !== undefined) q = q.where('a.owner_id', '=', f.ownerId);
        if (f.agentId) q = q.where('a.id', '=', f.agentId);
        return q;
      };
      let rows: Awaited<ReturnType<typeof page>>;
      if (sqlite && (f.ownerId !== undefined || f.agentId) && f.needsHuman !== true) {
        // A page's worth from every agent would read agents × page rows (50 agents: 2,550 for 51). Each agent
        // gives about its share first (twice a page spread over the agents, at least 8); the page is exact
        // unless some agent had all of its share on it — then that agent may have more that belong, and
        // the page is read again with a page's worth from each. (A row missing from the page would be
        // newer than the page's last, and so would be every row its agent gave: all its share on the page.)
        const agents = f.agentId ? 1 : Number((await db.selectFrom('agents').select((eb) => eb.fn.countAll<number>().as('n')).where('owner_id', '=', f.ownerId!).executeTakeFirst())?.n ?? 0);
        const share = Math.min(f.limit, Math.max(8, Math.ceil((2 * f.limit) / Math.max(1, agents))));
        rows = await page(scoped(share));
        if (share < f.limit) {
          const onPage = new Map<string, number>();
          for (const r of rows) onPage.set(r.agent_id, (onPage.get(r.agent_id) ?? 0) + 1);
          if ([...onPage.values()].some((n) => n >= share)) rows = await page(scoped(f.limit));
        }
      } else {
        // The newest conversations of the installation (conversations_last_message), each with its agent;
        // on SQLite a cross join keeps that order of the tables. Waiting for a person: on SQLite the few
        // such conversations by their partial index (conversations_waiting), whoever's they are, first.
        let q = filtered(db.selectFrom('conversations as c').crossJoin('agents as a').whereRef('a.id', '=', 'c.agent_id').selectAll('c').select(['a.name as agent_name']), 'c');
        if (sqlite && f.needsHuman) q = q.where('c.id', 'in', db.selectFrom('conversations as w').select('w.id').where(sql<boolean>`w.needs_human = 1`));
        if (f.ownerId !== undefined) q = q.where('a.owner_id', '=', f.ownerId);
        if (f.agentId) q = q.where('c.agent_id', '=', f.agentId);
        rows = await q.orderBy('c.last_message_at', 'desc').orderBy('c.id', 'desc').limit(f.limit).execute();
      }
      return rows.map((r) => ({ ...toConversation(r), agentName: r.agent_name, lastMessagePreview: r.last_message_preview ?? null, lastMessageRole: (r.last_message_role ?? null) as MessageRole | null }));
    },
  };
}
