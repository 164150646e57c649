import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageService } from './usage.js';
import { analyticsService } from './analytics.js';
import { makeTestServices, type TestServices } from '../../test/helpers/test-services.js';
import type { Actor } from '../domain/types.js';

/** Usage and analytics reports over a real (in-memory) store: the numbers, the series, and who sees what. */
describe('usage and analytics services', () => {
  let t: TestServices;
  let alice: Actor, bob: Actor, auditor: Actor;
  let aliceAgent: string, bobAgent: string;
  const row = (agentId: string, costUsd: number, model = 'openai:gpt-4o-mini') => ({
    agentId, conversationId: null, messageId: null, channel: 'web' as const, purpose: 'chat' as const, provider: 'openai', model,
    inputTokens: 100, outputTokens: 50, costUsd, ttftMs: 120, latencyMs: 400, status: 'ok' as const, error: null,
  });

  beforeAll(async () => {
    t = await makeTestServices();
    await t.as('owner');
    alice = (await t.as('customer', 'alice')).actor;
    bob = (await t.as('customer', 'bob')).actor;
    auditor = (await t.as('auditor')).actor;
    aliceAgent = (await t.services.agents.create(alice, { name: 'A' })).id;
    bobAgent = (await t.services.agents.create(bob, { name: 'B' })).id;
    t.clock.set('2026-03-08T10:00:00Z');
    await t.store.usage.insert(row(aliceAgent, 0.5));
    t.clock.set('2026-03-10T09:00:00Z');
    await t.store.usage.insert(row(aliceAgent, 0.25, 'anthropic:claude'));
    await t.store.usage.insert(row(bobAgent, 2));
    t.clock.set('2026-03-10T12:00:00Z');
  });
  afterAll(() => t?.close());

  const usage = () => usageService({ store: t.store, clock: t.clock });

  it('totals a customer\'s own agents only, with a day for every day of the range', async () => {
    const r = await usage().report(alice, { from: '2026-03-07', to: '2026-03-10' });
    expect(r.totals).toMatchObject({ requests: 2, inputTokens: 200, outputTokens: 100 });
    expect(r.totals.costUsd).toBeCloseTo(0.75);
    expect(r.series.map((d) => [d.date, d.requests])).toEqual([['2026-03-07', 0], ['2026-03-08', 1], ['2026-03-09', 0], ['2026-03-10', 1]]);
    expect(r.byAgent.map((a) => a.name)).toEqual(['A']);
    expect(r.byModel.map((m) => m.model).sort()).toEqual(['anthropic:claude', 'openai:gpt-4o-mini']);
  });

  it('covers the last 30 days by default, and every agent for operators', async () => {
    const r = await usage().report(auditor, {});
    expect([r.from, r.to]).toEqual(['2026-02-09', '2026-03-10']);
    expect(r.totals.requests).toBe(3);
  });

  it('does not find another customer\'s agent, and refuses a range that ends before it starts', async () => {
    await expect(usage().report(alice, { agentId: bobAgent })).rejects.toMatchObject({ status: 404 });
    await expect(usage().report(alice, { from: '2026-03-10', to: '2026-03-01' })).rejects.toMatchObject({ status: 400, extra: { fields: [{ path: 'from' }] } });
  });

  it('summarizes today and this month per agent', async () => {
    const s = await usage().summary(alice);
    expect(s.agents).toEqual([expect.objectContaining({ agentId: aliceAgent, today: expect.objectContaining({ requests: 1 }), month: expect.objectContaining({ requests: 2 }) })]);
  });

  it('analytics: the same scope, latency percentiles from the calls in range', async () => {
    const analytics = analyticsService({ store: t.store, clock: t.clock });
    const mine = await analytics.report(alice, { from: '2026-03-01', to: '2026-03-10' });
    expect(mine.totals.requests).toBe(2);
    expect(mine.byAgent.map((a) => a.agentId)).toEqual([aliceAgent]);
    expect(mine.latency).toMatchObject({ ttftP50Ms: 120, latencyP50Ms: 400 });
    const all = await analytics.report(auditor, { from: '2026-03-01', to: '2026-03-10' });
    expect(all.totals.requests).toBe(3);
    await expect(analytics.report(alice, { from: '2025-01-01', to: '2026-03-10' })).rejects.toMatchObject({ status: 400 });
  });
});
