import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

describe('OpenAPI document and reference page', () => {
  let app: TestApp;
  beforeAll(async () => { app = await startTestApp(); });
  afterAll(async () => { await app?.close(); });

  it('describes every fixed route, generated from the route schemas', async () => {
    const r = await app.api('/api/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toMatch(/^3\.1/);
    const ops = Object.entries(r.body.paths as Record<string, Record<string, unknown>>).flatMap(([p, m]) => Object.keys(m).map((k) => `${k.toUpperCase()} ${p}`));
    for (const op of [
      'POST /api/auth/login', 'GET /api/auth/me', 'POST /api/auth/logout', 'GET /api/agents', 'POST /api/agents',
      'GET /api/agents/{id}', 'PATCH /api/agents/{id}', 'DELETE /api/agents/{id}', 'POST /api/agents/{id}/pause',
      'POST /api/agents/{id}/resume', 'GET /api/agents/{id}/export', 'POST /api/agents/import', 'POST /api/agents/{id}/message',
      'GET /api/usage', 'POST /api/keys', 'GET /api/keys', 'DELETE /api/keys/{id}', 'POST /v1/chat/completions', 'GET /v1/models',
    ]) expect(ops).toContain(op);
    const create = r.body.paths['/api/agents'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(create)).toContain('templateVars');
  });

  it('serves a readable reference page with no external assets', async () => {
    const res = await fetch(`${app.url}/api/docs`);
    const html = await res.text();
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(html).toContain('/api/agents/{id}/message');
    expect(html).not.toMatch(/<script[^>]+src=|https?:\/\/cdn/);
  });

  it('answers unknown API routes with the JSON error shape and a request id', async () => {
    const r = await app.api('/api/nope');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    expect(r.headers.get('x-request-id')).toBeTruthy();
  });
});
