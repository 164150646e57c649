/**
 * The live inbox over real HTTP (issue 15): GET /api/conversations/stream is a server-sent event
 * stream of `message.created` and `conversation.updated` for what the caller may see, read here with
 * fetch as a browser's EventSource would. On PostgreSQL, an event published in one server process
 * reaches the streams of another (LISTEN/NOTIFY).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { eventually, isPg, readSse, startTestApp, type TestApp } from '../helpers/test-app.js';
import { applicationName } from '../../src/infra/pg-events.js';

const PASSWORD = 'correct horse battery';
type Frame = { event: string; data: any };

/** An open event stream: frames as they arrive, the raw text (comments, retry), and a way to hang up. */
async function openStream(app: TestApp, auth: { token?: string; cookie?: string }) {
  const ctl = new AbortController();
  const headers: Record<string, string> = auth.token ? { authorization: `Bearer ${auth.token}` } : { cookie: auth.cookie! };
  const res = await fetch(`${app.url}/api/conversations/stream`, { headers, signal: ctl.signal });
  const frames: Frame[] = [];
  let raw = '';
  const reading = (async () => {
    if (!res.ok || !res.body) return;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        raw += value;
        buf += value;
        let at: number;
        while ((at = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (data.length) frames.push({ event, data: JSON.parse(data.join('\n')) });
        }
      }
    } catch { /* aborted */ }
  })();
  return {
    res, frames, raw: () => raw,
    /** Waits for a frame matching `pred`. */
    next: (pred: (f: Frame) => boolean, what = 'event'): Promise<Frame> => eventually(() => frames.find(pred), 10_000, what) as Promise<Frame>,
    close: async () => { ctl.abort(); await reading; },
  };
}
type Stream = Awaited<ReturnType<typeof openStream>>;

async function signIn(app: TestApp, owner: string, email: string, role: string) {
  expect((await app.api('/api/users', { token: owner, body: { email, password: PASSWORD, role } })).status).toBe(201);
  const r = await app.api('/api/auth/login', { body: { email, password: PASSWORD } });
  return { token: r.body.token as string, cookie: (r.headers.get('set-cookie') ?? '').split(';')[0]! };
}

