import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { AppError, errors } from '../domain/errors.js';
import { zodProblems } from '../domain/schemas.js';
import { ProviderError } from '../domain/ports.js';
import type { AppEnv } from './context.js';

export const zodToAppError = (e: ZodError): AppError => errors.validation(zodProblems(e));

/** The one place errors become HTTP responses: {"error":{"code","message"}}. */
export function onError(err: Error, c: Context<AppEnv>) {
  let e: AppError;
  if (err instanceof AppError) e = err;
  else if (err instanceof ProviderError) {
    e = new AppError(err.kind === 'timeout' ? 504 : 502, err.kind === 'timeout' ? 'provider_timeout' : 'provider_error', 'The model provider failed to answer. Try again in a moment.');
  } else if (err instanceof HTTPException) {
    const map: Record<number, [string, string]> = {
      400: ['invalid_json', 'The request body is not valid JSON.'],
      401: ['unauthorized', 'Sign in first.'],
      404: ['not_found', 'Not found.'],
      413: ['payload_too_large', 'The request body is too large.'],
      415: ['unsupported_media_type', 'Send the body as JSON with Content-Type: application/json.'],
    };
    const [code, message] = map[err.status] ?? ['http_error', err.message || 'Request failed.'];
    e = new AppError(err.status as AppError['status'], code, err.status === 400 && !/json/i.test(err.message) ? err.message : message);
  } else {
    c.get('log')?.error('unhandled error', { error: err });
    return c.json({ error: { code: 'internal_error', message: `Something went wrong on our side. Request id: ${c.get('requestId')}` } }, 500);
  }
  if (e.status >= 500) c.get('log')?.warn('request failed', { code: e.code, error: e.message });
  // After a refused oversized body the rest of it is still on the socket: do not reuse the connection.
  if (e.status === 413) c.header('Connection', 'close');
  if (e.extra.retryAfterSeconds) c.header('Retry-After', String(e.extra.retryAfterSeconds));
  return c.json({ error: { code: e.code, message: e.message, ...(e.extra.fields ? { fields: e.extra.fields } : {}) } }, e.status);
}
