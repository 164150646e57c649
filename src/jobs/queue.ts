/**
 * The contract of the two durable queue backends — background work that survives restarts and runs
 * once across processes sharing a database. On SQLite it is a `jobs` table in the same file
 * (sqlite-queue.ts); on PostgreSQL it is pg-boss in its own schema (pg-boss-queue.ts). The rest of
 * the code uses them through job definitions (define.ts) and the queue built on top (index.ts).
 *
 * Delivery is at least once: a job whose process dies mid-run is run again, so handlers must be
 * idempotent (jobs carry ids, not objects).
 */
import type { Clock } from '../domain/ports.js';
import type { Logger } from '../infra/logger.js';
import type { Db } from '../store/db.js';

export type JobOptions = {
  /** At most one queued-or-running job per (name, singletonKey); send returns null when one exists. */
  singletonKey?: string;
  /** Not run before this time, by the queue's clock. */
  startAfter?: Date;
  /** Retries after the first attempt (so at most retryLimit + 1 runs); default 5. */
  retryLimit?: number;
  /** Wait before a retry; default 5, doubled each retry when retryBackoff (default true). pg-boss rounds to whole seconds and adds jitter. */
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
};

export type Job<T> = { id: string; name: string; data: T; /** 1-based */ attempt: number };
export type JobHandler<T> = (job: Job<T>) => Promise<void>;
/** Called once, after the attempt that used up the last retry has been recorded as failed, with that attempt's error. */
export type FinalFailureHandler<T> = (job: Job<T>, error: unknown) => Promise<void>;
export type WorkOptions<T> = { concurrency?: number; onFinalFailure?: FinalFailureHandler<T> };
export type JobCounts = { queued: number; active: number; completed: number; failed: number };

/** A queue backend: jobs by name with per-send retry options. Code outside src/jobs uses `JobQueue` (index.ts). */
export interface JobBackend {
  readonly kind: 'sqlite' | 'pg-boss';
  /** Starts polling for work registered with `work` (idempotent). */
  start(): Promise<void>;
  /**
   * Stops taking new jobs and waits (bounded, a few seconds) for running handlers. A handler still running
   * after that is abandoned: on SQLite its lease is no longer renewed, so another process takes the job
   * over once it runs out; pg-boss marks it failed, which schedules a retry.
   */
  stop(): Promise<void>;
  send<T extends object>(name: string, data: T, opts?: JobOptions): Promise<string | null>;
  /**
   * Registers the handler for a job name; a throw marks the attempt failed and schedules a retry until retryLimit,
   * then the job is 'failed' and `onFinalFailure` is called once, in the process that recorded it.
   */
  work<T extends object>(name: string, handler: JobHandler<T>, opts?: WorkOptions<T>): void;
  /** Number of jobs by state for a name (or all names): queued (incl. waiting for retry), active, completed, failed. */
  counts(name?: string): Promise<JobCounts>;
  /** Resolves once no job (of `name`, or any) is queued-and-due or active, or rejects after timeoutMs (default 10000). For tests and benches. */
  drain(opts?: { name?: string; timeoutMs?: number }): Promise<void>;
}

export type JobQueueOptions = {
  dialect: 'sqlite' | 'postgres';
  db: Db;
  /** PostgreSQL only: pg-boss opens its own small pool on this URL. */
  databaseUrl?: string;
  /** PostgreSQL only: pg-boss lives in `${pgSchema}_jobs` (tests), or `pgboss` without one. */
  pgSchema?: string;
  /**
   * Only reads startAfter: the job waits `startAfter − clock.now()` of real time. Everything else in the queue
   * (leases, retry delays, expiry, clean-up) is real time, as it must be for pg-boss (the database's clock),
   * so a test that moves a manual clock neither expires running jobs nor strands retries, on either database.
   */
  clock: Clock;
  log: Logger;
  /** How often an idle worker looks for due jobs; default 250 ms (pg-boss: at least 500 ms). */
  pollIntervalMs?: number;
  /** SQLite only: a claimed job's lease, renewed while its handler runs; a dead process's jobs come back after it. Default 60 s. */
  leaseMs?: number;
  /** pg-boss only: the longest a handler may run before pg-boss fails (and retries) it; a dead process's jobs come back after it. Default 900 s. */
  expireInSeconds?: number;
  /** How long stop() waits for running handlers; default 5000 ms (pg-boss: at least 1000 ms). */
  stopTimeoutMs?: number;
};

export const JOB_DEFAULTS = { retryLimit: 5, retryDelaySeconds: 5, retryBackoff: true } as const;

/** The job options with defaults filled in. */
export function withJobDefaults(opts: JobOptions = {}): Required<Omit<JobOptions, 'singletonKey' | 'startAfter'>> & Pick<JobOptions, 'singletonKey' | 'startAfter'> {
  return {
    ...opts,
    retryLimit: Math.max(0, Math.floor(opts.retryLimit ?? JOB_DEFAULTS.retryLimit)),
    retryDelaySeconds: Math.max(0, opts.retryDelaySeconds ?? JOB_DEFAULTS.retryDelaySeconds),
    retryBackoff: opts.retryBackoff ?? JOB_DEFAULTS.retryBackoff,
  };
}

/** Milliseconds of real time until `at` on `clock` (negative when it has passed). */
export function delayUntil(at: Date, clock: Clock): number {
  return at.getTime() - clock.now().getTime();
}
