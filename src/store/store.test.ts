/** Repository behaviour on the real database: SQLite by default, PostgreSQL under `npm run test:pg`. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { Store } from '../domain/ports.js';
import type { Agent } from '../domain/types.js';
import { openTestStore } from '../../test/helpers/test-store.js';
import { AppError } from '../domain/errors.js';
import { AGENT_DEFAULTS } from '../domain/schemas.js';
import { CompiledQuery } from 'kysely';
import type { Db } from './db.js';
import { openConversation } from './repositories/conversations.js';
import { claimableQuery, takeQuery } from './repositories/inbox.js';
import { periodBounds } from './repositories/text-keys.js';

const url = process.env.TEST_DATABASE_URL;
let store: Store;
let tick = Date.parse('2026-03-01T10:00:00Z');
const clock = { now: () => new Date((tick += 1000)) };

let close: () => Promise<void>;
let db: Db;
beforeAll(async () => {
  ({ store, db, close } = await openTestStore(clock, { migrateTwice: true }));
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
    const made = await store.people.resolve('telegram', 'resolve-1', 'Ana', now);
    expect(made.created).toBe(true);
    const first = made.id;
    expect(await store.people.byId(first)).toMatchObject({ kind: 'telegram', externalId: 'resolve-1', displayName: 'Ana' });
    expect(await store.people.resolve('telegram', 'resolve-1', 'Ana', now)).toEqual({ id: first, created: false });
    expect(await store.people.resolve('telegram', 'resolve-1', 'Ana B', now)).toEqual({ id: first, created: false });
    expect((await store.people.byId(first))?.displayName).toBe('Ana B');
    const phone = (await store.people.upsert('whatsapp', 'resolve-phone')).id;
    await store.people.link(first, phone, '2026-03-10T13:00:00.000Z', now);
    expect(await store.people.resolve('telegram', 'resolve-1', null, now)).toEqual({ id: phone, created: false });
    expect(await store.people.resolve('telegram', 'resolve-1', null, '2026-03-10T13:00:00.001Z')).toEqual({ id: first, created: false }); // the link ran out
    // Several first messages at once: one stores the person, the others find them; all get the same id.
    const all = await Promise.all(Array.from({ length: 5 }, () => store.people.resolve('telegram', 'resolve-2', 'Bo', now)));
    expect(new Set(all.map((r) => r.id)).size).toBe(1);
    expect(all.filter((r) => r.created).length).toBe(1);
    expect((await store.people.upsert('telegram', 'resolve-2')).id).toBe(all[0]!.id);
    // upsert stores a new person too, with its name, and finds them afterwards.
    const up = await store.people.upsert('telegram', 'resolve-3', ' Cy ');
    expect(up).toMatchObject({ kind: 'telegram', externalId: 'resolve-3', displayName: 'Cy' });
    expect(await store.people.byId(up.id)).toEqual(up);
  });

  it("reads many agents' channel rows at once, past the parameter cap of one statement", async () => {
    const u = await owner();
    const base = { name: 'C', description: '', icon: '🤖', persona, model: null, fallbackModel: null, temperature: 0.5, status: 'active' as const, listed: true, ownerId: u.id, ...AGENT_DEFAULTS };
    const a = await store.agents.insert({ ...base, slug: `chan-a-${randomBytes(3).toString('hex')}` });
    const b = await store.agents.insert({ ...base, slug: `chan-b-${randomBytes(3).toString('hex')}` });
    for (const agent of [a, b]) await store.channels.upsert({ agentId: agent.id, channel: 'telegram', secretSealed: 'x', info: { username: 'Bot' }, webhookSecret: null, mode: 'polling' });
    const ids = [a.id, ...Array.from({ length: 40_000 }, (_, i) => `missing-${i}`), b.id]; // SQLite takes 32,766 parameters at most
    expect((await store.channels.forAgents(ids)).map((r) => r.agentId).sort()).toEqual([a.id, b.id].sort());
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


  it('stores a message and answers the conversation as that message left it, in the same statement', async () => {
    const u = await owner();
    const a = await store.agents.insert({ name: 'W', slug: 'store-with-conv', description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 1, status: 'active', listed: false, ownerId: u.id, ...AGENT_DEFAULTS });
    const p = await store.people.upsert('web', 'visitor-with-conv');
    const c = await store.conversations.create({ agentId: a.id, personId: p.id, channel: 'web' });
    const asked = await store.conversations.addMessageWithConversation({ conversationId: c.id, role: 'user', content: 'hello', status: 'complete' });
    expect(asked.conversation).toEqual(await store.conversations.byId(c.id));
    expect(asked.conversation).toMatchObject({ id: c.id, agentId: a.id, lastMessageAt: asked.message.createdAt, lastPersonMessageAt: asked.message.createdAt });
    // A reply moves the last message time, not the person's.
    const failed = await store.conversations.addMessageWithConversation({ conversationId: c.id, role: 'assistant', content: '', status: 'error', error: 'boom' });
    expect(failed.conversation).toMatchObject({ lastMessageAt: failed.message.createdAt, lastPersonMessageAt: asked.message.createdAt });
    expect(failed.conversation).toEqual(await store.conversations.byId(c.id));
    expect((await store.conversations.messages(c.id)).map((m) => m.id)).toEqual([asked.message.id, failed.message.id]);
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

  it('reads an agent with its persona files in one read, a workspace write to a persona file included', async () => {
    const u = await owner();
    const a = await store.agents.insert({ name: 'P', slug: 'store-p', description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 1, status: 'active', listed: true, ownerId: u.id, ...AGENT_DEFAULTS });
    await store.workspace.put(a.id, 'AGENTS.md', '# written by the agent');
    await store.workspace.put(a.id, 'notes.md', 'not a persona file');
    const want = { ...persona, agents: '# written by the agent' };
    expect((await store.agents.bySlug('store-p'))!.persona).toEqual(want);
    expect((await store.agents.byId(a.id))!.persona).toEqual(want);
    expect((await store.agents.list({ ownerId: u.id })).map((x) => x.persona)).toEqual([want]);
  });

  it("reads the agent's files and one person's notes at the same paths together, nobody else's", async () => {
    const u = await owner();
    const a = await store.agents.insert({ name: 'N', slug: `store-n-${randomBytes(3).toString('hex')}`, description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 1, status: 'active', listed: true, ownerId: u.id, ...AGENT_DEFAULTS });
    const b = await store.agents.insert({ name: 'N', slug: `store-n-${randomBytes(3).toString('hex')}`, description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 1, status: 'active', listed: true, ownerId: u.id, ...AGENT_DEFAULTS });
    const ana = await store.people.upsert('web', `notes-${randomBytes(3).toString('hex')}`);
    const bo = await store.people.upsert('web', `notes-${randomBytes(3).toString('hex')}`);
    await store.workspace.put(a.id, 'MEMORY.md', 'shared memory');
    await store.workspace.put(a.id, 'memory/2026-03-01.md', 'shared today');
    await store.workspace.put(b.id, 'MEMORY.md', "the other agent's");
    await store.notes.append(a.id, ana.id, 'MEMORY.md', 'ana memory', 1000);
    await store.notes.append(a.id, bo.id, 'MEMORY.md', 'bo memory', 1000);
    await store.notes.append(b.id, ana.id, 'memory/2026-03-01.md', 'ana with the other agent', 1000);
    const paths = ['MEMORY.md', 'memory/2026-03-01.md', 'memory/2026-02-28.md'];
    const sorted = (l: { path: string; content: string }[]) => l.map((f) => [f.path, f.content]).sort();
    const both = await store.notes.withAgentFiles(a.id, ana.id, paths);
    expect(sorted(both.shared)).toEqual([['MEMORY.md', 'shared memory'], ['memory/2026-03-01.md', 'shared today']]);
    expect(sorted(both.own)).toEqual([['MEMORY.md', 'ana memory']]);
    // The same as reading them apart, for any number of paths (more than eight are read apart).
    for (const list of [paths.slice(0, 1), paths, [...paths, ...Array.from({ length: 8 }, (_, i) => `x${i}.md`)]]) {
      const r = await store.notes.withAgentFiles(a.id, bo.id, list);
      expect(sorted(r.shared)).toEqual(sorted(await store.workspace.getMany(a.id, list)));
      expect(sorted(r.own)).toEqual(sorted(await store.notes.getMany(a.id, bo.id, list)));
      expect(sorted(r.own)).toEqual([['MEMORY.md', 'bo memory']]);
    }
    expect(await store.notes.withAgentFiles(a.id, ana.id, [])).toEqual({ shared: [], own: [] });
  });

  it('reads a token together with its user', async () => {
    const u = await owner();
    await store.tokens.insert({ userId: u.id, kind: 'api_key', name: 'k', prefix: 'sbk_x', hash: `h-${u.id}`, expiresAt: null });
    const found = await store.tokens.withUser(`h-${u.id}`);
    expect(found?.token).toMatchObject({ userId: u.id, kind: 'api_key', name: 'k' });
    expect(found?.user).toEqual(await store.users.byId(u.id));
    await store.users.setStatus(u.id, 'suspended');
    expect((await store.tokens.withUser(`h-${u.id}`))?.user.status).toBe('suspended');
    expect(await store.tokens.withUser('no-such-hash')).toBeUndefined();
  });

  it('tells whom a channel identity counts as: created on first sight, its live link honoured', async () => {
    const now = () => clock.now().toISOString();
    const id = (await store.people.resolve('api', 'user:counts', undefined, now())).id;
    expect((await store.people.upsert('api', 'user:counts')).id).toBe(id);
    expect((await store.people.resolve('api', 'user:counts', undefined, now())).id).toBe(id);
    const phone = await store.people.upsert('phone', '+15550001');
    await store.people.link(id, phone.id, new Date(tick + 3_600_000).toISOString(), now());
    expect((await store.people.resolve('api', 'user:counts', undefined, now())).id).toBe(phone.id);
    expect((await store.people.resolve('api', 'user:counts', undefined, new Date(tick + 7_200_000).toISOString())).id).toBe(id); // the link expired
  });

  it('settles many calls at once over shared rows, listed in any order, without a deadlock or a lost cent', async () => {
    const period = '2026-04';
    const customer = { scope: 'customer' as const, scopeId: 'race-customer', period };
    const agents = ['race-a', 'race-b'].map((id) => ({ scope: 'agent' as const, scopeId: id, period }));
    const person = (i: number) => ({ scope: 'person' as const, scopeId: `${agents[i % 2]!.scopeId}:p${i % 3}`, period: '2026-04-02' });
    // Every row there first (each call's own first row of the period is the rare case, tested above).
    for (const [i, k] of [customer, ...agents, person(0), person(1), person(2), person(3), person(4), person(5)].entries()) {
      await store.budget.settle(`warm${i}`, [{ key: k, actualUsd: 0, held: false }]);
    }
    const calls = Array.from({ length: 40 }, (_, i) => {
      const items = [{ key: agents[i % 2]!, actualUsd: 0.01 }, { key: customer, actualUsd: 0.01 }, { key: person(i), actualUsd: 0.01 }];
      return { id: `race${i}`, items: i % 2 ? items : [...items].reverse() };
    });
    for (const c of calls) {
      const r = await store.budget.reserve(c.id, c.items.map((it) => ({ key: it.key, amountUsd: 0.02, limitUsd: 100 })), '2026-04-02T11:00:00Z');
      expect(r.ok).toBe(true);
    }
    await Promise.all(calls.map((c) => store.budget.settle(c.id, c.items)));
    expect(await store.budget.get(customer)).toMatchObject({ reservedUsd: 0 });
    expect((await store.budget.get(customer)).spentUsd).toBeCloseTo(0.4, 10);
    for (const a of agents) expect((await store.budget.get(a)).spentUsd).toBeCloseTo(0.2, 10);
    for (const a of agents) expect((await store.budget.get(a)).reservedUsd).toBeCloseTo(0, 10);
  });

  it("settles a call's scopes together: holds released, the cost added to each, a scope without a row started from usage", async () => {
    const period = '2026-03';
    const agentKey = { scope: 'agent' as const, scopeId: 'settle-agent', period };
    const customerKey = { scope: 'customer' as const, scopeId: 'settle-customer', period };
    const personKey = { scope: 'person' as const, scopeId: 'settle-agent:settle-person', period: '2026-03-01' };
    const r = await store.budget.reserve('h1', [{ key: agentKey, amountUsd: 0.5, limitUsd: 10 }, { key: customerKey, amountUsd: 0.5, limitUsd: null }], '2026-03-01T11:00:00Z');
    expect(r.ok).toBe(true);
    expect(await store.budget.get(agentKey)).toMatchObject({ spentUsd: 0, reservedUsd: 0.5 });
    const totals = await store.budget.settle('h1', [{ key: agentKey, actualUsd: 0.25 }, { key: customerKey, actualUsd: 0.25, held: false }, { key: personKey, actualUsd: 0.25, held: false }]);
    expect(totals.map((t) => [t.key.scope, t.spentUsd])).toEqual([['agent', 0.25], ['customer', 0.25], ['person', 0.25]]);
    expect(await store.budget.get(agentKey)).toMatchObject({ spentUsd: 0.25, reservedUsd: 0 });
    expect(await store.budget.get(customerKey)).toMatchObject({ spentUsd: 0.25, reservedUsd: 0 });
    expect(await store.budget.get(personKey)).toMatchObject({ spentUsd: 0.25, reservedUsd: 0 });
    // Every row there now (the common case: one statement on both databases, in order on PostgreSQL).
    expect((await store.budget.reserve('h1b', [{ key: agentKey, amountUsd: 0.5, limitUsd: 10 }, { key: customerKey, amountUsd: 0.5, limitUsd: 10 }], '2026-03-01T11:00:00Z')).ok).toBe(true);
    const again = await store.budget.settle('h1b', [{ key: personKey, actualUsd: 0.125, held: false }, { key: agentKey, actualUsd: 0.125 }, { key: customerKey, actualUsd: 0.125 }]);
    expect(again.map((t) => [t.key.scope, t.spentUsd])).toEqual([['person', 0.375], ['agent', 0.375], ['customer', 0.375]]);
    expect(await store.budget.get(agentKey)).toMatchObject({ spentUsd: 0.375, reservedUsd: 0 });
    expect(await store.budget.get(customerKey)).toMatchObject({ spentUsd: 0.375, reservedUsd: 0 });
    // A scope's first row of the period starts from what the usage table already holds for it, plus this call.
    const u = await owner();
    const agent = await store.agents.insert({ name: 'S', slug: 'store-settle', description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 1, status: 'active', listed: false, ownerId: u.id, ...AGENT_DEFAULTS });
    await store.usage.insert({ agentId: agent.id, conversationId: null, messageId: null, channel: 'api', purpose: 'chat', provider: 'openai', model: 'm', inputTokens: 1, outputTokens: 1, costUsd: 0.5, ttftMs: null, latencyMs: 1, status: 'ok', error: null });
    const fresh = { scope: 'agent' as const, scopeId: agent.id, period };
    expect(await store.budget.settle('h2', [{ key: fresh, actualUsd: 0.25, held: false }, { key: customerKey, actualUsd: 0.25, held: false }])).toEqual([{ key: fresh, spentUsd: 0.75 }, { key: customerKey, spentUsd: 0.625 }]);
    expect(await store.budget.get(fresh)).toMatchObject({ spentUsd: 0.75, reservedUsd: 0 });
    // A person's first row of the day starts from their day so far (their usage and their messages with
    // this agent, nobody else's), plus this call.
    const usage = (conversationId: string, costUsd: number) => store.usage.insert({ agentId: agent.id, conversationId, messageId: null, channel: 'web', purpose: 'chat', provider: 'openai', model: 'm', inputTokens: 1, outputTokens: 1, costUsd, ttftMs: null, latencyMs: 1, status: 'ok', error: null });
    const visitor = await store.people.upsert('web', `settle-${randomBytes(3).toString('hex')}`);
    const other = await store.people.upsert('web', `settle-${randomBytes(3).toString('hex')}`);
    const vc = await store.conversations.create({ agentId: agent.id, personId: visitor.id, channel: 'web' });
    const oc = await store.conversations.create({ agentId: agent.id, personId: other.id, channel: 'web' });
    for (let i = 0; i < 3; i++) await store.conversations.addMessage({ conversationId: vc.id, role: 'user', content: `q${i}`, status: 'complete' });
    await store.conversations.addMessage({ conversationId: vc.id, role: 'assistant', content: 'a', status: 'complete' });
    await store.conversations.addMessage({ conversationId: oc.id, role: 'user', content: 'q', status: 'complete' });
    await usage(vc.id, 0.125);
    await usage(oc.id, 1);
    const visitorKey = { scope: 'person' as const, scopeId: `${agent.id}:${visitor.id}`, period: clock.now().toISOString().slice(0, 10) };
    expect(await store.budget.settle('h3', [{ key: visitorKey, actualUsd: 0.25, held: false }])).toEqual([{ key: visitorKey, spentUsd: 0.375 }]);
    expect(await store.budget.get(visitorKey)).toMatchObject({ spentUsd: 0.375, reservedUsd: 0, messages: 3 });
    expect(await store.budget.settle('h4', [{ key: visitorKey, actualUsd: 0.125, held: false }])).toEqual([{ key: visitorKey, spentUsd: 0.5 }]);
    // A new person's first row: nothing before this call.
    const newcomerKey = { scope: 'person' as const, scopeId: `${agent.id}:nobody-yet`, period: visitorKey.period };
    expect(await store.budget.settle('h5', [{ key: newcomerKey, actualUsd: 0.0625, held: false }])).toEqual([{ key: newcomerKey, spentUsd: 0.0625 }]);
    expect(await store.budget.get(newcomerKey)).toMatchObject({ spentUsd: 0.0625, reservedUsd: 0, messages: 0 });
    // Settled again (a retried record): nothing is held any more, so nothing goes below zero.
    await store.budget.settle('h1', [{ key: agentKey, actualUsd: 0 }, { key: customerKey, actualUsd: 0, held: false }]);
    expect(await store.budget.get(agentKey)).toMatchObject({ spentUsd: 0.375, reservedUsd: 0 });
  });

  it('accepts a batch of webhooks in arrival order: new ones stored, one seen before (or twice in the batch) keeps its first id', async () => {
    const acct = `batch-${randomBytes(4).toString('hex')}`;
    const msg = (i: number, ext = `ext-${i}`) => ({ channel: 'telegram', account: acct, externalId: ext, threadKey: `telegram:${acct}:${i % 3}`, agentId: null,
      sender: `s${i}`, senderName: i % 2 ? null : `Name ${i}`, text: `hello ${i}`, payload: { i }, orderKey: String(i).padStart(4, '0') });
    const [earlier] = await store.inbox.acceptMany([msg(5)], '2026-03-01T10:00:00.000Z');
    // 37 messages: 32 + 4 + 1 rows; #5 was stored before, #20 is #3 again within the batch.
    const batch = Array.from({ length: 37 }, (_, i) => (i === 20 ? msg(20, 'ext-3') : msg(i)));
    const out = await store.inbox.acceptMany(batch, '2026-03-01T10:00:01.000Z');
    expect(out).toHaveLength(37);
    expect(out[5]).toEqual({ id: earlier!.id, duplicate: true });
    expect(out[20]).toEqual({ id: out[3]!.id, duplicate: true });
    expect(out.filter((r) => !r.duplicate)).toHaveLength(35);
    expect(new Set(out.map((r) => r.id)).size).toBe(36);
    const items = await Promise.all(out.map((r) => store.inbox.byId(r.id)));
    expect(items[7]).toMatchObject({ channel: 'telegram', account: acct, externalId: 'ext-7', sender: 's7', senderName: null, text: 'hello 7', payload: { i: 7 }, status: 'queued', attempts: 0, agentId: null, receivedAt: '2026-03-01T10:00:01.000Z' });
    expect(items[8]).toMatchObject({ senderName: 'Name 8' });
    // Arrival order is kept: each new message's seq is above the one before it, across the chunks.
    const fresh = items.filter((_, i) => !out[i]!.duplicate).map((it) => it!.seq);
    expect(fresh).toEqual([...fresh].sort((a, b) => a - b));
    expect(new Set(fresh).size).toBe(fresh.length);
    expect(fresh[0]!).toBeGreaterThan(items[5]!.seq);
  });

  it('stores a reply with its first part claimed for sending, unless a person holds the conversation', async () => {
    const acct = `claim-${randomBytes(4).toString('hex')}`;
    const u = await owner();
    const agent = await store.agents.insert({ name: 'C', slug: `claim-${acct}`, description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 1, status: 'active', listed: false, ownerId: u.id, ...AGENT_DEFAULTS });
    const accept = async (n: number) => (await store.inbox.acceptMany([{ channel: 'telegram', account: acct, externalId: `e${n}`, threadKey: `telegram:${acct}:${n}`, agentId: agent.id,
      sender: `s${n}`, senderName: null, text: 'hi', payload: null, orderKey: '' }], '2026-03-01T10:00:00.000Z'))[0]!;
    const parts = ['one', 'two'].map((text) => ({ channel: 'telegram', agentId: agent.id, recipient: 's', text }));
    const free = await accept(1);
    const saved = await store.inbox.saveReply(free.id, parts, '2026-03-01T10:00:01.000Z', { claimFirst: true });
    expect(saved?.map((p) => [p.status, p.sentAt])).toEqual([['sending', '2026-03-01T10:00:01.000Z'], ['pending', null]]);
    // Claimed: no other worker's claim takes it while its send is recent.
    expect(await store.inbox.claimPart(saved![0]!.id, '2026-03-01T10:00:02.000Z', '2026-03-01T09:59:00.000Z')).toBe(false);
    // Its message is in a conversation a person has taken over: stored pending, and the claim refuses it.
    const held = await accept(2);
    const person = await store.people.upsert('telegram', `claim-${acct}`);
    const conv = await store.conversations.create({ agentId: agent.id, personId: person.id, channel: 'telegram' });
    await store.conversations.addMessage({ conversationId: conv.id, role: 'user', content: 'hi', status: 'complete', sourceId: held.id });
    expect(await store.conversations.takeOver(conv.id, u.id, '2026-03-01T10:00:00.500Z')).toBeTruthy();
    const kept = await store.inbox.saveReply(held.id, parts, '2026-03-01T10:00:01.000Z', { claimFirst: true });
    expect(kept?.map((p) => [p.status, p.sentAt])).toEqual([['pending', null], ['pending', null]]);
    expect(await store.inbox.claimPart(kept![0]!.id, '2026-03-01T10:00:02.000Z', '2026-03-01T09:59:00.000Z')).toBe(false);
    expect(await store.inbox.heldByHuman(held.id)).toBe(true);
  });

  it('stores a reply of many parts in order, once: a second save (another worker) reads the stored parts instead', async () => {
    const acct = `reply-${randomBytes(4).toString('hex')}`;
    const [m] = await store.inbox.acceptMany([{ channel: 'telegram', account: acct, externalId: 'e1', threadKey: `telegram:${acct}:1`, agentId: null,
      sender: 's1', senderName: null, text: 'hi', payload: null, orderKey: '' }], '2026-03-01T10:00:00.000Z');
    // 13 parts: 8 + 4 + 1 rows.
    const parts = Array.from({ length: 13 }, (_, i) => ({ channel: 'telegram', agentId: null, recipient: 's1', text: `part ${i}` }));
    const saved = await store.inbox.saveReply(m!.id, parts, '2026-03-01T10:00:01.000Z');
    expect(saved?.map((p) => [p.part, p.text, p.status, p.attempts])).toEqual(parts.map((p, i) => [i, p.text, 'pending', 0]));
    expect(new Set(saved!.map((p) => p.id)).size).toBe(13);
    expect((await store.inbox.byId(m!.id))?.replyReady).toBe(true);
    expect(await store.inbox.saveReply(m!.id, parts, '2026-03-01T10:00:02.000Z')).toBeUndefined();
    expect((await store.inbox.pendingParts(m!.id)).map((p) => p.text)).toEqual(parts.map((p) => p.text));
  });

  it.skipIf(!!url)('finds a person\'s open conversation through its own index, not by walking every open conversation (SQLite)', async () => {
    // SQLite preferred conversations_open (closed_at, last_message_at) for its order: a walk over every
    // open conversation of every agent for each message. The plan must search by agent and person.
    const plan = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${openConversation.sql(db)}`, ['a', 'p', 1]));
    expect(plan.rows.map((r) => r.detail).join('; ')).toMatch(/USING INDEX conversations_person_open \(agent_id=\? AND person_id=\?\)/);
    // The index holds no time (every message moves the conversation's time; migration 0036): the person's
    // open conversations, one or two, are sorted.
    expect(plan.rows.map((r) => r.detail).join('; ')).not.toMatch(/conversations_agent_activity|conversations_open|SCAN/);
  });

  it.skipIf(!!url)('claims from the open messages in order, stopping at the limit, and leases them by id (SQLite)', async () => {
    // Sorting every open message before taking the first few (inbox_pending, then a temp b-tree) cost
    // 9 ms a claim with 10,000 waiting; the lease walked them all again through an OR of statuses.
    const explain = async (q: { sql: string; parameters: readonly unknown[] }) =>
      (await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]))).rows.map((r) => r.detail).join('; ');
    for (const settled of [true, false]) {
      const text = claimableQuery(settled).sql(db);
      const plan = await explain({ sql: text, parameters: Array.from(text.matchAll(/\?/g), () => 'n') });
      expect(plan).toMatch(/^SCAN i USING INDEX inbox_open_seq/);
      expect(plan).not.toMatch(/TEMP B-TREE/);
      // "Anything earlier in this conversation still open?" reads only the open messages (migration 0035 dropped the thread index of all).
      expect(plan.match(/SEARCH [jk] USING INDEX inbox_open_thread \(thread_key=\?\)/g)).toHaveLength(2);
    }
    const take = await explain(takeQuery(db, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 'n', 'l').compile());
    expect(take).toMatch(/^SEARCH inbox USING INDEX sqlite_autoindex_inbox_1 \(id=\?\)$/);
  });

  it('counts the inbox and outbox by status as rows change, are deleted, or go with their agent (what /metrics reads)', async () => {
    // SQLite keeps these counts in status_counts through triggers (migration 0033); they must always
    // equal counting the rows, whichever way a row changed. PostgreSQL counts the rows.
    const counted = async (table: 'inbox' | 'outbox') => Object.fromEntries((await db.selectFrom(table).select((eb) => ['status', eb.fn.countAll().as('n')]).groupBy('status').execute())
      .map((r) => [r.status, Number(r.n)]));
    const same = async (step: string) => {
      // Before and after the sweep folds PostgreSQL's pending changes into the totals: the same either way.
      for (const when of ['', ' (folded)']) {
        if (when) await store.inbox.foldCounts();
        expect(await store.inbox.counts(), `inbox after ${step}${when}`).toEqual(await counted('inbox'));
        expect(await store.analytics.outboxCounts(), `outbox after ${step}${when}`).toEqual(await counted('outbox'));
      }
    };
    await same('the other tests');
    const u = await owner();
    const agent = await store.agents.insert({ name: 'Counts', slug: `counts-${randomBytes(3).toString('hex')}`, description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 0.5, status: 'active', listed: false, ownerId: u.id, ...AGENT_DEFAULTS });
    const acct = `counts-${randomBytes(4).toString('hex')}`;
    const msg = (i: number) => ({ channel: 'telegram', account: acct, externalId: `c${i}`, threadKey: `telegram:${acct}:${i}`, agentId: agent.id,
      sender: `s${i}`, senderName: null, text: `hi ${i}`, payload: null, orderKey: '' });
    const before = await store.inbox.counts();
    const accepted = await store.inbox.acceptMany([0, 1, 2, 3, 4].map(msg), '2026-03-01T10:00:00.000Z');
    await store.inbox.acceptMany([msg(0)], '2026-03-01T10:00:00.500Z'); // seen before: not stored, not counted
    expect((await store.inbox.counts()).queued).toBe((before.queued ?? 0) + 5);
    await same('a batch and a duplicate');
    const inline = await store.inbox.accept(msg(9), '2026-03-01T10:00:01.000Z', '2026-03-01T10:01:00.000Z'); // the web chat's, leased at once
    expect(await store.inbox.byId(inline.id)).toMatchObject({ status: 'processing', attempts: 1 });
    expect(await store.inbox.accept(msg(9), '2026-03-01T10:00:01.500Z')).toEqual({ id: inline.id, duplicate: true });
    expect(await store.inbox.accept(msg(0), '2026-03-01T10:00:01.500Z')).toEqual({ id: accepted[0]!.id, duplicate: true });
    const claimed = await store.inbox.claimMany('2026-03-01T10:00:02.000Z', '2026-03-01T10:01:00.000Z', undefined, 50);
    expect(claimed.length).toBeGreaterThan(0);
    await same('claims');
    const [a, b, c] = accepted.map((r) => r.id);
    await store.inbox.finish(a!, 'done', '2026-03-01T10:00:03.000Z');
    await store.inbox.finish(b!, 'failed', '2026-03-01T10:00:03.000Z', 'it broke');
    await store.inbox.retryLater(c!, '2026-03-01T10:00:09.000Z', 'later');
    await store.inbox.retryLater(c!, '2026-03-01T10:00:10.000Z', 'later again'); // queued → queued: no change
    await store.inbox.finish(inline.id, 'done', '2026-03-01T10:00:03.000Z');
    await same('finishes and retries');
    const parts = await store.inbox.saveReply(a!, ['one', 'two', 'three', 'four'].map((text) => ({ channel: 'telegram', agentId: agent.id, recipient: 's0', text })), '2026-03-01T10:00:04.000Z');
    await store.inbox.claimPart(parts![0]!.id, '2026-03-01T10:00:05.000Z', '2026-03-01T09:59:00.000Z');
    await same('a reply stored and a part claimed');
    await store.inbox.markPart(parts![0]!.id, { status: 'sent', providerMessageId: `pm-${acct}`, sentAt: '2026-03-01T10:00:05.000Z' });
    await store.inbox.markPart(parts![1]!.id, { status: 'failed', attempts: 5, lastError: 'no' });
    await store.inbox.receipt('telegram', `pm-${acct}`, { failed: { status: 'undelivered', error: 'blocked' } }, '2026-03-01T10:00:06.000Z');
    expect(await store.inbox.dropPending({ inboxId: a! }, 'taken over')).toBe(2);
    await same('sends, a receipt and dropped parts');
    await store.agents.delete(agent.id); // its inbox rows go with it, and their parts with them
    await same('the agent deleted');
    if (url) expect(await store.inbox.foldCounts()).toBe(0); // nothing left to fold
    expect(await store.inbox.byId(a!)).toBeUndefined();
  });

  it('pages an inbox newest first by each scope and filter, every conversation once, ties broken by id', async () => {
    // SQLite reads a customer's page agent by agent (a page's worth each, conversations_agent_activity) and
    // the waiting ones by their partial index; the pages must be exactly what sorting everything would give.
    const [u, other] = [await owner(), await owner()];
    const base = { description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 0.5, status: 'active' as const, listed: false, ...AGENT_DEFAULTS };
    const tag = randomBytes(3).toString('hex');
    const agents: Awaited<ReturnType<Store['agents']['insert']>>[] = [];
    for (let i = 0; i < 4; i++) agents.push(await store.agents.insert({ ...base, name: `Inbox ${i}`, slug: `inbox-${tag}-${i}`, ownerId: i < 3 ? u.id : other.id }));
    type Row = { id: string; agentId: string; at: string; needs: boolean; channel: string; role: string };
    const all: Row[] = [];
    for (let i = 0; i < 70; i++) {
      const agent = agents[(i * 7) % 4]!;
      const channel = i % 3 ? 'web' : 'telegram';
      const p = await store.people.upsert(channel === 'web' ? 'web' : 'telegram', `inbox-${tag}-${i}`);
      const c = await store.conversations.create({ agentId: agent.id, personId: p.id, channel: channel as 'web' });
      // Some share a time (the id breaks the tie), none in creation order.
      const at = `2026-05-${String(1 + ((i * 13) % 9)).padStart(2, '0')}T10:00:00.000Z`;
      const role = i % 4 ? 'assistant' : 'user';
      await db.updateTable('conversations').set({ last_message_at: at, last_message_role: role, needs_human: i % 5 === 0 ? 1 : 0, needs_human_at: i % 5 === 0 ? at : null }).where('id', '=', c.id).execute();
      all.push({ id: c.id, agentId: agent.id, at, needs: i % 5 === 0, channel, role });
    }
    const mine = new Set(agents.slice(0, 3).map((a) => a.id));
    const cases: [string, Parameters<Store['conversations']['inboxPage']>[0], (r: Row) => boolean][] = [
      ['a customer', { ownerId: u.id, limit: 6 }, (r) => mine.has(r.agentId)],
      ['a customer, waiting for a person', { ownerId: u.id, needsHuman: true, limit: 4 }, (r) => mine.has(r.agentId) && r.needs],
      ['a customer, not waiting', { ownerId: u.id, needsHuman: false, limit: 6 }, (r) => mine.has(r.agentId) && !r.needs],
      ['a customer, unanswered on Telegram', { ownerId: u.id, unanswered: true, channel: 'telegram', limit: 2 }, (r) => mine.has(r.agentId) && r.role === 'user' && r.channel === 'telegram'],
      ['one agent', { ownerId: u.id, agentId: agents[1]!.id, limit: 5 }, (r) => r.agentId === agents[1]!.id],
      ['another customer\'s agent, asked for by this one', { ownerId: u.id, agentId: agents[3]!.id, limit: 5 }, () => false],
      ['every agent, waiting', { needsHuman: true, limit: 5 }, (r) => r.needs],
    ];
    for (const [name, f, keep] of cases) {
      const expected = all.filter(keep).sort((a, b) => b.at.localeCompare(a.at) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).map((r) => r.id);
      const got: string[] = [];
      let after: { lastMessageAt: string; id: string } | undefined;
      for (let page = 0; page < 40; page++) {
        const rows = await store.conversations.inboxPage({ ...f, after });
        expect(rows.length, name).toBeLessThanOrEqual(f.limit);
        got.push(...rows.filter((r) => all.some((x) => x.id === r.id)).map((r) => r.id));
        if (rows.length < f.limit) break;
        after = { lastMessageAt: rows.at(-1)!.lastMessageAt, id: rows.at(-1)!.id };
      }
      expect(got, name).toEqual(expected);
    }
  });

  it('searches and lists summaries of exactly the people asked for: one, two (a linked person), or many', async () => {
    const u = await owner();
    const base = { description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 0.5, status: 'active' as const, listed: false, ...AGENT_DEFAULTS };
    const tag = randomBytes(3).toString('hex');
    const [agent, other] = [await store.agents.insert({ ...base, name: 'Recall', slug: `recall-${tag}`, ownerId: u.id }), await store.agents.insert({ ...base, name: 'Other', slug: `recall-o-${tag}`, ownerId: u.id })];
    const people = [];
    for (let i = 0; i < 7; i++) people.push(await store.people.upsert('web', `recall-${tag}-${i}`));
    for (const [i, p] of people.entries()) {
      for (const a of [agent, other]) {
        const c = await store.conversations.create({ agentId: a.id, personId: p.id, channel: 'web' });
        await store.summaries.insert({ conversationId: c.id, agentId: a.id, personId: p.id, channel: 'web', summary: `Person ${i} asked about a parcel to Lisbon`,
          startedAt: c.createdAt, endedAt: c.createdAt, messageCount: 2, model: 'm', inputTokens: 0, outputTokens: 0, costUsd: 0 });
      }
    }
    const found = async (ids: string[]) => (await store.summaries.search({ agentId: agent.id, personIds: ids, q: 'parcels Lisbon', limit: 50 }))
      .map((s) => { expect(s.agentId).toBe(agent.id); return s.personId; }).sort();
    const listed = async (ids: string[]) => (await store.summaries.list({ agentId: agent.id, personIds: ids, limit: 50 }))
      .map((s) => { expect(s.agentId).toBe(agent.id); return s.personId; }).sort();
    for (const n of [1, 2, 4, 6]) {
      const ids = people.slice(0, n).map((p) => p.id);
      expect(await found(ids), `${n} people, searched`).toEqual([...ids].sort());
      expect(await listed(ids), `${n} people, listed`).toEqual([...ids].sort());
    }
    expect(await found([])).toEqual([]);
    expect(await listed([])).toEqual([]);
  });

  it('finds the media of exactly the messages asked for, however many (padded statements up to 64, built beyond)', async () => {
    const u = await owner();
    const base = { description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 0.5, status: 'active' as const, listed: false, ...AGENT_DEFAULTS };
    const tag = randomBytes(3).toString('hex');
    const agent = await store.agents.insert({ ...base, name: 'Media', slug: `media-${tag}`, ownerId: u.id });
    const p = await store.people.upsert('web', `media-${tag}`);
    const c = await store.conversations.create({ agentId: agent.id, personId: p.id, channel: 'web' });
    const messages: string[] = [];
    const mediaOf = new Map<string, string[]>();
    for (let i = 0; i < 80; i++) {
      const m = await store.conversations.addMessage({ conversationId: c.id, role: 'user', content: `photo ${i}`, status: 'complete', channel: 'web' });
      messages.push(m.id);
      const ids: string[] = [];
      for (let k = 0; k < i % 3; k++) { // none, one or two files a message
        const id = `md-${tag}-${i}-${k}`;
        await store.media.insert({ id, agentId: agent.id, personId: p.id, conversationId: c.id, messageId: m.id, kind: 'image', mimeType: 'image/png', bytes: 1,
          storageKey: id, sha256: 'x', durationSeconds: null, width: 1, height: 1, transcript: null, expiresAt: '2099-01-01T00:00:00.000Z' });
        ids.push(id);
      }
      mediaOf.set(m.id, ids);
    }
    for (const n of [1, 3, 5, 64, 70]) {
      const asked = messages.slice(0, n).reverse();
      const got = await store.media.forMessages(asked);
      expect(got.map((m) => m.id).sort(), `${n} messages`).toEqual(asked.flatMap((id) => mediaOf.get(id)!).sort());
      expect(got.every((m) => asked.includes(m.messageId!))).toBe(true);
    }
    expect(await store.media.forMessages([])).toEqual([]);
  });

  it('reads the channel rows of exactly the agents asked for, and lists agents by each set of filters', async () => {
    const [u, other] = [await owner(), await owner()];
    const base = { description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 0.5, ...AGENT_DEFAULTS };
    const tag = randomBytes(3).toString('hex');
    const agents: Agent[] = [];
    for (let i = 0; i < 12; i++) {
      agents.push(await store.agents.insert({ ...base, name: `Ch ${i}`, slug: `ch-${tag}-${i}`, ownerId: i % 2 ? u.id : other.id, status: i % 3 ? 'active' : 'paused', listed: i % 4 === 0 }));
    }
    for (const a of agents) await store.channels.upsert({ agentId: a.id, channel: 'telegram', secretSealed: 'sealed', info: { username: a.slug }, webhookSecret: null, mode: 'webhook' });
    for (const n of [1, 3, 8, 9]) {
      const ids = agents.slice(0, n).map((a) => a.id);
      expect((await store.channels.forAgents(ids)).map((r) => r.agentId).sort(), `${n} agents`).toEqual([...ids].sort());
    }
    const mine = (list: { id: string }[]) => list.map((a) => a.id).filter((id) => agents.some((a) => a.id === id)).sort();
    const expected = (keep: (a: Agent) => boolean) => agents.filter(keep).map((a) => a.id).sort();
    expect(mine(await store.agents.list({ ownerId: u.id }))).toEqual(expected((a) => a.ownerId === u.id));
    expect(mine(await store.agents.list({ listed: true, status: 'active' }))).toEqual(expected((a) => a.listed && a.status === 'active'));
    expect(mine(await store.agents.list({ ownerId: u.id, listed: false, status: 'paused' }))).toEqual(expected((a) => a.ownerId === u.id && !a.listed && a.status === 'paused'));
    expect(mine(await store.agents.list({}))).toEqual(expected(() => true));
  });

  it('pages a customer\'s inbox exactly when one of many agents has all the newest conversations', async () => {
    // SQLite first reads each agent's share of a page; an agent with its whole share on the page may have
    // more that belong there, and the page is read again (without that, this page would be wrong).
    const u = await owner();
    const base = { description: '', icon: '', persona, model: null, fallbackModel: null, temperature: 0.5, status: 'active' as const, listed: false, ...AGENT_DEFAULTS };
    const tag = randomBytes(3).toString('hex');
    const agents: Agent[] = [];
    for (let i = 0; i < 5; i++) agents.push(await store.agents.insert({ ...base, name: `Busy ${i}`, slug: `busy-${tag}-${i}`, ownerId: u.id }));
    const all: { id: string; at: string }[] = [];
    for (let i = 0; i < 38; i++) {
      const agent = agents[i < 30 ? 0 : 1 + (i % 4)]!; // agent 0: the 30 newest; the others: 2 older each
      const p = await store.people.upsert('web', `busy-${tag}-${i}`);
      const c = await store.conversations.create({ agentId: agent.id, personId: p.id, channel: 'web' });
      const at = new Date(Date.UTC(2026, 5, 1) + (i < 30 ? 100 + i : i - 30) * 60_000).toISOString();
      await db.updateTable('conversations').set({ last_message_at: at }).where('id', '=', c.id).execute();
      all.push({ id: c.id, at });
    }
    const expected = all.sort((a, b) => b.at.localeCompare(a.at)).map((r) => r.id);
    const got: string[] = [];
    let after: { lastMessageAt: string; id: string } | undefined;
    for (let page = 0; page < 10; page++) {
      const rows = await store.conversations.inboxPage({ ownerId: u.id, limit: 10, after });
      got.push(...rows.map((r) => r.id));
      if (rows.length < 10) break;
      after = { lastMessageAt: rows.at(-1)!.lastMessageAt, id: rows.at(-1)!.id };
    }
    expect(got).toEqual(expected);
  });

  it('starts an agent\'s and a customer\'s month from that month\'s usage only, by range (December into January too)', async () => {
    const u = await owner();
    const a = await store.agents.insert({ ownerId: u.id, name: 'P', slug: `p-${randomBytes(4).toString('hex')}`, description: '', icon: '', model: null, fallbackModel: null, temperature: 1, status: 'active', listed: false, persona, ...AGENT_DEFAULTS });
    const row = (day: string, cost: number) => ({ id: randomBytes(8).toString('hex'), agent_id: a.id, conversation_id: null, message_id: null, channel: 'api', purpose: 'chat',
      provider: 'openai', model: 'm', input_tokens: 0, output_tokens: 0, cost_usd: cost, ttft_ms: null, latency_ms: 1, status: 'ok', error: null, day, created_at: `${day}T12:00:00.000Z` });
    await db.insertInto('usage').values([row('2026-11-30', 1), row('2026-12-01', 2), row('2026-12-31', 4), row('2027-01-01', 8)]).execute();
    expect((await store.budget.get({ scope: 'agent', scopeId: a.id, period: '2026-12' })).spentUsd).toBeCloseTo(6, 9);
    expect((await store.budget.get({ scope: 'customer', scopeId: u.id, period: '2027-01' })).spentUsd).toBeCloseTo(8, 9);
    expect((await store.budget.dailySpend(a.id, '2026-11')).map((d) => [d.day, d.costUsd])).toEqual([['2026-11-30', 1]]);
    expect(periodBounds('2026-12')).toEqual(['2026-12', '2027-01']);
    expect(periodBounds('2026-02-28')).toEqual(['2026-02-28', '2026-03-01']);
    expect(() => periodBounds('2026')).toThrow(/not a spend period/);
  });

  it.skipIf(!!url)('reads an agent\'s month of usage through usage_agent_day, not the whole table (SQLite)', async () => {
    const q = db.selectFrom('usage').select((eb) => eb.fn.sum<number>('cost_usd').as('s')).where('agent_id', '=', 'a').where('day', '>=', '2026-03').where('day', '<', '2026-04').compile();
    const plan = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]));
    expect(plan.rows.map((r) => r.detail).join('; ')).toMatch(/USING (COVERING )?INDEX usage_agent_day \(agent_id=\? AND day>\? AND day<\?\)/);
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
