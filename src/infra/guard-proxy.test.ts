import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { connectTarget, startGuardProxy, type GuardProxy } from './guard-proxy.js';
import { vetUrl } from './safe-fetch.js';

/** One request through the proxy in absolute form; answers status and body. */
function viaProxy(proxy: GuardProxy, url: string): Promise<{ status: number; body: string }> {
  const p = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: p.hostname, port: Number(p.port), path: url, headers: { host: new URL(url).host } }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A CONNECT tunnel, then a plain HTTP request through it; answers the proxy's status line and what came back. */
function tunnel(proxy: GuardProxy, authority: string): Promise<{ status: string; reply: string }> {
  const p = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(p.port), p.hostname, () => s.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n\r\n`));
    let buf = '';
    let status = '';
    s.on('data', (c) => {
      buf += c.toString();
      if (!status && buf.includes('\r\n\r\n')) {
        status = buf.split('\r\n')[0]!;
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
        if (status.includes(' 200 ')) s.write(`GET /hello HTTP/1.1\r\nhost: ${authority}\r\nconnection: close\r\n\r\n`);
      }
    });
    s.on('end', () => resolve({ status, reply: buf }));
    s.on('error', reject);
  });
}

describe('the guard proxy in front of the audit browser', () => {
  let target: Server;
  let port = 0;
  const proxies: GuardProxy[] = [];
  beforeAll(async () => {
    target = createServer((req, res) => res.end(`hello from ${req.url} for ${req.headers.host}`));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
    port = (target.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    await new Promise<void>((r) => target.close(() => r()));
  });
  const start = async (allowPrivate: boolean) => {
    const resolve = async (host: string) => (host === 'intranet.test' ? [{ address: '10.1.2.3', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
    const p = await startGuardProxy((u) => vetUrl(u, { allowPrivate, resolve }));
    proxies.push(p);
    return p;
  };

  it('refuses plain HTTP and CONNECT to private addresses, by name or by number, and counts them', async () => {
    const p = await start(false);
    expect(await viaProxy(p, `http://127.0.0.1:${port}/hello`)).toMatchObject({ status: 403, body: 'refused by the SSRF guard' });
    expect(await viaProxy(p, 'http://intranet.test/admin')).toMatchObject({ status: 403 });
    expect((await tunnel(p, `127.0.0.1:${port}`)).status).toBe('HTTP/1.1 403 Forbidden');
    expect((await tunnel(p, 'intranet.test:443')).status).toBe('HTTP/1.1 403 Forbidden');
    expect(p.stats).toEqual({ allowed: 0, refused: 4 });
  });

  it('forwards what the guard allows, to the vetted address, keeping the Host', async () => {
    const p = await start(true);
    // A name the guard resolves to 127.0.0.1: the socket goes there, the Host header keeps the name.
    expect(await viaProxy(p, `http://site.test:${port}/hello?x=1`)).toEqual({ status: 200, body: `hello from /hello?x=1 for site.test:${port}` });
    const t = await tunnel(p, `127.0.0.1:${port}`);
    expect(t.status).toBe('HTTP/1.1 200 Connection Established');
    expect(t.reply).toContain(`hello from /hello for 127.0.0.1:${port}`);
    // Only http:// is forwarded in absolute form (https comes as CONNECT).
    expect((await viaProxy(p, 'ftp://site.test/')).status).toBe(400);
    expect(p.stats.allowed).toBe(2);
  });

  it('reads CONNECT authorities strictly', () => {
    expect(connectTarget('example.com:443')).toEqual({ host: 'example.com', port: 443 });
    expect(connectTarget('[::1]:8443')).toEqual({ host: '[::1]', port: 8443 });
    expect(connectTarget('example.com')).toBeUndefined();
    expect(connectTarget('example.com:0')).toBeUndefined();
    expect(connectTarget('example.com:99999')).toBeUndefined();
    expect(connectTarget('a b:80')).toBeUndefined();
    expect(connectTarget('http://x:80')).toBeUndefined();
  });
});
