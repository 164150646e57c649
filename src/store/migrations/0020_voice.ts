/** Migration 0020_voice: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { sql, type Kysely, type Migration } from 'kysely';
import { isPostgres } from './util.js';

/** Whether `table` has `column` (so the migration can run again over a half-applied database). */
async function hasColumn(db: Kysely<any>, table: string, column: string): Promise<boolean> {
  if (isPostgres(db)) {
    const r = await sql<{ n: number }>`select count(*)::int as n from information_schema.columns where table_schema = current_schema() and table_name = ${table} and column_name = ${column}`.execute(db);
    return Number(r.rows[0]?.n ?? 0) > 0;
  }
  const r = await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db);
  return r.rows.some((c) => c.name === column);
}

export const migration: Migration = {
  // Spoken replies (issue 16): an agent's voice settings, {reply, voice} as JSON (null: the defaults).
  async up(db: Kysely<any>) {
    if (!(await hasColumn(db, 'agents', 'voice'))) await db.schema.alterTable('agents').addColumn('voice', 'text').execute();
  },
  async down(db: Kysely<any>) {
    if (await hasColumn(db, 'agents', 'voice')) await db.schema.alterTable('agents').dropColumn('voice').execute();
  },
};
