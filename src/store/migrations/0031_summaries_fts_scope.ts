/** Migration 0031_summaries_fts_scope: memory recall searches one person's summaries, not everyone's. */
import { sql, type Kysely, type Migration } from 'kysely';
import { isPostgres } from './util.js';

// 'a' / 'p' + hex of the id + 'x': one token whatever the id holds, with no suffix the porter stemmer would cut
// (as knowledge_fts does since 0027). The repository builds the same tokens (repositories/text-keys.ts, ftsToken).
const scopeOf = (row: 'new' | 'summaries') => sql.raw(`'a' || lower(hex(${row}.agent_id)) || 'x p' || lower(hex(${row}.person_id)) || 'x'`);

export const migration: Migration = {
  // Before every reply, memory recall asks for this person's summaries with this agent that match the
  // message (repositories/memory.ts, `search`). On SQLite the MATCH ran over every summary of the
  // installation, ranking each with bm25, and only then kept the person's: 31 ms a message with 20,000
  // summaries (`npm run bench -- backlog`), growing with every conversation ever summarized. The FTS5
  // table gains a `scope` column holding the agent's and the person's tokens, so the MATCH itself asks
  // for them and FTS5 intersects the short lists of the person's rows with the words' lists. The table
  // is rebuilt from summaries. PostgreSQL searches the person's rows by index already.
  async up(db: Kysely<any>) {
    if (isPostgres(db)) return;
    await sql`drop trigger if exists summaries_fts_insert`.execute(db);
    await sql`drop trigger if exists summaries_fts_delete`.execute(db);
    await sql`drop table if exists summaries_fts`.execute(db);
    await sql`create virtual table summaries_fts using fts5(summary_id unindexed, scope, body, tokenize = 'porter unicode61')`.execute(db);
    await sql`insert into summaries_fts(summary_id, scope, body) select summaries.id, ${scopeOf('summaries')}, summaries.summary from summaries`.execute(db);
    await sql`create trigger summaries_fts_insert after insert on summaries begin insert into summaries_fts(summary_id, scope, body) values (new.id, ${scopeOf('new')}, new.summary); end`.execute(db);
    await sql`create trigger summaries_fts_delete after delete on summaries begin delete from summaries_fts where summary_id = old.id; end`.execute(db);
  },
  async down(db: Kysely<any>) {
    if (isPostgres(db)) return;
    await sql`drop trigger if exists summaries_fts_insert`.execute(db);
    await sql`drop trigger if exists summaries_fts_delete`.execute(db);
    await sql`drop table if exists summaries_fts`.execute(db);
    await sql`create virtual table summaries_fts using fts5(summary_id unindexed, body, tokenize = 'porter unicode61')`.execute(db);
    await sql`insert into summaries_fts(summary_id, body) select id, summary from summaries`.execute(db);
    await sql`create trigger summaries_fts_insert after insert on summaries begin insert into summaries_fts(summary_id, body) values (new.id, new.summary); end`.execute(db);
    await sql`create trigger summaries_fts_delete after delete on summaries begin delete from summaries_fts where summary_id = old.id; end`.execute(db);
  },
};
