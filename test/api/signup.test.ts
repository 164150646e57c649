/**
 * Customer accounts over real HTTP with a real SMTP server: self sign-up on the trial plan, e-mail
 * verification, password reset, magic links, no account enumeration, sign-in and mail limits per
 * account and per client address, suspension, and the audit log of all of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, manualClock, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeSmtp, type FakeSmtp } from '../fakes/smtp-server.js';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase';

let smtp: FakeSmtp;
let ipSeq = 0;
/** A fresh client address per call (the apps trust X-Forwarded-For), so limits of one test do not touch another. */
const freshIp = () => `10.9.${Math.floor(ipSeq / 250)}.${(ipSeq++ % 250) + 1}`;
let mailSeq = 0;
const address = (tag: string) => `${tag.toLowerCase()}-${++mailSeq}@example.com`;

/** The newest link to `path` mailed to an address, waiting for the `nth` (1-based) such mail. */
async function link(to: string, path: string, nth = 1): Promise<{ url: string; token: string }> {
  const re = new RegExp(`(https?://\\S+?${path.replace(/\//g, '\\/')})\\?token=([A-Za-z0-9_-]+)`);
  const mails = await eventually(() => { const m = smtp.to(to).filter((x) => re.test(x.text)); return m.length >= nth ? m : undefined; }, 5000, `mail ${nth} to ${to}`);
  const [, base, token] = re.exec(mails![nth - 1]!.text)!;
  return { url: `${base}?token=${token}`, token: token! };
}

function client(app: TestApp) {
  const as = (ip: string) => ({ 'x-forwarded-for': ip });
  return {
    register: (body: Record<string, unknown>, ip = freshIp()) => app.api('/api/auth/register', { body, headers: as(ip) }),
    login: (email: string, password: string, ip = freshIp()) => app.api('/api/auth/login', { body: { email, password }, headers: as(ip) }),
    post: (path: string, body: unknown, ip = freshIp(), token?: string) => app.api(path, { method: 'POST', body, headers: as(ip), token }),
    audit: async (token: string, action?: string) => (await app.api(`/api/audit?limit=1000${action ? `&action=${encodeURIComponent(action)}` : ''}`, { token })).body.entries as any[],
  };
}

const ENV = (smtpUrl: string) => ({ SWITCHBOARD_SIGNUP: 'open', SMTP_URL: smtpUrl, SMTP_FROM: 'Switchboard <noreply@example.com>', SWITCHBOARD_TRUST_PROXY: 'true' });

beforeAll(async () => { smtp = await startFakeSmtp(); });
afterAll(async () => { await smtp?.close(); });

