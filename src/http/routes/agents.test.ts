import { afterAll, beforeAll, describe, expect } from 'vitest';
import { routeFixture, routeTable, type Fixture } from '../../../test/helpers/route-table.js';

describe('agent routes', () => {
  let f: Fixture;
  beforeAll(async () => { f = await routeFixture(); });
  afterAll(() => f?.close());

  routeTable(() => f, [
    { name: 'lists only the caller\'s agents', as: 'customer', path: '/api/agents', status: 200, check: (b) => expect(b.agents.map((a: { name: string }) => a.name)).toEqual(['Alice Agent']) },
    { name: 'another customer sees none of them', as: 'other', path: '/api/agents', status: 200, check: (b) => expect(b.agents).toEqual([]) },
    { name: 'operators see every agent', as: 'auditor', path: '/api/agents', status: 200, check: (b) => expect(b.agents).toHaveLength(1) },
    { name: 'needs a sign-in', as: 'anonymous', path: '/api/agents', status: 401, code: 'unauthorized' },
    { name: 'creates an agent', as: 'customer', path: '/api/agents', body: { name: 'Second' }, status: 201, check: (b) => expect(b).toMatchObject({ name: 'Second', status: 'active' }) },
    { name: 'names the bad field', as: 'customer', path: '/api/agents', body: { name: '' }, status: 400, code: 'validation_failed', field: 'name' },
    { name: 'refuses unknown fields', as: 'customer', path: '/api/agents', body: { name: 'X', colour: 'red' }, status: 400, code: 'validation_failed' },
    { name: 'auditors only read', as: 'auditor', path: '/api/agents', body: { name: 'Nope' }, status: 403, code: 'forbidden' },
    { name: 'reads its own agent', as: 'customer', path: '/api/agents/:agent', status: 200, check: (b, fx) => expect(b.id).toBe(fx.ids.agent) },
    { name: 'hides another customer\'s agent', as: 'other', path: '/api/agents/:agent', status: 404, code: 'not_found' },
    { name: 'an unknown id is not found', as: 'owner', path: '/api/agents/no-such-agent', status: 404, code: 'not_found' },
    { name: 'edits its own agent', as: 'customer', method: 'PATCH', path: '/api/agents/:agent', body: { description: 'Helps Alice.' }, status: 200, check: (b) => expect(b.description).toBe('Helps Alice.') },
    { name: 'another customer cannot edit it', as: 'other', method: 'PATCH', path: '/api/agents/:agent', body: { description: 'hijacked' }, status: 404, code: 'not_found' },
    { name: 'auditors cannot edit it', as: 'auditor', method: 'PATCH', path: '/api/agents/:agent', body: { description: 'audited' }, status: 403, code: 'forbidden' },
    { name: 'a bad If-Match is named', as: 'customer', method: 'PATCH', path: '/api/agents/:agent', body: { description: 'x' }, headers: { 'if-match': '"three"' }, status: 400, field: 'If-Match' },
    { name: 'the config of its own agent', as: 'customer', path: '/api/agents/:agent/config', status: 200, check: (b) => expect(b).toHaveProperty('soul') },
    { name: 'another customer cannot pause it', as: 'other', path: '/api/agents/:agent/pause', body: {}, status: 404 },
    { name: 'auditors cannot pause it', as: 'auditor', path: '/api/agents/:agent/pause', body: {}, status: 403 },
    { name: 'its conversations', as: 'customer', path: '/api/agents/:agent/conversations', status: 200, check: (b) => expect(Array.isArray(b.conversations)).toBe(true) },
    { name: 'another customer\'s conversations are not found', as: 'other', path: '/api/agents/:agent/conversations', status: 404 },
    { name: 'a bad history limit is named', as: 'customer', path: '/api/agents/:agent/history?limit=0', status: 400, field: 'limit' },
    { name: 'sends a message and gets the reply', as: 'customer', path: '/api/agents/:agent/message', body: { text: 'hi', userId: 'u1' }, status: 200,
      check: (b) => expect(b).toMatchObject({ reply: 'Hello from the fake model.', usage: { inputTokens: 10, outputTokens: 5 } }) },
    { name: 'an empty message is named', as: 'customer', path: '/api/agents/:agent/message', body: { text: '' }, status: 400, field: 'text' },
    { name: 'auditors cannot send', as: 'auditor', path: '/api/agents/:agent/message', body: { text: 'hi' }, status: 403, code: 'forbidden' },
    { name: 'another customer cannot send', as: 'other', path: '/api/agents/:agent/message', body: { text: 'hi' }, status: 404, code: 'not_found' },
  ]);
});
