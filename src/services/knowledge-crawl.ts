/**
 * Reading a web page or a whole website for an agent's knowledge (issue 18). Every request goes through
 * the SSRF guard (SafeFetcher: private addresses refused, every redirect hop vetted, redirects bounded —
 * a redirect loop ends as a skipped page). A site is read from its sitemap (robots.txt's `Sitemap:` lines,
 * else /sitemap.xml; sitemap indexes followed, bounded) or, with no sitemap, by following same-site links
 * from the start URL; only the start URL's origin is read, robots.txt is obeyed for our user agent, at
 * most `maxPages` pages, a few at a time with a delay between requests (the site's Crawl-delay if longer).
 */
import type { SafeFetcher } from '../domain/fetcher.js';
import { FetchRefused } from '../domain/fetcher.js';
import { PAGE_READER_LIMITS, readDocument, readRobotsOrNothing, ROBOTS_MAX_BYTES } from '../infra/document-reader.js';

export const CRAWLER_AGENT = 'SwitchboardBot';
const USER_AGENT = `Mozilla/5.0 (compatible; ${CRAWLER_AGENT}/1.0; knowledge sync)`;

export type CrawledPage = { url: string; title: string; text: string };
export type CrawlResult = { pages: CrawledPage[]; skipped: { url: string; reason: string }[]; via: 'sitemap' | 'links' | 'page' };
export type CrawlOptions = { maxPages: number; concurrency?: number; delayMs?: number; timeoutMs?: number; maxBytes?: number; sleep?: (ms: number) => Promise<void> };

/** The URL without its fragment, and without a trailing slash on a non-root path (one page, one key). */
export function normalizeUrl(raw: string, base?: string): string | undefined {
  let u: URL;
  try { u = new URL(raw, base); } catch { return undefined; }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  u.hash = '';
  if (u.pathname.length > 1 && u.pathname.endsWith('/')) u.pathname = u.pathname.slice(0, -1);
  return u.toString();
}

const isHtml = (type: string) => /text\/html|application\/xhtml/i.test(type);
const isText = (type: string) => /^text\/(plain|markdown)/i.test(type);

/**
 * The `<loc>` values of a sitemap, in order, at most `max`. Found by searching for the tags, not by one
 * pattern over the whole text: a sitemap is someone else's text, and the pattern this replaces
 * (`<loc>\s*(?:<!\[CDATA\[)?\s*([^<\]]+?)\s*…`) backtracked in time polynomial in a run of spaces, so a
 * 300-byte sitemap held the event loop for a minute.
 */
export function sitemapLocs(xml: string, max: number): string[] {
  const out: string[] = [];
  const open = /<loc>/gi;
  const close = /<\/loc>/gi;
  while (out.length < max && open.exec(xml)) {
    close.lastIndex = open.lastIndex;
    const end = close.exec(xml);
    if (!end) break;
    let v = xml.slice(open.lastIndex, end.index).trim();
    if (v.startsWith('<![CDATA[') && v.endsWith(']]>')) v = v.slice(9, -3).trim();
    if (v) out.push(v.replace(/&amp;/g, '&'));
    open.lastIndex = close.lastIndex;
  }
  return out;
}

