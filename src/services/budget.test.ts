/**
 * The budget's reservation wait: a call refused while others hold reservations waits for them, and
 * is refused only once the budget is really spent — not because the holders happened to settle
 * between the refused attempt and the look at what is held, nor because the plan counted what they
 * held as spent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestServices, type TestServices } from '../../test/helpers/test-services.js';
import { silentLog, sequentialIds } from '../../test/helpers/fakes.js';
import { BudgetStop, budgetService } from './budget.js';
import type { Agent } from '../domain/types.js';
import type { Store } from '../domain/ports.js';

describe('budget reservations', () => {
  let t: TestServices;
  let agent: Agent;
  beforeEach(async () => {
    t = await makeTestServices();
    const { actor } = await t.as('owner');
    const created = await t.services.agents.create(actor, { name: 'Tight', monthlyBudgetUsd: 1 });
    agent = (await t.store.agents.byId(created.id))!;
  });
  afterEach(() => t.close());

  /** A budget service whose store runs `beforeLook` once, just before the first look at a refused scope. */
  function withLook(beforeLook: () => Promise<void>) {
    let once = true;
    const budget: Store['budget'] = Object.create(t.store.budget);
    budget.get = async (k) => {
      if (once) { once = false; await beforeLook(); }
      return t.store.budget.get(k);
    };
    const store = { ...t.store, budget } as Store;
    return budgetService({ store, prices: t.services.prices, providers: t.services.providers, clock: t.clock, ids: sequentialIds(), log: silentLog, queue: t.queue });
  }
  const call = { model: 'openai:gpt-4o-mini', inputTokens: 10, maxOutputTokens: 10 };
  const key = () => ({ scope: 'agent' as const, scopeId: agent.id, period: t.clock.now().toISOString().slice(0, 7) });

  it('admits a call refused while another held the budget, when that one settles for less before the wait looks', async () => {
    // Another call in flight holds the whole budget.
    expect(await t.store.budget.reserve('other', [{ key: key(), amountUsd: 1, limitUsd: 1 }], '2099-01-01T00:00:00.000Z')).toEqual({ ok: true });
    // It settles for a tenth of what it held right after this call's attempt was refused.
    const budget = withLook(async () => { await t.store.budget.settle('other', [{ key: key(), actualUsd: 0.1 }]); });
    const hold = await budget.reserve({ agent, ...call });
    expect(hold?.id).toBeTruthy();
    const now = await t.store.budget.get(key());
    expect(now.spentUsd).toBeCloseTo(0.1, 10);
    expect(now.reservedUsd).toBeGreaterThan(0);
  });

  it('refuses at once when the budget is spent, not merely held', async () => {
    await t.store.budget.reserve('spent', [{ key: key(), amountUsd: 1, limitUsd: 1 }], '2099-01-01T00:00:00.000Z');
    await t.store.budget.settle('spent', [{ key: key(), actualUsd: 1 }]);
    await expect(withLook(async () => {}).reserve({ agent, ...call })).rejects.toBeInstanceOf(BudgetStop);
  });

  it('plans a downgrade, not a stop, while calls in flight hold what is left; a spent budget stops', async () => {
    const budget = t.services.budget;
    // Calls in flight hold the whole budget: the next message is admitted (the cheaper model, if any),
    // and its reservation waits for them.
    expect(await t.store.budget.reserve('inflight', [{ key: key(), amountUsd: 1, limitUsd: 1 }], '2099-01-01T00:00:00.000Z')).toEqual({ ok: true });
    expect(await budget.plan(agent)).toEqual({ state: 'downgraded' });
    // They settle for the whole budget: now it is spent.
    await t.store.budget.settle('inflight', [{ key: key(), actualUsd: 1 }]);
    const spent = await budget.plan(agent);
    expect(spent.state).toBe('stopped');
    expect(spent.stop).toBeInstanceOf(BudgetStop);
  });
});
