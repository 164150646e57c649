/**
 * The job queue on SQLite: a `jobs` table in the application's database file, owned by this adapter
 * (created here, like pg-boss creates its own schema, not by the migrations).
 *
 * Safe across processes sharing the file (WAL): a job is claimed by one `UPDATE … WHERE id = (SELECT …)
 * RETURNING` statement, which SQLite runs atomically under its write lock. A claim is a lease
 * (`locked_until`) renewed while the handler runs; when a process dies its leases run out and
 * another process requeues the job. Completion and failure are written only by the attempt that holds
 * the claim (`attempt` must match), so a worker that lost its lease cannot overwrite a newer attempt.
 */
import { randomUUID } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import type { FinalFailureHandler, Job, JobBackend, JobCounts, JobHandler, JobOptions, JobQueueOptions } from './queue.js';
import { delayUntil, withJobDefaults } from './queue.js';
import { maskSecrets } from '../infra/redact.js';

type ClaimedRow = { id: string; name: string; data: string; attempt: number; retry_limit: number; retry_delay_s: number; retry_backoff: number };
type Worker = { handler: JobHandler<any>; onFinalFailure?: FinalFailureHandler<any>; concurrency: number; running: number };

const KEEP_FINISHED_MS = 7 * 24 * 3600_000;
const CLEANUP_EVERY_MS = 3600_000;
const MAX_ERROR_LENGTH = 2000;
const LEASE_EXPIRED = 'lease expired: the process running it stopped or stalled';

const SCHEMA = [
  sql`create table if not exists jobs (
    id text primary key,
    name text not null,
    data text not null,
    singleton_key text,
    state text not null,
    attempt integer not null default 0,
    retry_limit integer not null,
    retry_delay_s real not null,
    retry_backoff integer not null,
    run_after text not null,
    locked_until text,
    last_error text,
    created_at text not null,
    started_at text,
    completed_at text
  )`,
  sql`create index if not exists jobs_due on jobs (state, run_after)`,
  // One queued-or-running job per (name, singleton key); `insert … on conflict do nothing` relies on it.
  sql`create unique index if not exists jobs_singleton on jobs (name, singleton_key) where singleton_key is not null and state in ('queued', 'active')`,
];

