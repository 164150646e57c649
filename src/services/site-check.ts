/**
 * Telling what a customer's website is built with: the site check fetches it through the SSRF-safe
 * fetcher it is given (infra/safe-fetch.ts) and reads its headers and HTML.
 */
import type { SiteStack } from '../domain/types.js';
import { FetchRefused, type FetchOptions, type SafeFetcher } from '../domain/fetcher.js';

// ---------- stack detection ----------

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—', hellip: '…', rsquo: '’', lsquo: '‘', rdquo: '”', ldquo: '“' };
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, e: string) => {
    if (e[0] === '#') {
      const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(n) && n > 0 && n < 0x110000 ? String.fromCodePoint(n) : whole;
    }
    return ENTITIES[e.toLowerCase()] ?? whole;
  });
}
const clean = (s: string, max: number) => decodeEntities(s).replace(/\s+/g, ' ').trim().slice(0, max);

// ---------- reading someone else's HTML by pattern, in linear time ----------
// A page (up to 2 MB, its author hostile) is read on the event loop, so every pattern here runs in time
// linear in its length: a tag is `<name …>` with neither `<` nor `>` inside, so a search that fails from
// one `<` stops at the next; a title's end is looked for once. The patterns they replace (`<[^>]*>`,
// `<title…>([\s\S]*?)</title>`) walked to the end of the page from every `<`: 2 MB of `<a ` held the
// event loop for over half an hour. `src/services/site-check.test.ts` runs each on such pages.

const tagPatterns = new Map<string, RegExp>();
/** The start tags named `name` (`<meta …>`), as written. */
export function tagsOf(html: string, name: string): string[] {
  let re = tagPatterns.get(name);
  if (!re) tagPatterns.set(name, (re = new RegExp(`<${name}\\b[^<>]*>`, 'gi')));
  return [...html.matchAll(re)].map((m) => m[0]);
}

const attrPatterns = new Map<string, RegExp>();
/** An attribute's value in a tag, as written (`''` for one without a value); undefined when the tag has none. */
export function attrOf(tag: string, name: string): string | undefined {
  let re = attrPatterns.get(name);
  if (!re) attrPatterns.set(name, (re = new RegExp(`(?<![\\w:-])${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s"'>]+))`, 'i')));
  const m = re.exec(tag);
  return m ? (m[1] ?? m[2] ?? m[3] ?? '') : undefined;
}

/** A page's text: tags dropped, white space collapsed. */
export const textOf = (html: string) => html.replace(/<[^<>]*>/g, ' ').replace(/\s+/g, ' ').trim();

/** The raw text between a page's first `<title>` and the `</title>` after it. */
export function titleOf(html: string): string | undefined {
  const open = /<title\b[^<>]*>/i.exec(html);
  if (!open) return undefined;
  const close = /<\/title\s*>/gi;
  close.lastIndex = open.index + open[0].length;
  const end = close.exec(html);
  return end ? html.slice(open.index + open[0].length, end.index) : undefined;
}

