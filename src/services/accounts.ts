/**
 * Accounts: the owner's setup, sign-up, sign-in (password or e-mailed magic link), sessions, API keys,
 * e-mail verification, password reset, suspension, and the users list.
 *
 * Every sign-in and account event is written to the audit log. The log also is the shared counter of
 * failed sign-ins and mail requests, so the limits hold across processes sharing the database.
 */
import type { AuthTokenKind, Clock, IdGenerator, Mailer, PasswordHasher, Store } from '../domain/ports.js';
import type { Actor, Role, User } from '../domain/types.js';
import { errors, AppError, waitInWords } from '../domain/errors.js';
import { sha256 } from '../infra/system.js';
import type { Logger } from '../infra/logger.js';
import { authorize } from './access.js';
import { changedFields, recordAudit, type AuditActor } from './audit.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SESSION_DAYS = 30;

export const LIMITS = {
  /**
   * Sign-in backoff. An account's failed sign-ins in the window (since its holder last got in) are
   * free up to `loginFreeFailures`; after that each attempt waits 1 s, doubling per failure, at most
   * `loginBackoffMaxMs`. Failures at an address the holder has signed in from (in `knownAddressMs`)
   * are counted apart, so a flood from elsewhere never slows the holder at their usual place.
   * An address that is nobody's known place is also stopped after `loginFailuresPerIp` in the window.
   */
  loginWindowMs: 15 * MINUTE,
  loginFreeFailures: 5,
  loginBackoffMaxMs: 15 * MINUTE,
  knownAddressMs: 90 * DAY,
  loginFailuresPerIp: 30,
  /** Mails of one kind to one address, and mail requests (reset, magic link, resend) from one client address, in the window. */
  mailWindowMs: HOUR,
  mailsPerAddress: 5,
  mailRequestsPerIp: 30,
} as const;

/** How long an e-mailed link stays valid. */
export const LINK_TTL_MS: Record<AuthTokenKind, number> = { verify_email: 2 * DAY, reset_password: HOUR, magic_link: 15 * MINUTE };
const LINK_PATH: Record<AuthTokenKind, string> = { verify_email: '/verify-email', reset_password: '/reset-password', magic_link: '/login/magic' };

/** Audit actions written here (stable names: the audit API filters by them). */
export const AUDIT = {
  signup: 'auth.signup',
  login: 'auth.login',
  loginFailed: 'auth.login_failed',
  magicLinkRequested: 'auth.magic_link_requested',
  magicLinkLogin: 'auth.magic_link_login',
  passwordResetRequested: 'auth.password_reset_requested',
  passwordReset: 'auth.password_reset',
  verificationSent: 'auth.email_verification_sent',
  emailVerified: 'auth.email_verified',
  suspend: 'user.suspend',
  unsuspend: 'user.unsuspend',
} as const;
/** Proof the account holder is back: the failure count of an account restarts after these. */
const SIGNED_IN = [AUDIT.login, AUDIT.magicLinkLogin, AUDIT.passwordReset];
const MAIL_REQUESTS = [AUDIT.magicLinkRequested, AUDIT.passwordResetRequested, AUDIT.verificationSent];

/** Where a request came from: the client address (limits, audit) and the base of links in mails. */
export type Client = { ip: string; baseUrl: string };

const invalidLink = () => new AppError(400, 'invalid_token', 'This link is invalid, was already used or has expired. Ask for a new one.');
const suspended = () => new AppError(403, 'account_suspended', 'This account is suspended. Contact the operator.');
const mailNotConfigured = () => new AppError(400, 'mail_not_configured', 'E-mail is not set up on this server (SMTP_URL, or SMTP in the alert settings).');

