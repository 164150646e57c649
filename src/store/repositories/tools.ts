import type { Db } from '../db.js';
import type { ApprovalRepo, ApprovalRow, Clock, IdGenerator, ToolCallRecord, ToolCallRepo } from '../../domain/ports.js';
import type { Database } from '../schema.js';
import { maskStored } from '../../infra/redact.js';

const toCall = (r: Database['tool_calls']): ToolCallRecord => ({
  id: r.id, agentId: r.agent_id, conversationId: r.conversation_id, tool: r.tool, args: JSON.parse(r.args) as unknown,
  outcome: r.outcome as ToolCallRecord['outcome'], resultPreview: r.result_preview, resultBytes: Number(r.result_bytes),
  durationMs: Number(r.duration_ms), createdAt: r.created_at,
});

export function toolCallRepo(db: Db, ids: IdGenerator, clock: Clock): ToolCallRepo {
  return {
    async insert(c) {
      const row = {
        id: c.id ?? ids.id(), agent_id: c.agentId, conversation_id: c.conversationId, tool: c.tool, args: JSON.stringify(c.args ?? null).slice(0, 8000),
        outcome: c.outcome, result_preview: maskStored(c.resultPreview), result_bytes: c.resultBytes, duration_ms: c.durationMs, created_at: clock.now().toISOString(),
      };
      await db.insertInto('tool_calls').values(row).execute();
      return toCall(row);
    },
    async setOutcome(id, outcome, resultPreview) {
      await db.updateTable('tool_calls').set({ outcome, ...(resultPreview !== undefined ? { result_preview: maskStored(resultPreview) } : {}) }).where('id', '=', id).execute();
    },
    async forConversation(conversationId) {
      return (await db.selectFrom('tool_calls').selectAll().where('conversation_id', '=', conversationId).orderBy('created_at').execute()).map(toCall);
    },
    async forAgent(agentId, limit) {
      return (await db.selectFrom('tool_calls').selectAll().where('agent_id', '=', agentId).orderBy('created_at', 'desc').limit(limit).execute()).map(toCall);
    },
  };
}

const toApproval = (r: Database['approvals']): ApprovalRow => ({
  id: r.id, agentId: r.agent_id, conversationId: r.conversation_id, toolCallId: r.tool_call_id, tool: r.tool, argsSealed: r.args_sealed,
  status: r.status as ApprovalRow['status'], result: r.result, decidedBy: r.decided_by, expiresAt: r.expires_at, createdAt: r.created_at, decidedAt: r.decided_at,
});

export function approvalRepo(db: Db, clock: Clock): ApprovalRepo {
  return {
    async insert(a) {
      await db.insertInto('approvals').values({
        id: a.id, agent_id: a.agentId, conversation_id: a.conversationId, tool_call_id: a.toolCallId, tool: a.tool, args_sealed: a.argsSealed,
        status: a.status, result: null, decided_by: null, expires_at: a.expiresAt, created_at: clock.now().toISOString(), decided_at: null,
      }).execute();
    },
    async byId(id) {
      const r = await db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toApproval(r);
    },
    async list(f) {
      let q = db.selectFrom('approvals').selectAll();
      if (f.agentIds) q = q.where('agent_id', 'in', f.agentIds.length ? f.agentIds : ['']);
      if (f.status) q = q.where('status', '=', f.status);
      return (await q.orderBy('created_at', 'desc').limit(f.limit).execute()).map(toApproval);
    },
    async decide(id, status, by, at) {
      const r = await db.updateTable('approvals').set({ status, decided_by: by, decided_at: at }).where('id', '=', id).where('status', '=', 'pending').executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async finish(id, status, result) {
      await db.updateTable('approvals').set({ status, result: maskStored(result) }).where('id', '=', id).execute();
    },
    async expiring(now) {
      return (await db.selectFrom('approvals').selectAll().where('status', '=', 'pending').where('expires_at', '<', now).limit(200).execute()).map(toApproval);
    },
  };
}
