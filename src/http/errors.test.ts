/**
 * The one onError, through app.request(): a code is answered with the status the error table gives
 * it, a provider's failure with the code its kind maps to (never the provider's words), our own bug
 * with a generic 500, and /v1 in OpenAI's error shape with the same code and status.
 */
import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { ERROR_STATUS, appError } from '../domain/errors.js';
import { ProviderError } from '../domain/ports.js';
import type { AppEnv } from './context.js';
import { onError } from './errors.js';

function appThrowing(err: unknown) {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => { c.set('requestId', 'req-1'); await next(); });
  app.onError(onError);
  app.get('/api/x', () => { throw err; });
  app.get('/v1/x', () => { throw err; });
  return app;
}
const get = async (err: unknown, path = '/api/x') => {
  const r = await appThrowing(err).request(path);
  return { status: r.status, body: (await r.json()) as { error: Record<string, unknown> } };
};

describe('onError answers every code with its one status', () => {
  it('uses the table for every code', async () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      const r = await get(appError(code as keyof typeof ERROR_STATUS, `because ${code}`));
      expect([r.status, r.body.error.code], code).toEqual([status, code]);
    }
  });

  it("maps a provider's failure by kind, without its words", async () => {
    const cases = [['api', 502, 'provider_error'], ['network', 502, 'provider_error'], ['timeout', 504, 'provider_timeout'], ['not_configured', 503, 'no_model_configured']] as const;
    for (const [kind, status, code] of cases) {
      const r = await get(new ProviderError(kind, 'https://api.example.com/v1?key=sk-secret answered badly', 'openai'));
      expect([r.status, r.body.error.code], kind).toEqual([status, code]);
      expect(JSON.stringify(r.body)).not.toMatch(/sk-secret|example\.com/);
    }
  });

  it('answers our own bug with a generic 500 naming the request id', async () => {
    const r = await get(new TypeError('x is undefined'));
    expect(r).toEqual({ status: 500, body: { error: { code: 'internal_error', message: 'Something went wrong on our side. Request id: req-1' } } });
  });

  it("answers /v1 in OpenAI's shape, with the same code and status", async () => {
    const spent = await get(appError('budget_exhausted', 'The budget is spent.'), '/v1/x');
    expect(spent).toEqual({ status: 429, body: { error: { message: 'The budget is spent.', type: 'insufficient_quota', param: null, code: 'budget_exhausted' } } });
    // OpenAI names the parameter of an unknown model: `model`.
    const missing = await get(appError('model_not_found', 'No agent.'), '/v1/x');
    expect(missing).toEqual({ status: 404, body: { error: { message: 'No agent.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } } });
  });
});
