/**
 * Fetching a URL someone else chose, safely, and telling what a website is built with.
 *
 * The SSRF guard (`vetUrl`, `safeFetch`) is the reusable part: only http(s), no credentials in the
 * URL, DNS resolved here and every answer vetted (private, loopback, link-local, CGNAT, multicast,
 * unspecified, reserved, IPv6 ULA and IPv4-mapped addresses are refused), the connection pinned to
 * the vetted address so a second DNS answer cannot rebind it, redirects followed by hand and each hop
 * vetted again, and the whole exchange bounded in time and size. The provisioning pipeline's site
 * check uses it today; a web_fetch tool can use it as is.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import type { SiteStack } from '../domain/types.js';

// ---------- address classification ----------

export type AddressClass =
  | 'public' | 'private' | 'loopback' | 'link-local' | 'cgnat' | 'multicast' | 'unspecified'
  | 'reserved' | 'unique-local' | 'ipv4-mapped' | 'invalid';

const v4 = (s: string): number[] | undefined => {
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
};

/** The eight 16-bit groups of an IPv6 address (with an embedded dotted quad allowed), or undefined. */
function v6Groups(s: string): number[] | undefined {
  const addr = s.replace(/%.*$/, '');
  if (isIP(addr) !== 6) return undefined;
  let text = addr;
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const b = v4(quad[1]!);
    if (!b) return undefined;
    text = `${text.slice(0, quad.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  const groups = [...h, ...fill, ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

function classifyV4(b: number[]): AddressClass {
  const [a, c] = [b[0]!, b[1]!];
  if (a === 0) return 'unspecified'; // 0.0.0.0/8 "this network"
  if (a === 10 || (a === 172 && c >= 16 && c <= 31) || (a === 192 && c === 168)) return 'private';
  if (a === 127) return 'loopback';
  if (a === 169 && c === 254) return 'link-local';
  if (a === 100 && c >= 64 && c <= 127) return 'cgnat';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved'; // 240/4 and the broadcast address
  if ((a === 192 && c === 0 && (b[2] === 0 || b[2] === 2)) || (a === 198 && (c === 18 || c === 19)) || (a === 198 && c === 51 && b[2] === 100) || (a === 203 && c === 0 && b[2] === 113)) return 'reserved';
  return 'public';
}

/** What kind of address this is; only 'public' ones may be fetched when private URLs are not allowed. */
export function classifyAddress(ip: string): AddressClass {
  const b4 = v4(ip);
  if (b4) return classifyV4(b4);
  const g = v6Groups(ip);
  if (!g) return 'invalid';
  const embedded = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (the deprecated "compatible" form) reach IPv4 hosts through IPv6 sockets.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) return 'ipv4-mapped';
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classifyV4(embedded(g[6]!, g[7]!)); // NAT64
  if (g[0] === 0x2002) return classifyV4(embedded(g[1]!, g[2]!)); // 6to4
  if ((g[0]! & 0xfe00) === 0xfc00) return 'unique-local';
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0]! & 0xffc0) === 0xfec0) return 'private'; // deprecated site-local
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast';
  if ((g[0] === 0x2001 && g[1] === 0x0db8) || (g[0] === 0x2001 && g[1]! < 0x200) || (g[0] === 0x100 && g.slice(1, 4).every((x) => x === 0))) return 'reserved'; // documentation, Teredo/ORCHID/benchmarking, discard
  if ((g[0]! & 0xe000) !== 0x2000) return 'reserved'; // outside global unicast 2000::/3
  return 'public';
}

const CLASS_WORDS: Record<AddressClass, string> = {
  public: 'a public address', private: 'a private network address', loopback: 'a loopback address (this machine)',
  'link-local': 'a link-local address', cgnat: 'a carrier-grade NAT address', multicast: 'a multicast address',
  unspecified: 'an unspecified address', reserved: 'a reserved address', 'unique-local': 'an IPv6 unique-local (private) address',
  'ipv4-mapped': 'an IPv4-mapped IPv6 address', invalid: 'not a valid address',
};

// ---------- URL vetting ----------

/** Why a URL could not be fetched. `kind` says which part failed; `message` is safe to show. */
export class FetchRefused extends Error {
  constructor(readonly kind: 'url' | 'address' | 'dns' | 'network' | 'timeout' | 'redirects', message: string) {
    super(message);
    this.name = 'FetchRefused';
  }
}

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;
export type GuardOptions = {
  /** Allow non-public addresses (a self-hosted install whose sites live on the LAN). Default false. */
  allowPrivate?: boolean;
  /** DNS resolution (default: node:dns lookup, all answers). Tests pass their own. */
  resolve?: Resolver;
  /** Overrides the address policy (default: public only, or anything valid with allowPrivate). */
  allowAddress?: (address: string, cls: AddressClass) => boolean;
};

const systemResolve: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Parses and checks a URL's form: http or https, no user name or password. */
export function parseHttpUrl(raw: string): URL {
  let url: URL;
  try { url = new URL(raw); } catch { throw new FetchRefused('url', `"${raw.slice(0, 200)}" is not a valid URL.`); }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchRefused('url', `Only http:// and https:// addresses can be fetched, not ${url.protocol}//.`);
  if (url.username || url.password) throw new FetchRefused('url', 'The address must not contain a user name or password.');
  if (!url.hostname) throw new FetchRefused('url', 'The address has no host name.');
  return url;
}

