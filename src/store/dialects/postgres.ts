import type pgTypes from 'pg';
import { PostgresDialect, PostgresIntrospector, sql, type DatabaseIntrospector, type DatabaseMetadata, type Kysely, type SchemaMetadata, type TableMetadata } from 'kysely';
import { lazyDefault } from '../../infra/lazy.js';

/** Loaded only when DATABASE_URL is set: SQLite installs never pay for it. */
const pg = lazyDefault<typeof pgTypes>('pg');

/**
 * The tables of the schema this connection works in (the first of its search_path), names only.
 * Kysely's own PostgreSQL introspector lists every table of every schema in the database with all
 * its columns, through functions (`has_schema_privilege`, `pg_get_serial_sequence`) that fail when
 * another session drops a schema or table while it runs — a database shared with other
 * applications, or the tests' schemas dropped by other test processes. Introspection has one user
 * here, the Migrator, which asks only whether its two bookkeeping tables exist in its schema.
 */
class CurrentSchemaIntrospector implements DatabaseIntrospector {
  readonly #db: Kysely<unknown>;
  constructor(db: Kysely<unknown>) { this.#db = db; }
  getSchemas(): Promise<SchemaMetadata[]> { return new PostgresIntrospector(this.#db).getSchemas(); }
  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; schema: string; kind: string }>`
      select c.relname as name, n.nspname as schema, c.relkind as kind
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'v', 'p')`.execute(this.#db);
    return rows.map((r) => ({ name: r.name, schema: r.schema, isView: r.kind === 'v', columns: [] }));
  }
  async getMetadata(): Promise<DatabaseMetadata> { return { tables: await this.getTables() }; }
}

class SchemaScopedPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector { return new CurrentSchemaIntrospector(db); }
}

/**
 * PostgreSQL through `pg`. `schema` (used by tests) isolates a run in its own schema
 * by setting the search_path of every pooled connection.
 */
export function postgresDialect(connectionString: string, schema?: string): PostgresDialect {
  const pool = new (pg().Pool)({
    connectionString,
    max: 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  return new SchemaScopedPostgresDialect({ pool });
}
