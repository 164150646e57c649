import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, manualClock, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeWhatsApp, type FakeWhatsApp } from '../fakes/whatsapp-server.js';
import { readSse } from '../helpers/test-app.js';

const WA = { token: 'EAAG-link-token', phoneNumberId: '106540352242999', appSecret: 'link-secret' };
const PHONE = '5511988880001';

describe('web ↔ WhatsApp linking', () => {
  let app: TestApp;
  let wa: FakeWhatsApp;
  let slug: string;
  let cookie = '';
  let token = '';

  beforeAll(async () => {
    wa = await startFakeWhatsApp({ token: WA.token, phoneNumberId: WA.phoneNumberId, appSecret: WA.appSecret });
    app = await startTestApp({ publicUrl: true, env: { WHATSAPP_TOKEN: WA.token, WHATSAPP_PHONE_NUMBER_ID: WA.phoneNumberId, WHATSAPP_APP_SECRET: WA.appSecret, WHATSAPP_GRAPH_URL: wa.graphUrl } });
    token = await app.owner();
    slug = (await app.api('/api/agents', { token, body: { name: 'Recipe Helper', template: 'recipe-helper' } })).body.slug;
  });
  afterAll(async () => { await app?.close(); await wa?.close(); });

  const web = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${app.url}${path}`, {
      method: init.method ?? (init.body ? 'POST' : 'GET'),
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
    });
    const set = res.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0]!;
    return res;
  };
  const lastCode = () => /(\d{6})/.exec(wa.sent.filter((m) => m.to === PHONE).at(-1)?.text ?? '')?.[1];

  it('links a browser and a phone with a one-time code sent over WhatsApp, then they share conversations', async () => {
    // The phone talks to the agent on WhatsApp first (this also opens the 24-hour window).
    await wa.deliverMessage(`${app.url}/webhooks/whatsapp`, { from: PHONE, text: 'Soup ideas from WhatsApp' });
    await eventually(() => wa.sent.some((m) => m.to === PHONE), 5000, 'whatsapp reply');

    // The browser chats separately.
    await readSse(await web(`/api/public/agents/${slug}/chat`, { body: { text: 'hello from the browser' } }));
    expect((await (await web('/api/public/link')).json() as any).linked).toBe(false);

    const bad = await web('/api/public/link/start', { body: { phone: '123' } });
    expect(bad.status).toBe(400);
    const start = await web('/api/public/link/start', { body: { phone: `+${PHONE}` } });
    expect(start.status).toBe(200);
    expect(await start.json()).toMatchObject({ sent: true, phone: '+55 •••• 0001' });
    const code = lastCode()!;
    expect(code).toMatch(/^\d{6}$/);

    const wrong = await web('/api/public/link/verify', { body: { code: code === '000000' ? '111111' : '000000' } });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as any).error.code).toBe('wrong_code');
    const ok = await web('/api/public/link/verify', { body: { code } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ linked: true });
    // Single use.
    expect((await web('/api/public/link/verify', { body: { code } })).status).toBe(400);

    // The browser now sees the WhatsApp conversation, and a reply on one shows on the other.
    const hist = (await (await web(`/api/public/agents/${slug}/conversation`)).json()) as any;
    expect(hist.messages.map((m: { content: string }) => m.content)).toContain('Soup ideas from WhatsApp');
    expect(hist.messages.find((m: { content: string }) => m.content === 'Soup ideas from WhatsApp').channel).toBe('whatsapp');
    await readSse(await web(`/api/public/agents/${slug}/chat`, { body: { text: 'typed on the web after linking' } }));
    await wa.deliverMessage(`${app.url}/webhooks/whatsapp`, { from: PHONE, text: 'and again from the phone' });
    await eventually(async () => {
      const h = (await (await web(`/api/public/agents/${slug}/conversation`)).json()) as any;
      return h.messages.some((m: { content: string }) => m.content === 'Echo: and again from the phone');
    }, 5000, 'phone reply visible on the web');
    const model = (app.fake.requests() as any[]).at(-1)!;
    expect(model.messages.map((m: { content: string }) => m.content)).toEqual(expect.arrayContaining(['Soup ideas from WhatsApp', 'typed on the web after linking', 'and again from the phone']));

    // Unlinking separates them again.
    expect(((await (await web('/api/public/link', { method: 'DELETE' })).json()) as any).linked).toBe(false);
    const after = (await (await web(`/api/public/agents/${slug}/conversation`)).json()) as any;
    expect(after.messages.map((m: { content: string }) => m.content)).not.toContain('and again from the phone');
  });

  it('rate-limits code requests and wrong attempts', async () => {
    cookie = '';
    const phone = '5511988880002';
    await wa.deliverMessage(`${app.url}/webhooks/whatsapp`, { from: phone, text: 'hi' });
    for (let i = 0; i < 3; i++) expect((await web('/api/public/link/start', { body: { phone } })).status).toBe(200);
    const fourth = await web('/api/public/link/start', { body: { phone } });
    expect(fourth.status).toBe(429);
    for (let i = 0; i < 5; i++) await web('/api/public/link/verify', { body: { code: '999999' } });
    const sixth = await web('/api/public/link/verify', { body: { code: '999999' } });
    expect([400, 429]).toContain(sixth.status);
    expect(((await (await web('/api/public/link')).json()) as any).linked).toBe(false);
  });

  it('records a link code like a reply, masked, with its delivery receipts', async () => {
    const other = '5511988880077';
    const hook = `${app.url}/webhooks/whatsapp`;
    await wa.deliverMessage(hook, { from: other, text: 'hi there' });
    await eventually(() => wa.sent.some((m) => m.to === other), 5000, 'whatsapp reply');
    cookie = '';
    expect((await web('/api/public/link/start', { body: { phone: `+${other}` } })).status).toBe(200);
    const sent = wa.sent.filter((m) => m.to === other).at(-1)!;
    const code = /(\d{6})/.exec(sent.text ?? '')![1]!;
    await wa.deliverStatus(hook, { id: sent.id, status: 'delivered', recipientId: other });
    await wa.deliverStatus(hook, { id: sent.id, status: 'read', recipientId: other });
    await wa.deliverStatus(hook, { id: sent.id, status: 'delivered', recipientId: other }); // late and out of order: ignored
    const out = (await app.api('/api/channels/outbound', { token })).body.messages as any[];
    const link = out.find((m) => m.purpose === 'link_code' && m.recipient === other);
    expect(link).toMatchObject({ channel: 'whatsapp', status: 'sent', delivery: 'read', providerMessageId: sent.id });
    expect(link.text).not.toContain(code);
    expect(link.text).toContain('••••••');
    expect(out.find((m) => m.purpose === 'reply' && m.recipient === other)).toBeTruthy();
  });
});

describe('link codes hold their limits', () => {
  const clock = manualClock(Date.parse('2026-11-25T09:00:00Z'));
  let app: TestApp;
  let wa: FakeWhatsApp;

  beforeAll(async () => {
    wa = await startFakeWhatsApp({ token: WA.token, phoneNumberId: WA.phoneNumberId, appSecret: WA.appSecret });
    app = await startTestApp({ clock, publicUrl: true, env: { WHATSAPP_TOKEN: WA.token, WHATSAPP_PHONE_NUMBER_ID: WA.phoneNumberId, WHATSAPP_APP_SECRET: WA.appSecret, WHATSAPP_GRAPH_URL: wa.graphUrl } });
  });
  afterAll(async () => { await app?.close(); await wa?.close(); });

  /** A browser of its own (its own visitor cookie), with a code sent to `phone`. */
  async function browserWithCode(phone: string) {
    let cookie = '';
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify(body) });
      const set = res.headers.get('set-cookie');
      if (set) cookie = set.split(';')[0]!;
      return { status: res.status, body: (await res.json()) as any };
    };
    await wa.deliverMessage(`${app.url}/webhooks/whatsapp`, { from: phone, text: 'hi' }); // opens the 24-hour window
    expect((await post('/api/public/link/start', { phone: `+${phone}` })).status).toBe(200);
    const code = /(\d{6})/.exec(wa.sent.filter((m) => m.to === phone).at(-1)?.text ?? '')![1]!;
    return { code, verify: (c: string) => post('/api/public/link/verify', { code: c }) };
  }

  it('counts at most five tries even when ten wrong guesses arrive at once; then the right code is refused too', async () => {
    const { code, verify } = await browserWithCode('5511988880101');
    const wrong = code === '000000' ? '111111' : '000000';
    const answers = await Promise.all(Array.from({ length: 10 }, () => verify(wrong)));
    const wrongCode = answers.filter((a) => a.status === 400 && a.body.error.code === 'wrong_code');
    const refused = answers.filter((a) => a.status === 429 && a.body.error.code === 'too_many_attempts');
    expect(wrongCode.length).toBeLessThanOrEqual(5);
    expect(wrongCode.length + refused.length).toBe(10);
    const right = await verify(code);
    expect(right.status).toBe(429);
    expect(right.body.error.code).toBe('too_many_attempts');
  });

  it('refuses a code older than ten minutes', async () => {
    const { code, verify } = await browserWithCode('5511988880102');
    clock.advance(10 * 60_000 + 1_000);
    const late = await verify(code);
    expect(late.status).toBe(400);
    expect(late.body.error.code).toBe('code_expired');
  });
});
