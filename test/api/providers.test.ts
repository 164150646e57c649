import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import pg from 'pg';
import { join } from 'node:path';
import { startTestApp, isPg, type TestApp } from '../helpers/test-app.js';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-server.js';

describe('providers and prices', () => {
  let app: TestApp;
  let token: string;
  let anthropic: FakeAnthropic;
  beforeAll(async () => {
    app = await startTestApp({ withModel: false });
    anthropic = await startFakeAnthropic({ apiKey: 'sk-ant-secret-123' });
    token = await app.owner();
  });
  afterAll(async () => { await app?.close(); await anthropic?.close(); });

  async function storedProviderKeys(): Promise<string[]> {
    if (isPg()) {
      // The test app runs in its own schema (other test files' schemas come and go meanwhile).
      const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await c.connect();
      try {
        return (await c.query(`select api_key_sealed from ${app.schema}.providers`)).rows.map((x) => String(x.api_key_sealed));
      } finally { await c.end(); }
    }
    const db = new Database(join(app.server.services.config.DATA_DIR, 'switchboard.db'), { readonly: true });
    try { return db.prepare('select api_key_sealed from providers').all().map((r: any) => String(r.api_key_sealed)); } finally { db.close(); }
  }

  it('adds an Anthropic provider from the API; the key is encrypted at rest and never returned', async () => {
    const r = await app.api('/api/providers', { token, body: { name: 'anthropic', kind: 'anthropic', apiKey: 'sk-ant-secret-123', baseUrl: anthropic.url } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ name: 'anthropic', kind: 'anthropic', baseUrl: anthropic.url, hasKey: true, source: 'settings', models: [] });
    const list = await app.api('/api/providers', { token });
    expect(list.body.configured).toBe(true);
    expect(JSON.stringify(list.body)).not.toContain('sk-ant-secret-123');
    const stored = await storedProviderKeys();
    expect(stored.length).toBeGreaterThan(0);
    for (const s of stored) {
      expect(s).not.toContain('sk-ant-secret-123');
      expect(s).toMatch(/^v1\./);
    }
  });

  it('chats through the Anthropic provider and prices the call from the table', async () => {
    const a = (await app.api('/api/agents', { token, body: { name: 'Claude Agent', model: 'anthropic:claude-haiku-4-5' } })).body;
    expect(a.model).toBe('anthropic:claude-haiku-4-5');
    const r = await app.api(`/api/agents/${a.id}/message`, { token, body: { text: 'Bonjour' } });
    expect(r.status).toBe(200);
    expect(r.body.reply).toContain('Bonjour');
    const { inputTokens, outputTokens, costUsd } = r.body.usage;
    expect(costUsd).toBeCloseTo((inputTokens * 1 + outputTokens * 5) / 1e6, 12);
    expect(anthropic.journal.at(-1)!.headers['x-api-key']).toBe('sk-ant-secret-123');
  });

  it('adds an OpenAI-compatible server (Ollama-style) whose models it names itself', async () => {
    const bad = await app.api('/api/providers', { token, body: { name: 'ollama', kind: 'openai-compatible' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe('baseUrl');
    const ok = await app.api('/api/providers', { token, body: { name: 'ollama', kind: 'openai-compatible', baseUrl: app.fake.url, models: ['llama3.1'] } });
    expect(ok.status).toBe(201);
    expect(ok.body.hasKey).toBe(false);
    const dup = await app.api('/api/providers', { token, body: { name: 'ollama', kind: 'openai-compatible', baseUrl: app.fake.url } });
    expect(dup.status).toBe(409);
    const models = (await app.api('/api/models', { token })).body.models;
    expect(models).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'ollama:llama3.1', available: true, priced: false })]));
    const a = (await app.api('/api/agents', { token, body: { name: 'Local', model: 'ollama:llama3.1' } })).body;
    const r = await app.api(`/api/agents/${a.id}/message`, { token, body: { text: 'local hello' } });
    expect(r.body.reply).toBe('Echo: local hello');
    // Unknown price: counted at the default price, never silently free.
    expect(r.body.usage.costUsd).toBeGreaterThan(0);
  });

  it("shows a customer a provider's name and models, never its base URL or anything about its key", async () => {
    await app.api('/api/users', { token, body: { email: 'cust@example.com', password: 'correct horse battery', role: 'customer' } });
    const cust = (await app.api('/api/auth/login', { body: { email: 'cust@example.com', password: 'correct horse battery' } })).body.token;
    const r = await app.api('/api/providers', { token: cust });
    expect(r.status).toBe(200);
    expect(r.body.providers).toEqual(expect.arrayContaining([
      { name: 'anthropic', kind: 'anthropic', models: [] },
      { name: 'ollama', kind: 'openai-compatible', models: ['llama3.1'] },
    ]));
    const text = JSON.stringify(r.body);
    for (const leak of [anthropic.url, app.fake.url, '127.0.0.1', 'hasKey', 'baseUrl', 'sk-ant-secret-123']) expect(text).not.toContain(leak);
    // The operator still sees where each provider lives.
    const own = await app.api('/api/providers', { token });
    expect(own.body.providers).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'ollama', baseUrl: app.fake.url, hasKey: false })]));
  });

  it('overrides a price and uses the override for new calls', async () => {
    const put = await app.api(`/api/prices/${encodeURIComponent('ollama:llama3.1')}`, { method: 'PUT', token, body: { inputPerM: 0, outputPerM: 0 } });
    expect(put.status).toBe(200);
    const prices = (await app.api('/api/prices', { token })).body;
    expect(prices.checkedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(prices.prices.find((p: { model: string }) => p.model === 'ollama:llama3.1')).toMatchObject({ source: 'override', inputPerM: 0 });
    const a = (await app.api('/api/agents', { token })).body.agents.find((x: { name: string }) => x.name === 'Local');
    const r = await app.api(`/api/agents/${a.id}/message`, { token, body: { text: 'free now' } });
    expect(r.body.usage.costUsd).toBe(0);
    expect((await app.api(`/api/prices/${encodeURIComponent('ollama:llama3.1')}`, { method: 'DELETE', token })).status).toBe(204);
  });

  it('removes a provider and refuses to touch environment providers', async () => {
    expect((await app.api('/api/providers/ollama', { method: 'DELETE', token })).status).toBe(204);
    expect((await app.api('/api/providers/ollama', { method: 'DELETE', token })).status).toBe(404);
  });
});
