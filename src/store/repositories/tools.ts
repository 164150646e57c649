import type { Db } from '../db.js';
import type { Clock, IdGenerator, ToolCallRecord, ToolCallRepo } from '../../domain/ports.js';
import type { Database } from '../schema.js';

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
        outcome: c.outcome, result_preview: c.resultPreview, result_bytes: c.resultBytes, duration_ms: c.durationMs, created_at: clock.now().toISOString(),
      };
      await db.insertInto('tool_calls').values(row).execute();
      return toCall(row);
    },
    async setOutcome(id, outcome, resultPreview) {
      await db.updateTable('tool_calls').set({ outcome, ...(resultPreview !== undefined ? { result_preview: resultPreview } : {}) }).where('id', '=', id).execute();
    },
    async forConversation(conversationId) {
      return (await db.selectFrom('tool_calls').selectAll().where('conversation_id', '=', conversationId).orderBy('created_at').execute()).map(toCall);
    },
    async forAgent(agentId, limit) {
      return (await db.selectFrom('tool_calls').selectAll().where('agent_id', '=', agentId).orderBy('created_at', 'desc').limit(limit).execute()).map(toCall);
    },
  };
}
