/**
 * The inbox list (issue 15): GET /api/conversations across agents, newest activity first, with
 * filters, text search and keyset paging, scoped to what the caller may see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeFixture, routeTable, type Fixture } from '../helpers/route-table.js';
import type { Channel, MessageRole } from '../../src/domain/types.js';

describe('the inbox list', () => {
  let f: Fixture;
  const ids: Record<string, string> = {};
  let n = 0;

  /** A conversation with its messages, one second apart; returns its id. */
  async function conversation(agentId: string, channel: Channel, messages: [MessageRole, string][], tick = 1000) {
    const person = await f.store.people.upsert(channel === 'whatsapp' ? 'phone' : channel, `${channel}-person-${++n}`);
    const c = await f.store.conversations.create({ agentId, personId: person.id, channel });
    for (const [role, content] of messages) {
      f.clock.advance(tick);
      await f.store.conversations.addMessage({ conversationId: c.id, role, content, status: 'complete' });
    }
    return c.id;
  }

  beforeAll(async () => {
    f = await routeFixture();
    const alice = await f.as('customer', 'alice');
    const bob = await f.as('customer', 'bob');
    ids.alice1 = f.ids.agent;
    ids.alice2 = (await f.services.agents.create(alice.actor, { name: 'Alice Second', listed: false })).id;
    ids.bob = (await f.services.agents.create(bob.actor, { name: 'Bob Agent', listed: false })).id;
    f.ids.bobAgent = ids.bob;

    ids.answered = await conversation(ids.alice1, 'web', [['user', 'Hello there'], ['assistant', 'Hi! How can I help?']]);
    ids.unanswered = await conversation(ids.alice1, 'telegram', [['user', 'my order is 100% late_please check']]);
    ids.human = await conversation(ids.alice2, 'whatsapp', [['user', 'I want a refund'], ['assistant', 'A colleague will help.']]);
    ids.waiting = await conversation(ids.alice1, 'api', [['user', 'let me talk to a person'], ['assistant', 'I asked a colleague.']]);
    ids.bobs = await conversation(ids.bob, 'web', [['user', 'hello from bob, secret stuff']]);
    await f.db.updateTable('conversations').set({ mode: 'human', taken_over_by: 'someone' }).where('id', '=', ids.human).execute();
    await f.db.updateTable('conversations').set({ needs_human: 1, handoff_reason: 'asked for a person' }).where('id', '=', ids.waiting).execute();
  });
  afterAll(() => f?.close());

  const list = async (who: keyof Fixture['tokens'], query = '') => {
    const r = await f.request(`/api/conversations${query}`, { token: f.tokens[who] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as { items: any[]; nextCursor: string | null };
  };
  const idsOf = (b: { items: { id: string }[] }) => b.items.map((i) => i.id);

  it('lists a customer\'s conversations across their agents and channels, newest activity first, and nothing of another customer', async () => {
    const b = await list('customer');
    expect(idsOf(b)).toEqual([ids.waiting, ids.human, ids.unanswered, ids.answered]);
    expect(b.nextCursor).toBeNull();
    const unanswered = b.items.find((i) => i.id === ids.unanswered);
    expect(unanswered).toMatchObject({
      agentId: ids.alice1, agentName: 'Alice Agent', channel: 'telegram', mode: 'agent', needsHuman: false, handoffReason: null,
      lastMessagePreview: 'my order is 100% late_please check', lastMessageRole: 'user', unanswered: true, status: 'open',
    });
    expect(unanswered.person).toMatchObject({ id: unanswered.personId, identities: [{ kind: 'telegram' }] });
    expect(typeof unanswered.person.label).toBe('string');
    expect(b.items.find((i) => i.id === ids.waiting)).toMatchObject({ needsHuman: true, handoffReason: 'asked for a person', unanswered: false });
    expect(idsOf(await list('other'))).toEqual([ids.bobs]);
  });

  it('shows operators and auditors every agent\'s conversations', async () => {
    expect(idsOf(await list('owner'))).toEqual([ids.bobs, ids.waiting, ids.human, ids.unanswered, ids.answered]);
    expect(idsOf(await list('auditor'))).toEqual([ids.bobs, ids.waiting, ids.human, ids.unanswered, ids.answered]);
  });

  it('filters by agent, channel, mode, needing a person, and unanswered', async () => {
    expect(idsOf(await list('customer', `?agentId=${ids.alice2}`))).toEqual([ids.human]);
    expect(idsOf(await list('customer', '?channel=telegram'))).toEqual([ids.unanswered]);
    expect(idsOf(await list('customer', '?mode=human'))).toEqual([ids.human]);
    expect(idsOf(await list('customer', '?mode=agent'))).toEqual([ids.waiting, ids.unanswered, ids.answered]);
    expect(idsOf(await list('customer', '?needsHuman=true'))).toEqual([ids.waiting]);
    expect(idsOf(await list('customer', '?needsHuman=false&unanswered=true'))).toEqual([ids.unanswered]);
    expect(idsOf(await list('owner', '?unanswered=true'))).toEqual([ids.bobs, ids.unanswered]);
    expect(idsOf(await list('customer', `?agentId=${ids.alice1}&channel=web`))).toEqual([ids.answered]);
  });

  it('searches message text, case-insensitively, wildcards taken literally, only within what the caller may see', async () => {
    expect(idsOf(await list('customer', '?q=HELLO'))).toEqual([ids.answered]);
    expect(idsOf(await list('owner', '?q=hello'))).toEqual([ids.bobs, ids.answered]);
    expect(idsOf(await list('customer', '?q=colleague'))).toEqual([ids.waiting, ids.human]); // the agent's words count too
    expect(idsOf(await list('customer', '?q=100%25'))).toEqual([ids.unanswered]);
    expect(idsOf(await list('customer', '?q=_'))).toEqual([ids.unanswered]);
    expect(idsOf(await list('customer', '?q=%25'))).toEqual([ids.unanswered]);
    expect(idsOf(await list('customer', '?q=secret'))).toEqual([]);
    expect(idsOf(await list('customer', `?q=refund&agentId=${ids.alice2}`))).toEqual([ids.human]);
  });

  it('pages with a cursor: every conversation once, in order, even when many share the same last-message time', async () => {
    // 23 conversations whose last message is at the same instant (the id breaks the tie).
    f.clock.advance(1000);
    for (let i = 0; i < 23; i++) await conversation(ids.alice2, 'web', [['user', `burst ${i}`]], 0);
    const all = idsOf(await list('owner', '?limit=200'));
    expect(all.length).toBe(28);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const b = await list('owner', `?limit=6${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(b.items.length).toBeLessThanOrEqual(6);
      seen.push(...idsOf(b));
      cursor = b.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(28);
    // Filters apply across pages too.
    const first = await list('customer', `?agentId=${ids.alice2}&limit=20`);
    const second = await list('customer', `?agentId=${ids.alice2}&limit=20&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect([...idsOf(first), ...idsOf(second)]).toEqual(idsOf(await list('customer', `?agentId=${ids.alice2}&limit=200`)));
    expect(second.nextCursor).toBeNull();
    expect(idsOf(await list('customer', '?limit=200')).length).toBe(27); // default and explicit limits see the same scope
    expect((await list('customer')).items.length).toBe(27); // the default limit is 50
  });

  it('a customer never reaches another customer\'s conversations through a cursor', async () => {
    // A cursor is only a position: crafted to sit just above Bob's conversation, it still lists Alice's only.
    const bobs = (await list('owner')).items.find((i) => i.id === ids.bobs);
    const crafted = Buffer.from(JSON.stringify(['9999-01-01T00:00:00.000Z', 'zzz'])).toString('base64url');
    expect(idsOf(await list('customer', `?cursor=${crafted}`))).not.toContain(bobs.id);
  });

  routeTable(() => f, [
    { name: 'needs a sign-in', as: 'anonymous', path: '/api/conversations', status: 401 },
    { name: 'another customer\'s agent as a filter is not found', as: 'customer', path: '/api/conversations?agentId=:bobAgent', status: 404, code: 'not_found' },
    { name: 'an unknown agent is not found', as: 'owner', path: '/api/conversations?agentId=nope', status: 404, code: 'not_found' },
    { name: 'a limit of 0 is named', as: 'customer', path: '/api/conversations?limit=0', status: 400, field: 'limit' },
    { name: 'a limit over 200 is named', as: 'customer', path: '/api/conversations?limit=201', status: 400, field: 'limit' },
    { name: 'an unknown mode is named', as: 'customer', path: '/api/conversations?mode=robot', status: 400, field: 'mode' },
    { name: 'an unknown channel is named', as: 'customer', path: '/api/conversations?channel=fax', status: 400, field: 'channel' },
    { name: 'needsHuman must be true or false', as: 'customer', path: '/api/conversations?needsHuman=yes', status: 400, field: 'needsHuman' },
    { name: 'unanswered must be true or false', as: 'customer', path: '/api/conversations?unanswered=1', status: 400, field: 'unanswered' },
    { name: 'a garbage cursor is named', as: 'customer', path: '/api/conversations?cursor=not-a-cursor', status: 400, field: 'cursor' },
    { name: 'a cursor of the wrong shape is named', as: 'customer', path: `/api/conversations?cursor=${Buffer.from('{"at":1}').toString('base64url')}`, status: 400, field: 'cursor' },
    { name: 'a cursor with a bad time is named', as: 'customer', path: `/api/conversations?cursor=${Buffer.from('["yesterday","x"]').toString('base64url')}`, status: 400, field: 'cursor' },
    { name: 'a search longer than 200 characters is named', as: 'customer', path: `/api/conversations?q=${'x'.repeat(201)}`, status: 400, field: 'q' },
  ]);
});
