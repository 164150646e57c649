/**
 * Taking over conversations on messaging channels (issue 15): nothing the agent was answering is sent
 * after a takeover, the person's messages are kept but not answered, and a person's reply goes out on
 * the channel — Telegram's sendMessage, a WhatsApp send (Cloud API or Twilio) inside the 24-hour window.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, manualClock, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeTelegram, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';
import { startFakeWhatsApp, type FakeWhatsApp } from '../fakes/whatsapp-server.js';
import { startFakeTwilio, type FakeTwilio } from '../fakes/twilio-server.js';
import { wordChunks } from '../fakes/openai-server.js';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';

/** The inbox has nothing left to answer or send. */
const settled = (app: TestApp) => eventually(async () => {
  const c = await app.server.services.store.inbox.counts();
  return !c.queued && !c.processing;
}, 10_000, 'inbox settled');

/** The agent's newest conversation on a channel. */
async function latestConversation(app: TestApp, token: string, agentId: string, channel: string): Promise<string> {
  return eventually(async () => {
    const list = (await app.api(`/api/agents/${agentId}/conversations`, { token })).body.conversations as { id: string; channel: string }[];
    return list.find((c) => c.channel === channel)?.id;
  }, 5000, `a ${channel} conversation`) as Promise<string>;
}

const slowReply = (words = 80, delayMsBetweenChunks = 40) => {
  const text = Array.from({ length: words }, (_, i) => `w${i}`).join(' ');
  return { kind: 'text' as const, text, chunks: wordChunks(text), delayMsBetweenChunks };
};

describe('taking over a Telegram conversation', () => {
  let app: TestApp;
  let tg: FakeTelegram;
  let token: string;
  let agent: { id: string; slug: string };

  beforeAll(async () => {
    tg = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'DeskBot' }] });
    app = await startTestApp({ publicUrl: true, env: { TELEGRAM_API_ROOT: tg.apiRoot } });
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Desk Bot' } })).body;
    expect((await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: TOKEN } })).status).toBe(200);
  });
  afterAll(async () => { await app?.close(); await tg?.close(); });
  beforeEach(() => { app.fake.reset(); });

  it('sends nothing of the answer being generated when the conversation is taken over', async () => {
    await tg.deliver(TOKEN, textUpdate({ chatId: 7001, text: 'hello' }));
    await eventually(() => tg.messagesTo(7001).length === 1, 5000, 'first reply');
    const convId = await latestConversation(app, token, agent.id, 'telegram');
    app.fake.enqueue(slowReply());
    await tg.deliver(TOKEN, textUpdate({ chatId: 7001, text: 'a long answer please' }));
    await eventually(() => app.fake.requests().length === 2, 5000, 'the model answering');
    expect((await app.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token })).status).toBe(200);
    await settled(app);
    expect(tg.messagesTo(7001)).toEqual(['Echo: hello']);
    const conv = (await app.api(`/api/conversations/${convId}`, { token })).body;
    expect(conv.messages.at(-1)).toMatchObject({ role: 'assistant', status: 'error', error: 'cut: a person took over the conversation' });
  });

  it('drops the unsent parts of a reply whose first part is on its way', async () => {
    await tg.deliver(TOKEN, textUpdate({ chatId: 7002, text: 'hi' }));
    await eventually(() => tg.messagesTo(7002).length === 1, 5000, 'first reply');
    const convId = await latestConversation(app, token, agent.id, 'telegram');
    const long = `${'a'.repeat(4000)}\n\n${'b'.repeat(4000)}\n\n${'c'.repeat(100)}`;
    app.fake.setDefault(() => long);
    tg.enqueue('sendMessage', { delayMs: 700 }); // the first part is slow to go out
    const sends = tg.calls('sendMessage').length;
    await tg.deliver(TOKEN, textUpdate({ chatId: 7002, text: 'everything please' }));
    await eventually(() => tg.calls('sendMessage').length === sends + 1, 5000, 'the first part being sent');
    expect((await app.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token })).status).toBe(200);
    await settled(app);
    expect(tg.messagesTo(7002)).toHaveLength(2); // the first reply, and the part already in flight
    const parts = (await app.api(`/api/channels/outbound?agentId=${agent.id}`, { token })).body.messages
      .filter((m: { recipient: string; purpose: string }) => m.recipient === '7002' && m.purpose === 'reply');
    expect(parts.filter((p: { status: string }) => p.status === 'dropped').length).toBeGreaterThanOrEqual(1);
  });

  it("keeps the person's messages in human mode without answering, and delivers a person's reply with sendMessage", async () => {
    await tg.deliver(TOKEN, textUpdate({ chatId: 7003, text: 'start' }));
    await eventually(() => tg.messagesTo(7003).length === 1, 5000, 'first reply');
    const convId = await latestConversation(app, token, agent.id, 'telegram');
    expect((await app.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token })).status).toBe(200);
    app.fake.reset();
    const typingTo = () => tg.bots.get(TOKEN)!.chatActions.filter((a) => String(a.chatId) === '7003').length;
    const typingBefore = typingTo();
    await tg.deliver(TOKEN, textUpdate({ chatId: 7003, text: 'can a human help?' }));
    await eventually(async () => (await app.api(`/api/conversations/${convId}`, { token })).body.messages.at(-1)?.content === 'can a human help?', 5000, 'stored');
    await settled(app);
    expect(app.fake.requests()).toHaveLength(0);
    expect(tg.messagesTo(7003)).toEqual(['Echo: start']);
    expect(typingTo()).toBe(typingBefore); // the person sees nothing change: not even "typing…"
    const r = await app.api(`/api/conversations/${convId}/reply`, { token, body: { text: 'Hi, Dana here — how can I help?' } });
    expect(r.status).toBe(201);
    expect(tg.messagesTo(7003)).toEqual(['Echo: start', 'Hi, Dana here — how can I help?']);
    const out = (await app.api(`/api/channels/outbound?agentId=${agent.id}`, { token })).body.messages;
    expect(out.find((m: { text: string }) => m.text === 'Hi, Dana here — how can I help?')).toMatchObject({ purpose: 'human_reply', status: 'sent' });
    const conv = (await app.api(`/api/conversations/${convId}`, { token })).body;
    expect(conv.messages.at(-1)).toMatchObject({ channel: 'telegram', author: { type: 'human', name: 'owner' } });
  });
});

