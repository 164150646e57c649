/**
 * A background job is declared once, in the module that owns its work (Outline's tasks): its stable
 * name, the zod schema of its payload (checked when it is sent and again before it is performed), its
 * retry policy, its concurrency, what performing it means, and what happens when it finally fails.
 * `deps.ts` registers the definitions with the queue (index.ts); senders pass the definition (or,
 * from another module, its name) to `queue.send`.
 */
import type { z } from 'zod';
import type { Job } from './queue.js';

export type JobRetry = {
  /** Retries after the first attempt (so at most limit + 1 runs). */
  limit: number;
  /** Wait before the first retry; default the queue's (SWITCHBOARD_JOB_RETRY_SECONDS). */
  delaySeconds?: number;
  /** Double the wait at each retry; default true. */
  backoff?: boolean;
};

export interface JobDefinition<T extends object = object> {
  /** Stable snake_case or kebab-case name: stored with every queued job, so it never changes once shipped. */
  readonly name: string;
  readonly schema: z.ZodType<T>;
  readonly retry: JobRetry;
  /** Jobs of this name run at once in one process; default the queue's (SWITCHBOARD_JOB_CONCURRENCY). */
  readonly concurrency?: number;
  /** Does the work; a throw fails the attempt (retried until `retry.limit`). Must be idempotent: delivery is at least once. */
  perform(job: Job<T>): Promise<void>;
  /** Runs once when the last retry has failed, with that attempt's error (e.g. to mark a record failed). */
  onFinalFailure?(job: Job<T>, error: unknown): Promise<void>;
}

export function defineJob<S extends z.ZodType<object>>(definition: {
  name: string;
  schema: S;
  retry: JobRetry;
  concurrency?: number;
  perform(job: Job<z.output<S>>): Promise<void>;
  onFinalFailure?(job: Job<z.output<S>>, error: unknown): Promise<void>;
}): JobDefinition<z.output<S>> {
  if (!/^[a-z][a-z0-9_-]*$/.test(definition.name)) throw new Error(`job name "${definition.name}" must be lower-case letters, digits, - and _`);
  if (!(definition.retry.limit >= 0)) throw new Error(`job "${definition.name}": retry.limit must be 0 or more`);
  return Object.freeze({ ...definition }) as unknown as JobDefinition<z.output<S>>;
}

/** Why a payload does not fit its job's schema: paths and zod's messages only, never the values. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`).join('; ');
}
