import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

describe('agents: templates, preflight, concurrency, export/import', () => {
  let app: TestApp;
  let token: string;
  beforeAll(async () => { app = await startTestApp(); token = await app.owner(); });
  afterAll(async () => { await app?.close(); });
  const api: TestApp['api'] = (p, i = {}) => app.api(p, { token, ...i });

  it('lists the shipped templates', async () => {
    const r = await api('/api/templates');
    expect(r.body.templates.map((t: { id: string }) => t.id).sort()).toEqual(['maths-tutor', 'recipe-helper', 'website-product-manager', 'writing-coach']);
    const wpm = r.body.templates.find((t: { id: string }) => t.id === 'website-product-manager');
    expect(Object.keys(wpm.placeholders)).toEqual(expect.arrayContaining(['agent_name', 'site_url', 'customer_name']));
  });

  it('creates an agent from the website product manager template with its placeholders filled', async () => {
    const r = await api('/api/agents', { body: { name: "Mark's Site PM", template: 'website-product-manager', templateVars: { site_url: 'https://mark.example', customer_name: 'Mark' } } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ slug: 'mark-s-site-pm', status: 'active', name: "Mark's Site PM", version: 1 });
    expect(r.body.persona.soul).toContain("You are Mark's Site PM, a website product manager for https://mark.example.");
    expect(r.body.persona.agents).toContain('**Owner:** Mark');
    expect(r.body.persona.agents).toContain('**Tech Stack:** not yet detected');
    expect(JSON.stringify(r.body.persona)).not.toMatch(/\{[a-z_]+\}/);
    // The template asks for anthropic models; with only OpenAI configured the agent follows the instance default.
    expect(r.body.model).toBeNull();
    expect(r.body.fallbackModel).toBeNull();
  });

  it('refuses a template with missing or unknown variables, naming each', async () => {
    const r = await api('/api/agents', { body: { name: 'PM', template: 'website-product-manager', templateVars: { site_url: 'https://x.example', colour: 'red' } } });
    expect(r.status).toBe(400);
    const paths = r.body.error.fields.map((f: { path: string }) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['templateVars.customer_name', 'templateVars.colour']));
    expect((await api('/api/agents', { body: { name: 'X', template: 'nope' } })).body.error.fields[0].path).toBe('template');
  });

  it('validates input strictly and names the field', async () => {
    const unknown = await api('/api/agents', { body: { name: 'A', colour: 'blue' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('colour');
    const wrongType = await api('/api/agents', { body: { name: 'A', temperature: 'hot' } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.fields[0].path).toBe('temperature');
    const missing = await api('/api/agents', { body: {} });
    expect(missing.body.error.fields[0].path).toBe('name');
    const malformed = await api('/api/agents', { raw: '{"name": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');
    const big = await api('/api/agents', { body: { name: 'A', description: 'x'.repeat(2_000_000) } });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
    const oversizedField = await api('/api/agents', { body: { name: 'A', persona: { soul: 'x'.repeat(40_000) } } });
    expect(oversizedField.status).toBe(400);
    expect(oversizedField.body.error.fields[0].path).toBe('persona.soul');
  });

  it('runs preflight checks on save: unknown models and unfilled placeholders', async () => {
    const r = await api('/api/agents', { body: { name: 'Checked', model: 'openai:gpt-9-imaginary', fallbackModel: 'mystery:model', persona: { soul: 'Hello {customer_name}, see {{literal}}' } } });
    expect(r.status).toBe(400);
    const byPath = Object.fromEntries(r.body.error.fields.map((f: { path: string; message: string }) => [f.path, f.message]));
    expect(byPath.model).toMatch(/unknown model/);
    expect(byPath.fallbackModel).toMatch(/unknown model provider "mystery"/);
    expect(byPath['persona.soul']).toMatch(/\{customer_name\}/);
    expect(byPath['persona.soul']).not.toMatch(/placeholder \{literal\}/);
    expect((await api('/api/agents')).body.agents.some((a: { name: string }) => a.name === 'Checked')).toBe(false);
  });

  it('refuses a priced model whose provider is not configured, on create, PATCH and import', async () => {
    // Only OpenAI is configured here; the price table knows anthropic:claude-haiku-4-5, but every chat with it would fail.
    const count = async () => (await api('/api/agents')).body.agents.length;
    const before = await count();
    const created = await api('/api/agents', { body: { name: 'Claude', model: 'anthropic:claude-haiku-4-5', fallbackModel: 'anthropic:claude-3-5-haiku-latest' } });
    expect(created.status).toBe(400);
    const byPath = Object.fromEntries(created.body.error.fields.map((f: { path: string; message: string }) => [f.path, f.message]));
    expect(byPath.model).toMatch(/anthropic provider is not configured/);
    expect(byPath.model).toMatch(/ANTHROPIC_API_KEY/);
    expect(byPath.model).toMatch(/Providers/);
    expect(byPath.fallbackModel).toMatch(/anthropic provider is not configured/);
    expect(await count()).toBe(before);

    const a = (await api('/api/agents', { body: { name: 'Steady', model: 'openai:gpt-4o' } })).body;
    for (const key of ['model', 'fallbackModel']) {
      const patch = await api(`/api/agents/${a.id}`, { method: 'PATCH', body: { [key]: 'anthropic:claude-haiku-4-5' } });
      expect(patch.status).toBe(400);
      expect(patch.body.error.fields).toEqual([{ path: key, message: expect.stringMatching(/anthropic provider is not configured/) }]);
    }
    expect((await api(`/api/agents/${a.id}`)).body).toMatchObject({ model: 'openai:gpt-4o', fallbackModel: null, version: a.version });

    const imported = await api('/api/agents/import', { body: {
      switchboardTemplate: 1, name: 'Imported Claude', model: 'anthropic:claude-sonnet-4-5',
      persona: { soul: '', agents: '', tools: '', user: '', instructions: '' },
    } });
    expect(imported.status).toBe(400);
    expect(imported.body.error.fields).toEqual([{ path: 'model', message: expect.stringMatching(/anthropic provider is not configured/) }]);
    expect(await count()).toBe(before + 1);
  });

  it('still lets an agent be edited and paused after its provider is removed (the model is not re-checked unless changed)', async () => {
    const p = await api('/api/providers', { body: { name: 'gone', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: ['tiny'] } });
    expect(p.status).toBe(201);
    const a = (await api('/api/agents', { body: { name: 'Orphan', model: 'gone:tiny' } })).body;
    expect(a.model).toBe('gone:tiny');
    expect((await api('/api/providers/gone', { method: 'DELETE' })).status).toBe(204);
    const edited = await api(`/api/agents/${a.id}`, { method: 'PATCH', body: { description: 'still editable' } });
    expect(edited.status).toBe(200);
    expect((await api(`/api/agents/${a.id}/pause`, { method: 'POST' })).status).toBe(200);
    const moved = await api(`/api/agents/${a.id}`, { method: 'PATCH', body: { model: 'gone:other' } });
    expect(moved.status).toBe(400);
    expect(moved.body.error.fields[0].path).toBe('model');
  });

  it('gives a new slug on name collisions but refuses an explicitly taken slug with 409', async () => {
    const a = await api('/api/agents', { body: { name: 'Twin' } });
    const b = await api('/api/agents', { body: { name: 'Twin' } });
    expect(a.body.slug).toBe('twin');
    expect(b.body.slug).toBe('twin-2');
    const c = await api('/api/agents', { body: { name: 'Other', slug: 'twin' } });
    expect(c.status).toBe(409);
    expect(c.body.error.code).toBe('slug_taken');
    const patch = await api(`/api/agents/${b.body.id}`, { method: 'PATCH', body: { slug: 'twin' } });
    expect(patch.status).toBe(409);
  });

  it('refuses a stale edit with 409 instead of silently clobbering it', async () => {
    const a = (await api('/api/agents', { body: { name: 'Shared' } })).body;
    const first = await api(`/api/agents/${a.id}`, { method: 'PATCH', body: { description: 'first', version: a.version } });
    expect(first.status).toBe(200);
    expect(first.body.version).toBe(a.version + 1);
    const stale = await api(`/api/agents/${a.id}`, { method: 'PATCH', body: { description: 'second', version: a.version } });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('version_conflict');
    const viaHeader = await api(`/api/agents/${a.id}`, { method: 'PATCH', body: { description: 'third' }, headers: { 'if-match': `"${a.version}"` } });
    expect(viaHeader.status).toBe(409);
    expect((await api(`/api/agents/${a.id}`)).body.description).toBe('first');
  });

  it('lets exactly one of two concurrent edits of the same version win', async () => {
    const a = (await api('/api/agents', { body: { name: 'Raced' } })).body;
    const results = await Promise.all(['left', 'right'].map((d) => api(`/api/agents/${a.id}`, { method: 'PATCH', body: { description: d, version: a.version } })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
  });

  it('edits persona files, pauses, resumes, duplicates and deletes', async () => {
    const a = (await api('/api/agents', { body: { name: 'Editable', persona: { soul: '# Soul' } } })).body;
    const p = await api(`/api/agents/${a.id}`, { method: 'PATCH', body: { persona: { tools: '# Tools', instructions: 'Be brief.' } } });
    expect(p.body.persona).toEqual({ soul: '# Soul', agents: '', tools: '# Tools', user: '', instructions: 'Be brief.' });
    expect((await api(`/api/agents/${a.id}/pause`, { method: 'POST' })).body.status).toBe('paused');
    expect((await api(`/api/agents/${a.id}/resume`, { method: 'POST' })).body.status).toBe('active');
    const dup = await api(`/api/agents/${a.id}/duplicate`, { method: 'POST' });
    expect(dup.status).toBe(201);
    expect(dup.body).toMatchObject({ name: 'Editable (copy)', slug: 'editable-copy', listed: false, persona: p.body.persona });
    expect((await api(`/api/agents/${a.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/api/agents/${a.id}`)).status).toBe(404);
  });

  it('previews the composed system prompt', async () => {
    const r = await api('/api/agents/preview-prompt', { body: { name: 'Chef', description: 'Cooks.', persona: { soul: '# SOUL', instructions: 'No nuts.' } } });
    expect(r.body.systemPrompt).toBe('You are Chef. Cooks.\n\n# SOUL\n\n## Custom instructions\n\nNo nuts.');
    expect(r.body.tokens).toBeGreaterThan(0);
  });

  it('exports an agent as a template and imports it back unchanged', async () => {
    const src = (await api('/api/agents', { body: { name: 'Recipes', template: 'recipe-helper', templateVars: { cuisine: 'Thai' } } })).body;
    const exp = await api(`/api/agents/${src.id}/export`);
    expect(exp.headers.get('content-disposition')).toContain('attachment');
    expect(exp.body).toMatchObject({ switchboardTemplate: 1, name: 'Recipes', placeholders: {} });
    const imp = await api('/api/agents/import', { body: exp.body });
    expect(imp.status).toBe(201);
    expect(imp.body.slug).toBe('recipes-2');
    expect(imp.body.persona).toEqual(src.persona);
    expect(imp.body.model).toBe(src.model);
  });

  it('refuses a bad import listing every problem, and creates nothing', async () => {
    const before = (await api('/api/agents')).body.agents.length;
    const r = await api('/api/agents/import', { body: {
      switchboardTemplate: 1, name: 'Bad {who}', temperature: 7, model: 'openai:nonexistent-model', surprise: true,
      persona: { soul: 'Hi {who} from {where}', agents: '', tools: '', user: '', instructions: '' },
      placeholders: { who: { description: 'who' } },
    } });
    expect(r.status).toBe(400);
    const paths = r.body.error.fields.map((f: { path: string }) => f.path);
    // Schema problems and placeholder/model problems come back together.
    expect(paths).toEqual(expect.arrayContaining(['temperature', 'surprise', 'persona.soul', 'model']));
    const valid = await api('/api/agents/import', { body: {
      switchboardTemplate: 1, name: 'Bad {who}', model: 'openai:nonexistent-model',
      persona: { soul: 'Hi {who} from {where}', agents: '', tools: '', user: '', instructions: '' },
      placeholders: { who: { description: 'who', required: true } },
    } });
    expect(valid.status).toBe(400);
    const p2 = valid.body.error.fields.map((f: { path: string; message: string }) => `${f.path}: ${f.message}`).join('\n');
    expect(p2).toMatch(/persona\.soul: uses the unknown placeholder \{where\}/);
    expect(p2).toMatch(/templateVars\.who: is required/);
    expect(p2).toMatch(/model: unknown model/);
    expect((await api('/api/agents')).body.agents.length).toBe(before);
    expect((await api('/api/agents/import', { body: [1, 2] })).status).toBe(400);
  });

  it('refuses an import with an oversized field, naming it, and creates nothing', async () => {
    const before = (await api('/api/agents')).body.agents.length;
    const r = await api('/api/agents/import', { body: {
      switchboardTemplate: 1, name: 'Huge', description: 'd'.repeat(501),
      persona: { soul: 'x'.repeat(40_000), agents: '', tools: '', user: '', instructions: '' },
    } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.fields.map((f: { path: string }) => f.path).sort()).toEqual(['description', 'persona.soul']);
    expect((await api('/api/agents')).body.agents.length).toBe(before);
  });

  it('imports under a free slug derived from the name, but refuses an explicitly taken slug with 409', async () => {
    const src = (await api('/api/agents', { body: { name: 'Clone Me' } })).body;
    const doc = (await api(`/api/agents/${src.id}/export`)).body;
    expect(doc.id).toBe('clone-me');
    const before = (await api('/api/agents')).body.agents.length;
    const taken = await api('/api/agents/import', { body: { ...doc, slug: 'clone-me' } });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('slug_taken');
    expect((await api('/api/agents')).body.agents.length).toBe(before);
    // The document's own id is not a slug request: the copy gets the next free slug.
    const copy = await api('/api/agents/import', { body: doc });
    expect(copy.status).toBe(201);
    expect(copy.body.slug).toBe('clone-me-2');
    expect((await api(`/api/agents/${src.id}`)).body.slug).toBe('clone-me');
  });
});