describe('taking over a WhatsApp (Cloud API) conversation, manual clock', () => {
  const WA = { token: 'EAAG-test-token', phoneNumberId: '106540352242922', appSecret: 'app-secret-123', verifyToken: 'verify-me' };
  const clock = manualClock(Date.now());
  let app: TestApp;
  let wa: FakeWhatsApp;
  let token: string;
  let agent: { id: string };
  let hook: string;

  beforeAll(async () => {
    wa = await startFakeWhatsApp({ token: WA.token, phoneNumberId: WA.phoneNumberId, appSecret: WA.appSecret });
    app = await startTestApp({ publicUrl: true, clock, env: {
      WHATSAPP_TOKEN: WA.token, WHATSAPP_PHONE_NUMBER_ID: WA.phoneNumberId, WHATSAPP_APP_SECRET: WA.appSecret,
      WHATSAPP_VERIFY_TOKEN: WA.verifyToken, WHATSAPP_GRAPH_URL: wa.graphUrl, SWITCHBOARD_SESSION_SWEEP_SECONDS: '3600',
    } });
    token = await app.owner();
    hook = `${app.url}/webhooks/whatsapp`;
    agent = (await app.api('/api/agents', { token, body: { name: 'Shop Assistant', sessionTimeoutMinutes: 10_000 } })).body;
  });
  afterAll(async () => { await app?.close(); await wa?.close(); });
  beforeEach(() => { app.fake.reset(); });

  const repliesTo = (phone: string) => wa.sent.filter((m) => m.to === phone).map((m) => m.text ?? m.body?.text?.body);
  /** Delivers a message and moves the clock past the inbox's settling time, so the worker picks it. */
  const say = async (phone: string, text: string) => {
    await wa.deliverMessage(hook, { from: phone, text });
    clock.advance(1000);
    app.server.services.inbox.notify();
  };

  it('sends nothing of the answer being generated when the conversation is taken over', async () => {
    const phone = '5511900000001';
    await say(phone, 'hello');
    await eventually(() => repliesTo(phone).length === 1, 5000, 'first reply');
    const convId = await latestConversation(app, token, agent.id, 'whatsapp');
    app.fake.enqueue(slowReply());
    await say(phone, 'tell me everything');
    await eventually(() => app.fake.requests().length === 2, 5000, 'the model answering');
    expect((await app.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token })).status).toBe(200);
    await settled(app);
    expect(repliesTo(phone)).toEqual(['Echo: hello']);
  });

  it("delivers a person's reply inside the 24-hour window, and refuses it outside with 409 outside_window, storing nothing", async () => {
    const phone = '5511900000002';
    await say(phone, 'is my parcel coming?');
    await eventually(() => repliesTo(phone).length === 1, 5000, 'first reply');
    const convId = await latestConversation(app, token, agent.id, 'whatsapp');
    const r = await app.api(`/api/conversations/${convId}/reply`, { token, body: { text: 'Yes — tomorrow morning.' } });
    expect(r.status).toBe(201);
    expect(repliesTo(phone)).toEqual(['Echo: is my parcel coming?', 'Yes — tomorrow morning.']);
    const before = (await app.api(`/api/conversations/${convId}`, { token })).body.messages.length;
    clock.advance(24 * 3_600_000 + 60_000);
    const late = await app.api(`/api/conversations/${convId}/reply`, { token, body: { text: 'Any other question?' } });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('outside_window');
    expect(late.body.error.message).toMatch(/template/);
    expect((await app.api(`/api/conversations/${convId}`, { token })).body.messages).toHaveLength(before);
    expect(repliesTo(phone)).toHaveLength(2);
  });
});

