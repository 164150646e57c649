import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import { join } from 'node:path';
import type { Database } from './schema.js';
import { migrations } from './migrations/index.js';
import { sqliteDialect, type DataDirWarning } from './dialects/sqlite.js';
import { postgresDialect } from './dialects/postgres.js';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;

export type DbOptions = { databaseUrl?: string; dataDir: string; pgSchema?: string; warn?: (w: DataDirWarning) => void };

export function openDb(o: DbOptions): { db: Db; dialect: Dialect } {
  if (o.databaseUrl) {
    return { db: new Kysely<Database>({ dialect: postgresDialect(o.databaseUrl, o.pgSchema) }), dialect: 'postgres' };
  }
  const file = o.dataDir === ':memory:' ? ':memory:' : join(o.dataDir, 'switchboard.db');
  return { db: new Kysely<Database>({ dialect: sqliteDialect(file, { warn: o.warn }) }), dialect: 'sqlite' };
}

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> { return migrations; }
}

/**
 * True when every migration this version ships is already recorded as applied: one read of Kysely's
 * bookkeeping table, instead of the Migrator's lock, introspection and comparison on every start.
 * Anything else (no table yet, a migration missing, a name this version does not know) answers false,
 * and the Migrator decides, with its lock, as before.
 */
async function upToDate(db: Db, schema?: string): Promise<boolean> {
  try {
    const table = sql.table(schema ? `${schema}.kysely_migration` : 'kysely_migration');
    const { rows } = await sql<{ name: string }>`select name from ${table}`.execute(db);
    const applied = new Set(rows.map((r) => r.name));
    const shipped = Object.keys(migrations);
    return applied.size === shipped.length && shipped.every((n) => applied.has(n));
  } catch {
    return false;
  }
}

/**
 * Whether an owner account exists, asked before migrating: false when the users table is not there
 * yet (a new database) or cannot be read. Start-up uses it to hash SWITCHBOARD_ADMIN_PASSWORD on the
 * thread pool while the migrations run (argon2id takes a few hundred milliseconds); whoever creates
 * the owner checks again afterwards, so a wrong guess only costs a hash.
 */
export async function ownerExists(db: Db): Promise<boolean> {
  try {
    return !!(await db.selectFrom('users').select('id').where('role', '=', 'owner').limit(1).executeTakeFirst());
  } catch {
    return false;
  }
}

/** Brings the schema up to date; throws with the failing migration's name. */
export async function migrate(db: Db, schema?: string): Promise<void> {
  if (await upToDate(db, schema)) return;
  // With a schema (isolated test runs) the bookkeeping tables live in it too. Introspection on
  // PostgreSQL sees only the connection's own schema (dialects/postgres.ts), never another's tables.
  const migrator = new Migrator({ db, provider: new StaticProvider(), ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Database migration ${failed} failed: ${(error as Error).message ?? String(error)}`);
  }
}
