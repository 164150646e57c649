/**
 * One message-length limit per installation, the same on every way in (issue 14.3). The operator
 * sets it in Settings (PATCH /api/settings); GET /api/meta shows it. A message over it is refused
 * whole — never cut — before anything is stored or a model is called: the web chat and the message
 * API answer 400 message_too_long, /v1 answers it in OpenAI's error shape (param "messages"),
 * Telegram and WhatsApp send the person "Your message is too long (max N characters)…".
 * Real server over real HTTP, fake upstreams; runs on PostgreSQL too (TEST_DATABASE_URL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, readSse, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeTelegram, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';
import { startFakeWhatsApp, type FakeWhatsApp } from '../fakes/whatsapp-server.js';

const BOT = '366666666:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDlim1';
const WA = { token: 'EAAG-limits', phoneNumberId: '106540352242799', appSecret: 'limits-secret' };
const LIMIT = 200;
const TOO_LONG = `Your message is too long (max ${LIMIT} characters). Please shorten it and send it again.`;
const ENTRY_POINTS = ['web chat', 'message API', '/v1/chat/completions', 'Telegram', 'WhatsApp'] as const;
type EntryPoint = (typeof ENTRY_POINTS)[number];
type Seen = { text: string; status?: number; code?: string; body?: unknown };

describe('one message-length limit on every way in', () => {
  let app: TestApp;
  let tg: FakeTelegram;
  let wa: FakeWhatsApp;
  let owner: string;
  let agent: { id: string; slug: string };
  let secret: string;
  let chatId = 9100;
  let phone = 0;

  beforeAll(async () => {
    tg = await startFakeTelegram({ bots: [{ token: BOT, username: 'LimitsBot' }] });
    wa = await startFakeWhatsApp({ token: WA.token, phoneNumberId: WA.phoneNumberId, appSecret: WA.appSecret });
    app = await startTestApp({ publicUrl: true, env: {
      TELEGRAM_API_ROOT: tg.apiRoot, WHATSAPP_TOKEN: WA.token, WHATSAPP_PHONE_NUMBER_ID: WA.phoneNumberId, WHATSAPP_APP_SECRET: WA.appSecret, WHATSAPP_GRAPH_URL: wa.graphUrl,
    } });
    owner = await app.owner();
    agent = (await app.api('/api/agents', { token: owner, body: { name: 'Limits' } })).body;
    const r = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token: owner, body: { listed: true, telegramBotToken: BOT } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    secret = tg.bots.get(BOT)!.webhook!.secret!;
  }, 60_000);
  afterAll(async () => { await app?.close(); await tg?.close(); await wa?.close(); });

  async function send(entry: EntryPoint, text: string): Promise<Seen> {
    switch (entry) {
      case 'web chat': {
        const res = await fetch(`${app.url}/api/public/agents/${agent.slug}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
        if (res.status !== 200) {
          const body = (await res.json()) as { error: { code: string; message: string } };
          return { status: res.status, code: body.error.code, text: body.error.message };
        }
        const end = (await readSse(res)).find((f) => f.event === 'done' || f.event === 'error')!;
        return { status: 200, text: end.data.reply ?? end.data.message };
      }
      case 'message API': {
        const r = await app.api(`/api/agents/${agent.id}/message`, { token: owner, body: { text } });
        return r.status === 200 ? { status: 200, text: r.body.reply } : { status: r.status, code: r.body.error.code, text: r.body.error.message };
      }
      case '/v1/chat/completions': {
        const r = await app.api('/v1/chat/completions', { token: owner, body: { model: agent.slug, messages: [{ role: 'user', content: text }] } });
        return r.status === 200 ? { status: 200, text: r.body.choices[0].message.content } : { status: r.status, code: r.body.error.code, text: r.body.error.message, body: r.body };
      }
      case 'Telegram': {
        const chat = chatId++;
        const d = await tg.deliver(BOT, textUpdate({ chatId: chat, text }), { url: `${app.url}/webhooks/telegram/${agent.id}`, secret });
        expect(d.status).toBe(200);
        return { text: (await eventually(() => tg.messagesTo(chat)[0], 10_000, 'telegram reply'))! };
      }
      case 'WhatsApp': {
        const from = `55119800${String(phone++).padStart(5, '0')}`;
        await wa.deliverMessage(`${app.url}/webhooks/whatsapp`, { from, text });
        const m = await eventually(() => wa.sent.find((s) => s.to === from), 10_000, 'whatsapp reply');
        return { text: m!.text ?? m!.body?.text?.body };
      }
    }
  }

  it('is 16,000 characters by default, shown in /api/meta and the settings', async () => {
    expect((await app.api('/api/meta')).body.limits.message).toBe(16_000);
    expect((await app.api('/api/settings', { token: owner })).body).toMatchObject({ maxMessageChars: 16_000, maxMessageCharsSource: 'default', maxMessageCharsDefault: 16_000 });
  });

  it('takes a longer limit than the old fixed 16,000 on the JSON API (the setting decides, not the schema)', async () => {
    const set = await app.api('/api/settings', { method: 'PATCH', token: owner, body: { maxMessageChars: 20_000 } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const r = await app.api(`/api/agents/${agent.id}/message`, { token: owner, body: { text: 'x'.repeat(18_000) } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }, 30_000);

  it('refuses the setting out of range, and only operators may change it', async () => {
    const bad = await app.api('/api/settings', { method: 'PATCH', token: owner, body: { maxMessageChars: 5 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe('maxMessageChars');
    expect((await app.api('/api/settings', { method: 'PATCH', body: { maxMessageChars: 500 } })).status).toBe(401);
  });

  it('refuses a message one character over the limit on every way in, the same words, no model call, nothing stored', async () => {
    const set = await app.api('/api/settings', { method: 'PATCH', token: owner, body: { maxMessageChars: LIMIT } });
    expect(set.body).toMatchObject({ maxMessageChars: LIMIT, maxMessageCharsSource: 'settings' });
    expect((await app.api('/api/meta')).body.limits.message).toBe(LIMIT);
    const calls = app.fake.requests().length;
    const seen = {} as Record<EntryPoint, Seen>;
    for (const entry of ENTRY_POINTS) seen[entry] = await send(entry, 'y'.repeat(LIMIT + 1));
    const { body: v1, ...v1Seen } = seen['/v1/chat/completions'];
    seen['/v1/chat/completions'] = v1Seen;
    expect(seen).toEqual({
      'web chat': { status: 400, code: 'message_too_long', text: TOO_LONG },
      'message API': { status: 400, code: 'message_too_long', text: TOO_LONG },
      '/v1/chat/completions': { status: 400, code: 'message_too_long', text: TOO_LONG },
      Telegram: { text: TOO_LONG },
      WhatsApp: { text: TOO_LONG },
    });
    // OpenAI's error shape on /v1.
    expect(v1).toMatchObject({ error: { message: TOO_LONG, type: 'invalid_request_error', param: 'messages', code: 'message_too_long' } });
    expect(app.fake.requests().length).toBe(calls);
    // Nothing of it was stored in a conversation.
    const recent = await app.api(`/api/agents/${agent.id}/history`, { token: owner });
    expect(recent.status).toBe(200);
    expect(JSON.stringify(recent.body)).not.toContain('y'.repeat(LIMIT + 1));
  }, 60_000);

  it('answers a message exactly at the limit, counting characters as people do (an emoji is one)', async () => {
    const atLimit = '🙂'.repeat(LIMIT); // 400 UTF-16 units, 200 characters
    for (const entry of ['web chat', 'message API', '/v1/chat/completions'] as const) {
      const r = await send(entry, atLimit);
      expect(r.status, `${entry}: ${r.text}`).toBe(200);
      expect(r.text).toBe(`Echo: ${atLimit}`);
    }
  }, 30_000);

  it('goes back to the default when the setting is cleared', async () => {
    const r = await app.api('/api/settings', { method: 'PATCH', token: owner, body: { maxMessageChars: null } });
    expect(r.body).toMatchObject({ maxMessageChars: 16_000, maxMessageCharsSource: 'default' });
    expect((await app.api('/api/meta')).body.limits.message).toBe(16_000);
  });
});
