/**
 * Issue 12.7: anonymous limits must not trust a cookie the visitor chose. Visitor ids are issued
 * and signed by the server (HMAC keyed by the instance secret); an unsigned or forged `sb_visitor`
 * is replaced by a new one. Anonymous chat, link-code requests and uploads are also limited per
 * client address (SWITCHBOARD_ANON_PER_MINUTE), so shedding cookies buys nothing. Real HTTP, both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, startTestApp, type TestApp } from '../helpers/test-app.js';

describe('anonymous visitors', () => {
  const clock = manualClock(Date.parse('2026-06-01T08:00:00Z'));
  let app: TestApp;
  let slug: string;
  beforeAll(async () => {
    app = await startTestApp({ clock, env: { SWITCHBOARD_ANON_PER_MINUTE: '4', SWITCHBOARD_TRUSTED_PROXIES: '1' } });
    const token = await app.owner();
    slug = (await app.api('/api/agents', { token, body: { name: 'Front Desk', listed: true } })).body.slug;
  });
  afterAll(async () => { await app?.close(); });

  /** One anonymous chat message from `ip` (as the proxy saw it), with an optional cookie; returns status and the cookie set. */
  async function chat(ip: string, cookie?: string) {
    const r = await fetch(`${app.url}/api/public/agents/${slug}/chat`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip, ...(cookie ? { cookie: `sb_visitor=${cookie}` } : {}) },
      body: JSON.stringify({ text: 'hello' }),
    });
    await r.text();
    const set = r.headers.get('set-cookie')?.match(/^sb_visitor=([^;]+)/)?.[1];
    return { status: r.status, set, retryAfter: r.headers.get('retry-after') };
  }

  it('replaces a visitor id the server did not issue, and keeps the one it signed', async () => {
    const madeUp = await chat('198.51.100.1', 'my-own-chosen-visitor-id-0001');
    expect(madeUp.status).toBe(200);
    expect(madeUp.set).toBeDefined();
    expect(madeUp.set).not.toContain('my-own-chosen');
    const [id, sig] = madeUp.set!.split('.');
    // A forged signature, or another id under a real signature, is not believed either.
    for (const forged of [`${id}.${'A'.repeat(sig!.length)}`, `${'B'.repeat(id!.length)}.${sig}`]) {
      const r = await chat('198.51.100.1', forged);
      expect(r.set).toBeDefined();
      expect(r.set).not.toBe(forged);
    }
    // The signed one is kept: no new cookie, and the conversation carries on.
    const again = await chat('198.51.100.1', madeUp.set);
    expect(again.set).toBeUndefined();
    const history = await fetch(`${app.url}/api/public/agents/${slug}/conversation`, { headers: { cookie: `sb_visitor=${madeUp.set}` } }).then((r) => r.json() as Promise<any>);
    expect(history.messages.filter((m: { role: string }) => m.role === 'user')).toHaveLength(2);
  });

  it('limits anonymous chat and link codes per client address, whatever cookie comes with them', async () => {
    const ip = '198.51.100.2';
    for (let i = 0; i < 4; i++) expect((await chat(ip)).status).toBe(200); // a fresh cookie-less visitor each time
    const refused = await chat(ip);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    const link = await app.api('/api/public/link/start', { body: { phone: '+5511977770000' }, headers: { 'x-forwarded-for': ip } });
    expect(link.status).toBe(429);
    expect(link.body.error.code).toBe('rate_limited');
    expect((await chat('198.51.100.3')).status).toBe(200); // another address is not held back
    clock.advance(60_000);
    expect((await chat(ip)).status).toBe(200); // the rate refills
  });

  it('does not count signed-in previews against the address', async () => {
    const token = await app.owner();
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${app.url}/api/public/agents/${slug}/chat`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.9', authorization: `Bearer ${token}` }, body: JSON.stringify({ text: 'preview' }),
      });
      await r.text();
      expect(r.status).toBe(200);
    }
  });
});
