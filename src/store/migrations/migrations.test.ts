/**
 * The migration list's contract, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: shipped names never
 * change (Kysely's migrator records them), every file is listed under its own name, and the whole set
 * runs up, reports nothing left to do, and runs down again.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Migrator, sql } from 'kysely';
import { openTestStore } from '../../../test/helpers/test-store.js';
import { migrations } from './index.js';
import { isPostgres } from './util.js';

const SHIPPED = [
  '0001_core', '0002_channels', '0003_single_owner', '0004_whatsapp', '0005_linking', '0006_inbox_order', '0007_memory',
  '0008_budgets', '0009_customers', '0010_tools', '0011_indexes', '0012_inbox_route', '0013_direct_sends',
];

describe(`migrations on ${process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite'}`, () => {
  it('keeps the shipped names, in order, and lists one file per number under its own name', () => {
    const names = Object.keys(migrations);
    expect(names.slice(0, SHIPPED.length)).toEqual(SHIPPED);
    expect([...names].sort()).toEqual(names);
    const files = readdirSync(fileURLToPath(new URL('.', import.meta.url))).filter((f) => /^\d{4}_\w+\.ts$/.test(f)).map((f) => f.replace(/\.ts$/, ''));
    expect(files.sort()).toEqual(names);
    expect(new Set(names.map((n) => n.slice(0, 4))).size).toBe(names.length);
  });

  it('migrates to the latest, then finds nothing to do, and migrates all the way down again', async () => {
    // openTestStore has already migrated to the latest (as the server does at start).
    const { db, close } = await openTestStore({ now: () => new Date() });
    try {
      // On PostgreSQL the test's own schema (first on the search path) holds the migrator's tables too.
      const schema = isPostgres(db) ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]!.s : undefined;
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, ...(schema ? { migrationTableSchema: schema } : {}) });
      const again = await migrator.migrateToLatest();
      expect(again.error).toBeUndefined();
      expect(again.results).toEqual([]);
      expect((await migrator.getMigrations()).every((m) => m.executedAt)).toBe(true);
      const down: string[] = [];
      for (let i = 0; i <= Object.keys(migrations).length; i++) {
        const r = await migrator.migrateDown();
        expect(r.error).toBeUndefined();
        if (!r.results?.length) break;
        down.push(...r.results.map((x) => x.migrationName));
      }
      expect(down).toEqual(Object.keys(migrations).reverse());
    } finally {
      await close();
    }
  });
});
