/**
 * Issue 14.2 and 14.9 over real HTTP.
 * - One person, one label: the conversations list, the transcript, the summaries, the people list
 *   and "Delete data" all name a person by the same `person: {id, label, identities}`, and the
 *   delete action takes that id.
 * - One definition of each figure: N messages through the web chat and M through /v1 are N + M
 *   messages everywhere (Analytics totals and per channel; /v1 as its own channel "openai"), and the
 *   overview's model calls today are Analytics' model calls.
 * Runs on PostgreSQL too (TEST_DATABASE_URL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, readSse, startTestApp, type TestApp } from '../helpers/test-app.js';

describe('one person, one label; one definition of each figure', () => {
  let app: TestApp;
  let owner: string;

  beforeAll(async () => {
    app = await startTestApp({});
    owner = await app.owner();
  }, 60_000);
  afterAll(async () => { await app?.close(); });

  /** A web chat message as one browser (its cookie kept between messages). */
  async function webSay(slug: string, text: string, jar: { cookie?: string }) {
    const res = await fetch(`${app.url}/api/public/agents/${slug}/chat`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(jar.cookie ? { cookie: jar.cookie } : {}) }, body: JSON.stringify({ text }),
    });
    const set = res.headers.get('set-cookie');
    if (set) jar.cookie = set.split(';')[0];
    expect(res.status).toBe(200);
    const frames = await readSse(res);
    expect(frames.at(-1)!.event).toBe('done');
    return frames.find((f) => f.event === 'start')!.data.conversationId as string;
  }

  async function listedAgent(name: string) {
    const a = (await app.api('/api/agents', { token: owner, body: { name } })).body as { id: string; slug: string };
    expect((await app.api(`/api/agents/${a.id}`, { method: 'PATCH', token: owner, body: { listed: true } })).status).toBe(200);
    return a;
  }

  it('shows a visitor by the same id and label on every list and page, and deletes their data by that id', async () => {
    const agent = await listedAgent('People Agent');
    const jar = {};
    const convId = await webSay(agent.slug, 'hello, I am a visitor', jar);
    await webSay(agent.slug, 'and again', jar);
    expect((await app.api(`/api/conversations/${convId}/close`, { method: 'POST', token: owner })).status).toBe(200);

    const list = await app.api(`/api/agents/${agent.id}/conversations`, { token: owner });
    const person = list.body.conversations.find((c: { id: string }) => c.id === convId).person;
    expect(person.label).toMatch(/^Visitor [0-9A-HJKMNP-TV-Z]{4}$/);
    expect(person.identities).toEqual([{ kind: 'web', externalId: expect.any(String) }]);
    expect(person.id).not.toBe(person.identities[0].externalId);

    const view = await app.api(`/api/conversations/${convId}`, { token: owner });
    expect(view.body.person).toEqual(person);
    expect(view.body.personId).toBe(person.id);

    const summaries = await eventually(async () => {
      const r = await app.api(`/api/agents/${agent.id}/summaries`, { token: owner });
      return r.body.items.length ? r.body.items : undefined;
    }, 15_000, 'the summary');
    expect(summaries[0].person).toEqual(person);
    expect((await app.api(`/api/summaries/${summaries[0].id}`, { token: owner })).body.person).toEqual(person);
    expect((await app.api(`/api/conversations/${convId}`, { token: owner })).body.summary.person).toEqual(person);

    const people = await app.api(`/api/agents/${agent.id}/people`, { token: owner });
    expect(people.body.people.map((p: { person: unknown }) => p.person)).toEqual([person]);

    // The same label on every call (derived from the id, not stored or random).
    expect((await app.api(`/api/agents/${agent.id}/conversations`, { token: owner })).body.conversations[0].person.label).toBe(person.label);

    const today = new Date().toISOString().slice(0, 10);
    const figures = async () => (await app.api(`/api/analytics?from=${today}&to=${today}&agentId=${agent.id}`, { token: owner })).body.totals;
    expect(await figures()).toMatchObject({ messages: 2, people: 1 });

    const del = await app.api(`/api/people/${person.id}`, { method: 'DELETE', token: owner });
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.body.deleted).toMatchObject({ conversations: 1, messages: 4, summaries: 1 });
    expect((await app.api(`/api/agents/${agent.id}/conversations`, { token: owner })).body.conversations).toEqual([]);
    expect((await app.api(`/api/conversations/${convId}`, { token: owner })).status).toBe(404);
    // Analytics keep that two messages came in, but no longer who sent them.
    expect(await figures()).toMatchObject({ messages: 2, people: 0 });
  }, 60_000);

  it('counts N web messages and M /v1 messages the same on the overview and Analytics', async () => {
    const agent = await listedAgent('Figures Agent');
    const today = new Date().toISOString().slice(0, 10);
    const a = {};
    const b = {};
    await webSay(agent.slug, 'one', a);
    await webSay(agent.slug, 'two', a);
    await webSay(agent.slug, 'three', b);
    for (const text of ['four', 'five']) {
      const r = await app.api('/v1/chat/completions', { token: owner, body: { model: agent.slug, messages: [{ role: 'user', content: text }] } });
      expect(r.status).toBe(200);
    }
    const report = (await app.api(`/api/analytics?from=${today}&to=${today}&agentId=${agent.id}`, { token: owner })).body;
    expect(report.totals).toMatchObject({ messages: 5, people: 3, replies: 3, requests: 5 });
    const byChannel = Object.fromEntries(report.byChannel.map((c: { channel: string }) => [c.channel, c]));
    expect(byChannel.web).toMatchObject({ messages: 3, people: 2, requests: 3 });
    expect(byChannel.openai).toMatchObject({ messages: 2, people: 1, requests: 2 });
    expect(report.series.at(-1)).toMatchObject({ date: today, messages: 5, people: 3, requests: 5 });
    expect(report.byAgent[0]).toMatchObject({ agentId: agent.id, messages: 5, people: 3, requests: 5 });
    expect(report.definitions.requests).toMatch(/^Model calls:/);
    expect(report.definitions.messages).toMatch(/openai/);

    // The overview: model calls today per agent (GET /api/usage/summary) are Analytics' model calls.
    const summary = (await app.api('/api/usage/summary', { token: owner })).body.agents.find((x: { agentId: string }) => x.agentId === agent.id);
    expect(summary.today.requests).toBe(report.totals.requests);
    expect(summary.today.costUsd).toBeCloseTo(report.totals.costUsd, 8);
  }, 60_000);
});
