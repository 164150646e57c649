/** Conversations: people, sessions and their messages, summaries, tool calls and held approvals. */
import type { CloseReason, Summary, SummaryStatus, Channel, ChatMessage, Conversation, ConversationMode, MessageAuthor, MessageRole, MessageStatus, Person } from '../types.js';

export interface PersonRepo {
  /** The person of a channel identity, created on first sight; a name the channel gives is kept as their display name. */
  upsert(kind: string, externalId: string, displayName?: string | null): Promise<Person>;
  byId(id: string): Promise<Person | undefined>;
  byExternalId(externalId: string): Promise<Person[]>;
  /** The people linked to this one (who count as it), and itself. */
  identities(personId: string): Promise<Person[]>;
  /** People who talked with an agent, with counts, most recent first. */
  forAgent(agentId: string, q: string | undefined, limit: number): Promise<(Person & { conversations: number; summaries: number; lastMessageAt: string })[]>;
  /** Deletes a person's conversations (messages, summaries) — with the given agents only, or all and the person itself. */
  erase(personId: string, agentIds?: string[]): Promise<{ conversations: number; messages: number; summaries: number; links: number }>;
  /** The person this one counts as right now: the phone it is linked to, or itself. */
  canonical(personId: string, now: string): Promise<string>;
  /**
   * `upsert` then `canonical` for a channel identity, in one read when the person is known and their name
   * unchanged. `created`: this call stored the person (nothing of theirs exists yet: no conversation,
   * summary, note, link or usage).
   */
  resolve(kind: string, externalId: string, displayName: string | null | undefined, now: string): Promise<{ id: string; created: boolean }>;
  link(personId: string, linkedPersonId: string, expiresAt: string, now: string): Promise<void>;
  unlink(personId: string): Promise<void>;
  linkOf(personId: string, now: string): Promise<{ linkedPersonId: string; expiresAt: string } | undefined>;
  // one-time link codes
  addCode(c: { personId: string; phone: string; codeHash: string; expiresAt: string }, now: string): Promise<void>;
  codesSince(by: { personId?: string; phone?: string }, since: string): Promise<number>;
  /** The newest unused, unexpired code of a person. */
  liveCode(personId: string, now: string): Promise<{ id: string; phone: string; codeHash: string; attempts: number } | undefined>;
  /** Counts one try at a code, atomically: false (nothing counted) when it already had `max` tries. */
  countAttempt(codeId: string, max: number): Promise<boolean>;
  useCode(codeId: string, now: string): Promise<boolean>;
}

export interface ConversationRepo {
  /** The person's open conversation with the agent, whatever channel it started on. */
  open(agentId: string, personId: string): Promise<Conversation | undefined>;
  create(c: { agentId: string; personId: string; channel: Channel }): Promise<Conversation>;
  byId(id: string): Promise<Conversation | undefined>;
  /** Ends a session; false when it had already ended (so exactly one caller queues its summary). */
  close(id: string, at: string, reason: CloseReason): Promise<boolean>;
  /** The person's most recently ended session with the agent. */
  lastClosed(agentId: string, personId: string): Promise<Conversation | undefined>;
  /** Open conversations of an agent idle since before `before` (not those a person has taken over). */
  idle(agentId: string, before: string, limit: number): Promise<Conversation[]>;
  setSummaryStatus(id: string, status: SummaryStatus): Promise<void>;
  setMemoryContext(id: string, context: string | null): Promise<void>;
  markDowngraded(id: string): Promise<void>;
  /** Marks it as waiting for a person, only if it was not already and the agent answers it (mode 'agent'); the conversation then, or undefined when nothing changed. */
  markNeedsHuman(id: string, reason: string, at: string): Promise<Conversation | undefined>;
  /** Conversations waiting for a person that nobody took over (of one owner's agents, or all). */
  needsHumanCount(ownerId?: string): Promise<number>;
  /** Stores a new running summary, only if `fromSeq` still is the compaction point (no lost update). */
  compact(id: string, fromSeq: number, throughSeq: number, runningSummary: string): Promise<boolean>;
  /** Messages with their sequence numbers after `afterSeq`, oldest first. */
  messagesAfter(conversationId: string, afterSeq: number): Promise<(ChatMessage & { seq: number })[]>;
  listForAgent(agentId: string, limit: number): Promise<(Conversation & { messageCount: number })[]>;
  addMessage(m: { conversationId: string; role: MessageRole; content: string; status: MessageStatus; error?: string | null; sourceId?: string; channel?: Channel; author?: MessageAuthor }): Promise<ChatMessage>;
  /** addMessage, and the conversation as the message left it (its latest-message fields updated), read in the same statement: what the events announce. */
  addMessageWithConversation(m: Parameters<ConversationRepo['addMessage']>[0]): Promise<{ message: ChatMessage; conversation: Conversation | undefined }>;
  /** One message by its id (callers check who may see its conversation). */
  messageById(id: string): Promise<ChatMessage | undefined>;
  /** The user message stored for an inbound source id (an inbox row), and the reply that followed it, if any. */
  bySource(sourceId: string): Promise<{ message: ChatMessage; reply: ChatMessage | undefined } | undefined>;
  /** The agent's latest messages across all conversations and channels, oldest first. */
  /** Moves a person's open conversations to another person, except with agents the other already has one with. */
  adoptOpen(fromPersonId: string, toPersonId: string): Promise<number>;
  recentForAgent(agentId: string, limit: number): Promise<(ChatMessage & { channel: Channel; personId: string })[]>;
  /** Deletes every conversation of an agent (messages, summaries) and the inbound/outbound copies of its channel messages. */
  eraseAgent(agentId: string): Promise<{ conversations: number; messages: number; summaries: number }>;
  messages(conversationId: string, limit?: number): Promise<ChatMessage[]>;
  // ----- human takeover (issue 15) -----
  /** Mode agent → human for this user, atomically (clears needsHuman); undefined when it was not in agent mode. */
  takeOver(id: string, userId: string, at: string): Promise<Conversation | undefined>;
  /**
   * Mode human → agent; undefined when it was not in human mode. With `ifUnchanged` (the automatic
   * hand-back) only if it is still the same takeover and no person replied after `quietSince`.
   */
  release(id: string, ifUnchanged?: { takenOverAt: string | null; quietSince: string }): Promise<Conversation | undefined>;
  /** Open conversations in human mode, oldest takeover first. */
  heldByHuman(limit: number): Promise<Conversation[]>;
  /** When a person of the operator's side last replied in the conversation. */
  lastHumanReplyAt(conversationId: string): Promise<string | null>;
  /** The person's latest message in the conversation (the channel they last wrote on, and when). */
  lastPersonMessage(conversationId: string): Promise<{ channel: Channel | null; createdAt: string } | undefined>;
  /** Marks a stored message as failed (a reply cut by a takeover before it was delivered). */
  markFailed(messageId: string, error: string): Promise<void>;
  /** One page of the inbox: conversations newest activity first (last message, then id, descending), after the keyset `after`. */
  inboxPage(f: InboxFilter): Promise<InboxRow[]>;
}

