/**
 * No page of ours may be framed by another site (clickjacking): every HTML response carries
 * `Content-Security-Policy: frame-ancestors 'none'` and `X-Frame-Options: DENY`. The header holds
 * only what a `<meta>` policy cannot say or what no page needs; the script and style rules stay in
 * the SPA's own meta tag (web/svelte.config.js), which carries the hash of each build's boot script
 * (both policies apply, so repeating `script-src` here would block that script).
 *
 * A page meant to be embedded later (an agent's chat at /chat/<slug>, say) opts out explicitly
 * through `frameAncestors`: given the request, it answers the origins allowed to frame that page,
 * or nothing for the default. Nothing passes one today.
 */
import type { Context, MiddlewareHandler } from 'hono';

export const PAGE_POLICY = ["object-src 'none'", "base-uri 'self'", "form-action 'self'"];

export type FrameGuardOptions = {
  /** Origins (e.g. `https://shop.example`) allowed to frame this page; undefined or empty: none. */
  frameAncestors?: (c: Context) => string[] | undefined | Promise<string[] | undefined>;
};

export function frameGuard(o: FrameGuardOptions = {}): MiddlewareHandler {
  return async function frameGuard(c, next) {
    await next();
    if (!(c.res.headers.get('content-type') ?? '').startsWith('text/html')) return;
    const allowed = (await o.frameAncestors?.(c))?.filter((s) => /^https:\/\/[a-z0-9.-]+(:\d+)?$/i.test(s)) ?? [];
    c.res.headers.set('Content-Security-Policy', [`frame-ancestors ${allowed.length ? allowed.join(' ') : "'none'"}`, ...PAGE_POLICY].join('; '));
    if (allowed.length) c.res.headers.delete('X-Frame-Options'); // it cannot name origins; the CSP above does
    else c.res.headers.set('X-Frame-Options', 'DENY');
  };
}
