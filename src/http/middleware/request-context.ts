import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { randomUUID } from 'node:crypto';
import type { AppEnv } from '../context.js';
import type { Logger } from '../../infra/logger.js';
import { AppError, errors } from '../../domain/errors.js';
import type { AccountService } from '../../services/accounts.js';

export const SESSION_COOKIE = 'sb_session';

/**
 * Gives every request an id (echoed in X-Request-Id), a child logger, and an access log line. Routes
 * receive their services as arguments (route factories), never from the request context.
 */
export function requestContext(opts: { log: Logger }): MiddlewareHandler<AppEnv> {
  return async function requestContext(c, next) {
    const started = performance.now();
    c.set('startedAt', started);
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    const log = opts.log.child({ requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    c.set('actor', undefined);
    c.header('X-Request-Id', requestId);
    await next();
    const path = c.req.path;
    if (path !== '/health' && (path.startsWith('/api') || path.startsWith('/v1') || path.startsWith('/webhooks'))) {
      log.info('request', { method: c.req.method, path, status: c.res.status, ms: Math.round(performance.now() - started) });
    }
  };
}

/** Resolves the caller from `Authorization: Bearer` or the session cookie. Never rejects by itself. */
export function authenticate(deps: { accounts: Pick<AccountService, 'authenticate'> }): MiddlewareHandler<AppEnv> {
  return async function authenticate(c, next) {
    const header = c.req.header('authorization');
    const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const token = bearer ?? getCookie(c, SESSION_COOKIE);
    if (token) {
      const actor = await deps.accounts.authenticate(token);
      if (!actor && bearer) throw errors.unauthorized('The bearer token is invalid or has expired.');
      c.set('actor', actor);
    }
    await next();
  };
}

export function requireActor(c: { get(k: 'actor'): AppEnv['Variables']['actor'] }) {
  const a = c.get('actor');
  if (!a) throw errors.unauthorized();
  return a;
}

const FORM_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)\b/i;

/**
 * CSRF defence: a cross-site HTML form can only send these three content types, and a script from
 * another origin cannot send JSON without a CORS preflight we never grant. So a state-changing API
 * request carrying a form content type is refused, whatever its route expects.
 *
 * One exception, exact: a raw-file upload route (knowledge files may be text/plain) listed in
 * `customHeaderRoutes` is let through when, and only when, it carries `customHeader` (X-Filename): a
 * cross-site form cannot set a custom header, and a script on another origin cannot either without a
 * CORS preflight that Switchboard never grants.
 */
export function refuseFormPosts(o: { customHeaderRoutes?: RegExp[]; customHeader?: string } = {}): MiddlewareHandler<AppEnv> {
  const exempt = (c: Context<AppEnv>) => c.req.method === 'POST' && !!o.customHeader && !!c.req.header(o.customHeader)
    && (o.customHeaderRoutes ?? []).some((r) => r.test(c.req.path));
  return async function refuseFormPosts(c, next) {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && c.req.method !== 'OPTIONS' && FORM_TYPES.test(c.req.header('content-type') ?? '') && !exempt(c)) {
      throw new AppError(415, 'unsupported_media_type', 'Send requests to the API as JSON (Content-Type: application/json).');
    }
    await next();
  };
}
