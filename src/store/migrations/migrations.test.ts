/**
 * The migration list's contract, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: shipped names never
 * change (Kysely's migrator records them), every file is listed under its own name, and the whole set
 * runs up, reports nothing left to do, and runs down again.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Migrator, sql, type Kysely } from 'kysely';
import { openTestStore } from '../../../test/helpers/test-store.js';
import { migrations } from './index.js';
import { isPostgres } from './util.js';
import { AGENT_DEFAULTS } from '../../domain/schemas.js';

const SHIPPED = [
  '0001_core', '0002_channels', '0003_single_owner', '0004_whatsapp', '0005_linking', '0006_inbox_order', '0007_memory',
  '0008_budgets', '0009_customers', '0010_tools', '0011_indexes', '0012_inbox_route', '0013_direct_sends', '0014_security',
  '0015_audit', '0016_person_messages', '0017_inbox_open', '0018_handoff', '0019_media',
];

/** A migrator over the shipped list; on PostgreSQL the test's own schema (first on the search path) holds its tables too. */
async function migratorFor(db: Kysely<any>) {
  const schema = isPostgres(db) ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]!.s : undefined;
  return new Migrator({ db, provider: { getMigrations: async () => migrations }, ...(schema ? { migrationTableSchema: schema } : {}) });
}

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
      const migrator = await migratorFor(db);
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
    // Every migration down, one DDL transaction each: 2–15 s on PostgreSQL beside two other test workers.
  }, 60_000);

  it('0031 rebuilds the summaries\' full-text table with every summary stored before it, scoped to its agent and person', async () => {
    const { db, store, close } = await openTestStore({ now: () => new Date('2026-03-01T10:00:00Z') });
    try {
      const migrator = await migratorFor(db);
      expect((await migrator.migrateTo('0030_hot_path_indexes')).error).toBeUndefined();
      const owner = await store.users.insert({ email: 'm31@example.com', passwordHash: 'x', role: 'customer' });
      const persona = { soul: '', agents: '', tools: '', user: '', instructions: '' };
      const agent = await store.agents.insert({ ownerId: owner.id, name: 'M', slug: 'm31', description: '', icon: '', model: null, fallbackModel: null, temperature: 1, status: 'active', listed: false, persona, ...AGENT_DEFAULTS });
      const [ann, bob] = [await store.people.upsert('web', 'ann'), await store.people.upsert('web', 'bob')];
      for (const [p, text] of [[ann, 'Ann asked about her parcel to Lisbon'], [bob, 'Bob asked about a parcel to Oslo']] as const) {
        const c = await store.conversations.create({ agentId: agent.id, personId: p.id, channel: 'web' });
        // Stored through SQL as 0030's schema has it (the repository's insert is the latest one's).
        await db.insertInto('summaries').values({ id: `s-${p.externalId}`, conversation_id: c.id, agent_id: agent.id, person_id: p.id, channel: 'web', summary: text,
          started_at: c.createdAt, ended_at: c.createdAt, message_count: 2, model: 'm', input_tokens: 0, output_tokens: 0, cost_usd: 0, embedding: null, created_at: c.createdAt } as never).execute();
      }
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const found = await store.summaries.search({ agentId: agent.id, personIds: [ann.id], q: 'parcels', limit: 5 });
      expect(found.map((s) => s.summary)).toEqual(['Ann asked about her parcel to Lisbon']);
      expect((await store.summaries.search({ agentId: agent.id, q: 'parcel', limit: 5 })).map((s) => s.personId).sort()).toEqual([ann.id, bob.id].sort());
      expect(await store.summaries.search({ agentId: 'another-agent', personIds: [ann.id], q: 'parcel', limit: 5 })).toEqual([]);
    } finally {
      await close();
    }
  });

  it('0033 starts the inbox\'s and outbox\'s counts by status from the rows stored before it', async () => {
    const { db, store, close } = await openTestStore({ now: () => new Date('2026-03-01T10:00:00Z') });
    try {
      const migrator = await migratorFor(db);
      expect((await migrator.migrateTo('0032_read_indexes')).error).toBeUndefined();
      const at = '2026-03-01T10:00:00.000Z';
      const stored = await store.inbox.acceptMany([1, 2, 3].map((i) => ({ channel: 'telegram', account: 'm33', externalId: `e${i}`, threadKey: `telegram:m33:${i}`,
        agentId: null, sender: `s${i}`, senderName: null, text: 'hi', payload: null, orderKey: '' })), at);
      await store.inbox.finish(stored[0]!.id, 'done', at);
      await store.inbox.saveReply(stored[0]!.id, [{ channel: 'telegram', agentId: null, recipient: 's1', text: 'hello' }], at);
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      expect(await store.inbox.counts()).toEqual({ queued: 2, done: 1 });
      expect(await store.analytics.outboxCounts()).toEqual({ pending: 1 });
      await store.inbox.finish(stored[1]!.id, 'done', at);
      expect(await store.inbox.counts()).toEqual({ queued: 1, done: 2 });
    } finally {
      await close();
    }
  });
});