describe('the live inbox stream', () => {
  let app: TestApp;
  let owner: string;
  let alice: { token: string; cookie: string };
  let bob: { token: string; cookie: string };
  let auditor: { token: string; cookie: string };
  let aliceAgent: { id: string; slug: string };
  let bobAgent: { id: string; slug: string };
  const streams: Stream[] = [];
  const open = async (auth: { token?: string; cookie?: string }) => { const s = await openStream(app, auth); streams.push(s); return s; };

  beforeAll(async () => {
    app = await startTestApp();
    owner = await app.owner();
    alice = await signIn(app, owner, 'alice@example.com', 'customer');
    bob = await signIn(app, owner, 'bob@example.com', 'customer');
    auditor = await signIn(app, owner, 'audrey@example.com', 'auditor');
    aliceAgent = (await app.api('/api/agents', { token: alice.token, body: { name: 'Alice Shop' } })).body;
    bobAgent = (await app.api('/api/agents', { token: bob.token, body: { name: 'Bob Shop' } })).body;
    // The operator lists Alice's agent, so a visitor can reach it in the public web chat.
    expect((await app.api(`/api/agents/${aliceAgent.id}`, { method: 'PATCH', token: owner, body: { listed: true } })).status).toBe(200);
    app.fake.setDefault((req) => `Echo: ${String(req.messages?.at(-1)?.content ?? '')}`);
  });
  afterAll(async () => { for (const s of streams) await s.close(); await app?.close(); });

  it('streams a web chat message and its reply to the owner of the agent (session cookie, as EventSource sends it), and nothing to another customer', async () => {
    const mine = await open({ cookie: alice.cookie });
    const theirs = await open({ token: bob.token });
    const audit = await open({ token: auditor.token });
    expect(mine.res.status).toBe(200);
    expect(mine.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await mine.next((f) => f.event === 'ready', 'ready');
    await theirs.next((f) => f.event === 'ready', 'ready');
    await audit.next((f) => f.event === 'ready', 'ready');
    expect(mine.raw()).toMatch(/^retry: \d+/);

    // A visitor writes in Alice's public web chat.
    const chat = await fetch(`${app.url}/api/public/agents/${aliceAgent.slug}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Is the shop open on Sunday?' }) });
    expect((await readSse(chat)).at(-1)!.event).toBe('done');

    const asked = await mine.next((f) => f.event === 'message.created' && f.data.message.role === 'user', 'the visitor\'s message');
    expect(asked.data).toMatchObject({ type: 'message.created', agentId: aliceAgent.id, message: { content: 'Is the shop open on Sunday?', role: 'user', author: { type: 'person' } } });
    const conversationId = asked.data.conversationId;
    expect(asked.data.message.conversationId).toBe(conversationId);
    const answered = await mine.next((f) => f.event === 'message.created' && f.data.message.role === 'assistant', 'the reply');
    expect(answered.data.message).toMatchObject({ content: 'Echo: Is the shop open on Sunday?', author: { type: 'agent' } });
    const updated = await mine.next((f) => f.event === 'conversation.updated', 'conversation.updated');
    expect(updated.data.conversation).toMatchObject({ id: conversationId, agentId: aliceAgent.id, channel: 'web', mode: 'agent', needsHuman: false, status: 'open' });
    // Operators' readers see it too.
    await audit.next((f) => f.event === 'message.created' && f.data.conversationId === conversationId, 'the auditor\'s copy');

    // Bob's stream heard nothing of it: the first event it gets is about his own agent's conversation.
    expect((await app.api(`/api/agents/${bobAgent.id}/message`, { token: bob.token, body: { text: 'bob here', userId: 'b-1' } })).status).toBe(200);
    await theirs.next((f) => f.event === 'message.created', 'bob\'s own message');
    expect(theirs.frames.filter((f) => f.event !== 'ready').every((f) => f.data.agentId === bobAgent.id)).toBe(true);
    expect(JSON.stringify(theirs.frames)).not.toContain('Sunday');
    // And the list agrees with what streamed.
    expect((await app.api('/api/conversations', { token: alice.token })).body.items.map((i: { id: string }) => i.id)).toContain(conversationId);
  });

  it('hears about an agent the customer created after the stream opened', async () => {
    const mine = await open({ token: alice.token });
    await mine.next((f) => f.event === 'ready', 'ready');
    const newer = (await app.api('/api/agents', { token: alice.token, body: { name: 'Alice Second' } })).body;
    expect((await app.api(`/api/agents/${newer.id}/message`, { token: alice.token, body: { text: 'first words', userId: 'a-2' } })).status).toBe(200);
    const m = await mine.next((f) => f.event === 'message.created' && f.data.agentId === newer.id, 'the new agent\'s message');
    expect(m.data.message.content).toBe('first words');
  });

  it('refuses a stream without a sign-in, and caps the streams one user holds open; hanging up frees the slot', async () => {
    const anonymous = await fetch(`${app.url}/api/conversations/stream`);
    expect(anonymous.status).toBe(401);
    const carol = await signIn(app, owner, 'carol@example.com', 'customer');
    const held: Stream[] = [];
    for (let i = 0; i < 5; i++) held.push(await openStream(app, { token: carol.token }));
    expect(held.map((s) => s.res.status)).toEqual([200, 200, 200, 200, 200]);
    const over = await fetch(`${app.url}/api/conversations/stream`, { headers: { authorization: `Bearer ${carol.token}` } });
    expect(over.status).toBe(429);
    expect(((await over.json()) as any).error.code).toBe('rate_limited');
    // Another user is not affected.
    const other = await openStream(app, { token: bob.token });
    expect(other.res.status).toBe(200);
    streams.push(other);
    await held.shift()!.close();
    const again = (await eventually(async (): Promise<Stream | undefined> => {
      const s = await openStream(app, { token: carol.token });
      if (s.res.status === 200) return s;
      await s.close();
      return undefined;
    }, 5000, 'a free slot'))!;
    held.push(again);
    for (const s of [...held, ...streams]) await s.close();
    // Every subscription is gone once the streams hang up (the in-process bus; on PostgreSQL it always listens for other processes).
    if (!isPg()) await eventually(() => !app.server.services.events.listening(), 5000, 'unsubscribed');
  });
});

describe.runIf(isPg())('two server processes on one PostgreSQL database', () => {
  let a: TestApp;
  let b: TestApp;
  const streams: Stream[] = [];

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({ shareWith: a });
    a.fake.setDefault((req) => String(req.messages?.at(-1)?.content ?? '').startsWith('long') ? 'é'.repeat(6000) : 'short answer');
  });
  afterAll(async () => { for (const s of streams) await s.close(); await b?.close(); await a?.close(); });

  it('an event published in one process reaches a stream held by the other, long messages included', async () => {
    const token = await a.owner();
    const agent = (await a.api('/api/agents', { token, body: { name: 'Shared' } })).body;
    const onB = await openStream(b, { token });
    streams.push(onB);
    await onB.next((f) => f.event === 'ready', 'ready');
    // The message is stored by process A; the stream is on process B.
    expect((await a.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'hello across', userId: 'x-1' } })).status).toBe(200);
    const reply = await onB.next((f) => f.event === 'message.created' && f.data.message.content === 'short answer', 'the reply, across processes');
    expect(reply.data.agentId).toBe(agent.id);
    await onB.next((f) => f.event === 'conversation.updated' && f.data.conversationId === reply.data.conversationId, 'conversation.updated');
    // 12 000 bytes do not fit in a notification: B loads the message by its id.
    expect((await a.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'long one please', userId: 'x-1' } })).status).toBe(200);
    const long = await onB.next((f) => f.event === 'message.created' && f.data.message.role === 'assistant' && f.data.message.content.length === 6000, 'the long reply');
    expect(long.data.message.content).toBe('é'.repeat(6000));
    // Each event arrives once, not once per process.
    expect(onB.frames.filter((f) => f.event === 'message.created' && f.data.message.id === reply.data.message.id)).toHaveLength(1);
  });

  it('carries many events published in one turn to the other process, every one, in order', async () => {
    // They travel together (one pg_notify per event in one query); the other process hears them as published.
    const heard: string[] = [];
    const off = b.server.services.events.subscribe((e) => { if (e.conversationId.startsWith('burst-')) heard.push(e.conversationId); });
    try {
      const sent = Array.from({ length: 250 }, (_, i) => `burst-${i}`);
      for (const id of sent) a.server.services.events.publish({ type: 'conversation.updated', agentId: 'burst-agent', conversationId: id });
      await eventually(() => heard.length >= sent.length, 10_000, 'all 250 events');
      expect(heard).toEqual(sent);
    } finally { off(); }
  });

  it('reconnects after losing its database connection, and events flow again', async () => {
    const token = await a.owner();
    const agent = (await a.api('/api/agents', { token, body: { name: 'After the cut' } })).body;
    const onB = await openStream(b, { token });
    streams.push(onB);
    await onB.next((f) => f.event === 'ready', 'ready');
    // The database drops both processes' listening connections (as a failover or an idle-timeout would).
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    try {
      const r = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [applicationName(a.schema)]);
      expect(r.rowCount).toBe(2);
    } finally { await admin.end(); }
    const busOf = (app: TestApp) => app.server.services.events as unknown as { connected(): boolean };
    await eventually(() => !busOf(a).connected() && !busOf(b).connected(), 5000, 'the loss noticed');
    await eventually(() => busOf(a).connected() && busOf(b).connected(), 10_000, 'reconnected');
    expect((await a.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'after the cut', userId: 'x-2' } })).status).toBe(200);
    await onB.next((f) => f.event === 'message.created' && f.data.message.content === 'after the cut', 'an event after reconnecting');
  });
});
