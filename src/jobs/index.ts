/**
 * The job queue the rest of the code uses: job definitions (define.ts) registered once, sent by
 * definition or name, on the backend for the database in use — a job table on SQLite
 * (sqlite-queue.ts), pg-boss on PostgreSQL (pg-boss-queue.ts). Payloads are checked against the
 * definition's schema when sent (a bad payload is a bug at the sender: it throws) and before they are
 * performed (a job queued by an older version that no longer fits fails its attempt; the definition's
 * final-failure hook is not called with data it cannot trust).
 */
import type { JobDefinition } from './define.js';
import { describeIssues } from './define.js';
import type { JobBackend, JobCounts, JobOptions, JobQueueOptions } from './queue.js';
import { sqliteJobQueue } from './sqlite-queue.js';
import { pgBossJobQueue } from './pg-boss-queue.js';

export type { JobDefinition, JobRetry } from './define.js';
export { defineJob } from './define.js';
export type { Job, JobCounts } from './queue.js';

/** What a sender chooses; retries come from the definition. */
export type SendOptions = Pick<JobOptions, 'singletonKey' | 'startAfter'>;

export interface JobQueue {
  readonly kind: JobBackend['kind'];
  /** Makes a definition known (so it can be sent by name) and, unless this process only sends jobs, runs its workers. */
  register(definition: JobDefinition<any>): void;
  /**
   * Queues a job after checking its payload against the definition's schema. Answers the job id, or null
   * when a job with the same `singletonKey` is already queued or running.
   */
  send<T extends object>(job: JobDefinition<T> | string, data: T, opts?: SendOptions): Promise<string | null>;
  start(): Promise<void>;
  stop(): Promise<void>;
  counts(name?: string): Promise<JobCounts>;
  drain(opts?: { name?: string; timeoutMs?: number }): Promise<void>;
}

export type CreateJobQueueOptions = JobQueueOptions & {
  /** Default concurrency per job name; 0: this process sends jobs but runs none (SWITCHBOARD_JOB_CONCURRENCY). Default 1. */
  concurrency?: number;
  /** Default wait before the first retry, for definitions that do not set one (SWITCHBOARD_JOB_RETRY_SECONDS). Default 5. */
  retryDelaySeconds?: number;
};

/** The backend for the database in use: a job table on SQLite, pg-boss on PostgreSQL. */
export function createJobBackend(o: JobQueueOptions): JobBackend {
  if (o.dialect === 'postgres') {
    if (!o.databaseUrl) throw new Error('createJobQueue: databaseUrl is required on PostgreSQL');
    return pgBossJobQueue({ ...o, databaseUrl: o.databaseUrl });
  }
  return sqliteJobQueue(o);
}

export function createJobQueue(o: CreateJobQueueOptions): JobQueue {
  const backend = createJobBackend(o);
  const { log } = o;
  const defaultConcurrency = o.concurrency ?? 1;
  const definitions = new Map<string, JobDefinition<any>>();

  function definitionOf(job: JobDefinition<any> | string): JobDefinition<any> {
    const def = typeof job === 'string' ? definitions.get(job) : job;
    if (!def) throw new Error(`job "${String(job)}" is not defined: register its definition first`);
    return def;
  }

  return {
    kind: backend.kind,

    register(def) {
      if (definitions.has(def.name)) throw new Error(`job "${def.name}" is already registered`);
      definitions.set(def.name, def);
      if (defaultConcurrency <= 0) return;
      backend.work<object>(def.name, async (job) => {
        const parsed = def.schema.safeParse(job.data);
        if (!parsed.success) throw new Error(`job "${def.name}" payload does not fit its schema: ${describeIssues(parsed.error)}`);
        await def.perform({ ...job, data: parsed.data });
      }, {
        concurrency: def.concurrency ?? defaultConcurrency,
        onFinalFailure: async (job, error) => {
          if (!def.onFinalFailure) return;
          const parsed = def.schema.safeParse(job.data);
          if (!parsed.success) {
            log.error('job final-failure hook skipped: payload does not fit its schema', { job: def.name, jobId: job.id, issues: describeIssues(parsed.error) });
            return;
          }
          await def.onFinalFailure({ ...job, data: parsed.data }, error);
        },
      });
    },

    async send(job, data, opts = {}) {
      const def = definitionOf(job);
      const parsed = def.schema.safeParse(data);
      if (!parsed.success) throw new Error(`job "${def.name}" payload does not fit its schema: ${describeIssues(parsed.error)}`);
      return backend.send(def.name, parsed.data, {
        ...opts,
        retryLimit: def.retry.limit,
        retryDelaySeconds: def.retry.delaySeconds ?? o.retryDelaySeconds,
        retryBackoff: def.retry.backoff,
      });
    },

    start: () => backend.start(),
    stop: () => backend.stop(),
    counts: (name) => backend.counts(name),
    drain: (opts) => backend.drain(opts),
  };
}
