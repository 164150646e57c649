/** Migration 0023_knowledge: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { sql, type Kysely, type Migration } from 'kysely';
import { ts, isPostgres } from './util.js';

export const migration: Migration = {
  // An agent's knowledge (issue 18): its sources (a file, a page, a site), the documents each yielded
  // (one per page or file, with the hash of its text so a re-sync re-indexes only what changed), and the
  // chunks searched, each with its heading path and URL. Full-text search: FTS5 on SQLite (kept in step by
  // triggers), a generated tsvector with a GIN index on PostgreSQL. Everything cascades from the agent.
  async up(db: Kysely<any>) {
    await db.schema.createTable('knowledge_sources').ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('url', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('pages', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('chunks', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('bytes', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_pages', 'integer', (c) => c.notNull().defaultTo(200))
      .addColumn('sync_every_hours', 'integer', (c) => c.notNull().defaultTo(0))
      /** Files: the extracted text (the bytes are not kept). */
      .addColumn('file_text', 'text')
      .addColumn('mime_type', 'text')
      /** JSON: what the last sync changed ({added, updated, removed, unchanged, skipped}). */
      .addColumn('changes', 'text')
      .addColumn('last_synced_at', ts)
      .addColumn('next_sync_at', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('knowledge_sources_agent').ifNotExists().on('knowledge_sources').column('agent_id').execute();

    await db.schema.createTable('knowledge_documents').ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('source_id', 'text', (c) => c.notNull().references('knowledge_sources.id').onDelete('cascade'))
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('content_hash', 'text', (c) => c.notNull())
      .addColumn('chunks', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('indexed_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('knowledge_documents_source_url').ifNotExists().unique().on('knowledge_documents').columns(['source_id', 'url']).execute();

    await db.schema.createTable('knowledge_chunks').ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('document_id', 'text', (c) => c.notNull().references('knowledge_documents.id').onDelete('cascade'))
      .addColumn('source_id', 'text', (c) => c.notNull())
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('heading', 'text', (c) => c.notNull())
      .addColumn('url', 'text')
      .addColumn('page', 'integer')
      .addColumn('text', 'text', (c) => c.notNull())
      /** JSON array of numbers when an embedding model indexed it. */
      .addColumn('embedding', 'text')
      .execute();
    await db.schema.createIndex('knowledge_chunks_document').ifNotExists().on('knowledge_chunks').column('document_id').execute();
    await db.schema.createIndex('knowledge_chunks_agent').ifNotExists().on('knowledge_chunks').column('agent_id').execute();
    if (isPostgres(db)) {
      await sql`alter table knowledge_chunks add column if not exists tsv tsvector generated always as (to_tsvector('english', title || ' ' || heading || ' ' || text)) stored`.execute(db);
      await sql`create index if not exists knowledge_chunks_tsv on knowledge_chunks using gin (tsv)`.execute(db);
    } else {
      await sql`create virtual table if not exists knowledge_fts using fts5(chunk_id unindexed, body, tokenize = 'porter unicode61')`.execute(db);
      await sql`create trigger if not exists knowledge_fts_insert after insert on knowledge_chunks begin insert into knowledge_fts(chunk_id, body) values (new.id, new.title || ' ' || new.heading || ' ' || new.text); end`.execute(db);
      await sql`create trigger if not exists knowledge_fts_delete after delete on knowledge_chunks begin delete from knowledge_fts where chunk_id = old.id; end`.execute(db);
    }
  },
  async down(db: Kysely<any>) {
    if (!isPostgres(db)) {
      await sql`drop trigger if exists knowledge_fts_insert`.execute(db);
      await sql`drop trigger if exists knowledge_fts_delete`.execute(db);
      await sql`drop table if exists knowledge_fts`.execute(db);
    }
    await db.schema.dropTable('knowledge_chunks').ifExists().execute();
    await db.schema.dropTable('knowledge_documents').ifExists().execute();
    await db.schema.dropTable('knowledge_sources').ifExists().execute();
  },
};
