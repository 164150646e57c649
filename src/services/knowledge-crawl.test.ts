import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crawl, sitemapLocs } from './knowledge-crawl.js';
import { chunkText, headingOf } from './knowledge-text.js';
import { safeFetcher } from '../infra/safe-fetch.js';
import { startKnowledgeSite, type KnowledgeSite } from '../../test/fakes/knowledge-site.js';

// Only the test site's own address is allowed: everything else private is refused, as in production.
const fetcher = safeFetcher({ allowAddress: (a, cls) => a === '127.0.0.1' || cls === 'public' });

describe('knowledge crawl', () => {
  let site: KnowledgeSite;
  let linksOnly: KnowledgeSite;
  beforeAll(async () => { site = await startKnowledgeSite(); linksOnly = await startKnowledgeSite({ sitemap: false }); });
  afterAll(async () => { await site.close(); await linksOnly.close(); });

  it('reads a site from its sitemap index, obeys robots.txt, survives a redirect loop and stays on the site', async () => {
    const r = await crawl(fetcher, site.url, 'site', { maxPages: 50, delayMs: 0 });
    expect(r.via).toBe('sitemap');
    expect(r.pages.map((p) => new URL(p.url).pathname).sort()).toEqual(['/', '/pricing']);
    expect(r.skipped).toEqual(expect.arrayContaining([
      { url: `${site.url}/private/staff`, reason: 'disallowed by robots.txt' },
      expect.objectContaining({ url: `${site.url}/loop-a`, reason: expect.stringMatching(/redirect/i) }),
    ]));
    expect(site.journal).not.toContain('/private/staff');
    expect(JSON.stringify(r)).not.toContain('elsewhere.example');
    expect(r.pages.find((p) => p.url.endsWith('/pricing'))!.text).toContain('45 pounds');
  });

  it('without a sitemap follows same-site links, and refuses a redirect to a private address', async () => {
    const r = await crawl(fetcher, linksOnly.url, 'site', { maxPages: 50, delayMs: 0 });
    expect(r.via).toBe('links');
    expect(r.pages.map((p) => new URL(p.url).pathname).sort()).toEqual(['/', '/pricing']);
    const leak = r.skipped.find((s) => s.url.endsWith('/leak'));
    expect(leak?.reason).toMatch(/10\.0\.0\.1.*private|private/i);
    expect(r.skipped.find((s) => s.url.endsWith('/private/staff'))?.reason).toBe('disallowed by robots.txt');
  });

  it('stops at the page limit', async () => {
    const r = await crawl(fetcher, site.url, 'site', { maxPages: 1, delayMs: 0 });
    expect(r.pages).toHaveLength(1);
    expect(r.skipped.some((s) => /page limit/.test(s.reason))).toBe(true);
  });

  it('reads a hostile sitemap in linear time, and takes no more of it than it can crawl', async () => {
    // `<loc>` and a run of spaces: the pattern this replaced backtracked in time polynomial in the run
    // (200 spaces took 6 s, 400 about three minutes, 5,000 longer than anyone would wait).
    const hostile = await startKnowledgeSite();
    try {
      const pages = Array.from({ length: 5000 }, (_, i) => `<url><loc>${hostile.url}/p${i}</loc></url>`).join('');
      hostile.set('/sitemap-pages.xml', { type: 'application/xml', body: `<urlset><url><loc>${' '.repeat(5000)}x</url>${pages}<loc>${' \t'.repeat(50_000)}` });
      const r = await crawl(fetcher, hostile.url, 'site', { maxPages: 3, delayMs: 0 });
      expect(r.via).toBe('sitemap');
      expect(r.pages.length + r.skipped.filter((s) => s.reason === 'HTTP 404').length).toBe(3);
    } finally { await hostile.close(); }
  });

  it('refuses a private start address', async () => {
    const r = await crawl(safeFetcher(), site.url, 'url', { maxPages: 1, delayMs: 0 });
    expect(r.pages).toEqual([]);
    expect(r.skipped[0]!.reason).toMatch(/loopback|public addresses/);
  });
});

describe('sitemapLocs', () => {
  it('reads plain, spaced, CDATA and escaped locations in order, up to the limit', () => {
    const xml = `<urlset><url><loc>https://a.example/1</loc></url><url><LOC>
      https://a.example/2 </LOC></url><url><loc><![CDATA[ https://a.example/3?x=1&y=2 ]]></loc></url>
      <url><loc>https://a.example/4?x=1&amp;y=2</loc></url><url><loc></loc></url><url><loc>https://a.example/never-closed`;
    expect(sitemapLocs(xml, 100)).toEqual(['https://a.example/1', 'https://a.example/2', 'https://a.example/3?x=1&y=2', 'https://a.example/4?x=1&y=2']);
    expect(sitemapLocs(xml, 2)).toEqual(['https://a.example/1', 'https://a.example/2']);
  });
});

describe('chunkText', () => {
  it('keeps the heading path and the page of a PDF', () => {
    const chunks = chunkText('# Guide\nintro\n## Install\nrun it\f## Use\nclick', { title: 'Doc', url: null });
    expect(chunks).toEqual([
      { title: 'Doc', heading: 'Guide', url: null, page: 1, text: 'intro' },
      { title: 'Doc', heading: 'Guide › Install', url: null, page: 1, text: 'run it' },
      { title: 'Doc', heading: 'Guide › Use', url: null, page: 2, text: 'click' },
    ]);
  });
  it('reads headings as before, by hand', () => {
    expect(headingOf('# Title')).toEqual({ level: 1, title: 'Title' });
    expect(headingOf('###   Spaced   ##  ')).toEqual({ level: 3, title: 'Spaced' });
    expect(headingOf('## a # b #')).toEqual({ level: 2, title: 'a # b' });
    expect(headingOf('###### Six')).toEqual({ level: 6, title: 'Six' });
    expect(headingOf('# #')).toEqual({ level: 1, title: '' });
    for (const no of ['####### Seven', '#NoSpace', 'Text # not', '', '#']) expect(headingOf(no)).toBeUndefined();
  });

  it('reads a hostile line in linear time', () => {
    // The heading pattern this replaced backtracked in time polynomial in a run of tabs: 2,000 took 3 s.
    const line = `# ${'\t'.repeat(100_000)}\0${'\t'.repeat(100_000)}\t\0`;
    const chunks = chunkText(`${line}\nbody`, { title: 'T', url: null });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text).toBe('body');
  });

  it('splits long text into bounded chunks', () => {
    const chunks = chunkText('word '.repeat(2000), { title: 'T', url: 'https://x.example/' });
    expect(chunks.length).toBeGreaterThan(5);
    expect(Math.max(...chunks.map((c) => c.text.length))).toBeLessThanOrEqual(1200);
  });
});
