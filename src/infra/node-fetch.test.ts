import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { nodeFetch } from './node-fetch.js';
import { freePort } from '../../test/helpers/ports.js';

let server: http.Server;
let base: string;
let onSilent = () => {};
const seen: { method?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body });
      if (req.url === '/json') { res.writeHead(201, { 'content-type': 'application/json', 'x-extra': 'yes' }); res.end(JSON.stringify({ echo: body })); return; }
      if (req.url === '/error') { res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }); res.end('{"error":{"message":"slow down"}}'); return; }
      if (req.url === '/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: one\n\n');
        setTimeout(() => res.end('data: two\n\n'), 10);
        return;
      }
      if (req.url === '/moved') { res.writeHead(307, { location: '/json' }); res.end(); return; }
      if (req.url === '/cut') { res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' }); res.write('{"half":'); setTimeout(() => res.destroy(), 5); return; }
      if (req.url === '/empty') { res.writeHead(204); res.end(); return; }
      if (req.url === '/silent') { onSilent(); return; } // never answers
      res.writeHead(404); res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

describe('nodeFetch (the model providers\' fetch)', () => {
  it('sends method, headers and body, and answers status, headers and body', async () => {
    const res = await nodeFetch(`${base}/json`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body: '{"a":1}' });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-extra')).toBe('yes');
    expect(await res.json()).toEqual({ echo: '{"a":1}' });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: '{"a":1}', headers: { authorization: 'Bearer k', 'content-type': 'application/json' } });
    const bytes = await nodeFetch(new URL(`${base}/json`), { method: 'POST', headers: new Headers({ 'x-h': '1' }), body: new TextEncoder().encode('raw') });
    expect(await bytes.json()).toEqual({ echo: 'raw' });
    expect(seen.at(-1)!.headers['x-h']).toBe('1');
  });

  it('answers an API error as a response, like fetch', async () => {
    const res = await nodeFetch(`${base}/error`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.text()).toContain('slow down');
    expect((await nodeFetch(`${base}/empty`)).status).toBe(204);
  });

  it('keeps an event stream a stream', async () => {
    const res = await nodeFetch(`${base}/events`, { method: 'POST', body: '{}' });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toBe('data: one\n\ndata: two\n\n');
  });

  it('follows a redirect (through fetch)', async () => {
    const res = await nodeFetch(`${base}/moved`, { method: 'POST', body: 'again' });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ echo: 'again' });
  });

  it('fails a refused connection as fetch does (TypeError "fetch failed" with the cause)', async () => {
    const port = await freePort();
    const err = await nodeFetch(`http://127.0.0.1:${port}/json`, { method: 'POST', body: '{}' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as TypeError).message).toBe('fetch failed');
    expect(((err as TypeError).cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('fails a body cut short as fetch does', async () => {
    const err = await nodeFetch(`${base}/cut`, { method: 'POST', body: '{}' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as TypeError).message).toBe('fetch failed');
  });

  it('stops at the signal: waiting for an answer rejects with its reason, an aborted signal before sending too', async () => {
    const waiting = new AbortController();
    onSilent = () => waiting.abort(new DOMException('The operation timed out.', 'TimeoutError'));
    const err = await nodeFetch(`${base}/silent`, { method: 'POST', body: '{}', signal: waiting.signal }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
    const c = new AbortController();
    c.abort();
    expect(((await nodeFetch(`${base}/json`, { signal: c.signal }).catch((e: unknown) => e)) as Error).name).toBe('AbortError');
  });

  it('hands bodies it does not send itself (form data) to fetch', async () => {
    const form = new FormData();
    form.set('f', 'v');
    const res = await nodeFetch(`${base}/json`, { method: 'POST', body: form });
    expect(res.status).toBe(201);
    expect(seen.at(-1)!.headers['content-type']).toMatch(/^multipart\/form-data/);
  });
});
