/**
 * web_fetch and web_search through the model's tool calls: a local site read as Markdown, the SSRF
 * guard refusing loopback, private, metadata and disguised addresses, and a SearXNG search.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { contentText, type ChatRequest } from '../fakes/openai-server.js';
import { htmlToMarkdown } from '../../src/infra/document-reader.js';

function toolModel(req: ChatRequest) {
  const last = req.messages?.at(-1);
  if (last?.role === 'tool') return `Tool said: ${contentText(last.content)}`;
  const text = contentText(last?.content);
  const m = /^CALL (\S+) (.*)$/s.exec(text);
  if (m) return { kind: 'tool_calls' as const, calls: [{ name: m[1]!, arguments: m[2]! }] };
  const site = /^What is on (\S+)\?$/.exec(text);
  if (site && req.tools?.some((t: any) => t.function?.name === 'web_fetch')) return { kind: 'tool_calls' as const, calls: [{ name: 'web_fetch', arguments: JSON.stringify({ url: site[1] }) }] };
  return `Echo: ${text}`;
}

const PAGE = `<!doctype html><html><head><title>Acme Bakery</title><meta name="generator" content="WordPress 6.5"><script>window.secret='do-not-show'</script></head>
<body><nav><a href="/">Home</a> <a href="/menu">Menu</a></nav>
<article><h1>Fresh sourdough every morning</h1><p>Acme Bakery bakes <strong>sourdough</strong>, rye and spelt loaves before dawn in Leeds.
We open at 7am, Tuesday to Sunday, and close on Mondays. Pre-orders for weddings need two weeks' notice and a deposit.</p>
<ul><li>Sourdough: £4.50</li><li>Rye: £4.00</li></ul></article><footer>© Acme</footer></body></html>`;

async function serve(handler: (path: string) => { status?: number; headers?: Record<string, string>; body?: string }) {
  const server: Server = createServer((req, res) => {
    const r = handler(req.url ?? '/');
    res.writeHead(r.status ?? 200, { 'content-type': 'text/html; charset=utf-8', ...r.headers });
    res.end(r.body ?? '');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('web tools', () => {
  let site: Awaited<ReturnType<typeof serve>>;
  let searx: Awaited<ReturnType<typeof serve>>;
  const queries: string[] = [];
  beforeAll(async () => {
    site = await serve((path) => path === '/moved' ? { status: 302, headers: { location: '/' } } : path === '/' ? { body: PAGE } : { status: 404, body: 'nope' });
    searx = await serve((path) => {
      const q = new URL(path, 'http://x').searchParams.get('q') ?? '';
      queries.push(q);
      return { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ results: [{ title: 'Sourdough basics', url: 'https://example.org/sourdough', content: `All about ${q}` }] }) };
    });
  });
  afterAll(async () => { await site?.close(); await searx?.close(); });

  it('turns a page into readable Markdown without scripts (in a worker thread)', async () => {
    const r = await htmlToMarkdown(PAGE);
    expect(r.title).toBe('Acme Bakery');
    expect(r.markdown).toContain('# Fresh sourdough every morning');
    expect(r.markdown).toContain('**sourdough**');
    expect(r.markdown).not.toContain('do-not-show');
  });

  describe('with private addresses allowed (an intranet install, and this test)', () => {
    let app: TestApp;
    let token: string;
    beforeAll(async () => {
      app = await startTestApp({ env: { SWITCHBOARD_ALLOW_PRIVATE_URLS: 'true', SWITCHBOARD_SEARCH_PROVIDER: 'searxng', SEARXNG_URL: searx.url } });
      app.fake.setDefault(toolModel);
      token = await app.owner();
    });
    afterAll(() => app?.close());

    it('lets the website product manager read the site through web_fetch and answer from it', async () => {
      const agent = (await app.api('/api/agents', { token, body: { name: 'Acme PM', template: 'website-product-manager', templateVars: { site_url: site.url, customer_name: 'Ada' } } })).body;
      expect(agent.id, JSON.stringify(agent)).toBeTruthy();
      await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { tools: { allow: ['group:web', 'group:memory'], deny: [] } } });
      const shown = (await app.api(`/api/agents/${agent.id}`, { token })).body.tools;
      expect(shown.effective).toEqual(expect.arrayContaining(['web_fetch', 'web_search']));
      const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: `What is on ${site.url}/moved?`, userId: 'ada' } });
      expect(r.status).toBe(200);
      expect(r.body.reply).toContain('Fresh sourdough every morning');
      expect(r.body.reply).toContain('close on Mondays');
      expect(r.body.reply).toContain(`Redirected from: ${site.url}/moved`);
      expect(r.body.reply).not.toContain('do-not-show');
      const search = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'CALL web_search {"query":"rye bread"}', userId: 'ada' } });
      expect(search.body.reply).toContain('Sourdough basics');
      expect(search.body.reply).toContain('https://example.org/sourdough');
      expect(queries).toContain('rye bread');
    });
  });

  describe('by default (public addresses only)', () => {
    let app: TestApp;
    let token: string;
    let agent: { id: string };
    beforeAll(async () => {
      app = await startTestApp();
      app.fake.setDefault(toolModel);
      token = await app.owner();
      agent = (await app.api('/api/agents', { token, body: { name: 'Fetcher', tools: undefined } })).body;
      await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { tools: { allow: ['group:web'], deny: [] } } });
    });
    afterAll(() => app?.close());

    it('offers no web_search without a provider, and says why', async () => {
      const tools = (await app.api(`/api/agents/${agent.id}`, { token })).body.tools;
      expect(tools.effective).toEqual(['web_fetch']);
      expect(tools.unavailable[0]).toMatchObject({ name: 'web_search' });
      expect(tools.unavailable[0].reason).toMatch(/no search provider/);
    });

    it('refuses loopback, private, metadata and disguised addresses', async () => {
      const port = new URL(site.url).port;
      for (const url of [
        site.url, `http://localhost:${port}/`, `http://[::1]:${port}/`, 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/',
        'http://192.168.1.1/', `http://2130706433:${port}/`, `http://0177.0.0.1:${port}/`, `http://0x7f.1:${port}/`, `http://[::ffff:127.0.0.1]:${port}/`,
        'file:///etc/passwd', 'ftp://example.com/', 'http://user:pw@example.com/',
      ]) {
        const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: `CALL web_fetch ${JSON.stringify({ url })}`, userId: 'ssrf' } });
        expect(r.body.reply, url).toMatch(/^Tool said: Error: /);
        expect(r.body.reply, url).not.toContain('sourdough');
      }
    });
  });
});
