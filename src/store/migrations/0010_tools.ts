/** Migration 0010_tools: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';
import { ts } from './util.js';

export const migration: Migration = {
  // Agent tools: each agent's allow/deny policy and HTTP plugins, every tool call on record, and
  // calls held for the owner's approval.
  async up(db: Kysely<any>) {
    /** JSON {allow: string[], deny: string[]}; null: the default (memory tools only). */
    await db.schema.alterTable('agents').addColumn('tool_policy', 'text').execute();
    /** JSON array of HTTP plugin definitions; header secrets sealed. */
    await db.schema.alterTable('agents').addColumn('plugins', 'text').execute();
    await db.schema.createTable('tool_calls')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
      .addColumn('conversation_id', 'text', (c) => c.references('conversations.id').onDelete('cascade'))
      .addColumn('tool', 'text', (c) => c.notNull())
      /** Arguments as JSON, secrets redacted, capped. */
      .addColumn('args', 'text', (c) => c.notNull())
      /** ok | error | refused | pending | approved | denied | expired */
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('result_preview', 'text')
      .addColumn('result_bytes', 'integer', (c) => c.notNull())
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('tool_calls_conversation').on('tool_calls').columns(['conversation_id', 'created_at']).execute();
    await db.schema.createIndex('tool_calls_agent').on('tool_calls').columns(['agent_id', 'created_at']).execute();
    await db.schema.createTable('approvals')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
      .addColumn('conversation_id', 'text', (c) => c.references('conversations.id').onDelete('cascade'))
      .addColumn('tool_call_id', 'text', (c) => c.notNull())
      .addColumn('tool', 'text', (c) => c.notNull())
      /** The real arguments (sealed: they may hold what the person typed), to run the call on approval. */
      .addColumn('args_sealed', 'text', (c) => c.notNull())
      /** pending | approved | denied | expired | done | failed */
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('result', 'text')
      .addColumn('decided_by', 'text')
      .addColumn('expires_at', ts, (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('decided_at', ts)
      .execute();
    await db.schema.createIndex('approvals_agent_status').on('approvals').columns(['agent_id', 'status']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('approvals').ifExists().execute();
    await db.schema.dropTable('tool_calls').ifExists().execute();
    await db.schema.alterTable('agents').dropColumn('plugins').execute();
    await db.schema.alterTable('agents').dropColumn('tool_policy').execute();
  },
};
