import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamText, generateText } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { readSse, startTestApp, type TestApp } from '../helpers/test-app.js';

describe('OpenAI-compatible endpoint: any OpenAI client can talk to any agent', () => {
  let app: TestApp;
  let key: string;
  let slug: string;
  let agentId: string;
  beforeAll(async () => {
    // A short model deadline, so the timeout test (agent model + its fallback) is quick.
    app = await startTestApp({ env: { SWITCHBOARD_MODEL_TIMEOUT_MS: '1500' } });
    const token = await app.owner();
    key = (await app.api('/api/keys', { token, body: { name: 'sdk' } })).body.key;
    ({ slug, id: agentId } = (await app.api('/api/agents', { token, body: { name: 'Writing Coach', template: 'writing-coach' } })).body);
  });

  const complete = (body: Record<string, unknown>) => fetch(`${app.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: slug, ...body }),
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

  it('sends usage once, on a final chunk with empty choices, only when include_usage is set', async () => {
    const res = await complete({ stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: [{ type: 'text', text: 'parts' }] }] });
    const frames = await readSse(res);
    expect(frames.at(-1)!.data).toBe('[DONE]');
    const usageChunk = frames.at(-2)!.data;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage.prompt_tokens).toBeGreaterThan(0);
    // The finishing chunk does not carry it (a client adding usage per chunk would count it twice).
    expect(frames.at(-3)!.data).toMatchObject({ choices: [{ finish_reason: 'stop' }], usage: null });
    expect(frames[0]!.data.choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(frames[1]!.data.usage).toBeNull();
    expect(frames.slice(0, -1).filter((f) => f.data.usage).length).toBe(1);
  });

  it('sends no usage at all without include_usage, and no choices-less chunk', async () => {
    const frames = await readSse(await complete({ stream: true, messages: [{ role: 'user', content: 'no options' }] }));
    expect(frames.at(-1)!.data).toBe('[DONE]');
    const chunks = frames.slice(0, -1).map((f) => f.data);
    expect(chunks.at(-1)!.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe('Echo: no options');
  });

  it('answers an upstream 500 before any text with a 502 JSON error, streaming or not, and the next call works', async () => {
    app.fake.reset();
    // The agent's model and then its fallback model both fail.
    app.fake.enqueue({ kind: 'error', status: 500 }, { kind: 'error', status: 500 });
    const plain = await app.api('/v1/chat/completions', { token: key, body: { model: slug, messages: [{ role: 'user', content: 'fail plain' }] } });
    expect(plain.status).toBe(502);
    expect(plain.body.error.code).toBe('provider_error');
    expect(plain.body.error.message).not.toMatch(/500|openai/i);

    app.fake.enqueue({ kind: 'error', status: 500 }, { kind: 'error', status: 500 });
    const streamed = await complete({ stream: true, messages: [{ role: 'user', content: 'fail streamed' }] });
    expect(streamed.status).toBe(502);
    expect(streamed.headers.get('content-type')).toContain('application/json');
    expect(((await streamed.json()) as any).error).toMatchObject({ code: 'provider_error', message: expect.any(String) });
    expect(app.fake.requests()).toHaveLength(4);

    const next = await readSse(await complete({ stream: true, messages: [{ role: 'user', content: 'back again' }] }));
    expect(next.slice(0, -1).map((f) => f.data.choices[0].delta.content ?? '').join('')).toBe('Echo: back again');
    // Nothing of the failed calls reaches the next one.
    expect((app.fake.requests() as any[]).at(-1)!.messages.map((m: any) => m.content).slice(1)).toEqual(['back again']);
  });

  it('answers a streamed call to a provider that never responds with 504 provider_timeout', async () => {
    app.fake.reset();
    app.fake.enqueue({ kind: 'hang' }, { kind: 'hang' });
    const streamed = await complete({ stream: true, messages: [{ role: 'user', content: 'anyone?' }] });
    expect(streamed.status).toBe(504);
    expect(((await streamed.json()) as any).error.code).toBe('provider_timeout');
    const next = await app.api('/v1/chat/completions', { token: key, body: { model: slug, messages: [{ role: 'user', content: 'awake now' }] } });
    expect(next.status).toBe(200);
    expect(next.body.choices[0].message.content).toBe('Echo: awake now');
  });

  it('ends an unstreamed call to a provider that never answers at the whole-call bound, with 504 provider_timeout', async () => {
    // Unstreamed, nothing arrives before the whole reply, so silence cannot be told from thinking: only the bound on a
    // whole call (ten times the deadline) ends it. Its own app with a 300 ms deadline keeps that quick (3 s per attempt).
    const quick = await startTestApp({ env: { SWITCHBOARD_MODEL_TIMEOUT_MS: '300' } });
    try {
      const token = await quick.owner();
      const k = (await quick.api('/api/keys', { token, body: { name: 'sdk' } })).body.key;
      const s = (await quick.api('/api/agents', { token, body: { name: 'Coach', template: 'writing-coach' } })).body.slug;
      quick.fake.enqueue({ kind: 'hang' }, { kind: 'hang' });
      const plain = await quick.api('/v1/chat/completions', { token: k, body: { model: s, messages: [{ role: 'user', content: 'anyone?' }] } });
      expect(plain.status).toBe(504);
      expect(plain.body.error.code).toBe('provider_timeout');
      const next = await quick.api('/v1/chat/completions', { token: k, body: { model: s, messages: [{ role: 'user', content: 'awake now' }] } });
      expect(next.status).toBe(200);
      expect(next.body.choices[0].message.content).toBe('Echo: awake now');
    } finally {
      await quick.close();
    }
  }, 30_000);

  it('records usage on the openai channel and refuses unknown agents', async () => {
    const byChannel = async () => Object.fromEntries(((await app.api(`/api/analytics?agentId=${agentId}`, { token: key })).body.byChannel as any[]).map((c) => [c.channel, c]));
    const before = (await byChannel()).openai?.requests ?? 0;
    const messagesBefore = (await byChannel()).openai?.messages ?? 0;
    const r = await app.api('/v1/chat/completions', { token: key, body: { model: slug, messages: [{ role: 'user', content: 'count me' }] } });
    expect(r.status).toBe(200);
    const after = await byChannel();
    expect(Object.keys(after)).toEqual(['openai']);
    expect(after.openai.requests).toBe(before + 1);
    expect(after.openai.costUsd).toBeGreaterThan(0);
    // No conversation is stored, yet the message counts, on its own channel, from one person (the key's user).
    expect(after.openai).toMatchObject({ messages: messagesBefore + 1, people: 1 });

    const missing = await app.api('/v1/chat/completions', { token: key, body: { model: 'no-such-agent', messages: [{ role: 'user', content: 'x' }] } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('model_not_found');
    const bad = await app.api('/v1/chat/completions', { token: key, body: { model: slug, messages: [] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe('messages');
  });
});
