import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedEncodings, serveSpa } from './static.js';

const JS = `export const hello = ${JSON.stringify('switchboard '.repeat(400))};\n`;
const INDEX = `<!doctype html><html><head><title>Switchboard</title></head><body>${'<div>app</div>'.repeat(100)}</body></html>`;
const PRE = 'console.log("precompressed");'.repeat(50);

let root: string;
let app: Hono;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sb-static-'));
  mkdirSync(join(root, '_app', 'immutable', 'chunks'), { recursive: true });
  writeFileSync(join(root, 'index.html'), INDEX);
  writeFileSync(join(root, '_app', 'immutable', 'chunks', 'abc123.js'), JS);
  // What adapter-static's precompress writes next to each file.
  writeFileSync(join(root, '_app', 'immutable', 'chunks', 'pre.js'), PRE);
  writeFileSync(join(root, '_app', 'immutable', 'chunks', 'pre.js.br'), brotliCompressSync(PRE));
  writeFileSync(join(root, '_app', 'immutable', 'chunks', 'pre.js.gz'), gzipSync(PRE));
  writeFileSync(join(root, 'theme-init.js'), JS);
  writeFileSync(join(root, 'tiny.js'), 'let a = 1;');
  writeFileSync(join(root, 'logo.png'), Buffer.alloc(4096, 7));
  app = new Hono();
  app.use('*', serveSpa(root));
  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'Not found.' } }, 404));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const get = (path: string, headers: Record<string, string> = {}) => app.request(path, { headers });
const bytes = async (res: Response) => Buffer.from(await res.arrayBuffer());

describe('acceptedEncodings', () => {
  it('prefers brotli, then gzip, and honours q=0 and *', () => {
    expect(acceptedEncodings('gzip, deflate, br, zstd')).toEqual(['br', 'gzip']);
    expect(acceptedEncodings('gzip')).toEqual(['gzip']);
    expect(acceptedEncodings('br;q=0, gzip;q=0.8')).toEqual(['gzip']);
    expect(acceptedEncodings('*')).toEqual(['br', 'gzip']);
    expect(acceptedEncodings('identity')).toEqual([]);
    expect(acceptedEncodings(undefined)).toEqual([]);
  });
});

describe('static files', () => {
  it('serves brotli when accepted, with Vary and a year of immutable caching on hashed files', async () => {
    const res = await get('/_app/immutable/chunks/abc123.js', { 'Accept-Encoding': 'gzip, deflate, br' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBe('br');
    expect(res.headers.get('vary')).toBe('Accept-Encoding');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('etag')).toBeNull(); // never revalidated: a new build is a new name
    const body = await bytes(res);
    expect(body.length).toBeLessThan(JS.length / 4);
    expect(brotliDecompressSync(body).toString()).toBe(JS);
  });

  it('falls back to gzip, and to the plain file when nothing is accepted', async () => {
    const gz = await get('/_app/immutable/chunks/abc123.js', { 'Accept-Encoding': 'gzip' });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.headers.get('vary')).toBe('Accept-Encoding');
    expect(gunzipSync(await bytes(gz)).toString()).toBe(JS);

    const plain = await get('/_app/immutable/chunks/abc123.js');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('vary')).toBe('Accept-Encoding');
    expect(await plain.text()).toBe(JS);
  });

  it('serves the files the build precompressed as they are', async () => {
    const br = await get('/_app/immutable/chunks/pre.js', { 'Accept-Encoding': 'br, gzip' });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(await bytes(br)).toEqual(brotliCompressSync(PRE));
    const gz = await get('/_app/immutable/chunks/pre.js', { 'Accept-Encoding': 'gzip' });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(await bytes(gz)).toString()).toBe(PRE);
  });

  it('leaves tiny files and images uncompressed', async () => {
    const tiny = await get('/tiny.js', { 'Accept-Encoding': 'br' });
    expect(tiny.headers.get('content-encoding')).toBeNull();
    expect(await tiny.text()).toBe('let a = 1;');
    const png = await get('/logo.png', { 'Accept-Encoding': 'br' });
    expect(png.headers.get('content-encoding')).toBeNull();
    expect(png.headers.get('vary')).toBeNull();
    expect((await bytes(png)).length).toBe(4096);
  });

  it('revalidates files that are not hashed: no-cache, an ETag per encoding, 304 when it matches', async () => {
    const first = await get('/theme-init.js', { 'Accept-Encoding': 'br' });
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\/".+-br"$/);

    const again = await get('/theme-init.js', { 'Accept-Encoding': 'br', 'If-None-Match': etag! });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);

    // The gzip representation has its own validator: a brotli ETag does not match it.
    const gz = await get('/theme-init.js', { 'Accept-Encoding': 'gzip', 'If-None-Match': etag! });
    expect(gz.status).toBe(200);
    expect(gz.headers.get('etag')).not.toBe(etag);
  });

  it('answers client-side routes with index.html: no-cache, compressed, revalidated with a 304', async () => {
    const res = await get('/chat/some-agent', { 'Accept-Encoding': 'br' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-encoding')).toBe('br');
    expect(brotliDecompressSync(await bytes(res)).toString()).toBe(INDEX);
    const again = await get('/dashboard', { 'Accept-Encoding': 'br', 'If-None-Match': res.headers.get('etag')! });
    expect(again.status).toBe(304);
  });

  it('keeps a missing asset a 404 and stays out of the API', async () => {
    expect((await get('/_app/immutable/chunks/missing.js')).status).toBe(404);
    expect((await get('/api/nothing')).status).toBe(404);
    expect((await get('/../../etc/passwd')).status).not.toBe(500);
  });
});
