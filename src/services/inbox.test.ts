/**
 * The inbox's group commit, on the real store (SQLite in memory; a fresh PostgreSQL schema under
 * TEST_DATABASE_URL): webhooks that arrive together are stored in one transaction, and each is
 * answered only once the transaction holding its row has committed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { InboundMessage, Store } from '../domain/ports.js';
import { openTestStore } from '../../test/helpers/test-store.js';
import { manualClock, silentLog } from '../../test/helpers/fakes.js';
import type { ChatService } from './chat.js';
import { inboxService } from './inbox.js';
import { AGENT_DEFAULTS } from '../domain/schemas.js';

const message = (externalId: string, o: Partial<InboundMessage> = {}): InboundMessage => ({
  channel: 'telegram', account: 'bot-1', externalId, threadKey: `telegram:bot-1:${externalId}`, agentId: null,
  sender: '42', senderName: null, text: `hello ${externalId}`, payload: null, ...o,
});

describe(`inbox group commit on ${process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite'}`, () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => { for (const c of closers.splice(0)) await c(); });

  async function setup() {
    const clock = manualClock();
    const t = await openTestStore(clock);
    closers.push(t.close);
    // Every batch the service hands to the store, and a gate that holds its commit until the test opens it.
    const batches: string[][] = [];
    let open: () => void = () => {};
    let gate: Promise<void> | undefined;
    const real = t.store.inbox.acceptMany.bind(t.store.inbox);
    const inbox = {
      ...t.store.inbox,
      accept: t.store.inbox.accept.bind(t.store.inbox),
      async acceptMany(ms: InboundMessage[], at: string) {
        batches.push(ms.map((m) => m.externalId));
        if (gate) await gate;
        return real(ms, at);
      },
    } as Store['inbox'];
    const service = inboxService({
      store: { agents: t.store.agents, channels: t.store.channels, conversations: t.store.conversations, people: t.store.people, inbox }, chat: {} as ChatService, clock, log: silentLog, senders: new Map(),
    });
    return {
      ...t, service, batches,
      hold() { gate = new Promise<void>((r) => { open = r; }); },
      release() { open(); gate = undefined; },
    };
  }

  it('stores webhooks that arrive in the same turn in one transaction, and answers none before that commit', async () => {
    const t = await setup();
    t.hold();
    const settled: string[] = [];
    const pending = ['a', 'b', 'c', 'd'].map((id) => t.service.accept(message(id)).then((r) => { settled.push(id); return r; }));
    // Let the batch start and reach the (held) commit: nobody is answered, nothing is stored.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(t.batches).toEqual([['a', 'b', 'c', 'd']]);
    expect(settled).toEqual([]);
    expect(await t.store.inbox.counts()).toEqual({});
    t.release();
    const results = await Promise.all(pending);
    expect(results.every((r) => !r.duplicate)).toBe(true);
    // Answered, and by then every row is there, queued.
    for (const r of results) expect((await t.store.inbox.byId(r.id))?.status).toBe('queued');
    expect(await t.store.inbox.counts()).toEqual({ queued: 4 });
  });

  it('queues what arrives during a commit into the next batch', async () => {
    const t = await setup();
    t.hold();
    const first = t.service.accept(message('1'));
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    const later = [t.service.accept(message('2')), t.service.accept(message('3'))];
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    expect(t.batches).toEqual([['1']]);
    t.release();
    await Promise.all([first, ...later]);
    expect(t.batches).toEqual([['1'], ['2', '3']]);
    expect(await t.store.inbox.counts()).toEqual({ queued: 3 });
  });

  it('keeps one row per external id, within a batch and across batches, and gives the duplicate the first id', async () => {
    const t = await setup();
    const [a, again] = await Promise.all([t.service.accept(message('x')), t.service.accept(message('x'))]);
    expect(a).toMatchObject({ duplicate: false });
    expect(again).toEqual({ id: a!.id, duplicate: true });
    expect(await t.service.accept(message('x'))).toEqual({ id: a!.id, duplicate: true });
    expect(await t.store.inbox.counts()).toEqual({ queued: 1 });
  });

  it('fails only the message that cannot be stored, not the others of its batch', async () => {
    const t = await setup();
    const results = await Promise.allSettled([
      t.service.accept(message('ok-1')),
      t.service.accept(message('bad', { agentId: 'no-such-agent' })), // the agent's foreign key refuses it
      t.service.accept(message('ok-2')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await t.store.inbox.counts()).toEqual({ queued: 2 });
  });

  it('tells chat.send a message is on its first claim (nothing to look up under its id), and not when it is claimed again', async () => {
    const clock = manualClock();
    const t = await openTestStore(clock);
    closers.push(t.close);
    const u = await t.store.users.insert({ email: 'first-claim@example.com', passwordHash: 'x', role: 'customer' });
    const agent = await t.store.agents.insert({ name: 'A', slug: 'first-claim', description: '', icon: '', persona: { soul: '', agents: '', tools: '', user: '', instructions: '' }, model: null, fallbackModel: null, temperature: 1, status: 'active', listed: false, ownerId: u.id, ...AGENT_DEFAULTS });
    const calls: (boolean | undefined)[] = [];
    const chat = {
      async *send(a: { firstAttempt?: boolean }) {
        calls.push(a.firstAttempt);
        if (calls.length === 1) throw new Error('the database went away'); // the message goes back to the queue
        yield { type: 'done' as const, messageId: 'm1', reply: '', model: '', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } };
      },
    } as unknown as ChatService;
    const service = inboxService({ store: t.store, chat, clock, log: silentLog, senders: new Map(), options: { baseBackoffMs: 1000 } });
    await service.accept(message('f1', { account: agent.id, agentId: agent.id }));
    clock.advance(1000);
    await service.drain();
    clock.advance(5000);
    await service.drain();
    expect(calls).toEqual([true, false]);
    expect(await t.store.inbox.counts()).toEqual({ done: 1 });
  });

  it('stops even when stop() comes while its loops are claiming (none waits for a wake-up that was already sent)', async () => {
    const clock = manualClock();
    const t = await openTestStore(clock);
    closers.push(t.close);
    // The claim is held open until the test lets it answer (nothing to claim).
    let answer!: () => void;
    const held = new Promise<void>((r) => { answer = r; });
    let claims = 0;
    const inbox = { ...t.store.inbox, async claimMany() { claims++; await held; return []; } } as unknown as Store['inbox'];
    const service = inboxService({ store: { ...t.store, inbox }, chat: {} as ChatService, clock, log: silentLog, senders: new Map(),
      options: { concurrency: 3, pollMs: 3_600_000 } });
    service.start();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(claims).toBe(1); // one claim for the pool; the other loops wait on it
    let stopped = false;
    const stopping = service.stop().then(() => { stopped = true; });
    answer(); // the loops learn there is nothing to do only now, after stop() woke every waiting loop
    for (let i = 0; i < 10 && !stopped; i++) await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(true);
    await stopping;
  });
});
