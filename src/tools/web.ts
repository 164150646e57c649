/**
 * web_fetch and web_search. Fetching goes through the same SSRF guard as the site check (every
 * address vetted, every redirect hop re-checked, the socket pinned to the vetted address); pages are
 * turned into readable Markdown with Mozilla's Readability and turndown, in a worker thread. Search goes to one
 * configured provider (SearXNG, Brave or Tavily); with none, the tool is not offered.
 */
import { z } from 'zod';
import type { ModelTool } from '../domain/ports.js';
import { FetchRefused, type SafeFetcher } from '../domain/fetcher.js';
import type { ToolProvider } from './toolbox.js';
import { PAGE_READER_LIMITS, readDocument } from '../infra/document-reader.js';

const TEXT_LIMIT = 20_000;

export function webFetchProvider(deps: { fetcher: SafeFetcher; timeoutMs?: number; maxBytes?: number }): ToolProvider {
  return {
    names: ['web_fetch'],
    build() {
      const tool: ModelTool<z.ZodObject<{ url: z.ZodString }>> = {
        name: 'web_fetch',
        description: 'Fetch a public web page (http or https) and read it as text. Private and internal addresses are refused.',
        input: z.object({ url: z.string().min(1).max(2000).describe('The full URL, e.g. https://example.com/about') }),
        async execute({ url }) {
          try {
            const r = await deps.fetcher.fetch(url, { timeoutMs: deps.timeoutMs ?? 10_000, maxBytes: deps.maxBytes ?? 2 * 1024 * 1024 });
            const type = (r.headers['content-type'] ?? '').toLowerCase();
            const head = `URL: ${r.url}\nStatus: ${r.status} ${r.statusText}${r.hops.length > 1 ? `\nRedirected from: ${r.hops[0]}` : ''}`;
            let text: string;
            if (type.includes('html') || /^\s*</.test(r.body)) {
              // In a worker thread (infra/document-reader.ts): a hostile page cannot hold the event loop.
              const page = await readDocument({ kind: 'html', html: r.body }, PAGE_READER_LIMITS);
              text = `${page.title ? `Title: ${page.title}\n` : ''}\n${page.markdown}`;
            } else if (type.startsWith('text/') || type.includes('json') || type.includes('xml') || type === '') {
              text = r.body;
            } else {
              return `${head}\nError: the page is ${type}, not text; it was not read.`;
            }
            const cut = text.length > TEXT_LIMIT;
            return `${head}\n${cut ? `(the first ${TEXT_LIMIT} characters)\n` : ''}${cut ? text.slice(0, TEXT_LIMIT) : text}${r.truncated ? '\n(the page was larger than the download limit)' : ''}`;
          } catch (err) {
            if (err instanceof FetchRefused) return `Error: ${err.message}`;
            return `Error: the page could not be fetched: ${(err as Error).message}`;
          }
        },
      };
      return [tool as unknown as ModelTool];
    },
  };
}

export type SearchHit = { title: string; url: string; snippet: string };
export type SearchConfig =
  | { provider: 'searxng'; url: string }
  | { provider: 'brave'; apiKey: string; url: string }
  | { provider: 'tavily'; apiKey: string; url: string };

/** One search through the configured provider; throws with the provider's reason. */
export async function search(cfg: SearchConfig, query: string, count = 5): Promise<SearchHit[]> {
  const signal = AbortSignal.timeout(10_000);
  const fail = async (res: Response) => { throw new Error(`${cfg.provider} answered ${res.status}${res.status === 429 ? ' (rate limited; try again later)' : ''}`); };
  if (cfg.provider === 'searxng') {
    const u = new URL('search', cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`);
    u.searchParams.set('q', query);
    u.searchParams.set('format', 'json');
    const res = await fetch(u, { signal, headers: { accept: 'application/json' } });
    if (!res.ok) await fail(res);
    const body = (await res.json()) as { results?: { title?: string; url?: string; content?: string }[] };
    return (body.results ?? []).slice(0, count).map((r) => ({ title: r.title ?? '', url: r.url ?? '', snippet: r.content ?? '' }));
  }
  if (cfg.provider === 'brave') {
    const u = new URL('res/v1/web/search', cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`);
    u.searchParams.set('q', query);
    u.searchParams.set('count', String(count));
    const res = await fetch(u, { signal, headers: { accept: 'application/json', 'x-subscription-token': cfg.apiKey } });
    if (!res.ok) await fail(res);
    const body = (await res.json()) as { web?: { results?: { title?: string; url?: string; description?: string }[] } };
    return (body.web?.results ?? []).slice(0, count).map((r) => ({ title: r.title ?? '', url: r.url ?? '', snippet: (r.description ?? '').replace(/<[^<>]+>/g, '') }));
  }
  const res = await fetch(new URL('search', cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`), {
    method: 'POST', signal, headers: { 'content-type': 'application/json', authorization: `Bearer ${cfg.apiKey}` },
    body: JSON.stringify({ query, max_results: count }),
  });
  if (!res.ok) await fail(res);
  const body = (await res.json()) as { results?: { title?: string; url?: string; content?: string }[] };
  return (body.results ?? []).slice(0, count).map((r) => ({ title: r.title ?? '', url: r.url ?? '', snippet: r.content ?? '' }));
}

export function webSearchProvider(cfg: SearchConfig | undefined): ToolProvider {
  return {
    names: ['web_search'],
    unavailable: () => (cfg ? undefined : 'no search provider is configured (set SWITCHBOARD_SEARCH_PROVIDER: searxng, brave or tavily)'),
    build() {
      if (!cfg) return [];
      const tool: ModelTool<z.ZodObject<{ query: z.ZodString }>> = {
        name: 'web_search',
        description: 'Search the web. Returns titles, links and snippets; use web_fetch to read a result.',
        input: z.object({ query: z.string().min(1).max(400) }),
        async execute({ query }) {
          try {
            const hits = await search(cfg, query);
            if (!hits.length) return `No results for "${query}".`;
            return hits.map((h, i) => `${i + 1}. ${h.title}\n   ${h.url}\n   ${h.snippet.replace(/\s+/g, ' ').slice(0, 300)}`).join('\n');
          } catch (err) {
            return `Error: the search failed: ${(err as Error).message}`;
          }
        },
      };
      return [tool as unknown as ModelTool];
    },
  };
}
