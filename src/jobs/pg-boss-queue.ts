/**
 * The job queue on PostgreSQL: pg-boss v10 in its own schema (`pgboss`, or `<schema>_jobs` when the
 * app runs in a schema of its own, as the tests do). pg-boss creates and migrates that schema itself
 * on first use, fetches with `FOR UPDATE SKIP LOCKED` (each job to one worker across processes),
 * retries with backoff, fails jobs that stay active longer than `expireIn` (how a crashed process's
 * jobs come back), and archives finished jobs (after 12 h; deleted 7 days later).
 *
 * Singleton keys: a v10 queue of the `standard` policy does not enforce `singletonKey` by itself,
 * and the other policies allow one queued *plus* one active job per key. To get "at most one queued or
 * running", send takes a transaction-scoped advisory lock on (name, key), checks the job table, and
 * inserts through pg-boss in the same transaction.
 */
import type PgBoss from 'pg-boss';
import { CompiledQuery, sql } from 'kysely';
import type { FinalFailureHandler, JobBackend, JobCounts, JobHandler, JobOptions, JobQueueOptions } from './queue.js';
import { delayUntil, withJobDefaults } from './queue.js';
import { maskSecrets } from '../infra/redact.js';
import { lazyDefault } from '../infra/lazy.js';
import { withoutNul } from '../store/dialects/postgres.js';

/** Loaded only on PostgreSQL (this backend is never built on SQLite). */
const pgBoss = lazyDefault<typeof PgBoss>('pg-boss');

type Registration = { name: string; handler: JobHandler<any>; onFinalFailure?: FinalFailureHandler<any>; concurrency: number };

/** pg-boss queues it runs for itself (cron); not ours to count. */
const INTERNAL = `left(name, 10) <> '__pgboss__'`;

