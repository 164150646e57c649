/**
 * Approval before acting (second seed: "Always get approval before making changes to production").
 * A call of a tool the agent's policy marks `requireApproval` is held: the model hears that it waits
 * for the owner, the owner sees it in the dashboard (and, where the conversation is on Telegram or
 * WhatsApp, a message there points to it), and the call runs only once approved. Approvals expire.
 */
import type { Clock, IdGenerator, ModelTool, SecretBox, Store } from '../domain/ports.js';
import type { Actor, Agent, Conversation } from '../domain/types.js';
import { AppError, errors } from '../domain/errors.js';
import type { Logger } from '../infra/logger.js';
import { authorize, canSeeAllAgents } from './access.js';
import { recordAudit } from './audit.js';

export type Approval = {
  id: string; agentId: string; agentName: string; conversationId: string | null; toolCallId: string; tool: string; args: unknown;
  status: 'pending' | 'approved' | 'denied' | 'expired' | 'done' | 'failed'; result: string | null;
  decidedBy: string | null; createdAt: string; expiresAt: string; decidedAt: string | null;
};

export function approvalService(deps: {
  store: Pick<Store, 'agents' | 'approvals' | 'audit' | 'conversations' | 'toolCalls' | 'transaction'>; box: SecretBox; clock: Clock; ids: IdGenerator; log: Logger; hours: number; publicUrl?: string;
  /** Rebuilds the agent's tool for the approved call (late-bound: the toolbox is built after). */
  toolFor: () => (agent: Agent, conv: Conversation, name: string) => Promise<ModelTool | undefined>;
  /** Sends a message to the person on the conversation's channel (Telegram, WhatsApp); web chat reads it from history. */
  notify: (conv: Conversation, agent: Agent, text: string) => Promise<void>;
}) {
  const { store, box, clock, ids, log } = deps;
  const now = () => clock.now().toISOString();

  async function view(id: string): Promise<Approval | undefined> {
    const r = await store.approvals.byId(id);
    if (!r) return undefined;
    const agent = await store.agents.byId(r.agentId);
    const call = (await store.toolCalls.forConversation(r.conversationId ?? '')).find((c) => c.id === r.toolCallId);
    return { ...r, agentName: agent?.name ?? '', args: call?.args ?? null };
  }

  async function post(conv: Conversation | undefined, agent: Agent | undefined, text: string) {
    if (!conv || !agent) return;
    await store.conversations.addMessage({ conversationId: conv.id, role: 'assistant', content: text, status: 'complete', channel: conv.channel });
    if (conv.channel === 'telegram' || conv.channel === 'whatsapp') await deps.notify(conv, agent, text).catch((err) => log.warn('approval notice not delivered', { error: (err as Error).message, conversationId: conv.id }));
  }

  async function visible(actor: Actor, id: string, action: 'approval.read' | 'approval.decide' = 'approval.read') {
    const a = await store.approvals.byId(id);
    const agent = a && (await store.agents.byId(a.agentId));
    if (!a || !agent) throw errors.notFound('Approval');
    authorize(actor, action, agent, 'Approval');
    return { a, agent };
  }

  return {
    /** Holds a call: records it as pending and tells the owner. Returns what the model is told. */
    async hold(a: { agent: Agent; conversationId: string; tool: string; input: unknown; toolCallId: string }): Promise<string> {
      const id = ids.id();
      const expiresAt = new Date(clock.now().getTime() + deps.hours * 3_600_000).toISOString();
      await store.approvals.insert({ id, agentId: a.agent.id, conversationId: a.conversationId, toolCallId: a.toolCallId, tool: a.tool, argsSealed: box.seal(JSON.stringify(a.input ?? null)), status: 'pending', expiresAt });
      log.info('tool call held for approval', { approvalId: id, agentId: a.agent.id, tool: a.tool });
      const conv = await store.conversations.byId(a.conversationId);
      if (conv && (conv.channel === 'telegram' || conv.channel === 'whatsapp')) {
        const link = deps.publicUrl ? ` Approve or decline it here: ${deps.publicUrl.replace(/\/+$/, '')}/dashboard/approvals?id=${id}` : ' The owner can approve or decline it in the dashboard.';
        await deps.notify(conv, a.agent, `⏸ ${a.agent.name} wants to run "${a.tool}" and is waiting for the owner's approval.${link}`).catch(() => {});
      }
      return `Pending approval: the owner has been asked to approve "${a.tool}" (request ${id.slice(0, 8)}); it has NOT run yet. Tell the person it will happen once approved, and do not call it again.`;
    },

    async list(actor: Actor, f: { status?: string }) {
      const agentIds = canSeeAllAgents(actor) ? undefined : (await store.agents.list({ ownerId: actor.user.id })).map((x) => x.id);
      const rows = await store.approvals.list({ agentIds, status: f.status, limit: 200 });
      return Promise.all(rows.map(async (r) => (await view(r.id))!));
    },

    async get(actor: Actor, id: string) {
      await visible(actor, id);
      return (await view(id))!;
    },

    /** The owner's decision: an approved call runs now and its result goes into the conversation. */
    async decide(actor: Actor, id: string, decision: 'approve' | 'deny'): Promise<Approval> {
      const { a, agent } = await visible(actor, id, 'approval.decide');
      if (a.status === 'pending' && a.expiresAt < now()) await this.expire();
      const status = decision === 'approve' ? 'approved' : 'denied';
      // The decision and its audit entry commit together.
      const won = await store.transaction(async (tx) => {
        if (!(await tx.approvals.decide(id, status, actor.user.id, now()))) return false;
        await recordAudit(tx, actor, `approval.${decision}`, { type: 'tool_call', id: a.toolCallId }, { approvalId: id, tool: a.tool, agentId: agent.id, fields: ['status'], changes: { status: { from: 'pending', to: status } } });
        return true;
      });
      if (!won) {
        const cur = await store.approvals.byId(id);
        throw new AppError(409, 'approval_closed', `This request is already ${cur?.status}; nothing was changed.`);
      }
      const conv = a.conversationId ? await store.conversations.byId(a.conversationId) : undefined;
      if (decision === 'deny') {
        await store.toolCalls.setOutcome(a.toolCallId, 'denied');
        await post(conv, agent, `❌ The owner declined "${a.tool}"; it did not run.`);
        return (await view(id))!;
      }
      let result: string;
      let ok = true;
      try {
        const tool = conv ? await deps.toolFor()(agent, conv, a.tool) : undefined;
        if (!tool) throw new Error(`the tool "${a.tool}" is no longer available to this agent`);
        result = await tool.execute(JSON.parse(box.open(a.argsSealed)) as never);
        if (result.startsWith('Error:')) ok = false;
      } catch (err) {
        ok = false;
        result = `Error: ${(err as Error).message}`;
      }
      await store.approvals.finish(id, ok ? 'done' : 'failed', result.slice(0, 4000));
      await store.toolCalls.setOutcome(a.toolCallId, ok ? 'approved' : 'error', result.slice(0, 500));
      await post(conv, agent, `✅ Approved: "${a.tool}" ran.\n\n${result.length > 1500 ? `${result.slice(0, 1500)}…` : result}`);
      return (await view(id))!;
    },

    /** Pending requests past their time expire; the conversation is told. */
    async expire(): Promise<number> {
      let n = 0;
      for (const a of await store.approvals.expiring(now())) {
        if (!(await store.approvals.decide(a.id, 'expired', null, now()))) continue;
        n++;
        await store.toolCalls.setOutcome(a.toolCallId, 'expired');
        const conv = a.conversationId ? await store.conversations.byId(a.conversationId) : undefined;
        await post(conv, await store.agents.byId(a.agentId), `⌛ The request to run "${a.tool}" expired without an answer; it did not run.`);
      }
      return n;
    },
  };
}
export type ApprovalService = ReturnType<typeof approvalService>;
