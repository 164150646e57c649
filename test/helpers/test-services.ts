/**
 * makeTestServices(): every service, wired as in production by buildServices(), over a migrated
 * in-memory store (a fresh PostgreSQL schema under `npm run test:pg`) and the typed fakes in
 * fakes.ts: a manual clock, predictable ids, fast hashing, a scripted model, a job queue that runs
 * only on drain(). `app` is createApp() over them, for route tests with app.request() (no port).
 * Override any infrastructure piece or environment variable per test.
 */
import { loadConfig } from '../../src/config/config.js';
import { buildServices, type Infra, type Services } from '../../src/deps.js';
import { createApp } from '../../src/app.js';
import { createMetrics } from '../../src/infra/metrics.js';
import type { Actor, Role } from '../../src/domain/types.js';
import { openTestStore } from './test-store.js';
import { lengthEmbeddings, manualClock, manualJobQueue, plainBox, plainHasher, scriptedModel, sequentialIds, silentLog } from './fakes.js';

export type TestServices = Awaited<ReturnType<typeof makeTestServices>>;

export type TestServiceOverrides = Partial<Omit<Infra, 'store' | 'clock' | 'queue' | 'llm'>> & {
  clock?: ReturnType<typeof manualClock>;
  queue?: ReturnType<typeof manualJobQueue>;
  llm?: ReturnType<typeof scriptedModel>;
  env?: Record<string, string | undefined>;
};

import { localEventBus, withConversationEvents } from '../../src/infra/events.js';

export async function makeTestServices(overrides: TestServiceOverrides = {}) {
  const clock = overrides.clock ?? manualClock();
  const { store, close, db } = await openTestStore(clock);
  const llm = overrides.llm ?? scriptedModel();
  const queue = overrides.queue ?? manualJobQueue(clock);
  const config = loadConfig({
    DATA_DIR: ':memory:', SWITCHBOARD_LOG_LEVEL: 'silent', SWITCHBOARD_SECRET_KEY: 'b'.repeat(64),
    OPENAI_API_KEY: 'test-key', SWITCHBOARD_DEFAULT_MODEL: 'openai:gpt-4o-mini',
    ...overrides.env,
  });
  const events = localEventBus();
  const infra: Infra = {
    store: withConversationEvents(store, events), clock, llm, queue, events,
    ids: overrides.ids ?? sequentialIds(),
    hasher: overrides.hasher ?? plainHasher,
    box: overrides.box ?? plainBox,
    secretKey: Buffer.from('b'.repeat(64), 'hex'),
    embeddings: overrides.embeddings ?? lengthEmbeddings,
    log: overrides.log ?? silentLog,
    metrics: overrides.metrics ?? createMetrics({ defaultMetrics: false }),
    speech: overrides.speech,
    mediaStorage: overrides.mediaStorage,
  };
  const services: Services = buildServices(config, infra);
  const app = createApp(services, { webRoot: '/nonexistent' });
  let owner: { token: string; actor: Actor } | undefined;

  /** Signs in (creating on first use) a user of this role; returns a bearer token and the actor. */
  async function as(role: Role, name: string = role): Promise<{ token: string; actor: Actor }> {
    if (!owner) {
      const s = await services.accounts.setupOwner('owner@example.com', 'correct horse battery');
      owner = { token: s.token, actor: (await services.accounts.authenticate(s.token))! };
    }
    if (role === 'owner') return owner;
    const email = `${name}@example.com`;
    if (!(await store.users.byEmailWithHash(email))) await services.accounts.addUser(owner.actor, { email, password: 'correct horse battery', role });
    const s = await services.accounts.login(email, 'correct horse battery', '127.0.0.1');
    return { token: s.token, actor: (await services.accounts.authenticate(s.token))! };
  }

  /** app.request() with JSON encoding and an optional bearer token; the body is parsed when it is JSON. */
  async function request(path: string, init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-type'] ??= 'application/json';
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const res = await app.request(path, { method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'), headers, body: init.body !== undefined ? JSON.stringify(init.body) : undefined });
    const text = await res.text();
    let body: any = text;
    try { body = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, body, headers: res.headers };
  }

  return { services, app, store, clock, llm, queue, config, as, request, close, /** The database under the store, for arranging state no service sets yet. */ db };
}
