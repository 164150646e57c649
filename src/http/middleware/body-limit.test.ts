import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { bodyLimit } from './body-limit.js';

function app() {
  const a = new Hono();
  a.use('*', bodyLimit({ maxSize: 10, onError: (c) => c.json({ error: { code: 'payload_too_large' } }, 413) }));
  a.post('/echo', async (c) => c.text(await c.req.text()));
  a.get('/echo', (c) => c.text('get'));
  return a;
}

describe('bodyLimit', () => {
  it('lets a body within the bound through, read whole by the route', async () => {
    const r = await app().request('/echo', { method: 'POST', body: '0123456789', headers: { 'content-length': '10' } });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('0123456789');
  });

  it('refuses a body whose Content-Length is over the bound', async () => {
    const r = await app().request('/echo', { method: 'POST', body: '0123456789A', headers: { 'content-length': '11' } });
    expect(r.status).toBe(413);
  });

  it('counts a body of unknown length as it streams, and refuses it past the bound', async () => {
    const stream = (text: string) => new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(text)); c.close(); } });
    const small = await app().request('/echo', { method: 'POST', body: stream('short'), duplex: 'half' } as RequestInit);
    expect(small.status).toBe(200);
    expect(await small.text()).toBe('short');
    const big = await app().request('/echo', { method: 'POST', body: stream('much too long a body'), duplex: 'half' } as RequestInit);
    expect(big.status).toBe(413);
  });

  it('passes GET requests', async () => {
    expect((await app().request('/echo')).status).toBe(200);
  });
});
