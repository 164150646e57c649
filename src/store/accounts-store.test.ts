/** One-time e-mail tokens, the audit tally behind sign-in limits, and account state, on SQLite (or PostgreSQL under test:pg). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { Store } from '../domain/ports.js';
import { openTestStore } from '../../test/helpers/test-store.js';

const url = process.env.TEST_DATABASE_URL;
let store: Store;
let now = Date.parse('2026-03-01T10:00:00Z');
const clock = { now: () => new Date(now) };
const iso = (ms: number) => new Date(ms).toISOString();

let close: () => Promise<void>;
beforeAll(async () => {
  ({ store, close } = await openTestStore(clock));
});
afterAll(() => close?.());

const customer = () => store.users.insert({ email: `c${randomBytes(4).toString('hex')}@example.com`, passwordHash: 'x', role: 'customer', name: 'C' });

describe(`account storage on ${url ? 'PostgreSQL' : 'SQLite'}`, () => {
  it('lets exactly one of many concurrent uses of a token win, and only before it expires', async () => {
    const u = await customer();
    await store.authTokens.insert({ userId: u.id, kind: 'magic_link', tokenHash: 'h-race', expiresAt: iso(now + 60_000) });
    const results = await Promise.all(Array.from({ length: 8 }, () => store.authTokens.consume('magic_link', 'h-race', iso(now))));
    expect(results.filter(Boolean)).toEqual([{ userId: u.id }]);

    await store.authTokens.insert({ userId: u.id, kind: 'reset_password', tokenHash: 'h-exp', expiresAt: iso(now + 60_000) });
    expect(await store.authTokens.consume('magic_link', 'h-exp', iso(now))).toBeUndefined(); // wrong kind
    expect(await store.authTokens.consume('reset_password', 'h-exp', iso(now + 60_000))).toBeUndefined(); // expired
    expect(await store.authTokens.consume('reset_password', 'h-exp', iso(now + 59_999))).toEqual({ userId: u.id });
  });

  it('counts tokens per user and kind, and revokes the unused ones', async () => {
    const u = await customer();
    for (const h of ['a', 'b']) await store.authTokens.insert({ userId: u.id, kind: 'reset_password', tokenHash: `h-${u.id}-${h}`, expiresAt: iso(now + 3_600_000) });
    await store.authTokens.insert({ userId: u.id, kind: 'verify_email', tokenHash: `h-${u.id}-v`, expiresAt: iso(now + 3_600_000) });
    expect(await store.authTokens.countSince(u.id, 'reset_password', iso(now - 1))).toBe(2);
    expect(await store.authTokens.countSince(u.id, 'reset_password', iso(now))).toBe(0);
    expect(await store.authTokens.revoke(u.id, ['reset_password', 'magic_link'], iso(now))).toBe(2);
    expect(await store.authTokens.consume('reset_password', `h-${u.id}-a`, iso(now))).toBeUndefined();
    expect(await store.authTokens.consume('verify_email', `h-${u.id}-v`, iso(now))).toEqual({ userId: u.id });
  });

  it('tallies audit entries by action, target and client address, with LIKE wildcards taken literally', async () => {
    const start = iso(now);
    now += 1000;
    const add = (action: string, targetId: string, ip: string) => store.audit.add({ actorId: null, action, targetType: 'user', targetId, detail: { email: 'x@example.com', ip } });
    await add('auth.login_failed', 't1', '10.0.0.1');
    now += 1000;
    await add('auth.login_failed', 't1', '10.0.0.10');
    await add('auth.login_failed', 't2', '10.0.0.1');
    await add('auth.login', 't1', '10.0.0.1');
    await add('auth.login_failed', 't3', '%');
    expect(await store.audit.tally({ actions: ['auth.login_failed'], since: start, ip: '10.0.0.1' })).toMatchObject({ count: 2 });
    expect(await store.audit.tally({ actions: ['auth.login_failed'], since: start, ip: '%' })).toMatchObject({ count: 1 });
    expect(await store.audit.tally({ actions: ['auth.login_failed'], since: start, ip: '10.0.0._' })).toMatchObject({ count: 0 });
    const t1 = await store.audit.tally({ actions: ['auth.login_failed'], since: start, targetId: 't1' });
    expect(t1).toEqual({ count: 2, first: iso(now - 1000), last: iso(now) });
    expect(await store.audit.tally({ actions: ['auth.login_failed'], since: iso(now), targetId: 't1' })).toEqual({ count: 0, first: null, last: null });
    expect((await store.audit.list(100, { action: 'auth.login' })).map((e) => e.targetId)).toEqual(['t1']);
    expect((await store.audit.list(100, { action: 'auth.*' })).length).toBeGreaterThanOrEqual(5);
    expect(await store.audit.list(100, { action: 'auth_*' })).toEqual([]);
  });

  it('suspends and reinstates once, sets a password and keeps the first verification time', async () => {
    const u = await customer();
    expect(u).toMatchObject({ status: 'active', emailVerifiedAt: null, name: 'C' });
    expect(await store.users.setStatus(u.id, 'suspended')).toBe(true);
    expect(await store.users.setStatus(u.id, 'suspended')).toBe(false);
    expect((await store.users.byId(u.id))!.status).toBe('suspended');
    expect(await store.users.setStatus(u.id, 'active')).toBe(true);
    await store.users.setPasswordHash(u.id, 'new-hash');
    expect((await store.users.byEmailWithHash(u.email))!.passwordHash).toBe('new-hash');
    await store.users.markEmailVerified(u.id, iso(now));
    await store.users.markEmailVerified(u.id, iso(now + 5000));
    expect((await store.users.byId(u.id))!.emailVerifiedAt).toBe(iso(now));
    const s = await store.tokens.insert({ userId: u.id, kind: 'session', name: 'login', prefix: 'sbs_', hash: `s-${u.id}`, expiresAt: null });
    await store.tokens.insert({ userId: u.id, kind: 'api_key', name: 'k', prefix: 'sbk_', hash: `k-${u.id}`, expiresAt: null });
    expect(await store.tokens.deleteSessions(u.id)).toBe(1);
    expect(await store.tokens.byHash(`s-${u.id}`)).toBeUndefined();
    expect(s.kind).toBe('session');
    expect(await store.tokens.byHash(`k-${u.id}`)).toBeDefined();
  });
});
