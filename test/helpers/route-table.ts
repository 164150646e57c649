/**
 * Table-driven route tests over app.request() (no port, no sockets): each row names who calls
 * (nobody, the owner, an auditor, the customer who owns the fixture's agent, or another customer),
 * the request, and the status, error code, failing field or body it must get.
 */
import { expect, it } from 'vitest';
import { makeTestServices, type TestServices } from './test-services.js';

export type Who = 'anonymous' | 'owner' | 'auditor' | 'customer' | 'other';
export type Fixture = TestServices & {
  tokens: Record<Exclude<Who, 'anonymous'>, string>;
  /** Ids the paths may name as :agent, :slug, … (filled by the fixture and by each file's setup). */
  ids: Record<string, string>;
};

export async function routeFixture(o: Parameters<typeof makeTestServices>[0] = {}): Promise<Fixture> {
  const t = await makeTestServices(o);
  const owner = await t.as('owner');
  const [auditor, customer, other] = await Promise.all([t.as('auditor'), t.as('customer', 'alice'), t.as('customer', 'bob')]);
  const agent = await t.services.agents.create(customer.actor, { name: 'Alice Agent', listed: false });
  return {
    ...t,
    tokens: { owner: owner.token, auditor: auditor.token, customer: customer.token, other: other.token },
    ids: { agent: agent.id, slug: agent.slug },
  };
}

export type RouteCase = {
  name: string;
  as: Who;
  method?: string;
  /** `:name` segments are replaced from fixture.ids. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  /** The error code, when the answer is an error. */
  code?: string;
  /** A field the validation error must name. */
  field?: string;
  check?: (body: any, f: Fixture) => void | Promise<void>;
};

export function routeTable(fixture: () => Fixture, cases: RouteCase[]) {
  it.each(cases.map((c) => [`${c.name}: ${c.as} ${c.method ?? (c.body !== undefined ? 'POST' : 'GET')} ${c.path} → ${c.status}`, c] as const))('%s', async (_, c) => {
    const f = fixture();
    const path = c.path.replace(/:(\w+)/g, (m, k: string) => f.ids[k] ?? m);
    const r = await f.request(path, { method: c.method, body: c.body, headers: c.headers, token: c.as === 'anonymous' ? undefined : f.tokens[c.as] });
    expect(r.status, JSON.stringify(r.body)).toBe(c.status);
    if (c.code) expect(r.body.error.code).toBe(c.code);
    if (c.status >= 400) expect(typeof r.body.error.message).toBe('string');
    if (c.field) expect(r.body.error.fields.map((x: { path: string }) => x.path)).toContain(c.field);
    await c.check?.(r.body, f);
  });
}
