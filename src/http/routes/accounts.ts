import { createRoute, z } from '@hono/zod-openapi';
import { setCookie, deleteCookie } from 'hono/cookie';
import type { Context } from 'hono';
import { requestAddress } from '../middleware/client-address.js';
import type { TrustedProxies } from '../../infra/client-address.js';
import { ROLES, type User } from '../../domain/types.js';
import type { AppEnv } from '../context.js';
import { router } from '../router.js';
import { SESSION_COOKIE } from '../middleware/request-context.js';
import { authorize } from '../../services/access.js';
import type { AccountService } from '../../services/accounts.js';
import { jsonBody, ok, noContent, errorResponses, SessionSchema, UserSchema, IdParam } from '../schemas.js';

const Password = z.string().min(8, 'must be at least 8 characters').max(1024);
const Credentials = z.strictObject({
  email: z.email().max(254),
  password: Password,
});
const EmailOnly = z.strictObject({ email: z.email().max(254) });
const TokenOnly = z.strictObject({ token: z.string().min(1, 'is required').max(200) });
const Accepted = z.object({ ok: z.boolean() });

/** A user as the API shows it: with `emailVerified`, never the password hash. */
const present = (u: User) => ({ ...u, emailVerified: !!u.emailVerifiedAt });

/** What the account routes need to know of the deployment. */
export type AccountRouteOptions = {
  /** Session cookies only over HTTPS (PUBLIC_URL is https). */
  secureCookies: boolean;
  /** SWITCHBOARD_TRUSTED_PROXIES (or the deprecated SWITCHBOARD_TRUST_PROXY): who may add to X-Forwarded-For. */
  trustedProxies: TrustedProxies | undefined;
  /** PUBLIC_URL: the base of links in mails (else the origin the request came to). */
  publicUrl: string | undefined;
};

function startSession(c: Context<AppEnv>, o: AccountRouteOptions, s: { token: string; expiresAt: string }) {
  setCookie(c, SESSION_COOKIE, s.token, {
    httpOnly: true, sameSite: 'Lax', path: '/', secure: o.secureCookies, expires: new Date(s.expiresAt),
  });
}

/** The caller's address: the TCP peer, or behind trusted proxies the rightmost X-Forwarded-For entry they did not add. */
const clientIp = (c: Context<AppEnv>, o: AccountRouteOptions) => requestAddress(c, o.trustedProxies);

/** The address, and the base of links in mails: PUBLIC_URL, or else the origin this request came to. */
function client(c: Context<AppEnv>, o: AccountRouteOptions) {
  return { ip: clientIp(c, o), baseUrl: o.publicUrl ?? new URL(c.req.url).origin };
}

