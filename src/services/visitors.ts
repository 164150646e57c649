/**
 * Anonymous visitors: who they are (an id the server issues and signs, kept in the `sb_visitor`
 * cookie) and how often one client address may ask for anonymous work (chat messages, link codes,
 * uploads). A cookie the server did not sign is never believed: the visitor gets a new id, so
 * making up values cannot reset per-person caps.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../domain/ports.js';
import { AppError } from '../domain/errors.js';

const ID = /^[A-Za-z0-9_-]{24}$/;

export function visitorService(deps: {
  /** The instance secret (SWITCHBOARD_SECRET_KEY or DATA_DIR/secret.key); a key for visitor ids is derived from it. */
  secretKey: Buffer; clock: Clock;
  /** Anonymous requests one client address may make per minute (SWITCHBOARD_ANON_PER_MINUTE). */
  perMinute: number;
}) {
  const key = createHmac('sha256', deps.secretKey).update('switchboard visitor id v1').digest();
  const mac = (id: string) => createHmac('sha256', key).update(id).digest().subarray(0, 18).toString('base64url');

  /** Per client address: tokens left and when they were counted (a bucket refilled at perMinute a minute). */
  const buckets = new Map<string, { tokens: number; at: number }>();
  let lastSweep = 0;

  return {
    /** A new visitor id and the cookie value that carries it (`<id>.<signature>`). */
    issue(): { id: string; cookie: string } {
      const id = randomBytes(18).toString('base64url');
      return { id, cookie: `${id}.${mac(id)}` };
    },

    /** The visitor id in a cookie value, if this server signed it; undefined for anything else. */
    verify(cookie: string | undefined): string | undefined {
      if (!cookie || cookie.length > 100) return undefined;
      const [id, sig, extra] = cookie.split('.');
      if (!id || !sig || extra !== undefined || !ID.test(id)) return undefined;
      const want = Buffer.from(mac(id));
      const got = Buffer.from(sig);
      return got.length === want.length && timingSafeEqual(got, want) ? id : undefined;
    },

    /**
     * Counts one anonymous request from a client address; past the per-minute rate it is refused with
     * 429 and Retry-After. Kept in this process's memory (each process of a cluster counts its own).
     */
    admit(address: string): void {
      const now = deps.clock.now().getTime();
      const rate = deps.perMinute / 60_000;
      if (now - lastSweep > 60_000) {
        lastSweep = now;
        for (const [k, b] of buckets) if (b.tokens + (now - b.at) * rate >= deps.perMinute) buckets.delete(k);
      }
      const b = buckets.get(address) ?? { tokens: deps.perMinute, at: now };
      b.tokens = Math.min(deps.perMinute, b.tokens + (now - b.at) * rate);
      b.at = now;
      buckets.set(address, b);
      if (b.tokens < 1) {
        const wait = Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000));
        throw new AppError(429, 'rate_limited', `Too many requests from your address; try again in ${wait} seconds.`, { retryAfterSeconds: wait, details: { retryAfterSeconds: wait } });
      }
      b.tokens -= 1;
    },
  };
}
export type VisitorService = ReturnType<typeof visitorService>;
