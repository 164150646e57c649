/**
 * Issue 12.6: a flood of failed sign-ins must not lock the account holder out. Attempts on the
 * account are slowed (429 with Retry-After, doubling), but the holder's usual place — an address
 * they have signed in from before — counts only its own failures. Behind a reverse proxy the
 * client address is the rightmost one the trusted proxies did not add, so a client cannot claim
 * the holder's address by writing it into X-Forwarded-For. Manual clock, real HTTP, both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, startTestApp, type TestApp } from '../helpers/test-app.js';

const PASSWORD = 'correct horse battery';
const HOME = '203.0.113.7';

// Every failure is a real argon2 check: generous timeouts for a loaded machine.
describe('login backoff behind one trusted proxy (SWITCHBOARD_TRUSTED_PROXIES=1)', { timeout: 90_000 }, () => {
  const clock = manualClock(Date.parse('2026-06-01T08:00:00Z'));
  let app: TestApp;
  /** What the proxy sends: whatever the client wrote in X-Forwarded-For, then the address it saw. */
  const via = (seen: string, claimed?: string) => ({ 'x-forwarded-for': claimed ? `${claimed}, ${seen}` : seen });
  /** Each attempt a moment after the last (the audit log orders them by time). */
  const login = (password: string, headers: Record<string, string>, email = 'owner@example.com') => {
    clock.advance(10);
    return app.api('/api/auth/login', { body: { email, password }, headers });
  };

  beforeAll(async () => {
    app = await startTestApp({ withModel: false, clock, env: { SWITCHBOARD_TRUSTED_PROXIES: '1' } });
    await app.owner();
    expect((await login(PASSWORD, via(HOME))).status).toBe(200); // the holder's usual place
  });
  afterAll(async () => { await app?.close(); });

  it('a flood of failures slows strangers, and the holder still gets in from their usual place', async () => {
    const left: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await login(`guess-${i}`, via(`198.51.100.${i + 1}`));
      expect(r.status).toBe(401);
      left.push(r.body.error.attemptsLeft);
    }
    expect(left).toEqual([4, 3, 2, 1, 0]);
    // Thirty more, from one address and from many: every one is slowed, none is even checked.
    for (let i = 0; i < 30; i++) {
      const r = await login(`guess-x${i}`, via(i % 2 ? '198.51.100.99' : `192.0.2.${i + 1}`));
      expect(r.status).toBe(429);
      expect(r.body.error).toMatchObject({ code: 'rate_limited', slowed: true });
      expect(Number(r.headers.get('retry-after'))).toBe(r.body.error.retryAfterSeconds);
    }
    // A stranger with the right password waits too; the holder at home does not.
    expect((await login(PASSWORD, via('198.51.100.50'))).status).toBe(429);
    expect((await login(PASSWORD, via(HOME))).status).toBe(200);
  });

  it('doubles the wait with each further failure, and lets an attempt through once it has passed', async () => {
    // The holder's success above restarted the count: five free failures, then 1 s, 2 s, 4 s …
    for (let i = 0; i < 5; i++) expect((await login(`again-${i}`, via('198.51.100.7'))).status).toBe(401);
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const slowed = await login(`again-x${i}`, via('198.51.100.7'));
      expect(slowed.status).toBe(429);
      waits.push(slowed.body.error.retryAfterSeconds);
      clock.advance(slowed.body.error.retryAfterSeconds * 1000);
      expect((await login(`again-y${i}`, via('198.51.100.7'))).status).toBe(401); // let through, and wrong
    }
    expect(waits).toEqual([1, 2, 4]);
    clock.advance(16 * 60_000); // the window passes: the slate is clean
    expect((await login(PASSWORD, via('198.51.100.7'))).status).toBe(200);
  });

  it("takes the address the proxy saw, not the one a client claims — so nobody borrows the holder's place", async () => {
    for (let i = 0; i < 6; i++) await login(`spoof-${i}`, via('198.51.100.66', HOME));
    const spoofed = await login(PASSWORD, via('198.51.100.66', HOME));
    expect(spoofed.status).toBe(429);
    expect((await login(PASSWORD, via(HOME))).status).toBe(200);
    const token = await app.owner();
    const failed = (await app.api('/api/audit?limit=1000&action=auth.login_failed', { token })).body.entries as { detail: { ip: string; reason: string } }[];
    const spoofs = failed.filter((e) => e.detail.ip === '198.51.100.66');
    expect(spoofs.length).toBe(5); // the free failures; the rest were slowed before any check
    expect(failed.some((e) => e.detail.ip === HOME)).toBe(false);
  });
});

describe('client address from a list of trusted proxies', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ withModel: false, env: { SWITCHBOARD_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8' } });
    await app.owner();
  });
  afterAll(async () => { await app?.close(); });

  it('skips every hop a trusted proxy added and records the first address left', async () => {
    // client-chosen garbage, the real client, then two proxies inside 10/8; the last one connects from 127.0.0.1.
    const r = await app.api('/api/auth/login', { body: { email: 'owner@example.com', password: 'wrong-one' }, headers: { 'x-forwarded-for': '1.2.3.4, 198.51.100.23, 10.0.0.5, 10.1.2.3' } });
    expect(r.status).toBe(401);
    const token = await app.owner();
    const entries = (await app.api('/api/audit?limit=10&action=auth.login_failed', { token })).body.entries as { detail: { ip: string } }[];
    expect(entries.map((e) => e.detail.ip)).toEqual(['198.51.100.23']);
  });
});

describe('the deprecated SWITCHBOARD_TRUST_PROXY=true', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ withModel: false, env: { SWITCHBOARD_TRUST_PROXY: 'true' } });
    await app.owner();
  });
  afterAll(async () => { await app?.close(); });

  it('means one trusted hop: the address the proxy appended, never the first (client-chosen) entry', async () => {
    await app.api('/api/auth/login', { body: { email: 'owner@example.com', password: 'wrong-one' }, headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.40' } });
    const token = await app.owner();
    const entries = (await app.api('/api/audit?limit=10&action=auth.login_failed', { token })).body.entries as { detail: { ip: string } }[];
    expect(entries.map((e) => e.detail.ip)).toEqual(['198.51.100.40']);
  });
});