/** Setup, sign-in and the account mails, users, and API keys. */
export function accountRoutes(deps: { accounts: AccountService; options: AccountRouteOptions }) {
  const { accounts, options: o } = deps;
  const app = router();
  const tags = ['Accounts'];

  app.openapi(createRoute({ method: 'get', path: '/api/setup', tags, summary: 'Whether the one-time owner setup is still needed',
    responses: { 200: ok(z.object({ needsSetup: z.boolean() })) } }),
  async (c) => c.json({ needsSetup: await accounts.needsSetup() }, 200));

  app.openapi(createRoute({ method: 'post', path: '/api/setup', tags, summary: 'Create the owner account (once)',
    request: jsonBody(Credentials), responses: { 201: ok(SessionSchema, 'Owner created and signed in'), ...errorResponses(400, 409) } }),
  async (c) => {
    const { email, password } = c.req.valid('json');
    const s = await accounts.setupOwner(email, password);
    startSession(c, o, s);
    return c.json({ token: s.token, user: s.user }, 201);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/auth/login', tags, summary: 'Sign in with email and password',
    request: jsonBody(z.strictObject({ email: z.string().max(254), password: z.string().max(1024) })),
    responses: { 200: ok(SessionSchema), ...errorResponses(400, 401, 429) } }),
  async (c) => {
    const { email, password } = c.req.valid('json');
    const s = await accounts.login(email, password, clientIp(c, o));
    startSession(c, o, s);
    return c.json({ token: s.token, user: { id: s.user.id, email: s.user.email, role: s.user.role } }, 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/auth/me', tags, summary: 'The signed-in user',
    responses: { 200: ok(z.object({ user: UserSchema })), ...errorResponses(401) } }),
  (c) => c.json({ user: present(authorize(c.get('actor'), 'session.read').user) }, 200));

  app.openapi(createRoute({ method: 'get', path: '/api/auth/options', tags, summary: 'What the sign-in page may offer: self sign-up, and mail (password reset, magic links)',
    responses: { 200: ok(z.object({ signup: z.boolean(), mail: z.boolean() })) } }),
  async (c) => c.json(await accounts.options(), 200));

  app.openapi(createRoute({ method: 'post', path: '/api/auth/register', tags, summary: 'Create a customer account (when sign-up is open: SWITCHBOARD_SIGNUP, else the dashboard setting)',
    description: 'The new customer starts on the trial plan and is signed in. With mail configured, a verification link is sent.',
    // Closed sign-up is refused before the body is read.
    middleware: [async (c, next) => { await accounts.assertSignupOpen(); await next(); }],
    request: jsonBody(z.strictObject({ email: z.email().max(254), password: Password, name: z.string().trim().min(1, 'is required').max(80) })),
    responses: { 201: ok(SessionSchema, 'Account created and signed in'), ...errorResponses(400, 403, 409) } }),
  async (c) => {
    const s = await accounts.register(c.req.valid('json'), client(c, o));
    startSession(c, o, s);
    const u = present(s.user);
    return c.json({ token: s.token, user: { id: u.id, email: u.email, name: u.name, role: u.role, emailVerified: u.emailVerified, createdAt: u.createdAt } }, 201);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/auth/verify-email', tags, summary: 'Confirm the e-mail address with the token from the verification mail',
    request: jsonBody(TokenOnly), responses: { 200: ok(Accepted), ...errorResponses(400) } }),
  async (c) => {
    await accounts.verifyEmail(c.req.valid('json').token, client(c, o));
    return c.json({ ok: true }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/auth/verify-email/resend', tags, summary: 'Send the signed-in user a new verification link',
    responses: { 202: ok(Accepted, 'Sent'), ...errorResponses(400, 401, 409, 429, 502) } }),
  async (c) => {
    await accounts.resendVerification(authorize(c.get('actor'), 'session.write'), client(c, o));
    return c.json({ ok: true }, 202);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/auth/password-reset', tags, summary: 'Mail a password reset link',
    description: 'Always 202, whether or not the address has an account. The link works once, for one hour.',
    request: jsonBody(EmailOnly), responses: { 202: ok(Accepted, 'Accepted'), ...errorResponses(400, 429) } }),
  async (c) => {
    await accounts.requestPasswordReset(c.req.valid('json').email, client(c, o));
    return c.json({ ok: true }, 202);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/auth/password-reset/confirm', tags, summary: 'Set a new password with the token from the reset mail; ends every session',
    request: jsonBody(z.strictObject({ token: TokenOnly.shape.token, password: Password })),
    responses: { 200: ok(Accepted), ...errorResponses(400, 403) } }),
  async (c) => {
    const { token, password } = c.req.valid('json');
    await accounts.confirmPasswordReset(token, password, client(c, o));
    return c.json({ ok: true }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/auth/magic-link', tags, summary: 'Mail a sign-in link',
    description: 'Always 202 when mail is configured, whether or not the address has an account. The link works once, for 15 minutes.',
    request: jsonBody(EmailOnly), responses: { 202: ok(Accepted, 'Accepted'), ...errorResponses(400, 429) } }),
  async (c) => {
    await accounts.requestMagicLink(c.req.valid('json').email, client(c, o));
    return c.json({ ok: true }, 202);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/auth/magic-link/verify', tags, summary: 'Sign in with the token from a magic link',
    request: jsonBody(TokenOnly), responses: { 200: ok(SessionSchema), ...errorResponses(400, 403) } }),
  async (c) => {
    const s = await accounts.verifyMagicLink(c.req.valid('json').token, client(c, o));
    startSession(c, o, s);
    return c.json({ token: s.token, user: { id: s.user.id, email: s.user.email, role: s.user.role } }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/auth/logout', tags, summary: 'End this session',
    responses: { 200: ok(z.object({ ok: z.boolean() })) } }),
  async (c) => {
    const actor = c.get('actor');
    if (actor) await accounts.logout(actor);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.json({ ok: true }, 200);
  });

  // ----- users -----
  app.openapi(createRoute({ method: 'get', path: '/api/users', tags, summary: 'List users (owner, admin)',
    responses: { 200: ok(z.object({ users: z.array(UserSchema) })), ...errorResponses(401, 403) } }),
  async (c) => c.json({ users: (await accounts.listUsers(authorize(c.get('actor'), 'user.read'))).map(present) }, 200));

  app.openapi(createRoute({ method: 'post', path: '/api/users', tags, summary: 'Add a user (owner, admin)',
    request: jsonBody(Credentials.extend({ role: z.enum(ROLES) })),
    responses: { 201: ok(UserSchema), ...errorResponses(400, 401, 403, 409) } }),
  async (c) => c.json(await accounts.addUser(authorize(c.get('actor'), 'user.write'), c.req.valid('json')), 201));

  app.openapi(createRoute({ method: 'patch', path: '/api/users/{id}', tags, summary: "Set a customer's monthly cap across their agents (owner, admin)",
    request: { params: IdParam, ...jsonBody(z.strictObject({ monthlyBudgetUsd: z.number().min(0).max(1_000_000).nullable() })) },
    responses: { 200: ok(UserSchema), ...errorResponses(400, 401, 403, 404) } }),
  async (c) => c.json(await accounts.setUserBudget(authorize(c.get('actor'), 'user.write'), c.req.valid('param').id, c.req.valid('json').monthlyBudgetUsd), 200));

  for (const [action, suspend] of [['suspend', true], ['unsuspend', false]] as const) {
    app.openapi(createRoute({ method: 'post', path: `/api/users/{id}/${action}`, tags,
      summary: suspend ? 'Suspend a user: no sign-in, sessions end, API keys stop working (owner, admin)' : 'Reinstate a suspended user (owner, admin)',
      request: { params: IdParam }, responses: { 200: ok(UserSchema), ...errorResponses(401, 403, 404) } }),
    async (c) => c.json(present(await accounts.setSuspended(authorize(c.get('actor'), 'user.write'), c.req.valid('param').id, suspend)), 200));
  }

  app.openapi(createRoute({ method: 'delete', path: '/api/users/{id}', tags, summary: 'Remove a user',
    request: { params: IdParam }, responses: { ...noContent, ...errorResponses(401, 403, 404, 409) } }),
  async (c) => {
    await accounts.deleteUser(authorize(c.get('actor'), 'user.write'), c.req.valid('param').id);
    return c.body(null, 204);
  });

  // ----- API keys -----
  const KeySchema = z.object({ id: z.string(), name: z.string(), prefix: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable() });
  app.openapi(createRoute({ method: 'get', path: '/api/keys', tags: ['API keys'], summary: 'Your API keys',
    responses: { 200: ok(z.object({ keys: z.array(KeySchema) })), ...errorResponses(401) } }),
  async (c) => c.json({ keys: await accounts.listKeys(authorize(c.get('actor'), 'session.read')) }, 200));

  app.openapi(createRoute({ method: 'post', path: '/api/keys', tags: ['API keys'], summary: 'Create an API key (shown once)',
    request: jsonBody(z.strictObject({ name: z.string().trim().min(1, 'is required').max(100) })),
    responses: { 201: ok(z.object({ id: z.string(), key: z.string(), name: z.string(), prefix: z.string(), createdAt: z.string() })), ...errorResponses(400, 401) } }),
  async (c) => c.json(await accounts.createKey(authorize(c.get('actor'), 'session.write'), c.req.valid('json').name), 201));

  app.openapi(createRoute({ method: 'delete', path: '/api/keys/{id}', tags: ['API keys'], summary: 'Revoke an API key',
    request: { params: IdParam }, responses: { ...noContent, ...errorResponses(401, 404) } }),
  async (c) => {
    await accounts.deleteKey(authorize(c.get('actor'), 'session.write'), c.req.valid('param').id);
    return c.body(null, 204);
  });

  return app;
}
