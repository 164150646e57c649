/**
 * A migrated store on the real database for repository tests: SQLite in memory by default, a fresh
 * PostgreSQL schema under `npm run test:pg` (TEST_DATABASE_URL), dropped again by `close()`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDb, migrate, type Db } from '../../src/store/db.js';
import { createStore } from '../../src/store/store.js';
import { randomIds } from '../../src/infra/system.js';
import type { Clock, Store } from '../../src/domain/ports.js';

async function pgQuery(url: string, text: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { await c.query(text); } finally { await c.end(); }
}

export async function openTestStore(clock: Clock, o: { migrateTwice?: boolean } = {}): Promise<{ db: Db; store: Store; close(): Promise<void> }> {
  const url = process.env.TEST_DATABASE_URL;
  const schema = url ? `s_${randomBytes(6).toString('hex')}` : undefined;
  if (url) await pgQuery(url, `create schema ${schema}`);
  const { db } = openDb({ databaseUrl: url, dataDir: ':memory:', pgSchema: schema });
  await migrate(db, schema);
  if (o.migrateTwice) await migrate(db, schema); // migrations must be idempotent
  const store = createStore(db, randomIds, clock);
  return {
    db, store,
    async close() {
      await store.close();
      if (url && schema) await pgQuery(url, `drop schema ${schema} cascade`);
    },
  };
}