/**
 * Resolves a URL's host and vets every address it resolves to; refuses the URL if any of them is not
 * allowed (so a host cannot mix a public and a private answer). Returns the address to connect to.
 */
export async function vetUrl(raw: string | URL, o: GuardOptions = {}): Promise<{ url: URL; address: string; family: 4 | 6 }> {
  const url = typeof raw === 'string' ? parseHttpUrl(raw) : parseHttpUrl(raw.toString());
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let answers: { address: string; family: number }[];
  if (isIP(host)) answers = [{ address: host, family: isIP(host) }];
  else {
    try {
      answers = await (o.resolve ?? systemResolve)(host);
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new FetchRefused('dns', code === 'ENOTFOUND' || code === 'ENODATA' ? `The host name ${host} does not exist (DNS found no address).` : `Could not resolve ${host}: ${code ?? (err as Error).message}.`);
    }
  }
  if (!answers.length) throw new FetchRefused('dns', `The host name ${host} has no address.`);
  const allow = o.allowAddress ?? ((_a: string, cls: AddressClass) => cls === 'public' || (!!o.allowPrivate && cls !== 'invalid'));
  for (const a of answers) {
    const cls = classifyAddress(a.address);
    if (!allow(a.address, cls)) {
      throw new FetchRefused('address', `${host === a.address ? host : `${host} resolves to ${a.address}, which`} is ${CLASS_WORDS[cls]}; only public addresses can be fetched.`);
    }
  }
  const first = answers[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

// ---------- fetching ----------

export type SafeFetchOptions = GuardOptions & {
  /** The whole exchange, redirects included (default 10 s). */
  timeoutMs?: number;
  /** Body bytes kept (after decompression); the rest is not read (default 1 MiB). */
  maxBytes?: number;
  /** Redirects followed (default 5). */
  maxRedirects?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
};
export type SafeFetchResult = {
  url: string; status: number; statusText: string; headers: Record<string, string>;
  body: string; bytes: number; truncated: boolean;
  /** Every URL visited, the first one included. */
  hops: string[];
};

const USER_AGENT = 'Mozilla/5.0 (compatible; SwitchboardSiteCheck/1.0)';
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function flatHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v)]));
}

