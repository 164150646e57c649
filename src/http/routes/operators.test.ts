/** Budgets, alerts, approvals, the audit log, analytics, plans, customers and billing. */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { routeFixture, routeTable, type Fixture } from '../../../test/helpers/route-table.js';

describe('budget, approval, audit, analytics and billing routes', () => {
  let f: Fixture;
  beforeAll(async () => { f = await routeFixture(); });
  afterAll(() => f?.close());

  routeTable(() => f, [
    { name: 'an agent\'s budget', as: 'customer', path: '/api/agents/:agent/budget', status: 200, check: (b, fx) => expect(b).toMatchObject({ agentId: fx.ids.agent, state: 'normal', spentUsd: 0 }) },
    { name: 'another customer\'s budget is not found', as: 'other', path: '/api/agents/:agent/budget', status: 404 },
    { name: 'budget alerts', as: 'customer', path: '/api/alerts', status: 200, check: (b) => expect(b.alerts).toEqual([]) },
    { name: 'an unknown alert is not found', as: 'customer', path: '/api/alerts/nope/ack', body: {}, status: 404 },
    { name: 'alert settings (operators)', as: 'auditor', path: '/api/settings/alerts', status: 200, check: (b) => expect(b).toMatchObject({ webhookUrl: null, email: null }) },
    { name: 'customers do not see alert settings', as: 'customer', path: '/api/settings/alerts', status: 403 },
    { name: 'auditors cannot change alert settings', as: 'auditor', method: 'PUT', path: '/api/settings/alerts', body: { webhookUrl: 'https://example.com/hook' }, status: 403 },
    { name: 'names a bad webhook URL', as: 'owner', method: 'PUT', path: '/api/settings/alerts', body: { webhookUrl: 'not a url' }, status: 400, field: 'webhookUrl' },
    { name: 'approvals', as: 'customer', path: '/api/approvals', status: 200, check: (b) => expect(b.approvals).toEqual([]) },
    { name: 'names a bad approval status', as: 'customer', path: '/api/approvals?status=maybe', status: 400, field: 'status' },
    { name: 'an unknown approval is not found', as: 'owner', path: '/api/approvals/nope/approve', body: {}, status: 404 },
    { name: 'the audit log', as: 'auditor', path: '/api/audit?action=auth.*', status: 200, check: (b) => expect(b.entries.length).toBeGreaterThan(0) },
    { name: 'customers do not read the audit log', as: 'customer', path: '/api/audit', status: 403 },
    { name: 'names a bad audit limit', as: 'owner', path: '/api/audit?limit=0', status: 400, field: 'limit' },
    { name: 'the audit log needs a sign-in', as: 'anonymous', path: '/api/audit', status: 401 },
    { name: 'analytics', as: 'customer', path: '/api/analytics', status: 200, check: (b) => expect(b.totals.messages).toBe(0) },
    { name: 'a CSV needs a table', as: 'customer', path: '/api/analytics?format=csv', status: 400, field: 'table' },
    { name: 'another customer\'s analytics are not found', as: 'other', path: '/api/analytics?agentId=:agent', status: 404 },
    { name: 'plans are public', as: 'anonymous', path: '/api/plans', status: 200, check: (b) => expect(Array.isArray(b.plans)).toBe(true) },
    { name: 'auditors cannot change plans', as: 'auditor', method: 'PUT', path: '/api/plans/gold', body: { name: 'Gold', priceUsdMonth: 9, maxAgents: 3 }, status: 403 },
    { name: 'creates a plan', as: 'owner', method: 'PUT', path: '/api/plans/gold', body: { name: 'Gold', priceUsdMonth: 9, maxAgents: 3 }, status: 201, check: (b) => expect(b).toMatchObject({ id: 'gold', maxAgents: 3 }) },
    { name: 'your billing', as: 'customer', path: '/api/billing', status: 200, check: (b) => expect(b).toHaveProperty('usage') },
    { name: 'customers do not list customers', as: 'customer', path: '/api/customers', status: 403 },
    { name: 'auditors list customers', as: 'auditor', path: '/api/customers', status: 200, check: (b) => expect(b.customers.map((c: { email: string }) => c.email).sort()).toEqual(['alice@example.com', 'bob@example.com']) },
  ]);
});
