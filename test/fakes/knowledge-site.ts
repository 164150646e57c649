// A small website for the knowledge tests (issue 18): robots.txt with a disallowed path and a sitemap index,
// two sitemap pages, a redirect loop, a page that redirects to a private address, and a request journal.
// Pages can be changed or removed between syncs.
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type KnowledgeSite = {
  url: string;
  journal: string[];
  set(path: string, p: { status?: number; type?: string; body?: string; location?: string } | undefined): void;
  close(): Promise<void>;
};

export const html = (title: string, body: string) => `<!doctype html><html><head><title>${title}</title></head><body><main>${body}</main></body></html>`;

export async function startKnowledgeSite(opts: { sitemap?: boolean } = {}): Promise<KnowledgeSite> {
  const journal: string[] = [];
  const pages = new Map<string, { status?: number; type?: string; body?: string; location?: string }>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    journal.push(path);
    const p = pages.get(path);
    if (!p) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('not found'); return; }
    res.writeHead(p.status ?? 200, { 'content-type': p.type ?? 'text/html; charset=utf-8', ...(p.location ? { location: p.location } : {}) });
    res.end(p.body ?? '');
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  pages.set('/robots.txt', { type: 'text/plain', body: `User-agent: *\nDisallow: /private\n${opts.sitemap === false ? '' : `Sitemap: ${url}/sitemap_index.xml\n`}` });
  if (opts.sitemap !== false) {
    pages.set('/sitemap_index.xml', { type: 'application/xml', body: `<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>${url}/sitemap-pages.xml</loc></sitemap></sitemapindex>` });
    pages.set('/sitemap-pages.xml', { type: 'application/xml', body: `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${['/', '/pricing', '/private/staff', '/loop-a', 'https://elsewhere.example/page'].map((p) => `<url><loc>${p.startsWith('http') ? p : url + p}</loc></url>`).join('')}</urlset>` });
  }
  pages.set('/', { body: html('Bikes of Leeds', '<h1>Welcome</h1><p>We repair bicycles in Leeds, same day, including hydraulic brakes.</p><a href="/pricing">Pricing</a> <a href="/private/staff">Staff</a> <a href="/loop-a">Loop</a> <a href="/leak">Leak</a>') });
  pages.set('/pricing', { body: html('Pricing', '<h1>Pricing</h1><h2>Service plans</h2><p>A full service costs 45 pounds; a puncture repair costs 8 pounds.</p>') });
  pages.set('/private/staff', { body: html('Staff only', '<p>The staff door code is 4471.</p>') });
  pages.set('/loop-a', { status: 302, location: '/loop-b' });
  pages.set('/loop-b', { status: 302, location: '/loop-a' });
  pages.set('/leak', { status: 302, location: 'http://10.0.0.1/admin' });
  return {
    url, journal,
    set: (path, p) => void (p ? pages.set(path, p) : pages.delete(path)),
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