const errorText = (err: unknown) => maskSecrets(err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_LENGTH);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function sqliteJobQueue(o: Pick<JobQueueOptions, 'db' | 'clock' | 'log' | 'pollIntervalMs' | 'leaseMs' | 'stopTimeoutMs'>): JobBackend {
  const { db, clock, log } = o;
  const pollMs = o.pollIntervalMs ?? 250;
  const leaseMs = o.leaseMs ?? 60_000;
  const stopTimeoutMs = o.stopTimeoutMs ?? 5_000;
  /** Times in the table are real time (ISO strings, like every other table), as pg-boss uses the database's clock. */
  const iso = (ms = 0) => new Date(Date.now() + ms).toISOString();

  const workers = new Map<string, Worker>();
  const inFlight = new Set<Promise<void>>();
  const leases = new Map<string, NodeJS.Timeout>();
  let ready: Promise<void> | undefined;
  /** The running poll loop's token; stop() clears it, and a loop ends once its token is no longer current. */
  let active: object | undefined;
  let loopDone: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let woken = false;
  let lastSweep = 0;
  let lastCleanup = 0;

  function ensureTable(): Promise<void> {
    ready ??= (async () => {
      for (const stmt of SCHEMA) await stmt.execute(db);
    })().catch((err) => {
      ready = undefined;
      throw err;
    });
    return ready;
  }

  /** Wakes the poll loop now (a job was sent or a slot freed); remembered if the loop is busy. */
  function notify() {
    if (wake) wake();
    else woken = true;
  }

  function idle(): Promise<void> {
    if (woken) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        wake = undefined;
        resolve();
      };
      const t = setTimeout(done, pollMs);
      wake = done;
    });
  }

  /**
   * Jobs whose lease ran out (their process died or stalled) go back to the queue, or fail when out of attempts.
   * Only jobs this process has handlers for, so the final-failure hook of one that fails here is at hand.
   */
  async function sweepExpired(names: string[]) {
    if (!names.length) return;
    const now = iso();
    const mine = sql`state = 'active' and locked_until < ${now} and name in (${sql.join(names)})`;
    // Look before writing: an UPDATE takes SQLite's write lock even when it matches nothing.
    const expired = await sql`select 1 from jobs where ${mine} limit 1`.execute(db);
    if (!expired.rows.length) return;
    const r = await sql<{ id: string; name: string; data: string; attempt: number; state: string }>`
      update jobs set
        state = case when attempt > retry_limit then 'failed' else 'queued' end,
        completed_at = case when attempt > retry_limit then ${now} else null end,
        run_after = ${now}, locked_until = null, last_error = ${LEASE_EXPIRED}
      where ${mine}
      returning id, name, data, attempt, state`.execute(db);
    for (const j of r.rows) {
      log.warn('job lease expired', { job: j.name, jobId: j.id, attempt: Number(j.attempt), requeued: j.state === 'queued' });
      if (j.state === 'failed') {
        log.error('job failed for good', { job: j.name, jobId: j.id, attempt: Number(j.attempt), error: LEASE_EXPIRED });
        await finalFailure(workers.get(j.name), { id: j.id, name: j.name, data: JSON.parse(j.data), attempt: Number(j.attempt) }, new Error(LEASE_EXPIRED));
      }
    }
  }

  /** Runs a job's final-failure hook; its own failure is logged, never retried (the job is already failed). */
  async function finalFailure(w: Worker | undefined, job: Job<unknown>, error: unknown) {
    if (!w?.onFinalFailure) return;
    try {
      await w.onFinalFailure(job, error);
    } catch (err) {
      log.error('job final-failure handler failed', { job: job.name, jobId: job.id, error: err });
    }
  }

  async function cleanup() {
    const r = await sql`delete from jobs where state in ('completed', 'failed') and completed_at < ${iso(-KEEP_FINISHED_MS)}`.execute(db);
    if (Number(r.numAffectedRows ?? 0) > 0) log.debug('old jobs deleted', { count: Number(r.numAffectedRows) });
  }

  async function claim(names: string[]): Promise<ClaimedRow | undefined> {
    const now = iso();
    const due = await sql`select 1 from jobs where state = 'queued' and run_after <= ${now} and name in (${sql.join(names)}) limit 1`.execute(db);
    if (!due.rows.length) return undefined;
    const r = await sql<ClaimedRow>`
      update jobs set state = 'active', attempt = attempt + 1, locked_until = ${iso(leaseMs)}, started_at = ${now}
      where state = 'queued' and id = (
        select id from jobs
        where state = 'queued' and run_after <= ${now} and name in (${sql.join(names)})
        order by run_after, created_at, id limit 1)
      returning id, name, data, attempt, retry_limit, retry_delay_s, retry_backoff`.execute(db);
    return r.rows[0];
  }

  /** Runs a statement that applies only while this attempt still holds the job; false if it was taken over. */
  async function ifStillOurs(row: ClaimedRow, update: RawBuilder<unknown>): Promise<boolean> {
    const r = await update.execute(db);
    const ours = Number(r.numAffectedRows ?? 0) === 1;
    if (!ours) log.warn('job was taken over by another worker before this attempt finished', { job: row.name, jobId: row.id, attempt: row.attempt });
    return ours;
  }

  async function runJob(w: Worker, row: ClaimedRow) {
    const attempt = Number(row.attempt);
    const mine = sql`id = ${row.id} and attempt = ${attempt} and state = 'active'`;
    const renew = setInterval(() => {
      sql`update jobs set locked_until = ${iso(leaseMs)} where ${mine}`.execute(db)
        .catch((err) => log.warn('job lease renewal failed', { job: row.name, jobId: row.id, error: err }));
    }, Math.max(20, Math.floor(leaseMs / 3)));
    leases.set(row.id, renew);
    let error: unknown;
    let failed = false;
    const job: Job<unknown> = { id: row.id, name: row.name, data: JSON.parse(row.data), attempt };
    try {
      await w.handler(job);
    } catch (err) {
      failed = true;
      error = err;
    } finally {
      clearInterval(renew);
      leases.delete(row.id);
    }
    try {
      if (!failed) {
        await ifStillOurs(row, sql`update jobs set state = 'completed', completed_at = ${iso()}, locked_until = null where ${mine}`);
        return;
      }
      const final = attempt > Number(row.retry_limit);
      const delayS = Number(row.retry_backoff) ? Number(row.retry_delay_s) * 2 ** Math.min(16, attempt - 1) : Number(row.retry_delay_s);
      const now = iso();
      const updated = await ifStillOurs(row, sql`
        update jobs set state = ${final ? 'failed' : 'queued'}, run_after = ${iso(delayS * 1000)}, locked_until = null,
          last_error = ${errorText(error)}, completed_at = ${final ? now : null}
        where ${mine}`);
      if (updated && final) {
        log.error('job failed for good', { job: row.name, jobId: row.id, attempt, error });
        await finalFailure(w, job, error);
      } else if (updated) log.warn('job attempt failed; will retry', { job: row.name, jobId: row.id, attempt, retryInSeconds: delayS, error });
    } catch (err) {
      log.error('could not record the job outcome', { job: row.name, jobId: row.id, attempt, error: err });
    }
  }

  function dispatch(row: ClaimedRow) {
    const w = workers.get(row.name)!;
    w.running++;
    const p: Promise<void> = runJob(w, row).finally(() => {
      w.running--;
      inFlight.delete(p);
      notify();
    });
    inFlight.add(p);
  }

  async function loop(token: object) {
    const running = () => active === token;
    while (running()) {
      let claimed = false;
      try {
        if (Date.now() - lastSweep >= Math.min(pollMs, leaseMs / 2)) {
          lastSweep = Date.now();
          await sweepExpired([...workers.keys()]);
        }
        if (Date.now() - lastCleanup >= CLEANUP_EVERY_MS) {
          lastCleanup = Date.now();
          await cleanup();
        }
        const names = [...workers].filter(([, w]) => w.running < w.concurrency).map(([name]) => name);
        const row = running() && names.length ? await claim(names) : undefined;
        if (row) {
          claimed = true;
          dispatch(row);
        }
      } catch (err) {
        log.error('job poll failed', { error: err });
      }
      if (!claimed && running()) await idle();
    }
  }

  return {
    kind: 'sqlite',

    async start() {
      if (active) return;
      const token = (active = {});
      try {
        await ensureTable();
      } catch (err) {
        if (active === token) active = undefined;
        throw err;
      }
      if (active === token) loopDone = loop(token);
    },

    async stop() {
      active = undefined;
      notify();
      const done = loopDone;
      loopDone = undefined;
      await done;
      woken = false;
      if (inFlight.size) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.allSettled([...inFlight]), new Promise<void>((r) => { timer = setTimeout(r, stopTimeoutMs); })]);
        clearTimeout(timer);
      }
      if (leases.size) {
        // Handlers still running: stop renewing their leases, so another process takes the jobs over once they run out.
        log.warn('stopped with jobs still running; they return to the queue when their lease runs out', { jobIds: [...leases.keys()] });
        for (const t of leases.values()) clearInterval(t);
        leases.clear();
      }
    },

    async send(name, data, opts?: JobOptions) {
      await ensureTable();
      const j = withJobDefaults(opts);
      const now = iso();
      const runAfter = j.startAfter ? iso(delayUntil(j.startAfter, clock)) : now;
      const r = await sql<{ id: string }>`
        insert into jobs (id, name, data, singleton_key, state, attempt, retry_limit, retry_delay_s, retry_backoff, run_after, created_at)
        values (${randomUUID()}, ${name}, ${JSON.stringify(data)}, ${j.singletonKey ?? null}, 'queued', 0, ${j.retryLimit}, ${j.retryDelaySeconds}, ${j.retryBackoff ? 1 : 0}, ${runAfter}, ${now})
        on conflict do nothing
        returning id`.execute(db);
      const id = r.rows[0]?.id ?? null;
      if (id && active && runAfter <= now && workers.has(name)) notify();
      return id;
    },

    work(name, handler, opts) {
      if (workers.has(name)) throw new Error(`a handler for job "${name}" is already registered`);
      workers.set(name, { handler: handler as JobHandler<any>, onFinalFailure: opts?.onFinalFailure as FinalFailureHandler<any> | undefined, concurrency: Math.max(1, opts?.concurrency ?? 1), running: 0 });
      if (active) notify();
    },

    async counts(name) {
      await ensureTable();
      const r = await sql<{ state: string; n: number }>`
        select state, count(*) as n from jobs ${name !== undefined ? sql`where name = ${name}` : sql``} group by state`.execute(db);
      const c: JobCounts = { queued: 0, active: 0, completed: 0, failed: 0 };
      for (const { state, n } of r.rows) if (state in c) c[state as keyof JobCounts] = Number(n);
      return c;
    },

    async drain(opts = {}) {
      await ensureTable();
      const until = Date.now() + (opts.timeoutMs ?? 10_000);
      for (;;) {
        const r = await sql<{ n: number }>`
          select count(*) as n from jobs
          where ((state = 'queued' and run_after <= ${iso()}) or state = 'active')
          ${opts.name !== undefined ? sql`and name = ${opts.name}` : sql``}`.execute(db);
        if (Number(r.rows[0]?.n ?? 0) === 0) return;
        if (Date.now() > until) throw new Error(`job queue did not drain within ${opts.timeoutMs ?? 10_000} ms${opts.name ? ` (job "${opts.name}")` : ''}`);
        await sleep(20);
      }
    },
  };
}