function metaTags(html: string): Record<string, string>[] {
  return tagsOf(html, 'meta').map((tag) => {
    const attrs: Record<string, string> = {};
    for (const a of tag.matchAll(/(?<![a-zA-Z:-])([a-zA-Z:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) attrs[a[1]!.toLowerCase()] = a[2] ?? a[3] ?? a[4] ?? '';
    return attrs;
  });
}

/** Generators that leave traces in the markup even without a generator meta tag. */
const GENERATOR_HINTS: [string, RegExp][] = [
  ['WordPress', /\/wp-(?:content|includes)\//i],
  ['Shopify', /cdn\.shopify\.com|\bShopify\.theme\b/],
  ['Wix', /static\.wixstatic\.com|\bwix-bolt\b/i],
  ['Squarespace', /static1?\.squarespace\.com|\bSquarespace\.Constants\b/i],
  ['Webflow', /\bdata-wf-(?:page|site)=|assets\.website-files\.com/i],
  ['Drupal', /\bDrupal\.settings\b|\/sites\/default\/files\/|data-drupal-/],
  ['Joomla', /\/media\/jui\/|\bJoomla!/],
  ['Ghost', /\/ghost\/api\/|\bghost-(?:portal|sdk)\b/i],
  ['Hugo', /\bgohugo\.io\b/i],
];

const FRAMEWORKS: [string, RegExp][] = [
  ['Next.js', /\b__NEXT_DATA__\b|\/_next\/static\//],
  ['Nuxt', /\b__NUXT__\b|\/_nuxt\//],
  ['Gatsby', /\b___gatsby\b|\bgatsby-(?:image|focus-wrapper)\b/],
  ['Astro', /<astro-island\b|\bdata-astro-cid-|\/_astro\//],
  ['SvelteKit', /\b__sveltekit_|\bdata-sveltekit-|\/_app\/immutable\//],
  ['Remix', /\b__remixContext\b/],
  ['React', /\bdata-reactroot\b|\breact(?:-dom)?(?:\.production)?(?:\.min)?\.js\b|\b_reactListening|\bReact\.createElement\b/],
  ['Vue', /\bdata-v-[0-9a-f]{8}\b|\bvue(?:\.global|\.runtime)?(?:\.prod)?(?:\.min)?\.js\b|\b__VUE__\b|\bdata-server-rendered="true"/],
  ['Angular', /\bng-version="|\bng-app\b|\bng-app=|_nghost-/],
  ['jQuery', /\bjquery(?:-\d[\d.]*)?(?:\.min)?\.js\b/i],
];
/** A framework that implies another (Next.js pages are React). */
const IMPLIES: Record<string, string> = { 'Next.js': 'React', Gatsby: 'React', Remix: 'React', Nuxt: 'Vue' };

/** Hosts and CDNs by a response header only they send; the first match wins, platforms before CDNs. */
const HOST_HEADERS: [string, string][] = [
  ['x-vercel-id', 'Vercel'], ['x-nf-request-id', 'Netlify'], ['x-github-request-id', 'GitHub Pages'], ['x-shopify-stage', 'Shopify'],
  ['x-wix-request-id', 'Wix'], ['x-render-origin-server', 'Render'], ['fly-request-id', 'Fly.io'], ['x-amz-cf-id', 'Amazon CloudFront'],
  ['cf-ray', 'Cloudflare'], ['x-fastly-request-id', 'Fastly'], ['x-akamai-transformed', 'Akamai'],
];
const HOST_BY_SERVER: [RegExp, string][] = [
  [/^vercel$/i, 'Vercel'], [/^netlify$/i, 'Netlify'], [/^github\.com$/i, 'GitHub Pages'], [/^cloudflare$/i, 'Cloudflare'],
  [/^AmazonS3$/i, 'Amazon S3'], [/^Google Frontend$/i, 'Google Cloud'], [/^Squarespace$/i, 'Squarespace'], [/^Pepyaka/i, 'Wix'],
];
const POWERED_BY: [RegExp, string][] = [
  [/next\.js/i, 'Next.js'], [/nuxt/i, 'Nuxt'], [/express/i, 'Express'], [/^php/i, 'PHP'], [/asp\.net/i, 'ASP.NET'], [/wp engine/i, 'WordPress'],
];

/** What a site is built with, from its response headers and the start of its HTML. */
export function detectStack(headers: Record<string, string>, html: string): SiteStack {
  const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const metas = metaTags(html);
  const generatorMeta = metas.find((m) => m.name?.toLowerCase() === 'generator' && m.content?.trim())?.content;
  let generator: string | null = generatorMeta ? clean(generatorMeta, 100) : h['x-generator'] ? clean(h['x-generator'], 100) : null;
  if (!generator) generator = GENERATOR_HINTS.find(([, re]) => re.test(html))?.[0] ?? null;
  if (!generator && h['x-shopify-stage']) generator = 'Shopify';

  const frameworks: string[] = [];
  const add = (f: string) => { if (!frameworks.includes(f)) frameworks.push(f); };
  for (const [name, re] of FRAMEWORKS) if (re.test(html)) add(name);
  if (generator && /^(gatsby|astro|next\.js|nuxt)/i.test(generator)) add(generator.split(/\s/)[0]!.replace(/^next\.js$/i, 'Next.js'));
  for (const [re, name] of POWERED_BY) {
    if (h['x-powered-by'] && re.test(h['x-powered-by'])) {
      if (name === 'WordPress') generator ??= 'WordPress';
      else add(name);
    }
  }
  for (const f of [...frameworks]) if (IMPLIES[f]) add(IMPLIES[f]!);

  const server = h.server ? clean(h.server, 100) : null;
  const host = HOST_HEADERS.find(([k]) => h[k] !== undefined)?.[1] ?? (server ? HOST_BY_SERVER.find(([re]) => re.test(server))?.[1] : undefined) ?? null;
  const t = titleOf(html);
  const title = t && clean(t, 200) ? clean(t, 200) : null;
  return { generator, frameworks, host, server, title };
}

/** One line for a persona or a status page, e.g. "WordPress 6.4 (PHP), hosted on Cloudflare, server nginx". */
export function describeStack(s: SiteStack | null): string {
  if (!s) return 'not yet detected';
  const built = [s.generator, ...s.frameworks.filter((f) => !s.generator?.toLowerCase().startsWith(f.toLowerCase()))].filter(Boolean) as string[];
  const parts: string[] = [];
  if (built.length) parts.push(built.length > 1 ? `${built[0]} (${built.slice(1).join(', ')})` : built[0]!);
  if (s.host) parts.push(`hosted on ${s.host}`);
  if (s.server && s.server.toLowerCase() !== s.host?.toLowerCase()) parts.push(`server ${s.server}`);
  return parts.length ? parts.join(', ') : 'not detected (the site does not say what it runs on)';
}

// ---------- the site check ----------

export type SiteCheckResult = { url: string; status: number; redirects: number; stack: SiteStack; note: string | null };

/**
 * Fetches a customer's website and detects its stack. Throws FetchRefused when it cannot be fetched, or
 * when it answers with an error (404, 410, 5xx); a page behind a login or bot wall (401, 403, 429) still counts
 * as reachable, with a note.
 */
export async function checkSite(fetcher: SafeFetcher, rawUrl: string, o: FetchOptions = {}): Promise<SiteCheckResult> {
  const r = await fetcher.fetch(rawUrl, o);
  if (r.status >= 500 || r.status === 404 || r.status === 410 || r.status < 200) {
    throw new FetchRefused('network', `${new URL(r.url).host} answered HTTP ${r.status}${r.statusText ? ` ${r.statusText}` : ''}.`);
  }
  const note = r.status >= 400 ? `The site answered HTTP ${r.status}, so what it runs on may be hidden.` : null;
  return { url: r.url, status: r.status, redirects: r.hops.length - 1, stack: detectStack(r.headers, r.body), note };
}
