// A customer's website for tests: node:http on 127.0.0.1, a random port, a few canned pages and a
// request journal. Pages: a WordPress-like home page behind Cloudflare-like headers, a redirect to it,
// a page that never answers, one that answers 500, and a slow one (for watching a step run).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const WORDPRESS_PAGE = `<!doctype html>
<html lang="en-GB"><head>
<meta charset="UTF-8">
<title>Mark&#039;s Bikes &#8211; Repairs in Leeds</title>
<meta name="generator" content="WordPress 6.4.2" />
<link rel="stylesheet" href="/wp-content/themes/astra/style.css">
<script src="/wp-includes/js/jquery/jquery.min.js"></script>
</head><body class="home"><h1>Mark's Bikes</h1><p>Same-day repairs.</p></body></html>`;

export type FakeWebsite = {
  url: string;
  port: number;
  journal: { path: string; headers: IncomingHttpHeaders; at: number }[];
  /** Adds or replaces a page: status, headers and body. */
  page(path: string, p: { status?: number; headers?: Record<string, string>; body?: string; delayMs?: number }): void;
  close(): Promise<void>;
};

export async function startFakeWebsite(): Promise<FakeWebsite> {
  const journal: FakeWebsite['journal'] = [];
  const pages = new Map<string, { status?: number; headers?: Record<string, string>; body?: string; delayMs?: number }>([
    ['/', { headers: { 'content-type': 'text/html; charset=UTF-8', server: 'nginx/1.25.3', 'cf-ray': '8a1b2c3d4e5f-LHR', 'x-powered-by': 'PHP/8.2.12' }, body: WORDPRESS_PAGE }],
    ['/old-home', { status: 301, headers: { location: '/' } }],
    ['/broken', { status: 500, headers: { 'content-type': 'text/html' }, body: '<h1>Internal Server Error</h1>' }],
    ['/slow', { headers: { 'content-type': 'text/html', 'x-vercel-id': 'lhr1::x' }, body: '<script id="__NEXT_DATA__" type="application/json">{}</script><title>Slow</title>', delayMs: 700 }],
  ]);
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    journal.push({ path, headers: req.headers, at: Date.now() });
    if (path === '/hang') return; // never answers; close() destroys the socket
    const p = pages.get(path);
    if (!p) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('not found'); return; }
    const send = () => { res.writeHead(p.status ?? 200, p.headers ?? {}); res.end(p.body ?? ''); };
    if (p.delayMs) setTimeout(send, p.delayMs); else send();
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, port, journal,
    page: (path, p) => void pages.set(path, p),
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
