/** Migration 0027_knowledge_fast: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { sql, type Kysely, type Migration } from 'kysely';
import { isPostgres } from './util.js';

export const migration: Migration = {
  // Knowledge search fast at 50,000 chunks per agent (issue 18).
  // SQLite: the FTS5 table gains the agent as an indexed column (`agent_id`, holding a one-token form of the id,
  // see repositories/text-keys.ts ftsToken), so one MATCH finds the agent's matching chunks and ranks them
  // inside FTS5; before, every match of every agent was joined to its wide knowledge_chunks row (text and vector,
  // ~2 KB) only to be thrown away when it belonged to another agent. The table is rebuilt from knowledge_chunks.
  // (The vector index, sqlite-vec vec0 tables per dimension, is created by the repository when the extension is
  // loaded and a vector of that dimension is first stored: a migration cannot count on the extension.)
  // PostgreSQL: a partial index for the exact vector scan (an agent's vectors by model, in id order).
  async up(db: Kysely<any>) {
    if (isPostgres(db)) {
      await sql`create index if not exists knowledge_chunks_vectors on knowledge_chunks (agent_id, vector_model, id) where vector is not null`.execute(db);
      return;
    }
    await sql`drop trigger if exists knowledge_fts_insert`.execute(db);
    await sql`drop trigger if exists knowledge_fts_delete`.execute(db);
    await sql`drop table if exists knowledge_fts`.execute(db);
    await sql`create virtual table knowledge_fts using fts5(chunk_id unindexed, agent_id, body, tokenize = 'porter unicode61')`.execute(db);
    // 'a' + hex of the id + 'x': one token whatever the id holds, and no suffix the porter stemmer would cut.
    const token = sql.raw(`'a' || lower(hex(new.agent_id)) || 'x'`);
    await sql`insert into knowledge_fts(chunk_id, agent_id, body) select id, 'a' || lower(hex(agent_id)) || 'x', title || ' ' || heading || ' ' || text from knowledge_chunks`.execute(db);
    await sql`create trigger knowledge_fts_insert after insert on knowledge_chunks begin insert into knowledge_fts(chunk_id, agent_id, body) values (new.id, ${token}, new.title || ' ' || new.heading || ' ' || new.text); end`.execute(db);
    await sql`create trigger knowledge_fts_delete after delete on knowledge_chunks begin delete from knowledge_fts where chunk_id = old.id; end`.execute(db);
  },
  async down(db: Kysely<any>) {
    if (isPostgres(db)) {
      await sql`drop index if exists knowledge_chunks_vectors`.execute(db);
      return;
    }
    // The vector index the repository made: its triggers, then its tables (dropping a vec0 table needs sqlite-vec loaded).
    const made = await sql<{ type: string; name: string }>`select type, name from sqlite_master where name like 'knowledge_vec_%' and type in ('trigger', 'table') and (type = 'trigger' or sql like '%vec0%')`.execute(db);
    for (const r of made.rows.filter((r) => r.type === 'trigger')) await sql`drop trigger if exists ${sql.id(r.name)}`.execute(db);
    for (const r of made.rows.filter((r) => r.type === 'table')) await sql`drop table if exists ${sql.id(r.name)}`.execute(db);
    await sql`drop trigger if exists knowledge_fts_insert`.execute(db);
    await sql`drop trigger if exists knowledge_fts_delete`.execute(db);
    await sql`drop table if exists knowledge_fts`.execute(db);
    await sql`create virtual table knowledge_fts using fts5(chunk_id unindexed, body, tokenize = 'porter unicode61')`.execute(db);
    await sql`insert into knowledge_fts(chunk_id, body) select id, title || ' ' || heading || ' ' || text from knowledge_chunks`.execute(db);
    await sql`create trigger knowledge_fts_insert after insert on knowledge_chunks begin insert into knowledge_fts(chunk_id, body) values (new.id, new.title || ' ' || new.heading || ' ' || new.text); end`.execute(db);
    await sql`create trigger knowledge_fts_delete after delete on knowledge_chunks begin delete from knowledge_fts where chunk_id = old.id; end`.execute(db);
  },
};
