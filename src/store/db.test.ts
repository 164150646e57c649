/**
 * migrate()'s fast path, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: on a database that has every
 * shipped migration it only reads Kysely's bookkeeping table (the Migrator, which would take its lock and
 * re-create its lock table, is not run); when one is missing the Migrator runs and applies it.
 */
import { describe, expect, it } from 'vitest';
import { Migrator, sql } from 'kysely';
import { openTestStore } from '../../test/helpers/test-store.js';
import { migrate, openDb, ownerExists, type Db } from './db.js';
import { migrations } from './migrations/index.js';
import { isPostgres } from './migrations/util.js';

async function currentSchema(db: Db): Promise<string | undefined> {
  return isPostgres(db) ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]!.s : undefined;
}

async function lockTableExists(db: Db, schema: string | undefined): Promise<boolean> {
  if (schema) return (await sql<{ t: string | null }>`select to_regclass(${`${schema}.kysely_migration_lock`})::text as t`.execute(db)).rows[0]!.t !== null;
  return (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name = 'kysely_migration_lock'`.execute(db)).rows.length > 0;
}

describe(`migrate() on ${process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite'}`, () => {
  it('skips the Migrator when every shipped migration is applied, and runs it when one is missing', async () => {
    const { db, close } = await openTestStore({ now: () => new Date() }); // migrated to the latest
    try {
      const schema = await currentSchema(db);
      const lock = sql.table(schema ? `${schema}.kysely_migration_lock` : 'kysely_migration_lock');
      await sql`drop table ${lock}`.execute(db);
      await migrate(db, schema);
      expect(await lockTableExists(db, schema)).toBe(false); // fast path: the Migrator never ran

      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, ...(schema ? { migrationTableSchema: schema } : {}) });
      const down = await migrator.migrateDown();
      expect(down.error).toBeUndefined();
      const last = Object.keys(migrations).at(-1)!;
      expect(down.results?.map((r) => r.migrationName)).toEqual([last]);
      await migrate(db, schema);
      const state = await migrator.getMigrations();
      expect(state.every((m) => m.executedAt)).toBe(true); // the missing one was applied again
      expect(await lockTableExists(db, schema)).toBe(true);
    } finally {
      await close();
    }
  }, 60_000);

  it('ownerExists: false before the schema exists and without an owner, true once there is one', async () => {
    const fresh = openDb({ dataDir: ':memory:' }).db; // no tables at all (the question start-up asks before migrating)
    try { expect(await ownerExists(fresh)).toBe(false); } finally { await fresh.destroy(); }
    const { db, store, close } = await openTestStore({ now: () => new Date() });
    try {
      expect(await ownerExists(db)).toBe(false);
      await store.users.insert({ email: 'member@example.com', passwordHash: 'x', role: 'customer' });
      expect(await ownerExists(db)).toBe(false);
      await store.users.insert({ email: 'owner@example.com', passwordHash: 'x', role: 'owner' });
      expect(await ownerExists(db)).toBe(true);
    } finally {
      await close();
    }
  });
});