export async function crawl(fetcher: SafeFetcher, start: string, mode: 'url' | 'site', o: CrawlOptions): Promise<CrawlResult> {
  const startUrl = normalizeUrl(start);
  if (!startUrl) throw new FetchRefused('url', 'The URL is not a valid http(s) address.');
  const origin = new URL(startUrl).origin;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const timeoutMs = o.timeoutMs ?? 15_000;
  const maxBytes = o.maxBytes ?? 2 * 1024 * 1024;
  const headers = { 'user-agent': USER_AGENT, accept: 'text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5' };
  const get = (url: string, max = maxBytes) => fetcher.fetch(url, { timeoutMs, maxBytes: max, maxRedirects: 5, headers });
  const skipped: CrawlResult['skipped'] = [];
  const reason = (err: unknown) => (err instanceof FetchRefused ? err.message : `fetch failed: ${(err as Error).message}`).slice(0, 300);

  /** One page: its readable text and the same-site links on it. */
  async function page(url: string): Promise<{ page?: CrawledPage; links: string[] }> {
    let res;
    try { res = await get(url); } catch (err) { skipped.push({ url, reason: reason(err) }); return { links: [] }; }
    if (res.status >= 400) { skipped.push({ url, reason: `HTTP ${res.status}` }); return { links: [] }; }
    const finalUrl = normalizeUrl(res.url) ?? url;
    if (new URL(finalUrl).origin !== origin && mode === 'site') { skipped.push({ url, reason: `redirected off the site to ${finalUrl}` }); return { links: [] }; }
    const type = res.headers['content-type'] ?? '';
    if (isText(type)) return { page: { url, title: new URL(url).pathname, text: res.body }, links: [] };
    if (!isHtml(type)) { skipped.push({ url, reason: `not a web page (${type.split(';')[0] || 'no content type'})` }); return { links: [] }; }
    // Parsed in a worker thread (infra/document-reader.ts): a hostile page cannot hold the event loop.
    let read;
    try { read = await readDocument({ kind: 'html', html: res.body, links: mode === 'site' }, PAGE_READER_LIMITS); } catch (err) { skipped.push({ url, reason: `could not be read: ${(err as Error).message}`.slice(0, 300) }); return { links: [] }; }
    const links: string[] = [];
    for (const href of read.hrefs ?? []) {
      const n = normalizeUrl(href, finalUrl);
      if (n && new URL(n).origin === origin) links.push(n);
    }
    return { page: { url, title: read.title ?? new URL(url).pathname, text: read.markdown }, links };
  }

  if (mode === 'url') {
    const r = await page(startUrl);
    return { pages: r.page ? [r.page] : [], skipped, via: 'page' };
  }

  // robots.txt: a missing one allows everything; an unreadable one (5xx, refused) too, but is noted.
  // It is read in a reader thread, in batches of URLs (infra/document-reader.ts); one it cannot read
  // within the page deadline allows nothing.
  const robotsUrl = `${origin}/robots.txt`;
  let robotsTxt = '';
  try {
    const r = await get(robotsUrl, ROBOTS_MAX_BYTES);
    if (r.status < 400) robotsTxt = r.body;
  } catch { /* no robots.txt: nothing disallowed */ }
  const robots = (urls: string[]) => readRobotsOrNothing(robotsUrl, robotsTxt, CRAWLER_AGENT, urls);
  const rules = await robots([]);
  const delayMs = Math.max(o.delayMs ?? 500, Math.min(10, rules.crawlDelaySeconds ?? 0) * 1000);

  // The sitemap (and sitemap indexes, at most 20 files), same-site URLs only.
  const sitemapQueue = rules.sitemaps.length ? rules.sitemaps : [`${origin}/sitemap.xml`];
  const seenMaps = new Set<string>();
  const fromSitemap: string[] = [];
  while (sitemapQueue.length && seenMaps.size < 20 && fromSitemap.length < o.maxPages * 2) {
    const map = normalizeUrl(sitemapQueue.shift()!);
    if (!map || seenMaps.has(map) || new URL(map).origin !== origin) continue;
    seenMaps.add(map);
    try {
      const r = await get(map);
      if (r.status >= 400 || !/<(urlset|sitemapindex)\b/i.test(r.body)) continue;
      if (/<sitemapindex\b/i.test(r.body)) sitemapQueue.push(...sitemapLocs(r.body, 20));
      else for (const l of sitemapLocs(r.body, 50_000)) { const n = normalizeUrl(l); if (n && new URL(n).origin === origin) fromSitemap.push(n); if (fromSitemap.length >= o.maxPages * 2) break; }
    } catch { /* an unreadable sitemap: fall back to links */ }
  }

  // What is queued stays bounded whatever the site links to (a page may hold 10,000 links): at most
  // twice the page limit waiting, and robots.txt asked about at most twenty times the page limit.
  const seen = new Set<string>();
  const queue: string[] = [];
  const enqueue = async (urls: string[]) => {
    const fresh: string[] = [];
    for (const u of urls) {
      if (seen.size >= o.maxPages * 20) break;
      if (seen.has(u)) continue;
      seen.add(u);
      fresh.push(u);
    }
    if (!fresh.length) return;
    const { allowed } = await robots(fresh);
    fresh.forEach((url, i) => {
      if (!allowed[i]) skipped.push({ url, reason: 'disallowed by robots.txt' });
      else if (queue.length < o.maxPages * 2) queue.push(url);
    });
  };
  const via = fromSitemap.length ? 'sitemap' : 'links';
  await enqueue(fromSitemap.length ? fromSitemap : [startUrl]);

  const pages: CrawledPage[] = [];
  let fetched = 0;
  const concurrency = Math.max(1, Math.min(4, o.concurrency ?? 2));
  const inFlight = new Set<Promise<void>>();
  for (;;) {
    while (queue.length && inFlight.size < concurrency && fetched < o.maxPages) {
      const url = queue.shift()!;
      fetched++;
      const tracked: Promise<void> = (async () => {
        const r = await page(url);
        if (r.page) pages.push(r.page);
        if (via === 'links') await enqueue(r.links);
        if (delayMs > 0) await sleep(delayMs); // politeness: each worker waits between its requests
      })().finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    }
    if (!inFlight.size) break;
    await Promise.race(inFlight);
  }
  for (const url of queue) skipped.push({ url, reason: `over the page limit (${o.maxPages})` });
  return { pages, skipped, via };
}
