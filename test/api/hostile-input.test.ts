/**
 * Every documented route (the OpenAPI document lists them all, webhooks included) driven as an
 * attacker would: malformed and oversized bodies, each field of a body given a wrong type or a huge
 * value, nonsense query values, hostile path segments, and every kind of caller — the owner, the
 * customer who owns the fixture's agent, another customer, an auditor, nobody. Whatever comes in:
 * - no answer is a 500 (an unhandled error is a bug, and its message could leak internals); a 502 or
 *   503 only names a provider that failed or a feature that is not set up;
 * - every error is JSON in our shape (`{"error":{"code","message"}}`, OpenAI's on /v1) and names no
 *   SQL, driver or stack frame;
 * - another customer is never answered 2xx about the fixture's agent;
 * - an auditor and an anonymous caller change nothing (a short list of routes that only read or act
 *   on the caller's own session is allowed).
 * Streams (text/event-stream) are only opened and closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeFixture, type Fixture, type Who } from '../helpers/route-table.js';

/** bodyProps: the JSON body's property paths, `a` or `a.b`. */
type Op = { method: string; path: string; bodyProps: string[]; query: string[] };

const HUGE_BODY = JSON.stringify({ text: 'x'.repeat(3_000_000) });
const BODIES = ['{', '[]', '{}', 'null', HUGE_BODY];
const BAD_VALUES: unknown[] = [null, { $gt: 1 }, 'x'.repeat(100_000), -1, 1e20, 'nul \u0000 inside', '2026-13-45T99:99:99Z'];
const BAD_QUERY = ['-1', 'abc', 'x'.repeat(5000), 'nul\u0000', '99999999999999999999', '2026-13-45'];
/**
 * What an auditor or nobody may POST/PUT/PATCH/DELETE and get a 2xx: reads with a body (prompt
 * previews), their own session and visitor link, and their own API keys (every role may hold keys;
 * a key acts with its user's role).
 */
const HARMLESS_WRITES = new Set([
  'POST /api/agents/{id}/prompt-preview', 'POST /api/agents/preview-prompt', 'POST /api/auth/logout', 'DELETE /api/public/link', 'POST /api/keys',
]);
/** Routes that end sessions or remove the fixture's records run last, so the rest see them. */
const destructive = (o: Op) => o.method === 'DELETE' || /logout|password|suspend|timezone/.test(o.path);
/** The body's property paths, one level of nested objects included (`persona.soul`). */
function propPaths(schema: { properties?: Record<string, { properties?: object }> } | undefined): string[] {
  return Object.entries(schema?.properties ?? {}).flatMap(([k, v]) => [k, ...Object.keys(v?.properties ?? {}).map((n) => `${k}.${n}`)]);
}
const nest = (path: string, v: unknown): unknown => path.split('.').reduceRight<unknown>((inner, k) => ({ [k]: inner }), v);
const LEAK = /sqlite|postgres|syntax error|select .* from|insert into|\bat \S+\.(?:ts|js|cjs):\d+|node_modules/i;

describe('hostile input on every documented route', () => {
  let f: Fixture;
  let ops: Op[];
  beforeAll(async () => {
    f = await routeFixture();
    const spec = (await (await f.app.request('/api/openapi.json')).json()) as { paths: Record<string, Record<string, any>> };
    ops = Object.entries(spec.paths).flatMap(([path, methods]) => Object.entries(methods).map(([m, op]) => ({
      method: m.toUpperCase(), path,
      bodyProps: propPaths(op.requestBody?.content?.['application/json']?.schema),
      query: (op.parameters ?? []).filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name),
    })));
    ops.sort((a, b) => Number(destructive(a)) - Number(destructive(b)));
  });
  afterAll(async () => { await f?.close(); });

  it('answers every request without a 500, in the error shape, and keeps callers to their own', async () => {
    expect(ops.length).toBeGreaterThan(100);
    const problems: string[] = [];
    let sent = 0;
    for (const op of ops) {
      const hasParams = op.path.includes('{');
      const segments = hasParams ? [f.ids.agent!, 'nope', 'x'.repeat(3000), '%00', '..%2F..%2Fetc', '%E0%A4%A'] : [''];
      const bodies: (string | undefined)[] = op.method === 'GET' || op.method === 'DELETE' ? [undefined]
        : [undefined, ...BODIES, ...op.bodyProps.flatMap((k) => BAD_VALUES.map((v) => JSON.stringify(nest(k, v))))];
      const queries = ['', ...op.query.flatMap((q) => BAD_QUERY.map((v) => `?${q}=${encodeURIComponent(v)}`))];
      for (const segment of segments) {
        const url = op.path.replace(/\{\w+\}/g, segment);
        const callers: Who[] = segment === f.ids.agent || !hasParams ? ['owner', 'customer', 'other', 'auditor', 'anonymous'] : ['owner', 'other'];
        for (const who of callers) for (const q of queries) for (const body of bodies) {
          const headers: Record<string, string> = {};
          if (who !== 'anonymous') headers.authorization = `Bearer ${f.tokens[who]}`;
          if (body !== undefined) headers['content-type'] = 'application/json';
          sent++;
          const res = await f.app.request(url + q, { method: op.method, headers, body });
          const what = `${who} ${op.method} ${op.path} [${segment.slice(0, 12)}]${q.slice(0, 30)} ${String(body).slice(0, 40)} → ${res.status}`;
          if ((res.headers.get('content-type') ?? '').includes('event-stream')) { await res.body?.cancel(); continue; }
          const text = await res.text();
          // 502/503 name a provider that failed or a feature not set up (`whatsapp_not_configured`); a 500 is a bug.
          if (res.status === 500 || (res.status > 500 && !/"code":"\w+_(?:not_configured|unreachable|failed)"/.test(text))) { problems.push(`${what} ${text.slice(0, 200)}`); continue; }
          if (res.status < 300) {
            if (who === 'other' && segment === f.ids.agent) problems.push(`another customer reached the agent: ${what}`);
            if ((who === 'auditor' || who === 'anonymous') && op.method !== 'GET' && !HARMLESS_WRITES.has(`${op.method} ${op.path}`)) problems.push(`a write went through: ${what}`);
            continue;
          }
          if (res.status < 400) continue;
          let error: { code?: unknown; type?: unknown; message?: unknown } | undefined;
          try { error = (JSON.parse(text) as { error?: typeof error }).error; } catch { /* checked below */ }
          const shaped = typeof error?.message === 'string' && (op.path.startsWith('/v1/') ? typeof error.type === 'string' : typeof error.code === 'string');
          if (!shaped) problems.push(`not in the error shape: ${what} ${text.slice(0, 120)}`);
          else if (LEAK.test(String(error!.message))) problems.push(`internals in the message: ${what} ${String(error!.message).slice(0, 200)}`);
        }
      }
    }
    expect(sent).toBeGreaterThan(5000);
    expect(problems.slice(0, 20)).toEqual([]);
  }, 120_000);
});
