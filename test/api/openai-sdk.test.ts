import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { readSse, startTestApp, type TestApp } from '../helpers/test-app.js';

/** `name;dur=1.2;desc="…"` entries, comma-separated (the Server-Timing syntax), as a name → duration map. */
function parseServerTiming(value: string | null | undefined): Record<string, number> {
  expect(value).toBeTruthy();
  const out: Record<string, number> = {};
  for (const entry of value!.split(/,\s*/)) {
    const m = entry.match(/^([A-Za-z][\w-]*);dur=(\d+(?:\.\d+)?);desc="[^"]*"$/);
    expect(m, `not a Server-Timing entry: ${entry}`).toBeTruthy();
    out[m![1]!] = Number(m![2]);
  }
  return out;
}

/** The official `openai` client, over real HTTP, against /v1. */
describe('/v1 behaves like OpenAI for the official openai client', () => {
  let app: TestApp;
  let client: OpenAI;
  let slug: string;
  let customerKey: string;
  beforeAll(async () => {
    app = await startTestApp();
    const token = await app.owner();
    const key = (await app.api('/api/keys', { token, body: { name: 'sdk' } })).body.key as string;
    slug = (await app.api('/api/agents', { token, body: { name: 'SDK Agent', listed: true } })).body.slug;
    client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: key, maxRetries: 0 });
    // A customer, who may not see the owner's agent.
    expect((await app.api('/api/users', { token, body: { email: 'sdk-customer@example.com', password: 'correct horse battery', role: 'customer' } })).status).toBe(201);
    const login = (await app.api('/api/auth/login', { body: { email: 'sdk-customer@example.com', password: 'correct horse battery' } })).body.token as string;
    customerKey = (await app.api('/api/keys', { token: login, body: { name: 'customer sdk' } })).body.key;
  }, 60_000);
  afterAll(async () => { await app?.close(); });

  it('answers a completion, with usage and a Server-Timing header separating Switchboard from the model', async () => {
    const { data, response } = await client.chat.completions.create({ model: slug, messages: [{ role: 'user', content: 'hello sdk' }] }).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices).toHaveLength(1);
    expect(data.choices[0]!.message.content).toBe('Echo: hello sdk');
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
    const timing = parseServerTiming(response.headers.get('server-timing'));
    expect(Object.keys(timing).sort()).toEqual(['model', 'sb']);
  });

  it('streams without usage unless include_usage is set', async () => {
    const stream = await client.chat.completions.create({ model: slug, stream: true, messages: [{ role: 'user', content: 'no usage' }] });
    let text = '';
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('Echo: no usage');
    expect(chunks.every((c) => c.usage === undefined || c.usage === null)).toBe(true);
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  it('with include_usage, sends usage once, on a final chunk with empty choices, never on the finish_reason chunk', async () => {
    const { data: stream, response } = await client.chat.completions.create({
      model: slug, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'count once' }],
    }).withResponse();
    // Headers go out before the model has finished: Switchboard's time before the model, the model's first event.
    const head = parseServerTiming(response.headers.get('server-timing'));
    expect(Object.keys(head)).toContain('sb-pre');
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const withUsage = chunks.filter((c) => c.usage);
    expect(withUsage).toHaveLength(1);
    expect(withUsage[0]).toBe(chunks.at(-1));
    expect(withUsage[0]!.choices).toEqual([]);
    expect(withUsage[0]!.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(withUsage[0]!.usage!.completion_tokens).toBeGreaterThan(0);
    const finish = chunks.find((c) => c.choices[0]?.finish_reason);
    expect(finish!.choices[0]!.finish_reason).toBe('stop');
    expect(finish!.usage ?? null).toBeNull();
    // The totals ride on the last chunk, in the header's syntax.
    const totals = parseServerTiming((chunks.at(-1) as unknown as { server_timing: string }).server_timing);
    expect(Object.keys(totals).sort()).toEqual(['model', 'sb']);
  });

  it('lists and retrieves agents as models; an unknown or inaccessible one is 404 model_not_found', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toContain(slug);
    const m = await client.models.retrieve(slug);
    expect(m).toMatchObject({ id: slug, object: 'model', owned_by: 'switchboard' });
    expect(typeof m.created).toBe('number');

    const unknown = await client.models.retrieve('no-such-agent').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).error).toEqual({
      message: expect.any(String), type: 'invalid_request_error', param: 'model', code: 'model_not_found',
    });
    const customer = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: customerKey, maxRetries: 0 });
    const hidden = await customer.models.retrieve(slug).catch((e: unknown) => e);
    expect(hidden).toBeInstanceOf(OpenAI.NotFoundError);
    expect((hidden as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    const completion = await customer.chat.completions.create({ model: slug, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(completion).toBeInstanceOf(OpenAI.NotFoundError);
    expect((completion as InstanceType<typeof OpenAI.NotFoundError>).param).toBe('model');
  });

  it.each([
    ['n', { n: 2 }],
    ['tools', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }] }],
    ['tool_choice', { tool_choice: 'required' }],
    ['logprobs', { logprobs: true }],
    ['top_logprobs', { top_logprobs: 3 }],
    ['response_format', { response_format: { type: 'json_object' } }],
    ['audio', { modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'mp3' } }],
  ] as const)('refuses the unsupported parameter %s with a 400 naming it', async (param, extra) => {
    app.fake.reset();
    const err = await client.chat.completions.create({ model: slug, messages: [{ role: 'user', content: 'x' }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.status).toBe(400);
    expect(e.error).toMatchObject({ type: 'invalid_request_error', param, code: 'unsupported_parameter', message: expect.any(String) });
    expect(app.fake.requests()).toHaveLength(0); // refused before any model call
  });

  it('accepts parameters it only ignores (n: 1, sampling knobs, user)', async () => {
    const r = await client.chat.completions.create({ model: slug, n: 1, top_p: 0.5, presence_penalty: 0, stop: ['\n\n'], seed: 1, user: 'u-1', max_tokens: 50, messages: [{ role: 'user', content: 'fine' }] });
    expect(r.choices[0]!.message.content).toBe('Echo: fine');
  });

  it('answers every error as {error: {message, type, param, code}} with OpenAI\'s types', async () => {
    const anonymous = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'sb_not_a_key', maxRetries: 0 });
    const auth = await anonymous.models.list().catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((auth as InstanceType<typeof OpenAI.AuthenticationError>).error).toEqual({ message: expect.any(String), type: 'authentication_error', param: null, code: 'unauthorized' });

    const invalid = await client.chat.completions.create({ model: slug, messages: [] }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(OpenAI.BadRequestError);
    expect((invalid as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ message: expect.any(String), type: 'invalid_request_error', param: 'messages', code: 'validation_failed' });

    app.fake.reset();
    app.fake.enqueue({ kind: 'error', status: 500 }); // the agent has no fallback model: one attempt
    const upstream = await client.chat.completions.create({ model: slug, messages: [{ role: 'user', content: 'fail' }] }).catch((e: unknown) => e);
    expect(upstream).toBeInstanceOf(OpenAI.APIError);
    expect((upstream as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((upstream as InstanceType<typeof OpenAI.APIError>).error).toEqual({ message: expect.any(String), type: 'server_error', param: null, code: 'provider_error' });

    const route = await fetch(`${app.url}/v1/nothing-here`, { headers: { authorization: `Bearer ${client.apiKey}` } });
    expect(route.status).toBe(404);
    expect(((await route.json()) as { error: unknown }).error).toEqual({ message: expect.any(String), type: 'invalid_request_error', param: null, code: 'not_found' });
  });

  it('the web chat stream carries Server-Timing: in its headers at the start, the totals in the done event', async () => {
    app.fake.reset();
    const res = await fetch(`${app.url}/api/public/agents/${slug}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'timing please' }) });
    expect(res.status).toBe(200);
    expect(Object.keys(parseServerTiming(res.headers.get('server-timing')))).toEqual(['sb-pre']);
    const events = await readSse(res);
    const done = events.find((f) => f.event === 'done')!;
    expect(done, JSON.stringify(events)).toBeTruthy();
    expect(done.data.reply).toBe('Echo: timing please');
    expect(Object.keys(parseServerTiming(done.data.serverTiming)).sort()).toEqual(['model', 'sb']);
    expect(done.data.timing).toBeUndefined();
  });
});

describe('model calls retry a retryable provider error before the stream starts', () => {
  let app: TestApp;
  beforeAll(async () => { app = await startTestApp({ env: { SWITCHBOARD_MODEL_MAX_RETRIES: '1' } }); }, 60_000);
  afterAll(async () => { await app?.close(); });

  it('answers after one 503 (honouring retry-after-ms), and gives up after maxRetries', async () => {
    const token = await app.owner();
    const key = (await app.api('/api/keys', { token, body: { name: 'retry' } })).body.key as string;
    const slug = (await app.api('/api/agents', { token, body: { name: 'Retry Agent' } })).body.slug as string;
    const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: key, maxRetries: 0 });
    app.fake.reset();
    app.fake.enqueue({ kind: 'error', status: 503, headers: { 'retry-after-ms': '10' } });
    const r = await client.chat.completions.create({ model: slug, messages: [{ role: 'user', content: 'again' }] });
    expect(r.choices[0]!.message.content).toBe('Echo: again');
    expect(app.fake.requests()).toHaveLength(2);

    app.fake.reset();
    app.fake.enqueue({ kind: 'error', status: 503, headers: { 'retry-after-ms': '10' } }, { kind: 'error', status: 503, headers: { 'retry-after-ms': '10' } });
    const failed = await client.chat.completions.create({ model: slug, messages: [{ role: 'user', content: 'no luck' }] }).catch((e: unknown) => e);
    expect((failed as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(app.fake.requests()).toHaveLength(2);
  });
});
