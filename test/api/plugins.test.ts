/**
 * HTTP plugins: defined in an agent's configuration, checked before they are saved, offered to the
 * model as tools, called with their secrets (which the API never shows), and held to the SSRF rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { contentText, type ChatRequest } from '../fakes/openai-server.js';
import { startFakeWebsite, type FakeWebsite } from '../fakes/website-server.js';

function toolModel(req: ChatRequest) {
  const last = req.messages?.at(-1);
  if (last?.role === 'tool') return `Tool said: ${contentText(last.content)}`;
  const m = /^CALL (\S+) (.*)$/s.exec(contentText(last?.content));
  if (m) return { kind: 'tool_calls' as const, calls: [{ name: m[1]!, arguments: m[2]! }] };
  return `Echo: ${contentText(last?.content)}`;
}

describe('HTTP plugins', () => {
  let api: { url: string; hits: { method: string; url: string; headers: Record<string, unknown>; body: string }[]; close(): Promise<void> };
  let app: TestApp;
  let strict: TestApp;
  let token: string;
  let agent: { id: string };

  const weather = () => ({
    name: 'get_weather', description: 'Current weather for a city.',
    parameters: { type: 'object', properties: { city: { type: 'string', description: 'City name' }, units: { type: 'string', enum: ['metric', 'imperial'] } }, required: ['city'] },
    method: 'POST', url: `${api.url}/weather/{city}?units={units}`, headers: { Authorization: 'Bearer {{secret:API_KEY}}' },
    body: '{"city": {city}, "source": "switchboard"}', responsePath: 'data.summary', secrets: { API_KEY: 'sk-plugin-secret-1' },
  });

  beforeAll(async () => {
    const hits: { method: string; url: string; headers: Record<string, unknown>; body: string }[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        hits.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.headers.authorization !== 'Bearer sk-plugin-secret-1') { res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad key"}'); return; }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { summary: `Sunny in ${decodeURIComponent(req.url!.split('/')[2]!.split('?')[0]!)}, 21°C` } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    api = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
    app = await startTestApp({ env: { SWITCHBOARD_ALLOW_PRIVATE_URLS: 'true' } });
    app.fake.setDefault(toolModel);
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Weather' } })).body;
  });
  afterAll(async () => { await app?.close(); await strict?.close(); await api?.close(); });

  it('saves a plugin, never shows its secret, and offers it when allowed', async () => {
    const r = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { plugins: [weather()], tools: { allow: ['group:plugins', 'group:memory'], deny: [] } } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.plugins[0]).toMatchObject({ name: 'get_weather', secrets: ['API_KEY'] });
    expect(JSON.stringify(r.body)).not.toContain('sk-plugin-secret-1');
    expect(r.body.tools.effective).toContain('get_weather');
    // Saving again without secrets keeps the stored one.
    const { secrets: _s, ...noSecrets } = weather();
    const again = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { plugins: [noSecrets] } });
    expect(again.body.plugins[0].secrets).toEqual(['API_KEY']);
  });

  it('calls the API with the filled templates and the secret, and returns the chosen field', async () => {
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'CALL get_weather {"city":"São Paulo","units":"metric"}', userId: 'w' } });
    expect(r.body.reply).toBe('Tool said: "Sunny in São Paulo, 21°C"');
    const hit = api.hits.at(-1)!;
    expect(hit.method).toBe('POST');
    expect(hit.url).toBe('/weather/S%C3%A3o%20Paulo?units=metric');
    expect(JSON.parse(hit.body)).toEqual({ city: 'São Paulo', source: 'switchboard' });
    const conv = (await app.api(`/api/conversations/${r.body.conversationId}`, { token })).body;
    expect(conv.toolCalls.at(-1)).toMatchObject({ tool: 'get_weather', outcome: 'ok', args: { city: 'São Paulo', units: 'metric' } });
    expect(JSON.stringify(conv)).not.toContain('sk-plugin-secret-1');
  });

  it('refuses bad plugins at save, naming the field', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ url: `${api.url}/weather/{town}` }, 'plugins.0.url', /\{town\}/],
      [{ headers: { Authorization: 'Bearer {{secret:MISSING}}' }, secrets: {} }, 'plugins.0.headers.Authorization', /MISSING/],
      [{ parameters: { type: 'object', properties: { city: { type: 'nonsense' } } } }, 'plugins.0.parameters', /JSON Schema/],
      [{ name: 'exec' }, 'plugins.0.name', /built-in/],
      [{ url: 'file:///etc/passwd' }, 'plugins.0.url', /http/],
    ];
    for (const [patch, path, message] of cases) {
      const r = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { plugins: [{ ...weather(), ...patch }] } });
      expect(r.status, path).toBe(400);
      const f = r.body.error.fields.find((x: any) => x.path === path);
      expect(f, JSON.stringify(r.body.error.fields)).toBeDefined();
      expect(f.message).toMatch(message);
    }
    // Nothing half-written: the saved plugin is unchanged.
    expect((await app.api(`/api/agents/${agent.id}`, { token })).body.plugins[0].url).toBe(weather().url);
  });

  it('holds plugins to the SSRF rules of the installation', async () => {
    strict = await startTestApp();
    const t = await strict.owner();
    const a = (await strict.api('/api/agents', { token: t, body: { name: 'Strict' } })).body;
    const r = await strict.api(`/api/agents/${a.id}`, { method: 'PATCH', token: t, body: { plugins: [weather()] } });
    expect(r.status).toBe(400);
    expect(r.body.error.fields[0]).toMatchObject({ path: 'plugins.0.url' });
    expect(r.body.error.fields[0].message).toMatch(/127\.0\.0\.1|loopback/);
  });

  describe('what the model supplies never chooses a secret or a host', () => {
    let site: FakeWebsite;
    beforeAll(async () => {
      site = await startFakeWebsite();
      site.page('/search', { headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
    });
    afterAll(async () => { await site?.close(); });

    it('sends a parameter that looks like a secret reference as that text, never as the secret', async () => {
      const search = {
        name: 'search', description: 'Search.', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
        method: 'GET', url: `${site.url}/search?q={q}`, headers: { 'X-Query': '{q}', Authorization: 'Bearer {{secret:API_KEY}}' },
        body: null, responsePath: null, secrets: { API_KEY: 'sk-search-secret-9' },
      };
      const saved = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { plugins: [search], tools: { allow: ['group:plugins'], deny: [] } } });
      expect(saved.status, JSON.stringify(saved.body)).toBe(200);
      const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'CALL search {"q":"{{secret:API_KEY}}"}', userId: 'attacker' } });
      expect(r.status).toBe(200);
      const hit = site.journal.filter((j) => j.path === '/search').at(-1)!;
      expect(hit.headers['x-query']).toBe('{{secret:API_KEY}}');
      expect(hit.headers.authorization).toBe('Bearer sk-search-secret-9'); // the operator's own reference still works
      expect(JSON.stringify(site.journal.map((j) => j.headers['x-query']))).not.toContain('sk-search-secret-9');
    });

    it('refuses a URL whose scheme or host is a placeholder, as written', async () => {
      for (const url of [`http://{host}.127.0.0.1.nip.io/x`, `http://127.0.0.1:{port}/x`, `{scheme}://127.0.0.1/x`, `http://{host}/x`]) {
        const plugin = { ...weather(), url, parameters: { type: 'object', properties: { host: { type: 'string' }, port: { type: 'string' }, scheme: { type: 'string' }, city: { type: 'string' } } } };
        const r = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { plugins: [plugin] } });
        expect(r.status, url).toBe(400);
        expect(r.body.error.fields.find((f: any) => f.path === 'plugins.0.url')?.message, url).toMatch(/scheme and host name may not contain placeholders/);
      }
    });
  });
});
