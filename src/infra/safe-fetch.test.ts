import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { classifyAddress, FetchRefused, safeFetch, safeFetcher, safePost, vetUrl, type Resolver } from './safe-fetch.js';
import { checkSite } from '../services/site-check.js';
import { freePort } from '../../test/helpers/ports.js';

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'], ['93.184.216.34', 'public'], ['172.32.0.1', 'public'], ['100.128.0.1', 'public'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'cgnat'], ['100.127.255.254', 'cgnat'], ['224.0.0.1', 'multicast'], ['239.255.255.250', 'multicast'],
    ['0.0.0.0', 'unspecified'], ['0.1.2.3', 'unspecified'], ['255.255.255.255', 'reserved'], ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'], ['198.18.0.1', 'reserved'], ['203.0.113.5', 'reserved'],
    ['2606:4700:4700::1111', 'public'], ['2a00:1450:4001:80b::200e', 'public'],
    ['::1', 'loopback'], ['0:0:0:0:0:0:0:1', 'loopback'], ['::', 'unspecified'],
    ['fe80::1', 'link-local'], ['fe80::1%eth0', 'link-local'], ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'], ['fd12:3456:789a::1', 'unique-local'], ['ff02::1', 'multicast'], ['fec0::1', 'private'],
    ['::ffff:127.0.0.1', 'ipv4-mapped'], ['::ffff:8.8.8.8', 'ipv4-mapped'], ['::ffff:7f00:1', 'ipv4-mapped'], ['::127.0.0.1', 'ipv4-mapped'],
    ['64:ff9b::a00:1', 'private'], ['64:ff9b::808:808', 'public'], ['2002:7f00:1::', 'loopback'], ['2002:0808:0808::1', 'public'],
    ['2001:db8::1', 'reserved'], ['100::1', 'reserved'],
    ['not-an-ip', 'invalid'], ['256.1.1.1', 'invalid'], ['1.2.3', 'invalid'],
  ])('%s is %s', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });
});

const resolverOf = (table: Record<string, string[]>): Resolver & { calls: string[] } => {
  const calls: string[] = [];
  const fn = (async (host: string) => {
    calls.push(host);
    const a = table[host];
    if (!a) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  }) as Resolver & { calls: string[] };
  fn.calls = calls;
  return fn;
};

describe('vetUrl', () => {
  const resolve = resolverOf({ 'example.com': ['93.184.216.34'], 'intranet.example': ['10.0.0.5'], 'mixed.example': ['93.184.216.34', '192.168.0.2'], 'v6.example': ['fd00::1'] });

  it('accepts a public host and answers the address to connect to', async () => {
    expect(await vetUrl('https://example.com/path?q=1', { resolve })).toMatchObject({ address: '93.184.216.34', family: 4 });
  });

  it.each([
    ['ftp://example.com/', /Only http/],
    ['file:///etc/passwd', /Only http/],
    ['https://user:pw@example.com/', /user name or password/],
    ['https://user@example.com/', /user name or password/],
    ['not a url', /not a valid URL/],
    ['http://127.0.0.1/', /loopback/],
    ['http://[::1]:8080/', /loopback/],
    ['http://[::ffff:169.254.169.254]/', /IPv4-mapped/],
    ['http://169.254.169.254/latest/meta-data/', /link-local/],
    ['http://intranet.example/', /10\.0\.0\.5.*private/],
    ['http://mixed.example/', /192\.168\.0\.2/],
    ['http://v6.example/', /unique-local/],
    ['http://nowhere.example/', /does not exist/],
  ])('refuses %s', async (url, why) => {
    await expect(vetUrl(url, { resolve })).rejects.toThrow(why);
  });

  it('lets a self-hosted install reach private addresses when told to, but still only over http(s)', async () => {
    expect((await vetUrl('http://intranet.example/', { resolve, allowPrivate: true })).address).toBe('10.0.0.5');
    await expect(vetUrl('gopher://intranet.example/', { resolve, allowPrivate: true })).rejects.toThrow(/Only http/);
  });
});

