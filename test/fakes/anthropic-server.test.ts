import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateText, streamText, tool } from 'ai';
import { createAnthropic } from '@ai-sdk/anthropic';
import { z } from 'zod';
import sharp from 'sharp';
import { ANTHROPIC_IMAGE_MAX_BYTES, anthropicInputTokensFor, anthropicTokensFor, startFakeAnthropic, type FakeAnthropic } from './anthropic-server.js';

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic({ apiKey: 'sk-ant-test' });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const model = () => createAnthropic({ baseURL: fake.url, apiKey: 'sk-ant-test' })('claude-sonnet-4-5');

async function collect(result: { textStream: AsyncIterable<string> }): Promise<string[]> {
  const parts: string[] = [];
  for await (const t of result.textStream) parts.push(t);
  return parts;
}

describe('fake Anthropic server via the AI SDK', () => {
  it('streams text and usage', async () => {
    const result = streamText({ model: model(), system: 'be nice', prompt: 'hello there' });
    const parts = await collect(result);
    expect(parts.join('')).toBe('Echo: hello there');
    expect(parts.length).toBeGreaterThan(1);

    const body = fake.requests()[0];
    expect(body.stream).toBe(true);
    expect(fake.journal[0].path).toBe('/v1/messages');
    expect(fake.journal[0].headers['x-api-key']).toBe('sk-ant-test');
    expect(fake.journal[0].headers['anthropic-version']).toBe('2023-06-01');

    const usage = await result.usage;
    expect(usage.inputTokens).toBe(anthropicInputTokensFor(body));
    expect(usage.outputTokens).toBe(anthropicTokensFor('Echo: hello there'));
    expect(await result.finishReason).toBe('stop');
  });

  it('non-streaming generateText', async () => {
    const { text, usage } = await generateText({ model: model(), prompt: 'abc' });
    expect(text).toBe('Echo: abc');
    expect(usage.outputTokens).toBe(anthropicTokensFor('Echo: abc'));
  });

  it('split UTF-8 writes and scripted usage', async () => {
    const text = 'Grüße 😀 👨‍👩‍👧 ' + '日本'.repeat(20);
    fake.enqueue({ kind: 'text', text, splitWrites: true, usage: { input_tokens: 11, output_tokens: 22 }, stopReason: 'max_tokens' });
    const result = streamText({ model: model(), prompt: 'x' });
    expect((await collect(result)).join('')).toBe(text);
    const usage = await result.usage;
    expect([usage.inputTokens, usage.outputTokens]).toEqual([11, 22]);
    expect(await result.finishReason).toBe('length');
  });

  it('records image blocks the AI SDK sends (base64 source, media type, size) and counts their tokens', async () => {
    const png = await sharp({ create: { width: 75, height: 40, channels: 3, background: { r: 200, g: 0, b: 0 } } }).png().toBuffer();
    const { text, usage } = await generateText({ model: model(), messages: [{ role: 'user', content: [{ type: 'text', text: 'What colour?' }, { type: 'image', image: new Uint8Array(png), mediaType: 'image/png' }] }] });
    expect(text).toBe('Echo: What colour?');
    const block = fake.requests()[0]!.messages![0].content[1];
    expect(block).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: png.toString('base64') } });
    expect(fake.imageParts()).toEqual([{ sourceType: 'base64', mediaType: 'image/png', bytes: png.length, messageIndex: 0, blockIndex: 1 }]);
    expect(usage.inputTokens).toBe(anthropicInputTokensFor(fake.requests()[0]!));
    expect(usage.inputTokens).toBeGreaterThanOrEqual(Math.ceil((75 * 40) / 750));
  });

  it('refuses an image as the API does: a type it does not take, bytes that are not the type said, over 5 MB', async () => {
    const post = (block: object) => fetch(`${fake.url}/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: [block] }] }),
    });
    const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } }).png().toBuffer();
    const bmp = await post({ type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: png.toString('base64') } });
    expect(bmp.status).toBe(400);
    expect(((await bmp.json()) as any).error).toEqual({ type: 'invalid_request_error', message: expect.stringContaining("Input should be 'image/jpeg'") });
    const lie = await post({ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: png.toString('base64') } });
    expect(((await lie.json()) as any).error.message).toContain('does not match the provided media type image/jpeg');
    const big = Buffer.concat([png, Buffer.alloc(ANTHROPIC_IMAGE_MAX_BYTES)]);
    const huge = await post({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: big.toString('base64') } });
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as any).error.message).toContain('image exceeds 5 MB maximum');
    // Refused requests are journalled, and their image blocks recorded, all the same.
    expect(fake.imageParts().map((p) => p.mediaType)).toEqual(['image/bmp', 'image/jpeg', 'image/png']);
  });

  it('tool_use blocks become toolCalls', async () => {
    fake.enqueue({ kind: 'tool_use', calls: [{ id: 'toolu_1', name: 'get_weather', input: { city: 'Zürich' } }], argumentChunkSize: 4 });
    const result = streamText({
      model: model(),
      prompt: 'weather?',
      tools: { get_weather: tool({ inputSchema: z.object({ city: z.string() }) }) },
    });
    const calls = await result.toolCalls;
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ toolCallId: 'toolu_1', toolName: 'get_weather', input: { city: 'Zürich' } });
    expect(await result.finishReason).toBe('tool-calls');
  });

  it('retries 429 (retry-after) and 529 overloaded, then succeeds', async () => {
    fake.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '0.02' } }, { kind: 'error', status: 529, headers: { 'retry-after': '0' } });
    const { text } = await generateText({ model: model(), prompt: 'again', maxRetries: 2 });
    expect(text).toBe('Echo: again');
    expect(fake.requests()).toHaveLength(3);
  });

  it('529 surfaces with maxRetries 0', async () => {
    fake.enqueue({ kind: 'error', status: 529 });
    await expect(generateText({ model: model(), prompt: 'x', maxRetries: 0 })).rejects.toMatchObject({ statusCode: 529 });
  });

  it('mid-stream error event is surfaced', async () => {
    fake.enqueue({ kind: 'stream_error', afterChunks: 1, message: 'Overloaded' });
    const errors: unknown[] = [];
    const result = streamText({ model: model(), prompt: 'x y', onError: ({ error }) => void errors.push(error) });
    await collect(result).catch((e) => errors.push(e));
    expect(errors.length).toBeGreaterThan(0);
  });

  it('a hang is aborted by an AbortSignal', async () => {
    fake.enqueue({ kind: 'hang' });
    await expect(
      generateText({ model: model(), prompt: 'x', maxRetries: 0, abortSignal: AbortSignal.timeout(150) }),
    ).rejects.toThrow();
  });

  it('rejects a wrong x-api-key with authentication_error', async () => {
    const bad = createAnthropic({ baseURL: fake.url, apiKey: 'nope' })('claude-sonnet-4-5');
    await expect(generateText({ model: bad, prompt: 'x', maxRetries: 0 })).rejects.toMatchObject({ statusCode: 401 });
    const res = await fetch(`${fake.url}/messages`, { method: 'POST', body: '{}' });
    expect(await res.json()).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
  });

  it('raw SSE framing has event names in order with a ping', async () => {
    const res = await fetch(`${fake.url}/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-test', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'a' }] }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const names = (await res.text()).split('\n\n').filter(Boolean).map((f) => f.split('\n')[0]);
    expect(names[0]).toBe('event: message_start');
    expect(names).toContain('event: ping');
    expect(names.slice(-3)).toEqual(['event: content_block_stop', 'event: message_delta', 'event: message_stop']);
  });
});
