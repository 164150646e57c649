import { createRoute, z } from '@hono/zod-openapi';
import { setCookie, deleteCookie } from 'hono/cookie';
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { ROLES } from '../../domain/types.js';
import type { AppEnv } from '../context.js';
import { router } from '../router.js';
import { requireActor, SESSION_COOKIE } from '../middleware/request-context.js';
import { jsonBody, ok, noContent, errorResponses, SessionSchema, UserSchema, IdParam } from '../schemas.js';

const Credentials = z.strictObject({
  email: z.email().max(254),
  password: z.string().min(8, 'must be at least 8 characters').max(1024),
});

function startSession(c: Context<AppEnv>, s: { token: string; expiresAt: string }) {
  setCookie(c, SESSION_COOKIE, s.token, {
    httpOnly: true, sameSite: 'Lax', path: '/', secure: c.get('services').config.secureCookies, expires: new Date(s.expiresAt),
  });
}

/** The caller's address; behind a reverse proxy (SWITCHBOARD_TRUST_PROXY) the first X-Forwarded-For hop. */
function clientIp(c: Context<AppEnv>): string {
  if (c.get('services').config.SWITCHBOARD_TRUST_PROXY) {
    const fwd = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (fwd) return fwd;
  }
  try { return getConnInfo(c).remote.address ?? 'unknown'; } catch { return 'unknown'; }
}

export function accountRoutes() {
  const app = router();
  const tags = ['Accounts'];

  app.openapi(createRoute({ method: 'get', path: '/api/setup', tags, summary: 'Whether the one-time owner setup is still needed',
    responses: { 200: ok(z.object({ needsSetup: z.boolean() })) } }),
  async (c) => c.json({ needsSetup: await c.get('services').accounts.needsSetup() }, 200));

  app.openapi(createRoute({ method: 'post', path: '/api/setup', tags, summary: 'Create the owner account (once)',
    request: jsonBody(Credentials), responses: { 201: ok(SessionSchema, 'Owner created and signed in'), ...errorResponses(400, 409) } }),
  async (c) => {
    const { email, password } = c.req.valid('json');
    const s = await c.get('services').accounts.setupOwner(email, password);
    startSession(c, s);
    return c.json({ token: s.token, user: s.user }, 201);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/auth/login', tags, summary: 'Sign in with email and password',
    request: jsonBody(z.strictObject({ email: z.string().max(254), password: z.string().max(1024) })),
    responses: { 200: ok(SessionSchema), ...errorResponses(400, 401, 429) } }),
  async (c) => {
    const { email, password } = c.req.valid('json');
    const s = await c.get('services').accounts.login(email, password, clientIp(c));
    startSession(c, s);
    return c.json({ token: s.token, user: { id: s.user.id, email: s.user.email, role: s.user.role } }, 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/auth/me', tags, summary: 'The signed-in user',
    responses: { 200: ok(z.object({ user: UserSchema })), ...errorResponses(401) } }),
  (c) => c.json({ user: requireActor(c).user }, 200));

  app.openapi(createRoute({ method: 'post', path: '/api/auth/logout', tags, summary: 'End this session',
    responses: { 200: ok(z.object({ ok: z.boolean() })) } }),
  async (c) => {
    const actor = c.get('actor');
    if (actor) await c.get('services').accounts.logout(actor);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.json({ ok: true }, 200);
  });

  // ----- users -----
  app.openapi(createRoute({ method: 'get', path: '/api/users', tags, summary: 'List users (owner, admin)',
    responses: { 200: ok(z.object({ users: z.array(UserSchema) })), ...errorResponses(401, 403) } }),
  async (c) => c.json({ users: await c.get('services').accounts.listUsers(requireActor(c)) }, 200));

  app.openapi(createRoute({ method: 'post', path: '/api/users', tags, summary: 'Add a user (owner, admin)',
    request: jsonBody(Credentials.extend({ role: z.enum(ROLES) })),
    responses: { 201: ok(UserSchema), ...errorResponses(400, 401, 403, 409) } }),
  async (c) => c.json(await c.get('services').accounts.addUser(requireActor(c), c.req.valid('json')), 201));

  app.openapi(createRoute({ method: 'patch', path: '/api/users/{id}', tags, summary: "Set a customer's monthly cap across their agents (owner, admin)",
    request: { params: IdParam, ...jsonBody(z.strictObject({ monthlyBudgetUsd: z.number().min(0).max(1_000_000).nullable() })) },
    responses: { 200: ok(UserSchema), ...errorResponses(400, 401, 403, 404) } }),
  async (c) => c.json(await c.get('services').accounts.setUserBudget(requireActor(c), c.req.valid('param').id, c.req.valid('json').monthlyBudgetUsd), 200));

  app.openapi(createRoute({ method: 'delete', path: '/api/users/{id}', tags, summary: 'Remove a user',
    request: { params: IdParam }, responses: { ...noContent, ...errorResponses(401, 403, 404, 409) } }),
  async (c) => {
    await c.get('services').accounts.deleteUser(requireActor(c), c.req.valid('param').id);
    return c.body(null, 204);
  });

  // ----- API keys -----
  const KeySchema = z.object({ id: z.string(), name: z.string(), prefix: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable() });
  app.openapi(createRoute({ method: 'get', path: '/api/keys', tags: ['API keys'], summary: 'Your API keys',
    responses: { 200: ok(z.object({ keys: z.array(KeySchema) })), ...errorResponses(401) } }),
  async (c) => c.json({ keys: await c.get('services').accounts.listKeys(requireActor(c)) }, 200));

  app.openapi(createRoute({ method: 'post', path: '/api/keys', tags: ['API keys'], summary: 'Create an API key (shown once)',
    request: jsonBody(z.strictObject({ name: z.string().trim().min(1, 'is required').max(100) })),
    responses: { 201: ok(z.object({ id: z.string(), key: z.string(), name: z.string(), prefix: z.string(), createdAt: z.string() })), ...errorResponses(400, 401) } }),
  async (c) => c.json(await c.get('services').accounts.createKey(requireActor(c), c.req.valid('json').name), 201));

  app.openapi(createRoute({ method: 'delete', path: '/api/keys/{id}', tags: ['API keys'], summary: 'Revoke an API key',
    request: { params: IdParam }, responses: { ...noContent, ...errorResponses(401, 404) } }),
  async (c) => {
    await c.get('services').accounts.deleteKey(requireActor(c), c.req.valid('param').id);
    return c.body(null, 204);
  });

  return app;
}
