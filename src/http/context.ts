import type { Actor } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';

/** Variables every request carries, set by the middleware in http/middleware. */
export type AppEnv = {
  Variables: {
    requestId: string;
    /** performance.now() when the request came in (Server-Timing on the model paths). */
    startedAt: number;
    log: Logger;
    actor: Actor | undefined;
  };
};
