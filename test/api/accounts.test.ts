import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

describe('accounts: setup, login, sessions, API keys, roles', () => {
  let app: TestApp;
  beforeAll(async () => { app = await startTestApp(); });
  afterAll(async () => { await app?.close(); });

  it('serves health once ready', async () => {
    const r = await app.api('/health');
    expect(r).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('offers one-time setup, then refuses a second owner', async () => {
    expect((await app.api('/api/setup')).body).toEqual({ needsSetup: true });
    const bad = await app.api('/api/setup', { body: { email: 'not-an-email', password: 'short' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    expect(bad.body.error.message).toMatch(/email/);
    expect(bad.body.error.message).toMatch(/password/);
    const token = await app.owner();
    expect(token).toMatch(/^sbs_/);
    expect((await app.api('/api/setup')).body).toEqual({ needsSetup: false });
    const again = await app.api('/api/setup', { body: { email: 'evil@example.com', password: 'password123' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_set_up');
  });

  it('creates exactly one owner when setup requests race', async () => {
    const fresh = await startTestApp();
    try {
      const results = await Promise.all(['a', 'b', 'c'].map((x) => fresh.api('/api/setup', { body: { email: `${x}@example.com`, password: 'password123' } })));
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    } finally { await fresh.close(); }
  });

  it('refuses state-changing API requests sent as HTML forms (CSRF)', async () => {
    const token = await app.owner();
    const r = await fetch(`${app.url}/api/auth/logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` }, body: 'a=1' });
    expect(r.status).toBe(415);
  });

  it('logs in with the right password only, and sets an HttpOnly SameSite cookie', async () => {
    await app.owner();
    const wrong = await app.api('/api/auth/login', { body: { email: 'owner@example.com', password: 'wrong password' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatchObject({ code: 'invalid_credentials' });
    const ok = await app.api('/api/auth/login', { body: { email: 'OWNER@example.com', password: 'correct horse battery' } });
    expect(ok.status).toBe(200);
    expect(ok.body.user).toMatchObject({ email: 'owner@example.com', role: 'owner' });
    expect(Object.keys(ok.body.user).sort()).toEqual(['createdAt', 'email', 'id', 'role'].filter((k) => k in ok.body.user).sort());
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/sb_session=sbs_/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    // The cookie alone authenticates the dashboard.
    const me = await app.api('/api/auth/me', { headers: { cookie: cookie.split(';')[0]! } });
    expect(me.body.user.email).toBe('owner@example.com');
  });

  it('logout makes the token stop working', async () => {
    await app.owner();
    const { body } = await app.api('/api/auth/login', { body: { email: 'owner@example.com', password: 'correct horse battery' } });
    expect((await app.api('/api/auth/me', { token: body.token })).status).toBe(200);
    expect((await app.api('/api/auth/logout', { method: 'POST', token: body.token })).status).toBe(200);
    const after = await app.api('/api/auth/me', { token: body.token });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
  });

  it('rejects unknown bearer tokens and anonymous access to the dashboard API', async () => {
    expect((await app.api('/api/agents', { token: 'sbk_nope' })).status).toBe(401);
    expect((await app.api('/api/agents')).status).toBe(401);
  });

  it('creates API keys that work as bearer tokens, are shown once and can be revoked', async () => {
    const token = await app.owner();
    const created = await app.api('/api/keys', { body: { name: 'ci' }, token });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^sbk_/);
    const list = await app.api('/api/keys', { token });
    expect(list.body.keys).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);
    expect((await app.api('/api/agents', { token: created.body.key })).status).toBe(200);
    expect((await app.api(`/api/keys/${created.body.id}`, { method: 'DELETE', token })).status).toBe(204);
    expect((await app.api('/api/agents', { token: created.body.key })).status).toBe(401);
  });

  it('keeps auditors read-only and customers inside their own agents', async () => {
    const owner = await app.owner();
    for (const [email, role] of [['audit@example.com', 'auditor'], ['cust@example.com', 'customer'], ['cust2@example.com', 'customer']]) {
      expect((await app.api('/api/users', { body: { email, password: 'password123', role }, token: owner })).status).toBe(201);
    }
    const login = async (email: string) => (await app.api('/api/auth/login', { body: { email, password: 'password123' } })).body.token as string;
    const auditor = await login('audit@example.com');
    const cust = await login('cust@example.com');
    const cust2 = await login('cust2@example.com');

    const ownerAgent = (await app.api('/api/agents', { body: { name: 'Owner Agent' }, token: owner })).body;
    const denied = await app.api('/api/agents', { body: { name: 'Nope' }, token: auditor });
    expect(denied.status).toBe(403);
    expect((await app.api(`/api/agents/${ownerAgent.id}`, { token: auditor })).status).toBe(200);
    expect((await app.api(`/api/agents/${ownerAgent.id}`, { method: 'PATCH', body: { name: 'x' }, token: auditor })).status).toBe(403);
    // Chatting is a write too, on every path, with a session or with the auditor's own API key.
    app.fake.reset();
    const auditorKey = (await app.api('/api/keys', { body: { name: 'audit' }, token: auditor })).body.key as string;
    const template = (await app.api(`/api/agents/${ownerAgent.id}/export`, { token: auditor })).body;
    const attempts = [
      app.api(`/api/agents/${ownerAgent.id}/message`, { body: { text: 'hi' }, token: auditor }),
      app.api(`/api/agents/${ownerAgent.id}/pause`, { method: 'POST', token: auditor }),
      app.api('/api/agents/import', { body: template, token: auditor }),
      app.api('/v1/chat/completions', { body: { model: ownerAgent.slug, messages: [{ role: 'user', content: 'hi' }] }, token: auditorKey }),
      app.api('/v1/chat/completions', { body: { model: ownerAgent.slug, messages: [{ role: 'user', content: 'hi' }], stream: true }, token: auditor }),
    ];
    for (const r of await Promise.all(attempts)) {
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
    }
    expect(app.fake.requests()).toHaveLength(0);
    expect((await app.api(`/api/agents/${ownerAgent.id}`, { token: owner })).body.status).toBe('active');
    expect((await app.api('/api/agents', { token: owner })).body.agents.map((a: { name: string }) => a.name)).toEqual(['Owner Agent']);

    const mine = await app.api('/api/agents', { body: { name: 'Customer Agent' }, token: cust });
    expect(mine.status).toBe(201);
    const seen = (await app.api('/api/agents', { token: cust })).body.agents.map((a: { name: string }) => a.name);
    expect(seen).toEqual(['Customer Agent']);
    expect((await app.api(`/api/agents/${ownerAgent.id}`, { token: cust })).status).toBe(404);
    expect((await app.api(`/api/agents/${mine.body.id}`, { token: cust2 })).status).toBe(404);
    expect((await app.api(`/api/agents/${mine.body.id}`, { method: 'DELETE', token: cust2 })).status).toBe(404);
    expect((await app.api('/api/users', { token: cust })).status).toBe(403);
    expect((await app.api('/api/providers', { body: { name: 'x', kind: 'openai', apiKey: 'k' }, token: cust })).status).toBe(403);
  });

  it('rate-limits repeated failed logins with 429 and Retry-After', async () => {
    await app.owner();
    let last;
    for (let i = 0; i < 11; i++) last = await app.api('/api/auth/login', { body: { email: 'target@example.com', password: 'guess-' + i } });
    expect(last!.status).toBe(429);
    expect(last!.body.error.code).toBe('rate_limited');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('owner from the environment', () => {
  it('creates the owner at start from SWITCHBOARD_ADMIN_EMAIL and SWITCHBOARD_ADMIN_PASSWORD', async () => {
    const app = await startTestApp({ env: { SWITCHBOARD_ADMIN_EMAIL: 'boss@example.com', SWITCHBOARD_ADMIN_PASSWORD: 'env-password-1' } });
    try {
      expect((await app.api('/api/setup')).body).toEqual({ needsSetup: false });
      const r = await app.api('/api/auth/login', { body: { email: 'boss@example.com', password: 'env-password-1' } });
      expect(r.status).toBe(200);
      expect(r.body.user.role).toBe('owner');
    } finally { await app.close(); }
  });
});
