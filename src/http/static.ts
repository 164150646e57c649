import type { MiddlewareHandler } from 'hono';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';
import { promisify } from 'node:util';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json', '.txt': 'text/plain; charset=utf-8', '.woff2': 'font/woff2',
};

/** Text formats worth compressing; images and fonts are compressed already. */
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.svg', '.webmanifest', '.txt', '.ico']);
/** Below this a compressed body is not worth its header. */
const MIN_COMPRESS_BYTES = 512;
/** Bound of the in-memory cache of bodies compressed on request (files the build did not precompress). */
const CACHE_MAX_BYTES = 16 * 1024 * 1024;

const IMMUTABLE = 'public, max-age=31536000, immutable';

type Encoding = 'br' | 'gzip';
const SUFFIX: Record<Encoding, string> = { br: '.br', gzip: '.gz' };

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

const MISSING_UI = `<!doctype html><meta charset="utf-8"><title>Switchboard</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;padding:0 1rem">
<h1>Switchboard is running</h1><p>The web interface has not been built yet. Run <code>npm run build</code> (or <code>npm start</code>, which builds first).</p>
<p>The API is up: <a href="/api/docs">API reference</a>.</p></body>`;

/**
 * The encodings the client accepts, best first: brotli, then gzip. Honours `q=0` (refused) and `*`;
 * ignores the finer points of q-values otherwise, as every browser sends both without weights.
 */
export function acceptedEncodings(header: string | undefined): Encoding[] {
  if (!header) return [];
  const accepted = new Map<string, number>();
  for (const part of header.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q ? Number(q.slice(2)) : 1;
    accepted.set(name.trim(), Number.isFinite(weight) ? weight : 0);
  }
  const ok = (e: string) => (accepted.get(e) ?? accepted.get('*') ?? 0) > 0;
  return (['br', 'gzip'] as const).filter(ok);
}

/** Bodies compressed on request, least recently used dropped first once the total passes the bound. */
class CompressedCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;
  constructor(private readonly maxBytes: number) {}

  get(key: string): Buffer | undefined {
    const hit = this.entries.get(key);
    if (hit) { this.entries.delete(key); this.entries.set(key, hit); }
    return hit;
  }

  set(key: string, body: Buffer): void {
    if (body.length > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old) { this.bytes -= old.length; this.entries.delete(key); }
    this.entries.set(key, body);
    this.bytes += body.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
  }
}

interface Representation { body: Buffer; encoding?: Encoding }

export interface ServeSpaOptions {
  /** Bound of the in-memory cache of bodies compressed on request (default 16 MiB). */
  cacheMaxBytes?: number;
}

/**
 * Serves the built SvelteKit SPA; unknown paths get index.html so client-side routes work on reload.
 *
 * - Compressed by Accept-Encoding: brotli preferred, gzip next, with `Vary: Accept-Encoding`. The build
 *   writes `.br`/`.gz` next to each file (adapter-static's `precompress`); a file without them is
 *   compressed on its first request and kept in a bounded in-memory cache.
 * - Hashed files under `/_app/immutable/` are cached for a year as immutable; everything else,
 *   index.html included, is `no-cache` with an ETag, so a revalidation costs a `304`.
 */
export function serveSpa(root: string, opts: ServeSpaOptions = {}): MiddlewareHandler {
  const base = normalize(root + sep);
  const cache = new CompressedCache(opts.cacheMaxBytes ?? CACHE_MAX_BYTES);

  async function represent(file: string, size: number, mtimeMs: number, encodings: Encoding[]): Promise<Representation> {
    const compressible = COMPRESSIBLE.has(extname(file)) && size >= MIN_COMPRESS_BYTES;
    if (compressible) {
      for (const encoding of encodings) {
        const pre = await readFile(file + SUFFIX[encoding]).catch(() => undefined);
        if (pre) return { body: pre, encoding };
      }
    }
    const body = await readFile(file);
    const encoding = compressible ? encodings[0] : undefined;
    if (!encoding) return { body };
    const key = `${encoding}\0${file}\0${size}\0${mtimeMs}`;
    let compressed = cache.get(key);
    if (!compressed) {
      compressed = encoding === 'br'
        ? await brotli(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } })
        : await gz(body, { level: 9 });
      cache.set(key, compressed);
    }
    return compressed.length < body.length ? { body: compressed, encoding } : { body };
  }

  return async function serveSpa(c, next) {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    const p = c.req.path;
    if (p.startsWith('/api/') || p.startsWith('/v1/') || p.startsWith('/webhooks/') || p === '/health') return next();
    let rel: string;
    try { rel = decodeURIComponent(p); } catch { return next(); }
    const encodings = acceptedEncodings(c.req.header('accept-encoding'));

    const send = async (file: string, size: number, mtimeMs: number, cacheControl: string) => {
      const rep = await represent(file, size, mtimeMs, encodings);
      const headers: Record<string, string> = {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Cache-Control': cacheControl,
      };
      // One validator per file version and per encoding: a gzip body never matches a brotli ETag. Hashed
      // files go without: they are never revalidated (a new build is a new name), and on the chat page's
      // ~30 files the header's bytes count against its transfer budget.
      if (cacheControl !== IMMUTABLE) headers.ETag = `W/"${size.toString(36)}-${Math.trunc(mtimeMs).toString(36)}${rep.encoding ? `-${rep.encoding}` : ''}"`;
      if (COMPRESSIBLE.has(extname(file))) headers.Vary = 'Accept-Encoding';
      if (rep.encoding) headers['Content-Encoding'] = rep.encoding;
      const inm = c.req.header('if-none-match');
      if (inm && headers.ETag && inm.split(',').some((t) => t.trim() === headers.ETag || t.trim() === '*')) {
        delete headers['Content-Type'];
        delete headers['Content-Encoding'];
        return c.body(null, 304, headers);
      }
      return c.body(new Uint8Array(rep.body), 200, headers);
    };

    const file = normalize(join(base, rel));
    if (file.startsWith(base) && !rel.includes('\0')) {
      const s = await stat(file).catch(() => undefined);
      if (s?.isFile()) return send(file, s.size, s.mtimeMs, rel.startsWith('/_app/immutable/') ? IMMUTABLE : 'no-cache');
    }
    if (extname(rel) && !rel.endsWith('.html')) return next(); // a missing asset is a 404, not the app
    const index = join(base, 'index.html');
    const s = await stat(index).catch(() => undefined);
    if (s?.isFile()) return send(index, s.size, s.mtimeMs, 'no-cache');
    return c.html(MISSING_UI, 200, { 'Cache-Control': 'no-cache' });
  };
}
