import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from '../context.js';
import type { Metrics } from '../../infra/metrics.js';

/**
 * Counts every request and its duration by method, status and the matched route pattern
 * (`/api/agents/:id`), never the raw URL, so label cardinality stays bounded. Paths no route
 * claims fall under the catch-all that answered them (`/api/*`, `*`).
 */
export function httpMetrics(opts: { metrics: Metrics }): MiddlewareHandler<AppEnv> {
  return async function httpMetrics(c, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      // After next(), the route index points at the handler that answered.
      opts.metrics.http(c.req.method, routePath(c) || 'unmatched', c.res.status, (performance.now() - started) / 1000);
    }
  };
}
