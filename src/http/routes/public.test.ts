import { afterAll, beforeAll, describe, expect } from 'vitest';
import { routeFixture, routeTable, type Fixture } from '../../../test/helpers/route-table.js';

describe('public routes', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await routeFixture();
    const owner = await f.as('owner');
    const listed = await f.services.agents.create(owner.actor, { name: 'Front Desk', listed: true });
    f.ids.listed = listed.slug;
  });
  afterAll(() => f?.close());

  routeTable(() => f, [
    { name: 'the listed agents', as: 'anonymous', path: '/api/public/agents', status: 200, check: (b) => expect(b.agents.map((a: { name: string }) => a.name)).toEqual(['Front Desk']) },
    { name: 'a listed agent', as: 'anonymous', path: '/api/public/agents/:listed', status: 200, check: (b) => expect(b).toMatchObject({ name: 'Front Desk', available: true }) },
    { name: 'an unlisted agent is not found', as: 'anonymous', path: '/api/public/agents/:slug', status: 404, code: 'not_found' },
    { name: 'its owner may preview it', as: 'customer', path: '/api/public/agents/:slug', status: 200 },
    { name: 'another customer may not', as: 'other', path: '/api/public/agents/:slug', status: 404 },
    { name: 'names a bad slug', as: 'anonymous', path: '/api/public/agents/Not%20A%20Slug', status: 400, field: 'slug' },
    { name: 'a new visitor has no conversation', as: 'anonymous', path: '/api/public/agents/:listed/conversation', status: 200, check: (b) => expect(b).toEqual({ conversationId: null, messages: [] }) },
    { name: 'an empty message is named', as: 'anonymous', path: '/api/public/agents/:listed/chat', body: { text: '' }, status: 400, field: 'text' },
    { name: 'chat with an unlisted agent is not found', as: 'anonymous', path: '/api/public/agents/:slug/chat', body: { text: 'hi' }, status: 404 },
    { name: 'chats, streaming the reply', as: 'anonymous', path: '/api/public/agents/:listed/chat', body: { text: 'hi' }, status: 200,
      check: (b) => { expect(b).toContain('event: start'); expect(b).toContain('Hello from the fake model.'); expect(b).toContain('event: done'); } },
    { name: 'names a bad link code', as: 'anonymous', path: '/api/public/link/verify', body: { code: '12' }, status: 400, field: 'code' },
  ]);
});
