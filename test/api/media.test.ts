/**
 * Issue 16, media: uploads from the public chat and the API are sniffed (never trusted by their
 * Content-Type), limited (413 media_too_large / 415 unsupported_media, with nothing stored), kept
 * content-addressed under DATA_DIR/media, served only to who may see them, expired by the retention
 * job, and deleted with a person's data or a purged agent. Real HTTP against the real server; the
 * sample files are made in code (a WAV header and silence, images drawn by sharp).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { manualClock } from '../helpers/fakes.js';
import { startFakeS3 } from '../fakes/s3-server.js';

/** A mono 8-bit PCM WAV file of silence, `seconds` long at `rate` Hz. */
export function wav(seconds: number, rate = 8000): Buffer {
  const data = Math.round(seconds * rate);
  const b = Buffer.alloc(44 + data, 0x80);
  b.write('RIFF', 0); b.writeUInt32LE(36 + data, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate, 28); b.writeUInt16LE(1, 32); b.writeUInt16LE(8, 34);
  b.write('data', 36); b.writeUInt32LE(data, 40);
  return b;
}
const png = (width = 32, height = 24, color = { r: 200, g: 30, b: 30 }) => sharp({ create: { width, height, channels: 3, background: color } }).png().toBuffer();

describe('media uploads, access, retention and erasure', () => {
  let app: TestApp;
  let owner: string;
  let agent: { id: string; slug: string };
  const clock = manualClock('2026-12-05T09:00:00.000Z');
  const mediaDir = () => join(app.dataDir, 'media');
  /** Every stored file under DATA_DIR/media. */
  const files = (): string[] => {
    if (!existsSync(mediaDir())) return [];
    const out: string[] = [];
    const walk = (d: string) => { for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : out.push(join(d, e.name)); };
    walk(mediaDir());
    return out;
  };
  const countRows = async () => {
    let n = 0;
    for (const id of ids) if (await app.server.services.store.media.byId(id)) n++;
    return n;
  };
  const ids: string[] = [];

  /** Uploads as a visitor of the public chat; answers the status, body and the visitor's cookie. */
  async function publicUpload(body: Uint8Array, type: string, cookie?: string) {
    const res = await fetch(`${app.url}/api/public/agents/${agent.slug}/media`, { method: 'POST', headers: { 'content-type': type, ...(cookie ? { cookie } : {}) }, body });
    const json = await res.json() as any;
    if (json.mediaId) ids.push(json.mediaId);
    return { status: res.status, body: json, cookie: cookie ?? res.headers.get('set-cookie')?.split(';')[0] };
  }

  beforeAll(async () => {
    app = await startTestApp({ clock });
    owner = await app.owner();
    agent = (await app.api('/api/agents', { token: owner, body: { name: 'Listener', listed: true } })).body;
  });
  afterAll(async () => { await app.close(); });

  it('stores a visitor\'s voice note by its sniffed type and answers 201 {mediaId, kind, mimeType, bytes}', async () => {
    const note = wav(2);
    // The browser said octet-stream; the bytes say WAV.
    const r = await publicUpload(note, 'application/octet-stream');
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ mediaId: expect.any(String), kind: 'audio', mimeType: 'audio/wav', bytes: note.length });
    const item = await app.server.services.store.media.byId(r.body.mediaId);
    expect(item).toMatchObject({ agentId: agent.id, kind: 'audio', durationSeconds: 2, expiresAt: '2027-03-05T09:00:00.000Z' });
    const [file] = files();
    expect(file).toMatch(new RegExp(`${item!.sha256}$`));
    expect(statSync(file!).mode & 0o777).toBe(0o600);
  });

  it("keeps a browser's streamed WebM recording (elements of unknown size) with its length unknown, bounded by its size", async () => {
    // What MediaRecorder writes: a Segment and a Cluster of unknown size, which the metadata parser cannot walk.
    const streamed = Buffer.from('GkXfo59ChoEBQveBAULygQRC84EIQoKEd2VibUKHgQRChYECGFOAZwH/////////FlSua5SukteBAXPFgQGDgQKGhkFfT1BVUx9DtnUB/////////+eBAKOIgQAAgPz//gCjiIEAAID8//4A', 'base64');
    const r = await publicUpload(streamed, 'audio/webm;codecs=opus');
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: 'audio', mimeType: 'audio/webm', bytes: streamed.length });
    expect(await app.server.services.store.media.byId(r.body.mediaId)).toMatchObject({ durationSeconds: null });
    // Longer than ten minutes could be at 128 kbit/s: refused, as a too-long recording is.
    const big = Buffer.concat([streamed, Buffer.alloc(600 * 16_000)]);
    const before = files().length;
    const r2 = await publicUpload(big, 'audio/webm');
    expect(r2.status).toBe(413);
    expect(r2.body.error.code).toBe('media_too_large');
    expect(files().length).toBe(before);
  });

  it('accepts a PNG whatever type it was claimed to be, and reads its size', async () => {
    const r = await publicUpload(await png(40, 30), 'audio/webm');
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: 'image', mimeType: 'image/png' });
    expect(await app.server.services.store.media.byId(r.body.mediaId)).toMatchObject({ width: 40, height: 30 });
  });

  it('refuses HTML claimed to be a PNG with 415 unsupported_media, storing nothing', async () => {
    const before = files().length;
    const r = await publicUpload(new TextEncoder().encode('<!doctype html><script>alert(1)</script>'), 'image/png');
    expect(r.status).toBe(415);
    expect(r.body.error).toMatchObject({ code: 'unsupported_media', message: expect.stringContaining('not supported') });
    expect(files()).toHaveLength(before);
  });

  it('refuses audio over 25 MB with 413 media_too_large before storing anything, even without a Content-Length', async () => {
    const before = files().length;
    const big = Buffer.concat([wav(1), Buffer.alloc(25 * 1024 * 1024)]);
    const r = await publicUpload(big, 'audio/wav');
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('media_too_large');
    // Streamed in chunks with no declared length: counted as it arrives.
    const chunk = Buffer.alloc(1024 * 1024);
    let sent = 0;
    const stream = new ReadableStream({ pull(c) { if (sent++ < 30) c.enqueue(chunk); else c.close(); } });
    const res = await fetch(`${app.url}/api/public/agents/${agent.slug}/media`, { method: 'POST', headers: { 'content-type': 'audio/wav' }, body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.code).toBe('media_too_large');
    expect(files()).toHaveLength(before);
  });

  it('refuses an image over 10 MB and audio over 10 minutes with 413, storing nothing', async () => {
    const before = files().length;
    const jpegHeader = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
    const image = await publicUpload(Buffer.concat([jpegHeader, Buffer.alloc(11 * 1024 * 1024)]), 'image/jpeg');
    expect(image.status).toBe(413);
    expect(image.body.error).toMatchObject({ code: 'media_too_large', message: expect.stringContaining('10 MB') });
    const long = await publicUpload(wav(601), 'audio/wav');
    expect(long.status).toBe(413);
    expect(long.body.error).toMatchObject({ code: 'media_too_large', message: expect.stringContaining('10 minutes') });
    expect(files()).toHaveLength(before);
  });

  it('serves a file to its visitor and to operators, and to nobody else', async () => {
    const mine = await publicUpload(await png(8, 8, { r: 1, g: 2, b: 3 }), 'image/png');
    const url = `${app.url}/api/media/${mine.body.mediaId}`;
    const asVisitor = await fetch(url, { headers: { cookie: mine.cookie! } });
    expect(asVisitor.status).toBe(200);
    expect(asVisitor.headers.get('content-type')).toBe('image/png');
    expect(asVisitor.headers.get('x-content-type-options')).toBe('nosniff');
    expect(asVisitor.headers.get('content-disposition')).toBe('inline');
    expect(asVisitor.headers.get('cache-control')).toMatch(/^private/);
    expect((await sharp(Buffer.from(await asVisitor.arrayBuffer())).metadata()).width).toBe(8);
    expect((await fetch(url, { headers: { authorization: `Bearer ${owner}` } })).status).toBe(200);

    // Another visitor, nobody, and a customer who does not own the agent: not found.
    const other = await publicUpload(wav(0.5), 'audio/wav');
    expect(other.cookie).not.toBe(mine.cookie);
    expect((await fetch(url, { headers: { cookie: other.cookie! } })).status).toBe(404);
    expect((await fetch(url)).status).toBe(404);
    await app.api('/api/users', { token: owner, body: { email: 'carol@example.com', password: 'correct horse battery', role: 'customer' } });
    const carol = (await app.api('/api/auth/login', { body: { email: 'carol@example.com', password: 'correct horse battery' } })).body.token;
    expect((await fetch(url, { headers: { authorization: `Bearer ${carol}` } })).status).toBe(404);
    expect((await app.api('/api/media/no-such-id', { token: owner })).status).toBe(404);
  });

  it('takes uploads through the API for an agent the caller owns; other customers get 404, auditors 403', async () => {
    await app.api('/api/users', { token: owner, body: { email: 'dave@example.com', password: 'correct horse battery', role: 'customer' } });
    const dave = (await app.api('/api/auth/login', { body: { email: 'dave@example.com', password: 'correct horse battery' } })).body.token;
    const daves = (await app.api('/api/agents', { token: dave, body: { name: 'Dave Agent' } })).body;
    const up = (token: string, agentId: string, body: Uint8Array, type = 'audio/wav') =>
      fetch(`${app.url}/api/agents/${agentId}/media?userId=alice`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });
    const r = await up(dave, daves.id, wav(1));
    expect(r.status).toBe(201);
    const created = await r.json() as any;
    ids.push(created.mediaId);
    expect(created).toMatchObject({ kind: 'audio', mimeType: 'audio/wav' });
    expect((await fetch(`${app.url}/api/media/${created.mediaId}`, { headers: { authorization: `Bearer ${dave}` } })).status).toBe(200);

    await app.api('/api/users', { token: owner, body: { email: 'erin@example.com', password: 'correct horse battery', role: 'customer' } });
    const erin = (await app.api('/api/auth/login', { body: { email: 'erin@example.com', password: 'correct horse battery' } })).body.token;
    const refused = await up(erin, daves.id, wav(1));
    expect(refused.status).toBe(404);
    expect((await fetch(`${app.url}/api/media/${created.mediaId}`, { headers: { authorization: `Bearer ${erin}` } })).status).toBe(404);

    await app.api('/api/users', { token: owner, body: { email: 'audrey@example.com', password: 'correct horse battery', role: 'auditor' } });
    const audrey = (await app.api('/api/auth/login', { body: { email: 'audrey@example.com', password: 'correct horse battery' } })).body.token;
    expect((await up(audrey, daves.id, wav(1))).status).toBe(403);
    // Auditors read: they may see any file.
    expect((await fetch(`${app.url}/api/media/${created.mediaId}`, { headers: { authorization: `Bearer ${audrey}` } })).status).toBe(200);
    expect((await fetch(`${app.url}/api/agents/${daves.id}/media`, { method: 'POST', body: wav(1), headers: { 'content-type': 'audio/wav' } })).status).toBe(401);
  });

  it('shows attached media on the messages of GET /api/conversations/:id', async () => {
    const sent = await app.api(`/api/agents/${agent.id}/message`, { token: owner, body: { text: 'What is in this picture?', userId: 'zoe' } });
    expect(sent.status).toBe(200);
    const conv = await app.api(`/api/conversations/${sent.body.conversationId}`, { token: owner });
    const userMessage = conv.body.messages.find((m: any) => m.role === 'user');
    expect(conv.body.messages.every((m: any) => Array.isArray(m.media) && m.media.length === 0)).toBe(true);
    const up = await fetch(`${app.url}/api/agents/${agent.id}/media?userId=zoe`, { method: 'POST', headers: { authorization: `Bearer ${owner}`, 'content-type': 'image/png' }, body: await png(12, 12) }).then((r) => r.json() as any);
    ids.push(up.mediaId);
    await app.server.services.media.attach([up.mediaId], { conversationId: sent.body.conversationId, messageId: userMessage.id });
    const after = await app.api(`/api/conversations/${sent.body.conversationId}`, { token: owner });
    expect(after.body.messages.find((m: any) => m.id === userMessage.id).media).toEqual([{ mediaId: up.mediaId, kind: 'image', mimeType: 'image/png' }]);
  });

  it("deletes a person's media records and files with their data", async () => {
    const r = await publicUpload(wav(3), 'audio/wav');
    const item = (await app.server.services.store.media.byId(r.body.mediaId))!;
    const file = files().find((f) => f.endsWith(item.sha256))!;
    expect(existsSync(file)).toBe(true);
    const del = await app.api(`/api/people/${item.personId}`, { method: 'DELETE', token: owner });
    expect(del.status).toBe(200);
    expect(del.body.deleted.media).toBeGreaterThanOrEqual(1);
    expect(await app.server.services.store.media.byId(item.id)).toBeUndefined();
    expect(existsSync(file)).toBe(false);
  });

  it('keeps a file another record still shares, and deletes the media of a purged agent', async () => {
    const same = wav(4);
    const a = await publicUpload(same, 'audio/wav');
    const b = await publicUpload(same, 'audio/wav'); // a new visitor, the same bytes: one file
    const ia = (await app.server.services.store.media.byId(a.body.mediaId))!;
    expect(files().filter((f) => f.endsWith(ia.sha256))).toHaveLength(1);
    await app.api(`/api/people/${ia.personId}`, { method: 'DELETE', token: owner });
    expect(files().filter((f) => f.endsWith(ia.sha256))).toHaveLength(1); // b still refers to it
    const other = (await app.api('/api/agents', { token: owner, body: { name: 'Purged', listed: true } })).body;
    const c = await fetch(`${app.url}/api/agents/${other.id}/media`, { method: 'POST', headers: { authorization: `Bearer ${owner}`, 'content-type': 'image/png' }, body: await png(9, 9) }).then((r) => r.json() as any);
    const ic = (await app.server.services.store.media.byId(c.mediaId))!;
    expect((await app.api(`/api/agents/${other.id}?purge=true`, { method: 'DELETE', token: owner })).status).toBeLessThan(300);
    expect(await app.server.services.store.media.byId(ic.id)).toBeUndefined();
    expect(files().some((f) => f.endsWith(ic.sha256))).toBe(false);
    expect(await app.server.services.store.media.byId(b.body.mediaId)).toBeDefined();
  });

  it('deletes media past the retention period with the retention job (manual clock)', async () => {
    const fresh = await publicUpload(wav(5), 'audio/wav');
    expect(fresh.status).toBe(201);
    const before = await countRows();
    expect(before).toBeGreaterThan(0);
    clock.advance(89 * 86_400_000);
    const later = await publicUpload(wav(6), 'audio/wav'); // uploaded 89 days in: expires later
    clock.advance(2 * 86_400_000); // 91 days after the first uploads
    const { services } = app.server;
    await services.queue.send('media_retention', {});
    await services.queue.drain({ name: 'media_retention' });
    expect(await services.store.media.byId(fresh.body.mediaId)).toBeUndefined();
    expect(await services.store.media.byId(later.body.mediaId)).toBeDefined();
    const kept = (await services.store.media.byId(later.body.mediaId))!;
    expect(files()).toEqual([expect.stringMatching(new RegExp(`${kept.sha256}$`))]);
    expect(await countRows()).toBe(1);
  });
});

