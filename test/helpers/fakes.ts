/**
 * Typed in-memory fakes of our own ports, for service and route tests: each implements the real
 * interface (no casts), is deterministic, and records what it was asked. The database is never
 * faked: tests that need repositories use openTestStore() (SQLite in memory, or PostgreSQL).
 */
import type {
  AuditEntry, AuditFilter, AuditRepo, ChatModelPort, Clock, EmbeddingPort, IdGenerator, Mailer, ModelRequest, ModelStreamEvent,
  OutgoingMail, PasswordHasher, SecretBox, SettingsRepo,
} from '../../src/domain/ports.js';
import type { Job, JobCounts, JobDefinition, JobQueue, SendOptions } from '../../src/jobs/index.js';
import { createLogger, type Logger } from '../../src/infra/logger.js';

/** A clock that stands still until the test moves it. */
export function manualClock(start: number | string = '2026-03-10T12:00:00.000Z'): Clock & { advance(ms: number): void; set(at: number | string): void } {
  let t = typeof start === 'string' ? Date.parse(start) : start;
  return { now: () => new Date(t), advance: (ms) => { t += ms; }, set: (at) => { t = typeof at === 'string' ? Date.parse(at) : at; } };
}

/** Ids a test can predict: `id-1`, `id-2`, … and tokens `tok-1`, … */
export function sequentialIds(): IdGenerator {
  let n = 0;
  return { id: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, token: () => `tok_${String(++n).padStart(24, '0')}` };
}

/** Fast, reversible "hashing" for tests only (argon2id takes ~100 ms a call). */
export const plainHasher: PasswordHasher = {
  hash: async (password) => `plain$${password}`,
  verify: async (hash, password) => hash === `plain$${password}`,
};

/** A box that only marks what it seals, so a test can still see a value was sealed. */
export const plainBox: SecretBox = {
  seal: (plain) => `sealed:${Buffer.from(plain).toString('base64')}`,
  open: (sealed) => Buffer.from(sealed.replace(/^sealed:/, ''), 'base64').toString(),
};

export const silentLog: Logger = createLogger('silent');

/** A chat model that answers from a script (default: "Hello from the fake model."), recording every request. */
export function scriptedModel(replies: (string | Error)[] = []): ChatModelPort & { requests: ModelRequest[]; reply(text: string | Error): void } {
  const queue = [...replies];
  const requests: ModelRequest[] = [];
  return {
    requests,
    reply: (t) => { queue.push(t); },
    async *stream(req): AsyncIterable<ModelStreamEvent> {
      requests.push(req);
      const next = queue.shift() ?? 'Hello from the fake model.';
      if (next instanceof Error) throw next;
      yield { type: 'text', text: next };
      yield { type: 'finish', usage: { inputTokens: 10, outputTokens: 5 }, finishReason: 'stop' };
    },
    listModels: async () => undefined,
  };
}

/** Embeddings that put each text on an axis by its length: deterministic, never called over the network. */
export const lengthEmbeddings: EmbeddingPort = {
  embed: async (req) => ({ vectors: req.texts.map((t) => [t.length, 1]), tokens: req.texts.join(' ').split(/\s+/).length }),
};

/** A mailer that keeps what it would have sent. */
export function memoryMailer(configured = true): Mailer & { sent: OutgoingMail[] } {
  const sent: OutgoingMail[] = [];
  return { sent, configured: async () => configured, send: async (m) => { sent.push(m); } };
}

/** The audit log in memory, with the real repository's filters (exact action or `prefix.*`). */
export function memoryAuditRepo(clock: Clock): AuditRepo & { entries: AuditEntry[] } {
  const entries: AuditEntry[] = [];
  let n = 0;
  const matches = (e: AuditEntry, action?: string) => !action || (action.endsWith('*') ? e.action.startsWith(action.slice(0, -1)) : e.action === action);
  return {
    entries,
    async add(e) { entries.push({ ...e, actorRole: e.actorRole ?? null, id: `audit-${++n}`, createdAt: clock.now().toISOString() }); },
    async list(limit, f = {}) {
      return entries.filter((e) => matches(e, f.action) && (!f.targetType || e.targetType === f.targetType) && (!f.targetId || e.targetId === f.targetId)).reverse().slice(0, limit);
    },
    async tally(f: AuditFilter) {
      const hit = entries.filter((e) => f.actions.includes(e.action) && e.createdAt > f.since
        && (f.targetId === undefined || e.targetId === f.targetId) && (f.ip === undefined || e.detail.ip === f.ip));
      return { count: hit.length, first: hit[0]?.createdAt ?? null, last: hit.at(-1)?.createdAt ?? null };
    },
  };
}

