import { describe, expect, it } from 'vitest';
import { attrOf, describeStack, detectStack, tagsOf, textOf, titleOf } from './site-check.js';
import { seoFindings } from './site-watch.js';

describe('detectStack', () => {
  it('reads a WordPress generator tag, the title and the CDN', () => {
    const html = `<!doctype html><html><head><title>Mark &amp; Co — Bikes</title>
      <meta content="WordPress 6.4.2" name="generator"><link rel="stylesheet" href="/wp-content/themes/x/style.css"></head></html>`;
    const s = detectStack({ server: 'cloudflare', 'cf-ray': '8a1b-LHR', 'x-powered-by': 'PHP/8.2.12' }, html);
    expect(s).toEqual({ generator: 'WordPress 6.4.2', frameworks: ['PHP'], host: 'Cloudflare', server: 'cloudflare', title: 'Mark & Co — Bikes' });
    expect(describeStack(s)).toBe('WordPress 6.4.2 (PHP), hosted on Cloudflare');
  });

  it('recognises WordPress without a generator tag', () => {
    expect(detectStack({}, '<script src="/wp-includes/js/jquery/jquery.min.js"></script>').generator).toBe('WordPress');
  });

  it.each([
    ['Next.js on Vercel', { 'x-vercel-id': 'lhr1::abc', server: 'Vercel', 'x-powered-by': 'Next.js' }, '<script id="__NEXT_DATA__" type="application/json">{}</script>', { frameworks: ['Next.js', 'React'], host: 'Vercel' }],
    ['Nuxt on Netlify', { 'x-nf-request-id': '01H', server: 'Netlify' }, '<script>window.__NUXT__={}</script>', { frameworks: ['Nuxt', 'Vue'], host: 'Netlify' }],
    ['Gatsby', {}, '<div id="___gatsby"></div><meta name="generator" content="Gatsby 5.12.0">', { generator: 'Gatsby 5.12.0', frameworks: ['Gatsby', 'React'] }],
    ['Astro', {}, '<meta name="generator" content="Astro v4.0.3"><astro-island uid="x"></astro-island>', { generator: 'Astro v4.0.3', frameworks: ['Astro'] }],
    ['SvelteKit', {}, '<body data-sveltekit-preload-data="hover"><script>__sveltekit_abc = {}</script>', { frameworks: ['SvelteKit'] }],
    ['Angular', {}, '<app-root ng-version="17.0.1"></app-root>', { frameworks: ['Angular'] }],
    ['Vue', {}, '<div data-v-1a2b3c4d class="x"></div>', { frameworks: ['Vue'] }],
    ['React', {}, '<div id="root" data-reactroot=""></div>', { frameworks: ['React'] }],
    ['Hugo on GitHub Pages', { server: 'GitHub.com', 'x-github-request-id': 'AB:CD' }, "<meta name='generator' content='Hugo 0.121.1'>", { generator: 'Hugo 0.121.1', host: 'GitHub Pages' }],
    ['Jekyll', {}, '<meta name="generator" content="Jekyll v4.3.2" />', { generator: 'Jekyll v4.3.2' }],
    ['Ghost', {}, '<meta name="generator" content="Ghost 5.75">', { generator: 'Ghost 5.75' }],
    ['Drupal', { 'x-generator': 'Drupal 10 (https://www.drupal.org)' }, '', { generator: 'Drupal 10 (https://www.drupal.org)' }],
    ['Joomla', {}, '<meta name="generator" content="Joomla! - Open Source Content Management">', { generator: 'Joomla! - Open Source Content Management' }],
    ['Shopify', { 'x-shopify-stage': 'production', server: 'cloudflare', 'cf-ray': 'x' }, '<link href="//cdn.shopify.com/s/files/1/theme.css">', { generator: 'Shopify', host: 'Shopify' }],
    ['Wix', { 'x-wix-request-id': '1' }, '<meta name="generator" content="Wix.com Website Builder">', { generator: 'Wix.com Website Builder', host: 'Wix' }],
    ['Squarespace', { server: 'Squarespace' }, '<script src="https://static1.squarespace.com/static/x.js"></script>', { generator: 'Squarespace', host: 'Squarespace' }],
    ['Webflow', {}, '<html data-wf-page="64ab" data-wf-site="64aa">', { generator: 'Webflow' }],
  ])('%s', (_name, headers, html, expected) => {
    expect(detectStack(headers as Record<string, string>, html)).toMatchObject(expected);
  });

  it('says so when nothing is detected', () => {
    const s = detectStack({}, '<p>hello</p>');
    expect(s).toEqual({ generator: null, frameworks: [], host: null, server: null, title: null });
    expect(describeStack(s)).toMatch(/not detected/);
  });
});

describe('reading a hostile page', () => {
  // Each of these held the event loop for minutes to hours with the patterns they replaced
  // (`<[^>]*>`, `<meta\b([^>]*)>`, `<title…>([\s\S]*?)</title>`: quadratic in the page's length).
  const size = 2 * 1024 * 1024;
  const pages = {
    'only <': '<'.repeat(size),
    'unclosed <a': '<a '.repeat(size / 3),
    'unclosed <meta': '<meta '.repeat(size / 6),
    'titles never closed': '<title>'.repeat(size / 7),
    'one attribute name': `<meta ${'a'.repeat(size)}>`,
  };

  it.each(Object.entries(pages))('reads %s without backtracking', (_name, html) => {
    expect(detectStack({}, html).title).toBeNull();
    expect(Array.isArray(seoFindings(html, 'https://example.com/'))).toBe(true);
    expect(typeof textOf(html)).toBe('string');
    expect(tagsOf(html, 'a').length).toBeLessThanOrEqual(size);
  });

  it('still reads an ordinary page as before', () => {
    const html = `<html lang="en"><head><title class="t">A &amp; B</title ><meta property="og:title" content="x">
      <meta name="description" content='Fifty characters or so of a description, for the snippet.'></head>
      <body><h1>Hi</h1><a data-href="/no" href="/yes">y</a><img src="a.png"></body></html>`;
    expect(titleOf(html)).toBe('A &amp; B');
    expect(detectStack({}, html).title).toBe('A & B');
    expect(tagsOf(html, 'a').map((t) => attrOf(t, 'href'))).toEqual(['/yes']);
    expect(attrOf('<img src=a.png alt>', 'alt')).toBeUndefined();
    expect(attrOf('<img src=a.png alt="">', 'alt')).toBe('');
    expect(textOf('<p>one</p>\n<p>two &lt; three</p>')).toBe('one two &lt; three');
    const ids = seoFindings(html, 'https://example.com/').map((f) => f.id);
    expect(ids).toContain('img-alt');
    expect(ids).toContain('open-graph');
    expect(ids).not.toContain('description-missing');
    expect(ids).not.toContain('lang-missing');
    expect(ids).not.toContain('h1-missing');
  });
});
