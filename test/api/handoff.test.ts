/**
 * Handoff requested by the agent (the `handoff` tool) or the person (trigger phrases), over real HTTP:
 * the conversation is marked needsHuman with the reason once, the person is told once, the owner
 * hears of it through a signed webhook `conversation.needs_human` and e-mail, the agent stays quiet
 * while waiting only when set to, the tool obeys the policy, and customers count only their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { eventually, startTestApp, type TestApp } from '../helpers/test-app.js';
import { contentText, type ChatRequest } from '../fakes/openai-server.js';
import { startFakeSmtp, type FakeSmtp } from '../fakes/smtp-server.js';
import { startFakeTelegram, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';

const TG_TOKEN = '333333333:AAHdqTcvCH1vGWJxfSeofSAs0K5PALhandoff';
const TOLD = "I've asked a colleague to join; they will reply here.";

/** "CALL tool {json}" makes the fake model call that tool; a tool result is read back. */
function toolModel(req: ChatRequest) {
  const last = req.messages?.at(-1);
  if (last?.role === 'tool') return `Tool said: ${contentText(last.content)}`;
  const m = /^CALL (\S+) (.*)$/s.exec(contentText(last?.content));
  if (m) return { kind: 'tool_calls' as const, calls: [{ name: m[1]!, arguments: m[2]! }] };
  return `Echo: ${contentText(last?.content)}`;
}

