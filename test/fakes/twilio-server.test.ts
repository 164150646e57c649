import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { startFakeTwilio, twilioErrors, twimlMessages, type FakeTwilio, type TwilioParams } from './twilio-server.js';

const AC = 'AC' + '0123456789abcdef'.repeat(2);
const AUTH = 'auth-token-0123456789';
const PUBLIC = 'https://bot.example.com';
const SANDBOX = 'whatsapp:+14155238886';
const USER = 'whatsapp:+5511999999999';

let fake: FakeTwilio;
let server: Server;
let hookUrl: string;
const received: { path: string; headers: IncomingHttpHeaders; raw: string; params: TwilioParams; valid: boolean }[] = [];

function parseForm(s: string): TwilioParams {
  const out: TwilioParams = {};
  for (const [k, v] of new URLSearchParams(s)) {
    const cur = out[k];
    out[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
  return out;
}

beforeAll(async () => {
  fake = await startFakeTwilio({ accountSid: AC, authToken: AUTH, publicUrl: PUBLIC });
  // The app side: validate over the public URL it is configured with, answer TwiML.
  server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const params = parseForm(raw);
      const valid = twilio.validateRequest(AUTH, String(req.headers['x-twilio-signature'] ?? ''), PUBLIC + req.url, params);
      received.push({ path: req.url!, headers: req.headers, raw, params, valid });
      if (!valid) return void res.writeHead(403).end();
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Response><Message>You said: ${String(params.Body ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Message></Response>`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/twilio?tenant=a`;
});
afterAll(async () => {
  await fake.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  fake.reset();
  fake.config.windowFailure = 'sync';
  received.length = 0;
});

function client(opts: Record<string, unknown> = {}) {
  const c = twilio(AC, AUTH, opts);
  c.api.baseUrl = fake.apiUrl;
  return c;
}

describe('fake Twilio: inbound webhooks', () => {
  it('signs exactly like twilio.getExpectedTwilioSignature, accepted by twilio.validateRequest', async () => {
    const r = await fake.deliver(hookUrl, { From: USER, Body: 'olá 😀 & <tags>', ProfileName: 'Zé' });
    expect(r.status).toBe(200);
    expect(r.messages).toEqual(['You said: olá 😀 & <tags>']);
    const got = received[0];
    expect(got.valid).toBe(true);
    expect(got.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(got.params).toMatchObject({
      From: USER, To: SANDBOX, Body: 'olá 😀 & <tags>', ProfileName: 'Zé', WaId: '5511999999999', NumMedia: '0',
      AccountSid: AC, SmsStatus: 'received', ApiVersion: '2010-04-01',
    });
    expect(got.params.MessageSid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(got.params.SmsMessageSid).toBe(got.params.MessageSid);
    expect(fake.deliveries[0].signedUrl).toBe(`${PUBLIC}/webhooks/twilio?tenant=a`);
    const sig = String(got.headers['x-twilio-signature']);
    expect(sig).toBe(twilio.getExpectedTwilioSignature(AUTH, `${PUBLIC}/webhooks/twilio?tenant=a`, got.params));
    // validateRequest also accepts the URL with the default port; the local URL is not what was signed.
    expect(twilio.validateRequest(AUTH, sig, `${PUBLIC}:443/webhooks/twilio?tenant=a`, got.params)).toBe(true);
    expect(twilio.validateRequest(AUTH, sig, hookUrl, got.params)).toBe(false);
    expect(twilio.validateRequest(AUTH, sig, `http://bot.example.com/webhooks/twilio?tenant=a`, got.params)).toBe(false);
  });

  it('covers unknown and repeated params, media without body, and rejects a tampered body', async () => {
    const r = await fake.deliver(hookUrl, {
      From: USER, Body: '', NumMedia: '2', MessageType: 'image',
      MediaUrl0: 'https://api.twilio.com/m/0', MediaContentType0: 'image/jpeg',
      MediaUrl1: 'https://api.twilio.com/m/1', MediaContentType1: 'image/png',
      BrandNewParam: 'x', Tag: ['b', 'a'],
    });
    expect(r.status).toBe(200);
    expect(received[0].valid).toBe(true);
    expect(received[0].params.Tag).toEqual(['b', 'a']);
    expect(received[0].params.MessageSid).toMatch(/^MM/);

    expect((await fake.replay(0)).status).toBe(200);
    expect(received[1].raw).toBe(received[0].raw); // duplicate: same MessageSid, app must dedupe
    fake.deliveries[0].rawBody = Buffer.from(fake.deliveries[0].rawBody.toString().replace('BrandNewParam=x', 'BrandNewParam=y'));
    expect((await fake.replay(0)).status).toBe(403);
    expect((await fake.deliver(hookUrl, { From: USER, Body: 'hi' }, { signature: null })).status).toBe(403);
    expect((await fake.deliver(hookUrl, { From: USER, Body: 'hi' }, { signUrl: hookUrl })).status).toBe(403);
  });

  it('delivers signed status callbacks', async () => {
    await fake.deliverStatus(hookUrl, { messageSid: 'SM' + 'a'.repeat(32), status: 'read', to: USER });
    await fake.deliverStatus(hookUrl, { messageSid: 'SM' + 'a'.repeat(32), status: 'delivered', to: USER });
    expect(received.map((x) => [x.valid, x.params.MessageStatus])).toEqual([[true, 'read'], [true, 'delivered']]);
  });

  it('parses TwiML replies', () => {
    expect(twimlMessages('<Response><Message>a &amp; b</Message><Message><Body>c &lt; d</Body><Media>https://x/y.png</Media></Message></Response>'))
      .toEqual(['a & b', 'c < d']);
    expect(twimlMessages('<Response/>')).toEqual([]);
  });
});

describe('fake Twilio: REST via the real twilio client', () => {
  it('sends through client.api.baseUrl and returns a Message resource', async () => {
    await fake.deliver(hookUrl, { From: USER, Body: 'hi' });
    const msg = await client().messages.create({ from: SANDBOX, to: USER, body: 'Hello 😀' });
    expect(msg.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(msg.status).toBe('queued');
    expect(msg.body).toBe('Hello 😀');
    expect(msg.to).toBe(USER);
    expect(msg.dateCreated).toBeInstanceOf(Date);
    expect(Number.isNaN(msg.dateCreated.getTime())).toBe(false);
    const req = fake.journal.at(-1)!;
    expect(req.path).toBe(`/2010-04-01/Accounts/${AC}/Messages.json`);
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from(`${AC}:${AUTH}`).toString('base64')}`);
    expect(req.headers['user-agent']).toMatch(/^twilio-node\//);
    expect(req.params).toMatchObject({ To: USER, From: SANDBOX, Body: 'Hello 😀' });
    expect(fake.sent.map((s) => [s.to, s.body])).toEqual([[USER, 'Hello 😀']]);
    const fetched = await client().messages(msg.sid).fetch();
    expect(fetched.sid).toBe(msg.sid);
  });

  it('also works with a custom httpClient that rewrites opts.uri', async () => {
    await fake.deliver(hookUrl, { From: USER, Body: 'hi' });
    const rc = new twilio.RequestClient();
    const httpClient = {
      request: (o: any) => rc.request({ ...o, uri: String(o.uri).replace('https://api.twilio.com', fake.apiUrl) }),
    } as unknown as InstanceType<typeof twilio.RequestClient>;
    const msg = await twilio(AC, AUTH, { httpClient }).messages.create({ from: SANDBOX, to: USER, body: 'via httpClient' });
    expect(msg.status).toBe('queued');
    expect(fake.sent[0].body).toBe('via httpClient');
  });

  it('maps errors to RestException: bad auth 20003, 1601 chars 21658, scripted 429 20429', async () => {
    await fake.deliver(hookUrl, { From: USER, Body: 'hi' });
    const bad = twilio(AC, 'wrong');
    bad.api.baseUrl = fake.apiUrl;
    const e401 = await bad.messages.create({ from: SANDBOX, to: USER, body: 'x' }).catch((e) => e);
    expect(e401).toBeInstanceOf(twilio.RestException);
    expect([e401.status, e401.code]).toEqual([401, 20003]);

    const long = await client().messages.create({ from: SANDBOX, to: USER, body: 'a'.repeat(1601) }).catch((e) => e);
    expect([long.status, long.code, long.moreInfo]).toEqual([400, 21658, 'https://www.twilio.com/docs/errors/21658']);
    await client().messages.create({ from: SANDBOX, to: USER, body: 'a'.repeat(1600) });

    fake.enqueue(twilioErrors.rateLimit());
    const e429 = await client().messages.create({ from: SANDBOX, to: USER, body: 'x' }).catch((e) => e);
    expect([e429.status, e429.code]).toEqual([429, 20429]);

    fake.enqueue(twilioErrors.rateLimit(), twilioErrors.rateLimit());
    const retried = await client({ autoRetry: true, maxRetries: 3, maxRetryDelay: 50 }).messages.create({ from: SANDBOX, to: USER, body: 'after retries' });
    expect(retried.status).toBe('queued');
    expect(fake.journal.filter((j) => j.method === 'POST').length).toBe(7); // 401, 400, 201, 429, then 429, 429, 201

    fake.enqueue(twilioErrors.hang());
    const hung = await client({ timeout: 150 }).messages.create({ from: SANDBOX, to: USER, body: 'x' }).catch((e) => e);
    expect(hung).toBeInstanceOf(Error);
    expect(hung).not.toBeInstanceOf(twilio.RestException);
  });

  it('enforces the 24 h window (63016) with a controllable clock; templates pass', async () => {
    fake.setNow(Date.UTC(2026, 0, 1));
    const cold = await client().messages.create({ from: SANDBOX, to: USER, body: 'cold' }).catch((e) => e);
    expect([cold.status, cold.code]).toEqual([400, 63016]);
    await fake.deliver(hookUrl, { From: USER, Body: 'hi' });
    expect((await client().messages.create({ from: SANDBOX, to: USER, body: 'warm' })).status).toBe('queued');
    fake.advance(24 * 3600 * 1000 + 1);
    expect((await client().messages.create({ from: SANDBOX, to: USER, body: 'late' }).catch((e) => e)).code).toBe(63016);
    const tpl = await client().messages.create({ from: SANDBOX, to: USER, contentSid: 'HX' + '0'.repeat(32), contentVariables: '{"1":"x"}' });
    expect(tpl.status).toBe('queued');
    // SMS has no window.
    expect((await client().messages.create({ from: '+15005550006', to: '+15005550010', body: 'sms' })).status).toBe('queued');
  });

  it('can report the window failure asynchronously through a signed status callback', async () => {
    fake.config.windowFailure = 'async';
    const msg = await client().messages.create({ from: SANDBOX, to: USER, body: 'late', statusCallback: hookUrl });
    expect(msg.status).toBe('queued');
    await fake.settled();
    expect(received[0].valid).toBe(true);
    expect(received[0].params).toMatchObject({ MessageSid: msg.sid, MessageStatus: 'failed', ErrorCode: '63016' });
    const fetched = await client().messages(msg.sid).fetch();
    expect([fetched.status, fetched.errorCode]).toEqual(['failed', 63016]);
  });
});