export function accountService(deps: {
  store: Pick<Store, 'users' | 'tokens' | 'authTokens' | 'agents' | 'plans' | 'audit' | 'transaction'>; hasher: PasswordHasher; ids: IdGenerator; clock: Clock; mail: Mailer; log: Logger;
  /** Whether self sign-up is open now (SWITCHBOARD_SIGNUP, else the dashboard's switch). */
  signupOpen: () => Promise<boolean>;
}) {
  const { store, hasher, ids, clock, mail, log } = deps;
  const at = (ms = 0) => new Date(clock.now().getTime() + ms).toISOString();
  const retryAfter = (first: string, windowMs: number) => Math.max(1, Math.ceil((Date.parse(first) + windowMs - clock.now().getTime()) / 1000));

  async function issueSession(user: User) {
    const token = `sbs_${ids.token(32)}`;
    const expires = at(SESSION_DAYS * DAY);
    await store.tokens.insert({ userId: user.id, kind: 'session', name: 'login', prefix: token.slice(0, 8), hash: sha256(token), expiresAt: expires });
    return { token, user, expiresAt: expires };
  }

  /** Creates a user and its audit entry in one transaction (the password is hashed before it starts). */
  async function createUser(email: string, password: string, role: Role, by: AuditActor | 'self', action = 'user.created', detail: Record<string, unknown> = {}, hashed?: string) {
    if (await store.users.byEmailWithHash(email)) throw errors.conflict('email_taken', `A user with the email ${email} already exists.`);
    const passwordHash = hashed ?? await hasher.hash(password);
    return store.transaction(async (tx) => {
      const u = await tx.users.insert({ email, passwordHash, role });
      await recordAudit(tx, by === 'self' ? { userId: u.id, role } : by, action, { type: 'user', id: u.id }, { email, role, ...detail });
      return u;
    });
  }

  /** Sign-in events: `who` is the account when it is known (with its role), null for an unknown caller. */
  const audit = (who: { id: string; role: string } | null, action: string, targetType: string, targetId: string, detail: Record<string, unknown>) =>
    store.audit.add({ actorId: who?.id ?? null, actorRole: who?.role ?? null, action, targetType, targetId, detail });

  /**
   * Slows sign-in attempts of an account that failed too often (see LIMITS), and refuses a stranger
   * address that failed too often across accounts. Returns how many failures are left before the
   * next attempt has to wait, for the 401 a wrong password gets.
   */
  async function checkLoginLimits(accountKey: string, ip: string): Promise<{ attemptsLeft: number }> {
    const since = at(-LIMITS.loginWindowMs);
    const known = (await store.audit.tally({ actions: SIGNED_IN, since: at(-LIMITS.knownAddressMs), targetId: accountKey, ip })).count > 0;
    const lastOk = (await store.audit.tally({ actions: SIGNED_IN, since, targetId: accountKey })).last;
    // At a known place only the failures made there count; anywhere else, all of the account's.
    const failures = await store.audit.tally({ actions: [AUDIT.loginFailed], since: lastOk ?? since, targetId: accountKey, ...(known ? { ip } : {}) });
    const over = failures.count - LIMITS.loginFreeFailures;
    if (over >= 0) {
      const until = Date.parse(failures.last!) + Math.min(1000 * 2 ** over, LIMITS.loginBackoffMaxMs);
      const wait = Math.ceil((until - clock.now().getTime()) / 1000);
      if (wait > 0) {
        throw new AppError(429, 'rate_limited', `Too many failed sign-ins for this account; attempts are slowed. Try again ${waitInWords(wait)}.`, { retryAfterSeconds: wait, details: { retryAfterSeconds: wait, slowed: true } });
      }
    }
    if (!known) {
      const byIp = await store.audit.tally({ actions: [AUDIT.loginFailed], since, ip });
      if (byIp.count >= LIMITS.loginFailuresPerIp) {
        const wait = retryAfter(byIp.first!, LIMITS.loginWindowMs);
        throw new AppError(429, 'rate_limited', `Too many failed sign-ins from this address; try again ${waitInWords(wait)}.`, { retryAfterSeconds: wait, details: { retryAfterSeconds: wait, slowed: true } });
      }
    }
    return { attemptsLeft: Math.max(0, LIMITS.loginFreeFailures - failures.count - 1) };
  }

  /** Refuses a mail request when this client address asked for too many; says nothing about accounts. */
  async function checkMailRequestLimit(ip: string) {
    const r = await store.audit.tally({ actions: MAIL_REQUESTS, since: at(-LIMITS.mailWindowMs), ip });
    if (r.count >= LIMITS.mailRequestsPerIp) throw errors.rateLimited(retryAfter(r.first!, LIMITS.mailWindowMs));
  }

  /** Whether another mail of this kind may go to this user now. */
  async function addressAllows(userId: string, kind: AuthTokenKind) {
    return (await store.authTokens.countSince(userId, kind, at(-LIMITS.mailWindowMs))) < LIMITS.mailsPerAddress;
  }

  /** Stores a new one-time token (hashed) and returns the link carrying it. */
  async function issueLink(user: User, kind: AuthTokenKind, baseUrl: string) {
    const token = ids.token(32);
    await store.authTokens.insert({ userId: user.id, kind, tokenHash: sha256(token), expiresAt: at(LINK_TTL_MS[kind]) });
    return `${baseUrl}${LINK_PATH[kind]}?token=${token}`;
  }

  function linkMail(user: User, kind: AuthTokenKind, link: string) {
    const hello = user.name ? `Hello ${user.name},` : 'Hello,';
    const minutes = Math.round(LINK_TTL_MS[kind] / MINUTE);
    const valid = minutes >= 120 ? `${Math.round(minutes / 60)} hours` : `${minutes} minutes`;
    const mails: Record<AuthTokenKind, { subject: string; body: string }> = {
      verify_email: { subject: 'Confirm your e-mail address', body: `please confirm your e-mail address for Switchboard by opening this link:\n\n${link}\n\nThe link works for ${valid}.` },
      reset_password: { subject: 'Reset your password', body: `someone asked to reset the password of your Switchboard account. To choose a new one, open this link:\n\n${link}\n\nThe link works once, for ${valid}. If it was not you, ignore this mail: your password stays as it is.` },
      magic_link: { subject: 'Your sign-in link', body: `open this link to sign in to Switchboard:\n\n${link}\n\nThe link works once, for ${valid}. If you did not ask for it, ignore this mail.` },
    };
    const m = mails[kind];
    return { to: user.email, subject: `[Switchboard] ${m.subject}`, text: `${hello}\n\n${m.body}\n` };
  }

  /**
   * Sends a link without holding up the answer: whether a mail goes out must not show in the response
   * time of requests that answer the same for unknown addresses. A failure is logged (never the link).
   */
  function sendInBackground(user: User, kind: AuthTokenKind, link: string) {
    void mail.send(linkMail(user, kind, link)).catch((err: unknown) => log.warn('account mail failed', { kind, userId: user.id, error: (err as Error).message }));
  }

  async function assertSignupOpen() {
    if (!(await deps.signupOpen())) throw new AppError(403, 'signup_closed', 'Sign-up is closed on this server; ask the operator for an account.');
  }

  async function consumeLink(kind: AuthTokenKind, token: string) {
    const used = await store.authTokens.consume(kind, sha256(token), at());
    const user = used && await store.users.byId(used.userId);
    if (!user) throw invalidLink();
    return user;
  }

  return {
    async needsSetup() { return (await store.users.countByRole('owner')) === 0; },

    /** What the sign-in page may offer. */
    async options() {
      return { signup: await deps.signupOpen(), mail: await mail.configured() };
    },

    /** One-time creation of the owner, from the setup page or the environment. */
    async setupOwner(email: string, password: string) {
      const taken = () => errors.conflict('already_set_up', 'Switchboard is already set up; sign in instead.');
      if ((await store.users.countByRole('owner')) > 0) throw taken();
      // Two racing setups both pass the check above; the single-owner index lets only one insert land.
      const user = await createUser(email, password, 'owner', 'self', 'owner.created', { via: 'setup' }).catch(async (err) => {
        if ((await store.users.countByRole('owner')) > 0) throw taken();
        throw err;
      });
      return issueSession(user);
    },

    /**
     * Creates the owner from SWITCHBOARD_ADMIN_EMAIL/PASSWORD when none exists; idempotent across restarts.
     * `passwordHash`: the password's hash when start-up has already computed it (while migrating).
     */
    async ensureOwnerFromEnv(email?: string, password?: string, passwordHash?: string) {
      if (!email || !password || (await store.users.countByRole('owner')) > 0) return false;
      await createUser(email, password, 'owner', 'system', 'owner.created', { via: 'environment' }, passwordHash);
      return true;
    },

    /** Throws signup_closed unless sign-up is open (the route asks before it reads the body). */
    assertSignupOpen,

    /** Self sign-up (when open): a customer on the trial plan, signed in at once. */
    async register(input: { email: string; password: string; name: string }, client: Client) {
      await assertSignupOpen();
      const email = input.email.toLowerCase();
      const taken = () => errors.conflict('email_taken', 'This e-mail address is already registered. Sign in, or reset your password.');
      if (await store.users.byEmailWithHash(email)) throw taken();
      const passwordHash = await hasher.hash(input.password);
      const trial = await store.plans.get('trial');
      const mailOn = await mail.configured();
      const user = await store.transaction(async (tx) => {
        const u = await tx.users.insert({ email, passwordHash, role: 'customer', name: input.name });
        if (trial) await tx.plans.setBilling(u.id, { planId: trial.id, planStatus: 'trialing', trialEndsAt: at(trial.trialDays * DAY) });
        await recordAudit(tx, { userId: u.id, role: 'customer' }, AUDIT.signup, { type: 'user', id: u.id }, { email, ip: client.ip, plan: trial?.id ?? null, verificationSent: mailOn });
        return u;
      }).catch(async (err) => {
        // Two sign-ups with one address at once: the unique index lets one through.
        if (await store.users.byEmailWithHash(email)) throw taken();
        throw err;
      });
      if (mailOn) {
        const link = await issueLink(user, 'verify_email', client.baseUrl);
        await mail.send(linkMail(user, 'verify_email', link)).catch((err: unknown) => log.warn('verification mail failed', { userId: user.id, error: (err as Error).message }));
      }
      return issueSession(user);
    },

    async login(email: string, password: string, ip: string) {
      const address = email.trim().toLowerCase();
      const found = await store.users.byEmailWithHash(address);
      // Failures of an unknown address are counted under the address, so both kinds are limited alike.
      const key = found?.id ?? address;
      const { attemptsLeft } = await checkLoginLimits(key, ip);
      // Verify against a dummy hash when the user is unknown, so timing does not reveal accounts.
      const ok = found ? await hasher.verify(found.passwordHash, password) : (await hasher.verify(DUMMY_HASH, password), false);
      if (!found || !ok) {
        await audit(null, AUDIT.loginFailed, found ? 'user' : 'email', key, { email: address, ip, reason: found ? 'wrong_password' : 'unknown_email' });
        throw new AppError(401, 'invalid_credentials', 'Wrong email or password.', { details: { attemptsLeft } });
      }
      if (found.status === 'suspended') {
        await audit(null, AUDIT.loginFailed, 'user', key, { email: address, ip, reason: 'suspended' });
        throw suspended();
      }
      await audit(found, AUDIT.login, 'user', found.id, { ip, method: 'password' });
      const { passwordHash: _, ...user } = found;
      return issueSession(user);
    },

    async logout(actor: Actor) {
      if (actor.via === 'session') await store.tokens.delete(actor.tokenId);
    },

    /** Resolves a bearer token or cookie value to an actor, or undefined (also for suspended users). */
    async authenticate(token: string): Promise<Actor | undefined> {
      if (!token.startsWith('sbs_') && !token.startsWith('sbk_')) return undefined;
      // The token and its user in one read: every authenticated request (each /v1 call) asks.
      const found = await store.tokens.withUser(sha256(token));
      if (!found) return undefined;
      const { token: row, user } = found;
      const now = clock.now();
      if (row.expiresAt && row.expiresAt < now.toISOString()) {
        await store.tokens.delete(row.id);
        return undefined;
      }
      if (user.status === 'suspended') return undefined;
      // Record use at most once a minute, to keep reads cheap.
      if (!row.lastUsedAt || now.getTime() - Date.parse(row.lastUsedAt) > 60_000) await store.tokens.touch(row.id, now.toISOString());
      return { user, via: row.kind, tokenId: row.id };
    },

    // ----- e-mail: verification, password reset, magic links -----
    async verifyEmail(token: string, client: Pick<Client, 'ip'>) {
      const user = await consumeLink('verify_email', token);
      await store.transaction(async (tx) => {
        await tx.users.markEmailVerified(user.id, at());
        await recordAudit(tx, { userId: user.id, role: user.role }, AUDIT.emailVerified, { type: 'user', id: user.id }, { fields: ['emailVerifiedAt'], ip: client.ip, via: 'verification_link' });
      });
    },

    /** Sends the signed-in user a new verification link. */
    async resendVerification(actor: Actor, client: Client) {
      const user = await store.users.byId(actor.user.id);
      if (!user) throw errors.unauthorized();
      if (user.emailVerifiedAt) throw errors.conflict('already_verified', 'Your e-mail address is already verified.');
      if (!(await mail.configured())) throw mailNotConfigured();
      await checkMailRequestLimit(client.ip);
      if (!(await addressAllows(user.id, 'verify_email'))) throw errors.rateLimited(Math.ceil(LIMITS.mailWindowMs / 1000));
      await audit(user, AUDIT.verificationSent, 'user', user.id, { ip: client.ip });
      const link = await issueLink(user, 'verify_email', client.baseUrl);
      await mail.send(linkMail(user, 'verify_email', link)).catch((err: unknown) => {
        log.warn('verification mail failed', { userId: user.id, error: (err as Error).message });
        throw new AppError(502, 'mail_failed', 'The mail server did not accept the message; try again later.');
      });
    },

    /** Mails a reset link if the address has an active account; answers the same either way. */
    async requestPasswordReset(email: string, client: Client) {
      await checkMailRequestLimit(client.ip);
      const address = email.toLowerCase();
      const user = await store.users.byEmailWithHash(address);
      await audit(null, AUDIT.passwordResetRequested, user ? 'user' : 'email', user?.id ?? address, { email: address, ip: client.ip });
      if (!user || user.status === 'suspended') return;
      if (!(await mail.configured())) {
        log.warn('password reset asked for, but no SMTP server is configured');
        return;
      }
      if (!(await addressAllows(user.id, 'reset_password'))) return;
      sendInBackground(user, 'reset_password', await issueLink(user, 'reset_password', client.baseUrl));
    },

    /** Sets a new password from a reset link; every session of the account ends. */
    async confirmPasswordReset(token: string, password: string, client: Pick<Client, 'ip'>) {
      const user = await consumeLink('reset_password', token);
      if (user.status === 'suspended') throw suspended();
      const passwordHash = await hasher.hash(password);
      const now = at();
      await store.transaction(async (tx) => {
        await tx.users.setPasswordHash(user.id, passwordHash);
        const sessionsEnded = await tx.tokens.deleteSessions(user.id);
        // Older reset and sign-in links die with the old password.
        await tx.authTokens.revoke(user.id, ['reset_password', 'magic_link'], now);
        // The link reached the mailbox: that verifies the address.
        await tx.users.markEmailVerified(user.id, now);
        await recordAudit(tx, { userId: user.id, role: user.role }, AUDIT.passwordReset, { type: 'user', id: user.id }, { fields: ['password'], ip: client.ip, sessionsEnded });
      });
    },

    /** Mails a sign-in link if the address has an active account; answers the same either way. */
    async requestMagicLink(email: string, client: Client) {
      if (!(await mail.configured())) throw mailNotConfigured();
      await checkMailRequestLimit(client.ip);
      const address = email.toLowerCase();
      const user = await store.users.byEmailWithHash(address);
      await audit(null, AUDIT.magicLinkRequested, user ? 'user' : 'email', user?.id ?? address, { email: address, ip: client.ip });
      if (!user || user.status === 'suspended') return;
      if (!(await addressAllows(user.id, 'magic_link'))) return;
      sendInBackground(user, 'magic_link', await issueLink(user, 'magic_link', client.baseUrl));
    },

    /** Signs in with a magic link; the e-mail address counts as verified. */
    async verifyMagicLink(token: string, client: Pick<Client, 'ip'>) {
      const user = await consumeLink('magic_link', token);
      if (user.status === 'suspended') {
        await audit(null, AUDIT.loginFailed, 'user', user.id, { email: user.email, ip: client.ip, reason: 'suspended', method: 'magic_link' });
        throw suspended();
      }
      const now = at();
      await store.transaction(async (tx) => {
        await tx.users.markEmailVerified(user.id, now);
        await recordAudit(tx, { userId: user.id, role: user.role }, AUDIT.magicLinkLogin, { type: 'user', id: user.id }, { ip: client.ip, ...(user.emailVerifiedAt ? {} : { fields: ['emailVerifiedAt'] }) });
      });
      return issueSession({ ...user, emailVerifiedAt: user.emailVerifiedAt ?? now });
    },

    // ----- API keys (every role may hold keys; a key acts with its user's role) -----
    async createKey(actor: Actor, name: string) {
      const key = `sbk_${ids.token(32)}`;
      const row = await store.transaction(async (tx) => {
        const r = await tx.tokens.insert({ userId: actor.user.id, kind: 'api_key', name, prefix: key.slice(0, 10), hash: sha256(key), expiresAt: null });
        await recordAudit(tx, actor, 'api_key.created', { type: 'api_key', id: r.id }, { name: r.name });
        return r;
      });
      return { id: row.id, key, name: row.name, prefix: row.prefix, createdAt: row.createdAt };
    },
    async listKeys(actor: Actor) {
      return (await store.tokens.listKeys(actor.user.id)).map(({ id, name, prefix, createdAt, lastUsedAt }) => ({ id, name, prefix, createdAt, lastUsedAt }));
    },
    async deleteKey(actor: Actor, id: string) {
      const mine = (await store.tokens.listKeys(actor.user.id)).find((k) => k.id === id);
      if (!mine) throw errors.notFound('API key');
      await store.transaction(async (tx) => {
        if (!(await tx.tokens.delete(id, actor.user.id))) throw errors.notFound('API key');
        await recordAudit(tx, actor, 'api_key.deleted', { type: 'api_key', id }, { name: mine.name });
      });
    },

    // ----- users -----
    async listUsers(actor: Actor) {
      authorize(actor, 'user.read');
      return store.users.list();
    },
    async addUser(actor: Actor, input: { email: string; password: string; role: Role }) {
      authorize(actor, 'user.write');
      if (input.role === 'owner') throw errors.forbidden('There is exactly one owner; create an admin instead.');
      if (input.role === 'admin' && actor.user.role !== 'owner') throw errors.forbidden('Only the owner can create admins.');
      return createUser(input.email, input.password, input.role, actor);
    },
    /** A customer's monthly cap across all their agents (null removes it). */
    async setUserBudget(actor: Actor, id: string, monthlyBudgetUsd: number | null) {
      authorize(actor, 'user.write');
      const target = await store.users.byId(id);
      if (!target) throw errors.notFound('User');
      if (target.role !== 'customer' && monthlyBudgetUsd !== null) throw errors.validation([{ path: 'monthlyBudgetUsd', message: 'only customers have a monthly cap; set budgets on agents instead' }]);
      const diff = changedFields(target, { monthlyBudgetUsd });
      if (diff.fields.length) {
        await store.transaction(async (tx) => {
          await tx.users.setBudget(id, monthlyBudgetUsd);
          await recordAudit(tx, actor, 'user.updated', { type: 'user', id }, diff);
        });
      }
      return (await store.users.byId(id))!;
    },
    /** Suspends (no sign-in; sessions end; sessions and API keys stop working) or reinstates a user. */
    async setSuspended(actor: Actor, id: string, suspend: boolean) {
      authorize(actor, 'user.write');
      const target = await store.users.byId(id);
      if (!target) throw errors.notFound('User');
      if (target.id === actor.user.id) throw errors.forbidden('You cannot suspend or reinstate yourself.');
      if (target.role === 'owner') throw errors.forbidden('The owner cannot be suspended.');
      if (target.role === 'admin' && actor.user.role !== 'owner') throw errors.forbidden('Only the owner can suspend or reinstate admins.');
      await store.transaction(async (tx) => {
        if (!(await tx.users.setStatus(id, suspend ? 'suspended' : 'active'))) return; // already so: nothing to record
        const sessionsEnded = suspend ? await tx.tokens.deleteSessions(id) : 0;
        await recordAudit(tx, actor, suspend ? AUDIT.suspend : AUDIT.unsuspend, { type: 'user', id }, { fields: ['status'], changes: { status: { from: target.status ?? 'active', to: suspend ? 'suspended' : 'active' } }, ...(suspend ? { sessionsEnded } : {}) });
      });
      return (await store.users.byId(id))!;
    },
    async deleteUser(actor: Actor, id: string) {
      authorize(actor, 'user.write');
      const target = await store.users.byId(id);
      if (!target) throw errors.notFound('User');
      if (target.role === 'owner') throw errors.forbidden('The owner cannot be deleted.');
      if (target.role === 'admin' && actor.user.role !== 'owner') throw errors.forbidden('Only the owner can remove admins.');
      const owned = await store.agents.list({ ownerId: id });
      const live = owned.filter((a) => a.status !== 'deleted');
      if (live.length) throw errors.conflict('user_has_agents', `This user owns ${live.length} agent(s); delete or reassign them first.`);
      // Deprovisioned agents were kept for the record; they go with their owner.
      await store.transaction(async (tx) => {
        for (const a of owned) await tx.agents.delete(a.id);
        await tx.users.delete(id);
        await recordAudit(tx, actor, 'user.deleted', { type: 'user', id }, { email: target.email, role: target.role, agentsRemoved: owned.length });
      });
    },
  };
}
export type AccountService = ReturnType<typeof accountService>;

// argon2id hash of a random throwaway password, used to equalise timing for unknown emails.
const DUMMY_HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$1o0XTPSDrQNTbgvVJbKmXqQ2TNDX7Yn6kBDnSoHDNqY';
