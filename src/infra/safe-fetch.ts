/**
 * Fetching a URL someone else chose, safely: the SafeFetcher port's adapter.
 *
 * The SSRF guard (`vetUrl`, `safeFetch`): only http(s), no credentials in the
 * URL, DNS resolved here and every answer vetted (private, loopback, link-local, CGNAT, multicast,
 * unspecified, reserved, IPv6 ULA and IPv4-mapped addresses are refused), the connection pinned to
 * the vetted address so a second DNS answer cannot rebind it, redirects followed by hand and each hop
 * vetted again, and the whole exchange bounded in time and size. The site check, web_fetch and
 * plugin calls use it; `safeFetcher()` is the port they are given.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { FetchRefused, type FetchOptions, type FetchResult, type SafeFetcher } from '../domain/fetcher.js';

export { FetchRefused };

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

/** `p`, or a rejection as soon as `signal` aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => { signal.removeEventListener('abort', onAbort); resolve(v); }, (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); });
  });
}

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;
export type GuardOptions = {
  /** Gives up waiting for DNS (the lookup itself cannot be cancelled, and keeps its place until it ends). */
  signal?: AbortSignal;
  /** Allow non-public addresses (a self-hosted install whose sites live on the LAN). Default false. */
  allowPrivate?: boolean;
  /** DNS resolution (default: node:dns lookup, all answers). Tests pass their own. */
  resolve?: Resolver;
  /** Overrides the address policy (default: public only, or anything valid with allowPrivate). */
  allowAddress?: (address: string, cls: AddressClass) => boolean;
};

const systemResolve: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * At most this many lookups of outside names run at once. `dns.lookup` (getaddrinfo, so /etc/hosts and
 * the system's resolver count) runs on libuv's thread pool: four threads, shared with file reads,
 * compression and argon2. A name whose servers never answer holds a thread for the resolver's whole
 * timeout (10 s or more), so a few pages fetched at once from such names (web_fetch and site_audit take
 * any URL a visitor names) would stall sign-ins and static files for everyone. A lookup that waits here
 * still ends at its fetch's deadline.
 */
export const LOOKUPS_AT_ONCE = 2;
let lookupsRunning = 0;
const lookupQueue: (() => void)[] = [];
async function limitedLookup(resolve: Resolver, host: string, signal?: AbortSignal) {
  while (lookupsRunning >= LOOKUPS_AT_ONCE) await new Promise<void>((r) => lookupQueue.push(r));
  if (signal?.aborted) { lookupQueue.shift()?.(); throw signal.reason; } // its fetch gave up while it waited: no lookup, and the next one goes
  lookupsRunning++;
  try {
    return await resolve(host);
  } finally {
    lookupsRunning--;
    lookupQueue.shift()?.();
  }
}

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
      answers = await untilAborted(limitedLookup(o.resolve ?? systemResolve, host, o.signal), o.signal);
    } catch (err) {
      if (o.signal?.aborted) throw err; // the caller's deadline, not DNS's answer
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

const hostOf = (u: string | URL) => { try { return new URL(u).host; } catch { return String(u).slice(0, 100); } };

/** vetUrl under a request's deadline: DNS still unanswered when `signal` aborts is a `timeout`. */
async function vetWithin(raw: string | URL, o: GuardOptions, signal: AbortSignal, timeoutMs: number) {
  try {
    return await vetUrl(raw, { ...o, signal });
  } catch (err) {
    if (signal.aborted && !(err instanceof FetchRefused)) throw new FetchRefused('timeout', `${hostOf(raw)} did not answer within ${timeoutMs / 1000} s (its name was not resolved in time).`);
    throw err;
  }
}

export type SafeFetchOptions = GuardOptions & FetchOptions;
export type SafeFetchResult = FetchResult;

const USER_AGENT = 'Mozilla/5.0 (compatible; SwitchboardSiteCheck/1.0)';
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function flatHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v)]));
}

/** One request to a vetted address: the host name stays in the URL (Host header, TLS name), the socket goes to `address`. */
function request(url: URL, address: string, family: 4 | 6, headers: Record<string, string>, signal: AbortSignal, method = 'GET', body?: string): Promise<http.IncomingMessage> {
  const pinned: LookupFunction = (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else cb(null, address, family);
  };
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method, headers, lookup: pinned, signal, agent: false }, resolve);
    req.on('error', reject);
    req.end(body);
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
  const started = performance.now();
  const headers = { 'user-agent': USER_AGENT, accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.5', 'accept-encoding': 'gzip, deflate, br', ...o.headers };
  try {
    let next: string | URL = raw;
    for (let redirects = 0; ; redirects++) {
      const { url, address, family } = await vetWithin(next, o, ctl.signal, timeoutMs);
      hops.push(url.toString());
      let res: http.IncomingMessage;
      try {
        res = await request(url, address, family, headers, ctl.signal);
      } catch (err) {
        if (ctl.signal.aborted) throw new FetchRefused('timeout', `${url.host} did not answer within ${timeoutMs / 1000} s.`);
        throw new FetchRefused('network', `Could not connect to ${url.host}: ${networkReason(err)}.`);
      }
      const ttfbMs = Math.round(performance.now() - started);
      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode ?? 0) && location) {
        res.destroy();
        if (redirects >= maxRedirects) throw new FetchRefused('redirects', `More than ${maxRedirects} redirects, starting at ${hops[0]}.`);
        try { next = new URL(location, url); } catch { throw new FetchRefused('url', `${url.host} redirected to an invalid address.`); }
        continue;
      }
      let certValidTo: string | null = null;
      if (url.protocol === 'https:') {
        const validTo = (res.socket as import('node:tls').TLSSocket | null)?.getPeerCertificate?.()?.valid_to;
        const t = validTo ? Date.parse(validTo) : NaN;
        if (Number.isFinite(t)) certValidTo = new Date(t).toISOString();
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
        ttfbMs, totalMs: Math.round(performance.now() - started), certValidTo,
      };
    }
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** POSTs `body` to a vetted address (see SafeFetcher.post): no redirects, the whole exchange within `timeoutMs`. */
export async function safePost(raw: string, body: string, o: GuardOptions & { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ status: number }> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const { url, address, family } = await vetWithin(raw, o, ctl.signal, timeoutMs);
    const headers = { 'user-agent': USER_AGENT, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...o.headers };
    let res: http.IncomingMessage;
    try {
      res = await request(url, address, family, headers, ctl.signal, 'POST', body);
    } catch (err) {
      if (ctl.signal.aborted) throw new FetchRefused('timeout', `${url.host} did not answer within ${timeoutMs / 1000} s.`);
      throw new FetchRefused('network', `Could not connect to ${url.host}: ${networkReason(err)}.`);
    }
    await readBounded(res, 64 * 1024).catch(() => undefined);
    return { status: res.statusCode ?? 0 };
  } finally {
    clearTimeout(timer);
  }
}

/** The port: a fetcher with its address policy fixed (public addresses only, unless the install allows private ones). */
export function safeFetcher(guard: GuardOptions = {}): SafeFetcher {
  return {
    fetch: (url, o = {}) => safeFetch(url, { ...guard, ...o }),
    vet: (url) => vetUrl(url, guard),
    post: (url, body, o = {}) => safePost(url, body, { ...guard, ...o }),
  };
}