export function pgBossJobQueue(o: Pick<JobQueueOptions, 'db' | 'pgSchema' | 'clock' | 'log' | 'pollIntervalMs' | 'expireInSeconds' | 'stopTimeoutMs'> & { databaseUrl: string }): JobBackend {
  const { db, clock, log } = o;
  const schema = o.pgSchema ? `${o.pgSchema}_jobs` : 'pgboss';
  const jobTable = sql.table(`${schema}.job`);
  const pollingIntervalSeconds = Math.max(0.5, (o.pollIntervalMs ?? 500) / 1000); // pg-boss refuses less than 0.5 s
  const expireInSeconds = Math.max(1, Math.round(o.expireInSeconds ?? 900));
  const stopTimeoutMs = o.stopTimeoutMs ?? 5_000;

  const boss = new (pgBoss())({
    connectionString: o.databaseUrl,
    schema,
    max: 5,
    application_name: 'switchboard-jobs',
    schedule: false, // no cron schedules yet: saves pg-boss's timekeeper its three timers and a worker
    supervise: true, // maintenance: expire, archive, delete
    // Expired jobs are noticed on the next maintenance run, so run it about as often as a job may last.
    maintenanceIntervalSeconds: Math.min(120, expireInSeconds),
    expireInSeconds,
  });
  boss.on('error', (error) => log.error('pg-boss error', { error }));

  const registrations: Registration[] = [];
  /** pg-boss worker ids by job name, to wake them when this process sends a job. */
  const workerIds = new Map<string, string[]>();
  /** Queues known to exist; kept across stop(), so a send during shutdown still works. */
  const queues = new Map<string, Promise<void>>();
  let ready: Promise<void> | undefined;
  let started: Promise<void> | undefined;
  let stopped = false;

  /** pg-boss's own start: opens its pool and creates or migrates its schema. Needed before any call. */
  function ensureReady(): Promise<void> {
    if (stopped) return Promise.reject(new Error('the job queue is stopped'));
    ready ??= boss.start().then(() => undefined, (err) => {
      ready = undefined;
      throw err;
    });
    return ready;
  }

  /**
   * v10 needs each queue created before send or work. Creating one adds a partition to the job table, and
   * two processes doing that at once deadlock inside pg-boss, so creation is serialized with an advisory
   * lock held (in a transaction on our pool) while pg-boss creates the queue on its own connection.
   */
  function ensureQueue(name: string): Promise<void> {
    let p = queues.get(name);
    if (!p) {
      p = ensureReady().then(async () => {
        if (await boss.getQueue(name)) return;
        await db.transaction().execute(async (trx) => {
          await sql`select pg_advisory_xact_lock(hashtext(${`${schema}.create_queue`}))`.execute(trx);
          await boss.createQueue(name); // a no-op if another process created it while we waited
        });
      });
      p.catch(() => queues.delete(name));
      queues.set(name, p);
    }
    return p;
  }

  /** pg-boss statements run through the application's pool (and its transaction, when there is one). */
  const through = (conn: Pick<typeof db, 'executeQuery'>): PgBoss.Db => ({
    executeSql: async (text, values) => ({ rows: [...(await conn.executeQuery(CompiledQuery.raw(text, values ?? []))).rows] }),
  });

  async function rows<R>(text: string, values: unknown[]): Promise<R[]> {
    if (!stopped) await ensureReady(); // the schema exists from here on
    return (await db.executeQuery(CompiledQuery.raw(text, values))).rows as R[];
  }

  async function register(r: Registration) {
    await ensureQueue(r.name);
    const ids = workerIds.get(r.name) ?? [];
    workerIds.set(r.name, ids);
    // v10 has no teamSize: concurrency is that many workers, each taking one job at a time.
    for (let i = 0; i < r.concurrency; i++) {
      let workerId: string | undefined;
      workerId = await boss.work<object>(r.name, { batchSize: 1, pollingIntervalSeconds, includeMetadata: true }, async (jobs) => {
        for (const j of jobs) {
          const job = { id: j.id, name: j.name, data: j.data, attempt: j.retryCount + 1 };
          try {
            await r.handler(job);
          } catch (error) {
            // Rethrown: pg-boss records the failure and schedules the retry (or marks the job failed).
            if (j.retryCount >= j.retryLimit) {
              log.error('job failed for good', { job: j.name, jobId: j.id, attempt: job.attempt, error });
              // pg-boss fails the job when this handler rethrows; the hook runs first, as pg-boss has no hook of its own.
              if (r.onFinalFailure) {
                await r.onFinalFailure(job, error).catch((err) => log.error('job final-failure handler failed', { job: j.name, jobId: j.id, error: err }));
              }
            } else log.warn('job attempt failed; will retry', { job: j.name, jobId: j.id, attempt: job.attempt, error });
            throw new Error(withoutNul(maskSecrets(error instanceof Error ? error.message : String(error)))); // pg-boss stores what it is given, as jsonb, through its own pool
          } finally {
            // A pg-boss worker otherwise waits a full polling interval after every job, even with a backlog:
            // ask for the next one straight away (it waits only when a fetch comes back empty).
            if (workerId) boss.notifyWorker(workerId);
          }
        }
      });
      ids.push(workerId);
    }
  }

  return {
    kind: 'pg-boss',

    start() {
      stopped = false;
      started ??= (async () => {
        await ensureReady();
        for (const r of registrations) await register(r);
      })().catch((err) => {
        started = undefined;
        throw err;
      });
      return started;
    },

    async stop() {
      stopped = true;
      const wasReady = ready;
      if (!wasReady) return;
      await Promise.allSettled([wasReady, started]);
      // Waits for running handlers up to the timeout (pg-boss polls them every 0.5 s, at least 1 s in all),
      // then fails what is still running (so it is retried) and closes its pool.
      await boss.stop({ graceful: true, wait: true, close: true, timeout: stopTimeoutMs });
      ready = undefined;
      started = undefined;
      workerIds.clear();
    },

    async send(name, data, opts?: JobOptions) {
      await ensureQueue(name);
      const j = withJobDefaults(opts);
      const options: PgBoss.SendOptions = {
        retryLimit: j.retryLimit,
        retryDelay: Math.round(j.retryDelaySeconds),
        retryBackoff: j.retryBackoff,
        ...(j.startAfter ? { startAfter: new Date(Date.now() + delayUntil(j.startAfter, clock)) } : {}),
        ...(j.singletonKey !== undefined ? { singletonKey: j.singletonKey } : {}),
      };
      const key = j.singletonKey;
      const id = key === undefined
        ? await boss.send(name, data, { ...options, db: through(db) })
        : await db.transaction().execute(async (trx) => {
          await sql`select pg_advisory_xact_lock(hashtext(${`${schema}.${name}`}), hashtext(${key}))`.execute(trx);
          const existing = await sql`select 1 from ${jobTable} where name = ${name} and singleton_key = ${key} and state < 'completed' limit 1`.execute(trx);
          if (existing.rows.length) return null;
          return boss.send(name, data, { ...options, db: through(trx) });
        });
      if (id && (!j.startAfter || delayUntil(j.startAfter, clock) <= 0)) {
        for (const w of workerIds.get(name) ?? []) boss.notifyWorker(w);
      }
      return id;
    },

    work(name, handler, opts) {
      if (registrations.some((r) => r.name === name)) throw new Error(`a handler for job "${name}" is already registered`);
      const r: Registration = { name, handler: handler as JobHandler<any>, onFinalFailure: opts?.onFinalFailure as FinalFailureHandler<any> | undefined, concurrency: Math.max(1, opts?.concurrency ?? 1) };
      registrations.push(r);
      if (started) {
        void started.then(() => register(r)).catch((error) => log.error('could not start job worker', { job: name, error }));
      }
    },

    async counts(name) {
      const found = await rows<{ state: string; n: number }>(
        `select state::text as state, count(*)::int as n from ${schema}.job where ${name !== undefined ? 'name = $1' : INTERNAL} group by state`,
        name !== undefined ? [name] : [],
      );
      const c: JobCounts = { queued: 0, active: 0, completed: 0, failed: 0 };
      for (const { state, n } of found) {
        if (state === 'created' || state === 'retry') c.queued += n;
        else if (state in c) c[state as keyof JobCounts] += n;
      }
      return c;
    },

    async drain(opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 10_000;
      const until = Date.now() + timeoutMs;
      for (;;) {
        const [r] = await rows<{ n: number }>(
          `select count(*)::int as n from ${schema}.job
           where ((state < 'active' and start_after < now()) or state = 'active') and ${opts.name !== undefined ? 'name = $1' : INTERNAL}`,
          opts.name !== undefined ? [opts.name] : [],
        );
        if (!r || r.n === 0) return;
        if (Date.now() > until) throw new Error(`job queue did not drain within ${timeoutMs} ms${opts.name ? ` (job "${opts.name}")` : ''}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    },
  };
}
