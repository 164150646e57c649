/** Repository behaviour on the real database: SQLite by default, PostgreSQL under `npm run test:pg`. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { Store } from '../domain/ports.js';
import { openTestStore } from '../../test/helpers/test-store.js';
import { AppError } from '../domain/errors.js';
import { AGENT_DEFAULTS } from '../domain/schemas.js';

const url = process.env.TEST_DATABASE_URL;
let store: Store;
let tick = Date.parse('2026-03-01T10:00:00Z');
const clock = { now: () => new Date((tick += 1000)) };

let close: () => Promise<void>;
beforeAll(async () => {
  ({ store, close } = await openTestStore(clock, { migrateTwice: true }));
});
afterAll(() => close?.());

async function owner() {
  return store.users.insert({ email: `u${randomBytes(4).toString('hex')}@example.com`, passwordHash: 'x', role: 'customer' });
}
const persona = { soul: '# S', agents: '', tools: '', user: '', instructions: 'i' };

describe(`store on ${url ? 'PostgreSQL' : 'SQLite'}`, () => {
  it('stores agents with persona files and maps a slug collision to slug_taken', async () => {
    const u = await owner();
    const base = { name: 'A', description: '', icon: '🤖', persona, model: null, fallbackModel: null, temperature: 0.5, status: 'active' as const, listed: true, ownerId: u.id, ...AGENT_DEFAULTS };
    const a = await store.agents.insert({ ...base, slug: 'store-a' });
    expect(a).toMatchObject({ slug: 'store-a', persona, version: 1, listed: true, temperature: 0.5 });
    await expect(store.agents.insert({ ...base, slug: 'store-a' })).rejects.toSatisfy((e: unknown) => e instanceof AppError && e.code === 'slug_taken');
    // Nothing half-written: the failed insert left no persona files behind.
    expect((await store.agents.list({ ownerId: u.id })).length).toBe(1);
  });

  it('resolves a channel identity to the person it counts as: created on first sight, renamed, linked while the link lasts', async () => {
    const now = '2026-03-10T12:00:00.000Z';
    const first = await store.people.resolve('telegram', 'resolve-1', 'Ana', now);
    expect(await store.people.byId(first)).toMatchObject({ kind: 'telegram', externalId: 'resolve-1', displayName: 'Ana' });
    expect(await store.people.resolve('telegram', 'resolve-1', 'Ana', now)).toBe(first);
    expect(await store.people.resolve('telegram', 'resolve-1', 'Ana B', now)).toBe(first);
    expect((await store.people.byId(first))?.displayName).toBe('Ana B');
    const phone = (await store.people.upsert('whatsapp', 'resolve-phone')).id;
    await store.people.link(first, phone, '2026-03-10T13:00:00.000Z', now);
    expect(await store.people.resolve('telegram', 'resolve-1', null, now)).toBe(phone);
    expect(await store.people.resolve('telegram', 'resolve-1', null, '2026-03-10T13:00:00.001Z')).toBe(first); // the link ran out
  });

  it('updates with compare-and-set on the version', async () => {
    const u = await owner();
    const a = await store.agents.insert({ name: 'B', slug: 'store-b', description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 1, status: 'active', listed: false, ownerId: u.id, ...AGENT_DEFAULTS });
    const b = await store.agents.update(a.id, { description: 'one', persona: { tools: '# T' } }, 1);
    expect(b).toMatchObject({ version: 2, description: 'one', persona: { ...persona, tools: '# T' } });
    expect(await store.agents.update(a.id, { description: 'stale' }, 1)).toBeUndefined();
    expect((await store.agents.byId(a.id))!.description).toBe('one');
  });

  it('keeps messages in order and counts them per conversation', async () => {
    const u = await owner();
    const a = await store.agents.insert({ name: 'C', slug: 'store-c', description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 1, status: 'active', listed: false, ownerId: u.id, ...AGENT_DEFAULTS });
    const p = await store.people.upsert('web', 'visitor-1');
    expect((await store.people.upsert('web', 'visitor-1')).id).toBe(p.id);
    const c = await store.conversations.create({ agentId: a.id, personId: p.id, channel: 'web' });
    for (let i = 0; i < 5; i++) await store.conversations.addMessage({ conversationId: c.id, role: i % 2 ? 'assistant' : 'user', content: `m${i}`, status: 'complete' });
    expect((await store.conversations.messages(c.id)).map((m) => m.content)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect((await store.conversations.messages(c.id, 2)).map((m) => m.content)).toEqual(['m3', 'm4']);
    expect((await store.conversations.listForAgent(a.id, 10))[0]!.messageCount).toBe(5);
    await store.conversations.close(c.id, clock.now().toISOString(), 'new_conversation');
    expect(await store.conversations.open(a.id, p.id)).toBeUndefined();
  });

  it('sums usage by day, agent and model', async () => {
    const base = { agentId: null, conversationId: null, messageId: null, channel: 'api' as const, purpose: 'chat' as const, provider: 'openai', ttftMs: 10, latencyMs: 20, status: 'ok' as const, error: null };
    await store.usage.insert({ ...base, model: 'openai:gpt-4o', inputTokens: 100, outputTokens: 10, costUsd: 0.001 });
    await store.usage.insert({ ...base, model: 'openai:gpt-4o-mini', inputTokens: 50, outputTokens: 5, costUsd: 0.0001 });
    const f = { from: '2026-01-01', to: '2026-12-31' };
    expect(await store.usage.totals(f)).toEqual({ requests: 2, inputTokens: 150, outputTokens: 15, costUsd: 0.0011 });
    const byModel = await store.usage.groupBy(f, 'model');
    expect(byModel.map((b) => [b.key, b.requests])).toEqual([['openai:gpt-4o', 1], ['openai:gpt-4o-mini', 1]]);
    expect(await store.usage.totals({ ...f, agentIds: [] })).toEqual({ requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });
  });

  it('stores settings as JSON', async () => {
    await store.settings.set('k', { a: [1, 2] });
    await store.settings.set('k', { a: [3] });
    expect(await store.settings.get('k')).toEqual({ a: [3] });
  });
});

describe('single owner', () => {
  it('refuses a second owner at the database level', async () => {
    const a = store.users.insert({ email: 'o1@example.com', passwordHash: 'x', role: 'owner' });
    const b = store.users.insert({ email: 'o2@example.com', passwordHash: 'x', role: 'owner' });
    const results = await Promise.allSettled([a, b]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await store.users.countByRole('owner')).toBe(1);
  });
});
