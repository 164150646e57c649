/**
 * The model gateway books every kind of call the same way: admitted against the budget, reserved,
 * one usage row per attempt, the reservation settled with the real cost. A provider's failure falls
 * back to the next model; our own exception is neither retried nor relabelled as the provider's.
 * Typed in-memory fakes of the ports it is given (no network, no database).
 */
import { describe, expect, it } from 'vitest';
import { ProviderError, type ChatModelPort, type EmbeddingPort, type ModelRequest, type ModelStreamEvent } from '../domain/ports.js';
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

function setup(opts: { script?: Script; stop?: boolean; vectors?: number[][] } = {}) {
  const calls: string[] = [];
  const rows: Omit<UsageRecord, 'id' | 'createdAt'>[] = [];
  const reserved: { model: string; inputTokens: number; maxOutputTokens: number }[] = [];
  const settled: number[] = [];
  const llm: ChatModelPort = {
    async *stream(req: ModelRequest): AsyncIterable<ModelStreamEvent> {
      calls.push(req.modelName);
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
  const budget: Pick<BudgetService, 'plan' | 'reserve' | 'settle'> = {
    plan: async () => (opts.stop ? { state: 'stopped', stop: new BudgetStop('Budget spent.', 'agent') } : { state: 'normal' }),
    async reserve(r) { reserved.push({ model: r.model, inputTokens: r.inputTokens, maxOutputTokens: r.maxOutputTokens }); return { id: `hold-${reserved.length}`, keys: [] } satisfies Hold; },
    async settle(hold, _agent, usd, row) { if (hold) settled.push(usd); if (row) rows.push(row); },
  };
  const gateway = modelGateway({
    llm, budget, log: { debug() {}, warn() {}, info() {}, error() {}, child() { return this; } } as never,
    providers: { resolve: async (model) => ({ provider, modelName: (model ?? 'fake:primary').split(':')[1]!, model: model ?? 'fake:primary' }) },
    prices: { cost: async (_model, u) => ({ costUsd: (u.inputTokens + u.outputTokens) / 1000, priced: true }) },
    embeddings: { port: embeddings, model: 'fake:embed' },
  });
  return { gateway, calls, rows, reserved, settled };
}

const call = { agent, model: agent.model, fallbackModel: agent.fallbackModel, system: 'Be brief.', messages: [{ role: 'user' as const, content: 'hi' }], temperature: 0, channel: 'api' as const, conversationId: null, purpose: 'chat' as const };

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
});