/** What the inbox lists: `ownerId` scopes to one owner's agents (customers); absent, every agent. */
export type InboxFilter = {
  ownerId?: string; agentId?: string; channel?: Channel; mode?: ConversationMode; needsHuman?: boolean;
  /** The person spoke last (nobody has answered yet). */
  unanswered?: boolean;
  /** Text in any of the conversation's messages. */
  q?: string;
  limit: number;
  after?: { lastMessageAt: string; id: string };
};
export type InboxRow = Conversation & { agentName: string; lastMessagePreview: string | null; lastMessageRole: MessageRole | null };

export type SummarySearch = { agentId: string; personIds?: string[]; q?: string; limit: number };
export interface SummaryRepo {
  /** Stores the summary of a conversation unless it has one; returns the stored one either way. */
  insert(s: Omit<Summary, 'id' | 'createdAt'> & { embedding?: number[] | null }): Promise<Summary>;
  byId(id: string): Promise<Summary | undefined>;
  byConversation(conversationId: string): Promise<Summary | undefined>;
  /** Newest first. */
  list(f: SummarySearch): Promise<Summary[]>;
  /** Full-text matches with the engine's relevance (higher is better). */
  search(f: SummarySearch & { q: string }): Promise<(Summary & { rank: number })[]>;
  /** Candidates for vector ranking: summaries with embeddings. */
  withEmbeddings(f: SummarySearch): Promise<(Summary & { embedding: number[] })[]>;
}

/** One tool call, on record with its conversation (arguments with secrets redacted). */
export type ToolCallRecord = {
  id: string; agentId: string; conversationId: string | null; tool: string; args: unknown;
  outcome: 'ok' | 'error' | 'refused' | 'pending' | 'approved' | 'denied' | 'expired';
  resultPreview: string | null; resultBytes: number; durationMs: number; createdAt: string;
};
export interface ToolCallRepo {
  insert(c: Omit<ToolCallRecord, 'id' | 'createdAt'> & { id?: string }): Promise<ToolCallRecord>;
  setOutcome(id: string, outcome: ToolCallRecord['outcome'], resultPreview?: string | null): Promise<void>;
  forConversation(conversationId: string): Promise<ToolCallRecord[]>;
  forAgent(agentId: string, limit: number): Promise<ToolCallRecord[]>;
}

export type ApprovalRow = {
  id: string; agentId: string; conversationId: string | null; toolCallId: string; tool: string; argsSealed: string;
  status: 'pending' | 'approved' | 'denied' | 'expired' | 'done' | 'failed'; result: string | null;
  decidedBy: string | null; expiresAt: string; createdAt: string; decidedAt: string | null;
};
export interface ApprovalRepo {
  insert(a: Pick<ApprovalRow, 'id' | 'agentId' | 'conversationId' | 'toolCallId' | 'tool' | 'argsSealed' | 'status' | 'expiresAt'>): Promise<void>;
  byId(id: string): Promise<ApprovalRow | undefined>;
  list(f: { agentIds?: string[]; status?: string; limit: number }): Promise<ApprovalRow[]>;
  /** pending → status, only while pending (exactly one decision wins). */
  decide(id: string, status: 'approved' | 'denied' | 'expired', by: string | null, at: string): Promise<boolean>;
  finish(id: string, status: 'done' | 'failed', result: string): Promise<void>;
  /** Pending requests whose time ran out. */
  expiring(now: string): Promise<ApprovalRow[]>;
}