/** One GET to a vetted address: the host name stays in the URL (Host header, TLS name), the socket goes to `address`. */
function request(url: URL, address: string, family: 4 | 6, headers: Record<string, string>, signal: AbortSignal): Promise<http.IncomingMessage> {
  const pinned: LookupFunction = (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else cb(null, address, family);
  };
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method: 'GET', headers, lookup: pinned, signal, agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function readBounded(res: http.IncomingMessage, maxBytes: number): Promise<{ body: Buffer; truncated: boolean }> {
  const enc = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  let stream: Readable = res;
  if (enc === 'gzip' || enc === 'x-gzip') stream = res.pipe(zlib.createGunzip());
  else if (enc === 'deflate') stream = res.pipe(zlib.createInflate());
  else if (enc === 'br') stream = res.pipe(zlib.createBrotliDecompress());
  const parts: Buffer[] = [];
  let size = 0;
  let truncated = false;
  try {
    for await (const chunk of stream) {
      const b = chunk as Buffer;
      if (size + b.length > maxBytes) {
        parts.push(b.subarray(0, maxBytes - size));
        size = maxBytes;
        truncated = true;
        break;
      }
      parts.push(b);
      size += b.length;
    }
  } finally {
    res.destroy();
    if (stream !== res) stream.destroy();
  }
  return { body: Buffer.concat(parts), truncated };
}

function networkReason(err: unknown): string {
  const code = (err as { code?: string }).code;
  const words: Record<string, string> = {
    ECONNREFUSED: 'the connection was refused', ECONNRESET: 'the connection was reset', EHOSTUNREACH: 'the host is unreachable',
    ENETUNREACH: 'the network is unreachable', ETIMEDOUT: 'the connection timed out', EPROTO: 'the TLS handshake failed',
    CERT_HAS_EXPIRED: 'its TLS certificate has expired', DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed',
    ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate does not match the host name', UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate cannot be verified',
    HPE_INVALID_CONSTANT: 'it did not answer with HTTP', ERR_INVALID_HTTP_RESPONSE: 'it did not answer with HTTP',
  };
  return (code && words[code]) ?? `${(err as Error).message ?? String(err)}`;
}

/**
 * GETs a URL that someone else chose: vets it (see `vetUrl`), connects to the vetted address only,
 * follows redirects by hand vetting each hop, and stops at `timeoutMs` for the whole exchange and at
 * `maxBytes` of body. Throws FetchRefused; any HTTP status is a result, not an error.
 */
export async function safeFetch(raw: string, o: SafeFetchOptions = {}): Promise<SafeFetchResult> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const maxBytes = o.maxBytes ?? 1_048_576;
  const maxRedirects = o.maxRedirects ?? 5;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const onOuterAbort = () => ctl.abort();
  o.signal?.addEventListener('abort', onOuterAbort);
  const hops: string[] = [];
  const headers = { 'user-agent': USER_AGENT, accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.5', 'accept-encoding': 'gzip, deflate, br', ...o.headers };
  try {
    let next: string | URL = raw;
    for (let redirects = 0; ; redirects++) {
      const { url, address, family } = await vetUrl(next, o);
      hops.push(url.toString());
      let res: http.IncomingMessage;
      try {
        res = await request(url, address, family, headers, ctl.signal);
      } catch (err) {
        if (ctl.signal.aborted) throw new FetchRefused('timeout', `${url.host} did not answer within ${timeoutMs / 1000} s.`);
        throw new FetchRefused('network', `Could not connect to ${url.host}: ${networkReason(err)}.`);
      }
      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode ?? 0) && location) {
        res.destroy();
        if (redirects >= maxRedirects) throw new FetchRefused('redirects', `More than ${maxRedirects} redirects, starting at ${hops[0]}.`);
        try { next = new URL(location, url); } catch { throw new FetchRefused('url', `${url.host} redirected to an invalid address.`); }
        continue;
      }
      let read: { body: Buffer; truncated: boolean };
      try {
        read = await readBounded(res, maxBytes);
      } catch (err) {
        if (ctl.signal.aborted) throw new FetchRefused('timeout', `${url.host} did not finish sending the page within ${timeoutMs / 1000} s.`);
        throw new FetchRefused('network', `Reading the page from ${url.host} failed: ${networkReason(err)}.`);
      }
      return {
        url: url.toString(), status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: flatHeaders(res.headers),
        body: read.body.toString('utf8'), bytes: read.body.length, truncated: read.truncated, hops,
      };
    }
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
}

