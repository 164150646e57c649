import { afterAll, beforeAll, describe, expect } from 'vitest';
import { routeFixture, routeTable, type Fixture } from '../../../test/helpers/route-table.js';

describe('conversation and memory routes', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await routeFixture();
    const r = await f.request(`/api/agents/${f.ids.agent}/message`, { token: f.tokens.customer, body: { text: 'remember the blue door', userId: 'alice-1' } });
    f.ids.conversation = r.body.conversationId;
    await f.request(`/api/agents/${f.ids.agent}/file?path=MEMORY.md`, { method: 'PUT', token: f.tokens.customer, body: { content: 'Alice likes blue.' } });
  });
  afterAll(() => f?.close());

  routeTable(() => f, [
    { name: 'the transcript', as: 'customer', path: '/api/conversations/:conversation', status: 200,
      check: (b) => { expect(b.status).toBe('open'); expect(b.messages.map((m: { content: string }) => m.content)).toEqual(['remember the blue door', 'Hello from the fake model.']); expect(b.userId).toBe('alice-1'); } },
    { name: 'operators read it too', as: 'auditor', path: '/api/conversations/:conversation', status: 200 },
    { name: 'another customer does not find it', as: 'other', path: '/api/conversations/:conversation', status: 404, code: 'not_found' },
    { name: 'needs a sign-in', as: 'anonymous', path: '/api/conversations/:conversation', status: 401 },
    { name: 'auditors cannot close it', as: 'auditor', path: '/api/conversations/:conversation/close', body: {}, status: 403 },
    { name: 'another customer cannot close it', as: 'other', path: '/api/conversations/:conversation/close', body: {}, status: 404 },
    { name: 'the workspace files', as: 'customer', path: '/api/agents/:agent/files', status: 200, check: (b) => expect(b.files.map((x: { path: string }) => x.path)).toContain('MEMORY.md') },
    { name: 'one file', as: 'customer', path: '/api/agents/:agent/file?path=MEMORY.md', status: 200, check: (b) => expect(b.content).toBe('Alice likes blue.') },
    { name: 'a file path is required', as: 'customer', path: '/api/agents/:agent/file', status: 400, field: 'path' },
    { name: 'another customer cannot read it', as: 'other', path: '/api/agents/:agent/file?path=MEMORY.md', status: 404 },
    { name: 'auditors cannot write it', as: 'auditor', method: 'PUT', path: '/api/agents/:agent/file?path=MEMORY.md', body: { content: 'x' }, status: 403 },
    { name: 'a summaries limit out of range is named', as: 'customer', path: '/api/agents/:agent/summaries?limit=5000', status: 400, field: 'limit' },
    { name: 'the people who talked with it', as: 'customer', path: '/api/agents/:agent/people', status: 200, check: (b) => expect(b.people.map((p: { externalId: string }) => p.externalId)).toEqual(['alice-1']) },
    { name: 'auditors cannot erase a person', as: 'auditor', method: 'DELETE', path: '/api/people/alice-1', status: 403 },
    // Last: closing ends the session and queues its summary, which runs only when the test drains the queue.
    { name: 'closes the session', as: 'customer', path: '/api/conversations/:conversation/close', body: {}, status: 200,
      check: async (b, fx) => {
        expect(b).toMatchObject({ status: 'closed', closedReason: 'closed_by_operator', summaryStatus: 'pending' });
        expect(fx.queue.sent.map((j) => j.name)).toContain('summarize-session');
        await fx.queue.drain();
        expect((await fx.request(`/api/conversations/${fx.ids.conversation}`, { token: fx.tokens.customer })).body.summaryStatus).toBe('ready');
      } },
  ]);
});
