/**
 * The /v1 path reads what admits a call on every call (nothing is cached across requests): a change
 * made through one process — a revoked key, a paused agent, a new persona, a suspended customer —
 * holds on the very next call to another process on the same database (SQLite file, or PostgreSQL
 * under test:pg).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

describe('/v1 takes every change into account on the next call, in every process', () => {
  let a: TestApp;
  let b: TestApp;
  let owner: string;
  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({ shareWith: a });
    owner = await a.owner();
  });
  afterAll(async () => { await b?.close(); await a?.close(); });

  const complete = (app: TestApp, key: string, model: string) => app.api('/v1/chat/completions', { token: key, body: { model, messages: [{ role: 'user', content: 'hello' }] } });

  it('refuses a revoked key at once', async () => {
    const { slug } = (await a.api('/api/agents', { token: owner, body: { name: 'Fresh Key' } })).body;
    const created = (await a.api('/api/keys', { token: owner, body: { name: 'k' } })).body;
    expect((await complete(b, created.key, slug)).status).toBe(200);
    expect((await a.api(`/api/keys/${created.id}`, { method: 'DELETE', token: owner })).status).toBeLessThan(300);
    const r = await complete(b, created.key, slug);
    expect(r.status).toBe(401);
  });

  it('stops answering for a paused agent at once, and sends a changed persona on the next call', async () => {
    const agent = (await a.api('/api/agents', { token: owner, body: { name: 'Fresh Agent', persona: { soul: 'Old soul.' } } })).body;
    const key = (await a.api('/api/keys', { token: owner, body: { name: 'k2' } })).body.key;
    expect((await complete(b, key, agent.slug)).status).toBe(200);
    expect((b.fake.requests() as any[]).at(-1).messages[0].content).toContain('Old soul.');

    expect((await a.api(`/api/agents/${agent.id}`, { method: 'PATCH', token: owner, body: { persona: { soul: 'New soul.' } } })).status).toBe(200);
    expect((await complete(b, key, agent.slug)).status).toBe(200);
    expect((b.fake.requests() as any[]).at(-1).messages[0].content).toContain('New soul.');

    expect((await a.api(`/api/agents/${agent.id}`, { method: 'PATCH', token: owner, body: { status: 'paused' } })).status).toBe(200);
    const r = await complete(b, key, agent.slug);
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('agent_paused');
  });

  it("refuses a suspended customer's key at once", async () => {
    const email = 'fresh-customer@example.com';
    const customer = (await a.api('/api/users', { token: owner, body: { email, password: 'correct horse battery', role: 'customer' } })).body;
    const token = (await a.api('/api/auth/login', { body: { email, password: 'correct horse battery' } })).body.token;
    const { slug } = (await a.api('/api/agents', { token, body: { name: 'Fresh Customer' } })).body;
    const key = (await a.api('/api/keys', { token, body: { name: 'k3' } })).body.key;
    expect((await complete(b, key, slug)).status).toBe(200);
    expect((await a.api(`/api/users/${customer.id}/suspend`, { method: 'POST', token: owner })).status).toBeLessThan(300);
    expect((await complete(b, key, slug)).status).toBe(401);
  });
});
