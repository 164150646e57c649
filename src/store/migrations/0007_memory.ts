/** Migration 0007_memory: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { sql, type Kysely, type Migration } from 'kysely';
import { ts, isPostgres } from './util.js';

export const migration: Migration = {
  // Sessions that end and are summarized, the summaries' full-text index (the one place the two
  // dialects differ: FTS5 on SQLite, a tsvector column on PostgreSQL), and an audit log.
  async up(db: Kysely<any>) {
    await db.schema.alterTable('agents').addColumn('session_timeout_minutes', 'integer', (c) => c.notNull().defaultTo(30)).execute();
    await db.schema.alterTable('agents').addColumn('context_token_budget', 'integer', (c) => c.notNull().defaultTo(8000)).execute();
    await db.schema.alterTable('agents').addColumn('memory_tools', 'integer', (c) => c.notNull().defaultTo(1)).execute();

    await db.schema.alterTable('conversations').addColumn('closed_reason', 'text').execute();
    await db.schema.alterTable('conversations').addColumn('summary_status', 'text', (c) => c.notNull().defaultTo('none')).execute();
    /** Older turns of a long session, compacted, and the last message seq they cover. */
    await db.schema.alterTable('conversations').addColumn('running_summary', 'text').execute();
    await db.schema.alterTable('conversations').addColumn('compacted_through', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    /** Summaries of earlier sessions chosen when this one started (kept fixed for the session). */
    await db.schema.alterTable('conversations').addColumn('memory_context', 'text').execute();
    await db.schema.createIndex('conversations_open').on('conversations').columns(['closed_at', 'last_message_at']).execute();

    await db.schema.createTable('summaries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('conversation_id', 'text', (c) => c.notNull().unique().references('conversations.id').onDelete('cascade'))
      .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
      .addColumn('person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('summary', 'text', (c) => c.notNull())
      .addColumn('started_at', ts, (c) => c.notNull())
      .addColumn('ended_at', ts, (c) => c.notNull())
      .addColumn('message_count', 'integer', (c) => c.notNull())
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('input_tokens', 'integer', (c) => c.notNull())
      .addColumn('output_tokens', 'integer', (c) => c.notNull())
      .addColumn('cost_usd', 'double precision', (c) => c.notNull())
      /** JSON array of numbers when an embedding model is configured. */
      .addColumn('embedding', 'text')
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('summaries_agent_person').on('summaries').columns(['agent_id', 'person_id', 'ended_at']).execute();
    if (isPostgres(db)) {
      await sql`alter table summaries add column tsv tsvector generated always as (to_tsvector('english', summary)) stored`.execute(db);
      await sql`create index summaries_tsv on summaries using gin (tsv)`.execute(db);
    } else {
      await sql`create virtual table summaries_fts using fts5(summary_id unindexed, body, tokenize = 'porter unicode61')`.execute(db);
      // Kept in step by triggers, so cascading deletes (agent, person) clean the index too.
      await sql`create trigger summaries_fts_insert after insert on summaries begin insert into summaries_fts(summary_id, body) values (new.id, new.summary); end`.execute(db);
      await sql`create trigger summaries_fts_delete after delete on summaries begin delete from summaries_fts where summary_id = old.id; end`.execute(db);
    }

    await db.schema.createTable('audit_log')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('actor_id', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target_type', 'text', (c) => c.notNull())
      .addColumn('target_id', 'text', (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_log_time').on('audit_log').column('created_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('audit_log').ifExists().execute();
    if (!isPostgres(db)) {
      await sql`drop trigger if exists summaries_fts_insert`.execute(db);
      await sql`drop trigger if exists summaries_fts_delete`.execute(db);
      await sql`drop table if exists summaries_fts`.execute(db);
    }
    await db.schema.dropTable('summaries').ifExists().execute();
    await db.schema.dropIndex('conversations_open').ifExists().execute();
    for (const c of ['memory_context', 'compacted_through', 'running_summary', 'summary_status', 'closed_reason']) await db.schema.alterTable('conversations').dropColumn(c).execute();
    for (const c of ['memory_tools', 'context_token_budget', 'session_timeout_minutes']) await db.schema.alterTable('agents').dropColumn(c).execute();
  },
};