describe('a person replying over WhatsApp through Twilio', () => {
  const SID = 'AC' + 'b'.repeat(32);
  const AUTH = 'twilio-auth-token';
  let app: TestApp;
  let tw: FakeTwilio;
  let token: string;
  let agent: { id: string };

  beforeAll(async () => {
    tw = await startFakeTwilio({ accountSid: SID, authToken: AUTH });
    app = await startTestApp({ publicUrl: true, env: { TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: AUTH, TWILIO_WHATSAPP_FROM: '+14155238886', TWILIO_API_URL: tw.apiUrl } });
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Writing Coach', template: 'writing-coach' } })).body;
  });
  afterAll(async () => { await app?.close(); await tw?.close(); });

  it('takes over, keeps the next message unanswered, and sends the reply through Twilio', async () => {
    const hook = `${app.url}/webhooks/twilio`;
    await tw.deliver(hook, { From: 'whatsapp:+5511988880001', Body: 'Fix my intro' }, { publicUrl: app.url });
    await eventually(() => tw.sent.length === 1, 5000, 'twilio reply');
    const convId = await latestConversation(app, token, agent.id, 'whatsapp');
    expect((await app.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token })).status).toBe(200);
    app.fake.reset();
    await tw.deliver(hook, { From: 'whatsapp:+5511988880001', Body: 'Hello? A person please' }, { publicUrl: app.url });
    await eventually(async () => (await app.api(`/api/conversations/${convId}`, { token })).body.messages.at(-1)?.content === 'Hello? A person please', 5000, 'stored');
    await settled(app);
    expect(tw.sent).toHaveLength(1);
    expect(app.fake.requests()).toHaveLength(0);
    const r = await app.api(`/api/conversations/${convId}/reply`, { token, body: { text: 'Sure, send it over.' } });
    expect(r.status).toBe(201);
    expect(tw.sent.at(-1)).toMatchObject({ to: 'whatsapp:+5511988880001', body: 'Sure, send it over.' });
  });
});

describe('a takeover in another server process (shared database)', () => {
  const TOKEN2 = '424242425:EEHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw5';
  let tg: FakeTelegram;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    tg = await startFakeTelegram({ bots: [{ token: TOKEN2, username: 'TwoProcBot' }] });
    a = await startTestApp({ publicUrl: true, env: { TELEGRAM_API_ROOT: tg.apiRoot } });
    b = await startTestApp({ publicUrl: true, shareWith: a, env: { TELEGRAM_API_ROOT: tg.apiRoot } });
    await b.server.services.inbox.stop(); // A's worker answers everything
  });
  afterAll(async () => { await b?.close(); await a?.close(); await tg?.close(); });

  it("stops A's worker from sending a reply that B's operator took over while it was generated", async () => {
    const token = await a.owner();
    const agent = (await a.api('/api/agents', { token, body: { name: 'Two Process Desk' } })).body;
    expect((await a.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: TOKEN2 } })).status).toBe(200);
    const secret = tg.bots.get(TOKEN2)!.webhook!.secret!;
    const url = `${a.url}/webhooks/telegram/${agent.id}`;
    await tg.deliver(TOKEN2, textUpdate({ chatId: 7101, text: 'hello' }), { url, secret });
    await eventually(() => tg.messagesTo(7101).length === 1, 5000, 'first reply');
    const convId = await latestConversation(a, token, agent.id, 'telegram');
    a.fake.enqueue(slowReply(30, 30));
    await tg.deliver(TOKEN2, textUpdate({ chatId: 7101, text: 'and now a long one' }), { url, secret });
    await eventually(() => a.fake.requests().length === 2, 5000, 'the model answering in A');
    expect((await b.api(`/api/conversations/${convId}/takeover`, { method: 'POST', token })).status).toBe(200);
    await settled(a);
    expect(tg.messagesTo(7101)).toEqual(['Echo: hello']);
    const last = (await b.api(`/api/conversations/${convId}`, { token })).body.messages.at(-1);
    expect(last).toMatchObject({ role: 'assistant', status: 'error', error: 'cut: a person took over the conversation' });
  });
});
