import { Kysely, Migrator, type Migration, type MigrationProvider } from 'kysely';
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

/** Brings the schema up to date; throws with the failing migration's name. */
export async function migrate(db: Db, schema?: string): Promise<void> {
  // With a schema (isolated test runs) the bookkeeping tables live in it too; otherwise Kysely may
  // see another schema's lock table through introspection and skip creating its own.
  const migrator = new Migrator({ db, provider: new StaticProvider(), ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Database migration ${failed} failed: ${(error as Error).message ?? String(error)}`);
  }
}
