import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateText, streamText, tool } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { z } from 'zod';
import {
  fakeEmbedding,
  insufficientQuota,
  promptTokensFor,
  rateLimited,
  startFakeOpenAI,
  tokensFor,
  type FakeOpenAI,
} from './openai-server.js';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const openaiModel = () => createOpenAI({ baseURL: fake.url, apiKey: 'test' }).chat('gpt-4o-mini');
const compatModel = () =>
  createOpenAICompatible({ name: 'local', baseURL: fake.url, apiKey: 'x', includeUsage: true })('llama-3');

async function collect(result: { textStream: AsyncIterable<string> }): Promise<string[]> {
  const parts: string[] = [];
  for await (const t of result.textStream) parts.push(t);
  return parts;
}

describe('fake OpenAI server via the AI SDK', () => {
  it('streams the echo with usage (@ai-sdk/openai .chat)', async () => {
    const result = streamText({ model: openaiModel(), prompt: 'hello there world' });
    const parts = await collect(result);
    expect(parts.join('')).toBe('Echo: hello there world');
    expect(parts.length).toBeGreaterThan(1);

    const body = fake.requests()[0];
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
    expect(body.model).toBe('gpt-4o-mini');
    expect(fake.journal[0].path).toBe('/v1/chat/completions');
    expect(fake.journal[0].headers.authorization).toBe('Bearer test');

    const prompt = promptTokensFor(body.messages);
    const completion = tokensFor('Echo: hello there world');
    const usage = await result.usage;
    expect(usage.inputTokens).toBe(prompt);
    expect(usage.outputTokens).toBe(completion);
    expect(usage.totalTokens).toBe(prompt + completion);
  });

  it('streams through @ai-sdk/openai-compatible with includeUsage', async () => {
    const result = streamText({ model: compatModel(), system: 'be brief', prompt: 'ping' });
    expect((await collect(result)).join('')).toBe('Echo: ping');
    const body = fake.requests()[0];
    expect(body.stream_options?.include_usage).toBe(true);
    expect(body.messages).toHaveLength(2);
    const usage = await result.usage;
    expect(usage.inputTokens).toBe(promptTokensFor(body.messages));
    expect(usage.outputTokens).toBe(tokensFor('Echo: ping'));
  });

  it('answers non-streaming requests with a full chat.completion', async () => {
    const { text, usage, finishReason } = await generateText({ model: openaiModel(), prompt: 'abc' });
    expect(text).toBe('Echo: abc');
    expect(finishReason).toBe('stop');
    expect(fake.requests()[0].stream).not.toBe(true);
    expect(usage.outputTokens).toBe(tokensFor('Echo: abc'));
  });

  it('serves scripted text with explicit chunks, usage and finish_reason length', async () => {
    fake.enqueue({ kind: 'text', text: '', chunks: ['Hel', 'lo', ' wor'], finishReason: 'length', usage: { prompt_tokens: 7, completion_tokens: 3 } });
    const result = streamText({ model: openaiModel(), prompt: 'x' });
    expect(await collect(result)).toEqual(['Hel', 'lo', ' wor']);
    expect(await result.finishReason).toBe('length');
    const usage = await result.usage;
    expect([usage.inputTokens, usage.outputTokens, usage.totalTokens]).toEqual([7, 3, 10]);
  });

  it('split UTF-8 writes still yield the exact text', async () => {
    const text = 'héllo 😀 wörld 👨‍👩‍👧 ' + 'é'.repeat(50) + ' 日本語';
    fake.enqueue({ kind: 'text', text, splitWrites: true });
    const result = streamText({ model: compatModel(), prompt: 'x' });
    const parts = await collect(result);
    expect(parts.join('')).toBe(text);
    for (const p of parts) expect(p).not.toMatch(/\uFFFD/);
  });

  it('setDefault replaces the reply generator; reset restores echo', async () => {
    fake.setDefault((req) => `model=${req.model}`);
    expect((await generateText({ model: openaiModel(), prompt: 'x' })).text).toBe('model=gpt-4o-mini');
    fake.reset();
    expect((await generateText({ model: openaiModel(), prompt: 'y' })).text).toBe('Echo: y');
  });

  it('retries a 429 (retry-after-ms) and then succeeds', async () => {
    fake.enqueue(rateLimited(20));
    const result = streamText({ model: openaiModel(), prompt: 'again', maxRetries: 1 });
    expect((await collect(result)).join('')).toBe('Echo: again');
    expect(fake.requests()).toHaveLength(2);
    expect(fake.journal[1].at - fake.journal[0].at).toBeGreaterThanOrEqual(15);
  });

  it('surfaces a 500 as an error when maxRetries is 0', async () => {
    fake.enqueue({ kind: 'error', status: 500 });
    await expect(generateText({ model: openaiModel(), prompt: 'x', maxRetries: 0 })).rejects.toMatchObject({
      statusCode: 500,
      message: expect.stringContaining('server had an error'),
    });

    fake.enqueue({ kind: 'error', status: 500 });
    const errors: unknown[] = [];
    const result = streamText({ model: openaiModel(), prompt: 'x', maxRetries: 0, onError: ({ error }) => void errors.push(error) });
    await collect(result).catch(() => {});
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ statusCode: 500 });
    expect(fake.requests()).toHaveLength(2);
  });

  it('surfaces insufficient_quota after retries are exhausted', async () => {
    fake.enqueue(insufficientQuota(), insufficientQuota());
    await expect(generateText({ model: openaiModel(), prompt: 'x', maxRetries: 1 })).rejects.toThrow(/quota/);
    expect(fake.requests()).toHaveLength(2);
  });

  it('a hang is aborted by an AbortSignal', async () => {
    fake.enqueue({ kind: 'hang' });
    const started = Date.now();
    await expect(
      generateText({ model: openaiModel(), prompt: 'x', maxRetries: 0, abortSignal: AbortSignal.timeout(150) }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('slow first byte is still delivered', async () => {
    fake.enqueue({ kind: 'text', text: 'late answer', firstByteDelayMs: 100, delayMsBetweenChunks: 5 });
    const result = streamText({ model: openaiModel(), prompt: 'x' });
    expect((await collect(result)).join('')).toBe('late answer');
  });

  it('parses tool calls from a stream (parallel, interleaved, split UTF-8)', async () => {
    fake.enqueue({
      kind: 'tool_calls',
      calls: [
        { id: 'call_a', name: 'get_weather', arguments: JSON.stringify({ city: 'Zürich 🌧️' }) },
        { id: 'call_b', name: 'get_weather', arguments: JSON.stringify({ city: 'Paris' }) },
      ],
      argumentChunkSize: 3,
      splitWrites: true,
    });
    const result = streamText({
      model: openaiModel(),
      prompt: 'weather?',
      tools: { get_weather: tool({ description: 'Weather', inputSchema: z.object({ city: z.string() }) }) },
    });
    const calls = await result.toolCalls;
    expect(calls.map((c) => [c.toolCallId, c.toolName, c.input])).toEqual([
      ['call_a', 'get_weather', { city: 'Zürich 🌧️' }],
      ['call_b', 'get_weather', { city: 'Paris' }],
    ]);
    expect(await result.finishReason).toBe('tool-calls');
    expect(fake.requests()[0].tools?.[0].function.name).toBe('get_weather');
  });

  it('generateText parses non-streaming tool calls', async () => {
    fake.enqueue({ kind: 'tool_calls', calls: [{ name: 'add', arguments: '{"a":2,"b":3}' }] });
    const { toolCalls, finishReason } = await generateText({
      model: openaiModel(),
      prompt: 'add 2 and 3',
      tools: { add: tool({ inputSchema: z.object({ a: z.number(), b: z.number() }) }) },
    });
    expect(finishReason).toBe('tool-calls');
    expect(toolCalls).toHaveLength(1);
    expect(toolCalls[0]).toMatchObject({ toolName: 'add', input: { a: 2, b: 3 } });
  });

  it('stream_error and malformed frames surface as stream errors', async () => {
    for (const script of [
      { kind: 'stream_error', afterChunks: 2, message: 'upstream exploded' },
      { kind: 'malformed' },
    ] as const) {
      fake.enqueue(script);
      const errors: unknown[] = [];
      const result = streamText({ model: openaiModel(), prompt: 'x y z', onError: ({ error }) => void errors.push(error) });
      await collect(result).catch((e) => errors.push(e));
      expect(errors.length).toBeGreaterThan(0);
    }
  });

  it('a connection reset is surfaced (no retries)', async () => {
    fake.enqueue({ kind: 'reset' });
    await expect(generateText({ model: openaiModel(), prompt: 'x', maxRetries: 0 })).rejects.toThrow();
  });

  it('omitUsage / omitDone: the stream still ends and text is complete', async () => {
    fake.enqueue({ kind: 'text', text: 'cut short', omitUsage: true, omitDone: true });
    const result = streamText({ model: openaiModel(), prompt: 'x' });
    expect((await collect(result)).join('')).toBe('cut short');
    expect((await result.usage).inputTokens).toBeUndefined();
  });
});

describe('fake OpenAI server raw routes', () => {
  it('lists and gets models, 404s unknown routes in OpenAI shape with x-request-id', async () => {
    const list: any = await fetch(`${fake.url}/models`).then((r) => r.json());
    expect(list.object).toBe('list');
    expect(list.data[0]).toMatchObject({ id: 'gpt-4o-mini', object: 'model' });
    const one = await fetch(`${fake.url}/models/gpt-4o`);
    expect(((await one.json()) as any).id).toBe('gpt-4o');
    const missing = await fetch(`${fake.url}/models/nope`);
    expect(missing.status).toBe(404);
    const unknown = await fetch(`${fake.url}/nothing`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-request-id')).toMatch(/^req_/);
    expect(((await unknown.json()) as any).error).toMatchObject({ type: 'invalid_request_error', code: null });
  });

  it('raw SSE framing: role delta first, usage:null on chunks, usage chunk with empty choices, [DONE]', async () => {
    const res = await fetch(`${fake.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'a b' }] }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, '')));
    expect(chunks[0].choices[0].delta).toMatchObject({ role: 'assistant', content: '' });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    const usageChunk = chunks.at(-1);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: tokensFor('Echo: a b'), total_tokens: 4 + tokensFor('Echo: a b') });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.slice(1, -2).map((c) => c.choices[0].delta.content).join('')).toBe('Echo: a b');
  });

  it('splitWrites really splits a multi-byte UTF-8 character across network reads', async () => {
    fake.enqueue({ kind: 'text', text: 'ü ü ü', splitWrites: true });
    const res = await fetch(`${fake.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    const reads: Uint8Array[] = [];
    for await (const chunk of res.body!) reads.push(chunk);
    const endsMidChar = (b: Uint8Array) => b.length > 0 && b[b.length - 1] === 0xc3; // lead byte of 'ü'
    expect(reads.some(endsMidChar)).toBe(true);
    expect(Buffer.concat(reads).toString('utf8')).toContain('data: [DONE]');
  });

  it('embeddings: base64 by default, float on request, identical values', async () => {
    const post = (body: object) =>
      fetch(`${fake.url}/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
    const b64 = await post({ model: 'text-embedding-3-small', input: ['hi', 'there'] });
    const flt = await post({ model: 'text-embedding-3-small', input: ['hi', 'there'], encoding_format: 'float', dimensions: 4 });
    const buf = Buffer.from(b64.data[1].embedding, 'base64');
    const decoded = Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(i * 4));
    expect(decoded).toEqual(fakeEmbedding('there', 8));
    expect(flt.data[1].embedding).toEqual(fakeEmbedding('there', 4));
    expect(flt.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 }); // ceil(2/4) + ceil(5/4)
  });

  it('enforces apiKey when configured', async () => {
    const locked = await startFakeOpenAI({ apiKey: 'sk-right' });
    try {
      const bad = createOpenAI({ baseURL: locked.url, apiKey: 'sk-wrong' }).chat('gpt-4o-mini');
      await expect(generateText({ model: bad, prompt: 'x', maxRetries: 0 })).rejects.toMatchObject({ statusCode: 401 });
      const good = createOpenAI({ baseURL: locked.url, apiKey: 'sk-right' }).chat('gpt-4o-mini');
      expect((await generateText({ model: good, prompt: 'ok' })).text).toBe('Echo: ok');
    } finally {
      await locked.close();
    }
  });
});

describe('fake OpenAI audio and images (PROTOCOLS.md §7), through the AI SDK and our speech adapter', () => {
  const provider = () => ({ name: 'openai', kind: 'openai' as const, baseUrl: fake.url, apiKey: 'k', models: [], source: 'env' as const });
  const wav = () => {
    const b = Buffer.alloc(44 + 8000, 0x80);
    b.write('RIFF', 0); b.writeUInt32LE(36 + 8000, 4); b.write('WAVE', 8); b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
    b.writeUInt32LE(8000, 24); b.writeUInt32LE(8000, 28); b.writeUInt16LE(1, 32); b.writeUInt16LE(8, 34); b.write('data', 36); b.writeUInt32LE(8000, 40);
    return new Uint8Array(b);
  };

  it('transcribes multipart uploads: the file with its extension and the model; scripted text, then the default', async () => {
    const { aiSdkSpeech } = await import('../../src/llm/ai-sdk-adapter.js');
    const speech = aiSdkSpeech({ timeoutMs: 3000, maxRetries: 0 });
    fake.enqueueTranscription({ text: 'Where is my order?' });
    expect((await speech.transcribe({ provider: provider(), modelName: 'whisper-1', audio: wav(), mimeType: 'audio/wav' })).text).toBe('Where is my order?');
    expect((await speech.transcribe({ provider: provider(), modelName: 'gpt-4o-mini-transcribe', audio: wav(), mimeType: 'audio/wav' })).text).toBe('This is a fake transcript.');
    const [first, second] = fake.transcriptions();
    expect(first).toMatchObject({ model: 'whisper-1', filename: expect.stringMatching(/\.wav$/) });
    expect(first!.bytes.length).toBe(8044);
    expect(second!.model).toBe('gpt-4o-mini-transcribe');
  });

  it('refuses a transcription without a file, with an unknown format, or when scripted to fail', async () => {
    const post = (form: FormData) => fetch(`${fake.url}/audio/transcriptions`, { method: 'POST', body: form });
    const noFile = new FormData(); noFile.set('model', 'whisper-1');
    expect(await (await post(noFile)).json()).toMatchObject({ error: { param: 'file' } });
    const badExt = new FormData(); badExt.set('model', 'whisper-1'); badExt.set('file', new Blob([wav()]), 'note.txt');
    const r = await post(badExt);
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).error.message).toContain('Invalid file format');
    fake.enqueueTranscription({ kind: 'error', status: 500 });
    const ok = new FormData(); ok.set('model', 'whisper-1'); ok.set('file', new Blob([wav()]), 'note.wav');
    expect((await post(ok)).status).toBe(500);
    const text = new FormData(); text.set('model', 'whisper-1'); text.set('file', new Blob([wav()]), 'note.wav'); text.set('response_format', 'text');
    expect(await (await post(text)).text()).toBe('This is a fake transcript.');
  });

  it('speaks: audio bytes of the requested format, the request recorded', async () => {
    const { aiSdkSpeech } = await import('../../src/llm/ai-sdk-adapter.js');
    const speech = aiSdkSpeech({ timeoutMs: 3000, maxRetries: 0 });
    const opus = await speech.speak({ provider: provider(), modelName: 'gpt-4o-mini-tts', text: 'Your order ships today.', voice: 'coral', format: 'opus' });
    expect(opus.mimeType).toBe('audio/ogg');
    expect(Buffer.from(opus.audio).subarray(0, 4).toString()).toBe('OggS');
    expect(Buffer.from(opus.audio).includes(Buffer.from('OpusHead'))).toBe(true);
    const mp3 = await speech.speak({ provider: provider(), modelName: 'tts-1', text: 'Hello', voice: 'alloy' });
    expect(mp3.mimeType).toBe('audio/mpeg');
    expect([...mp3.audio.subarray(0, 2)]).toEqual([0xff, 0xfb]);
    expect(fake.speeches()).toEqual([
      { model: 'gpt-4o-mini-tts', input: 'Your order ships today.', voice: 'coral', responseFormat: 'opus' },
      { model: 'tts-1', input: 'Hello', voice: 'alloy', responseFormat: 'mp3' },
    ]);
    const tooLong = await fetch(`${fake.url}/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tts-1', voice: 'alloy', input: 'x'.repeat(4097) }) });
    expect(tooLong.status).toBe(400);
  });

  it('records the image parts of chat requests', async () => {
    const openai = createOpenAI({ apiKey: 'k', baseURL: fake.url });
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    await generateText({ model: openai.chat('gpt-4o-mini'), messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image', image: new Uint8Array(png), mediaType: 'image/png' }] }] });
    expect(fake.imageParts()).toEqual([{ url: expect.stringMatching(/^data:image\/png;base64,/), mediaType: 'image/png', bytes: png.length, messageIndex: 0 }]);
    expect(fake.requests().at(-1)!.messages![0].content[0]).toEqual({ type: 'text', text: 'What is this?' });
  });
});
