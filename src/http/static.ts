import type { MiddlewareHandler } from 'hono';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json', '.txt': 'text/plain; charset=utf-8', '.woff2': 'font/woff2',
};

const MISSING_UI = `<!doctype html><meta charset="utf-8"><title>Switchboard</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;padding:0 1rem">
<h1>Switchboard is running</h1><p>The web interface has not been built yet. Run <code>npm run build</code> (or <code>npm start</code>, which builds first).</p>
<p>The API is up: <a href="/api/docs">API reference</a>.</p></body>`;

/** Serves the built SvelteKit SPA; unknown paths get index.html so client-side routes work on reload. */
export function serveSpa(root: string): MiddlewareHandler {
  const base = normalize(root + sep);
  return async function serveSpa(c, next) {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    const p = c.req.path;
    if (p.startsWith('/api/') || p.startsWith('/v1/') || p.startsWith('/webhooks/') || p === '/health') return next();
    let rel: string;
    try { rel = decodeURIComponent(p); } catch { return next(); }
    const file = normalize(join(base, rel));
    if (file.startsWith(base) && !rel.includes('\0')) {
      const s = await stat(file).catch(() => undefined);
      if (s?.isFile()) {
        const immutable = rel.startsWith('/_app/immutable/');
        return c.body(await readFile(file), 200, {
          'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
          'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        });
      }
    }
    if (extname(rel) && !rel.endsWith('.html')) return next(); // a missing asset is a 404, not the app
    const index = await readFile(join(base, 'index.html')).catch(() => undefined);
    return c.html(index ? index.toString('utf8') : MISSING_UI, 200, { 'Cache-Control': 'no-cache' });
  };
}
