/**
 * The isolation matrix: every route that takes an agent, conversation, summary, approval or person
 * id answers 404 to a customer who does not own it — taken from the OpenAPI document, so a new
 * route cannot slip through untested — and nothing of the other customer changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/** A valid body (and query) for routes that need one, so validation cannot answer before the lookup. */
const BODIES: Record<string, { body?: unknown; query?: string }> = {
  'patch /api/agents/{id}': { body: { description: 'hijacked' } },
  'post /api/agents/{id}/message': { body: { text: 'hello', userId: 'intruder' } },
  'patch /api/agents/{id}/config': { body: { soul: 'hijacked' } },
  'get /api/agents/{id}/file': { query: '?path=MEMORY.md' },
  'put /api/agents/{id}/file': { body: { content: 'hijacked' }, query: '?path=MEMORY.md' },
  'delete /api/agents/{id}/file': { query: '?path=MEMORY.md' },
  'post /api/agents/{id}/duplicate': { body: {} },
  'post /api/agents/{id}/retry': { body: {} },
};

describe('isolation between customers', () => {
  let app: TestApp;
  let owner: string;
  const as: Record<'a' | 'b', { id: string; token: string }> = {} as never;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    app = await startTestApp();
    owner = await app.owner();
    for (const who of ['a', 'b'] as const) {
      const u = await app.api('/api/users', { token: owner, body: { email: `${who}@example.com`, password: 'correct horse battery', role: 'customer' } });
      const t = (await app.api('/api/auth/login', { body: { email: `${who}@example.com`, password: 'correct horse battery' } })).body.token;
      as[who] = { id: u.body.id, token: t };
    }
    // Customer A's world: an agent with a conversation, a summary, a workspace file, a held approval.
    const agent = (await app.api('/api/agents', { token: as.a.token, body: { name: 'A Agent' } })).body;
    ids.agent = agent.id;
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token: as.a.token, body: { tools: { allow: ['group:fs', 'group:memory'], deny: [], requireApproval: ['write'] } } });
    await app.api(`/api/agents/${agent.id}/file?path=MEMORY.md`, { method: 'PUT', token: as.a.token, body: { content: 'A private memory' } });
    app.fake.enqueue({ kind: 'tool_calls', calls: [{ name: 'write', arguments: '{"path":"x.md","content":"y"}' }] });
    const chat = await app.api(`/api/agents/${agent.id}/message`, { token: as.a.token, body: { text: 'a secret about a', userId: 'alice' } });
    ids.conversation = chat.body.conversationId;
    await app.api(`/api/conversations/${ids.conversation}/close`, { method: 'POST', token: as.a.token });
    await app.server.services.queue.drain();
    ids.summary = (await app.api(`/api/agents/${agent.id}/summaries`, { token: as.a.token })).body.items[0].id;
    ids.approval = (await app.api('/api/approvals', { token: as.a.token })).body.approvals[0].id;
    ids.person = (await app.api(`/api/agents/${agent.id}/people`, { token: as.a.token })).body.people[0].id;
    expect(Object.values(ids).every(Boolean)).toBe(true);
  });
  afterAll(() => app?.close());

  it('answers 404 to another customer on every route that names one of these ids', async () => {
    const doc = (await app.api('/api/openapi.json')).body;
    const params: Record<string, string> = {
      '/api/agents/{id}': ids.agent!, '/api/conversations/{id}': ids.conversation!, '/api/summaries/{id}': ids.summary!,
      '/api/approvals/{id}': ids.approval!, '/api/people/{id}': ids.person!,
    };
    const tried: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      const prefix = Object.keys(params).find((p) => path === p || path.startsWith(`${p}/`));
      if (!prefix) continue;
      for (const method of Object.keys(ops)) {
        const key = `${method} ${path}`;
        const spec = BODIES[key] ?? {};
        const url = path.replace('{id}', params[prefix]!) + (spec.query ?? '');
        const r = await app.api(url, { method: method.toUpperCase(), token: as.b.token, ...(spec.body !== undefined ? { body: spec.body } : method === 'post' ? { body: {} } : {}) });
        tried.push(`${key} → ${r.status}`);
        expect(r.status, `${key}: ${JSON.stringify(r.body)}`).toBe(404);
        expect(JSON.stringify(r.body)).not.toContain('A private memory');
        expect(JSON.stringify(r.body)).not.toContain('a secret about a');
      }
    }
    // The matrix really covered the surface.
    expect(tried.length).toBeGreaterThanOrEqual(25);
  });

  it('leaves lists, usage, analytics and billing to their owners', async () => {
    const b = as.b.token;
    expect((await app.api('/api/agents', { token: b })).body.agents).toEqual([]);
    expect((await app.api('/api/approvals', { token: b })).body.approvals).toEqual([]);
    expect((await app.api('/api/alerts', { token: b })).body.alerts).toEqual([]);
    const usage = (await app.api('/api/usage', { token: b })).body;
    expect(usage.requests).toBe(0);
    expect(usage.byAgent).toEqual([]);
    const analytics = (await app.api('/api/analytics', { token: b })).body;
    expect(analytics.totals.messages).toBe(0);
    expect((await app.api('/api/recommendations', { token: b })).body.items).toEqual([]);
    const billing = await app.api('/api/billing', { token: b });
    expect(billing.status).toBe(200);
    expect(JSON.stringify(billing.body)).not.toContain(as.a.id);
    for (const path of ['/api/customers', '/api/audit', '/api/users']) expect((await app.api(path, { token: b })).status, path).toBe(403);
    // And A's things are as A left them.
    const a = (await app.api(`/api/agents/${ids.agent}`, { token: as.a.token })).body;
    expect(a.description).not.toBe('hijacked');
    expect((await app.api(`/api/agents/${ids.agent}/file?path=MEMORY.md`, { token: as.a.token })).body.content).toBe('A private memory');
    expect((await app.api(`/api/approvals/${ids.approval}`, { token: as.a.token })).body.status).toBe('pending');
  });
});
