/**
 * Issue 14.1: an audit entry is written in the same transaction as its change. A change that fails
 * leaves no entry (audit-routes.test.ts), and an entry that cannot be written undoes the change:
 * here the audit table refuses every write inside transactions, and nothing the calls did remains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestServices, type TestServices } from '../helpers/test-services.js';
import type { Store } from '../../src/domain/ports.js';

describe('audit entries share their change\'s transaction', () => {
  let t: TestServices;
  let owner: string;
  let agentId: string;
  let failing = false;
  beforeAll(async () => {
    t = await makeTestServices();
    owner = (await t.as('owner')).token;
    agentId = (await t.request('/api/agents', { token: owner, body: { name: 'Steady', description: 'Before' } })).body.id;
    // Services reach the store through this object: from now on, a transaction's audit writes can be made to fail.
    const real = t.store.transaction.bind(t.store);
    t.store.transaction = (<T>(fn: (tx: Store) => Promise<T>) => real((tx) => fn(failing ? { ...tx, audit: { ...tx.audit, add: async () => { throw new Error('audit table unavailable'); } } } : tx))) as Store['transaction'];
    failing = true;
  });
  afterAll(async () => { await t?.close(); });

  it('rolls back an agent edit whose entry could not be written', async () => {
    const r = await t.request(`/api/agents/${agentId}`, { method: 'PATCH', token: owner, body: { description: 'After', monthlyBudgetUsd: 3 } });
    expect(r.status).toBe(500);
    expect(await t.store.agents.byId(agentId)).toMatchObject({ description: 'Before', monthlyBudgetUsd: null, version: 1 });
  });

  it('creates no agent, key, user or provider when their entries fail', async () => {
    expect((await t.request('/api/agents', { token: owner, body: { name: 'Ghost' } })).status).toBe(500);
    expect((await t.store.agents.list({})).map((a) => a.name)).toEqual(['Steady']);
    expect((await t.request('/api/keys', { token: owner, body: { name: 'ghost' } })).status).toBe(500);
    expect((await t.request('/api/keys', { token: owner })).body.keys).toEqual([]);
    expect((await t.request('/api/users', { token: owner, body: { email: 'ghost@example.com', password: 'correct horse battery', role: 'admin' } })).status).toBe(500);
    expect(await t.store.users.byEmailWithHash('ghost@example.com')).toBeUndefined();
    expect((await t.request('/api/providers', { token: owner, body: { name: 'ghost', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1' } })).status).toBe(500);
    expect(await t.store.providers.get('ghost')).toBeUndefined();
  });

  it('keeps a deleted agent when its entry fails', async () => {
    expect((await t.request(`/api/agents/${agentId}`, { method: 'DELETE', token: owner })).status).toBe(500);
    expect((await t.store.agents.byId(agentId))?.status).toBe('active');
    failing = false;
    expect((await t.request(`/api/agents/${agentId}`, { method: 'DELETE', token: owner })).status).toBe(204);
    expect((await t.store.audit.list(10, { targetId: agentId })).map((e) => e.action).sort()).toEqual(['agent.created', 'agent.deleted']);
  });
});
