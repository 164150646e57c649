import { afterAll, beforeAll, describe, expect } from 'vitest';
import { routeFixture, routeTable, type Fixture } from '../../../test/helpers/route-table.js';

describe('account, user and key routes', () => {
  let f: Fixture;
  beforeAll(async () => { f = await routeFixture(); });
  afterAll(() => f?.close());

  routeTable(() => f, [
    { name: 'setup is done', as: 'anonymous', path: '/api/setup', status: 200, check: (b) => expect(b.needsSetup).toBe(false) },
    { name: 'a second owner is refused', as: 'anonymous', path: '/api/setup', body: { email: 'x@example.com', password: 'long enough pw' }, status: 409 },
    { name: 'signs in', as: 'anonymous', path: '/api/auth/login', body: { email: 'alice@example.com', password: 'correct horse battery' }, status: 200,
      check: (b) => expect(b.user).toMatchObject({ email: 'alice@example.com', role: 'customer' }) },
    { name: 'a wrong password is refused', as: 'anonymous', path: '/api/auth/login', body: { email: 'alice@example.com', password: 'wrong' }, status: 401 },
    { name: 'names a missing password', as: 'anonymous', path: '/api/auth/login', body: { email: 'alice@example.com' }, status: 400, field: 'password' },
    { name: 'who am I', as: 'customer', path: '/api/auth/me', status: 200, check: (b) => expect(b.user.email).toBe('alice@example.com') },
    { name: 'who am I, signed out', as: 'anonymous', path: '/api/auth/me', status: 401, code: 'unauthorized' },
    { name: 'lists users', as: 'owner', path: '/api/users', status: 200, check: (b) => expect(b.users.length).toBe(4) },
    { name: 'customers cannot list users', as: 'customer', path: '/api/users', status: 403 },
    { name: 'auditors cannot list users', as: 'auditor', path: '/api/users', status: 403 },
    { name: 'adds a user', as: 'owner', path: '/api/users', body: { email: 'carol@example.com', password: 'correct horse battery', role: 'customer' }, status: 201 },
    { name: 'names a bad email', as: 'owner', path: '/api/users', body: { email: 'not-an-email', password: 'correct horse battery', role: 'customer' }, status: 400, field: 'email' },
    { name: 'auditors cannot add users', as: 'auditor', path: '/api/users', body: { email: 'dave@example.com', password: 'correct horse battery', role: 'customer' }, status: 403 },
    { name: 'creates an API key, shown once', as: 'customer', path: '/api/keys', body: { name: 'ci' }, status: 201, check: (b) => expect(b.key).toMatch(new RegExp(`^${b.prefix}`)) },
    { name: 'names an empty key name', as: 'customer', path: '/api/keys', body: { name: ' ' }, status: 400, field: 'name' },
    { name: 'a key of another user is not found', as: 'other', method: 'DELETE', path: '/api/keys/no-such-key', status: 404 },
    // The account time zone is each user's own setting (issue 17): a customer sets theirs, not only the operator.
    { name: 'a customer sets their time zone', as: 'customer', method: 'PUT', path: '/api/account/timezone', body: { timezone: 'Europe/Berlin' }, status: 200,
      check: async (b, f) => {
        expect(b).toEqual({ timezone: 'Europe/Berlin' });
        expect((await f.request('/api/auth/me', { token: f.tokens.customer })).body.user.timezone).toBe('Europe/Berlin');
        expect((await f.request('/api/auth/me', { token: f.tokens.other })).body.user.timezone ?? null).toBeNull();
      } },
    { name: 'a customer clears their time zone (UTC)', as: 'customer', method: 'PUT', path: '/api/account/timezone', body: { timezone: null }, status: 200,
      check: async (b, f) => {
        expect(b).toEqual({ timezone: null });
        expect((await f.request('/api/auth/me', { token: f.tokens.customer })).body.user.timezone ?? null).toBeNull();
      } },
    { name: 'names a time zone that is none', as: 'customer', method: 'PUT', path: '/api/account/timezone', body: { timezone: 'Mars/Olympus' }, status: 400, field: 'timezone' },
    { name: 'the time zone needs a sign-in', as: 'anonymous', method: 'PUT', path: '/api/account/timezone', body: { timezone: 'UTC' }, status: 401 },
  ]);
});
