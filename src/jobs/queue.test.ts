/**
 * The job queue's contract — the backends (job table, pg-boss) and the job definitions on top — on SQLite always and on PostgreSQL (pg-boss) when TEST_DATABASE_URL is
 * set. Each "process" is a queue with its own database connection (SQLite: its own handle on the same
 * file; PostgreSQL: its own pools), and one test runs two real processes against one SQLite file.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { openDb, type Db } from '../store/db.js';
import { createLogger } from '../infra/logger.js';
import { systemClock } from '../infra/system.js';
import { z } from 'zod';
import type { Job, JobBackend, JobQueueOptions } from './queue.js';
import { createJobBackend, createJobQueue, defineJob, type CreateJobQueueOptions, type JobQueue } from './index.js';

const dbUrl = process.env.TEST_DATABASE_URL;
const dialects = (dbUrl ? ['sqlite', 'postgres'] : ['sqlite']) as Array<'sqlite' | 'postgres'>;
if (!dbUrl) console.info('job queue on PostgreSQL (pg-boss): skipped, TEST_DATABASE_URL is not set (npm run test:pg sets it)');
/** The reason a dialect-specific test is skipped, added to its name in the other dialect's run. */
const skipped = (run: boolean, why: string) => (run ? '' : ` (skipped: ${why})`);

async function eventually<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
};