/** Settings in memory. */
export function memorySettings(): SettingsRepo & { values: Map<string, unknown> } {
  const values = new Map<string, unknown>();
  return {
    values,
    async get<T>(key: string) { return values.get(key) as T | undefined; },
    async set(key, value) { values.set(key, value); },
    async delete(key) { values.delete(key); },
  };
}

/**
 * A job queue that runs nothing by itself: `drain()` runs every due job (retries included, up to
 * each job's retryLimit) until none is left, so a test decides when background work happens and
 * can assert that nothing ran before it.
 */
export function manualJobQueue(clock: Clock): JobQueue & { sent: { name: string; data: unknown }[] } {
  type Queued = { id: string; name: string; data: object; attempt: number; startAfter: number; singletonKey?: string };
  const definitions = new Map<string, JobDefinition<object>>();
  let queued: Queued[] = [];
  const sent: { name: string; data: unknown }[] = [];
  const done: Record<string, { completed: number; failed: number }> = {};
  let n = 0;
  const tally = (name: string) => (done[name] ??= { completed: 0, failed: 0 });
  return {
    kind: 'sqlite',
    sent,
    async start() {},
    async stop() {},
    register(definition: JobDefinition<any>) { definitions.set(definition.name, definition); },
    async send<T extends object>(job: JobDefinition<T> | string, data: T, opts: SendOptions = {}) {
      const name = typeof job === 'string' ? job : job.name;
      const def = definitions.get(name) ?? (typeof job === 'string' ? undefined : (job as JobDefinition<object>));
      if (!def) throw new Error(`manualJobQueue: no job "${name}" is registered`);
      const parsed = def.schema.safeParse(data);
      if (!parsed.success) throw new Error(`manualJobQueue: the payload of "${name}" does not fit its schema`);
      if (opts.singletonKey && queued.some((q) => q.name === name && q.singletonKey === opts.singletonKey)) return null;
      const id = `job-${++n}`;
      sent.push({ name, data });
      queued.push({ id, name, data: parsed.data, attempt: 1, startAfter: opts.startAfter ? new Date(opts.startAfter).getTime() : 0, singletonKey: opts.singletonKey });
      return id;
    },
    async counts(name?: string): Promise<JobCounts> {
      const mine = (x: { name: string }) => !name || x.name === name;
      const names = name ? [name] : Object.keys(done);
      return {
        queued: queued.filter(mine).length, active: 0,
        completed: names.reduce((s, k) => s + (done[k]?.completed ?? 0), 0), failed: names.reduce((s, k) => s + (done[k]?.failed ?? 0), 0),
      };
    },
    async drain(opts = {}) {
      for (let rounds = 0; rounds < 1000; rounds++) {
        const due = queued.find((q) => (!opts.name || q.name === opts.name) && q.startAfter <= clock.now().getTime() && definitions.has(q.name));
        if (!due) return;
        queued = queued.filter((q) => q !== due);
        const def = definitions.get(due.name)!;
        const job: Job<object> = { id: due.id, name: due.name, data: due.data, attempt: due.attempt };
        try {
          await def.perform(job);
          tally(due.name).completed++;
        } catch (err) {
          if (due.attempt <= def.retry.limit) queued.push({ ...due, attempt: due.attempt + 1 });
          else { tally(due.name).failed++; await def.onFinalFailure?.(job, err); }
        }
      }
      throw new Error('manualJobQueue.drain: jobs keep coming back');
    },
  };
}
