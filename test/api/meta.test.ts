import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

describe('GET /api/meta: the limits, defaults and tool catalog the web app shows', () => {
  let app: TestApp;
  let token: string;
  beforeAll(async () => { app = await startTestApp(); token = await app.owner(); });
  afterAll(async () => { await app?.close(); });

  it('answers without a login', async () => {
    const r = await app.api('/api/meta');
    expect(r.status).toBe(200);
    expect(r.body.tools.builtin).toEqual(['read', 'write', 'edit', 'list', 'exec', 'web_fetch', 'web_search', 'memory_search', 'memory_get', 'memory_write', 'handoff', 'site_audit', 'knowledge_search']);
    expect(r.body.tools.groups['group:memory']).toEqual(['memory_search', 'memory_get', 'memory_write']);
    expect(r.body.tools.plan).toEqual(['memory', 'web_fetch', 'web_search', 'exec']);
    expect(r.body.budgetStopMessage).toContain('{agent} has used up its budget');
  });

  it('serves the ranges the agent routes enforce, and the defaults a new agent gets', async () => {
    const { limits, defaults } = (await app.api('/api/meta')).body;
    const created = await app.api('/api/agents', { method: 'POST', token, body: { name: 'Meta check' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject(defaults);
    const id = created.body.id;
    for (const key of ['sessionTimeoutMinutes', 'contextTokenBudget', 'downgradeAtPercent', 'stopAtPercent', 'maxOutputTokens'] as const) {
      const { min, max } = limits[key];
      expect((await app.api(`/api/agents/${id}`, { method: 'PATCH', token, body: { [key]: max } })).status, `${key} = max`).toBe(200);
      expect((await app.api(`/api/agents/${id}`, { method: 'PATCH', token, body: { [key]: min } })).status, `${key} = min`).toBe(200);
      const over = await app.api(`/api/agents/${id}`, { method: 'PATCH', token, body: { [key]: max + 1 } });
      expect(over.status, `${key} = max + 1`).toBe(400);
      expect(over.body.error.fields.map((f: { path: string }) => f.path)).toEqual([key]);
    }
    expect((await app.api(`/api/agents/${id}`, { method: 'PATCH', token, body: { budgetStopMessage: 'x'.repeat(limits.budgetStopMessage + 1) } })).status).toBe(400);
    expect((await app.api(`/api/agents/${id}`, { method: 'PATCH', token, body: { name: 'x'.repeat(limits.name + 1) } })).status).toBe(400);
  });
});