describe('sign-up, verification, password reset and magic links', () => {
  let app: TestApp;
  let c: ReturnType<typeof client>;
  let owner: string;
  beforeAll(async () => {
    app = await startTestApp({ withModel: false, env: ENV(smtp.url) });
    c = client(app);
    owner = await app.owner();
  });
  afterAll(async () => { await app?.close(); });

  async function signUp(tag: string) {
    const email = address(tag);
    const r = await c.register({ email, password: PASSWORD, name: 'Ada Lovelace' });
    expect(r.status).toBe(201);
    return { email, token: r.body.token as string, user: r.body.user };
  }

  it('registers a signed-in customer on the trial plan and mails a verification link', async () => {
    const email = address('Ada');
    const before = Date.now();
    const r = await c.register({ email: email.toUpperCase(), password: PASSWORD, name: '  Ada Lovelace ' });
    expect(r.status).toBe(201);
    expect(r.body.token).toMatch(/^sbs_/);
    expect(r.body.user).toMatchObject({ email, name: 'Ada Lovelace', role: 'customer', emailVerified: false });
    expect(r.headers.get('set-cookie')).toMatch(/sb_session=sbs_.*HttpOnly/i);
    const me = await app.api('/api/auth/me', { token: r.body.token });
    expect(me.body.user).toMatchObject({ email, name: 'Ada Lovelace', role: 'customer', emailVerified: false, status: 'active' });

    const trial = await app.server.services.store.plans.get('trial');
    const billing = await app.server.services.store.plans.billing(r.body.user.id);
    expect(billing).toMatchObject({ planId: 'trial', planStatus: 'trialing' });
    const ends = Date.parse(billing!.trialEndsAt!);
    expect(ends).toBeGreaterThanOrEqual(before + trial!.trialDays * 86_400_000 - 1000);
    expect(ends).toBeLessThanOrEqual(Date.now() + trial!.trialDays * 86_400_000 + 1000);

    // Without PUBLIC_URL, links point at the origin the request came to.
    const { url } = await link(email, '/verify-email');
    expect(url.startsWith(`${app.url}/verify-email?token=`)).toBe(true);
    const mail = smtp.to(email)[0]!;
    expect(mail.from).toBe('noreply@example.com');
    expect(mail.subject).toMatch(/confirm your e-mail/i);

    // An unverified customer still signs in; the flag shows.
    const login = await c.login(email, PASSWORD);
    expect(login.status).toBe(200);
    expect((await app.api('/api/auth/me', { token: login.body.token })).body.user.emailVerified).toBe(false);
    expect((await app.api('/api/auth/options')).body).toEqual({ signup: true, mail: true });
  });

  it('explains bad sign-ups field by field and refuses a taken address with 409 email_taken', async () => {
    const bad = await c.register({ email: 'not-an-email', password: 'short', name: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    expect(bad.body.error.fields.map((f: { path: string }) => f.path).sort()).toEqual(['email', 'name', 'password']);
    expect((await c.register({ email: address('x'), password: PASSWORD })).body.error.fields.map((f: { path: string }) => f.path)).toEqual(['name']);
    expect((await c.register({ email: address('x'), password: PASSWORD, name: 'X', role: 'owner' })).status).toBe(400);

    const { email } = await signUp('dup');
    const again = await c.register({ email: email.toUpperCase(), password: 'another password', name: 'Someone' });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ error: { code: 'email_taken', message: expect.any(String) } });
    expect(again.body.error.message).not.toContain('Ada');
  });

  it('verifies the e-mail address once per link, and resends a link on request', async () => {
    const { email, token } = await signUp('verify');
    const first = await link(email, '/verify-email');
    const r = await c.post('/api/auth/verify-email', { token: first.token });
    expect(r).toMatchObject({ status: 200, body: { ok: true } });
    const me = (await app.api('/api/auth/me', { token })).body.user;
    expect(me.emailVerified).toBe(true);
    expect(me.emailVerifiedAt).toEqual(expect.any(String));
    const reused = await c.post('/api/auth/verify-email', { token: first.token });
    expect(reused.status).toBe(400);
    expect(reused.body.error.code).toBe('invalid_token');
    expect((await c.post('/api/auth/verify-email', { token: 'made-up-token' })).body.error.code).toBe('invalid_token');
    expect((await c.post('/api/auth/verify-email/resend', {}, freshIp(), token)).body.error.code).toBe('already_verified');

    const other = await signUp('resend');
    await link(other.email, '/verify-email');
    expect((await c.post('/api/auth/verify-email/resend', {}, freshIp())).status).toBe(401);
    const resent = await c.post('/api/auth/verify-email/resend', {}, freshIp(), other.token);
    expect(resent).toMatchObject({ status: 202, body: { ok: true } });
    const second = await link(other.email, '/verify-email', 2);
    expect((await c.post('/api/auth/verify-email', { token: second.token })).status).toBe(200);
    expect((await app.api('/api/auth/me', { token: other.token })).body.user.emailVerified).toBe(true);

    const entries = await c.audit(owner, 'auth.email_verified');
    expect(entries.filter((e) => e.targetId === me.id || e.targetId === other.user.id)).toHaveLength(2);
  });

  it('resets a password with a single-use link: the old password and every session stop working', async () => {
    const { email, token: firstSession, user } = await signUp('reset');
    const secondSession = (await c.login(email, PASSWORD)).body.token as string;
    const key = (await app.api('/api/keys', { body: { name: 'ci' }, token: firstSession })).body.key as string;

    const asked = await c.post('/api/auth/password-reset', { email });
    expect(asked).toMatchObject({ status: 202, body: { ok: true } });
    const { url, token } = await link(email, '/reset-password');
    expect(url.startsWith(`${app.url}/reset-password?token=`)).toBe(true);

    const weak = await c.post('/api/auth/password-reset/confirm', { token, password: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.body.error.fields[0].path).toBe('password');
    const done = await c.post('/api/auth/password-reset/confirm', { token, password: NEW_PASSWORD });
    expect(done).toMatchObject({ status: 200, body: { ok: true } });
    const twice = await c.post('/api/auth/password-reset/confirm', { token, password: 'yet another passphrase' });
    expect(twice.status).toBe(400);
    expect(twice.body.error.code).toBe('invalid_token');

    for (const t of [firstSession, secondSession]) expect((await app.api('/api/auth/me', { token: t })).status).toBe(401);
    expect((await app.api('/api/auth/me', { token: key })).status).toBe(200); // API keys are not sessions: they stay
    expect((await c.login(email, PASSWORD)).status).toBe(401);
    const fresh = await c.login(email, NEW_PASSWORD);
    expect(fresh.status).toBe(200);
    // The link reached the mailbox, so the address counts as verified.
    expect((await app.api('/api/auth/me', { token: fresh.body.token })).body.user.emailVerified).toBe(true);

    const entries = (await c.audit(owner)).filter((e) => e.targetId === user.id);
    expect(entries.map((e) => e.action)).toEqual(expect.arrayContaining(['auth.signup', 'auth.login', 'auth.password_reset_requested', 'auth.password_reset']));
    expect(entries.find((e) => e.action === 'auth.password_reset').detail).toMatchObject({ sessionsEnded: 2 });
    const text = JSON.stringify(entries);
    for (const secret of [PASSWORD, NEW_PASSWORD, token, firstSession, secondSession, key]) expect(text).not.toContain(secret);
  });

  it('signs in with a magic link once, and counts the address as verified', async () => {
    const { email, user } = await signUp('magic');
    const asked = await c.post('/api/auth/magic-link', { email });
    expect(asked).toMatchObject({ status: 202, body: { ok: true } });
    const { url, token } = await link(email, '/login/magic');
    expect(url.startsWith(`${app.url}/login/magic?token=`)).toBe(true);
    const r = await c.post('/api/auth/magic-link/verify', { token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token: expect.stringMatching(/^sbs_/), user: { id: user.id, email, role: 'customer' } });
    expect(r.headers.get('set-cookie')).toMatch(/sb_session=sbs_/);
    expect((await app.api('/api/auth/me', { token: r.body.token })).body.user).toMatchObject({ id: user.id, emailVerified: true });
    const again = await c.post('/api/auth/magic-link/verify', { token });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('invalid_token');
    // A reset token is not a sign-in token.
    await c.post('/api/auth/password-reset', { email });
    const reset = await link(email, '/reset-password');
    expect((await c.post('/api/auth/magic-link/verify', { token: reset.token })).status).toBe(400);

    const entries = (await c.audit(owner, 'auth.magic_link_login')).filter((e) => e.targetId === user.id);
    expect(entries).toHaveLength(1);
    expect(JSON.stringify(entries)).not.toContain(token);
  });

  it('answers the same for unknown addresses and sends them nothing', async () => {
    const { email } = await signUp('known');
    const unknown = address('nobody');
    for (const path of ['/api/auth/password-reset', '/api/auth/magic-link']) {
      const a = await c.post(path, { email });
      const b = await c.post(path, { email: unknown });
      expect(a.status).toBe(202);
      expect({ status: b.status, body: b.body }).toEqual({ status: a.status, body: a.body });
    }
    const wrongPassword = await c.login(email, 'not the password');
    const noAccount = await c.login(unknown, 'not the password');
    expect(wrongPassword.status).toBe(401);
    expect({ status: noAccount.status, body: noAccount.body }).toEqual({ status: wrongPassword.status, body: wrongPassword.body });
    await link(email, '/login/magic');
    // Whether a mail goes out is decided before the answer (src/services/accounts.test.ts proves none for an unknown address without waiting).
    expect(smtp.to(unknown)).toHaveLength(0);
  });

  it('mails one address at most five links of a kind an hour, and still answers 202', async () => {
    const { email } = await signUp('flood');
    for (let i = 0; i < 7; i++) expect((await c.post('/api/auth/password-reset', { email })).status).toBe(202);
    await link(email, '/reset-password', 5);
    // The sixth and seventh are refused before the answer; src/services/accounts.test.ts counts them without waiting.
    expect(smtp.to(email).filter((m) => m.text.includes('/reset-password?token='))).toHaveLength(5);
  });

  it('limits mail requests per client address, whatever the address asked for', async () => {
    const ip = freshIp();
    for (let i = 0; i < 30; i++) expect((await c.post('/api/auth/password-reset', { email: address('spray') }, ip)).status).toBe(202);
    const refused = await c.post('/api/auth/magic-link', { email: address('spray') }, ip);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await c.post('/api/auth/password-reset', { email: address('spray') })).status).toBe(202); // another address is fine
  });

  it('slows failed sign-ins per account, from any stranger address, until the owner of the account gets in', async () => {
    const { email } = await signUp('locked');
    for (let i = 0; i < 5; i++) {
      const r = await c.login(email, `guess-${i}`);
      expect(r.status).toBe(401);
      expect(r.body.error.attemptsLeft).toBe(4 - i);
    }
    const locked = await c.login(email, PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.body.error).toMatchObject({ code: 'rate_limited', slowed: true, retryAfterSeconds: expect.any(Number) });
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Signing in through the mailbox proves the holder is back; the count starts again.
    await c.post('/api/auth/magic-link', { email });
    const { token } = await link(email, '/login/magic');
    expect((await c.post('/api/auth/magic-link/verify', { token })).status).toBe(200);
    expect((await c.login(email, PASSWORD)).status).toBe(200);

    const failures = (await c.audit(owner, 'auth.login_failed')).filter((e) => e.detail.email === email);
    expect(failures).toHaveLength(5);
    expect(failures[0]).toMatchObject({ actorId: null, targetType: 'user', detail: { reason: 'wrong_password', ip: expect.any(String) } });
    expect(JSON.stringify(failures)).not.toMatch(/guess-/);
  });

  it('limits failed sign-ins per client address across accounts', async () => {
    const { email } = await signUp('victim');
    const ip = freshIp();
    for (let i = 0; i < 30; i++) expect((await c.login(address('spray'), 'password1', ip)).status).toBe(401);
    const refused = await c.login(email, PASSWORD, ip);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect((await c.login(email, PASSWORD)).status).toBe(200); // from elsewhere
    const failures = (await c.audit(owner, 'auth.login_failed')).filter((e) => e.detail.ip === ip);
    expect(failures).toHaveLength(30);
    expect(failures[0]).toMatchObject({ targetType: 'email', detail: { reason: 'unknown_email' } });
  }, 30_000);

  it('suspends a user: no sign-in, sessions and API keys stop, and reinstates them', async () => {
    const { email, token, user } = await signUp('suspend');
    const key = (await app.api('/api/keys', { body: { name: 'bot' }, token })).body.key as string;
    expect((await app.api('/api/auth/me', { token: key })).status).toBe(200);

    const r = await app.api(`/api/users/${user.id}/suspend`, { method: 'POST', token: owner });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: user.id, email, status: 'suspended' });
    for (const t of [token, key]) expect((await app.api('/api/auth/me', { token: t })).status).toBe(401);
    const login = await c.login(email, PASSWORD);
    expect(login.status).toBe(403);
    expect(login.body.error.code).toBe('account_suspended');
    expect((await c.login(email, 'wrong password')).status).toBe(401); // suspension shows only to the password holder
    // No sign-in link for a suspended user: decided before the answer (src/services/accounts.test.ts).
    expect((await c.post('/api/auth/magic-link', { email })).status).toBe(202);
    expect(smtp.to(email).filter((m) => m.text.includes('/login/magic'))).toHaveLength(0);
    expect((await app.api('/api/users', { token: owner })).body.users.find((u: { id: string }) => u.id === user.id).status).toBe('suspended');

    const back = await app.api(`/api/users/${user.id}/unsuspend`, { method: 'POST', token: owner });
    expect(back.body).toMatchObject({ id: user.id, status: 'active' });
    expect((await app.api('/api/auth/me', { token: key })).status).toBe(200); // the key works again
    expect((await app.api('/api/auth/me', { token })).status).toBe(401); // the session was ended
    expect((await c.login(email, PASSWORD)).status).toBe(200);

    const actions = (await c.audit(owner, 'user.*')).filter((e) => e.targetId === user.id);
    expect(actions.map((e) => e.action).sort()).toEqual(['user.suspend', 'user.unsuspend']);
    expect(actions.every((e) => e.actorId && e.targetType === 'user')).toBe(true);
  });

  it('lets only the owner and admins suspend, never the owner or themselves', async () => {
    const ownerId = (await app.api('/api/auth/me', { token: owner })).body.user.id;
    const { token: customer, user } = await signUp('nosy');
    expect((await app.api(`/api/users/${user.id}/suspend`, { method: 'POST', token: customer })).status).toBe(403);
    expect((await app.api(`/api/users/${ownerId}/suspend`, { method: 'POST', token: owner })).status).toBe(403);
    const adminEmail = address('admin');
    const admin = (await app.api('/api/users', { body: { email: adminEmail, password: PASSWORD, role: 'admin' }, token: owner })).body;
    const adminToken = (await c.login(adminEmail, PASSWORD)).body.token as string;
    expect((await app.api(`/api/users/${admin.id}/suspend`, { method: 'POST', token: adminToken })).status).toBe(403);
    expect((await app.api(`/api/users/${ownerId}/suspend`, { method: 'POST', token: adminToken })).status).toBe(403);
    expect((await app.api('/api/users/no-such-user/suspend', { method: 'POST', token: owner })).status).toBe(404);
    expect((await app.api(`/api/users/${user.id}/suspend`, { method: 'POST', token: adminToken })).status).toBe(200);
  });

  it('shows the audit log to owner, admin and auditor, filtered by action, but not to customers', async () => {
    const auditorEmail = address('auditor');
    expect((await app.api('/api/users', { body: { email: auditorEmail, password: PASSWORD, role: 'auditor' }, token: owner })).status).toBe(201);
    const auditor = (await c.login(auditorEmail, PASSWORD)).body.token as string;
    const { token: customer } = await signUp('curious');
    const denied = await app.api('/api/audit', { token: customer });
    expect(denied.status).toBe(403);
    expect((await app.api('/api/audit')).status).toBe(401);

    const all = await app.api('/api/audit?limit=5', { token: auditor });
    expect(all.status).toBe(200);
    expect(all.body.entries).toHaveLength(5);
    expect(Object.keys(all.body.entries[0]).sort()).toEqual(['action', 'actorId', 'actorRole', 'createdAt', 'detail', 'id', 'targetId', 'targetType']);
    const signups = await c.audit(auditor, 'auth.signup');
    expect(signups.length).toBeGreaterThan(5);
    expect(signups.every((e) => e.action === 'auth.signup' && e.targetType === 'user' && e.actorId === e.targetId)).toBe(true);
    expect(signups[0].detail).toMatchObject({ plan: 'trial', verificationSent: true });
    const auth = await c.audit(auditor, 'auth.*');
    expect(new Set(auth.map((e) => e.action))).toEqual(new Set([
      'auth.signup', 'auth.login', 'auth.login_failed', 'auth.email_verified', 'auth.email_verification_sent', 'auth.password_reset_requested',
      'auth.password_reset', 'auth.magic_link_requested', 'auth.magic_link_login',
    ]));
    // Nothing secret in the whole log.
    expect(JSON.stringify(await c.audit(auditor))).not.toMatch(/correct horse|sbs_|sbk_|token=/);
    expect((await app.api('/api/audit?limit=0', { token: owner })).status).toBe(400);
  });

  it('describes the new routes in the OpenAPI document', async () => {
    const paths = (await app.api('/api/openapi.json')).body.paths;
    for (const p of ['/api/auth/register', '/api/auth/verify-email', '/api/auth/verify-email/resend', '/api/auth/password-reset', '/api/auth/password-reset/confirm',
      '/api/auth/magic-link', '/api/auth/magic-link/verify', '/api/users/{id}/suspend', '/api/users/{id}/unsuspend', '/api/audit']) expect(paths).toHaveProperty([p]);
  });
});

