/**
 * GET /api/analytics: conversation activity, usage and cost per day and by agent, model and channel,
 * latency percentiles and delivery outcomes — scoped like usage, downloadable as CSV.
 *
 * The clock is moved by hand so the traffic falls on known days: 2026-03-10 and 2026-03-12 see chats,
 * 2026-03-13 usage rows with known latencies, and the days around them nothing at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, readSse, startTestApp, type TestApp } from '../helpers/test-app.js';

const RANGE = 'from=2026-03-09&to=2026-03-14';
const DAYS = ['2026-03-09', '2026-03-10', '2026-03-11', '2026-03-12', '2026-03-13', '2026-03-14'];
const sum = (rows: Record<string, number>[], k: string) => rows.reduce((n, r) => n + r[k]!, 0);

describe('analytics', () => {
  let app: TestApp;
  let token: string;
  let customer: string;
  const clock = manualClock(Date.parse('2026-03-10T12:00:00Z'));
  const agents = {} as Record<'recipes' | 'maths' | 'mine', { id: string; slug: string; name: string }>;

  const say = async (agentId: string, userId: string, text: string, as = token) => {
    const r = await app.api(`/api/agents/${agentId}/message`, { token: as, body: { text, userId } });
    return r;
  };
  const analytics = async (query: string, as = token) => app.api(`/api/analytics?${query}`, { token: as });

  beforeAll(async () => {
    app = await startTestApp({
      clock,
      // Nothing runs behind the test's back: no summaries (model calls), no inbox worker sending the outbox rows below.
      env: { SWITCHBOARD_JOB_CONCURRENCY: '0', SWITCHBOARD_WORKER_CONCURRENCY: '0', SWITCHBOARD_SESSION_SWEEP_SECONDS: '3600' },
    });
    token = await app.owner();
    agents.recipes = (await app.api('/api/agents', { token, body: { name: 'Recipe Helper', template: 'recipe-helper' } })).body;
    agents.maths = (await app.api('/api/agents', { token, body: { name: 'Maths Tutor', template: 'maths-tutor' } })).body;
    expect((await app.api('/api/users', { token, body: { email: 'cust@example.com', password: 'correct horse battery', role: 'customer' } })).status).toBe(201);
    customer = (await app.api('/api/auth/login', { body: { email: 'cust@example.com', password: 'correct horse battery' } })).body.token;
    // A name a spreadsheet would run as a formula, with a quote in it.
    agents.mine = (await app.api('/api/agents', { token: customer, body: { name: '=Customer "Bot"' } })).body;
    expect(agents.mine.id).toBeTruthy();

    // 2026-03-10: two people over the API, one visitor in the web chat.
    expect((await say(agents.recipes.id, 'alice', 'hello')).status).toBe(200);
    expect((await say(agents.recipes.id, 'bob', 'hi')).status).toBe(200);
    const web = await fetch(`${app.url}/api/public/agents/${agents.maths.slug}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'What is 2+2?' }) });
    expect((await readSse(web)).at(-1)!.event).toBe('done');

    // 2026-03-12: alice again; dave's message fails on both models (no reply); the customer's own agent; the OpenAI endpoint.
    clock.set(Date.parse('2026-03-12T09:00:00Z'));
    expect((await say(agents.recipes.id, 'alice', 'again')).status).toBe(200);
    app.fake.enqueue({ kind: 'error', status: 500 }, { kind: 'error', status: 500 });
    expect((await say(agents.recipes.id, 'dave', 'will fail')).status).toBe(502);
    expect((await say(agents.mine.id, 'carol', 'mine', customer)).status).toBe(200);
    const v1 = await app.api('/v1/chat/completions', { token, body: { model: agents.recipes.slug, messages: [{ role: 'user', content: 'via openai' }] } });
    expect(v1.status).toBe(200);

    // Outbound parts with every outcome (written straight to the store: no Telegram or WhatsApp needed).
    const s = app.server.services.store;
    const outbox = async (channel: string, agentId: string, at: string, outcomes: (string | null)[]) => {
      const { id } = await s.inbox.accept({ channel, account: 'acct', externalId: `${channel}-${at}`, threadKey: `${channel}:1`, agentId, sender: '1', senderName: null, text: 'hi', payload: null }, at);
      await s.inbox.saveReply(id, outcomes.map((_, i) => ({ channel, agentId, recipient: '1', text: `part ${i}` })), at);
      const parts = await s.inbox.pendingParts(id);
      for (const [i, o] of outcomes.entries()) {
        const part = parts[i]!;
        if (o === 'pending') continue;
        if (o === 'sending') { await s.inbox.claimPart(part.id, at, at); continue; }
        if (o === 'failed' || o === 'undelivered') { await s.inbox.markPart(part.id, { status: o, lastError: 'nope' }); continue; }
        await s.inbox.markPart(part.id, { status: 'sent', providerMessageId: `${id}-${i}`, sentAt: at });
        if (o) expect(await s.inbox.receipt(channel, `${id}-${i}`, { delivery: o as 'sent' | 'delivered' | 'read' }, at)).toBe(true);
      }
    };
    await outbox('telegram', agents.recipes.id, '2026-03-12T10:00:00.000Z', [null, 'sent', 'delivered', 'read', 'failed', 'undelivered', 'pending', 'sending']);
    await outbox('whatsapp', agents.mine.id, '2026-03-12T11:00:00.000Z', ['read']);
    await outbox('telegram', agents.recipes.id, '2026-03-20T10:00:00.000Z', [null, null]); // outside the range

    // 2026-03-13: twenty successful chat calls with known timings, plus a summary and a failed call that latency must ignore.
    clock.set(Date.parse('2026-03-13T08:00:00Z'));
    const row = { agentId: agents.recipes.id, conversationId: null, messageId: null, channel: 'api' as const, provider: 'openai', model: 'openai:gpt-4o-mini', inputTokens: 10, outputTokens: 5, costUsd: 0.001, error: null };
    for (let i = 1; i <= 20; i++) await s.usage.insert({ ...row, purpose: 'chat', ttftMs: i * 100, latencyMs: i * 100 + 500, status: 'ok' });
    await s.usage.insert({ ...row, purpose: 'summary', ttftMs: 99_999, latencyMs: 99_999, status: 'ok' });
    await s.usage.insert({ ...row, purpose: 'chat', ttftMs: null, latencyMs: 99_999, status: 'error', error: 'boom' });
  });
  afterAll(async () => { await app?.close(); });

  it('counts messages, replies and people per day, with the days without traffic as zeros', async () => {
    const r = await analytics(RANGE);
    expect(r.status).toBe(200);
    expect(r.body.range).toEqual({ from: '2026-03-09', to: '2026-03-14' });
    expect(r.body.series.map((d: { date: string }) => d.date)).toEqual(DAYS);
    const activity = r.body.series.map((d: any) => [d.date, d.messages, d.replies, d.people]);
    expect(activity).toEqual([
      ['2026-03-09', 0, 0, 0],
      ['2026-03-10', 3, 3, 3], // alice, bob, the web visitor
      ['2026-03-11', 0, 0, 0],
      ['2026-03-12', 4, 2, 4], // alice, dave (failed: no reply), carol, the owner on /v1 (a message without a stored reply)
      ['2026-03-13', 0, 0, 0],
      ['2026-03-14', 0, 0, 0],
    ]);
    expect(r.body.series.map((d: any) => d.requests)).toEqual([0, 3, 0, 5, 22, 0]);
    for (const d of [r.body.series[0], r.body.series[2], r.body.series[5]]) expect(d).toMatchObject({ inputTokens: 0, outputTokens: 0, costUsd: 0 });
    // People are distinct over the range: alice wrote on both days.
    expect(r.body.totals).toMatchObject({ messages: 7, replies: 5, people: 6, requests: 30 });
  });

  it('reports the same usage numbers as /api/usage (every purpose, every status)', async () => {
    const [a, u] = await Promise.all([analytics(RANGE), app.api(`/api/usage?${RANGE}`, { token })]);
    const pick = (t: any) => ({ requests: t.requests, inputTokens: t.inputTokens, outputTokens: t.outputTokens, costUsd: t.costUsd });
    expect(pick(a.body.totals)).toEqual(pick(u.body.totals));
    expect(a.body.totals.inputTokens).toBeGreaterThan(200);
    expect(a.body.totals.costUsd).toBeGreaterThan(0.022);
    expect(a.body.series.map(pick)).toEqual(u.body.series.map(pick));
    const models = (rows: any[]) => Object.fromEntries(rows.map((m) => [m.model, pick(m)]));
    expect(models(a.body.byModel)).toEqual(models(u.body.byModel));
    expect(a.body.byModel.map((m: { model: string }) => m.model).sort()).toEqual(['openai:gpt-4.1-nano', 'openai:gpt-4o-mini']);
    expect(a.body.byModel.find((m: { model: string }) => m.model === 'openai:gpt-4.1-nano')).toMatchObject({ requests: 1, inputTokens: 0, costUsd: 0 });
    expect(Object.keys(a.body.byModel[0]).sort()).toEqual(['costUsd', 'inputTokens', 'model', 'outputTokens', 'requests']);
  });

  it('breaks activity and usage down by agent and by channel', async () => {
    const r = (await analytics(RANGE)).body;
    const byAgent = Object.fromEntries(r.byAgent.map((a: any) => [a.agentId, a]));
    expect(Object.keys(byAgent).sort()).toEqual([agents.recipes.id, agents.maths.id, agents.mine.id].sort());
    expect(byAgent[agents.recipes.id]).toMatchObject({ name: 'Recipe Helper', messages: 5, people: 4, requests: 2 + 2 + 1 + 1 + 22 });
    expect(byAgent[agents.maths.id]).toMatchObject({ name: 'Maths Tutor', messages: 1, people: 1, requests: 1 });
    expect(byAgent[agents.mine.id]).toMatchObject({ name: '=Customer "Bot"', messages: 1, people: 1, requests: 1 });
    expect(Object.keys(r.byAgent[0]).sort()).toEqual(['agentId', 'costUsd', 'inputTokens', 'messages', 'name', 'outputTokens', 'people', 'requests']);
    expect(r.byAgent[0].agentId).toBe(agents.recipes.id); // the most expensive first
    for (const k of ['requests', 'inputTokens', 'outputTokens']) expect(sum(r.byAgent, k)).toBe(r.totals[k]);

    const byChannel = Object.fromEntries(r.byChannel.map((c: any) => [c.channel, c]));
    expect(Object.keys(byChannel).sort()).toEqual(['api', 'openai', 'web']);
    expect(byChannel.api).toMatchObject({ messages: 5, people: 4, requests: 28 });
    expect(byChannel.web).toMatchObject({ messages: 1, people: 1, requests: 1 });
    expect(byChannel.openai).toMatchObject({ messages: 1, people: 1, requests: 1 }); // /v1 stores no conversation, yet its message counts
    expect(byChannel.openai.costUsd).toBeGreaterThan(0);
    expect(Object.keys(r.byChannel[0]).sort()).toEqual(['channel', 'costUsd', 'messages', 'people', 'requests']);
    expect(sum(r.byChannel, 'costUsd')).toBeCloseTo(r.totals.costUsd, 8);
  });

  it('gives time-to-first-token and latency percentiles of successful chat calls, per day', async () => {
    const day = (await analytics('from=2026-03-13&to=2026-03-13')).body.latency;
    // Nearest rank over 100, 200, … 2000 ms; the summary and the failed call are left out.
    expect(day).toEqual({
      ttftP50Ms: 1000, ttftP95Ms: 1900, latencyP50Ms: 1500, latencyP95Ms: 2400,
      series: [{ date: '2026-03-13', ttftP50Ms: 1000, ttftP95Ms: 1900 }],
    });
    const all = (await analytics(RANGE)).body.latency;
    expect(all.series.map((d: { date: string }) => d.date)).toEqual(DAYS);
    for (const d of [all.series[0], all.series[2], all.series[5]]) expect(d).toMatchObject({ ttftP50Ms: null, ttftP95Ms: null });
    for (const d of [all.series[1], all.series[3]]) {
      expect(d.ttftP50Ms).toEqual(expect.any(Number));
      expect(d.ttftP95Ms).toBeGreaterThanOrEqual(d.ttftP50Ms);
    }
    expect(all.series[4]).toEqual({ date: '2026-03-13', ttftP50Ms: 1000, ttftP95Ms: 1900 });
    expect(all.latencyP95Ms).toBeGreaterThanOrEqual(all.latencyP50Ms);
    expect(all.ttftP95Ms).toBeGreaterThanOrEqual(all.ttftP50Ms);
    const empty = (await analytics('from=2026-03-14&to=2026-03-14')).body.latency;
    expect(empty).toEqual({ ttftP50Ms: null, ttftP95Ms: null, latencyP50Ms: null, latencyP95Ms: null, series: [{ date: '2026-03-14', ttftP50Ms: null, ttftP95Ms: null }] });
  });

  it('counts delivery outcomes of outbound parts by channel: a receipt beats "sent"', async () => {
    const r = (await analytics(RANGE)).body;
    expect(r.delivery.byChannel).toEqual([
      { channel: 'telegram', sent: 2, delivered: 1, read: 1, failed: 1, undelivered: 1, pending: 2 },
      { channel: 'whatsapp', sent: 0, delivered: 0, read: 1, failed: 0, undelivered: 0, pending: 0 },
    ]);
  });

  it('shows a customer only their own agents, and narrows to one agent with agentId', async () => {
    const r = await analytics(RANGE, customer);
    expect(r.status).toBe(200);
    expect(r.body.totals).toMatchObject({ messages: 1, replies: 1, people: 1, requests: 1 });
    expect(r.body.byAgent.map((a: { agentId: string }) => a.agentId)).toEqual([agents.mine.id]);
    expect(r.body.byChannel.map((c: { channel: string }) => c.channel)).toEqual(['api']);
    expect(r.body.byModel.map((m: { model: string }) => m.model)).toEqual(['openai:gpt-4o-mini']);
    expect(r.body.delivery.byChannel.map((c: { channel: string }) => c.channel)).toEqual(['whatsapp']);
    expect(r.body.series.map((d: any) => d.messages)).toEqual([0, 0, 0, 1, 0, 0]);
    expect(r.body.latency.ttftP50Ms).toEqual(expect.any(Number));
    // Another owner's agent is not found, not forbidden.
    expect((await analytics(`${RANGE}&agentId=${agents.recipes.id}`, customer)).status).toBe(404);

    const one = (await analytics(`${RANGE}&agentId=${agents.maths.id}`)).body;
    expect(one.totals).toMatchObject({ messages: 1, replies: 1, people: 1, requests: 1 });
    expect(one.byChannel.map((c: { channel: string }) => c.channel)).toEqual(['web']);
    expect(one.delivery.byChannel).toEqual([]);
    expect((await app.api(`/api/analytics?${RANGE}`)).status).toBe(401);
  });

  it('defaults to the last 30 days, ending today', async () => {
    const r = (await analytics('')).body; // the clock stands at 2026-03-13
    expect(r.range).toEqual({ from: '2026-02-12', to: '2026-03-13' });
    expect(r.series).toHaveLength(30);
    expect(r.latency.series).toHaveLength(30);
    expect(r.totals.messages).toBe(7);
    expect((await analytics('to=2026-03-10')).body.range).toEqual({ from: '2026-02-09', to: '2026-03-10' });
  });

  it('exports each table as CSV, every field quoted and formulas defused', async () => {
    const q = (cols: string) => cols.split(',').map((c) => `"${c}"`).join(',');
    const expected: Record<string, { header: string; rows: number }> = {
      series: { header: q('date,messages,replies,people,requests,inputTokens,outputTokens,costUsd'), rows: 6 },
      byAgent: { header: q('agentId,name,messages,people,requests,inputTokens,outputTokens,costUsd'), rows: 3 },
      byModel: { header: q('model,requests,inputTokens,outputTokens,costUsd'), rows: 2 },
      byChannel: { header: q('channel,messages,people,requests,costUsd'), rows: 3 },
      delivery: { header: q('channel,sent,delivered,read,failed,undelivered,pending'), rows: 2 },
    };
    for (const [table, e] of Object.entries(expected)) {
      const res = await fetch(`${app.url}/api/analytics?${RANGE}&format=csv&table=${table}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="analytics-${table}-2026-03-09-2026-03-14.csv"`);
      const lines = (await res.text()).split('\r\n');
      expect(lines.at(-1)).toBe(''); // ends with a line break
      expect(lines[0]).toBe(e.header);
      expect(lines.slice(1, -1)).toHaveLength(e.rows);
      for (const line of lines.slice(1, -1)) expect(line).toMatch(/^"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*$/);
    }
    const series = await (await fetch(`${app.url}/api/analytics?${RANGE}&format=csv&table=series`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(series.split('\r\n')[2]).toMatch(/^"2026-03-10","3","3","3","3",/);
    const byAgent = await (await fetch(`${app.url}/api/analytics?${RANGE}&format=csv&table=byAgent`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(byAgent).toContain(`"${agents.mine.id}","'=Customer ""Bot""","1","1","1",`);
    const delivery = await (await fetch(`${app.url}/api/analytics?${RANGE}&format=csv&table=delivery`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(delivery.split('\r\n')[1]).toBe('"telegram","2","1","1","1","1","2"');
    // A customer's download is scoped too.
    const mine = await (await fetch(`${app.url}/api/analytics?${RANGE}&format=csv&table=byAgent`, { headers: { authorization: `Bearer ${customer}` } })).text();
    expect(mine.split('\r\n').filter(Boolean)).toHaveLength(2);
  });

  it.each([
    ['from=2026-13-01', 'from'],
    ['from=2026-02-30', 'from'],
    ['to=yesterday', 'to'],
    ['from=2026-03-14&to=2026-03-09', 'from'],
    ['from=2025-03-13&to=2026-03-14', 'from'], // 367 days
    ['format=csv', 'table'],
    ['format=csv&table=people', 'table'],
    ['format=xml', 'format'],
  ])('refuses %s with 400 naming %s', async (query, field) => {
    const r = await analytics(query);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.fields.map((f: { path: string }) => f.path)).toContain(field);
  });

  it('accepts a full year plus a day (366 days) and is in the OpenAPI document', async () => {
    const r = await analytics('from=2025-03-14&to=2026-03-14');
    expect(r.status).toBe(200);
    expect(r.body.series).toHaveLength(366);
    expect(r.body.totals.requests).toBe(30);
    const doc = (await app.api('/api/openapi.json')).body;
    expect(Object.keys(doc.paths['/api/analytics'])).toEqual(['get']);
  });
});
