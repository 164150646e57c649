import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamText, generateText } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { readSse, startTestApp, type TestApp } from '../helpers/test-app.js';

describe('OpenAI-compatible endpoint: any OpenAI client can talk to any agent', () => {
  let app: TestApp;
  let key: string;
  let slug: string;
  beforeAll(async () => {
    app = await startTestApp();
    const token = await app.owner();
    key = (await app.api('/api/keys', { token, body: { name: 'sdk' } })).body.key;
    slug = (await app.api('/api/agents', { token, body: { name: 'Writing Coach', template: 'writing-coach' } })).body.slug;
  });
  afterAll(async () => { await app?.close(); });

  it('lists agents as models and requires an API key', async () => {
    const r = await app.api('/v1/models', { token: key });
    expect(r.body.object).toBe('list');
    expect(r.body.data).toEqual([expect.objectContaining({ id: slug, object: 'model', owned_by: 'switchboard' })]);
    expect((await app.api('/v1/models')).status).toBe(401);
  });

  it('streams through the Vercel AI SDK OpenAI provider with usage, applying the persona server-side', async () => {
    app.fake.reset();
    const client = createOpenAI({ baseURL: `${app.url}/v1`, apiKey: key });
    const result = streamText({ model: client.chat(slug), system: 'Answer in French.', prompt: 'Fix my essay', maxRetries: 0 });
    let text = '';
    for await (const t of result.textStream) text += t;
    expect(text).toBe('Echo: Fix my essay');
    const usage = await result.usage;
    expect(usage.inputTokens).toBeGreaterThan(0);
    expect(usage.outputTokens).toBeGreaterThan(0);
    const upstream = (app.fake.requests() as any[])[0]!;
    expect(upstream.messages[0].content).toContain('You are Writing Coach.');
    expect(upstream.messages[0].content).toContain('Answer in French.');
  });

  it('answers without streaming, with usage in the response', async () => {
    const client = createOpenAI({ baseURL: `${app.url}/v1`, apiKey: key });
    const r = await generateText({ model: client.chat(slug), prompt: 'One line please', maxRetries: 0 });
    expect(r.text).toBe('Echo: One line please');
    expect(r.usage.totalTokens).toBeGreaterThan(0);
    const raw = await app.api('/v1/chat/completions', { token: key, body: { model: slug, messages: [{ role: 'user', content: 'raw' }] } });
    expect(raw.body).toMatchObject({ object: 'chat.completion', model: slug, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Echo: raw' } }] });
    expect(raw.body.usage.total_tokens).toBe(raw.body.usage.prompt_tokens + raw.body.usage.completion_tokens);
  });

  it('sends a final usage chunk and [DONE] when streaming with include_usage', async () => {
    const res = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: slug, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: [{ type: 'text', text: 'parts' }] }] }),
    });
    const frames = await readSse(res);
    expect(frames.at(-1)!.data).toBe('[DONE]');
    const usageChunk = frames.at(-2)!.data;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage.prompt_tokens).toBeGreaterThan(0);
    expect(frames[0]!.data.choices[0].delta).toEqual({ role: 'assistant', content: '' });
  });

  it('records usage on the openai channel and refuses unknown agents', async () => {
    const missing = await app.api('/v1/chat/completions', { token: key, body: { model: 'no-such-agent', messages: [{ role: 'user', content: 'x' }] } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('model_not_found');
    const bad = await app.api('/v1/chat/completions', { token: key, body: { model: slug, messages: [] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe('messages');
  });
});