describe('with sign-up closed and no mail server (the defaults)', () => {
  let app: TestApp;
  beforeAll(async () => { app = await startTestApp({ withModel: false }); });
  afterAll(async () => { await app?.close(); });

  it('refuses sign-up with 403 signup_closed, whatever the body', async () => {
    for (const body of [{ email: 'new@example.com', password: PASSWORD, name: 'New' }, { nonsense: true }]) {
      const r = await app.api('/api/auth/register', { body });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('signup_closed');
    }
    expect((await app.api('/api/auth/options')).body).toEqual({ signup: false, mail: false });
  });

  it('answers magic-link requests with 400 mail_not_configured, known address or not', async () => {
    await app.owner();
    for (const email of ['owner@example.com', 'nobody@example.com']) {
      const r = await app.api('/api/auth/magic-link', { body: { email } });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('mail_not_configured');
    }
    // Password reset still answers 202 without revealing anything (the operator sees a warning in the log).
    expect((await app.api('/api/auth/password-reset', { body: { email: 'owner@example.com' } })).status).toBe(202);
  });
});

describe('link expiry (manual clock) and PUBLIC_URL in links', () => {
  const clock = manualClock(Date.parse('2026-05-04T09:00:00Z'));
  let app: TestApp;
  let c: ReturnType<typeof client>;
  beforeAll(async () => {
    app = await startTestApp({ withModel: false, clock, env: { ...ENV(smtp.url), PUBLIC_URL: 'https://bots.example.com/' } });
    c = client(app);
  });
  afterAll(async () => { await app?.close(); });

  it('honours a reset link for an hour and a magic link for 15 minutes, not longer', async () => {
    const email = address('clock');
    expect((await c.register({ email, password: PASSWORD, name: 'Clock' })).status).toBe(201);
    const billing = await app.server.services.store.plans.billing((await app.server.services.store.users.byEmailWithHash(email))!.id);
    expect(billing!.trialEndsAt).toBe('2026-05-18T09:00:00.000Z');

    await c.post('/api/auth/password-reset', { email });
    const late = await link(email, '/reset-password', 1);
    expect(late.url.startsWith('https://bots.example.com/reset-password?token=')).toBe(true);
    clock.advance(60 * 60_000 + 1000);
    const expired = await c.post('/api/auth/password-reset/confirm', { token: late.token, password: NEW_PASSWORD });
    expect(expired.status).toBe(400);
    expect(expired.body.error.code).toBe('invalid_token');

    await c.post('/api/auth/password-reset', { email });
    const inTime = await link(email, '/reset-password', 2);
    clock.advance(59 * 60_000);
    expect((await c.post('/api/auth/password-reset/confirm', { token: inTime.token, password: NEW_PASSWORD })).status).toBe(200);

    await c.post('/api/auth/magic-link', { email });
    const magicLate = await link(email, '/login/magic', 1);
    expect(magicLate.url.startsWith('https://bots.example.com/login/magic?token=')).toBe(true);
    clock.advance(15 * 60_000 + 1000);
    expect((await c.post('/api/auth/magic-link/verify', { token: magicLate.token })).body.error.code).toBe('invalid_token');
    await c.post('/api/auth/magic-link', { email });
    const magic = await link(email, '/login/magic', 2);
    clock.advance(14 * 60_000);
    expect((await c.post('/api/auth/magic-link/verify', { token: magic.token })).status).toBe(200);
  });
});
