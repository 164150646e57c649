import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readSse, startTestApp, type TestApp } from '../helpers/test-app.js';
import { rateLimited } from '../fakes/openai-server.js';

describe('chat: streaming web chat, the message API, usage accounting, failures', () => {
  let app: TestApp;
  let token: string;
  let agent: { id: string; slug: string };
  beforeAll(async () => {
    app = await startTestApp();
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Recipe Helper', template: 'recipe-helper' } })).body;
  });
  afterAll(async () => { await app?.close(); });
  beforeEach(() => app.fake.reset());

  const chat = async (slug: string, text: string, cookie?: string) => {
    const res = await fetch(`${app.url}/api/public/agents/${slug}/chat`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ text }),
    });
    const setCookie = res.headers.get('set-cookie');
    return { res, cookie: setCookie ? setCookie.split(';')[0]! : cookie, status: res.status };
  };

  it('answers POST /api/agents/:id/message with the reply, conversation and usage', async () => {
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'Hello there', userId: 'alice' } });
    expect(r.status).toBe(200);
    expect(r.body.reply).toBe('Echo: Hello there');
    expect(r.body.conversationId).toBeTruthy();
    expect(r.body.usage.inputTokens).toBeGreaterThan(0);
    expect(r.body.usage.outputTokens).toBeGreaterThan(0);
    // gpt-4o-mini: $0.15 / $0.60 per million tokens.
    expect(r.body.usage.costUsd).toBeCloseTo((r.body.usage.inputTokens * 0.15 + r.body.usage.outputTokens * 0.6) / 1e6, 12);
    // The persona is applied server-side, with the model the instance defaults to.
    const sent = (app.fake.requests() as any[])[0]!;
    expect(sent.model).toBe('gpt-4o-mini');
    expect(sent.messages[0]).toMatchObject({ role: 'system' });
    expect(sent.messages[0].content).toContain('You are Recipe Helper.');
    expect(sent.stream).toBe(true);
  });

  it('keeps a conversation per person: history goes to the model, other people see none of it', async () => {
    await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'My name is Bob', userId: 'bob' } });
    const second = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'What is my name?', userId: 'bob' } });
    const carol = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'Hi', userId: 'carol' } });
    expect(carol.body.conversationId).not.toBe(second.body.conversationId);
    const [, bobSecond, carolCall] = (app.fake.requests() as any[]);
    expect(bobSecond!.messages.map((m: { content: string }) => m.content)).toEqual(expect.arrayContaining(['My name is Bob', 'Echo: My name is Bob', 'What is my name?']));
    expect(JSON.stringify(carolCall!.messages)).not.toContain('Bob');
  });

  it('streams the public chat token by token as server-sent events and keeps history per browser', async () => {
    const first = await chat(agent.slug, 'Soup ideas please');
    expect(first.status).toBe(200);
    expect(first.res.headers.get('content-type')).toContain('text/event-stream');
    expect(first.cookie).toMatch(/^sb_visitor=/);
    const frames = await readSse(first.res);
    expect(frames[0]!.event).toBe('start');
    const deltas = frames.filter((f) => f.event === 'delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((d) => d.data.text).join('')).toBe('Echo: Soup ideas please');
    const done = frames.at(-1)!;
    expect(done.event).toBe('done');
    expect(done.data.usage.costUsd).toBeGreaterThan(0);

    const history = await fetch(`${app.url}/api/public/agents/${agent.slug}/conversation`, { headers: { cookie: first.cookie! } }).then((r) => r.json() as Promise<any>);
    expect(history.messages.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual([
      ['user', 'Soup ideas please'], ['assistant', 'Echo: Soup ideas please'],
    ]);
    // Another browser sees nothing.
    const stranger = await fetch(`${app.url}/api/public/agents/${agent.slug}/conversation`).then((r) => r.json() as Promise<any>);
    expect(stranger.messages).toEqual([]);
  });

  it('sandboxes conversations per agent and starts over on "new conversation"', async () => {
    const other = (await app.api('/api/agents', { token, body: { name: 'Maths Tutor', template: 'maths-tutor' } })).body;
    const a = await chat(agent.slug, 'secret soup');
    await readSse(a.res);
    const b = await chat(other.slug, 'What is 2+2?', a.cookie);
    await readSse(b.res);
    const sent = (app.fake.requests() as any[]).at(-1)!;
    expect(JSON.stringify(sent.messages)).not.toContain('secret soup');
    expect(sent.messages[0].content).toContain('Maths Tutor');

    const reset = await fetch(`${app.url}/api/public/agents/${agent.slug}/conversation/new`, { method: 'POST', headers: { cookie: a.cookie! } });
    expect(((await reset.json()) as any).messages).toEqual([]);
    const after = await fetch(`${app.url}/api/public/agents/${agent.slug}/conversation`, { headers: { cookie: a.cookie! } }).then((r) => r.json() as Promise<any>);
    expect(after.messages).toEqual([]);
    const c = await chat(agent.slug, 'fresh start', a.cookie);
    await readSse(c.res);
    expect((app.fake.requests() as any[]).at(-1)!.messages.map((m: { role: string }) => m.role)).toEqual(['system', 'user']);
  });

  it('records a usage row per call and reports totals, a per-day series and breakdowns', async () => {
    await app.server.services.queue.drain(); // summaries of the sessions ended above are usage too
    const before = (await app.api(`/api/usage?agentId=${agent.id}`, { token })).body;
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'count me', userId: 'dave' } });
    const after = (await app.api(`/api/usage?agentId=${agent.id}`, { token })).body;
    expect(after.requests).toBe(before.requests + 1);
    expect(after.totals.requests).toBe(after.requests);
    expect(after.inputTokens - before.inputTokens).toBe(r.body.usage.inputTokens);
    expect(after.costUsd - before.costUsd).toBeCloseTo(r.body.usage.costUsd, 10);
    expect(after.series).toHaveLength(30);
    const today = new Date().toISOString().slice(0, 10);
    expect(after.series.at(-1)).toMatchObject({ date: today, requests: after.requests });
    expect(after.byModel.reduce((n: number, b: { requests: number }) => n + b.requests, 0)).toBe(after.requests);
    expect(after.byModel.map((b: { model: string }) => b.model)).toContain('openai:gpt-4o-mini');
    const summary = (await app.api('/api/usage/summary', { token })).body;
    const row = summary.agents.find((a: { agentId: string }) => a.agentId === agent.id);
    expect(row.today.requests).toBe(after.requests);
    expect(row.month.costUsd).toBeCloseTo(after.costUsd, 10);
  });

  it('takes /api/usage days as real calendar dates or ISO timestamps', async () => {
    // An explicit, later `to`: only the date itself can be what is refused, whatever today is.
    for (const from of ['2026-13-01', '2026-02-30']) {
      const bad = await app.api(`/api/usage?from=${from}&to=2027-12-31`, { token });
      expect(bad.status).toBe(400);
      expect(bad.body.error.fields).toEqual([{ path: 'from', message: expect.stringMatching(/real calendar date/) }]);
    }
    const badTo = await app.api('/api/usage?from=2026-01-01&to=2026-02-30', { token });
    expect(badTo.status).toBe(400);
    expect(badTo.body.error.fields[0].path).toBe('to');
    const iso = await app.api(`/api/usage?from=${encodeURIComponent('2026-02-01T10:30:00.000Z')}&to=${encodeURIComponent('2026-02-28T23:59:59+00:00')}`, { token });
    expect(iso.status).toBe(200);
    expect(iso.body).toMatchObject({ from: '2026-02-01', to: '2026-02-28' });
    expect(iso.body.series).toHaveLength(28);
  });

  it('turns a provider failure into a polite error, keeps the conversation consistent, and shows the operator the cause', async () => {
    // Both the model and the template's fallback model fail.
    app.fake.enqueue({ kind: 'error', status: 500 }, { kind: 'error', status: 500 });
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'will fail', userId: 'erin' } });
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('provider_error');
    expect(r.body.error.message).not.toMatch(/500|openai/i);
    const convs = (await app.api(`/api/agents/${agent.id}/conversations`, { token })).body.conversations;
    const transcript = (await app.api(`/api/conversations/${convs[0].id}`, { token })).body;
    expect(transcript.messages.slice(-2).map((m: { role: string; status: string }) => [m.role, m.status])).toEqual([['user', 'complete'], ['assistant', 'error']]);
    expect(transcript.messages.at(-1).error).toMatch(/500/);
    // The failed reply is never fed back to the model; the next turn works.
    const next = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'try again', userId: 'erin' } });
    expect(next.status).toBe(200);
    const roles = (app.fake.requests() as any[]).at(-1)!.messages.map((m: { role: string }) => m.role);
    expect(roles).toEqual(['system', 'user', 'user']);
    const usage = (await app.api(`/api/usage?agentId=${agent.id}`, { token })).body;
    expect(usage.requests).toBeGreaterThan(0);
  });

  it("blames the provider, not us, for a reset connection, an error chunk or an unreadable stream", async () => {
    for (const failure of [{ kind: 'reset' }, { kind: 'stream_error', afterChunks: 0, message: 'overloaded' }, { kind: 'malformed' }] as const) {
      // The model and the template's fallback model fail the same way.
      app.fake.enqueue(failure, failure);
      const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: `fails by ${failure.kind}`, userId: 'hana' } });
      expect([r.status, r.body.error.code], failure.kind).toEqual([502, 'provider_error']);
    }
  });

  it('answers an upstream 429 with the polite provider error, without retrying (SWITCHBOARD_MODEL_MAX_RETRIES=0)', async () => {
    // The model and the template's fallback model are both rate limited, each with retry-after headers.
    app.fake.enqueue(rateLimited(200), rateLimited(200));
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'too fast', userId: 'gina' } });
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('provider_error');
    expect(r.body.error.message).toMatch(/Sorry/);
    expect(r.body.error.message).not.toMatch(/429|rate|openai/i);
    // One call per model: the SDK retried neither.
    expect((app.fake.requests() as any[]).map((q) => q.model)).toEqual(['gpt-4o-mini', 'gpt-4.1-nano']);
    const convs = (await app.api(`/api/agents/${agent.id}/conversations`, { token })).body.conversations;
    const transcript = (await app.api(`/api/conversations/${convs[0].id}`, { token })).body;
    expect(transcript.messages.at(-1)).toMatchObject({ role: 'assistant', status: 'error' });
    expect(transcript.messages.at(-1).error).toMatch(/429/);
  });

  it('streams an error event when the provider fails mid-chat, and times out a hung provider with 504', async () => {
    app.fake.enqueue({ kind: 'error', status: 500 }, { kind: 'error', status: 500 });
    const s = await chat(agent.slug, 'boom');
    const frames = await readSse(s.res);
    expect(frames.map((f) => f.event)).toEqual(['start', 'error']);
    expect(frames[1]!.data.code).toBe('provider_error');
    app.fake.enqueue({ kind: 'hang' }, { kind: 'hang' });
    const t0 = Date.now();
    const hung = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'hello?', userId: 'frank' } });
    expect(hung.status).toBe(504);
    expect(hung.body.error.code).toBe('provider_timeout');
    expect(Date.now() - t0).toBeLessThan(10_000); // two attempts of the 3 s test timeout
  });

  it('does not cut off a long reply that keeps streaming: the deadline is for silence', async () => {
    // 9 pieces 450 ms apart: 3.6 s in all, over the 3 s test deadline, but never 3 s without a word.
    app.fake.enqueue({ kind: 'text', text: 'one two three four five six seven eight nine', delayMsBetweenChunks: 450 });
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'tell me slowly', userId: 'gina' } });
    expect(r.status).toBe(200);
    expect(r.body.reply).toBe('one two three four five six seven eight nine');
  });

  it('answers with the fallback model when the main model fails before its first token', async () => {
    const fb = (await app.api('/api/agents', { token, body: { name: 'Resilient', model: 'openai:gpt-4o', fallbackModel: 'openai:gpt-4o-mini' } })).body;
    app.fake.enqueue({ kind: 'error', status: 503 });
    const r = await app.api(`/api/agents/${fb.id}/message`, { token, body: { text: 'still there?' } });
    expect(r.status).toBe(200);
    expect((app.fake.requests() as any[]).map((q) => q.model)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    const usage = (await app.api(`/api/usage?agentId=${fb.id}`, { token })).body;
    expect(usage.byModel.map((m: { model: string }) => m.model).sort()).toEqual(['openai:gpt-4o', 'openai:gpt-4o-mini']);
  });

  it('refuses to chat with a paused agent, on every path', async () => {
    const p = (await app.api('/api/agents', { token, body: { name: 'Sleepy' } })).body;
    await app.api(`/api/agents/${p.id}/pause`, { token, method: 'POST' });
    const pub = await app.api(`/api/public/agents/${p.slug}`);
    expect(pub.body).toMatchObject({ available: false });
    expect(pub.body.notice).toMatch(/paused/);
    expect((await chat(p.slug, 'hi')).status).toBe(503);
    expect((await app.api(`/api/agents/${p.id}/message`, { token, body: { text: 'hi' } })).status).toBe(503);
    expect((app.fake.requests() as any[])).toHaveLength(0);
  });

  it('hides unlisted agents from the public and refuses empty or oversized messages', async () => {
    const hidden = (await app.api('/api/agents', { token, body: { name: 'Hidden', listed: false } })).body;
    const home = (await app.api('/api/public/agents')).body.agents.map((a: { slug: string }) => a.slug);
    expect(home).toContain(agent.slug);
    expect(home).not.toContain(hidden.slug);
    expect((await app.api(`/api/public/agents/${hidden.slug}`)).status).toBe(404);
    expect((await chat(agent.slug, '')).status).toBe(400);
    expect((await chat(agent.slug, 'x'.repeat(16_001))).status).toBe(400);
  });
});