describe.each(dialects)('job queue on %s', (dialect) => {
  let dataDir: string;
  let schema: string | undefined;
  let dbs: Db[];
  let queues: Array<JobBackend | JobQueue>;
  let logLines: { level: string; msg: string }[];
  /** Error lines a test provokes on purpose; any other error line fails it. */
  let expectedErrors: string[];
  const log = createLogger('debug', {}, (line) => logLines.push(JSON.parse(line)));

  beforeEach(async () => {
    dbs = [];
    queues = [];
    logLines = [];
    expectedErrors = ['job failed for good'];
    dataDir = mkdtempSync(join(tmpdir(), 'sb-jobs-'));
    if (dialect === 'postgres') {
      schema = `t_${randomBytes(6).toString('hex')}`;
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      await c.query(`create schema ${schema}`);
      await c.end();
    }
  });

  afterEach(async () => {
    await Promise.all(queues.map((q) => q.stop()));
    await Promise.all(dbs.map((d) => d.destroy()));
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) {
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      await c.query(`drop schema if exists ${schema}_jobs cascade`);
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
      schema = undefined;
    }
    // pg-boss 'error' events and failures to poll or record outcomes are logged as errors: none expected.
    expect(logLines.filter((l) => l.level === 'error' && !expectedErrors.includes(l.msg))).toEqual([]);
  });

  function connect() {
    const { db } = openDb({ dataDir, databaseUrl: dialect === 'postgres' ? dbUrl : undefined, pgSchema: schema });
    dbs.push(db);
    return { dialect, db, databaseUrl: dbUrl, pgSchema: schema, clock: systemClock, log, pollIntervalMs: 50, stopTimeoutMs: 1000 };
  }

  /** A backend on its own database connection: one "process". */
  function open(extra: Partial<JobQueueOptions> = {}): JobBackend {
    const q = createJobBackend({ ...connect(), ...extra });
    queues.push(q);
    return q;
  }

  /** The queue of job definitions on its own connection, as the server builds it. */
  function openQueue(extra: Partial<CreateJobQueueOptions> = {}): JobQueue {
    const q = createJobQueue({ ...connect(), retryDelaySeconds: 0, ...extra });
    queues.push(q);
    return q;
  }

  it('runs a job once, hands the handler its data, and counts it completed', async () => {
    const q = open();
    expect(q.kind).toBe(dialect === 'postgres' ? 'pg-boss' : 'sqlite');
    const seen: Job<{ conversationId: string; upTo: number; tags: string[] }>[] = [];
    q.work<{ conversationId: string; upTo: number; tags: string[] }>('summarize', async (job) => { seen.push(job); });
    await q.start();
    await q.start(); // idempotent
    const id = await q.send('summarize', { conversationId: 'c-1', upTo: 42, tags: ['ä', 'b'] });
    expect(id).toEqual(expect.any(String));
    await q.drain({ name: 'summarize' });
    await eventually(async () => (await q.counts('summarize')).completed === 1, 3000, 'completion');
    expect(seen).toEqual([{ id, name: 'summarize', data: { conversationId: 'c-1', upTo: 42, tags: ['ä', 'b'] }, attempt: 1 }]);
    expect(await q.counts('summarize')).toEqual({ queued: 0, active: 0, completed: 1, failed: 0 });
    expect(await q.counts()).toEqual({ queued: 0, active: 0, completed: 1, failed: 0 });
  });

  it('takes job data and a failure message holding a NUL (PostgreSQL keeps job data as jsonb, which refuses one)', async () => {
    const q = open();
    const seen: unknown[] = [];
    q.work<{ sid: string; nested: { list: string[] } }>('nul', async (job) => {
      seen.push(job.data);
      if (job.attempt === 1) throw new Error('provider said \u0000 no');
    });
    await q.start();
    const id = await q.send('nul', { sid: 'SM\u0000x', nested: { list: ['a\u0000'] } }, { retryDelaySeconds: 0, retryBackoff: false });
    expect(id).toEqual(expect.any(String));
    await eventually(async () => (await q.counts('nul')).completed === 1, 8000, 'the second attempt');
    // SQLite keeps the NUL; PostgreSQL has U+FFFD in its place, as in every stored text (store/dialects/postgres.ts).
    const mark = dialect === 'postgres' ? '\uFFFD' : '\u0000';
    expect(seen).toEqual([{ sid: `SM${mark}x`, nested: { list: [`a${mark}`] } }, { sid: `SM${mark}x`, nested: { list: [`a${mark}`] } }]);
  });

  it('retries a failing handler and then succeeds', async () => {
    const q = open();
    const attempts: number[] = [];
    q.work('flaky', async (job) => {
      attempts.push(job.attempt);
      if (job.attempt < 3) throw new Error(`upstream said no (attempt ${job.attempt})`);
    });
    await q.start();
    await q.send('flaky', { id: 'x' }, { retryDelaySeconds: 0, retryBackoff: false });
    await eventually(async () => (await q.counts('flaky')).completed === 1, 8000, 'the third attempt');
    expect(attempts).toEqual([1, 2, 3]);
    expect(await q.counts('flaky')).toEqual({ queued: 0, active: 0, completed: 1, failed: 0 });
    expect(logLines.filter((l) => l.msg === 'job attempt failed; will retry')).toHaveLength(2);
  });

  it('marks a job failed after retryLimit retries', async () => {
    const q = open();
    const attempts: number[] = [];
    q.work('doomed', async (job) => {
      attempts.push(job.attempt);
      throw new Error('always broken');
    });
    await q.start();
    await q.send('doomed', { id: 'y' }, { retryLimit: 2, retryDelaySeconds: 0, retryBackoff: false });
    await eventually(async () => (await q.counts('doomed')).failed === 1, 8000, 'the job to fail');
    expect(attempts).toEqual([1, 2, 3]);
    expect(await q.counts('doomed')).toEqual({ queued: 0, active: 0, completed: 0, failed: 1 });
    expect(logLines.filter((l) => l.msg === 'job failed for good')).toHaveLength(1);
  });

  it('waits retryDelaySeconds before a retry', async () => {
    const q = open();
    const at: number[] = [];
    q.work('later', async () => {
      at.push(Date.now());
      if (at.length === 1) throw new Error('not yet');
    });
    await q.start();
    await q.send('later', {}, { retryDelaySeconds: 1, retryBackoff: false });
    await eventually(async () => (await q.counts('later')).completed === 1, 5000, 'the retry');
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(900);
  });

  it('keeps one queued-or-running job per singleton key', async () => {
    const q = open();
    const first = await q.send('summarize', { conversationId: 'c-1' }, { singletonKey: 'c-1' });
    expect(first).toEqual(expect.any(String));
    expect(await q.send('summarize', { conversationId: 'c-1' }, { singletonKey: 'c-1' })).toBeNull();
    expect(await q.send('summarize', { conversationId: 'c-2' }, { singletonKey: 'c-2' })).toEqual(expect.any(String));
    expect(await q.send('other', { conversationId: 'c-1' }, { singletonKey: 'c-1' })).toEqual(expect.any(String)); // keys are per job name

    const gate = deferred();
    const ran: string[] = [];
    q.work<{ conversationId: string }>('summarize', async (job) => {
      ran.push(job.data.conversationId);
      await gate.promise;
    }, { concurrency: 2 });
    await q.start();
    await eventually(() => ran.length === 2, 3000, 'both keys to start');
    // Running still counts: a new send for c-1 is refused until that job finishes.
    expect(await q.send('summarize', { conversationId: 'c-1' }, { singletonKey: 'c-1' })).toBeNull();
    gate.resolve();
    await q.drain({ name: 'summarize' });
    await eventually(async () => (await q.counts('summarize')).completed === 2, 3000, 'completion');
    expect(ran.sort()).toEqual(['c-1', 'c-2']);
    // Finished jobs do not block the key.
    expect(await q.send('summarize', { conversationId: 'c-1' }, { singletonKey: 'c-1' })).toEqual(expect.any(String));
  });

  it('does not run a job before startAfter', async () => {
    const q = open();
    let ranAt = 0;
    q.work('reminder', async () => { ranAt = Date.now(); });
    await q.start();
    const sentAt = Date.now();
    await q.send('reminder', {}, { startAfter: new Date(sentAt + 1200) });
    await new Promise((r) => setTimeout(r, 300));
    expect(await q.counts('reminder')).toEqual({ queued: 1, active: 0, completed: 0, failed: 0 });
    await q.drain({ name: 'reminder' }); // not due yet: nothing to wait for
    expect(ranAt).toBe(0);
    await eventually(() => ranAt > 0, 5000, 'the delayed job');
    expect(ranAt - sentAt).toBeGreaterThanOrEqual(1150);
  });

  it('reads startAfter by the injected clock, and keeps real time for everything else', async () => {
    // A manual clock an hour behind real time, then moved a day ahead while a job runs.
    let now = Date.now() - 3600_000;
    const q = open({ clock: { now: () => new Date(now) }, leaseMs: 300 });
    const gate = deferred();
    const runs: string[] = [];
    let delayedAt = 0;
    q.work<{ kind: string }>('clocked', async (job) => {
      runs.push(job.data.kind);
      if (job.data.kind === 'long') await gate.promise;
      else delayedAt = Date.now();
    }, { concurrency: 2 });
    await q.start();
    await q.send('clocked', { kind: 'long' });
    await eventually(() => runs.includes('long'), 3000, 'the long job');
    const sentAt = Date.now();
    await q.send('clocked', { kind: 'delayed' }, { startAfter: new Date(now + 800) });
    now += 24 * 3600_000; // a running job's lease is not a matter of the test's clock
    await eventually(() => delayedAt > 0, 5000, 'the delayed job');
    expect(delayedAt - sentAt).toBeGreaterThanOrEqual(750);
    gate.resolve();
    await q.drain({ name: 'clocked' });
    expect(runs.sort()).toEqual(['delayed', 'long']);
  });

  it('runs each job exactly once across two processes', async () => {
    const a = open();
    const b = open();
    const producer = open();
    const runs = new Map<string, string[]>();
    const handler = (who: string) => async (job: Job<{ n: number }>) => {
      runs.set(String(job.data.n), [...(runs.get(String(job.data.n)) ?? []), who]);
      await new Promise((r) => setTimeout(r, 10));
    };
    a.work('fanout', handler('a'), { concurrency: 2 });
    b.work('fanout', handler('b'), { concurrency: 2 });
    await Promise.all([a.start(), b.start()]);
    for (let n = 0; n < 20; n++) await producer.send('fanout', { n });
    await eventually(async () => (await producer.counts('fanout')).completed === 20, 15_000, 'all 20 jobs');
    expect([...runs.keys()].sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: 20 }, (_, n) => String(n)));
    expect([...runs.values()].every((who) => who.length === 1)).toBe(true);
    expect(await producer.counts('fanout')).toEqual({ queued: 0, active: 0, completed: 20, failed: 0 });
  });

  it('gives a job left running by a stopped process to another process', async () => {
    // SQLite: the stopped process stops renewing its lease; once it runs out another process requeues the job.
    // pg-boss: stop() fails the job still running ("pg-boss shut down while active"), which schedules its retry.
    const a = open({ leaseMs: 300, stopTimeoutMs: 100 });
    const stuck = deferred();
    const started = deferred();
    a.work('provision', async () => {
      started.resolve();
      await stuck.promise; // never finishes while the test watches
    });
    await a.start();
    const id = await a.send('provision', { agentId: 'ag-1' }, { retryDelaySeconds: 0, retryBackoff: false });
    await started.promise;
    const t0 = Date.now();
    await a.stop();
    expect(Date.now() - t0).toBeLessThan(2500);

    const b = open({ leaseMs: 300 });
    const seen: Job<{ agentId: string }>[] = [];
    b.work<{ agentId: string }>('provision', async (job) => { seen.push(job); });
    await b.start();
    await eventually(async () => (await b.counts('provision')).completed === 1, 8000, 'the takeover');
    expect(seen).toEqual([{ id, name: 'provision', data: { agentId: 'ag-1' }, attempt: 2 }]);

    // The first process's handler finishing late must not change the outcome.
    stuck.resolve();
    await new Promise((r) => setTimeout(r, 100));
    expect(await b.counts('provision')).toEqual({ queued: 0, active: 0, completed: 1, failed: 0 });
  });

  it.runIf(dialect === 'sqlite')(`requeues a job whose process died holding it (lease runs out)${skipped(dialect === 'sqlite', 'a lease of the SQLite job table; pg-boss expiry is tested below')}`, async () => {
    // A "crashed" process: claims the job by hand and never renews or finishes it.
    const producer = open({ leaseMs: 300 });
    const id = await producer.send('provision', { agentId: 'ag-2' });
    const dead = dbs[0]!;
    const past = new Date(Date.now() + 200).toISOString();
    await import('kysely').then(({ sql }) => sql`update jobs set state = 'active', attempt = 1, locked_until = ${past} where id = ${id}`.execute(dead));
    const b = open({ leaseMs: 300 });
    const attempts: number[] = [];
    b.work('provision', async (job) => { attempts.push(job.attempt); });
    await b.start();
    await eventually(async () => (await b.counts('provision')).completed === 1, 5000, 'the requeued job');
    expect(attempts).toEqual([2]);
    expect(logLines.some((l) => l.msg === 'job lease expired')).toBe(true);
  });

  it.runIf(dialect === 'postgres')(`retries a job whose process died holding it, once it expires (expireInSeconds)${skipped(dialect === 'postgres', 'pg-boss expiry; the SQLite lease is tested above')}`, async () => {
    // Jobs sent with a 1-second expiry; a bare pg-boss client fetches one and goes away without finishing it.
    const producer = open({ expireInSeconds: 1 });
    const id = await producer.send('provision', { agentId: 'ag-2' }, { retryDelaySeconds: 0, retryBackoff: false });
    const dead = new PgBoss({ connectionString: dbUrl!, schema: `${schema}_jobs`, schedule: false, supervise: false });
    await dead.start();
    expect((await dead.fetch('provision')).map((j) => j.id)).toEqual([id]);
    await dead.stop({ graceful: false, close: true });

    const b = open({ expireInSeconds: 1 });
    const attempts: number[] = [];
    b.work('provision', async (job) => { attempts.push(job.attempt); });
    await b.start();
    await eventually(async () => (await b.counts('provision')).completed === 1, 10_000, 'the expired job to be retried');
    expect(attempts).toEqual([2]);
  });

  it('stop() waits for a running handler and returns promptly when idle', async () => {
    const q = open();
    let finished = false;
    const started = deferred();
    q.work('short', async () => {
      started.resolve();
      await new Promise((r) => setTimeout(r, 200));
      finished = true;
    });
    await q.start();
    await q.send('short', {});
    await started.promise;
    await q.stop();
    expect(finished).toBe(true);

    // An idle queue stops without waiting out its stop timeout (5 s here, so a loaded machine's slow
    // pool close is not mistaken for the wait).
    const idle = open({ stopTimeoutMs: 5000 });
    idle.work('nothing', async () => {});
    await idle.start();
    const t0 = Date.now();
    await idle.stop();
    expect(Date.now() - t0).toBeLessThan(dialect === 'postgres' ? 4000 : 1000);
  });

  it('drain() rejects after its timeout while a job is still due', async () => {
    const q = open();
    await q.send('unhandled', {}); // no worker for it
    await expect(q.drain({ name: 'unhandled', timeoutMs: 200 })).rejects.toThrow(/did not drain/);
    await q.drain({ name: 'something-else', timeoutMs: 200 });
  });

  it("checks a payload against its job's schema when it is sent, by definition or by name", async () => {
    const performed: unknown[] = [];
    const notify = defineJob({
      name: 'notify', schema: z.object({ agentId: z.string().min(1), count: z.number().int() }), retry: { limit: 0 },
      perform: async (job) => { performed.push(job.data); },
    });
    const q = openQueue();
    q.register(notify);
    expect(() => q.register(notify)).toThrow(/already registered/);
    await q.start();
    // @ts-expect-error -- count must be a number: the type says so, and so does the queue at run time
    await expect(q.send(notify, { agentId: 'ag-1', count: 'two' })).rejects.toThrow(/job "notify" payload does not fit its schema: count: /);
    await expect(q.send('notify', { agentId: '' })).rejects.toThrow(/agentId: .*; count: /);
    await expect(q.send('notfiy', { agentId: 'ag-1', count: 1 })).rejects.toThrow(/job "notfiy" is not defined/);
    expect(await q.counts()).toEqual({ queued: 0, active: 0, completed: 0, failed: 0 });

    await q.send(notify, { agentId: 'ag-1', count: 1 });
    await q.send('notify', { agentId: 'ag-2', count: 2, extra: 'dropped' } as { agentId: string; count: number });
    await eventually(async () => (await q.counts('notify')).completed === 2, 5000, 'both jobs');
    expect(performed.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([{ agentId: 'ag-1', count: 1 }, { agentId: 'ag-2', count: 2 }]);
  });

  it('checks a payload again before performing it: one queued by an older version fails without reaching the handler', async () => {
    expectedErrors.push('job final-failure hook skipped: payload does not fit its schema');
    // The sender (this process runs no workers) still knows the old payload; the worker's definition has moved on.
    const sender = openQueue({ concurrency: 0 });
    sender.register(defineJob({ name: 'reindex', schema: z.object({ agentId: z.string() }), retry: { limit: 1 }, perform: async () => {} }));
    await sender.start();
    const worker = openQueue();
    const performed: unknown[] = [];
    const finalFailures: unknown[] = [];
    worker.register(defineJob({
      name: 'reindex', schema: z.object({ agentId: z.string(), since: z.string() }), retry: { limit: 1 },
      perform: async (job) => { performed.push(job.data); },
      onFinalFailure: async (job) => { finalFailures.push(job.data); },
    }));
    await worker.start();
    await sender.send('reindex', { agentId: 'ag-1' });
    await eventually(async () => (await worker.counts('reindex')).failed === 1, 8000, 'the job to fail');
    expect(performed).toEqual([]);
    expect(finalFailures).toEqual([]);
    const attempts = logLines.filter((l) => (l.msg === 'job attempt failed; will retry' || l.msg === 'job failed for good'));
    expect(attempts.map((l) => (l as unknown as { error: { message: string } }).error.message)).toEqual([
      'job "reindex" payload does not fit its schema: since: Invalid input: expected string, received undefined',
      'job "reindex" payload does not fit its schema: since: Invalid input: expected string, received undefined',
    ]);
    await eventually(() => logLines.some((l) => l.msg === 'job final-failure hook skipped: payload does not fit its schema'), 3000, 'the skipped hook');
  });

  it('calls onFinalFailure exactly once, after the last retry, with that attempt\'s error; never when a retry succeeds', async () => {
    const q = openQueue();
    const attempts: Record<string, number[]> = { doomed: [], flaky: [] };
    const finalFailures: { name: string; data: unknown; attempt: number; error: string }[] = [];
    for (const name of ['doomed', 'flaky'] as const) {
      q.register(defineJob({
        name, schema: z.object({ id: z.string() }), retry: { limit: 2, delaySeconds: 0, backoff: false },
        perform: async (job) => {
          attempts[name]!.push(job.attempt);
          if (name === 'doomed' || job.attempt < 3) throw new Error(`${name} broke on attempt ${job.attempt}`);
        },
        onFinalFailure: async (job, error) => { finalFailures.push({ name: job.name, data: job.data, attempt: job.attempt, error: (error as Error).message }); },
      }));
    }
    await q.start();
    await q.send('doomed', { id: 'd-1' });
    await q.send('flaky', { id: 'f-1' });
    await eventually(async () => (await q.counts('doomed')).failed === 1 && (await q.counts('flaky')).completed === 1, 10_000, 'both jobs to finish');
    await q.drain();
    expect(attempts).toEqual({ doomed: [1, 2, 3], flaky: [1, 2, 3] });
    expect(finalFailures).toEqual([{ name: 'doomed', data: { id: 'd-1' }, attempt: 3, error: 'doomed broke on attempt 3' }]);
    expect(logLines.filter((l) => l.msg === 'job failed for good')).toHaveLength(1);
  });

  it('logs a final-failure hook that throws and leaves the job failed', async () => {
    expectedErrors.push('job final-failure handler failed');
    const q = openQueue();
    let hookCalls = 0;
    q.register(defineJob({
      name: 'broken-hook', schema: z.object({}), retry: { limit: 0 },
      perform: async () => { throw new Error('no'); },
      onFinalFailure: async () => { hookCalls++; throw new Error('the hook broke too'); },
    }));
    await q.start();
    await q.send('broken-hook', {});
    await eventually(async () => (await q.counts('broken-hook')).failed === 1, 8000, 'the job to fail');
    await eventually(() => logLines.some((l) => l.msg === 'job final-failure handler failed'), 3000, 'the hook failure to be logged');
    expect(hookCalls).toBe(1);
  });

  it.runIf(dialect === 'sqlite')(`calls onFinalFailure when the last attempt's process died holding the job (lease runs out)${skipped(dialect === 'sqlite', 'a lease of the SQLite job table')}`, async () => {
    const producer = openQueue({ concurrency: 0, leaseMs: 300 });
    const definition = (onFinalFailure?: (job: Job<{ agentId: string }>, error: unknown) => Promise<void>) => defineJob({
      name: 'provision', schema: z.object({ agentId: z.string() }), retry: { limit: 0 }, perform: async () => {}, onFinalFailure,
    });
    producer.register(definition());
    const id = await producer.send('provision', { agentId: 'ag-3' });
    // A "crashed" process claimed its one and only attempt and never finished it.
    const past = new Date(Date.now() - 1000).toISOString();
    await import('kysely').then(({ sql }) => sql`update jobs set state = 'active', attempt = 1, locked_until = ${past} where id = ${id}`.execute(dbs[0]!));
    const failures: { data: unknown; attempt: number; error: string }[] = [];
    const survivor = openQueue({ leaseMs: 300 });
    survivor.register(definition(async (job, error) => { failures.push({ data: job.data, attempt: job.attempt, error: (error as Error).message }); }));
    await survivor.start();
    await eventually(() => failures.length > 0, 5000, 'the final-failure hook');
    expect(failures).toEqual([{ data: { agentId: 'ag-3' }, attempt: 1, error: 'lease expired: the process running it stopped or stalled' }]);
    expect(await survivor.counts('provision')).toEqual({ queued: 0, active: 0, completed: 0, failed: 1 });
  });

  it.runIf(dialect === 'sqlite')(`claims each job once across two real processes on one file${skipped(dialect === 'sqlite', 'two processes on one SQLite file')}`, async () => {
    // Two child processes poll the same SQLite file in WAL mode; the parent sends 40 jobs. Each child prints
    // the jobs it ran and exits once nothing is left queued or running.
    const q = open();
    for (let n = 0; n < 40; n++) await q.send('fanout', { n });
    const mod = (path: string) => pathToFileURL(fileURLToPath(new URL(path, import.meta.url))).href;
    const worker = `
      const { openDb } = await import(${JSON.stringify(mod('../store/db.ts'))});
      const { createLogger } = await import(${JSON.stringify(mod('../infra/logger.ts'))});
      const { systemClock } = await import(${JSON.stringify(mod('../infra/system.ts'))});
      const { createJobBackend } = await import(${JSON.stringify(mod('./index.ts'))});
      const { db } = openDb({ dataDir: process.argv[1] });
      const q = createJobBackend({ dialect: 'sqlite', db, clock: systemClock, log: createLogger('silent'), pollIntervalMs: 20 });
      q.work('fanout', async (job) => { process.stdout.write(job.data.n + '\\n'); await new Promise((r) => setTimeout(r, 15)); }, { concurrency: 2 });
      await q.start();
      await q.drain({ name: 'fanout', timeoutMs: 20000 });
      await q.stop();
      await db.destroy();`;
    const run = () => new Promise<string[]>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', worker, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(out.split('\n').filter(Boolean)) : reject(new Error(`worker exited with ${code}`))));
    });
    const [one, two] = await Promise.all([run(), run()]);
    const all = [...one!, ...two!].map(Number).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 40 }, (_, n) => n));
    expect(await q.counts('fanout')).toEqual({ queued: 0, active: 0, completed: 40, failed: 0 });
  });
});
