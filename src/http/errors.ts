import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { AppError, ERROR_STATUS, PROVIDER_FAILURE_MESSAGE, appError, errors, providerFailureCode, type ErrorCode } from '../domain/errors.js';
import { zodProblems } from '../domain/schemas.js';
import { ProviderError } from '../domain/ports.js';
import type { AppEnv } from './context.js';

export const zodToAppError = (e: ZodError): AppError => errors.validation(zodProblems(e));

/** A model provider's failure as the error people see: the code its kind maps to, never the provider's words. */
export const providerFailure = (err: ProviderError): AppError => appError(providerFailureCode(err.kind), PROVIDER_FAILURE_MESSAGE);

/** Hono's own refusals (bad JSON, body limits) in our codes. */
const HONO: Partial<Record<number, [ErrorCode, string]>> = {
  400: ['invalid_json', 'The request body is not valid JSON.'],
  401: ['unauthorized', 'Sign in first.'],
  404: ['not_found', 'Not found.'],
  413: ['payload_too_large', 'The request body is too large.'],
  415: ['unsupported_media_type', 'Send the body as JSON with Content-Type: application/json.'],
};

/** Anything thrown, as an AppError (null: our own bug, answered with a generic 500). */
export function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  if (err instanceof ProviderError) return providerFailure(err);
  if (err instanceof HTTPException) {
    const known = HONO[err.status];
    if (known) return appError(known[0], err.status === 400 && !/json/i.test(err.message) ? err.message : known[1]);
    // A status Hono chose that our table does not know: keep Hono's status, under the generic code.
    return new AppError(err.status as (typeof ERROR_STATUS)['http_error'], 'http_error', err.message || 'Request failed.');
  }
  return null;
}

/** OpenAI's error `type` for a status, so OpenAI clients on /v1 read our errors as they read OpenAI's. */
function openaiType(status: number, code: string): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (code === 'budget_exhausted') return 'insufficient_quota';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/**
 * The one place errors become HTTP responses: {"error":{"code","message"}} with the status the
 * code has in domain/errors.ts. On /v1 the body is OpenAI's shape ({message, type, param, code}),
 * with the same code and status.
 */
export function onError(err: Error, c: Context<AppEnv>) {
  const e = toAppError(err);
  const openai = c.req.path.startsWith('/v1/');
  if (!e) {
    c.get('log')?.error('unhandled error', { error: err });
    const message = `Something went wrong on our side. Request id: ${c.get('requestId')}`;
    return c.json({ error: openai ? { message, type: 'server_error', param: null, code: 'internal_error' } : { code: 'internal_error', message } }, 500);
  }
  if (e.status >= 500) c.get('log')?.warn('request failed', { code: e.code, error: e.message });
  // After a refused oversized body the rest of it is still on the socket: do not reuse the connection.
  if (e.status === 413) c.header('Connection', 'close');
  if (e.extra.retryAfterSeconds) c.header('Retry-After', String(e.extra.retryAfterSeconds));
  if (openai) {
    const param = e.extra.fields?.[0]?.path ?? (e.code === 'model_not_found' ? 'model' : null);
    return c.json({ error: { message: e.message, type: openaiType(e.status, e.code), param, code: e.code, ...(e.extra.fields ? { fields: e.extra.fields } : {}) } }, e.status);
  }
  return c.json({ error: { code: e.code, message: e.message, ...(e.extra.fields ? { fields: e.extra.fields } : {}), ...e.extra.details } }, e.status);
}
