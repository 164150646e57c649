import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/fakes/openai-server.js';
import type { ModelStreamEvent, ModelTool } from '../domain/ports.js';
import type { ProviderConfig } from '../domain/types.js';
import { aiSdkChatModel } from './ai-sdk-adapter.js';

describe('the AI SDK adapter: a reply with tools offered', () => {
  let fake: FakeOpenAI;
  let provider: ProviderConfig;
  const port = aiSdkChatModel({ timeoutMs: 5000, maxRetries: 0 });
  const seen: unknown[] = [];
  const weather: ModelTool = {
    name: 'weather', description: 'The weather in a city',
    input: z.object({ city: z.string().trim().min(1) }),
    async execute(input: { city: string }) { seen.push(input); return `Sunny in ${input.city}`; },
  };
  const run = async (refuse?: (name: string, input: unknown) => Promise<string>) => {
    const events: ModelStreamEvent[] = [];
    for await (const ev of port.stream({ provider, modelName: 'gpt-4o-mini', system: 'Be brief.', messages: [{ role: 'user', content: 'Weather in Lisbon?' }], temperature: 0, tools: [weather], ...(refuse ? { refuse } : {}) })) events.push(ev);
    return events;
  };

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    provider = { name: 'openai', kind: 'openai', baseUrl: fake.url, apiKey: 'k', models: [], source: 'env' };
  });
  afterAll(() => fake?.close());

  it('answers plain text in one request, the tools offered to the model', async () => {
    const before = fake.requests().length;
    fake.enqueue({ kind: 'text', text: 'Hello there', usage: { prompt_tokens: 11, completion_tokens: 3 } });
    const events = await run();
    expect(fake.requests().length - before).toBe(1);
    expect(fake.requests().at(-1)!.tools?.map((t: { function: { name: string } }) => t.function.name)).toEqual(['weather']);
    expect(events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join('')).toBe('Hello there');
    expect(events.at(-1)).toMatchObject({ type: 'finish', usage: { inputTokens: 11, outputTokens: 3 } });
  });

  it('runs a tool the model calls with its checked input, then lets the model answer; the usage is both steps', async () => {
    const before = fake.requests().length;
    fake.enqueue(
      { kind: 'tool_calls', calls: [{ name: 'weather', arguments: '{"city":"  Lisbon "}' }], usage: { prompt_tokens: 20, completion_tokens: 5 } },
      { kind: 'text', text: 'It is sunny.', usage: { prompt_tokens: 30, completion_tokens: 4 } },
    );
    const events = await run();
    expect(fake.requests().length - before).toBe(2);
    expect(seen.at(-1)).toEqual({ city: 'Lisbon' }); // trimmed by the tool's schema
    expect(events.find((e) => e.type === 'tool')).toMatchObject({ name: 'weather', output: 'Sunny in Lisbon' });
    const second = fake.requests().at(-1)!.messages!;
    expect(second.at(-1)).toMatchObject({ role: 'tool', content: 'Sunny in Lisbon' });
    expect(events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join('')).toBe('It is sunny.');
    expect(events.at(-1)).toMatchObject({ type: 'finish', usage: { inputTokens: 50, outputTokens: 9 } });
  });

  it('refuses a tool the model was not offered, and a call whose input does not fit the schema, and goes on', async () => {
    fake.enqueue(
      { kind: 'tool_calls', calls: [{ name: 'exec', arguments: '{"cmd":"ls"}' }, { name: 'weather', arguments: '{"city":""}' }] },
      { kind: 'text', text: 'Sorry.' },
    );
    const refused: string[] = [];
    const events = await run(async (name) => { refused.push(name); return `Error: the tool "${name}" is not enabled for this agent.`; });
    expect(refused).toEqual(['exec']);
    const tools = events.filter((e) => e.type === 'tool') as { name: string; output: string }[];
    expect(tools.map((t) => t.name)).toEqual(['exec', 'weather']);
    expect(tools[1]!.output).toMatch(/^Invalid input for tool weather/);
    const told = fake.requests().at(-1)!.messages!.filter((m: { role: string }) => m.role === 'tool').map((m: { content: string }) => m.content);
    expect(told[0]).toMatch(/not enabled/);
    expect(events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join('')).toBe('Sorry.');
  });
});
