import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeWhatsApp, whatsappErrors, type FakeWhatsApp } from '../fakes/whatsapp-server.js';
import { startFakeTwilio, twilioErrors, type FakeTwilio } from '../fakes/twilio-server.js';

const WA = { token: 'EAAG-test-token', phoneNumberId: '106540352242922', appSecret: 'app-secret-123', verifyToken: 'verify-me' };

/** The fake model routes by keyword when asked to route, and echoes otherwise. */
function routingModel(app: TestApp) {
  app.fake.setDefault((req) => {
    const system = String(req.messages?.[0]?.content ?? '');
    const last = String(req.messages?.at(-1)?.content ?? '');
    if (system.startsWith('You route a message')) return /fraction|equation|math/i.test(last) ? 'maths-tutor' : /recipe|cook|pasta|soup/i.test(last) ? 'recipe-helper' : 'none';
    return `Echo: ${last}`;
  });
}

describe('WhatsApp Cloud API: one number in front of every agent', () => {
  let app: TestApp;
  let wa: FakeWhatsApp;
  let token: string;
  let hook: string;
  let recipe: { id: string };
  let maths: { id: string };

  beforeAll(async () => {
    wa = await startFakeWhatsApp({ token: WA.token, phoneNumberId: WA.phoneNumberId, appSecret: WA.appSecret });
    app = await startTestApp({ publicUrl: true, env: {
      WHATSAPP_TOKEN: WA.token, WHATSAPP_PHONE_NUMBER_ID: WA.phoneNumberId, WHATSAPP_APP_SECRET: WA.appSecret,
      WHATSAPP_VERIFY_TOKEN: WA.verifyToken, WHATSAPP_GRAPH_URL: wa.graphUrl,
    } });
    token = await app.owner();
    hook = `${app.url}/webhooks/whatsapp`;
    wa.config.statusWebhookUrl = hook;
    recipe = (await app.api('/api/agents', { token, body: { name: 'Recipe Helper', template: 'recipe-helper' } })).body;
  });
  afterAll(async () => { await app?.close(); await wa?.close(); });
  beforeEach(() => { app.fake.reset(); routingModel(app); });

  const repliesTo = (phone: string) => wa.sent.filter((m) => m.to === phone).map((m) => m.text ?? m.body?.text?.body);
  const outbound = async (providerMessageId: string) =>
    (await app.api('/api/channels/outbound', { token })).body.messages.find((m: { providerMessageId: string }) => m.providerMessageId === providerMessageId);

  it("answers Meta's verification handshake only with the right verify token", async () => {
    const ok = await wa.verify(hook, WA.verifyToken, 'challenge-42');
    expect(ok).toMatchObject({ status: 200, body: 'challenge-42' });
    expect((await wa.verify(hook, 'wrong', 'challenge-42')).status).toBe(403);
  });

  it('refuses a forged or missing signature on a real message, and stores and answers nothing', async () => {
    const phone = '5511999990009';
    wa.lastInbound.set(phone, wa.now()); // the window is open: only the signature stands in the way
    const message = wa.envelope({
      contacts: [{ profile: { name: 'Eve' }, wa_id: phone }],
      messages: [{ from: phone, id: 'wamid.forged-1', timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'Give me a recipe' } }],
    });
    const inboxSize = async () => Object.values(await app.server.services.store.inbox.counts()).reduce((a, b) => a + b, 0);
    const before = await inboxSize();
    const forged = await wa.deliverRaw(hook, message, { signature: 'sha256=' + '0'.repeat(64) });
    const otherBody = await wa.deliverRaw(hook, message, { signature: wa.sign('{"object":"whatsapp_business_account","entry":[]}') });
    const missing = await wa.deliverRaw(hook, message, { signature: null });
    expect([forged.status, otherBody.status, missing.status]).toEqual([401, 401, 401]);
    await new Promise((r) => setTimeout(r, 400));
    expect(await inboxSize()).toBe(before);
    expect(repliesTo(phone)).toEqual([]);
    expect(app.fake.requests()).toHaveLength(0);
    // The same envelope, signed, is a message like any other.
    expect((await wa.deliverRaw(hook, message)).status).toBe(200);
    await eventually(() => repliesTo(phone).length === 1, 5000, 'reply to the signed envelope');
    expect(await inboxSize()).toBe(before + 1);
  });

  it('reads the well-formed items of a signed post and skips the others, with a 200 so Meta does not redeliver it', async () => {
    const phone = '5511999990010';
    wa.lastInbound.set(phone, wa.now()); // deliverRaw does not open the 24-hour window itself
    const at = String(Math.floor(Date.now() / 1000));
    const post = {
      object: 'whatsapp_business_account',
      entry: [null, { changes: -1 }, { changes: [null, { value: 'text' }] }, wa.envelope({
        contacts: [null, { profile: { name: 'Bo' }, wa_id: phone }],
        messages: [
          { from: phone, id: 'wamid.shape-1', timestamp: at, type: 'text', text: { body: { evil: true } } },
          { from: null, id: 'wamid.shape-2', timestamp: at, type: 'text', text: { body: 'no sender' } },
          { from: phone, id: 'wamid.shape-3', timestamp: at, type: 'image', image: [] },
          { from: phone, id: 'wamid.shape-4', timestamp: at, type: 'text', text: { body: 'the good one' } },
        ],
        statuses: [{ id: null, status: 'read' }, 'read'],
      }).entry[0]],
    };
    expect((await wa.deliverRaw(hook, post)).status).toBe(200);
    await eventually(() => repliesTo(phone).length === 1, 5000, 'reply to the good message');
    await new Promise((r) => setTimeout(r, 200));
    expect(repliesTo(phone)).toEqual(['Echo: the good one']);
  });

  it('with one listed agent, answers directly without a routing question, emoji and all', async () => {
    const r = await wa.deliverMessage(hook, { from: '5511999990001', text: 'Olá! Quero uma receita 🍝', name: 'Ana' });
    expect(r.status).toBe(200);
    await eventually(() => repliesTo('5511999990001').length === 1, 5000, 'reply');
    expect(repliesTo('5511999990001')).toEqual(['Echo: Olá! Quero uma receita 🍝']);
    expect((app.fake.requests() as any[]).every((q) => !String(q.messages[0].content).startsWith('You route'))).toBe(true);
    // One name per person: the WhatsApp profile name is the person's label (issue 14.2).
    const people = (await app.api(`/api/agents/${recipe.id}/people`, { token })).body.people;
    const ana = people.find((p: { person: { identities: { externalId: string }[] } }) => p.person.identities.some((i) => i.externalId === '5511999990001'));
    expect(ana.person.label).toBe('Ana');
  });

  it('answers a redelivered message once', async () => {
    await wa.deliverMessage(hook, { from: '5511999990002', text: 'just once', id: 'wamid.dup-1' });
    await wa.replay(-1);
    await eventually(() => repliesTo('5511999990002').length === 1, 5000, 'reply');
    await new Promise((r) => setTimeout(r, 300));
    expect(repliesTo('5511999990002')).toHaveLength(1);
  });

  it('routes by intent, asks before switching, switches on YES, and remembers each agent\'s session', async () => {
    maths = (await app.api('/api/agents', { token, body: { name: 'Maths Tutor', template: 'maths-tutor' } })).body;
    const phone = '5511999990003';
    const say = async (text: string, n: number) => {
      await wa.deliverMessage(hook, { from: phone, text });
      await eventually(() => repliesTo(phone).length === n, 5000, `reply ${n}`);
      return repliesTo(phone).at(-1);
    };
    expect(await say('A pasta recipe please', 1)).toBe('Echo: A pasta recipe please');
    expect(await say('Now help me with fractions', 2)).toBe('Switch to Maths Tutor? Reply YES.');
    expect(await say('sim', 3)).toBe('Echo: Now help me with fractions');
    expect(await say('/agents', 4)).toMatch(/Recipe Helper[\s\S]*Maths Tutor \(current\)/);
    expect(await say('/use recipe', 5)).toBe('You are now talking to Recipe Helper. Plans meals, adapts recipes to what is in your fridge, and scales portions.');
    expect(await say('And for dessert?', 6)).toBe('Echo: And for dessert?');
    // Switching ended the recipe session; back with the recipe agent, a new session starts that remembers it.
    const lastCall = (app.fake.requests() as any[]).filter((q) => /^You are Recipe Helper/.test(String(q.messages[0].content))).at(-1);
    expect(lastCall.messages[0].content).toContain('A pasta recipe please');
    expect(lastCall.messages.slice(1).map((m: { content: string }) => m.content)).toEqual(['And for dessert?']);
    expect(JSON.stringify(lastCall.messages)).not.toContain('fractions');
    // A "no" keeps the current agent.
    expect(await say('solve this equation', 7)).toBe('Switch to Maths Tutor? Reply YES.');
    expect(await say('no thanks', 8)).toBe('Echo: no thanks');
    // Routing calls are paid for and recorded.
    const usage = (await app.api('/api/usage', { token })).body;
    expect(usage.requests).toBeGreaterThan(8);
  });

  it('records a reply refused outside the 24-hour window as undelivered with the reason, and never retries it', async () => {
    wa.enqueue(whatsappErrors.reengagement());
    await wa.deliverMessage(hook, { from: '5511999990004', text: 'A soup recipe' });
    const list = await eventually(async () => {
      const r = (await app.api('/api/channels/undelivered', { token })).body.messages;
      return r.length ? r : undefined;
    }, 5000, 'undelivered');
    expect(list[0]).toMatchObject({ channel: 'whatsapp', recipient: '5511999990004', status: 'undelivered' });
    expect(list[0].lastError).toMatch(/24-hour window/);
    await new Promise((r) => setTimeout(r, 1200));
    expect(wa.journal.filter((j) => j.method === 'POST' && j.path.endsWith('/messages') && String(j.rawBody).includes('5511999990004'))).toHaveLength(1);
    expect((await app.api('/api/channels/whatsapp', { token })).body.health.lastError).toMatch(/24-hour window/);
  });

  it('records delivery receipts per outbound message, in any order, and async window failures', async () => {
    await wa.deliverMessage(hook, { from: '5511999990005', text: 'A quick cook tip' });
    await eventually(() => repliesTo('5511999990005').length === 1, 5000, 'reply');
    const sent = wa.sent.filter((m) => m.to === '5511999990005').at(-1)!;
    // The fake records the send before our worker stores its id (on PostgreSQL a moment later); a
    // status that comes first goes to the receipt job and lands a second later — not what this checks.
    await eventually(async () => !!(await outbound(sent.id)), 5000, 'send on record');
    await wa.deliverStatus(hook, { id: sent.id, status: 'read', recipientId: '5511999990005' });
    await wa.deliverStatus(hook, { id: sent.id, status: 'delivered', recipientId: '5511999990005' });
    const out = (await app.api('/api/channels/outbound', { token })).body.messages.find((m: { providerMessageId: string }) => m.providerMessageId === sent.id);
    expect(out).toMatchObject({ status: 'sent', delivery: 'read' });
    await wa.deliverStatus(hook, { id: sent.id, status: 'failed', recipientId: '5511999990005', errors: [{ code: 131047, title: 'Re-engagement message' }] });
    const failed = (await app.api('/api/channels/outbound', { token })).body.messages.find((m: { providerMessageId: string }) => m.providerMessageId === sent.id);
    expect(failed.status).toBe('undelivered');
    expect(failed.lastError).toMatch(/24-hour window/);
  });

  it("reads intent with the current agent's cheaper fallback model when no router model is set", async () => {
    const phone = '5511999990012';
    await wa.deliverMessage(hook, { from: phone, text: 'A pasta recipe please' });
    await eventually(() => repliesTo(phone).length === 1, 5000, 'first reply');
    await wa.deliverMessage(hook, { from: phone, text: 'And one more pasta sauce' });
    await eventually(() => repliesTo(phone).length === 2, 5000, 'second reply');
    const routing = (app.fake.requests() as any[]).filter((q) => String(q.messages[0].content).startsWith('You route'));
    // No current agent yet: the default model; then Recipe Helper's fallback (openai:gpt-4.1-nano in its template).
    expect(routing.map((q) => q.model)).toEqual(['gpt-4o-mini', 'gpt-4.1-nano']);
  });

  it('acknowledges a status at once, and records it when its message is stored a moment later', async () => {
    const phone = '5511999990010';
    const id = `wamid.later-${Date.now()}`;
    const t0 = Date.now();
    const early = await wa.deliverStatus(hook, { id, status: 'delivered', recipientId: phone });
    expect(early.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(2000); // not held until the message arrives (seconds later, or never)
    // The reply to this message is the one the status was about: Meta answers the send with that id.
    wa.enqueue({ status: 200, code: 0, body: { messaging_product: 'whatsapp', contacts: [{ input: phone, wa_id: phone }], messages: [{ id }] } });
    await wa.deliverMessage(hook, { from: phone, text: 'A soup for tonight' });
    const out = await eventually(async () => {
      const o = await outbound(id);
      return o?.delivery ? o : undefined;
    }, 10_000, 'the early receipt applied');
    expect(out).toMatchObject({ channel: 'whatsapp', status: 'sent', delivery: 'delivered' });
  });

  it("records a failed status with Meta's error detail (error_data.details)", async () => {
    const phone = '5511999990011';
    await wa.deliverMessage(hook, { from: phone, text: 'A soup with lentils' });
    await eventually(() => repliesTo(phone).length === 1, 5000, 'reply');
    const sent = wa.sent.filter((m) => m.to === phone).at(-1)!;
    await eventually(async () => !!(await outbound(sent.id)), 5000, 'send on record');
    const detail = 'The recipient phone number is not a WhatsApp phone number.';
    await wa.deliverStatus(hook, { id: sent.id, status: 'failed', recipientId: phone, errors: [{ code: 131026, title: 'Message undeliverable', details: detail }] });
    const out = await outbound(sent.id);
    expect(out.status).toBe('failed');
    expect(out.lastError).toBe(`(#131026) Message undeliverable — ${detail}`);
    expect((await app.api('/api/channels/whatsapp', { token })).body.health.lastError).toContain(detail);
  });

  it("shows each agent's own WhatsApp traffic: last message in, last reply out, last failure", async () => {
    const r = await app.api(`/api/channels/whatsapp/health?agentId=${recipe.id}`, { token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ lastInboundAt: expect.any(String), lastOutboundAt: expect.any(String), lastError: expect.stringContaining('not a WhatsApp phone number'), lastErrorAt: expect.any(String) });
    const m = (await app.api(`/api/channels/whatsapp/health?agentId=${maths.id}`, { token })).body;
    expect(m.lastInboundAt).toEqual(expect.any(String));
    expect(m.lastError).toBeNull();
    expect(m.lastInboundAt < r.body.lastInboundAt).toBe(true);
    expect((await app.api('/api/channels/whatsapp/health?agentId=nope', { token })).status).toBe(404);
    expect((await app.api(`/api/channels/whatsapp/health?agentId=${recipe.id}`)).status).toBe(401);
  });

  it('shows the settings without secrets and refuses dashboard edits while the environment configures WhatsApp', async () => {
    const v = (await app.api('/api/channels/whatsapp', { token })).body;
    expect(v).toMatchObject({ provider: 'cloud', source: 'env', cloud: { phoneNumberId: WA.phoneNumberId, hasToken: true, hasAppSecret: true, hasVerifyToken: true }, webhookUrls: { cloud: hook } });
    expect(JSON.stringify(v)).not.toContain(WA.token);
    expect(JSON.stringify(v)).not.toContain(WA.appSecret);
    const put = await app.api('/api/channels/whatsapp', { method: 'PUT', token, body: { provider: null } });
    expect(put.status).toBe(409);
    const test = await app.api('/api/channels/whatsapp/test', { token, body: { to: '+55 11 99999-0006' } });
    expect(test.status).toBe(200);
    expect(wa.sent.at(-1)!.to).toBe('5511999990006');
  });
});