/** A webhook receiver that records raw bodies and headers. */
async function startReceiver() {
  const hits: { body: string; headers: Record<string, string | string[] | undefined> }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { hits.push({ body, headers: req.headers }); res.writeHead(204).end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('handoff', () => {
  let app: TestApp;
  let token: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let smtp: FakeSmtp;
  let tg: FakeTelegram;

  const newAgent = async (body: Record<string, unknown>, as = token) => {
    const r = await app.api('/api/agents', { token: as, body });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; name: string; tools: any };
  };
  const say = async (agentId: string, text: string, userId: string, as = token) => {
    const r = await app.api(`/api/agents/${agentId}/message`, { token: as, body: { text, userId } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as { reply: string; conversationId: string };
  };
  const conversation = async (id: string, as = token) => (await app.api(`/api/conversations/${id}`, { token: as })).body;
  const hooksFor = (conversationId: string) => receiver.hits.filter((h) => JSON.parse(h.body).conversationId === conversationId);
  const chatCalls = () => app.fake.requests().filter((r) => !String(r.messages?.[0]?.content ?? '').startsWith('You write the memory'));

  beforeAll(async () => {
    receiver = await startReceiver();
    smtp = await startFakeSmtp();
    tg = await startFakeTelegram({ bots: [{ token: TG_TOKEN, username: 'HandoffBot' }] });
    app = await startTestApp({ publicUrl: true, env: { TELEGRAM_API_ROOT: tg.apiRoot, SWITCHBOARD_JOB_RETRY_SECONDS: '1' } });
    app.fake.setDefault(toolModel);
    token = await app.owner();
    const alerts = await app.api('/api/settings/alerts', { method: 'PUT', token, body: {
      webhookUrl: receiver.url, webhookSecret: 'hand-secret',
      email: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'switchboard@example.com', to: ['owner@example.com'] },
    } });
    expect(alerts.status).toBe(200);
  }, 30_000);
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
    await smtp?.close();
    await tg?.close();
  });

  it('offers the handoff tool by default, in the catalog like any tool', async () => {
    const agent = await newAgent({ name: 'Offers' });
    expect(agent.tools.effective).toContain('handoff');
    expect(agent.tools.catalog).toContainEqual(expect.objectContaining({ name: 'handoff', available: true }));
    await say(agent.id, 'hello', 'offered');
    const offered = (app.fake.requests().at(-1)?.tools ?? []).map((t: any) => t.function?.name);
    expect(offered).toContain('handoff');
    const tool = app.fake.requests().at(-1)!.tools!.find((t: any) => t.function?.name === 'handoff');
    expect(tool.function.parameters).toMatchObject({ type: 'object', required: ['reason'], properties: { reason: { type: 'string', maxLength: 500 } } });
  });

  it('marks the conversation by tool call, tells the person once and the owner by signed webhook and e-mail', async () => {
    const agent = await newAgent({ name: 'Helpdesk' });
    const first = await say(agent.id, 'CALL handoff {"reason":"wants a refund over the limit"}', 'refund-person');
    expect(first.reply).toMatch(/^Tool said: A person from the team has been asked to join/);

    const c = await conversation(first.conversationId);
    expect(c).toMatchObject({ needsHuman: true, handoffReason: 'wants a refund over the limit' });
    expect(c.messages.filter((m: any) => m.content === TOLD)).toEqual([expect.objectContaining({ role: 'assistant', author: { type: 'agent' } })]);

    // Asked again: nothing new is sent to anyone.
    const again = await say(agent.id, 'CALL handoff {"reason":"still waiting"}', 'refund-person');
    expect(again.reply).toMatch(/already been asked/);
    expect((await conversation(first.conversationId)).messages.filter((m: any) => m.content === TOLD)).toHaveLength(1);
    expect((await conversation(first.conversationId)).handoffReason).toBe('wants a refund over the limit');

    const [hook] = (await eventually(() => (hooksFor(first.conversationId).length ? hooksFor(first.conversationId) : undefined), 10_000, 'webhook'))!;
    expect(hook!.headers['x-switchboard-event']).toBe('conversation.needs_human');
    expect(hook!.headers['x-switchboard-signature']).toBe(`sha256=${createHmac('sha256', 'hand-secret').update(hook!.body).digest('hex')}`);
    const body = JSON.parse(hook!.body);
    expect(body).toEqual({
      type: 'conversation.needs_human', conversationId: first.conversationId, agentId: agent.id, agentName: 'Helpdesk',
      personId: c.personId, channel: 'api', reason: 'wants a refund over the limit', at: expect.any(String),
    });
    expect(hook!.body).not.toContain('CALL handoff'); // no message text beyond the reason

    const mail = (await eventually(() => smtp.mails.find((m) => m.subject.includes('Helpdesk')), 10_000, 'e-mail'))!;
    expect(mail.to).toEqual(['owner@example.com']);
    expect(mail.subject).toBe('[Switchboard] Helpdesk: a conversation needs a person');
    expect(mail.text).toContain('wants a refund over the limit');
    expect(mail.text).toContain(`/dashboard/conversations/${first.conversationId}`);

    await app.server.services.queue.drain();
    expect(hooksFor(first.conversationId)).toHaveLength(1);
    expect(smtp.mails.filter((m) => m.subject.includes('Helpdesk'))).toHaveLength(1);
  });

  it('tells a Telegram person once, on Telegram, before the agent answers, and the owner in their Telegram chat', async () => {
    const agent = await newAgent({ name: 'Telegrammed' });
    const bad = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { handoff: { notifyTelegramChatId: '@owner' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe('handoff.notifyTelegramChatId');
    const set = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: TG_TOKEN, handoff: { notifyTelegramChatId: '9001' } } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.handoff.notifyTelegramChatId).toBe('9001');
    await tg.deliver(TG_TOKEN, textUpdate({ chatId: 8101, text: 'CALL handoff {"reason":"angry about a delivery"}' }));
    await eventually(() => tg.messagesTo(8101).length >= 2, 10_000, 'telegram messages');
    expect(tg.messagesTo(8101)[0]).toBe(TOLD);
    expect(tg.messagesTo(8101)[1]).toMatch(/^Tool said: A person from the team/);
    const hook = await eventually(() => receiver.hits.map((h) => JSON.parse(h.body)).find((b) => b.agentId === agent.id), 10_000, 'webhook');
    expect(hook).toMatchObject({ channel: 'telegram', reason: 'angry about a delivery' });
    expect(tg.messagesTo(8101)).toHaveLength(2);
    const [owner] = (await eventually(() => (tg.messagesTo(9001).length ? tg.messagesTo(9001) : undefined), 10_000, 'owner telegram'))!;
    expect(owner).toContain('Telegrammed');
    expect(owner).toContain('angry about a delivery');
    await app.server.services.queue.drain();
    expect(tg.messagesTo(9001)).toHaveLength(1);
  });

  it('marks the conversation by trigger phrase, whole words only, in any configured language', async () => {
    const agent = await newAgent({ name: 'Triggered' });
    expect((await say(agent.id, 'That was a humane answer, thanks', 'words')).reply).toBe('Echo: That was a humane answer, thanks');
    expect((await say(agent.id, 'the operators manual please', 'words')).reply).toBe('Echo: the operators manual please');
    const before = chatCalls().length;
    const asked = await say(agent.id, 'Can I talk to a REAL   person?', 'words');
    expect(asked.reply).toBe(TOLD); // this turn is the handoff message, not the model's
    expect(chatCalls()).toHaveLength(before);
    const c = await conversation(asked.conversationId);
    expect(c).toMatchObject({ needsHuman: true, handoffReason: 'the person asked: "real person"' });
    // Already waiting: no second request; the agent keeps answering (pauseWhileWaiting is off).
    expect((await say(agent.id, 'human, please!', 'words')).reply).toBe('Echo: human, please!');
    expect((await conversation(asked.conversationId)).messages.filter((m: any) => m.content === TOLD)).toHaveLength(1);

    const set = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { handoff: { triggers: ['atendente', 'ser humano', '人工客服'], requestedMessage: 'Já chamei um colega.' } } });
    expect(set.status).toBe(200);
    expect(set.body.handoff).toMatchObject({ triggers: ['atendente', 'ser humano', '人工客服'], requestedMessage: 'Já chamei um colega.', pauseWhileWaiting: false });
    expect((await say(agent.id, 'Quero falar com um ATENDENTE', 'pt')).reply).toBe('Já chamei um colega.');
    expect((await say(agent.id, 'sou humano e atendentes', 'pt2')).reply).toBe('Echo: sou humano e atendentes');
    expect((await say(agent.id, '我要人工客服', 'zh')).reply).toBe('Já chamei um colega.');
    expect((await say(agent.id, 'I want a human', 'en')).reply).toBe('Echo: I want a human'); // no longer a trigger
  });

  it('stays quiet while waiting only when pauseWhileWaiting is on', async () => {
    const agent = await newAgent({ name: 'Quiet', handoff: { pauseWhileWaiting: true } });
    const asked = await say(agent.id, 'operator', 'waiting');
    expect(asked.reply).toBe(TOLD);
    const before = chatCalls().length;
    const quiet = await say(agent.id, 'hello? anyone?', 'waiting');
    expect(quiet).toMatchObject({ reply: '', conversationId: asked.conversationId });
    expect(chatCalls()).toHaveLength(before);
    const c = await conversation(asked.conversationId);
    expect(c.messages.at(-1)).toMatchObject({ role: 'user', content: 'hello? anyone?' });
    // Someone else is answered as usual.
    expect((await say(agent.id, 'hi', 'not-waiting')).reply).toBe('Echo: hi');
    // Switched off: the waiting person is answered again.
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { handoff: { pauseWhileWaiting: false } } });
    expect((await say(agent.id, 'still there?', 'waiting')).reply).toBe('Echo: still there?');
  });

  it('obeys the tool policy: a denied handoff is neither offered nor run', async () => {
    const agent = await newAgent({ name: 'Denied' });
    const r = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { tools: { allow: ['group:memory', 'group:handoff'], deny: ['handoff'] } } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.tools.effective).not.toContain('handoff');
    const refused = await say(agent.id, 'CALL handoff {"reason":"test"}', 'denied');
    expect(refused.reply).toMatch(/^Tool said: Error: the tool "handoff" is not enabled for this agent/);
    expect((app.fake.requests().at(-1)?.tools ?? []).map((t: any) => t.function?.name)).not.toContain('handoff');
    expect((await conversation(refused.conversationId)).needsHuman).toBe(false);
  });

  it('counts conversations waiting for a person; a customer sees only their own', async () => {
    const mk = async (email: string) => {
      expect((await app.api('/api/users', { token, body: { email, password: 'correct horse battery', role: 'customer' } })).status).toBe(201);
      return (await app.api('/api/auth/login', { body: { email, password: 'correct horse battery' } })).body.token as string;
    };
    const alice = await mk('alice-handoff@example.com');
    const bob = await mk('bob-handoff@example.com');
    const count = async (t: string) => (await app.api('/api/conversations/needs-human/count', { token: t })).body.count as number;
    expect(await count(alice)).toBe(0);
    const ownerBefore = await count(token);
    const agent = await newAgent({ name: 'Alice Shop' }, alice);
    const asked = await say(agent.id, 'I need a human', 'alice-customer', alice);
    expect(asked.reply).toBe(TOLD);
    expect(await count(alice)).toBe(1);
    expect(await count(bob)).toBe(0);
    expect(await count(token)).toBe(ownerBefore + 1);
    expect((await app.api(`/api/conversations/${asked.conversationId}`, { token: bob })).status).toBe(404);
    expect((await app.api('/api/conversations/needs-human/count')).status).toBe(401);
    // The customer hears of it by e-mail too (the operator's alert address and the customer's own).
    const mail = (await eventually(() => smtp.mails.find((m) => m.subject.includes('Alice Shop')), 10_000, 'e-mail'))!;
    expect(mail.to.sort()).toEqual(['alice-handoff@example.com', 'owner@example.com']);
  });
});
