import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestServices, type TestServices } from '../../../test/helpers/test-services.js';

describe('GET /metrics', () => {
  let t: TestServices;
  let open: TestServices;
  beforeAll(async () => {
    t = await makeTestServices({ env: { METRICS_TOKEN: 'scrape-secret-123' } });
    open = await makeTestServices();
  });
  afterAll(async () => { await t?.close(); await open?.close(); });

  it.each([
    ['the right token', { authorization: 'Bearer scrape-secret-123' }, 200],
    ['a wrong token', { authorization: 'Bearer nope' }, 401],
    ['no token', {}, 401],
  ] as const)('with METRICS_TOKEN set, %s → %i', async (_, headers, status) => {
    const r = await t.request('/metrics', { headers });
    expect(r.status).toBe(status);
    if (status === 200) expect(r.body).toContain('switchboard_');
    else expect(r.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
  });

  it('without a token, refuses a request whose peer it cannot see as this machine', async () => {
    const r = await open.request('/metrics');
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
  });
});
