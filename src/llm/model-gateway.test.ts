/**
 * The model gateway books every kind of call the same way: admitted against the budget, reserved,
 * one usage row per attempt, the reservation settled with the real cost. A provider's failure falls
 * back to the next model; our own exception is neither retried nor relabelled as the provider's.
 * Typed in-memory fakes of the ports it is given (no network, no database).
 */
import { describe, expect, it } from 'vitest';
import { IMAGE_TOKENS, ProviderError, UNSEEN_IMAGE, type ChatModelPort, type EmbeddingPort, type ModelRequest, type ModelStreamEvent, type SpeechPort } from '../domain/ports.js';
import type { Agent, ProviderConfig, UsageRecord } from '../domain/types.js';
import { AGENT_DEFAULTS } from '../domain/schemas.js';
import { BudgetStop, type BudgetService, type Hold } from '../services/budget.js';
import { modelGateway } from './model-gateway.js';

const provider: ProviderConfig = { name: 'fake', kind: 'openai', baseUrl: null, apiKey: null, models: [], source: 'env' };
const agent = {
  ...AGENT_DEFAULTS, id: 'agent-1', slug: 'helper', name: 'Helper', description: '', icon: '', persona: { soul: '', agents: '', tools: '', user: '', instructions: '' },
  model: 'fake:primary', fallbackModel: 'fake:cheap', temperature: 0, status: 'active', listed: false, ownerId: 'owner-1', version: 1,
  siteUrl: null, stack: null, pausedReason: null, toolPolicy: null, plugins: [], createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
} as Agent;

/** One scripted answer per model name: text pieces, or an error thrown before any text. */
type Script = Record<string, { text: string[] } | { error: Error }>;

function setup(opts: { script?: Script; stop?: boolean; downgraded?: boolean; vectors?: number[][]; speechFails?: Error;
  /** The models that accept images (default: every model). */
  vision?: string[] } = {}) {
  const calls: string[] = [];
  /** The turns each chat attempt was sent, by model name. */
  const sent: { model: string; messages: ModelRequest['messages'] }[] = [];
  const rows: Omit<UsageRecord, 'id' | 'createdAt'>[] = [];
  const reserved: { model: string; inputTokens: number; maxOutputTokens: number; media?: object }[] = [];
  const settled: number[] = [];
  const llm: ChatModelPort = {
    async *stream(req: ModelRequest): AsyncIterable<ModelStreamEvent> {
      calls.push(req.modelName);
      sent.push({ model: req.modelName, messages: req.messages });
      const s = opts.script?.[req.modelName] ?? { text: ['ok'] };
      if ('error' in s) throw s.error;
      for (const t of s.text) yield { type: 'text', text: t };
      yield { type: 'finish', usage: { inputTokens: 10, outputTokens: 5 }, finishReason: 'stop' };
    },
    listModels: async () => undefined,
  };
  const embeddings: EmbeddingPort = {
    async embed(req) { calls.push(`embed:${req.modelName}`); return { vectors: opts.vectors ?? req.texts.map(() => [1, 0]), tokens: 7 }; },
  };
  const speech: SpeechPort = {
    async transcribe(req) { calls.push(`transcribe:${req.modelName}:${req.mimeType}`); if (opts.speechFails) throw opts.speechFails; return { text: 'hello there', durationSeconds: 30, language: 'en' }; },
    async speak(req) { calls.push(`speak:${req.modelName}:${req.voice}:${req.format}`); if (opts.speechFails) throw opts.speechFails; return { audio: new Uint8Array([1, 2, 3]), mimeType: 'audio/ogg' }; },
  };
  const budget: Pick<BudgetService, 'plan' | 'reserve' | 'settle'> = {
    plan: async () => (opts.stop ? { state: 'stopped', stop: new BudgetStop('Budget spent.', 'agent') } : { state: opts.downgraded ? 'downgraded' : 'normal' }),
    async reserve(r) { reserved.push({ model: r.model, inputTokens: r.inputTokens, maxOutputTokens: r.maxOutputTokens, ...(r.media ? { media: r.media } : {}) }); return { id: `hold-${reserved.length}`, keys: [] } satisfies Hold; },
    async settle(hold, _agent, usd, row) { if (hold) settled.push(usd); if (row) rows.push(row); },
  };
  const gateway = modelGateway({
    llm, budget, log: { debug() {}, warn() {}, info() {}, error() {}, child() { return this; } } as never,
    providers: { resolve: async (model) => ({ provider, modelName: (model ?? 'fake:primary').split(':')[1]!, model: model ?? 'fake:primary' }) },
    // Tokens at $1 per thousand; speech at $0.006 a minute heard and $15 per million characters spoken.
    prices: { cost: async (_model, u, media) => ({ costUsd: (u.inputTokens + u.outputTokens) / 1000 + ((media?.audioSeconds ?? 0) / 60) * 0.006 + (media?.characters ?? 0) * 15e-6, priced: true }),
      acceptsImages: async (model) => !opts.vision || opts.vision.includes(model) },
    embeddings: { port: embeddings, model: 'fake:embed' },
    speech: { port: speech, sttModel: 'fake:whisper', ttsModel: 'fake:tts' },
  });
  return { gateway, calls, rows, reserved, settled, sent };
}

