import { describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors.js';
import { READER_LIMITS, readDocument, readerThreads, readRobots } from './document-reader.js';

const PAGE = '<html><head><title>Acme</title><meta name="robots" content="index"></head><body><h1>Bread</h1><p>Fresh <b>sourdough</b> at <a href="/hours">our hours</a>.</p><script>do-not-show()</script></body></html>';

describe('readDocument: HTML, PDF and DOCX in worker threads', () => {
  it('turns a page into Markdown with its title, and lists its links when asked', async () => {
    const r = await readDocument({ kind: 'html', html: PAGE, links: true });
    expect(r.title).toBe('Acme');
    expect(r.markdown).toContain('# Bread');
    expect(r.markdown).toContain('**sourdough**');
    expect(r.markdown).not.toContain('do-not-show');
    expect(r.hrefs).toEqual(['/hours']);
    expect((await readDocument({ kind: 'html', html: PAGE })).hrefs).toBeUndefined();
    expect((await readDocument({ kind: 'html', html: PAGE.replace('content="index"', 'content="noindex, nofollow"'), links: true })).hrefs).toBeUndefined();
  });

  it('reads a page without a <body> tag as a browser would (linkedom does not imply one)', async () => {
    expect(await readDocument({ kind: 'html', html: '<!doctype html><title>Short</title><p>Open at <b>nine</b>.</p>', links: true })).toEqual({ title: 'Short', markdown: 'Open at **nine**.', hrefs: [] });
    expect((await readDocument({ kind: 'html', html: '<p>just a fragment</p>' })).markdown).toBe('just a fragment');
  });

  it('gives up on a page past the deadline with a 413, keeps the event loop free meanwhile, and reads the next one', async () => {
    // 60,000 nested elements: turndown takes minutes over them.
    const nested = `<html><body>${'<div>'.repeat(60_000)}deep${'</div>'.repeat(60_000)}</body></html>`;
    let maxLag = 0;
    let last = performance.now();
    const probe = setInterval(() => { const now = performance.now(); maxLag = Math.max(maxLag, now - last - 5); last = now; }, 5);
    const err = await readDocument({ kind: 'html', html: nested }, { ...READER_LIMITS, timeoutMs: 1_500 }).then(() => undefined, (e: unknown) => e);
    clearInterval(probe);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(413);
    expect((err as AppError).message).toMatch(/longer than 1.5 s/);
    expect(maxLag).toBeLessThan(500);
    expect((await readDocument({ kind: 'html', html: PAGE })).title).toBe('Acme');
  });

  it('caps the text a document yields', async () => {
    const err = await readDocument({ kind: 'html', html: `<p>${'word '.repeat(2_000)}</p>` }, { ...READER_LIMITS, maxChars: 1_000 }).then(() => undefined, (e: unknown) => e);
    expect((err as AppError).status).toBe(413);
    expect((err as AppError).message).toMatch(/over 1,000 characters/);
  });

  it('runs at most atOnce threads, and answers every job in the end', async () => {
    const limits = { ...READER_LIMITS, atOnce: 2 };
    let most = 0;
    const jobs = Array.from({ length: 6 }, (_, i) => readDocument({ kind: 'html', html: PAGE.replace('Acme', `Acme ${i}`) }, limits).finally(() => { most = Math.max(most, readerThreads()); }));
    most = Math.max(most, readerThreads());
    expect((await Promise.all(jobs)).map((r) => r.title)).toEqual(['Acme 0', 'Acme 1', 'Acme 2', 'Acme 3', 'Acme 4', 'Acme 5']);
    expect(most).toBeLessThanOrEqual(2);
  });

  it('answers what robots.txt allows, its sitemaps and crawl delay, for a batch of URLs', async () => {
    const text = 'User-agent: *\nDisallow: /private\nAllow: /private/open$\nCrawl-delay: 2\nSitemap: https://a.example/map.xml\n\nUser-agent: OtherBot\nDisallow: /';
    const urls = ['https://a.example/', 'https://a.example/private/x', 'https://a.example/private/open', 'https://a.example/*/?q=%20'];
    expect(await readRobots('https://a.example/robots.txt', text, 'SwitchboardKnowledge', urls))
      .toEqual({ allowed: [true, false, true, true], sitemaps: ['https://a.example/map.xml'], crawlDelaySeconds: 2 });
    expect((await readRobots('https://a.example/robots.txt', text, 'OtherBot/1.0', urls)).allowed).toEqual([false, false, false, false]);
    expect(await readRobots('https://a.example/robots.txt', '', 'X', ['https://a.example/a'])).toEqual({ allowed: [true], sitemaps: [], crawlDelaySeconds: null });
  });

  it('matches a hostile robots.txt off the event loop, within the deadline', async () => {
    // Short wildcard rules: robots-parser compares every rule with the URL, character by character (0.35 s per URL here on the loop).
    const text = `User-agent: *\n${'Disallow: /*a*b\n'.repeat(30_000)}`;
    const urls = Array.from({ length: 400 }, (_, i) => `https://a.example/${'a'.repeat(2_000)}${i}`);
    let maxLag = 0;
    let last = performance.now();
    const probe = setInterval(() => { const now = performance.now(); maxLag = Math.max(maxLag, now - last - 5); last = now; }, 5);
    const err = await readRobots('https://a.example/robots.txt', text, 'X', urls, { ...READER_LIMITS, timeoutMs: 1_500 }).then(() => undefined, (e: unknown) => e);
    clearInterval(probe);
    expect((err as AppError).status).toBe(413);
    expect(maxLag).toBeLessThan(500);
  });
});
