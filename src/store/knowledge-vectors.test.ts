// Knowledge vectors in the store (issue 18), on SQLite (sqlite-vec) and PostgreSQL (exact scan): nearest first,
// scoped to the agent and the model, re-embedded after a change, gone with the source.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestServices, type TestServices } from '../../test/helpers/test-services.js';

describe(`knowledge vectors on ${process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite'}`, () => {
  let t: TestServices;
  const agents: string[] = [];
  const sources: string[] = [];
  beforeAll(async () => {
    t = await makeTestServices();
    const actor = (await t.as('owner')).actor;
    for (const name of ['A', 'B']) {
      const a = await t.services.agents.create(actor, { name });
      agents.push(a.id);
      const s = await t.store.knowledge.createSource({ agentId: a.id, type: 'site', title: name, url: 'https://x.example/', maxPages: 5, syncEveryHours: 0 });
      sources.push(s.id);
      await t.store.knowledge.putDocument({ sourceId: s.id, agentId: a.id, url: 'https://x.example/', title: name, contentHash: 'h', chunks: ['north', 'east', 'south'].map((text) => ({ title: name, heading: '', url: 'https://x.example/', page: null, text })) });
    }
  });
  afterAll(() => t?.close());

  const dir: Record<string, number[]> = { north: [0, 1, 0], east: [1, 0, 0], south: [0, -1, 0] };

  it('embeds only what has no vector from the model, and finds the nearest of one agent', async () => {
    const todo = await t.store.knowledge.chunksToEmbed(sources[0]!, 'm1', 10);
    expect(todo.map((c) => c.text.split('\n')[1]).sort()).toEqual(['east', 'north', 'south']);
    for (const [i, s] of sources.entries()) {
      const rows = await t.store.knowledge.chunksToEmbed(s, 'm1', 10);
      await t.store.knowledge.setVectors('m1', rows.map((c) => ({ id: c.id, vector: dir[c.text.split('\n')[1]!]!.map((x) => x * (i + 2)) })));
    }
    expect(await t.store.knowledge.chunksToEmbed(sources[0]!, 'm1', 10)).toEqual([]);
    expect((await t.store.knowledge.chunksToEmbed(sources[0]!, 'm2', 10)).length).toBe(3);
    const near = await t.store.knowledge.vectorSearch(agents[0]!, 'm1', [0.2, 0.9, 0], 2);
    expect(near.map((h) => h.text)).toEqual(['north', 'east']);
    expect(near[0]!.score).toBeGreaterThan(0.9);
    expect(near.every((h) => h.sourceId === sources[0])).toBe(true);
    expect(await t.store.knowledge.vectorSearch(agents[0]!, 'other-model', [0, 1, 0], 2)).toEqual([]);
    expect(await t.store.knowledge.vectorIndex()).toBe(process.env.TEST_DATABASE_URL ? 'none' : 'sqlite-vec');
  });

  it('drops the vectors of a changed document and of a deleted source', async () => {
    await t.store.knowledge.putDocument({ sourceId: sources[0]!, agentId: agents[0]!, url: 'https://x.example/', title: 'A', contentHash: 'h2', chunks: [{ title: 'A', heading: '', url: null, page: null, text: 'west' }] });
    expect((await t.store.knowledge.chunksToEmbed(sources[0]!, 'm1', 10)).map((c) => c.text)).toEqual(['A\nwest']);
    expect(await t.store.knowledge.deleteSource(agents[1]!, sources[1]!)).toBe(true);
    expect(await t.store.knowledge.vectorSearch(agents[1]!, 'm1', [0, 1, 0], 5)).toEqual([]);
  });

  it('covers every vector of the agent, not only the newest, and deleting the agent deletes its knowledge', async () => {
    const actor = (await t.as('owner')).actor;
    const a = await t.services.agents.create(actor, { name: 'Gone' });
    expect(await t.store.knowledge.any(a.id)).toBe(false);
    const s = await t.store.knowledge.createSource({ agentId: a.id, type: 'site', title: 'g', url: 'https://g.example/', maxPages: 5, syncEveryHours: 0 });
    expect(await t.store.knowledge.any(a.id)).toBe(true);
    await t.store.knowledge.putDocument({ sourceId: s.id, agentId: a.id, url: 'https://g.example/', title: 'g', contentHash: 'h', chunks: ['north', 'east'].map((text) => ({ title: 'g', heading: '', url: null, page: null, text })) });
    await t.store.knowledge.setVectors('m1', (await t.store.knowledge.chunksToEmbed(s.id, 'm1', 10)).map((c) => ({ id: c.id, vector: dir[c.text.split('\n')[1]!]! })));
    expect((await t.store.knowledge.vectorSearch(a.id, 'm1', [1, 0, 0], 1)).map((h) => h.text)).toEqual(['east']);
    await t.services.agents.remove(actor, a.id); // kept as "deleted", conversations not purged
    expect(await t.store.knowledge.list(a.id)).toEqual([]);
    expect(await t.store.knowledge.any(a.id)).toBe(false);
    expect(await t.store.knowledge.chunkCount(a.id)).toBe(0);
    expect(await t.store.knowledge.vectorSearch(a.id, 'm1', [1, 0, 0], 5)).toEqual([]);
    expect(await t.store.knowledge.search(a.id, 'north east', 5)).toEqual([]);
  });
});