const call = { agent, model: agent.model, fallbackModel: agent.fallbackModel, system: 'Be brief.', messages: [{ role: 'user' as const, content: 'hi' }], temperature: 0, channel: 'api' as const, conversationId: null, purpose: 'chat' as const };

const photo = { type: 'image' as const, data: new Uint8Array([1, 2, 3]), mimeType: 'image/png' };
/** A photo sent earlier (only an image), an answer, then a question with another photo. */
const withImages = {
  ...call, messages: [
    { role: 'user' as const, content: [photo] },
    { role: 'assistant' as const, content: 'A red car.' },
    { role: 'user' as const, content: [{ type: 'text' as const, text: 'And this one?' }, photo] },
  ],
};

describe('model gateway', () => {
  it('reserves, records one usage row and settles the real cost for a reply', async () => {
    const t = setup({ script: { primary: { text: ['Hel', 'lo'] } } });
    const r = await t.gateway.generate(call);
    expect(r).toMatchObject({ text: 'Hello', model: 'fake:primary', costUsd: 0.015, downgraded: false });
    expect(t.reserved).toEqual([{ model: 'fake:primary', inputTokens: expect.any(Number), maxOutputTokens: agent.maxOutputTokens }]);
    expect(t.rows).toEqual([expect.objectContaining({ agentId: 'agent-1', purpose: 'chat', model: 'fake:primary', status: 'ok', inputTokens: 10, outputTokens: 5, costUsd: 0.015 })]);
    expect(t.settled).toEqual([0.015]);
  });

  it("falls back when the provider fails before any text, and books both attempts", async () => {
    const t = setup({ script: { primary: { error: new ProviderError('api', 'fake answered 500', 'fake', 500) }, cheap: { text: ['Fine'] } } });
    const r = await t.gateway.generate(call);
    expect(r).toMatchObject({ text: 'Fine', model: 'fake:cheap' });
    expect(t.calls).toEqual(['primary', 'cheap']);
    expect(t.rows.map((u) => [u.model, u.status])).toEqual([['fake:primary', 'error'], ['fake:cheap', 'ok']]);
    expect(t.settled).toHaveLength(2);
  });

  it('passes our own exception on unchanged: not relabelled as the provider, no fallback', async () => {
    const bug = new TypeError('cannot read properties of undefined');
    const t = setup({ script: { primary: { error: bug } } });
    await expect(t.gateway.generate(call)).rejects.toBe(bug);
    expect(t.calls).toEqual(['primary']);
    expect(t.rows).toEqual([expect.objectContaining({ status: 'error', error: 'internal: cannot read properties of undefined' })]);
    expect(t.settled).toEqual([0]);
  });

  it('decides vision per attempt: a fallback that cannot see is sent the text alone (told through onImagesDropped), reserved without images', async () => {
    const t = setup({ vision: ['fake:primary'], script: { primary: { error: new ProviderError('api', 'fake answered 500', 'fake', 500) }, cheap: { text: ['Fine'] } } });
    const dropped: string[] = [];
    const r = await t.gateway.generate({ ...withImages, onImagesDropped: (m) => dropped.push(m) });
    expect(r.model).toBe('fake:cheap');
    expect(dropped).toEqual(['fake:cheap']);
    const [first, second] = t.sent;
    expect(first!.messages.flatMap((m) => (typeof m.content === 'string' ? [] : m.content.filter((p) => p.type === 'image')))).toHaveLength(2);
    expect(second!.messages).toEqual([
      { role: 'user', content: UNSEEN_IMAGE },
      { role: 'assistant', content: 'A red car.' },
      { role: 'user', content: 'And this one?' },
    ]);
    // Both images are reserved for the model that sees them (IMAGE_TOKENS each), none for the one that does not.
    expect(t.reserved[0]!.inputTokens).toBeGreaterThanOrEqual(2 * IMAGE_TOKENS);
    expect(t.reserved[1]!.inputTokens).toBeLessThan(IMAGE_TOKENS);
  });

  it('sends images to the downgrade model when it sees though the main model does not, and says which model is called first', async () => {
    const t = setup({ vision: ['fake:cheap'], downgraded: true });
    const dropped: string[] = [];
    const r = await t.gateway.generate({ ...withImages, onImagesDropped: (m) => dropped.push(m) });
    expect(r).toMatchObject({ model: 'fake:cheap', downgraded: true });
    expect(dropped).toEqual([]);
    expect(t.sent[0]!.messages).toEqual(withImages.messages);
    expect(await t.gateway.seesImages({ agent, model: agent.model, fallbackModel: agent.fallbackModel })).toBe(true);
    // Not downgraded: the main model answers, and it cannot see.
    const normal = setup({ vision: ['fake:cheap'] });
    expect(await normal.gateway.seesImages({ agent, model: agent.model, fallbackModel: agent.fallbackModel })).toBe(false);
    await normal.gateway.generate({ ...withImages, onImagesDropped: (m) => dropped.push(m) });
    expect(dropped).toEqual(['fake:primary']);
    expect(normal.sent[0]!.messages.every((m) => typeof m.content === 'string')).toBe(true);
  });

  it('refuses a spent budget before calling or reserving anything, for replies and embeddings alike', async () => {
    const t = setup({ stop: true });
    await expect(t.gateway.generate(call)).rejects.toBeInstanceOf(BudgetStop);
    await expect(t.gateway.embed({ agent, texts: ['a note'], channel: 'api', conversationId: null })).rejects.toBeInstanceOf(BudgetStop);
    expect(t.calls).toEqual([]);
    expect(t.reserved).toEqual([]);
    expect(t.rows).toEqual([]);
  });

  it('meters embeddings like any call: reserved, one usage row with purpose embedding, settled', async () => {
    const t = setup({ vectors: [[0.5, 0.5]] });
    expect(await t.gateway.embed({ agent, texts: ['a note'], channel: 'api', conversationId: null })).toEqual([[0.5, 0.5]]);
    expect(t.calls).toEqual(['embed:embed']);
    expect(t.reserved).toEqual([{ model: 'fake:embed', inputTokens: expect.any(Number), maxOutputTokens: 0 }]);
    expect(t.rows).toEqual([expect.objectContaining({ purpose: 'embedding', model: 'fake:embed', inputTokens: 7, outputTokens: 0, costUsd: 0.007, status: 'ok' })]);
    expect(t.settled).toEqual([0.007]);
  });

  it('meters a transcription: reserved for its length, one usage row with purpose transcription, priced per minute heard', async () => {
    const t = setup();
    const r = await t.gateway.transcribe({ agent, personId: 'person-1', audio: new Uint8Array(10), mimeType: 'audio/ogg', durationSeconds: 20, channel: 'telegram', conversationId: 'c-1' });
    expect(r).toMatchObject({ text: 'hello there', durationSeconds: 30, model: 'fake:whisper' });
    expect(t.calls).toEqual(['transcribe:whisper:audio/ogg']);
    expect(t.reserved).toEqual([expect.objectContaining({ model: 'fake:whisper', media: { audioSeconds: 20 } })]);
    // The provider said 30 s: half a minute at $0.006, plus the transcript's tokens.
    expect(t.rows).toEqual([expect.objectContaining({ purpose: 'transcription', model: 'fake:whisper', channel: 'telegram', conversationId: 'c-1', status: 'ok', inputTokens: 0, outputTokens: expect.any(Number) })]);
    expect(t.rows[0]!.costUsd).toBeCloseTo(0.003 + t.rows[0]!.outputTokens / 1000, 8);
    expect(t.settled).toEqual([t.rows[0]!.costUsd]);
  });

  it('meters speech: one usage row with purpose speech, priced per character spoken', async () => {
    const t = setup();
    const r = await t.gateway.speak({ agent, text: 'Your order ships today.', voice: 'alloy', format: 'opus', channel: 'whatsapp', conversationId: null });
    expect(r).toMatchObject({ audio: new Uint8Array([1, 2, 3]), mimeType: 'audio/ogg', model: 'fake:tts' });
    expect(t.calls).toEqual(['speak:tts:alloy:opus']);
    expect(t.reserved).toEqual([expect.objectContaining({ model: 'fake:tts', media: { characters: 23 } })]);
    expect(t.rows).toEqual([expect.objectContaining({ purpose: 'speech', model: 'fake:tts', status: 'ok' })]);
    expect(t.rows[0]!.costUsd).toBeCloseTo(t.rows[0]!.inputTokens / 1000 + 23 * 15e-6, 8);
  });

  it('stops transcription and speech at a spent budget, like chat: nothing called, reserved or recorded', async () => {
    const t = setup({ stop: true });
    await expect(t.gateway.transcribe({ agent, audio: new Uint8Array(10), mimeType: 'audio/ogg', channel: 'web', conversationId: null })).rejects.toBeInstanceOf(BudgetStop);
    await expect(t.gateway.speak({ agent, text: 'hi', channel: 'web', conversationId: null })).rejects.toBeInstanceOf(BudgetStop);
    expect(t.calls).toEqual([]);
    expect(t.reserved).toEqual([]);
    expect(t.rows).toEqual([]);
  });

  it('records a failed transcription as an error row and settles it; without a model it says so', async () => {
    const t = setup({ speechFails: new ProviderError('api', 'fake answered 500', 'fake', 500) });
    await expect(t.gateway.transcribe({ agent, audio: new Uint8Array(10), mimeType: 'audio/ogg', channel: 'web', conversationId: null })).rejects.toBeInstanceOf(ProviderError);
    expect(t.rows).toEqual([expect.objectContaining({ purpose: 'transcription', status: 'error', error: 'fake answered 500', costUsd: 0 })]);
    expect(t.settled).toEqual([0]);
    const none = modelGateway({ llm: null as never, providers: null as never, prices: null as never, budget: null as never, log: null as never });
    expect(none.canTranscribe()).toBe(false);
    await expect(none.transcribe({ agent, audio: new Uint8Array(1), mimeType: 'audio/ogg', channel: 'web', conversationId: null })).rejects.toMatchObject({ kind: 'not_configured' });
  });
});
