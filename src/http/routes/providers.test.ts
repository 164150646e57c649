import { afterAll, beforeAll, describe, expect } from 'vitest';
import { routeFixture, routeTable, type Fixture } from '../../../test/helpers/route-table.js';

describe('provider, price, settings and usage routes', () => {
  let f: Fixture;
  beforeAll(async () => { f = await routeFixture(); });
  afterAll(() => f?.close());

  routeTable(() => f, [
    { name: 'lists providers without keys', as: 'customer', path: '/api/providers', status: 200,
      check: (b) => { expect(b.configured).toBe(true); expect(JSON.stringify(b)).not.toContain('test-key'); } },
    { name: 'needs a sign-in', as: 'anonymous', path: '/api/providers', status: 401 },
    { name: 'adds a provider', as: 'owner', path: '/api/providers', body: { name: 'local', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1', models: ['llama3'] }, status: 201,
      check: (b) => expect(b).toMatchObject({ name: 'local', kind: 'openai-compatible' }) },
    { name: 'names a bad provider name', as: 'owner', path: '/api/providers', body: { name: 'Bad Name', kind: 'openai' }, status: 400, field: 'name' },
    { name: 'auditors cannot add providers', as: 'auditor', path: '/api/providers', body: { name: 'x', kind: 'openai' }, status: 403, code: 'forbidden' },
    { name: 'customers cannot add providers', as: 'customer', path: '/api/providers', body: { name: 'x', kind: 'openai' }, status: 403, code: 'forbidden' },
    { name: 'reads the settings', as: 'customer', path: '/api/settings', status: 200, check: (b) => expect(b).toMatchObject({ defaultModel: 'openai:gpt-4o-mini', defaultModelFromEnv: true }) },
    { name: 'changes the default price', as: 'owner', method: 'PATCH', path: '/api/settings', body: { defaultPrice: { inputPerM: 1, outputPerM: 2 } }, status: 200,
      check: (b) => expect(b.defaultPrice).toMatchObject({ inputPerM: 1, outputPerM: 2 }) },
    { name: 'names a bad price', as: 'owner', method: 'PATCH', path: '/api/settings', body: { defaultPrice: { inputPerM: -1, outputPerM: 2 } }, status: 400, field: 'defaultPrice.inputPerM' },
    { name: 'auditors cannot change settings', as: 'auditor', method: 'PATCH', path: '/api/settings', body: { defaultPrice: { inputPerM: 1, outputPerM: 2 } }, status: 403 },
    { name: 'overrides a price', as: 'owner', method: 'PUT', path: '/api/prices/openai:gpt-4o-mini', body: { inputPerM: 0.1, outputPerM: 0.2 }, status: 200, check: (b) => expect(b.source).toBe('override') },
    { name: 'customers cannot override prices', as: 'customer', method: 'PUT', path: '/api/prices/openai:gpt-4o-mini', body: { inputPerM: 0.1, outputPerM: 0.2 }, status: 403 },
    { name: 'usage of its own agents', as: 'customer', path: '/api/usage', status: 200, check: (b) => expect(b.totals.requests).toBe(0) },
    { name: 'usage of another customer\'s agent is not found', as: 'other', path: '/api/usage?agentId=:agent', status: 404 },
    { name: 'names a bad day', as: 'customer', path: '/api/usage?from=yesterday', status: 400, field: 'from' },
  ]);
});
