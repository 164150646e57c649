import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { boundedDownload } from './media-download.js';
import { AppError } from '../domain/errors.js';
import { SendError } from '../domain/ports.js';

describe('boundedDownload', () => {
  let server: Server;
  let base: string;
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', headers: req.headers });
      if (req.url === '/chunked') { // no content-length: the size is only known while reading
        res.writeHead(200, { 'content-type': 'audio/ogg' });
        let n = 0;
        const t = setInterval(() => { res.write(Buffer.alloc(1024, 1)); if (++n === 50) { clearInterval(t); res.end(); } }, 1);
        res.on('close', () => clearInterval(t));
        return;
      }
      if (req.url === '/declared') { res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) }); return void res.end(); }
      if (req.url === '/redirect') { res.writeHead(307, { location: '/cdn/file' }); return void res.end(); }
      if (req.url === '/cdn/file') { res.writeHead(200); return void res.end(Buffer.from('hello')); }
      if (req.url?.startsWith('/gone')) { res.writeHead(404); return void res.end(); }
      res.writeHead(503); res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('cuts a body off the moment it grows past the limit (413), even without a declared length', async () => {
    const err = await boundedDownload('Test', `${base}/chunked`, { maxBytes: 10 * 1024, timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 413, code: 'media_too_large' });
  });

  it('refuses a declared length over the limit before reading', async () => {
    await expect(boundedDownload('Test', `${base}/declared`, { maxBytes: 1024, timeoutMs: 5000 })).rejects.toMatchObject({ status: 413 });
  });

  it('follows a redirect by hand without the credentials, only when asked', async () => {
    seen.length = 0;
    const bytes = await boundedDownload('Test', `${base}/redirect`, { maxBytes: 1024, timeoutMs: 5000, headers: { authorization: 'Basic secret' }, followRedirect: true });
    expect(Buffer.from(bytes).toString()).toBe('hello');
    expect(seen.map((s) => [s.path, s.headers.authorization])).toEqual([['/redirect', 'Basic secret'], ['/cdn/file', undefined]]);
    await expect(boundedDownload('Test', `${base}/redirect`, { maxBytes: 1024, timeoutMs: 5000 })).rejects.toBeInstanceOf(SendError);
  });

  it('classifies failures: gone is final, an outage is retried, and the URL is never named', async () => {
    const gone = await boundedDownload('Test', `${base}/gone?token=s3cret`, { maxBytes: 1024, timeoutMs: 5000 }).catch((e: SendError) => e);
    expect(gone).toMatchObject({ retryable: false });
    const down = await boundedDownload('Test', `${base}/down`, { maxBytes: 1024, timeoutMs: 5000 }).catch((e: SendError) => e);
    expect(down).toMatchObject({ retryable: true });
    const refused = await boundedDownload('Test', 'http://127.0.0.1:9/bot123:secret/file', { maxBytes: 1024, timeoutMs: 5000 }).catch((e: SendError) => e);
    expect(refused).toMatchObject({ retryable: true });
    expect(String((refused as SendError).message)).not.toContain('secret');
  });
});
