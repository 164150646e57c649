// The knowledge base's vector index on SQLite (issue 18): sqlite-vec vec0 tables, one per dimension, the agent their
// partition key, kept in step with knowledge_chunks by triggers on every path that changes or removes a chunk.
// Nothing is left behind, and a KNN never returns another agent's chunk. (PostgreSQL has no vector index here.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteDialect, withoutVectorIndex } from './dialects/sqlite.js';
import { migrate, type Db } from './db.js';
import type { Database as Schema } from './schema.js';
import { makeTestServices, type TestServices } from '../../test/helpers/test-services.js';
import { manualClock, sequentialIds } from '../../test/helpers/fakes.js';
import { knowledgeRepo } from './repositories/knowledge.js';

const dirs: Record<string, number[]> = { north: [0, 1, 0], east: [1, 0, 0], south: [0, -1, 0], west: [-1, 0, 0] };

describe.skipIf(!!process.env.TEST_DATABASE_URL)('knowledge vector index (sqlite-vec vec0)', () => {
  let t: TestServices;
  let actor: Awaited<ReturnType<TestServices['as']>>['actor'];
  beforeAll(async () => {
    t = await makeTestServices();
    actor = (await t.as('owner')).actor;
  });
  afterAll(() => t?.close());

  /** An agent with one site source and a document per url, each chunk's text naming its vector's direction. */
  async function agentWith(name: string, docs: Record<string, string[]>) {
    const a = await t.services.agents.create(actor, { name });
    const s = await t.store.knowledge.createSource({ agentId: a.id, type: 'site', title: name, url: 'https://x.example/', maxPages: 50, syncEveryHours: 0 });
    for (const [url, texts] of Object.entries(docs)) await put(a.id, s.id, url, texts);
    return { agentId: a.id, sourceId: s.id };
  }
  const put = (agentId: string, sourceId: string, url: string, texts: string[]) => t.store.knowledge.putDocument({
    sourceId, agentId, url, title: url, contentHash: texts.join(), chunks: texts.map((text) => ({ title: url, heading: '', url, page: null, text })),
  });
  async function embed(sourceId: string, model: string, dims = 3) {
    const rows = await t.store.knowledge.chunksToEmbed(sourceId, model, 100);
    await t.store.knowledge.setVectors(model, rows.map((c) => ({ id: c.id, vector: [...dirs[c.text.split('\n')[1]!]!, ...new Array<number>(dims - 3).fill(0)] })));
  }
  /** The rows of a vec0 table, and whether each matches a chunk of the same agent and model with a vector of that size. */
  async function vecRows(dims: number) {
    const rows = await sql<{ chunk_id: string; agent_id: string; model: string }>`select chunk_id, agent_id, model from ${sql.table(`knowledge_vec_${dims}`)}`.execute(t.db);
    return rows.rows;
  }
  /** Every table agrees with knowledge_chunks: one row per chunk with a vector of its size, same agent and model, nothing else. */
  async function expectInStep() {
    const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name glob 'knowledge_vec_*' and sql like '%using vec0%'`.execute(t.db);
    for (const { name } of tables.rows) {
      const dims = Number(name.slice('knowledge_vec_'.length));
      const want = await sql<{ id: string; agent_id: string; vector_model: string }>`select id, agent_id, vector_model from knowledge_chunks
        where vector is not null and length(vector) = ${dims * 4} order by id`.execute(t.db);
      const have = (await vecRows(dims)).sort((a, b) => a.chunk_id.localeCompare(b.chunk_id));
      expect(have.map((r) => [r.chunk_id, r.agent_id, r.model]), name).toEqual(want.rows.map((r) => [r.id, r.agent_id, r.vector_model]));
    }
    return tables.rows.map((r) => r.name).sort();
  }

  it('finds the nearest chunks of one agent only, however many another agent has nearer', async () => {
    const a = await agentWith('A', { 'https://x.example/a': ['north', 'east'] });
    const b = await agentWith('B', { 'https://x.example/b': ['north', 'north', 'north', 'east', 'south'] });
    await embed(a.sourceId, 'm');
    await embed(b.sourceId, 'm');
    expect(await t.store.knowledge.vectorIndex()).toBe('sqlite-vec');
    const near = await t.store.knowledge.vectorSearch(a.agentId, 'm', [0, 1, 0], 50);
    expect(near.map((h) => h.text)).toEqual(['north', 'east']);
    expect(near.every((h) => h.sourceId === a.sourceId)).toBe(true);
    expect((await t.store.knowledge.vectorSearch(b.agentId, 'm', [0, 1, 0], 50)).every((h) => h.sourceId === b.sourceId)).toBe(true);
    expect(await t.store.knowledge.vectorSearch(a.agentId, 'other', [0, 1, 0], 50)).toEqual([]);
    expect(await expectInStep()).toEqual(['knowledge_vec_3']);
  });

  it('keeps the index in step when a document is replaced or removed, a source deleted, a model changed, an agent deleted', async () => {
    const a = await agentWith('C', { 'https://x.example/1': ['north', 'east'], 'https://x.example/2': ['south'] });
    const other = await agentWith('D', { 'https://x.example/1': ['west'] });
    await embed(a.sourceId, 'm');
    await embed(other.sourceId, 'm');
    const mine = async () => (await vecRows(3)).filter((r) => r.agent_id === a.agentId).length;
    expect(await mine()).toBe(3);

    await put(a.agentId, a.sourceId, 'https://x.example/1', ['west']); // replaced: its two old chunks (and vectors) go
    expect(await mine()).toBe(1);
    await expectInStep();
    await embed(a.sourceId, 'm');
    expect(await mine()).toBe(2);

    await t.store.knowledge.deleteDocument(a.sourceId, 'https://x.example/2');
    expect(await mine()).toBe(1);
    await expectInStep();

    // A new model of the same size replaces the rows; one of another size moves them to that size's table.
    await embed(a.sourceId, 'm2');
    expect((await vecRows(3)).filter((r) => r.agent_id === a.agentId).map((r) => r.model)).toEqual(['m2']);
    await embed(a.sourceId, 'm4', 4);
    expect(await mine()).toBe(0);
    expect((await vecRows(4)).map((r) => [r.agent_id, r.model])).toEqual([[a.agentId, 'm4']]);
    expect((await t.store.knowledge.vectorSearch(a.agentId, 'm4', [-1, 0, 0, 0], 5)).map((h) => h.text)).toEqual(['west']);
    expect(await expectInStep()).toEqual(['knowledge_vec_3', 'knowledge_vec_4']);

    const second = await t.store.knowledge.createSource({ agentId: a.agentId, type: 'site', title: 'second', url: 'https://y.example/', maxPages: 5, syncEveryHours: 0 });
    await put(a.agentId, second.id, 'https://y.example/', ['north']);
    await embed(second.id, 'm4', 4);
    expect(await t.store.knowledge.deleteSource(a.agentId, second.id)).toBe(true);
    expect((await vecRows(4)).length).toBe(1);
    await expectInStep();

    // The agent row deleted (a customer's account erased): everything cascades, the vectors by trigger.
    expect(await t.store.agents.delete(a.agentId)).toBe(true);
    expect((await vecRows(4)).length).toBe(0);
    expect((await vecRows(3)).some((r) => r.agent_id === a.agentId)).toBe(false);
    expect((await vecRows(3)).some((r) => r.agent_id === other.agentId)).toBe(true);
    await expectInStep();
  });

  it('rebuilds a table whose triggers are gone (a start without sqlite-vec), so it misses nothing written meanwhile', async () => {
    const a = await agentWith('E', { 'https://x.example/e': ['north', 'south'] });
    await embed(a.sourceId, 'm');
    for (const name of ['knowledge_vec_3_delete', 'knowledge_vec_3_update']) await sql`drop trigger ${sql.id(name)}`.execute(t.db);
    await put(a.agentId, a.sourceId, 'https://x.example/e', ['east']); // the old rows stay behind in the vec0 table
    await expect(expectInStep()).rejects.toThrow();
    const fresh = knowledgeRepo(t.db, sequentialIds(), t.clock); // as after the next start with sqlite-vec
    expect(await fresh.vectorSearch(a.agentId, 'm', [0, 1, 0], 5)).toEqual([]);
    await expectInStep();
    await fresh.setVectors('m', (await fresh.chunksToEmbed(a.sourceId, 'm', 10)).map((c) => ({ id: c.id, vector: [1, 0, 0] })));
    expect((await fresh.vectorSearch(a.agentId, 'm', [1, 0, 0], 5)).map((h) => h.text)).toEqual(['east']);
    await expectInStep();
  });

  it('indexes vectors stored before the index existed (an upgraded install) at the first search of their size', async () => {
    const a = await agentWith('G', { 'https://x.example/g': ['north', 'east'] });
    for (const c of await t.store.knowledge.chunksToEmbed(a.sourceId, 'old', 10)) {
      const v = [...dirs[c.text.split('\n')[1]!]!, 0, 0];
      await sql`update knowledge_chunks set vector = ${Buffer.from(new Float32Array(v).buffer)}, vector_model = 'old' where id = ${c.id}`.execute(t.db);
    }
    expect(await expectInStep()).not.toContain('knowledge_vec_5');
    expect((await t.store.knowledge.vectorSearch(a.agentId, 'old', [1, 0, 0, 0, 0], 5)).map((h) => h.text)).toEqual(['east', 'north']);
    expect(await expectInStep()).toContain('knowledge_vec_5');
    expect((await vecRows(5)).map((r) => r.agent_id)).toEqual([a.agentId, a.agentId]);
  });

  it('finds vectors wider than sqlite-vec takes by the exact scan', async () => {
    const a = await agentWith('F', { 'https://x.example/f': ['north', 'east'] });
    await embed(a.sourceId, 'wide', 8193);
    expect((await t.store.knowledge.vectorSearch(a.agentId, 'wide', [1, 0, 0, ...new Array<number>(8190).fill(0)], 5)).map((h) => h.text)).toEqual(['east', 'north']);
    expect(await expectInStep()).not.toContain('knowledge_vec_8193');
  });
});

describe('a start without sqlite-vec', () => {
  it('drops the vector index triggers, so writes to chunks keep working (the tables are rebuilt on a start with it)', async () => {
    const raw = new Database(':memory:');
    raw.exec(`create table knowledge_chunks (id text primary key);
      create table knowledge_vec_3 (chunk_id text);
      create trigger knowledge_vec_3_delete after delete on knowledge_chunks begin delete from knowledge_vec_3 where chunk_id = old.id; end;
      create trigger other_trigger after delete on knowledge_chunks begin select 1; end;`);
    withoutVectorIndex(raw);
    expect(raw.prepare(`select name from sqlite_master where type = 'trigger' order by name`).all()).toEqual([{ name: 'other_trigger' }]);
    raw.close();
  });
});

describe.skipIf(!!process.env.TEST_DATABASE_URL)('a database used with and without sqlite-vec', () => {
  it('searches by the exact scan without it, and rebuilds the index from what changed meanwhile when it is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-vec-'));
    const file = join(dir, 'switchboard.db');
    const clock = manualClock();
    const chunk = (text: string) => ({ title: 't', heading: '', url: null, page: null, text });
    try {
      // With sqlite-vec: vectors in the vec0 table.
      let db: Db = new Kysely<Schema>({ dialect: sqliteDialect(file) });
      await migrate(db);
      await sql`pragma foreign_keys = off`.execute(db); // chunks without an agent and a source: this is about the index
      let repo = knowledgeRepo(db, sequentialIds(), clock);
      await repo.putDocument({ sourceId: 's', agentId: 'a', url: 'u1', title: 't', contentHash: 'h', chunks: [chunk('north'), chunk('east')] });
      await repo.setVectors('m', (await repo.chunksToEmbed('s', 'm', 10)).map((c) => ({ id: c.id, vector: dirs[c.text.split('\n')[1]!]! })));
      expect(await repo.vectorIndex()).toBe('sqlite-vec');
      await db.destroy();

      // Without it (a platform with no build): the triggers go, writes work, the exact scan answers.
      const raw = new Database(file);
      withoutVectorIndex(raw);
      db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: raw }) });
      repo = knowledgeRepo(db, sequentialIds(), clock);
      expect(await repo.vectorIndex()).toBe('none');
      await repo.putDocument({ sourceId: 's', agentId: 'a', url: 'u1', title: 't', contentHash: 'h2', chunks: [chunk('south'), chunk('west')] });
      await repo.setVectors('m', (await repo.chunksToEmbed('s', 'm', 10)).map((c) => ({ id: c.id, vector: dirs[c.text.split('\n')[1]!]! })));
      expect((await repo.vectorSearch('a', 'm', [-1, 0, 0], 1)).map((h) => h.text)).toEqual(['west']);
      await db.destroy();

      // With it again: the stale table is rebuilt before it answers.
      db = new Kysely<Schema>({ dialect: sqliteDialect(file) });
      await sql`pragma foreign_keys = off`.execute(db);
      repo = knowledgeRepo(db, sequentialIds(), clock);
      expect((await repo.vectorSearch('a', 'm', [0, 1, 0], 5)).map((h) => h.text)).toEqual(['west', 'south']);
      const rows = await sql<{ n: number }>`select count(*) as n from knowledge_vec_3`.execute(db);
      expect(Number(rows.rows[0]!.n)).toBe(2);
      await db.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
