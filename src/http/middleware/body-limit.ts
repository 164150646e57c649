/**
 * The request body's size bound, as hono/body-limit sets it, without building a web `Request` for
 * every request that says its length.
 *
 * Hono's middleware asks `c.req.raw.body` first; under @hono/node-server that one property turns
 * the lightweight request into a full WHATWG Request (Headers, AbortController, a ReadableStream
 * over the socket), and the route then reads its JSON through web streams instead of straight from
 * the socket. On the model paths and the webhooks that was a measurable share of every request's
 * CPU (bench/proxy.ts profile). Here a request whose `Content-Length` is within the bound goes on
 * untouched (the body is read later by the route, from the socket), one over the bound is refused
 * by `onError` without reading it, and only a body of unknown length (chunked) is counted as it
 * streams, by Hono's own middleware.
 */
import type { Context, MiddlewareHandler, Next } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';

export type BodyLimitOptions = {
  /** The largest body accepted, in bytes. */
  maxSize: number;
  /** Answers (or throws for) a body over the bound. */
  onError: (c: Context) => Response | Promise<Response>;
};

export function bodyLimit(o: BodyLimitOptions): MiddlewareHandler {
  const counting = honoBodyLimit({ maxSize: o.maxSize, onError: o.onError });
  return async function bodyLimit(c: Context, next: Next) {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined && /^\d+$/.test(length.trim())) {
      return Number(length.trim()) > o.maxSize ? o.onError(c) : next();
    }
    return counting(c, next);
  };
}
