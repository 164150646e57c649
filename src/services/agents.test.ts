import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestServices, type TestServices } from '../../test/helpers/test-services.js';
import type { Actor } from '../domain/types.js';

describe('agent service', () => {
  let t: TestServices;
  let owner: Actor, auditor: Actor, alice: Actor, bob: Actor;
  beforeAll(async () => {
    t = await makeTestServices();
    owner = (await t.as('owner')).actor;
    auditor = (await t.as('auditor')).actor;
    alice = (await t.as('customer', 'alice')).actor;
    bob = (await t.as('customer', 'bob')).actor;
  });
  afterAll(() => t?.close());

  it('creates an agent with a unique slug, owned by its creator', async () => {
    const a = await t.services.agents.create(alice, { name: 'Support Bot' });
    const b = await t.services.agents.create(bob, { name: 'Support Bot' });
    expect(a).toMatchObject({ slug: 'support-bot', ownerId: alice.user.id, status: 'active', version: 1 });
    expect(b.slug).not.toBe(a.slug);
    expect((await t.services.agents.list(alice)).map((x) => x.id)).toEqual([a.id]);
    expect((await t.services.agents.list(owner)).map((x) => x.id).sort()).toEqual([a.id, b.id].sort());
  });

  it('refuses a stale edit, and keeps customers and auditors where they belong', async () => {
    const a = await t.services.agents.create(alice, { name: 'Versioned' });
    const v2 = await t.services.agents.update(alice, a.id, { description: 'first' }, 1);
    expect(v2.version).toBe(2);
    await expect(t.services.agents.update(alice, a.id, { description: 'stale' }, 1)).rejects.toMatchObject({ status: 409, code: 'version_conflict' });
    await expect(t.services.agents.update(bob, a.id, { description: 'hijack' })).rejects.toMatchObject({ status: 404 });
    await expect(t.services.agents.update(auditor, a.id, { description: 'audit' })).rejects.toMatchObject({ status: 403 });
    await expect(t.services.agents.create(auditor, { name: 'No' })).rejects.toMatchObject({ status: 403 });
    expect((await t.services.agents.get(alice, a.id)).description).toBe('first');
  });

  it('counts a customer\'s agents against their plan', async () => {
    await t.services.billing.putPlan(owner, 'tiny', { name: 'Tiny', priceUsdMonth: 1, maxAgents: 1 });
    const carol = (await t.as('customer', 'carol')).actor;
    await t.services.billing.setCustomerPlan(owner, carol.user.id, { planId: 'tiny' });
    await t.services.agents.create(carol, { name: 'One' });
    await expect(t.services.agents.create(carol, { name: 'Two' })).rejects.toMatchObject({ status: 403, code: 'plan_limit' });
  });

  it('pauses and resumes, and a deleted agent is gone from lists but its record stays readable', async () => {
    const a = await t.services.agents.create(alice, { name: 'Short Lived' });
    expect((await t.services.agents.setStatus(alice, a.id, 'paused')).status).toBe('paused');
    expect((await t.services.agents.setStatus(alice, a.id, 'active')).status).toBe('active');
    await t.services.agents.remove(alice, a.id, { purge: false });
    expect((await t.services.agents.list(alice)).map((x) => x.id)).not.toContain(a.id);
    await expect(t.services.agents.get(alice, a.id)).rejects.toMatchObject({ status: 404 });
    expect((await t.services.agents.getRecord(alice, a.id)).status).toBe('deleted');
  });
});
