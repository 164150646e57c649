/**
 * A person steps into a conversation (issue 15): take over, reply by hand, hand back — on the web
 * chat, the roles that may and may not, two operators at once, and the audit log.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { manualClock, startTestApp, type TestApp } from '../helpers/test-app.js';
import { wordChunks } from '../fakes/openai-server.js';

/** An SSE reader over a fetch response that hands out frames as they arrive. */
export function sseFrames(res: Response) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  return {
    async next(): Promise<{ event: string; data: any } | null> {
      for (;;) {
        const i = buf.indexOf('\n\n');
        if (i >= 0) {
          const raw = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          let data = '';
          for (const line of raw.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (!data && !raw.includes('event:')) continue;
          return { event, data: data ? JSON.parse(data) : null };
        }
        const { value, done } = await reader.read();
        if (done) return null;
        buf += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

/** A browser on the public chat page: keeps its visitor cookie. */
export function visitorOf(app: TestApp, slug: string) {
  let cookie = '';
  const keep = (res: Response) => { const c = res.headers.get('set-cookie'); if (c) cookie = c.split(';')[0]!; return res; };
  return {
    get cookie() { return cookie; },
    async chat(text: string): Promise<Response> {
      return keep(await fetch(`${app.url}/api/public/agents/${slug}/chat`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ text }) }));
    },
    async say(text: string) {
      const res = await this.chat(text);
      const frames = sseFrames(res);
      const out: { event: string; data: any }[] = [];
      for (let f = await frames.next(); f; f = await frames.next()) out.push(f);
      return out;
    },
    async history() {
      return (await fetch(`${app.url}/api/public/agents/${slug}/conversation`, { headers: cookie ? { cookie } : {} }).then((r) => keep(r).json())) as { conversationId: string; messages: any[] };
    },
    async events(signal: AbortSignal) {
      return keep(await fetch(`${app.url}/api/public/agents/${slug}/conversation/events`, { headers: cookie ? { cookie } : {}, signal }));
    },
  };
}

describe('taking over a web chat conversation', () => {
  let app: TestApp;
  let owner: string;
  let ownerId: string;
  let agent: { id: string; slug: string };

  beforeAll(async () => {
    app = await startTestApp();
    owner = await app.owner();
    ownerId = (await app.api('/api/auth/me', { token: owner })).body.user?.id ?? (await app.api('/api/auth/me', { token: owner })).body.id;
    agent = (await app.api('/api/agents', { token: owner, body: { name: 'Desk Helper' } })).body;
  });
  afterAll(async () => { await app?.close(); });
  beforeEach(() => { app.fake.reset(); });

  it('cuts the reply being streamed: the stream ends, nothing more is delivered, and the visitor is not shown the cut reply', async () => {
    const v = visitorOf(app, agent.slug);
    await v.say('hello'); // a conversation to take over
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    app.fake.enqueue({ kind: 'text', text: words, chunks: wordChunks(words), delayMsBetweenChunks: 40 });
    const frames = sseFrames(await v.chat('tell me a long story'));
    const start = await frames.next();
    expect(start?.event).toBe('start');
    expect((await frames.next())?.event).toBe('delta');
    const taken = await app.api(`/api/conversations/${start!.data.conversationId}/takeover`, { method: 'POST', token: owner });
    expect(taken.status).toBe(200);
    expect(taken.body).toMatchObject({ mode: 'human', takenOverBy: ownerId, needsHuman: false });
    const rest: { event: string; data: any }[] = [];
    for (let f = await frames.next(); f; f = await frames.next()) rest.push(f);
    const end = rest.at(-1)!;
    expect(end).toMatchObject({ event: 'done', data: { human: true, reply: '' } });
    // Cut well before the model finished (60 chunks, 40 ms apart): at most what was already in flight.
    expect(rest.filter((f) => f.event === 'delta').length).toBeLessThan(10);
    const conv = (await app.api(`/api/conversations/${start!.data.conversationId}`, { token: owner })).body;
    expect(conv.messages.at(-1)).toMatchObject({ role: 'assistant', status: 'error', error: 'cut: a person took over the conversation', author: { type: 'agent' } });
    expect((await v.history()).messages.map((m) => m.content)).not.toContain(conv.messages.at(-1).content);
  });

  it("in human mode stores the person's message, answers nothing, calls no model and counts no usage", async () => {
    const v = visitorOf(app, agent.slug);
    const first = await v.say('hi there');
    const convId = first[0]!.data.conversationId;
    expect((await app.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token: owner })).status).toBe(200);
    const usageBefore = (await app.api(`/api/usage?agentId=${agent.id}`, { token: owner })).body.totals.requests;
    app.fake.reset();
    const frames = await v.say('is anyone there?');
    expect(frames.map((f) => f.event)).toEqual(['start', 'done']);
    expect(frames[1]!.data).toMatchObject({ reply: '', human: true });
    expect(app.fake.requests()).toHaveLength(0);
    expect((await app.api(`/api/usage?agentId=${agent.id}`, { token: owner })).body.totals.requests).toBe(usageBefore);
    const conv = (await app.api(`/api/conversations/${convId}`, { token: owner })).body;
    expect(conv.messages.at(-1)).toMatchObject({ role: 'user', content: 'is anyone there?', author: { type: 'person' } });
  });

  it("delivers a person's reply live to the open chat page and in its history, by name only; the agent then answers with it in its history", async () => {
    const v = visitorOf(app, agent.slug);
    const convId = (await v.say('my order is late'))[0]!.data.conversationId;
    expect((await app.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token: owner })).status).toBe(200);
    const stop = new AbortController();
    const live = sseFrames(await v.events(stop.signal));
    expect((await live.next())?.event).toBe('ready');
    const r = await app.api(`/api/conversations/${convId}/reply`, { token: owner, body: { text: 'Sorry! I am <b>checking</b> it now.' } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ messageId: expect.any(String), delivered: true });
    const pushed = await live.next();
    stop.abort();
    expect(pushed).toMatchObject({ event: 'message', data: { id: r.body.messageId, role: 'assistant', content: 'Sorry! I am <b>checking</b> it now.', author: { type: 'human', name: 'owner' } } });
    expect(pushed!.data.author.userId).toBeUndefined();
    expect(JSON.stringify(pushed)).not.toContain('owner@example.com');
    const shown = (await v.history()).messages.at(-1);
    expect(shown).toMatchObject({ id: r.body.messageId, author: { type: 'human', name: 'owner' } });
    expect(JSON.stringify(shown)).not.toContain(ownerId);
    const conv = (await app.api(`/api/conversations/${convId}`, { token: owner })).body;
    expect(conv.messages.at(-1)).toMatchObject({ author: { type: 'human', userId: ownerId, name: 'owner' }, channel: 'web' });

    const back = await app.api(`/api/conversations/${convId}/release`, { method: 'POST', token: owner });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ mode: 'agent', takenOverBy: null });
    app.fake.reset();
    const answer = await v.say('thanks, any news?');
    expect(answer.at(-1)).toMatchObject({ event: 'done', data: { reply: 'Echo: thanks, any news?' } });
    const sent = app.fake.requests()[0]!.messages!;
    expect(sent).toContainEqual({ role: 'assistant', content: 'Sorry! I am <b>checking</b> it now.' });
  });

  it('lets a reply in agent mode through as a manual injection the agent sees', async () => {
    const v = visitorOf(app, agent.slug);
    const convId = (await v.say('question one'))[0]!.data.conversationId;
    expect((await app.api(`/api/conversations/${convId}/reply`, { token: owner, body: { text: 'A colleague here: hello!' } })).status).toBe(201);
    app.fake.reset();
    await v.say('question two');
    expect(app.fake.requests()[0]!.messages).toContainEqual({ role: 'assistant', content: 'A colleague here: hello!' });
    expect((await app.api(`/api/conversations/${convId}`, { token: owner })).body.mode).toBe('agent');
  });

  it('lets one of two operators taking over at once win; the other gets 409 already_taken_over; taking over again yourself is idempotent', async () => {
    const admin = await app.api('/api/users', { token: owner, body: { email: 'second-op@example.com', password: 'correct horse battery', role: 'admin' } });
    expect(admin.status).toBe(201);
    const adminToken = (await app.api('/api/auth/login', { body: { email: 'second-op@example.com', password: 'correct horse battery' } })).body.token;
    const v = visitorOf(app, agent.slug);
    const convId = (await v.say('race'))[0]!.data.conversationId;
    const both = await Promise.all([owner, adminToken].map((t) => app.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token: t })));
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    const loser = both.find((r) => r.status === 409)!;
    expect(loser.body.error.code).toBe('already_taken_over');
    const winner = both.findIndex((r) => r.status === 200);
    expect((await app.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token: [owner, adminToken][winner] })).status).toBe(200);
    const taken = (await app.api(`/api/audit?targetType=conversation&targetId=${convId}`, { token: owner })).body.entries.filter((e: { action: string }) => e.action === 'conversation.taken_over');
    expect(taken).toHaveLength(1);
  });

  it('keeps customers to their own agents (404 on every route) and auditors to reading (403); every act is in the audit log', async () => {
    for (const who of ['cust-a', 'cust-b']) await app.api('/api/users', { token: owner, body: { email: `${who}@example.com`, password: 'correct horse battery', role: 'customer' } });
    await app.api('/api/users', { token: owner, body: { email: 'reader@example.com', password: 'correct horse battery', role: 'auditor' } });
    const login = async (email: string) => (await app.api('/api/auth/login', { body: { email, password: 'correct horse battery' } })).body.token as string;
    const [a, b, auditor] = [await login('cust-a@example.com'), await login('cust-b@example.com'), await login('reader@example.com')];
    const mine = (await app.api('/api/agents', { token: a, body: { name: 'Shop of A' } })).body;
    const res = await app.api(`/api/agents/${mine.id}/message`, { token: a, body: { text: 'hello' } });
    expect(res.status).toBe(200);
    const convId = res.body.conversationId;
    const routes = [['takeover', undefined], ['reply', { text: 'hi' }], ['release', undefined]] as const;
    for (const [action, body] of routes) {
      const other = await app.api(`/api/conversations/${convId}/${action}`, { method: 'POST', token: b, body });
      expect(other.status, `customer b ${action}`).toBe(404);
      const reader = await app.api(`/api/conversations/${convId}/${action}`, { method: 'POST', token: auditor, body });
      expect(reader.status, `auditor ${action}`).toBe(403);
    }
    expect((await app.api(`/api/conversations/${convId}`, { token: auditor })).body.mode).toBe('agent');
    for (const [action, body] of routes) {
      expect((await app.api(`/api/conversations/${convId}/${action}`, { method: 'POST', token: a, body })).status, `customer a ${action}`).toBe(action === 'reply' ? 201 : 200);
    }
    const aId = (await app.api('/api/auth/me', { token: a })).body;
    const log = (await app.api(`/api/audit?targetType=conversation&targetId=${convId}`, { token: owner })).body.entries as { action: string; actorId: string }[];
    expect(log.map((e) => e.action).sort()).toEqual(['conversation.released', 'conversation.replied', 'conversation.taken_over']);
    expect(new Set(log.map((e) => e.actorId))).toEqual(new Set([aId.user?.id ?? aId.id]));
  });

  it('validates the reply text, naming the field', async () => {
    const v = visitorOf(app, agent.slug);
    const convId = (await v.say('validate'))[0]!.data.conversationId;
    const empty = await app.api(`/api/conversations/${convId}/reply`, { token: owner, body: { text: '   ' } });
    expect(empty.status).toBe(400);
    expect(empty.body.error.fields[0].path).toBe('text');
    expect((await app.api('/api/conversations/nope/takeover', { method: 'POST', token: owner })).status).toBe(404);
  });
});