describe('chat with no model configured', () => {
  it('runs, and says clearly that no model is configured and how to add one', async () => {
    const app = await startTestApp({ withModel: false });
    try {
      const token = await app.owner();
      const providers = (await app.api('/api/providers', { token })).body;
      expect(providers).toMatchObject({ configured: false, providers: [] });
      const a = (await app.api('/api/agents', { token, body: { name: 'Lonely', template: 'writing-coach' } })).body;
      const pub = (await app.api(`/api/public/agents/${a.slug}`)).body;
      expect(pub.available).toBe(false);
      expect(pub.notice).toMatch(/No model is configured/);
      expect(pub.notice).toMatch(/Providers|OPENAI_API_KEY/);
      const r = await app.api(`/api/agents/${a.id}/message`, { token, body: { text: 'hello' } });
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('no_model_configured');
      const s = await fetch(`${app.url}/api/public/agents/${a.slug}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hi"}' });
      expect(s.status).toBe(503);
      // Nothing half-written: the failed attempt left no conversation behind.
      expect((await app.api(`/api/agents/${a.id}/conversations`, { token })).body.conversations).toEqual([]);
    } finally { await app.close(); }
  });
});

describe('chat with model retries on (SWITCHBOARD_MODEL_MAX_RETRIES=1)', () => {
  it('retries an upstream 429 after the delay its retry-after-ms names, and answers', async () => {
    const app = await startTestApp({ env: { SWITCHBOARD_MODEL_MAX_RETRIES: '1' } });
    try {
      const token = await app.owner();
      const a = (await app.api('/api/agents', { token, body: { name: 'Patient' } })).body;
      app.fake.enqueue(rateLimited(300));
      const r = await app.api(`/api/agents/${a.id}/message`, { token, body: { text: 'second time lucky' } });
      expect(r.status).toBe(200);
      expect(r.body.reply).toBe('Echo: second time lucky');
      const [first, second] = app.fake.journal.filter((e) => e.path.startsWith('/v1/chat/completions'));
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(250);
      expect(second!.at - first!.at).toBeLessThan(1900); // the header's delay, not the SDK's 2 s default backoff
    } finally { await app.close(); }
  });
});
