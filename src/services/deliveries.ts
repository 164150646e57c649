/**
 * What the messaging channels sent and could not send, as the dashboard lists it: reply parts from
 * the outbox, messages sent outside a reply (direct sends), and messages that got no reply at all.
 * A caller sees their agents' rows; rows of no agent (the shared number's own notices) only staff.
 */
import type { InboxRepo } from '../domain/ports.js';
import type { Actor, Agent } from '../domain/types.js';

export function deliveryService(deps: {
  inbox: Pick<InboxRepo, 'failedParts' | 'failedInbound' | 'recentParts' | 'recentDirect'>;
  agents: { list(actor: Actor): Promise<Pick<Agent, 'id'>[]>; getVisible(actor: Actor, id: string): Promise<unknown> };
}) {
  const { inbox, agents } = deps;

  async function visibleTo<T extends { agentId: string | null }>(actor: Actor, rows: T[]): Promise<T[]> {
    const visible = new Set((await agents.list(actor)).map((a) => a.id));
    return rows.filter((r) => (r.agentId === null ? actor.user.role !== 'customer' : visible.has(r.agentId)));
  }
  const newestFirst = <T extends { createdAt: string }>(rows: T[], n: number) => rows.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, n);

  return {
    /** Replies that could not be delivered (`failed`, `undelivered`) and messages that got no reply (`unanswered`), with the reason. */
    async undelivered(actor: Actor, agentId?: string) {
      if (agentId) await agents.getVisible(actor, agentId);
      const [parts, inbound] = await Promise.all([inbox.failedParts(agentId ?? null, 200), inbox.failedInbound(agentId ?? null, 200)]);
      return visibleTo(actor, newestFirst([
        ...parts.map((r) => ({ id: r.id, channel: r.channel, agentId: r.agentId, recipient: r.recipient, text: r.text, status: r.status as string, lastError: r.lastError, createdAt: r.createdAt })),
        // A message given up on before any reply existed: the person is the one left waiting, the text is theirs.
        ...inbound.map((r) => ({ id: r.id, channel: r.channel, agentId: r.agentId, recipient: r.sender, text: r.text, status: 'unanswered', lastError: r.lastError, createdAt: r.receivedAt })),
      ], 200));
    },

    /** The latest messages sent on messaging channels, reply parts and direct sends, with their delivery receipts. */
    async outbound(actor: Actor, agentId?: string, limit = 100) {
      if (agentId) await agents.getVisible(actor, agentId);
      const [parts, direct] = await Promise.all([inbox.recentParts(agentId ?? null, limit), inbox.recentDirect(agentId ?? null, limit)]);
      return visibleTo(actor, newestFirst([
        ...parts.map((r) => ({ id: r.id, channel: r.channel, agentId: r.agentId, recipient: r.recipient, text: r.text, status: r.status as string, delivery: r.delivery, deliveryAt: r.deliveryAt, providerMessageId: r.providerMessageId, lastError: r.lastError, createdAt: r.createdAt, sentAt: r.sentAt, purpose: 'reply' as const })),
        // Link codes, approval notices and test messages: sent at once, so sentAt is when they were recorded.
        ...direct.map((r) => ({ id: r.id, channel: r.channel, agentId: r.agentId, recipient: r.recipient, text: r.text, status: r.status as string, delivery: r.delivery, deliveryAt: r.deliveryAt, providerMessageId: r.providerMessageId, lastError: r.lastError, createdAt: r.createdAt, sentAt: r.status === 'sent' ? r.createdAt : null, purpose: r.purpose })),
      ], limit));
    },
  };
}
export type DeliveryService = ReturnType<typeof deliveryService>;
