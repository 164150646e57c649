import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './context.js';
import { zodToAppError } from './errors.js';

/** A route group whose validation failures all become our 400 error shape, naming the field. */
export function router() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw zodToAppError(result.error);
    },
  });
}