// ---------- stack detection ----------

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—', hellip: '…', rsquo: '’', lsquo: '‘', rdquo: '”', ldquo: '“' };
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, e: string) => {
    if (e[0] === '#') {
      const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(n) && n > 0 && n < 0x110000 ? String.fromCodePoint(n) : whole;
    }
    return ENTITIES[e.toLowerCase()] ?? whole;
  });
}
const clean = (s: string, max: number) => decodeEntities(s).replace(/\s+/g, ' ').trim().slice(0, max);

function metaTags(html: string): Record<string, string>[] {
  return [...html.matchAll(/<meta\b([^>]*)>/gi)].map((m) => {
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([a-zA-Z:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) attrs[a[1]!.toLowerCase()] = a[2] ?? a[3] ?? a[4] ?? '';
    return attrs;
  });
}

/** Generators that leave traces in the markup even without a generator meta tag. */
const GENERATOR_HINTS: [string, RegExp][] = [
  ['WordPress', /\/wp-(?:content|includes)\//i],
  ['Shopify', /cdn\.shopify\.com|\bShopify\.theme\b/],
  ['Wix', /static\.wixstatic\.com|\bwix-bolt\b/i],
  ['Squarespace', /static1?\.squarespace\.com|\bSquarespace\.Constants\b/i],
  ['Webflow', /\bdata-wf-(?:page|site)=|assets\.website-files\.com/i],
  ['Drupal', /\bDrupal\.settings\b|\/sites\/default\/files\/|data-drupal-/],
  ['Joomla', /\/media\/jui\/|\bJoomla!/],
  ['Ghost', /\/ghost\/api\/|\bghost-(?:portal|sdk)\b/i],
  ['Hugo', /\bgohugo\.io\b/i],
];

const FRAMEWORKS: [string, RegExp][] = [
  ['Next.js', /\b__NEXT_DATA__\b|\/_next\/static\//],
  ['Nuxt', /\b__NUXT__\b|\/_nuxt\//],
  ['Gatsby', /\b___gatsby\b|\bgatsby-(?:image|focus-wrapper)\b/],
  ['Astro', /<astro-island\b|\bdata-astro-cid-|\/_astro\//],
  ['SvelteKit', /\b__sveltekit_|\bdata-sveltekit-|\/_app\/immutable\//],
  ['Remix', /\b__remixContext\b/],
  ['React', /\bdata-reactroot\b|\breact(?:-dom)?(?:\.production)?(?:\.min)?\.js\b|\b_reactListening|\bReact\.createElement\b/],
  ['Vue', /\bdata-v-[0-9a-f]{8}\b|\bvue(?:\.global|\.runtime)?(?:\.prod)?(?:\.min)?\.js\b|\b__VUE__\b|\bdata-server-rendered="true"/],
  ['Angular', /\bng-version="|\bng-app\b|\bng-app=|_nghost-/],
  ['jQuery', /\bjquery(?:-\d[\d.]*)?(?:\.min)?\.js\b/i],
];
/** A framework that implies another (Next.js pages are React). */
const IMPLIES: Record<string, string> = { 'Next.js': 'React', Gatsby: 'React', Remix: 'React', Nuxt: 'Vue' };

/** Hosts and CDNs by a response header only they send; the first match wins, platforms before CDNs. */
const HOST_HEADERS: [string, string][] = [
  ['x-vercel-id', 'Vercel'], ['x-nf-request-id', 'Netlify'], ['x-github-request-id', 'GitHub Pages'], ['x-shopify-stage', 'Shopify'],
  ['x-wix-request-id', 'Wix'], ['x-render-origin-server', 'Render'], ['fly-request-id', 'Fly.io'], ['x-amz-cf-id', 'Amazon CloudFront'],
  ['cf-ray', 'Cloudflare'], ['x-fastly-request-id', 'Fastly'], ['x-akamai-transformed', 'Akamai'],
];
const HOST_BY_SERVER: [RegExp, string][] = [
  [/^vercel$/i, 'Vercel'], [/^netlify$/i, 'Netlify'], [/^github\.com$/i, 'GitHub Pages'], [/^cloudflare$/i, 'Cloudflare'],
  [/^AmazonS3$/i, 'Amazon S3'], [/^Google Frontend$/i, 'Google Cloud'], [/^Squarespace$/i, 'Squarespace'], [/^Pepyaka/i, 'Wix'],
];
const POWERED_BY: [RegExp, string][] = [
  [/next\.js/i, 'Next.js'], [/nuxt/i, 'Nuxt'], [/express/i, 'Express'], [/^php/i, 'PHP'], [/asp\.net/i, 'ASP.NET'], [/wp engine/i, 'WordPress'],
];

/** What a site is built with, from its response headers and the start of its HTML. */
export function detectStack(headers: Record<string, string>, html: string): SiteStack {
  const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const metas = metaTags(html);
  const generatorMeta = metas.find((m) => m.name?.toLowerCase() === 'generator' && m.content?.trim())?.content;
  let generator: string | null = generatorMeta ? clean(generatorMeta, 100) : h['x-generator'] ? clean(h['x-generator'], 100) : null;
  if (!generator) generator = GENERATOR_HINTS.find(([, re]) => re.test(html))?.[0] ?? null;
  if (!generator && h['x-shopify-stage']) generator = 'Shopify';

  const frameworks: string[] = [];
  const add = (f: string) => { if (!frameworks.includes(f)) frameworks.push(f); };
  for (const [name, re] of FRAMEWORKS) if (re.test(html)) add(name);
  if (generator && /^(gatsby|astro|next\.js|nuxt)/i.test(generator)) add(generator.split(/\s/)[0]!.replace(/^next\.js$/i, 'Next.js'));
  for (const [re, name] of POWERED_BY) {
    if (h['x-powered-by'] && re.test(h['x-powered-by'])) {
      if (name === 'WordPress') generator ??= 'WordPress';
      else add(name);
    }
  }
  for (const f of [...frameworks]) if (IMPLIES[f]) add(IMPLIES[f]!);

  const server = h.server ? clean(h.server, 100) : null;
  const host = HOST_HEADERS.find(([k]) => h[k] !== undefined)?.[1] ?? (server ? HOST_BY_SERVER.find(([re]) => re.test(server))?.[1] : undefined) ?? null;
  const t = /<title\b[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  const title = t && clean(t[1]!, 200) ? clean(t[1]!, 200) : null;
  return { generator, frameworks, host, server, title };
}

/** One line for a persona or a status page, e.g. "WordPress 6.4 (PHP), hosted on Cloudflare, server nginx". */
export function describeStack(s: SiteStack | null): string {
  if (!s) return 'not yet detected';
  const built = [s.generator, ...s.frameworks.filter((f) => !s.generator?.toLowerCase().startsWith(f.toLowerCase()))].filter(Boolean) as string[];
  const parts: string[] = [];
  if (built.length) parts.push(built.length > 1 ? `${built[0]} (${built.slice(1).join(', ')})` : built[0]!);
  if (s.host) parts.push(`hosted on ${s.host}`);
  if (s.server && s.server.toLowerCase() !== s.host?.toLowerCase()) parts.push(`server ${s.server}`);
  return parts.length ? parts.join(', ') : 'not detected (the site does not say what it runs on)';
}

// ---------- the site check ----------

export type SiteCheckResult = { url: string; status: number; redirects: number; stack: SiteStack; note: string | null };

/**
 * Fetches a customer's website and detects its stack. Throws FetchRefused when it cannot be fetched, or
 * when it answers with an error (404, 410, 5xx); a page behind a login or bot wall (401, 403, 429) still counts
 * as reachable, with a note.
 */
export async function checkSite(rawUrl: string, o: SafeFetchOptions = {}): Promise<SiteCheckResult> {
  const r = await safeFetch(rawUrl, o);
  if (r.status >= 500 || r.status === 404 || r.status === 410 || r.status < 200) {
    throw new FetchRefused('network', `${new URL(r.url).host} answered HTTP ${r.status}${r.statusText ? ` ${r.statusText}` : ''}.`);
  }
  const note = r.status >= 400 ? `The site answered HTTP ${r.status}, so what it runs on may be hidden.` : null;
  return { url: r.url, status: r.status, redirects: r.hops.length - 1, stack: detectStack(r.headers, r.body), note };
}
