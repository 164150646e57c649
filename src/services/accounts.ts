import type { Clock, IdGenerator, PasswordHasher, Store } from '../domain/ports.js';
import type { Actor, Role, User } from '../domain/types.js';
import { errors, AppError } from '../domain/errors.js';
import { sha256 } from '../infra/system.js';
import { requireRole } from './access.js';

const SESSION_DAYS = 30;
const MAX_FAILURES = 10;
const FAILURE_WINDOW_MS = 15 * 60_000;

/** Counts failed logins per key in memory; enough for one process (a shared store comes with Redis). */
function failureLimiter(clock: Clock) {
  const hits = new Map<string, number[]>();
  const recent = (key: string) => (hits.get(key) ?? []).filter((t) => clock.now().getTime() - t < FAILURE_WINDOW_MS);
  return {
    check(keys: string[]) {
      for (const k of keys) {
        const r = recent(k);
        if (r.length >= MAX_FAILURES) throw errors.rateLimited(Math.ceil((r[0]! + FAILURE_WINDOW_MS - clock.now().getTime()) / 1000));
      }
    },
    fail(keys: string[]) { for (const k of keys) hits.set(k, [...recent(k), clock.now().getTime()]); },
    clear(keys: string[]) { for (const k of keys) hits.delete(k); },
  };
}

