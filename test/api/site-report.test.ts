/**
 * The weekly site report (issue 17), over real HTTP with a manual clock: provisioning a website PM adds
 * the report task (Monday 09:00 in the customer's time zone); on Monday the report — the week's uptime
 * and response times, the latest audit against the previous one, the pages that changed, and the
 * agent's three next steps — reaches the owner's chat on the fake Telegram, is kept in the workspace as
 * reports/YYYY-MM-DD.md, is listed on the dashboard's route, and goes to the alert webhook as `site.report`.
 * SQLite here; PostgreSQL under TEST_DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, manualClock, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeTelegram, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';
import { contentText } from '../fakes/openai-server.js';
import { startFakeWebsite, type FakeWebsite } from '../fakes/website-server.js';
import { quantile } from '../../src/services/site-report.js';
import type { SiteAudit } from '../../src/domain/ports.js';

const TG_TOKEN = '555555555:AAHdqTcvCH1vGWJxfSeofSAs0K5PALreprt';
const OWNER_CHAT = 7401;
// Sunday 2026-03-08, 10:00 in Berlin; the first report is due Monday 2026-03-09 09:00 Berlin = 08:00 UTC.
const T0 = Date.parse('2026-03-08T09:00:00.000Z');
const SLOT = '2026-03-09T08:00:00.000Z';
const STEPS = '1. Fix the broken link to /pricing: visitors hit a dead end.\n2. Add a meta description to /about.\n3. Compress the hero image.';

describe('the weekly site report', () => {
  const clock = manualClock(T0);
  let app: TestApp;
  let tg: FakeTelegram;
  let site: FakeWebsite;
  let hook: Server;
  const hooked: { event: string; body: any }[] = [];
  let failNextReportHook = false;
  let hookFailures = 0;
  let owner: string;
  let cust: string;
  let agentId: string;
  /** The model call that wrote a week's report: a summary of the report's conversation may come after it. */
  const reportCall = (week: string) => JSON.stringify(app.fake.requests().findLast((r) => {
    const last = r.messages?.at(-1);
    return last?.role === 'user' && contentText(last.content).startsWith('It is time for the weekly report') && contentText(last.content).includes(`week ending ${week}`);
  }) ?? null);

  beforeAll(async () => {
    tg = await startFakeTelegram({ bots: [{ token: TG_TOKEN, username: 'ReportBot' }] });
    site = await startFakeWebsite();
    hook = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => { raw += c; });
      req.on('end', () => {
        const event = String(req.headers['x-switchboard-event']);
        if (event === 'site.report' && failNextReportHook) { failNextReportHook = false; hookFailures++; res.statusCode = 503; res.end('down'); return; }
        hooked.push({ event, body: JSON.parse(raw) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    app = await startTestApp({
      publicUrl: true, clock,
      env: { TELEGRAM_API_ROOT: tg.apiRoot, SWITCHBOARD_ALLOW_PRIVATE_URLS: 'true', SWITCHBOARD_SCHEDULE_TICK_MS: '50', SWITCHBOARD_JOB_RETRY_SECONDS: '1', SWITCHBOARD_SITE_CHECK_TIMEOUT_MS: '2000' },
    });
    // The health check and the report's next steps both come from the fake model.
    app.fake.setDefault(() => STEPS);
    owner = await app.owner();
    await app.api('/api/settings/alerts', { method: 'PUT', token: owner, body: { webhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`, webhookSecret: 'shh' } });
    const u = await app.api('/api/users', { token: owner, body: { email: 'rita@example.com', password: 'correct horse battery', role: 'customer' } });
    expect(u.status).toBe(201);
    await app.server.services.store.plans.setBilling(u.body.id, { planId: null });
    cust = (await app.api('/api/auth/login', { body: { email: 'rita@example.com', password: 'correct horse battery' } })).body.token;
    expect((await app.api('/api/account/timezone', { method: 'PUT', token: cust, body: { timezone: 'Europe/Berlin' } })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await tg?.close();
    await site?.close();
    await new Promise<void>((r) => hook?.close(() => r()));
  });

  it('is added by provisioning a website PM: Monday 09:00 in the customer time zone, to the owner chat', async () => {
    const r = await app.api('/api/agents', { token: cust, body: { name: "Rita's Site PM", siteUrl: `${site.url}/`, telegramBotToken: TG_TOKEN } });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    agentId = r.body.id;
    const s = await eventually(async () => {
      const st = (await app.api(`/api/agents/${agentId}/status`, { token: cust })).body;
      return st.status !== 'provisioning' ? st : undefined;
    }, 20_000, 'provisioning');
    expect(s.status, JSON.stringify(s)).toBe('active');
    const step = s.steps.find((x: any) => x.name === 'generate_workspace');
    expect(step.detail).toMatch(/weekly site report: Mondays at 09:00 \(Europe\/Berlin\)/);
    const schedules = (await app.api(`/api/agents/${agentId}/schedules`, { token: cust })).body.items;
    expect(schedules).toHaveLength(1);
    expect(schedules[0]).toMatchObject({ kind: 'site_report', cron: '0 9 * * 1', timezone: null, deliver: { channel: 'telegram' }, enabled: true, nextRunAt: SLOT });
    // Provisioning again (the step re-run after a crash) does not add a second one.
    const agent = (await app.server.services.store.agents.byId(agentId))!;
    expect(await app.server.services.siteReport.ensure(app.server.services.schedules, agent)).toMatch(/already scheduled/);
    expect((await app.api(`/api/agents/${agentId}/schedules`, { token: cust })).body.items).toHaveLength(1);

    // The owner links their Telegram chat.
    const link = await app.api(`/api/agents/${agentId}/owner-link`, { method: 'POST', token: cust });
    expect(link.status, JSON.stringify(link.body)).toBe(200);
    await tg.deliver(TG_TOKEN, textUpdate({ chatId: OWNER_CHAT, text: `/start ${link.body.code}`, firstName: 'Rita' }));
    await eventually(() => tg.messagesTo(OWNER_CHAT).length === 1, 10_000, 'owner chat linked');
  }, 30_000);

  it("reaches the owner's Telegram on Monday with the week's figures and is kept in the workspace", async () => {
    const { store } = app.server.services;
    // A week of checks (every 6 hours, one failed), before the report's slot.
    const start = Date.parse(SLOT) - 7 * 86_400_000 + 3_600_000;
    for (let i = 0; i < 28; i++) {
      const at = new Date(start + i * 6 * 3_600_000).toISOString();
      const ok = i !== 5;
      await store.siteWatch.insertCheck({ id: `seed-${i}`, agentId, slot: at, at, ok, status: ok ? 200 : 503, ttfbMs: 50 + i, totalMs: ok ? 100 + i * 10 : null, certDaysLeft: 40, error: ok ? null : 'HTTP 503' });
    }
    // Two audits: the latest fixed the missing title, added a broken link, and the site gained, lost and changed a page.
    const audit = (id: string, at: string, seo: number, findings: SiteAudit['findings'], pages: Record<string, string>): SiteAudit => ({
      id, agentId, at, url: `${site.url}/`, source: 'api', status: 'done', finishedAt: at, scores: { seo, performance: seo - 10 }, findings, pages, notes: [], error: null,
    });
    await store.siteWatch.insertAudit(audit('audit-1', '2026-03-02T10:00:00.000Z', 62,
      [{ id: 'title-missing', severity: 'high', title: 'The page has no title', detail: 'why', url: `${site.url}/` }, { id: 'img-alt', severity: 'medium', title: '2 images have no alt text', detail: 'why', url: `${site.url}/` }],
      { [`${site.url}/`]: 'aaa', [`${site.url}/about`]: 'bbb', [`${site.url}/old-offer`]: 'ccc' }));
    await store.siteWatch.insertAudit(audit('audit-2', '2026-03-07T10:00:00.000Z', 77,
      [{ id: 'broken-link:/pricing', severity: 'high', title: 'Broken link: /pricing answers HTTP 404', detail: 'why', url: `${site.url}/pricing` }, { id: 'img-alt', severity: 'medium', title: '2 images have no alt text', detail: 'why', url: `${site.url}/` }],
      { [`${site.url}/`]: 'aaa', [`${site.url}/about`]: 'bbb2', [`${site.url}/blog`]: 'ddd' }));

    // What the checks route says about the week the report covers: the figures the report must carry.
    const from = new Date(Date.parse(SLOT) - 7 * 86_400_000).toISOString();
    const week = (await app.api(`/api/agents/${agentId}/site/checks?from=${encodeURIComponent(from)}&to=${encodeURIComponent(SLOT)}`, { token: cust })).body.items as any[];
    const okChecks = week.filter((c) => c.ok);
    const times = okChecks.map((c) => c.totalMs).filter((n) => n !== null).sort((a: number, b: number) => a - b);
    const uptime = `${(Math.floor((okChecks.length / week.length) * 10_000) / 100).toFixed(2)} %`;
    expect(week.length).toBeGreaterThanOrEqual(28);

    const before = tg.messagesTo(OWNER_CHAT).length;
    clock.set(Date.parse(SLOT) + 5_000);
    const run = await eventually(async () => {
      const s = (await app.api(`/api/agents/${agentId}/schedules`, { token: cust })).body.items[0];
      const runs = (await app.api(`/api/agents/${agentId}/schedules/${s.id}/runs`, { token: cust })).body.items;
      return runs.find((x: any) => x.status !== 'running');
    }, 20_000, 'the report run');
    expect(run, JSON.stringify(run)).toMatchObject({ scheduledFor: SLOT, status: 'ok', delivery: { channel: 'telegram', status: 'sent' } });

    const sent = (await eventually(() => (tg.messagesTo(OWNER_CHAT).length > before ? tg.messagesTo(OWNER_CHAT).slice(before).join('\n') : undefined), 10_000, 'report on telegram'))!;
    expect(sent).toContain('Weekly site report');
    expect(sent).toContain('2026-03-09');
    expect(sent).toContain(`Uptime: ${uptime} (${okChecks.length} of ${week.length} checks answered)`);
    expect(sent).toContain(`Response time: p50 ${quantile(times, 0.5)} ms, p95 ${quantile(times, 0.95)} ms`);
    expect(sent).toContain('seo 77 (+15)');
    expect(sent).toContain('performance 67 (+15)');
    expect(sent).toMatch(/New findings: \[high\] Broken link: \/pricing answers HTTP 404/);
    expect(sent).toMatch(/Fixed since then: The page has no title/);
    expect(sent).toContain('1 page(s) added, 1 removed, 1 changed (of 3 crawled)');
    expect(sent).toContain('Added: /blog');
    expect(sent).toContain('Removed: /old-offer');
    expect(sent).toContain('Changed: /about');
    expect(sent).toContain(STEPS);
    // The model was given the figures and asked only for the steps.
    const prompt = reportCall('2026-03-09');
    expect(prompt).toContain('three most valuable next steps');
    expect(prompt).toContain('Broken link: /pricing answers HTTP 404');

    // Kept in the agent's workspace, and listed on the dashboard's route.
    const file = await store.workspace.get(agentId, 'reports/2026-03-09.md');
    expect(file?.content).toBe(run.output);
    const list = await app.api(`/api/agents/${agentId}/site/reports`, { token: cust });
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ date: '2026-03-09', path: 'reports/2026-03-09.md', excerpt: STEPS.split('\n')[0] })]);
    const one = await app.api(`/api/agents/${agentId}/site/reports/2026-03-09`, { token: cust });
    expect(one.status).toBe(200);
    expect(one.body.content).toBe(file!.content);
    expect((await app.api(`/api/agents/${agentId}/site/reports/2026-03-10`, { token: cust })).status).toBe(404);
    expect((await app.api(`/api/agents/${agentId}/site/reports/..%2FMEMORY`, { token: cust })).status).toBe(400);

    // And to the operator's alert route as a signed event.
    await eventually(() => hooked.some((h) => h.event === 'site.report'), 10_000, 'site.report webhook');
    expect(hooked.find((h) => h.event === 'site.report')!.body).toMatchObject({ type: 'site.report', report: { agentId, date: '2026-03-09', path: 'reports/2026-03-09.md' } });
  }, 60_000);

  it("follows the owner's edited instruction, retries the webhook, and leaves the report out of the plan's schedule count", async () => {
    const { store } = app.server.services;
    const s = (await app.api(`/api/agents/${agentId}/schedules`, { token: cust })).body.items[0];
    const edited = await app.api(`/api/agents/${agentId}/schedules/${s.id}`, { method: 'PATCH', token: cust, body: { instruction: 'Focus on the shop pages.' } });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    failNextReportHook = true;
    const next = Date.parse(SLOT) + 7 * 86_400_000;
    clock.set(next + 5_000);
    const run = await eventually(async () => {
      const runs = (await app.api(`/api/agents/${agentId}/schedules/${s.id}/runs`, { token: cust })).body.items as any[];
      return runs.find((x) => x.scheduledFor === new Date(next).toISOString() && x.status !== 'running');
    }, 20_000, 'the second report run');
    expect(run).toMatchObject({ status: 'ok', delivery: { status: 'sent' } });
    const prompt = reportCall('2026-03-16');
    expect(prompt).toContain("The owner's own instruction for this report");
    expect(prompt).toContain('Focus on the shop pages.');
    expect(await store.workspace.get(agentId, 'reports/2026-03-16.md')).toBeTruthy();
    // The first post of the event failed (503): the job tries again after its delay.
    await eventually(() => hookFailures === 1, 15_000, 'the first, failed post');
    expect(hooked.some((h) => h.event === 'site.report' && h.body.report.date === '2026-03-16')).toBe(false);
    await eventually(() => hooked.some((h) => h.event === 'site.report' && h.body.report.date === '2026-03-16'), 15_000, 'site.report retried');

    // A plan allowing one schedule still allows the customer one of their own: the built-in report does not count.
    const plan = await app.api('/api/plans/one-task', { method: 'PUT', token: owner, body: { name: 'One task', priceUsdMonth: 0, maxAgents: 3, maxSchedules: 1 } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    const me = (await app.api('/api/auth/me', { token: cust })).body;
    expect((await app.api(`/api/customers/${me.user.id}/plan`, { method: 'PUT', token: owner, body: { planId: 'one-task', status: 'active' } })).status).toBe(200);
    const mine = await app.api(`/api/agents/${agentId}/schedules`, { token: cust, body: { name: 'Daily check', cron: '0 8 * * *', instruction: 'Check the shop', deliver: { channel: 'dashboard' } } });
    expect(mine.status, JSON.stringify(mine.body)).toBe(201);
    const more = await app.api(`/api/agents/${agentId}/schedules`, { token: cust, body: { name: 'Another', cron: '0 9 * * *', instruction: 'Again', deliver: { channel: 'dashboard' } } });
    expect(more.status).toBe(403);
    expect(more.body.error.code).toBe('plan_limit');
    expect(more.body.error.message).toContain('you have 1');
  }, 60_000);

  it("keeps reports to the agent's owner", async () => {
    await app.api('/api/users', { token: owner, body: { email: 'nosy@example.com', password: 'correct horse battery', role: 'customer' } });
    const nosy = (await app.api('/api/auth/login', { body: { email: 'nosy@example.com', password: 'correct horse battery' } })).body.token;
    expect([403, 404]).toContain((await app.api(`/api/agents/${agentId}/site/reports`, { token: nosy })).status);
    expect([403, 404]).toContain((await app.api(`/api/agents/${agentId}/site/reports/2026-03-09`, { token: nosy })).status);
    expect((await app.api(`/api/agents/${agentId}/site/reports`, { token: owner })).status).toBe(200);
  });
});
