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
 * PostgreSQL's text cannot hold the NUL character: a parameter with one fails the whole statement
 * ("invalid byte sequence for encoding UTF8: 0x00"), and `jsonb` (pg-boss's job data) refuses the
 * `\u0000` escape JSON.stringify writes for one. So a message, a name or an id sent with a NUL (a
 * webhook, a path segment, a JSON `\u0000`) was a 500 on PostgreSQL where SQLite stored it. Every
 * string bound through our pool — a parameter, or a string anywhere inside an array or plain object
 * that pg serializes as JSON — has its NULs replaced by U+FFFD, the replacement character, as a
 * decoder does with what it cannot represent: a lookup by such a value finds nothing, a text is stored
 * with the mark where the NUL was. Copy on write: a value without a NUL is returned as it is.
 */
export function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return (value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value) as T;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = withoutNul(value[i]);
      if (v !== value[i]) (out ??= [...value])[i] = v;
    }
    return (out ?? value) as T;
  }
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    let changed = false;
    const entries = Object.entries(value).map(([k, v]) => {
      const ck = withoutNul(k), cv = withoutNul(v);
      if (ck !== k || cv !== v) changed = true;
      return [ck, cv] as const;
    });
    return (changed ? Object.fromEntries(entries) : value) as T;
  }
  return value;
}

let nulSafeClient: typeof pgTypes.Client | undefined;
/** pg's Client with withoutNul applied to the values of every query (Kysely's, and pg-boss's sends, which go through our pool). */
function NulSafeClient(): typeof pgTypes.Client {
  return (nulSafeClient ??= class extends pg().Client {
    override query(...args: unknown[]): any {
      const [first, second] = args;
      if (Array.isArray(second)) args[1] = withoutNul(second);
      else if (first && typeof first === 'object' && Array.isArray((first as { values?: unknown }).values)) {
        (first as { values: unknown[] }).values = withoutNul((first as { values: unknown[] }).values);
      }
      return (super.query as (...a: unknown[]) => unknown)(...args);
    }
  } as typeof pgTypes.Client);
}

/**
 * PostgreSQL through `pg`. `schema` (used by tests) isolates a run in its own schema
 * by setting the search_path of every pooled connection.
 */
export function postgresDialect(connectionString: string, schema?: string): PostgresDialect {
  const pool = new (pg().Pool)({
    connectionString,
    Client: NulSafeClient(),
    max: 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  return new SchemaScopedPostgresDialect({ pool });
}