export function accountService(deps: { store: Store; hasher: PasswordHasher; ids: IdGenerator; clock: Clock }) {
  const { store, hasher, ids, clock } = deps;
  const limiter = failureLimiter(clock);

  async function issueSession(user: User) {
    const token = `sbs_${ids.token(32)}`;
    const expires = new Date(clock.now().getTime() + SESSION_DAYS * 86_400_000).toISOString();
    await store.tokens.insert({ userId: user.id, kind: 'session', name: 'login', prefix: token.slice(0, 8), hash: sha256(token), expiresAt: expires });
    return { token, user, expiresAt: expires };
  }

  async function createUser(email: string, password: string, role: Role) {
    if (await store.users.byEmailWithHash(email)) throw errors.conflict('email_taken', `A user with the email ${email} already exists.`);
    return store.users.insert({ email, passwordHash: await hasher.hash(password), role });
  }

  return {
    async needsSetup() { return (await store.users.countByRole('owner')) === 0; },

    /** One-time creation of the owner, from the setup page or the environment. */
    async setupOwner(email: string, password: string) {
      const taken = () => errors.conflict('already_set_up', 'Switchboard is already set up; sign in instead.');
      if ((await store.users.countByRole('owner')) > 0) throw taken();
      // Two racing setups both pass the check above; the single-owner index lets only one insert land.
      const user = await createUser(email, password, 'owner').catch(async (err) => {
        if ((await store.users.countByRole('owner')) > 0) throw taken();
        throw err;
      });
      return issueSession(user);
    },

    /** Creates the owner from SWITCHBOARD_ADMIN_EMAIL/PASSWORD when none exists; idempotent across restarts. */
    async ensureOwnerFromEnv(email?: string, password?: string) {
      if (!email || !password || (await store.users.countByRole('owner')) > 0) return false;
      await createUser(email, password, 'owner');
      return true;
    },

    async login(email: string, password: string, ip: string) {
      const keys = [`ip:${ip}`, `email:${email.toLowerCase()}`];
      limiter.check(keys);
      const found = await store.users.byEmailWithHash(email);
      // Verify against a dummy hash when the user is unknown, so timing does not reveal accounts.
      const ok = found ? await hasher.verify(found.passwordHash, password) : (await hasher.verify(DUMMY_HASH, password), false);
      if (!found || !ok) {
        limiter.fail(keys);
        throw new AppError(401, 'invalid_credentials', 'Wrong email or password.');
      }
      limiter.clear(keys);
      const { passwordHash: _, ...user } = found;
      return issueSession(user);
    },

    async logout(actor: Actor) {
      if (actor.via === 'session') await store.tokens.delete(actor.tokenId);
    },

    /** Resolves a bearer token or cookie value to an actor, or undefined. */
    async authenticate(token: string): Promise<Actor | undefined> {
      if (!token.startsWith('sbs_') && !token.startsWith('sbk_')) return undefined;
      const row = await store.tokens.byHash(sha256(token));
      if (!row) return undefined;
      const now = clock.now();
      if (row.expiresAt && row.expiresAt < now.toISOString()) {
        await store.tokens.delete(row.id);
        return undefined;
      }
      const user = await store.users.byId(row.userId);
      if (!user) return undefined;
      // Record use at most once a minute, to keep reads cheap.
      if (!row.lastUsedAt || now.getTime() - Date.parse(row.lastUsedAt) > 60_000) await store.tokens.touch(row.id, now.toISOString());
      return { user, via: row.kind, tokenId: row.id };
    },

    // ----- API keys (every role may hold keys; a key acts with its user's role) -----
    async createKey(actor: Actor, name: string) {
      const key = `sbk_${ids.token(32)}`;
      const row = await store.tokens.insert({ userId: actor.user.id, kind: 'api_key', name, prefix: key.slice(0, 10), hash: sha256(key), expiresAt: null });
      return { id: row.id, key, name: row.name, prefix: row.prefix, createdAt: row.createdAt };
    },
    async listKeys(actor: Actor) {
      return (await store.tokens.listKeys(actor.user.id)).map(({ id, name, prefix, createdAt, lastUsedAt }) => ({ id, name, prefix, createdAt, lastUsedAt }));
    },
    async deleteKey(actor: Actor, id: string) {
      const mine = (await store.tokens.listKeys(actor.user.id)).some((k) => k.id === id);
      if (!mine || !(await store.tokens.delete(id, actor.user.id))) throw errors.notFound('API key');
    },

    // ----- users -----
    async listUsers(actor: Actor) {
      requireRole(actor, 'owner', 'admin');
      return store.users.list();
    },
    async addUser(actor: Actor, input: { email: string; password: string; role: Role }) {
      requireRole(actor, 'owner', 'admin');
      if (input.role === 'owner') throw errors.forbidden('There is exactly one owner; create an admin instead.');
      if (input.role === 'admin' && actor.user.role !== 'owner') throw errors.forbidden('Only the owner can create admins.');
      return createUser(input.email, input.password, input.role);
    },
    /** A customer's monthly cap across all their agents (null removes it). */
    async setUserBudget(actor: Actor, id: string, monthlyBudgetUsd: number | null) {
      requireRole(actor, 'owner', 'admin');
      const target = await store.users.byId(id);
      if (!target) throw errors.notFound('User');
      if (target.role !== 'customer' && monthlyBudgetUsd !== null) throw errors.validation([{ path: 'monthlyBudgetUsd', message: 'only customers have a monthly cap; set budgets on agents instead' }]);
      await store.users.setBudget(id, monthlyBudgetUsd);
      return (await store.users.byId(id))!;
    },
    async deleteUser(actor: Actor, id: string) {
      requireRole(actor, 'owner', 'admin');
      const target = await store.users.byId(id);
      if (!target) throw errors.notFound('User');
      if (target.role === 'owner') throw errors.forbidden('The owner cannot be deleted.');
      if (target.role === 'admin' && actor.user.role !== 'owner') throw errors.forbidden('Only the owner can remove admins.');
      const owned = await store.agents.list({ ownerId: id });
      if (owned.length) throw errors.conflict('user_has_agents', `This user owns ${owned.length} agent(s); delete or reassign them first.`);
      await store.users.delete(id);
    },
  };
}
export type AccountService = ReturnType<typeof accountService>;

// argon2id hash of a random throwaway password, used to equalise timing for unknown emails.
const DUMMY_HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$1o0XTPSDrQNTbgvVJbKmXqQ2TNDX7Yn6kBDnSoHDNqY';
