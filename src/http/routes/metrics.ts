import { Hono } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { AppEnv } from '../context.js';
import type { Metrics } from '../../infra/metrics.js';
import { AppError, errors } from '../../domain/errors.js';
import { safeEqual, sha256 } from '../../infra/system.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** The TCP peer, never a forwarded header: anyone can write those. Undefined outside the Node server. */
function peerAddress(c: Context<AppEnv>): string | undefined {
  try { return getConnInfo(c).remote.address; } catch { return undefined; }
}

/**
 * Refuses a scrape unless it carries `Authorization: Bearer <METRICS_TOKEN>` (when the token is set),
 * or comes straight from this machine (when it is not). A request relayed by a reverse proxy on this
 * machine also arrives from loopback, but carries forwarding headers: it is refused too.
 */
function authorizeScrape(c: Context<AppEnv>, token: string | undefined): void {
  if (token) {
    const bearer = c.req.header('authorization')?.match(/^Bearer\s+(\S+)$/i)?.[1];
    // Compare digests: equal length, so the comparison time says nothing about the token.
    if (!bearer || !safeEqual(sha256(bearer), sha256(token))) {
      c.header('WWW-Authenticate', 'Bearer realm="metrics"');
      throw errors.unauthorized('Send Authorization: Bearer <METRICS_TOKEN> to read the metrics.');
    }
    return;
  }
  const forwarded = c.req.header('x-forwarded-for') ?? c.req.header('forwarded') ?? c.req.header('x-real-ip');
  const peer = peerAddress(c);
  if (!peer || !LOOPBACK.has(peer) || forwarded !== undefined) {
    throw new AppError(403, 'forbidden', 'Metrics are served only to requests from this machine. Set METRICS_TOKEN to let Prometheus scrape them from elsewhere with Authorization: Bearer <METRICS_TOKEN>.');
  }
}

/** `GET /metrics`: Prometheus text format, outside /api and its session authentication. */
export function metricsRoutes(deps: { metrics: Metrics; token: string | undefined }) {
  const app = new Hono<AppEnv>();
  app.get('/metrics', async (c) => {
    authorizeScrape(c, deps.token);
    const { metrics } = deps;
    return c.body(await metrics.render(), 200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' });
  });
  return app;
}
