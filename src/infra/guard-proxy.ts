/**
 * A local forwarding proxy that puts the SSRF guard in front of a browser. Lighthouse drives the system
 * Chromium, which fetches a page's subresources (images, scripts, frames, redirects) itself; pointed at
 * this proxy (`--proxy-server`, with loopback no longer bypassed), every one of those requests is vetted
 * like our own fetches: the host is resolved here, every address checked, and the connection made to
 * the vetted address only (so a second DNS answer cannot rebind it). Refused requests answer 403.
 *
 * Plain HTTP arrives in absolute form (`GET http://host/path`) and is forwarded; HTTPS (and WebSockets
 * over TLS) arrive as `CONNECT host:port` and are tunnelled after vetting, so TLS stays end to end.
 * Listens on 127.0.0.1 on a random port, for one run; `close()` ends every open connection.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type Vet = (url: string) => Promise<{ url: URL; address: string; family: 4 | 6 }>;
export type GuardProxy = {
  /** `http://127.0.0.1:<port>`, for `--proxy-server`. */
  url: string;
  /** Requests let through and refused so far (the audit notes them). */
  stats: { allowed: number; refused: number };
  close(): Promise<void>;
};

const IDLE_MS = 30_000;
const HOP_BY_HOP = ['proxy-connection', 'proxy-authorization', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade'];

/** `host:port` of a CONNECT line (IPv6 in brackets), or undefined when it is not one. */
export function connectTarget(authority: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/]+):(\d{1,5})$/.exec(authority);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1]!, port } : undefined;
}

export async function startGuardProxy(vet: Vet): Promise<GuardProxy> {
  const stats = { allowed: 0, refused: 0 };
  const sockets = new Set<Socket>();
  const track = (s: Socket) => { sockets.add(s); s.setTimeout(IDLE_MS, () => s.destroy()); s.once('close', () => sockets.delete(s)); };

  const server = createServer(async (req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
      if (target.protocol !== 'http:') throw new Error('not http');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('a proxy request needs an absolute http:// URL');
      return;
    }
    let vetted: Awaited<ReturnType<Vet>>;
    try { vetted = await vet(target.href); } catch {
      stats.refused++;
      res.writeHead(403, { 'content-type': 'text/plain' }).end('refused by the SSRF guard');
      return;
    }
    stats.allowed++;
    const headers: IncomingHttpHeaders = { ...req.headers, host: target.host };
    for (const h of HOP_BY_HOP) delete headers[h];
    const up = httpRequest({ host: vetted.address, family: vetted.family, port: Number(target.port) || 80, method: req.method, path: `${target.pathname}${target.search}`, headers, setHost: false, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.setTimeout(IDLE_MS, () => up.destroy());
    up.on('error', () => { if (!res.headersSent) res.writeHead(502).end(); else res.destroy(); });
    req.pipe(up);
  });
  server.on('connection', track);

  server.on('connect', async (req, client: Socket, head: Buffer) => {
    const t = connectTarget(req.url ?? '');
    if (!t) { client.end('HTTP/1.1 400 Bad Request\r\n\r\n'); return; }
    let vetted: Awaited<ReturnType<Vet>>;
    try { vetted = await vet(`https://${t.host}:${t.port}/`); } catch {
      stats.refused++;
      client.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nrefused by the SSRF guard');
      return;
    }
    stats.allowed++;
    const up = connect({ host: vetted.address, port: t.port, family: vetted.family }, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    track(up);
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });

  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
