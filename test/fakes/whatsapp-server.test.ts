import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { metaJson, startFakeWhatsApp, whatsappErrors, type FakeWhatsApp } from './whatsapp-server.js';

const TOKEN = 'EAAGtestTOKEN';
const PHONE_ID = '106540352242922';
const APP_SECRET = 'app-secret-123';
const VERIFY = 'verify-me';

let fake: FakeWhatsApp;
let server: Server;
let hookUrl: string;
const received: { headers: IncomingHttpHeaders; raw: Buffer; ok: boolean }[] = [];

/** Minimal receiver doing what the app must do: HMAC over the raw bytes, constant-time compare. */
function validSignature(raw: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', APP_SECRET).update(raw).digest('hex')}`);
  const got = Buffer.from(header);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

beforeAll(async () => {
  fake = await startFakeWhatsApp({ token: TOKEN, phoneNumberId: PHONE_ID, appSecret: APP_SECRET });
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (req.method === 'GET') {
      const okVerify = url.searchParams.get('hub.mode') === 'subscribe' && url.searchParams.get('hub.verify_token') === VERIFY;
      res.writeHead(okVerify ? 200 : 403, { 'content-type': 'text/plain' });
      return void res.end(okVerify ? url.searchParams.get('hub.challenge') : 'forbidden');
    }
    const parts: Buffer[] = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(parts);
      const ok = validSignature(raw, req.headers['x-hub-signature-256'] as string | undefined);
      received.push({ headers: req.headers, raw, ok });
      res.writeHead(ok ? 200 : 401).end(ok ? 'EVENT_RECEIVED' : 'bad signature');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/whatsapp`;
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

async function send(body: unknown, token = TOKEN, version = 'v21.0') {
  const r = await fetch(`${fake.graphUrl}/${version}/${PHONE_ID}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as any };
}
const text = (to: string, body: string) => ({ messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'text', text: { body, preview_url: false } });

describe('fake WhatsApp Cloud API: webhooks', () => {
  it('signs the exact escaped bytes; re-serializing the parsed body breaks the signature for emoji/accents', async () => {
    const r = await fake.deliverMessage(hookUrl, { from: '5511999999999', name: 'Zoë', text: 'olá 😀 https://x.y/z' });
    expect(r).toEqual({ status: 200, body: 'EVENT_RECEIVED' });
    const { raw, headers, ok } = received[0];
    expect(ok).toBe(true);
    expect(headers['x-hub-signature-256']).toBe(fake.sign(raw));
    expect(headers['x-hub-signature']).toMatch(/^sha1=[0-9a-f]{40}$/);
    const rawText = raw.toString('utf8');
    expect(rawText).toContain('ol\\u00e1 \\ud83d\\ude00 https:\\/\\/x.y\\/z');
    expect(/[^\x00-\x7f]/.test(rawText)).toBe(false); // pure ASCII on the wire

    const parsed = JSON.parse(rawText);
    const msg = parsed.entry[0].changes[0].value.messages[0];
    expect(msg).toMatchObject({ from: '5511999999999', type: 'text', text: { body: 'olá 😀 https://x.y/z' } });
    expect(msg.id).toMatch(/^wamid\./);
    expect(typeof msg.timestamp).toBe('string');
    expect(parsed.entry[0].changes[0].value.contacts).toEqual([{ profile: { name: 'Zoë' }, wa_id: '5511999999999' }]);
    expect(parsed.entry[0].changes[0].value.metadata.phone_number_id).toBe(PHONE_ID);

    // The trap: JSON.stringify(req.body) is not what Meta signed.
    const reserialized = Buffer.from(JSON.stringify(parsed));
    expect(reserialized.equals(raw)).toBe(false);
    expect(validSignature(reserialized, headers['x-hub-signature-256'] as string)).toBe(false);
    expect(metaJson(parsed)).toBe(rawText);
  });

  it('replays byte-identical duplicates and lets tests tamper with the body or the header', async () => {
    await fake.deliverMessage(hookUrl, { from: '447700900123', text: 'hi', id: 'wamid.fixed1' });
    expect((await fake.replay(0)).status).toBe(200);
    expect(received[1].raw.equals(received[0].raw)).toBe(true);
    expect(received[1].headers['x-hub-signature-256']).toBe(received[0].headers['x-hub-signature-256']);

    const original = fake.deliveries[0];
    const tampered = Buffer.from(original.rawBody.toString().replace('"hi"', '"HI"'));
    const sig = original.headers['x-hub-signature-256'];
    expect((await fake.deliverRaw(hookUrl, tampered, { signature: sig })).status).toBe(401);
    expect((await fake.deliverRaw(hookUrl, original.rawBody, { signature: sig.slice('sha256='.length) })).status).toBe(401);
    expect((await fake.deliverRaw(hookUrl, original.rawBody, { signature: null })).status).toBe(401);
    expect((await fake.deliverRaw(hookUrl, original.rawBody)).status).toBe(200); // re-signed raw bytes
  });

  it('batches several messages, delivers statuses (out of order, failed with errors) and raw envelopes', async () => {
    await fake.deliverMessage(hookUrl, [{ from: '111', text: 'one' }, { from: '222', text: 'two', name: 'Bo' }]);
    const v = JSON.parse(received[0].raw.toString()).entry[0].changes[0].value;
    expect(v.messages.map((m: any) => m.text.body)).toEqual(['one', 'two']);
    expect(v.contacts.map((c: any) => c.wa_id)).toEqual(['111', '222']);

    await fake.deliverStatus(hookUrl, [
      { id: 'wamid.A', status: 'read', recipientId: '111' },
      { id: 'wamid.A', status: 'delivered', recipientId: '111' },
      { id: 'wamid.B', status: 'failed', recipientId: '222', errors: [{ code: 131026, title: 'Message undeliverable' }] },
    ]);
    const st = JSON.parse(received[1].raw.toString()).entry[0].changes[0].value.statuses;
    expect(st.map((s: any) => s.status)).toEqual(['read', 'delivered', 'failed']);
    expect(st[2].errors[0]).toMatchObject({ code: 131026, title: 'Message undeliverable', error_data: { details: expect.any(String) } });

    const env = fake.envelope({ messages: [{ from: '333', id: 'wamid.C', timestamp: '1', type: 'image', image: { id: 'media1', mime_type: 'image/jpeg', sha256: 'x' } }] });
    expect((await fake.deliverRaw(hookUrl, env)).status).toBe(200);
    expect(received[2].ok).toBe(true);
  });

  it('performs the GET verification handshake', async () => {
    expect(await fake.verify(hookUrl, VERIFY, '1158201444')).toEqual({ status: 200, body: '1158201444' });
    expect((await fake.verify(hookUrl, 'wrong', '1158201444')).status).toBe(403);
  });
});

describe('fake WhatsApp Cloud API: sending', () => {
  it('accepts a text inside the 24 h window and answers with contacts + a fresh wamid', async () => {
    await fake.deliverMessage(hookUrl, { from: '5511999999999', text: 'hi' });
    const r = await send(text('+55 11 99999-9999', 'hello 😀'), TOKEN, 'v19.0');
    expect(r.status).toBe(200);
    expect(r.json.messaging_product).toBe('whatsapp');
    expect(r.json.contacts).toEqual([{ input: '+55 11 99999-9999', wa_id: '5511999999999' }]);
    expect(r.json.messages[0].id).toMatch(/^wamid\./);
    const again = await send(text('5511999999999', 'second'));
    expect(again.json.messages[0].id).not.toBe(r.json.messages[0].id);
    expect(fake.sent.map((s) => [s.waId, s.type, s.text])).toEqual([
      ['5511999999999', 'text', 'hello 😀'],
      ['5511999999999', 'text', 'second'],
    ]);
    expect(fake.journal.at(-1)!.json.to).toBe('5511999999999');
  });

  it('validates the token, the body and the 4096-unit limit', async () => {
    await fake.deliverMessage(hookUrl, { from: '15551234567', text: 'hi' });
    const bad = await send(text('15551234567', 'x'), 'wrong');
    expect(bad.status).toBe(401);
    expect(bad.json.error).toMatchObject({ code: 190, type: 'OAuthException' });
    expect((await send({ to: '15551234567', type: 'text', text: { body: 'x' } })).json.error.code).toBe(100);
    expect((await send(text('', 'x'))).json.error.code).toBe(100);
    const long = await send(text('15551234567', 'a'.repeat(4097)));
    expect([long.status, long.json.error.code]).toEqual([400, 100]);
    const emoji = await send(text('15551234567', '😀'.repeat(2049)));
    expect(emoji.json.error.code).toBe(100);
    expect((await send(text('15551234567', 'a'.repeat(4096)))).status).toBe(200);
    const read = await send({ messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.in1' });
    expect(read.json).toEqual({ success: true });
    expect(fake.reads).toEqual(['wamid.in1']);
    const other = await fetch(`${fake.graphUrl}/v21.0/999/messages`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{}' });
    expect(other.status).toBe(400);
  });

  it('enforces the 24 h window with a controllable clock (sync 131047)', async () => {
    const t0 = Date.UTC(2026, 0, 1);
    fake.setNow(t0);
    expect((await send(text('15550001111', 'cold outreach'))).json.error.code).toBe(131047);
    await fake.deliverMessage(hookUrl, { from: '15550001111', text: 'hello' });
    expect(JSON.parse(received[0].raw.toString()).entry[0].changes[0].value.messages[0].timestamp).toBe(String(t0 / 1000));
    fake.advance(24 * 3600 * 1000 - 1000);
    expect((await send(text('15550001111', 'still inside'))).status).toBe(200);
    fake.advance(2000);
    const late = await send(text('15550001111', 'too late'));
    expect(late.status).toBe(400);
    expect(late.json.error).toMatchObject({ code: 131047, message: '(#131047) Re-engagement message', error_data: { details: expect.stringContaining('24 hours') } });
    const template = { messaging_product: 'whatsapp', to: '15550001111', type: 'template', template: { name: 'hello_world', language: { code: 'en_US' } } };
    expect((await send(template)).status).toBe(200);
  });

  it('can report the window failure asynchronously as a failed status', async () => {
    fake.config.windowFailure = 'async';
    fake.config.statusWebhookUrl = hookUrl;
    const r = await send(text('15550002222', 'late'));
    expect(r.status).toBe(200);
    await fake.settled();
    const st = JSON.parse(received[0].raw.toString()).entry[0].changes[0].value.statuses[0];
    expect(st).toMatchObject({ id: r.json.messages[0].id, status: 'failed', recipient_id: '15550002222', errors: [{ code: 131047 }] });
    expect(received[0].ok).toBe(true);
  });

  it('plays scripted 130429, 131056, 500, a hang and a reset', async () => {
    await fake.deliverMessage(hookUrl, { from: '15553334444', text: 'hi' });
    fake.enqueue(whatsappErrors.rateLimit(), whatsappErrors.pairRateLimit(), whatsappErrors.serverError(), whatsappErrors.hang(), whatsappErrors.reset());
    const rl = await send(text('15553334444', 'x'));
    expect([rl.status, rl.json.error.code, rl.json.error.error_data.details]).toEqual([429, 130429, expect.any(String)]);
    expect((await send(text('15553334444', 'x'))).json.error.code).toBe(131056);
    expect((await send(text('15553334444', 'x'))).status).toBe(500);
    const hung = fetch(`${fake.graphUrl}/v21.0/${PHONE_ID}/messages`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(text('15553334444', 'x')), signal: AbortSignal.timeout(100),
    });
    await expect(hung).rejects.toThrow();
    await expect(send(text('15553334444', 'x'))).rejects.toThrow();
    expect((await send(text('15553334444', 'finally'))).status).toBe(200);
    expect(fake.sent.map((s) => s.text)).toEqual(['finally']);
  });
});

describe('fake WhatsApp Cloud media (PROTOCOLS.md §2, §7)', () => {
  const graph = (path: string, init: RequestInit = {}, token: string | null = TOKEN) =>
    fetch(`${fake.graphUrl}/v21.0/${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string> | undefined) } });

  it('looks up inbound media and serves its download, both only with the bearer token', async () => {
    const voice = Buffer.from('OggS a voice note');
    const { id, sha256 } = fake.addMedia(voice, 'audio/ogg; codecs=opus');
    const lookup = await graph(id);
    expect(lookup.status).toBe(200);
    const info = await lookup.json() as any;
    expect(info).toEqual({ messaging_product: 'whatsapp', url: expect.stringContaining(`mid=${id}`), mime_type: 'audio/ogg; codecs=opus', sha256, file_size: voice.length, id });
    expect((await graph(id, {}, null)).status).toBe(401);
    const download = await fetch(info.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('audio/ogg; codecs=opus');
    expect(Buffer.from(await download.arrayBuffer()).equals(voice)).toBe(true);
    expect((await fetch(info.url)).status).toBe(401);
    expect((await fetch(info.url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await graph('999999999999')).status).toBe(400);
  });

  it('accepts a multipart media upload and an audio message naming it; refuses unknown ids', async () => {
    const form = new FormData();
    form.set('messaging_product', 'whatsapp');
    form.set('type', 'audio/ogg');
    form.set('file', new Blob([Buffer.from('OggS spoken reply')], { type: 'audio/ogg' }), 'reply.ogg');
    const up = await graph(`${PHONE_ID}/media`, { method: 'POST', body: form });
    expect(up.status).toBe(200);
    const { id } = await up.json() as any;
    expect(fake.media.get(id)).toMatchObject({ uploaded: true, mimeType: 'audio/ogg', filename: 'reply.ogg' });
    fake.lastInbound.set('15551234567', fake.now());
    const audio = await send({ messaging_product: 'whatsapp', to: '15551234567', type: 'audio', audio: { id } });
    expect(audio.status).toBe(200);
    expect(fake.sent.at(-1)).toMatchObject({ type: 'audio', body: { audio: { id } } });
    const image = await send({ messaging_product: 'whatsapp', to: '15551234567', type: 'image', image: { link: 'https://example.com/a.png', caption: 'Here' } });
    expect(image.status).toBe(200);
    const unknown = await send({ messaging_product: 'whatsapp', to: '15551234567', type: 'audio', audio: { id: '123' } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.code).toBe(131053);
    const text = new FormData(); text.set('messaging_product', 'whatsapp'); text.set('file', new Blob(['hello'], { type: 'text/plain' }), 'a.txt');
    expect((await graph(`${PHONE_ID}/media`, { method: 'POST', body: text })).status).toBe(400);
  });
});