describe('WhatsApp through Twilio, configured from the dashboard', () => {
  const SID = 'AC' + 'a'.repeat(32);
  const AUTH = 'twilio-auth-token';
  let app: TestApp;
  let tw: FakeTwilio;
  let token: string;

  beforeAll(async () => {
    tw = await startFakeTwilio({ accountSid: SID, authToken: AUTH });
    app = await startTestApp({ publicUrl: true });
    token = await app.owner();
    await app.api('/api/agents', { token, body: { name: 'Writing Coach', template: 'writing-coach' } });
  });
  afterAll(async () => { await app?.close(); await tw?.close(); });

  it('saves Twilio credentials (write-only secrets) and answers a signed webhook', async () => {
    const bad = await app.api('/api/channels/whatsapp', { method: 'PUT', token, body: { provider: 'twilio', accountSid: 'nope', from: '+1415' } });
    expect(bad.status).toBe(400);
    const put = await app.api('/api/channels/whatsapp', { method: 'PUT', token, body: { provider: 'twilio', accountSid: SID, authToken: AUTH, from: '+14155238886', apiUrl: tw.apiUrl } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ provider: 'twilio', source: 'settings', twilio: { accountSid: SID, from: 'whatsapp:+14155238886', hasAuthToken: true } });
    expect(JSON.stringify(put.body)).not.toContain(AUTH);

    const hook = `${app.url}/webhooks/twilio`;
    const inboxSize = async () => Object.values(await app.server.services.store.inbox.counts()).reduce((a, b) => a + b, 0);
    const before = await inboxSize();
    // A complete message form (MessageSid, AccountSid, WaId, … filled in), signed with another token or over another URL.
    const forged = await tw.deliver(hook, { From: 'whatsapp:+5511988887777', Body: 'forged' }, { signature: 'bm9wZQ==' });
    const wrongUrl = await tw.deliver(hook, { From: 'whatsapp:+5511988887777', Body: 'forged' }, { signUrl: 'https://elsewhere.example.com/webhooks/twilio' });
    const unsigned = await tw.deliver(hook, { From: 'whatsapp:+5511988887777', Body: 'forged' }, { signature: null });
    expect([forged.status, wrongUrl.status, unsigned.status]).toEqual([403, 403, 403]);
    await new Promise((r) => setTimeout(r, 400));
    expect(await inboxSize()).toBe(before);
    expect(tw.sent).toHaveLength(0);
    expect(app.fake.requests()).toHaveLength(0);
    const ok = await tw.deliver(hook, { From: 'whatsapp:+5511988887777', Body: 'Fix my intro ✍️', ProfileName: 'Bia' }, { publicUrl: app.url });
    expect(ok.status).toBe(200);
    await eventually(() => tw.sent.length === 1, 5000, 'twilio reply');
    expect(tw.sent[0]).toMatchObject({ to: 'whatsapp:+5511988887777', from: 'whatsapp:+14155238886', body: 'Echo: Fix my intro ✍️' });
    // Twilio is asked to report delivery, and its callbacks are recorded per message.
    expect(tw.sent[0]!.params.StatusCallback).toBe(hook);
    // As in the Cloud tests: the fake records the send before our worker stores its sid (on PostgreSQL a
    // moment later); a status that comes first goes to the receipt job's retry, not what this checks.
    const onRecord = async () => (await app.api('/api/channels/outbound', { token })).body.messages.some((m: { providerMessageId: string }) => m.providerMessageId === tw.sent[0]!.sid);
    await eventually(onRecord, 5000, 'send on record');
    await tw.deliverStatus(hook, { messageSid: tw.sent[0]!.sid, status: 'delivered', to: 'whatsapp:+5511988887777' }, { publicUrl: app.url });
    const out = (await app.api('/api/channels/outbound', { token })).body.messages.find((m: { providerMessageId: string }) => m.providerMessageId === tw.sent[0]!.sid);
    expect(out).toMatchObject({ channel: 'twilio', delivery: 'delivered' });
  });

  it('answers a redelivered MessageSid once', async () => {
    const hook = `${app.url}/webhooks/twilio`;
    const first = await tw.deliver(hook, { From: 'whatsapp:+5511955554444', Body: 'only once please' }, { publicUrl: app.url });
    const again = await tw.replay(-1);
    expect([first.status, again.status]).toEqual([200, 200]);
    await eventually(() => tw.sent.some((m) => m.to === 'whatsapp:+5511955554444'), 5000, 'reply');
    await new Promise((r) => setTimeout(r, 400));
    expect(tw.sent.filter((m) => m.to === 'whatsapp:+5511955554444').map((m) => m.body)).toEqual(['Echo: only once please']);
  });

  it('acknowledges a status callback at once, and records it when its message is stored a moment later', async () => {
    const hook = `${app.url}/webhooks/twilio`;
    const to = 'whatsapp:+5511944443333';
    const sid = 'SM' + 'b'.repeat(32);
    const t0 = Date.now();
    const early = await tw.deliverStatus(hook, { messageSid: sid, status: 'read', to }, { publicUrl: app.url });
    expect(early.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(2000); // not held until the message arrives (seconds later, or never)
    tw.enqueue({ status: 201, code: 0, body: { sid, status: 'queued', to, from: 'whatsapp:+14155238886', body: 'x', account_sid: SID, error_code: null } });
    await tw.deliver(hook, { From: to, Body: 'status before send' }, { publicUrl: app.url });
    const out = await eventually(async () => {
      const o = (await app.api('/api/channels/outbound', { token })).body.messages.find((m: { providerMessageId: string }) => m.providerMessageId === sid);
      return o?.delivery ? o : undefined;
    }, 10_000, 'the early callback applied');
    expect(out).toMatchObject({ channel: 'twilio', status: 'sent', delivery: 'read' });
  });

  it('records 63016 (outside the window) as undelivered and does not retry', async () => {
    tw.enqueue(twilioErrors.outsideWindow());
    await tw.deliver(`${app.url}/webhooks/twilio`, { From: 'whatsapp:+5511977776666', Body: 'late' }, { publicUrl: app.url });
    const list = await eventually(async () => {
      const r = (await app.api('/api/channels/undelivered', { token })).body.messages;
      return r.length ? r : undefined;
    }, 5000, 'undelivered');
    expect(list[0]).toMatchObject({ channel: 'twilio', status: 'undelivered' });
    expect(list[0].lastError).toMatch(/24-hour window/);
  });
});

describe('WhatsApp with both providers in the environment', () => {
  it('uses the Cloud API, says so at start, and /webhooks/twilio answers 404', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { lines.push(String(chunk)); return true; });
    let app: TestApp | undefined;
    try {
      app = await startTestApp({ publicUrl: true, env: {
        SWITCHBOARD_LOG_LEVEL: 'warn',
        WHATSAPP_TOKEN: WA.token, WHATSAPP_PHONE_NUMBER_ID: WA.phoneNumberId, WHATSAPP_APP_SECRET: WA.appSecret,
        TWILIO_ACCOUNT_SID: 'AC' + 'c'.repeat(32), TWILIO_AUTH_TOKEN: 'twilio-auth', TWILIO_WHATSAPP_FROM: '+14155238886',
      } });
    } finally {
      spy.mockRestore();
    }
    try {
      const warning = lines.map((l) => JSON.parse(l)).find((l) => l.level === 'warn' && /WhatsApp/.test(l.msg));
      expect(warning?.msg).toMatch(/both the Cloud API .* and Twilio .* are set; using the Cloud API/);
      const token = await app.owner();
      expect((await app.api('/api/channels/whatsapp', { token })).body.provider).toBe('cloud');
      const twilio = await fetch(`${app.url}/webhooks/twilio`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'MessageSid=SM1&Body=hi' });
      expect(twilio.status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
