/**
 * Issue 14.5: a provider's model list comes from the provider (GET {baseURL}/models on OpenAI-compatible
 * servers, Anthropic's models API), kept for a while and asked again when the provider changes; pickers,
 * template models and savings advice offer only what it serves; the providers API says where each
 * setting comes from. Real server over real HTTP against the fake OpenAI and Anthropic servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-server.js';

describe('model lists from the provider (OPENAI_BASE_URL at a local server)', () => {
  let app: TestApp;
  let token: string;
  let anthropic: FakeAnthropic;
  const listings = () => app.fake.journal.filter((e) => e.method === 'GET' && e.path.split('?')[0] === '/v1/models');

  beforeAll(async () => {
    // As in the issue: OPENAI_BASE_URL at a local server serving its own models, no default model set.
    app = await startTestApp({ env: { SWITCHBOARD_DEFAULT_MODEL: undefined } });
    app.fake.setModels(['qwen2.5', 'llama3.1']);
    anthropic = await startFakeAnthropic({ apiKey: 'sk-ant-lists', models: Array.from({ length: 25 }, (_, i) => `claude-test-${String(i).padStart(2, '0')}`) });
    token = await app.owner();
  }, 60_000);
  afterAll(async () => { await app?.close(); await anthropic?.close(); });

  it('lists what the provider serves and says where each setting comes from', async () => {
    const r = await app.api('/api/providers', { token });
    expect(r.status).toBe(200);
    const openai = r.body.providers.find((p: any) => p.name === 'openai');
    expect(openai).toMatchObject({
      source: 'env', baseUrl: app.fake.url, effectiveBaseUrl: app.fake.url, hasKey: true,
      servedModels: ['llama3.1', 'qwen2.5'],
      sources: { baseUrl: 'env', apiKey: 'env', models: 'provider' },
    });
    // Not OpenAI's catalogue: the built-in default is a model this server serves, and it says it is the built-in one.
    expect(r.body.defaultModel).toBe('openai:llama3.1');
    expect(r.body.defaultModelSource).toBe('default');
    // The provider was asked with its key.
    expect(listings().at(-1)!.headers.authorization).toBe('Bearer test-key');
  });

  it('offers in pickers only the models the provider serves', async () => {
    const r = await app.api('/api/models', { token });
    const openai = r.body.models.filter((m: any) => m.provider === 'openai');
    expect(openai.map((m: any) => m.id)).toEqual(['openai:llama3.1', 'openai:qwen2.5']);
    expect(openai.every((m: any) => m.available && m.source === 'provider')).toBe(true);
    expect(r.body.models.find((m: any) => m.id === 'openai:gpt-5-nano')).toBeUndefined();
    // Models of providers that are not configured stay listed as unavailable (the price table's).
    expect(r.body.models.find((m: any) => m.id === 'anthropic:claude-haiku-4-5')).toMatchObject({ available: false, source: 'default' });
    expect(r.body.defaultModelSource).toBe('default');
  });

  it('refuses a model from the price table that the provider does not serve, naming what it serves', async () => {
    const agent = (await app.api('/api/agents', { token, body: { name: 'Picky' } })).body;
    const r = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { model: 'openai:gpt-5-nano' } });
    expect(r.status).toBe(400);
    expect(r.body.error.fields[0]).toMatchObject({ path: 'model' });
    expect(r.body.error.fields[0].message).toMatch(/llama3\.1/);
    const ok = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { model: 'openai:qwen2.5' } });
    expect(ok.status).toBe(200);
    const d = await app.api('/api/settings', { method: 'PATCH', token, body: { defaultModel: 'openai:gpt-5-nano' } });
    expect(d.status).toBe(400);
  });

  it("keeps a provider's answer instead of asking on every request", async () => {
    const before = listings().length;
    for (let i = 0; i < 3; i++) await app.api('/api/models', { token });
    await app.api('/api/providers', { token });
    expect(listings().length).toBe(before);
  });

  it("leaves a template's model and fallback empty, with a note, when the provider does not serve them", async () => {
    const r = await app.api('/api/agents', { token, body: { name: 'Chef', template: 'recipe-helper' } });
    expect(r.status).toBe(201);
    expect(r.body.model).toBeNull();
    expect(r.body.fallbackModel).toBeNull();
    expect(r.body.notes).toEqual([
      expect.stringMatching(/model openai:gpt-4o-mini was left empty: the "openai" provider does not serve it/),
      expect.stringMatching(/fallback model openai:gpt-4\.1-nano was left empty: the "openai" provider does not serve it/),
    ]);
    // The agent answers with the default model, one the server serves.
    const msg = await app.api(`/api/agents/${r.body.id}/message`, { token, body: { text: 'hello' } });
    expect(msg.status).toBe(200);
    expect(app.fake.requests().at(-1)!.model).toBe('llama3.1');
    // A model the caller names itself is kept as given.
    const own = await app.api('/api/agents', { token, body: { name: 'Chef Two', template: 'recipe-helper', fallbackModel: 'openai:qwen2.5' } });
    expect(own.body.fallbackModel).toBe('openai:qwen2.5');
    expect(own.body.notes).toHaveLength(1);
  });

  it('keeps a template\'s models where the provider serves them, without a note', async () => {
    app.fake.setModels(['gpt-4o-mini', 'gpt-4.1-nano']);
    // The environment's provider cannot be edited here; a dashboard provider at the same server shows the refresh.
    const added = await app.api('/api/providers', { token, body: { name: 'local', kind: 'openai-compatible', baseUrl: app.fake.url } });
    expect(added.status).toBe(201);
    const local = (await app.api('/api/providers', { token })).body.providers.find((p: any) => p.name === 'local');
    expect(local).toMatchObject({ servedModels: ['gpt-4.1-nano', 'gpt-4o-mini'], sources: { baseUrl: 'dashboard', apiKey: 'none', models: 'provider' } });
  });

  it('asks again when a provider changes', async () => {
    app.fake.setModels(['mistral-small']);
    const kept = (await app.api('/api/providers', { token })).body.providers.find((p: any) => p.name === 'local');
    expect(kept.servedModels).toEqual(['gpt-4.1-nano', 'gpt-4o-mini']);
    expect((await app.api('/api/providers/local', { method: 'PATCH', token, body: { models: ['extra'] } })).status).toBe(200);
    const changed = (await app.api('/api/providers', { token })).body.providers.find((p: any) => p.name === 'local');
    expect(changed.servedModels).toEqual(['mistral-small']);
    expect(changed.models).toEqual(['extra']);
    const ids = (await app.api('/api/models', { token })).body.models.filter((m: any) => m.provider === 'local').map((m: any) => m.id);
    expect(ids).toEqual(['local:extra', 'local:mistral-small']);
  });

  it("lists Anthropic's models through its models API, every page, with its key and version headers", async () => {
    const r = await app.api('/api/providers', { token, body: { name: 'claude', kind: 'anthropic', apiKey: 'sk-ant-lists', baseUrl: anthropic.url } });
    expect(r.status).toBe(201);
    const claude = (await app.api('/api/providers', { token })).body.providers.find((p: any) => p.name === 'claude');
    expect(claude.servedModels).toHaveLength(25);
    expect(claude.sources).toEqual({ baseUrl: 'dashboard', apiKey: 'dashboard', models: 'provider' });
    const asked = anthropic.journal.filter((e) => e.method === 'GET' && e.path.startsWith('/v1/models'));
    expect(asked.length).toBeGreaterThan(0);
    expect(asked[0]!.headers['x-api-key']).toBe('sk-ant-lists');
    expect(asked[0]!.headers['anthropic-version']).toBe('2023-06-01');
    expect(JSON.stringify(claude)).not.toContain('sk-ant-lists');
  });

  it('pages through a long Anthropic list', async () => {
    anthropic.setModels(Array.from({ length: 1500 }, (_, i) => `claude-many-${String(i).padStart(4, '0')}`));
    await app.api('/api/providers/claude', { method: 'PATCH', token, body: { models: [] } });
    const claude = (await app.api('/api/providers', { token })).body.providers.find((p: any) => p.name === 'claude');
    expect(claude.servedModels).toHaveLength(1500);
    expect(anthropic.journal.filter((e) => e.path.includes('after_id=')).length).toBeGreaterThan(0);
  });

  it("falls back to the operator's list when a provider cannot be asked, and says so", async () => {
    const r = await app.api('/api/providers', { token, body: { name: 'offline', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: ['tiny'] } });
    expect(r.status).toBe(201);
    const offline = (await app.api('/api/providers', { token })).body.providers.find((p: any) => p.name === 'offline');
    expect(offline).toMatchObject({ servedModels: null, models: ['tiny'], sources: { baseUrl: 'dashboard', apiKey: 'none', models: 'dashboard' } });
    const ids = (await app.api('/api/models', { token })).body.models.filter((m: any) => m.provider === 'offline');
    expect(ids).toEqual([expect.objectContaining({ id: 'offline:tiny', available: true, source: 'dashboard' })]);
  });

  it('says when the default model was chosen in the dashboard', async () => {
    expect((await app.api('/api/settings', { method: 'PATCH', token, body: { defaultModel: 'openai:qwen2.5' } })).status).toBe(200);
    const r = await app.api('/api/providers', { token });
    expect(r.body).toMatchObject({ defaultModel: 'openai:qwen2.5', defaultModelSource: 'dashboard' });
  });
});

describe('the default model set in the environment', () => {
  let app: TestApp;
  beforeAll(async () => { app = await startTestApp(); }, 60_000);
  afterAll(async () => { await app?.close(); });

  it('says it comes from SWITCHBOARD_DEFAULT_MODEL', async () => {
    const token = await app.owner();
    const r = await app.api('/api/providers', { token });
    expect(r.body).toMatchObject({ defaultModel: 'openai:gpt-4o-mini', defaultModelSource: 'env' });
  });
});
