/**
 * A customer's plan, enforced by the API where it matters: messages per month across their agents,
 * the tools their agents may use, the end of a trial, and suspension — never only hidden in the UI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

describe('plan limits at chat time', () => {
  let app: TestApp;
  let owner: string;
  let customer: { id: string; token: string };

  const talk = (agentId: string, text: string, token = customer.token) => app.api(`/api/agents/${agentId}/message`, { token, body: { text, userId: 'visitor' } });

  beforeAll(async () => {
    app = await startTestApp();
    owner = await app.owner();
    const u = await app.api('/api/users', { token: owner, body: { email: 'plan@example.com', password: 'correct horse battery', role: 'customer' } });
    const login = await app.api('/api/auth/login', { body: { email: 'plan@example.com', password: 'correct horse battery' } });
    customer = { id: u.body.id, token: login.body.token };
    // A small plan, put on by hand (no Stripe here).
    const plan = await app.api('/api/plans/tiny', { method: 'PUT', token: owner, body: { name: 'Tiny', description: 'For tests', priceUsdMonth: 1, maxAgents: 2, monthlyMessages: 3, monthlyCostUsd: 5, tools: ['memory'], trialDays: 0, sort: 9 } });
    expect([200, 201]).toContain(plan.status);
    const set = await app.api(`/api/customers/${customer.id}/plan`, { method: 'PUT', token: owner, body: { planId: 'tiny', status: 'active' } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
  });
  afterAll(() => app?.close());

  it('counts messages across all the customer\'s agents against the plan', async () => {
    const a = (await app.api('/api/agents', { token: customer.token, body: { name: 'Plan One' } })).body;
    const b = (await app.api('/api/agents', { token: customer.token, body: { name: 'Plan Two' } })).body;
    expect((await talk(a.id, 'one')).body.reply).toBe('Echo: one');
    expect((await talk(b.id, 'two')).body.reply).toBe('Echo: two');
    expect((await talk(a.id, 'three')).body.reply).toBe('Echo: three');
    const before = app.fake.requests().length;
    const fourth = await talk(b.id, 'four');
    expect(fourth.status).toBe(200);
    expect(fourth.body.reply).toMatch(/used up its budget/);
    expect(app.fake.requests().length).toBe(before); // no model call
    // The plan's agent limit holds too.
    const third = await app.api('/api/agents', { token: customer.token, body: { name: 'Plan Three' } });
    expect(third.status).toBe(403);
  });

  it('lets simultaneous creates fill the plan, never exceed it', async () => {
    const u = await app.api('/api/users', { token: owner, body: { email: 'race@example.com', password: 'correct horse battery', role: 'customer' } });
    const t = (await app.api('/api/auth/login', { body: { email: 'race@example.com', password: 'correct horse battery' } })).body.token;
    await app.api(`/api/customers/${u.body.id}/plan`, { method: 'PUT', token: owner, body: { planId: 'tiny', status: 'active' } });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => app.api('/api/agents', { token: t, body: { name: `Racer ${i}` } })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(2);
    expect(results.filter((r) => r.status === 403).every((r) => r.body.error.code === 'plan_limit')).toBe(true);
    expect((await app.api('/api/agents', { token: t })).body.agents).toHaveLength(2);
  });

  it('keeps tools outside the plan out of the model\'s reach', async () => {
    const [a] = (await app.api('/api/agents', { token: customer.token })).body.agents;
    const r = await app.api(`/api/agents/${a.id}`, { method: 'PATCH', token: customer.token, body: { tools: { allow: ['group:web', 'group:memory'], deny: [] } } });
    expect(r.status).toBe(200);
    expect(r.body.tools.effective).toEqual(['memory_search', 'memory_get', 'memory_write']);
    expect(r.body.tools.unavailable).toContainEqual({ name: 'web_fetch', reason: 'not included in the plan (needs "web_fetch")' });
  });

  it('silences the agents of an ended trial and of a suspended customer, politely', async () => {
    const ops = (await app.api('/api/agents', { token: owner, body: { name: 'Ops Agent' } })).body;
    const [a] = (await app.api('/api/agents', { token: customer.token })).body.agents;
    await app.api(`/api/customers/${customer.id}/plan`, { method: 'PUT', token: owner, body: { planId: 'trial', status: 'trialing' } });
    await app.server.services.store.plans.setBilling(customer.id, { trialEndsAt: '2000-01-01T00:00:00.000Z' });
    const before = app.fake.requests().length;
    const ended = await talk(a.id, 'hello?', owner);
    expect(ended.body.reply).toBe(`Sorry — ${a.name} is not available right now.`);
    expect(app.fake.requests().length).toBe(before);
    // An operator's own agents are not affected.
    expect((await talk(ops.id, 'hi', owner)).body.reply).toBe('Echo: hi');

    await app.api(`/api/customers/${customer.id}/plan`, { method: 'PUT', token: owner, body: { planId: null } });
    expect((await talk(a.id, 'back?', owner)).body.reply).toBe('Echo: back?');
    expect((await app.api(`/api/users/${customer.id}/suspend`, { method: 'POST', token: owner })).status).toBe(200);
    expect((await talk(a.id, 'and now?', owner)).body.reply).toBe(`Sorry — ${a.name} is not available right now.`);
    expect((await app.api('/api/agents', { token: customer.token })).status).toBe(401);
  });
});
