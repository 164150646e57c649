/** Migration 0026_knowledge_vectors: shipped, so frozen (its name and SQL never change; a change is a new migration). */
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

const PLAN_COLUMNS = ['max_knowledge_sources', 'max_knowledge_pages', 'max_knowledge_bytes'] as const;

export const migration: Migration = {
  // Knowledge, continued (issue 18): each chunk's embedding as little-endian float32 bytes (blob / bytea) with
  // the model that made it (a change of model re-embeds); an agent's knowledge settings ({autoContext} as JSON,
  // null: the defaults); and the plan's knowledge caps (null: no cap).
  async up(db: Kysely<any>) {
    const bytes = isPostgres(db) ? 'bytea' : 'blob';
    if (!(await hasColumn(db, 'knowledge_chunks', 'vector'))) await db.schema.alterTable('knowledge_chunks').addColumn('vector', sql.raw(bytes)).execute();
    if (!(await hasColumn(db, 'knowledge_chunks', 'vector_model'))) await db.schema.alterTable('knowledge_chunks').addColumn('vector_model', 'text').execute();
    if (!(await hasColumn(db, 'agents', 'knowledge'))) await db.schema.alterTable('agents').addColumn('knowledge', 'text').execute();
    for (const c of PLAN_COLUMNS) if (!(await hasColumn(db, 'plans', c))) await db.schema.alterTable('plans').addColumn(c, 'bigint').execute();
  },
  async down(db: Kysely<any>) {
    for (const c of PLAN_COLUMNS) if (await hasColumn(db, 'plans', c)) await db.schema.alterTable('plans').dropColumn(c).execute();
    if (await hasColumn(db, 'agents', 'knowledge')) await db.schema.alterTable('agents').dropColumn('knowledge').execute();
    if (await hasColumn(db, 'knowledge_chunks', 'vector_model')) await db.schema.alterTable('knowledge_chunks').dropColumn('vector_model').execute();
    if (await hasColumn(db, 'knowledge_chunks', 'vector')) await db.schema.alterTable('knowledge_chunks').dropColumn('vector').execute();
  },
};