describe('media in an S3-compatible bucket (SWITCHBOARD_MEDIA_S3_*)', () => {
  it('stores uploads in the bucket, signed, serves them back, and deletes them with the person', async () => {
    const creds = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake/secret+key', region: 'eu-west-1', bucket: 'sb-media' };
    const s3 = await startFakeS3(creds);
    const app = await startTestApp({ env: {
      SWITCHBOARD_MEDIA_S3_BUCKET: creds.bucket, SWITCHBOARD_MEDIA_S3_ENDPOINT: s3.url, SWITCHBOARD_MEDIA_S3_REGION: creds.region,
      SWITCHBOARD_MEDIA_S3_ACCESS_KEY_ID: creds.accessKeyId, SWITCHBOARD_MEDIA_S3_SECRET_ACCESS_KEY: creds.secretAccessKey, SWITCHBOARD_MEDIA_S3_PATH_STYLE: 'true',
    } });
    try {
      const owner = await app.owner();
      const agent = (await app.api('/api/agents', { token: owner, body: { name: 'Bucket', listed: true } })).body;
      const note = wav(1);
      const up = await fetch(`${app.url}/api/public/agents/${agent.slug}/media`, { method: 'POST', headers: { 'content-type': 'audio/wav' }, body: note });
      expect(up.status).toBe(201);
      const { mediaId } = await up.json() as any;
      const cookie = up.headers.get('set-cookie')!.split(';')[0]!;
      const item = (await app.server.services.store.media.byId(mediaId))!;
      expect(s3.objects.get(`sb-media/media/${item.storageKey}`)?.equals(note)).toBe(true);
      expect(existsSync(join(app.dataDir, 'media'))).toBe(false);
      const back = await fetch(`${app.url}/api/media/${mediaId}`, { headers: { cookie } });
      expect(Buffer.from(await back.arrayBuffer()).equals(note)).toBe(true);
      expect(s3.journal.every((j) => j.status !== 403)).toBe(true);
      await app.api(`/api/people/${item.personId}`, { method: 'DELETE', token: owner });
      expect(s3.objects.size).toBe(0);
    } finally {
      await app.close();
      await s3.close();
    }
  });
});