describe('automatic hand-back (manual clock)', () => {
  const clock = manualClock(Date.parse('2026-12-01T10:00:00Z'));
  let app: TestApp;
  let owner: string;
  let agent: { id: string; slug: string };

  beforeAll(async () => {
    app = await startTestApp({ clock, env: { SWITCHBOARD_SESSION_SWEEP_SECONDS: '3600' } });
    owner = await app.owner();
    agent = (await app.api('/api/agents', { token: owner, body: { name: 'Night Desk', sessionTimeoutMinutes: 240 } })).body;
  });
  afterAll(async () => { await app?.close(); });

  it("hands back after the agent's quiet minutes and tells the person once, even with two sweeps at once", async () => {
    const v = visitorOf(app, agent.slug);
    const convId = (await v.say('anyone?'))[0]!.data.conversationId;
    expect((await app.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token: owner })).status).toBe(200);
    clock.advance(5 * 60_000);
    await v.say('hello??'); // the person's last message: the 30 minutes count from here
    const sweep = () => app.server.services.takeover.sweep();
    clock.advance(29 * 60_000);
    expect(await sweep()).toBe(0);
    clock.advance(2 * 60_000);
    const [x, y] = await Promise.all([sweep(), sweep()]);
    expect(x + y).toBe(1);
    expect(await sweep()).toBe(0);
    const conv = (await app.api(`/api/conversations/${convId}`, { token: owner })).body;
    expect(conv.mode).toBe('agent');
    const notices = conv.messages.filter((m: { content: string }) => m.content === "I'm back — how can I help?");
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ role: 'assistant', author: { type: 'agent' } });
    expect((await v.history()).messages.at(-1).content).toBe("I'm back — how can I help?");
    const log = (await app.api(`/api/audit?targetType=conversation&targetId=${convId}&action=conversation.released`, { token: owner })).body.entries;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ actorRole: 'system' });
  });

  it('waits while the operator answered last, and never hands back with autoReleaseMinutes 0', async () => {
    const v = visitorOf(app, agent.slug);
    const convId = (await v.say('help please'))[0]!.data.conversationId;
    await app.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token: owner });
    await app.api(`/api/conversations/${convId}/reply`, { token: owner, body: { text: 'On it.' } });
    clock.advance(120 * 60_000);
    expect(await app.server.services.takeover.sweep()).toBe(0); // the operator spoke last: nobody waits
    expect((await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token: owner, body: { handoff: { autoReleaseMinutes: 0 } } })).status).toBe(200);
    await v.say('still there?');
    clock.advance(24 * 60 * 60_000);
    expect(await app.server.services.takeover.sweep()).toBe(0);
    expect((await app.api(`/api/conversations/${convId}`, { token: owner })).body.mode).toBe('human');
  });

  it('keeps a taken-over conversation open past the session timeout, so the agent stays quiet', async () => {
    const quick = (await app.api('/api/agents', { token: owner, body: { name: 'Quick Desk', sessionTimeoutMinutes: 5, handoff: { autoReleaseMinutes: 0 } } })).body;
    const v = visitorOf(app, quick.slug);
    const convId = (await v.say('first'))[0]!.data.conversationId;
    await app.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token: owner });
    clock.advance(60 * 60_000);
    await app.server.services.memory.sweep();
    app.fake.reset();
    const later = await v.say('back after an hour');
    expect(later[0]!.data.conversationId).toBe(convId);
    expect(later.at(-1)).toMatchObject({ event: 'done', data: { human: true } });
    // (The sweep summarized other agents' idle sessions; nothing answered this one.)
    expect(app.fake.requests().filter((r) => JSON.stringify(r.messages).includes('back after an hour'))).toHaveLength(0);
    expect((await app.api(`/api/conversations/${convId}`, { token: owner })).body.status).toBe('open');
  });
});


