/**
 * The rest of the site watch and schedules (issue 17), over real HTTP with a manual clock: the plan's
 * minimum check interval, the `site_audit` tool called by the model with its result in the reply, one
 * uptime check per slot with two server processes on one database, and a schedule run left `running`
 * by a crash swept to failed ("interrupted"). SQLite here; PostgreSQL under TEST_DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, manualClock, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeWebsite, type FakeWebsite } from '../fakes/website-server.js';
import { contentText, type ChatRequest } from '../fakes/openai-server.js';

function toolModel(req: ChatRequest) {
  const last = req.messages?.at(-1);
  if (last?.role === 'tool') return `Tool said: ${contentText(last.content)}`;
  const text = contentText(last?.content);
  const m = /^CALL (\S+) (.*)$/s.exec(text);
  if (m) return { kind: 'tool_calls' as const, calls: [{ name: m[1]!, arguments: m[2]! }] };
  return `Echo: ${text}`;
}

describe('site watch and schedules, the rest', () => {
  const clock = manualClock(Date.parse('2026-03-10T12:00:00.000Z'));
  let app: TestApp;
  let app2: TestApp;
  let site: FakeWebsite;
  let owner: string;
  let agentId: string;
  const env = { SWITCHBOARD_ALLOW_PRIVATE_URLS: 'true', SWITCHBOARD_SCHEDULE_TICK_MS: '50', SWITCHBOARD_SITE_CHECK_TIMEOUT_MS: '2000' };

  beforeAll(async () => {
    site = await startFakeWebsite();
    app = await startTestApp({ clock, env });
    app.fake.setDefault(toolModel);
    owner = await app.owner();
    agentId = (await app.api('/api/agents', { token: owner, body: { name: 'Watcher' } })).body.id;
  }, 60_000);
  afterAll(async () => { await app2?.close(); await app?.close(); await site?.close(); });

  it("holds a customer to the plan's minimum check interval, naming the field", async () => {
    const plan = await app.api('/api/plans/watch', { method: 'PUT', token: owner, body: { name: 'Watch', priceUsdMonth: 0, maxAgents: 2, minCheckIntervalMinutes: 15 } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    const mk = await app.api('/api/users', { token: owner, body: { email: 'wendy@example.com', password: 'correct horse battery', role: 'customer' } });
    expect((await app.api(`/api/customers/${mk.body.id}/plan`, { method: 'PUT', token: owner, body: { planId: 'watch', status: 'active' } })).status).toBe(200);
    const token = (await app.api('/api/auth/login', { body: { email: 'wendy@example.com', password: 'correct horse battery' } })).body.token;
    const mine = (await app.api('/api/agents', { token, body: { name: 'Mine' } })).body.id;
    const tooOften = await app.api(`/api/agents/${mine}`, { method: 'PATCH', token, body: { site: { url: `${site.url}/`, checkIntervalMinutes: 5 } } });
    expect(tooOften.status).toBe(400);
    expect(tooOften.body.error.fields[0]).toMatchObject({ path: 'site.checkIntervalMinutes' });
    expect(tooOften.body.error.fields[0].message).toMatch(/15 minutes/);
    const fine = await app.api(`/api/agents/${mine}`, { method: 'PATCH', token, body: { site: { url: `${site.url}/`, checkIntervalMinutes: 15 } } });
    expect(fine.status, JSON.stringify(fine.body)).toBe(200);
    expect(fine.body.site.checkIntervalMinutes).toBe(15);
    // The plan caps the agent whoever sets it: the operator changes the plan to allow more.
    const ops = await app.api(`/api/agents/${mine}`, { method: 'PATCH', token: owner, body: { site: { checkIntervalMinutes: 5 } } });
    expect(ops.status, JSON.stringify(ops.body)).toBe(400);
    // An agent left at the default (5) is checked at the plan's pace: one slot of 15 minutes, not three of 5.
    const other = (await app.api('/api/agents', { token, body: { name: 'Default pace' } })).body.id;
    await app.server.services.store.agents.update(other, { site: { url: `${site.url}/`, checkIntervalMinutes: 5, alerts: true } });
    const { siteWatch, store } = app.server.services;
    clock.set(Date.parse('2026-03-10T12:31:00.000Z'));
    const first = await siteWatch.checkNow(other);
    expect(first?.slot).toBe('2026-03-10T12:30:00.000Z');
    clock.advance(6 * 60_000); // 12:37: the same 15-minute slot, so no second check
    expect(await siteWatch.checkNow(other)).toBeUndefined();
    clock.advance(9 * 60_000); // 12:46: the next one
    expect((await siteWatch.checkNow(other))?.slot).toBe('2026-03-10T12:45:00.000Z');
    expect((await store.siteWatch.lastChecks(other, 10)).length).toBe(2);
  });

  it('lets the model call site_audit and answers from its findings', async () => {
    await app.api(`/api/agents/${agentId}`, { method: 'PATCH', token: owner, body: { tools: { allow: ['group:site'], deny: [] } } });
    const r = await app.api(`/api/agents/${agentId}/message`, { token: owner, body: { text: `CALL site_audit ${JSON.stringify({ url: `${site.url}/` })}`, userId: 'ada' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.reply).toMatch(/^Tool said: Audit of http:\/\/127\.0\.0\.1:\d+\/: SEO score \d+\/100/);
    expect(r.body.reply).toContain('robots.txt');
    const audits = (await app.api(`/api/agents/${agentId}/site/audits`, { token: owner })).body.items;
    expect(audits[0]).toMatchObject({ source: 'tool', status: 'done', url: `${site.url}/` });
    // A private address is refused by the tool when the install refuses them; here the guard allows them, so an unknown scheme is the refusal.
    const bad = await app.api(`/api/agents/${agentId}/message`, { token: owner, body: { text: `CALL site_audit ${JSON.stringify({ url: 'ftp://example.com/' })}`, userId: 'ada' } });
    expect(bad.body.reply).toMatch(/^Tool said: Error: /);
  }, 60_000);

  it('audits a hostile page (any visitor may name the URL) without holding the event loop', async () => {
    // Patterns such as `<[^>]*>` walked to the end of the page from every `<`: this 240 KB page held the loop for minutes.
    site.page('/hostile', { headers: { 'content-type': 'text/html' }, body: '<a '.repeat(80_000) }); // no `>` anywhere: each search ran to the end
    await app.api(`/api/agents/${agentId}`, { method: 'PATCH', token: owner, body: { tools: { allow: ['group:site'], deny: [] } } });
    const r = await app.api(`/api/agents/${agentId}/message`, { token: owner, body: { text: `CALL site_audit ${JSON.stringify({ url: `${site.url}/hostile` })}`, userId: 'mallory' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.reply).toMatch(/^Tool said: Audit of http:\/\/127\.0\.0\.1:\d+\/hostile: SEO score \d+\/100/);
    expect(r.body.reply).toContain('The page has no title');
  }, 60_000);

  it('checks each uptime slot once with two processes on one database', async () => {
    app2 = await startTestApp({ shareWith: app, clock, env });
    app2.fake.setDefault(toolModel);
    const set = await app.api(`/api/agents/${agentId}`, { method: 'PATCH', token: owner, body: { site: { url: `${site.url}/`, checkIntervalMinutes: 5 } } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    // The chain's own first slot (queued by the settings change), then three more slots checked by both processes at once.
    await eventually(async () => (await app.server.services.store.siteWatch.lastChecks(agentId, 1)).length === 1, 15_000, 'the first check');
    for (let i = 0; i < 3; i++) {
      clock.advance(5 * 60_000);
      const both = await Promise.all([app.server.services.siteWatch.checkNow(agentId), app2.server.services.siteWatch.checkNow(agentId)]);
      expect(both.filter(Boolean)).toHaveLength(1);
    }
    await app.server.services.queue.drain({ name: 'site_uptime', timeoutMs: 15_000 });
    await app2.server.services.queue.drain({ name: 'site_uptime', timeoutMs: 15_000 });
    const checks = await app.server.services.store.siteWatch.lastChecks(agentId, 50);
    expect(new Set(checks.map((c) => c.slot)).size).toBe(checks.length);
    expect(checks.length).toBe(4);
  }, 60_000);

  it('sweeps a run left running by a crash to failed ("interrupted"), not a recent one', async () => {
    const { store } = app.server.services;
    const s = await app.api(`/api/agents/${agentId}/schedules`, { token: owner, body: { name: 'Daily', cron: '0 6 * * *', instruction: 'Check', deliver: { channel: 'dashboard' } } });
    expect(s.status, JSON.stringify(s.body)).toBe(201);
    // A process claimed this run and died: no job will finish it.
    const old = (await store.schedules.claimRun({ scheduleId: s.body.id, agentId, scheduledFor: '2026-03-10T06:00:00.000Z', late: false, deliveryChannel: 'dashboard', startedAt: clock.now().toISOString() }))!;
    clock.advance(29 * 60_000);
    const recent = (await store.schedules.claimRun({ scheduleId: s.body.id, agentId, scheduledFor: null, late: false, deliveryChannel: 'dashboard', startedAt: clock.now().toISOString() }))!;
    expect(await app.server.services.schedules.sweep()).toBe(0); // 29 minutes: still within the bound (30)
    clock.advance(2 * 60_000);
    // The tick sweeps (at most once a minute per process): the 31-minute-old run fails, the 2-minute-old one stays.
    const runs = (await eventually(async () => {
      const items = (await app.api(`/api/agents/${agentId}/schedules/${s.body.id}/runs`, { token: owner })).body.items as any[];
      return items.find((r) => r.id === old.id)?.status === 'failed' ? items : undefined;
    }, 10_000, 'the stale run swept'))!;
    expect(runs.find((r) => r.id === old.id)).toMatchObject({ status: 'failed', error: 'interrupted', delivery: { status: 'skipped' } });
    expect(runs.find((r) => r.id === old.id).finishedAt).toBe(clock.now().toISOString());
    expect(runs.find((r) => r.id === recent.id)).toMatchObject({ status: 'running' });
    await store.schedules.finishRun(recent.id, { status: 'ok', finishedAt: clock.now().toISOString() });
  }, 30_000);
});