describe('safeFetch', () => {
  let server: Server;
  let port: number;
  const hits: string[] = [];
  const posted: { url: string; host: string; type: string; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url!);
      if (req.method === 'POST') {
        let raw = '';
        req.on('data', (c) => { raw += c; });
        req.on('end', () => {
          posted.push({ url: req.url!, host: String(req.headers.host), type: String(req.headers['content-type']), body: raw });
          if (req.url === '/hook-moved') { res.writeHead(307, { location: '/hook' }); res.end(); return; }
          res.writeHead(req.url === '/hook' ? 204 : 500); res.end();
        });
        return;
      }
      const host = req.headers.host;
      if (req.url === '/page') { res.writeHead(200, { 'content-type': 'text/html', server: 'nginx' }); res.end('<title>Hi</title>'); return; }
      if (req.url === '/to-page') { res.writeHead(302, { location: '/page' }); res.end(); return; }
      if (req.url === '/to-metadata') { res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }); res.end(); return; }
      if (req.url === '/to-intranet') { res.writeHead(307, { location: `http://intranet.example:${port}/page` }); res.end(); return; }
      if (req.url === '/loop') { res.writeHead(302, { location: '/loop' }); res.end(); return; }
      if (req.url === '/hang') return; // never answers
      if (req.url === '/big') { res.writeHead(200, { 'content-type': 'text/html' }); res.end('x'.repeat(3 * 1024 * 1024)); return; }
      if (req.url === '/gzip') { res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }); res.end(gzipSync('<meta name="generator" content="Hugo 0.121">')); return; }
      if (req.url === '/host') { res.writeHead(200); res.end(String(host)); return; }
      if (req.url === '/500') { res.writeHead(500); res.end('boom'); return; }
      res.writeHead(404); res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => { server.closeAllConnections(); await new Promise((r) => server.close(r)); });

  // The test server is on loopback: treat 127.0.0.1 (only) as allowed, like a public address would be.
  const onlyTestServer = (ip: string, cls: string) => cls === 'public' || ip === '127.0.0.1';

  it('connects to the address it vetted, not to whatever DNS says next (no rebinding)', async () => {
    let n = 0;
    const rebinding: Resolver = async () => (n++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.0.0.1', family: 4 }]);
    const r = await safeFetch(`http://rebind.test:${port}/host`, { resolve: rebinding, allowAddress: onlyTestServer });
    expect(r.status).toBe(200);
    expect(r.body).toBe(`rebind.test:${port}`); // the Host header keeps the name; the socket went to the pinned address
    expect(n).toBe(1);
  });

  it('posts to the vetted address only, follows no redirect, and refuses what the guard refuses', async () => {
    let n = 0;
    const rebinding: Resolver = async () => (n++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.0.0.1', family: 4 }]);
    expect(await safePost(`http://hook.test:${port}/hook`, '{"a":1}', { resolve: rebinding, allowAddress: onlyTestServer })).toEqual({ status: 204 });
    expect(posted.at(-1)).toEqual({ url: '/hook', host: `hook.test:${port}`, type: 'application/json', body: '{"a":1}' });
    expect(n).toBe(1);
    // A redirect is an answer, not followed (a POST must not be re-sent somewhere else).
    expect(await safePost(`http://127.0.0.1:${port}/hook-moved`, '{}', { allowAddress: onlyTestServer })).toEqual({ status: 307 });
    expect(posted.filter((p) => p.url === '/hook')).toHaveLength(1);
    const before = posted.length;
    await expect(safePost(`http://127.0.0.1:${port}/hook`, '{}')).rejects.toBeInstanceOf(FetchRefused);
    await expect(safePost('http://meta.test/hook', '{}', { resolve: resolverOf({ 'meta.test': ['169.254.169.254'] }) })).rejects.toThrow(/link-local/);
    expect(posted.length).toBe(before);
  });

  it('follows redirects, vetting every hop', async () => {
    const resolve = resolverOf({ 'site.test': ['127.0.0.1'] });
    const r = await safeFetch(`http://site.test:${port}/to-page`, { resolve, allowAddress: onlyTestServer });
    expect(r).toMatchObject({ status: 200, url: `http://site.test:${port}/page`, hops: [`http://site.test:${port}/to-page`, `http://site.test:${port}/page`] });
    expect(r.headers.server).toBe('nginx');
    expect(resolve.calls).toEqual(['site.test', 'site.test']);
  });

  it('refuses a redirect to a private address before connecting to it', async () => {
    const resolve = resolverOf({ 'site.test': ['127.0.0.1'], 'intranet.example': ['10.9.8.7'] });
    await expect(safeFetch(`http://site.test:${port}/to-metadata`, { resolve, allowAddress: onlyTestServer })).rejects.toThrow(/169\.254\.169\.254 is a link-local address/);
    await expect(safeFetch(`http://site.test:${port}/to-intranet`, { resolve, allowAddress: onlyTestServer })).rejects.toThrow(/intranet\.example resolves to 10\.9\.8\.7/);
    expect(resolve.calls).toContain('intranet.example');
  });

  it('refuses loopback unless private URLs are allowed', async () => {
    await expect(safeFetch(`http://127.0.0.1:${port}/page`)).rejects.toMatchObject({ kind: 'address' });
    expect((await safeFetch(`http://127.0.0.1:${port}/page`, { allowPrivate: true })).status).toBe(200);
  });

  it('stops after five redirects', async () => {
    await expect(safeFetch(`http://127.0.0.1:${port}/loop`, { allowPrivate: true })).rejects.toThrow(/More than 5 redirects/);
  });

  it('gives up on a server that never answers, within the time limit', async () => {
    const t0 = Date.now();
    const err = await safeFetch(`http://127.0.0.1:${port}/hang`, { allowPrivate: true, timeoutMs: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(FetchRefused);
    expect(err).toMatchObject({ kind: 'timeout' });
    expect(err.message).toMatch(/did not answer within 0.3 s/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('gives up on a name that is never resolved at the deadline, and holds at most two lookups at once', async () => {
    // getaddrinfo runs on libuv's four pool threads: hung lookups must not take all of them.
    let running = 0;
    let most = 0;
    let calls = 0;
    const releases: (() => void)[] = [];
    const hung: Resolver = () => { calls++; running++; most = Math.max(most, running); return new Promise((r) => releases.push(() => { running--; r([{ address: '93.184.216.34', family: 4 }]); })); };
    const errs = await Promise.all(Array.from({ length: 5 }, (_, i) => safeFetch(`http://blackhole${i}.example/`, { resolve: hung, timeoutMs: 200 }).catch((e: unknown) => e)));
    for (const err of errs) {
      expect(err).toBeInstanceOf(FetchRefused);
      expect(err).toMatchObject({ kind: 'timeout', message: expect.stringMatching(/blackhole\d\.example did not answer within 0.2 s/) });
    }
    expect(most).toBe(2);
    // The places free up only as the lookups themselves end; the three whose fetch gave up while waiting are not run at all.
    while (releases.length) { releases.shift()!(); await new Promise((r) => setTimeout(r, 0)); }
    expect(most).toBe(2);
    expect(running).toBe(0);
    expect(calls).toBe(2);
    const ok = await safeFetch('http://blackhole9.example/', { resolve: async () => [{ address: '10.0.0.1', family: 4 }], timeoutMs: 200 }).catch((e: unknown) => e);
    expect(ok).toMatchObject({ kind: 'address' }); // the next lookup runs at once
    const post = await safePost('http://blackhole.example/hook', '{}', { resolve: () => new Promise(() => {}), timeoutMs: 100 }).catch((e: unknown) => e);
    expect(post).toMatchObject({ kind: 'timeout' });
  });

  it('keeps at most maxBytes of the body', async () => {
    const r = await safeFetch(`http://127.0.0.1:${port}/big`, { allowPrivate: true, maxBytes: 1024 * 1024 });
    expect(r).toMatchObject({ bytes: 1024 * 1024, truncated: true });
  });

  it('decompresses gzip', async () => {
    const r = await safeFetch(`http://127.0.0.1:${port}/gzip`, { allowPrivate: true });
    expect(r.body).toContain('Hugo 0.121');
  });

  it('reports a refused connection plainly', async () => {
    const p = await freePort();
    await expect(safeFetch(`http://127.0.0.1:${p}/`, { allowPrivate: true })).rejects.toThrow(/connection was refused/);
  });

  it('checkSite treats 5xx and 404 as unreachable', async () => {
    await expect(checkSite(safeFetcher({ allowPrivate: true }), `http://127.0.0.1:${port}/500`)).rejects.toThrow(/answered HTTP 500/);
    await expect(checkSite(safeFetcher({ allowPrivate: true }), `http://127.0.0.1:${port}/nope`)).rejects.toThrow(/answered HTTP 404/);
    const ok = await checkSite(safeFetcher({ allowPrivate: true }), `http://127.0.0.1:${port}/to-page`);
    expect(ok).toMatchObject({ status: 200, redirects: 1, stack: { title: 'Hi', server: 'nginx' } });
  });
});
