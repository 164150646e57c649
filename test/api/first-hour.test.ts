/**
 * Issue 14.6, 14.8, 14.11 (the server's side): what a new operator's dashboard is told.
 * - The customer platform is one switch: sign-up stays closed on a fresh install, the dashboard
 *   opens it (unless SWITCHBOARD_SIGNUP decides), and its pages matter once it is open or a customer exists.
 * - A failed sign-in says how many tries are left; a slowed one says the wait in minutes.
 * - The template gallery never shows a placeholder.
 * Real HTTP, manual clock, both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, startTestApp, type TestApp } from '../helpers/test-app.js';

describe('a fresh install and its customer-platform switch', { timeout: 90_000 }, () => {
  let app: TestApp;
  let owner: string;
  beforeAll(async () => {
    app = await startTestApp({ withModel: false });
    owner = await app.owner();
  });
  afterAll(async () => { await app?.close(); });

  it('starts closed, with no customer pages', async () => {
    const s = await app.api('/api/settings', { token: owner });
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ signup: false, signupFromEnv: false, customerPlatform: false });
    expect((await app.api('/api/auth/options')).body.signup).toBe(false);
    const r = await app.api('/api/auth/register', { body: { email: 'c@example.com', password: 'long enough password', name: 'C' } });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('signup_closed');
  });

  it('opens sign-up from the dashboard; the customer pages stay once a customer exists', async () => {
    const on = await app.api('/api/settings', { method: 'PATCH', token: owner, body: { signup: true } });
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ signup: true, customerPlatform: true });
    expect((await app.api('/api/auth/options')).body.signup).toBe(true);
    const r = await app.api('/api/auth/register', { body: { email: 'c@example.com', password: 'long enough password', name: 'C' } });
    expect(r.status).toBe(201);
    const off = await app.api('/api/settings', { method: 'PATCH', token: owner, body: { signup: false } });
    expect(off.body).toMatchObject({ signup: false, customerPlatform: true });
    expect((await app.api('/api/auth/register', { body: { email: 'd@example.com', password: 'long enough password', name: 'D' } })).status).toBe(403);
  });

  it('refuses the switch to a customer', async () => {
    const login = await app.api('/api/auth/login', { body: { email: 'c@example.com', password: 'long enough password' } });
    const r = await app.api('/api/settings', { method: 'PATCH', token: login.body.token, body: { signup: true } });
    expect(r.status).toBe(403);
  });

  it('shows every template in plain words, never a placeholder', async () => {
    const r = await app.api('/api/templates', { token: owner });
    expect(r.status).toBe(200);
    expect(r.body.templates.length).toBeGreaterThan(0);
    for (const t of r.body.templates) {
      expect(t.description).not.toMatch(/\{[a-z_]+\}|\[[a-z ]+\]/);
      expect(t.description.length).toBeGreaterThan(10);
    }
  });
});

describe('SWITCHBOARD_SIGNUP decides over the dashboard', { timeout: 90_000 }, () => {
  let app: TestApp;
  beforeAll(async () => { app = await startTestApp({ withModel: false, env: { SWITCHBOARD_SIGNUP: 'closed' } }); });
  afterAll(async () => { await app?.close(); });

  it('keeps sign-up closed and says so', async () => {
    const owner = await app.owner();
    const r = await app.api('/api/settings', { method: 'PATCH', token: owner, body: { signup: true } });
    expect(r.body).toMatchObject({ signup: false, signupFromEnv: true, customerPlatform: false });
    expect((await app.api('/api/auth/options')).body.signup).toBe(false);
  });
});

describe('sign-in failures in words', { timeout: 120_000 }, () => {
  const clock = manualClock(Date.parse('2026-06-01T08:00:00Z'));
  let app: TestApp;
  const login = (password: string) => {
    clock.advance(10);
    return app.api('/api/auth/login', { body: { email: 'owner@example.com', password } });
  };
  beforeAll(async () => {
    app = await startTestApp({ withModel: false, clock });
    await app.owner();
  });
  afterAll(async () => { await app?.close(); });

  it('counts down the free tries, then gives the wait in seconds and minutes, never as 886 seconds', async () => {
    const left: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await login(`wrong-${i}`);
      expect(r.status).toBe(401);
      left.push(r.body.error.attemptsLeft);
    }
    expect(left).toEqual([4, 3, 2, 1, 0]);
    const first = await login('wrong-again');
    expect(first.status).toBe(429);
    expect(first.body.error).toMatchObject({ code: 'rate_limited', slowed: true, retryAfterSeconds: 1 });
    expect(first.body.error.message).toMatch(/in 1 second\b/);
    // Keep failing until the wait is long (it doubles: 2 s, 4 s … 256 s): then it is told in minutes.
    let r = first;
    for (let i = 0; i < 8; i++) {
      clock.advance(r.body.error.retryAfterSeconds * 1000);
      expect((await login(`more-${i}`)).status).toBe(401);
      r = await login(`blocked-${i}`);
      expect(r.status).toBe(429);
    }
    expect(r.body.error.retryAfterSeconds).toBe(256);
    expect(r.body.error.message).toMatch(/in 5 minutes\./);
    expect(r.body.error.message).not.toMatch(/seconds/);
  });
});
