/**
 * Schedules (issue 17), over real HTTP with a manual clock: a cron schedule runs once per slot with two
 * server processes on one database, a restart after missed slots runs once (late, keeping its slot),
 * run-now, an over-budget run is skipped and says why, the output reaches the owner's Telegram chat
 * (linked by /start code through the fake Telegram), validation names the field, plans cap schedules,
 * and a customer cannot see or run another's schedules. SQLite here; PostgreSQL under TEST_DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, manualClock, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeTelegram, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';

const TG_TOKEN = '444444444:AAHdqTcvCH1vGWJxfSeofSAs0K5PALsched';
const OWNER_CHAT = 7301;
const T0 = Date.parse('2026-03-02T10:02:00.000Z');

describe('schedules', () => {
  const clock = manualClock(T0);
  let app: TestApp;
  let app2: TestApp;
  let tg: FakeTelegram;
  let token: string;
  let agentId: string;
  const env = () => ({ TELEGRAM_API_ROOT: tg.apiRoot, SWITCHBOARD_SCHEDULE_TICK_MS: '50', SWITCHBOARD_JOB_RETRY_SECONDS: '1' });
  const runsOf = async (scheduleId: string, as = token, id = agentId) => (await app.api(`/api/agents/${id}/schedules/${scheduleId}/runs`, { token: as })).body.items as any[];
  const settled = (scheduleId: string, n: number) => eventually(async () => {
    const items = await runsOf(scheduleId);
    return items.length >= n && items.every((r) => r.status !== 'running') ? items : undefined;
  }, 15_000, `${n} finished runs`) as Promise<any[]>;

  beforeAll(async () => {
    tg = await startFakeTelegram({ bots: [{ token: TG_TOKEN, username: 'SchedBot' }] });
    app = await startTestApp({ publicUrl: true, clock, env: env() });
    app.fake.setDefault(() => 'Daily report: all good');
    token = await app.owner();
    const r = await app.api('/api/agents', { token, body: { name: 'Site PM' } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    agentId = r.body.id;
    const set = await app.api(`/api/agents/${agentId}`, { method: 'PATCH', token, body: { telegramBotToken: TG_TOKEN } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
  }, 30_000);
  afterAll(async () => {
    await app2?.close();
    await app?.close();
    await tg?.close();
  });

  it('delivers to the handoff notice chat before an owner chat is linked, and says no_owner_chat without either', async () => {
    const s = await app.api(`/api/agents/${agentId}/schedules`, { token, body: { name: 'Early', everyMinutes: 1440, instruction: 'Say hi', deliver: { channel: 'telegram' } } });
    expect(s.status, JSON.stringify(s.body)).toBe(201);
    const runNow = async () => {
      const r = await app.api(`/api/agents/${agentId}/schedules/${s.body.id}/run`, { method: 'POST', token });
      expect(r.status).toBe(202);
      return eventually(async () => (await runsOf(s.body.id)).find((x) => x.id === r.body.runId && x.status !== 'running'), 15_000, 'the run');
    };
    expect(await runNow()).toMatchObject({ status: 'ok', delivery: { channel: 'telegram', status: 'failed', error: 'no_owner_chat' } });
    await app.api(`/api/agents/${agentId}`, { method: 'PATCH', token, body: { handoff: { notifyTelegramChatId: '7399' } } });
    expect(await runNow()).toMatchObject({ status: 'ok', delivery: { channel: 'telegram', status: 'sent' } });
    expect(tg.messagesTo(7399)).toEqual(['Daily report: all good']);
    await app.api(`/api/agents/${agentId}`, { method: 'PATCH', token, body: { handoff: { notifyTelegramChatId: null } } });
    expect((await app.api(`/api/agents/${agentId}/schedules/${s.body.id}`, { method: 'DELETE', token })).status).toBe(204);
  });

  it('refuses a webhook delivery to a private address through the SSRF guard, saying why', async () => {
    let hits = 0;
    const hook = createServer((_req, res) => { hits++; res.end('ok'); });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    try {
      const s = await app.api(`/api/agents/${agentId}/schedules`, { token, body: { name: 'Hook', everyMinutes: 1440, instruction: 'Say hi', deliver: { channel: 'webhook', to: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/in` } } });
      expect(s.status, JSON.stringify(s.body)).toBe(201);
      const r = await app.api(`/api/agents/${agentId}/schedules/${s.body.id}/run`, { method: 'POST', token });
      const run = await eventually(async () => (await runsOf(s.body.id)).find((x) => x.id === r.body.runId && x.status !== 'running'), 15_000, 'the run');
      expect(run.delivery).toMatchObject({ channel: 'webhook', status: 'failed' });
      expect(run.delivery.error).toMatch(/loopback/);
      expect(hits).toBe(0);
      await app.api(`/api/agents/${agentId}/schedules/${s.body.id}`, { method: 'DELETE', token });
    } finally {
      await new Promise<void>((r) => hook.close(() => r()));
    }
  });

  it('links the owner chat with a one-time /start code through Telegram', async () => {
    expect((await app.api(`/api/agents/${agentId}`, { token })).body.ownerChat).toEqual({ channel: 'telegram', linked: false });
    const link = await app.api(`/api/agents/${agentId}/owner-link`, { method: 'POST', token });
    expect(link.status, JSON.stringify(link.body)).toBe(200);
    expect(link.body.url).toBe(`https://t.me/SchedBot?start=${link.body.code}`);
    expect(Date.parse(link.body.expiresAt)).toBeGreaterThan(clock.now().getTime());
    await tg.deliver(TG_TOKEN, textUpdate({ chatId: OWNER_CHAT, text: `/start ${link.body.code}`, firstName: 'Olga' }));
    const linked = await eventually(async () => {
      const a = (await app.api(`/api/agents/${agentId}`, { token })).body;
      return a.ownerChat?.linked ? a.ownerChat : undefined;
    }, 10_000, 'owner chat linked');
    expect(linked).toEqual({ channel: 'telegram', linked: true, name: 'Olga' });
    await eventually(() => tg.messagesTo(OWNER_CHAT).length === 1, 10_000, 'confirmation');
    expect(tg.messagesTo(OWNER_CHAT)[0]).toMatch(/owner chat of Site PM/);
    // The code is used up: a second /start with it goes to the agent's inbox as an ordinary message, not a new link.
    await tg.deliver(TG_TOKEN, textUpdate({ chatId: 9999, text: `/start ${link.body.code}` }));
    // (The inbox holds it for the agent; with this test's manual clock standing still the inbox does not answer it, so only the link is checked.)
    await new Promise((r) => setTimeout(r, 500));
    expect(tg.messagesTo(9999).filter((t) => /owner chat/.test(t))).toEqual([]);
    expect((await app.api(`/api/agents/${agentId}`, { token })).body.ownerChat.name).toBe('Olga');
  });

  it('names the field of a bad schedule', async () => {
    const post = (body: any) => app.api(`/api/agents/${agentId}/schedules`, { token, body });
    const base = { name: 'x', instruction: 'do it', deliver: { channel: 'dashboard' } };
    const tz = await app.api('/api/account/timezone', { method: 'PUT', token, body: { timezone: 'Not/AZone' } });
    expect(tz.status).toBe(400);
    expect(tz.body.error.fields[0].path).toBe('timezone');
    const none = await post(base);
    expect(none.status).toBe(400);
    expect(none.body.error.fields[0].path).toBe('cron');
    const badCron = await post({ ...base, cron: 'every day' });
    expect(badCron.status).toBe(400);
    expect(badCron.body.error.fields[0].path).toBe('cron');
    const badTz = await post({ ...base, cron: '0 9 * * *', timezone: 'Mars/Olympus' });
    expect(badTz.status).toBe(400);
    expect(badTz.body.error.fields[0].path).toBe('timezone');
    const badHook = await post({ ...base, everyMinutes: 5, deliver: { channel: 'webhook' } });
    expect(badHook.status).toBe(400);
    expect(badHook.body.error.fields[0].path).toBe('deliver.to');
    const zero = await post({ ...base, everyMinutes: 0 });
    expect(zero.status).toBe(400);
    expect(JSON.stringify(zero.body.error)).toContain('everyMinutes');
    // A seconds field would go under everyMinutes' floor of one minute; on the minute it is fine.
    for (const cron of ['* * * * * *', '*/30 * * * * *']) {
      const secondly = await post({ ...base, cron });
      expect(secondly.status, cron).toBe(400);
      expect(secondly.body.error.fields[0]).toMatchObject({ path: 'cron', message: expect.stringMatching(/once a minute/) });
    }
    const minutely = await post({ ...base, cron: '0 * * * * *' });
    expect(minutely.status, JSON.stringify(minutely.body)).toBe(201);
    expect((await app.api(`/api/agents/${agentId}/schedules/${minutely.body.id}`, { method: 'DELETE', token })).status).toBe(204);
  });

  it('runs a cron slot once with two processes, delivers to the owner chat, and runs missed slots once, late', async () => {
    app2 = await startTestApp({ shareWith: app, clock, env: env() });
    app2.fake.setDefault(() => 'Daily report: all good');
    const created = await app.api(`/api/agents/${agentId}/schedules`, { token, body: {
      name: 'Five-minutely', cron: '*/5 * * * *', timezone: 'Europe/Berlin', instruction: 'Write the report', deliver: { channel: 'telegram' },
    } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id;
    expect(created.body.nextRunAt).toBe('2026-03-02T10:05:00.000Z');
    const list = await app.api(`/api/agents/${agentId}/schedules`, { token });
    expect(list.body.items.map((s: any) => [s.id, s.nextRunAt])).toEqual([[id, '2026-03-02T10:05:00.000Z']]);

    const before = tg.messagesTo(OWNER_CHAT).length;
    clock.set(Date.parse('2026-03-02T10:05:03.000Z'));
    const [run] = await settled(id, 1);
    await new Promise((r) => setTimeout(r, 400)); // both processes tick several times more
    expect(await runsOf(id)).toHaveLength(1);
    expect(run).toMatchObject({ scheduledFor: '2026-03-02T10:05:00.000Z', status: 'ok', late: false, output: 'Daily report: all good', delivery: { channel: 'telegram', status: 'sent' } });
    expect(run.finishedAt).toBeTruthy();
    expect(typeof run.costUsd).toBe('number');
    await eventually(() => tg.messagesTo(OWNER_CHAT).length === before + 1, 10_000, 'report on telegram');
    expect(tg.messagesTo(OWNER_CHAT).at(-1)).toBe('Daily report: all good');
    expect((await app.api(`/api/agents/${agentId}/schedules`, { token })).body.items[0].nextRunAt).toBe('2026-03-02T10:10:00.000Z');

    // The next slot: again exactly one run.
    clock.set(Date.parse('2026-03-02T10:10:01.000Z'));
    await settled(id, 2);
    await new Promise((r) => setTimeout(r, 400));
    expect((await runsOf(id)).map((r) => r.scheduledFor)).toEqual(['2026-03-02T10:10:00.000Z', '2026-03-02T10:05:00.000Z']);

    // Both processes down for three hours (36 slots): the next start runs once, late, for the slot it stood for.
    await app2.close();
    app.server.services.schedules.stop();
    clock.set(Date.parse('2026-03-02T13:11:00.000Z'));
    app2 = await startTestApp({ shareWith: app, clock, env: env() });
    app2.fake.setDefault(() => 'Daily report: all good');
    const runs = await settled(id, 3);
    await new Promise((r) => setTimeout(r, 400));
    expect(await runsOf(id)).toHaveLength(3);
    expect(runs[0]).toMatchObject({ scheduledFor: '2026-03-02T10:15:00.000Z', late: true, status: 'ok' });
    expect((await app.api(`/api/agents/${agentId}/schedules`, { token })).body.items[0].nextRunAt).toBe('2026-03-02T13:15:00.000Z');
    app.server.services.schedules.start();
    // Paused: no more runs.
    const paused = await app.api(`/api/agents/${agentId}/schedules/${id}`, { method: 'PATCH', token, body: { enabled: false } });
    expect(paused.body).toMatchObject({ enabled: false, nextRunAt: null });
  }, 60_000);

  it("uses the account's time zone when a schedule names none", async () => {
    expect((await app.api('/api/account/timezone', { method: 'PUT', token, body: { timezone: 'America/New_York' } })).status).toBe(200);
    expect((await app.api('/api/auth/me', { token })).body.user).toMatchObject({ timezone: 'America/New_York' });
    const s = await app.api(`/api/agents/${agentId}/schedules`, { token, body: { name: 'Morning', cron: '0 9 * * *', instruction: 'Plan the day', deliver: { channel: 'dashboard' }, enabled: false } });
    expect(s.body.nextRunAt).toBeNull();
    const on = await app.api(`/api/agents/${agentId}/schedules/${s.body.id}`, { method: 'PATCH', token, body: { enabled: true } });
    expect(on.body.nextRunAt).toBe(new Date(Date.parse(on.body.nextRunAt)).toISOString());
    expect(new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: 'numeric', hour12: false }).format(new Date(on.body.nextRunAt))).toBe('09');
    await app.api(`/api/agents/${agentId}/schedules/${s.body.id}`, { method: 'DELETE', token });
    await app.api('/api/account/timezone', { method: 'PUT', token, body: { timezone: null } });
  });

  it('runs now (no slot), and skips a run over budget saying why', async () => {
    const s = await app.api(`/api/agents/${agentId}/schedules`, { token, body: { name: 'Hourly', everyMinutes: 60, instruction: 'Check', deliver: { channel: 'dashboard' } } });
    expect(s.status).toBe(201);
    const now = await app.api(`/api/agents/${agentId}/schedules/${s.body.id}/run`, { method: 'POST', token });
    expect(now.status).toBe(202);
    const [manual] = await settled(s.body.id, 1);
    expect(manual).toMatchObject({ id: now.body.runId, scheduledFor: null, status: 'ok', late: false, delivery: { channel: 'dashboard', status: 'sent' } });

    const calls = app.fake.requests().length + app2.fake.requests().length;
    const budget = await app.api(`/api/agents/${agentId}`, { method: 'PATCH', token, body: { monthlyBudgetUsd: 0 } });
    expect(budget.status, JSON.stringify(budget.body)).toBe(200);
    clock.advance(1000);
    const again = await app.api(`/api/agents/${agentId}/schedules/${s.body.id}/run`, { method: 'POST', token });
    const [skipped] = await settled(s.body.id, 2);
    expect(skipped).toMatchObject({ id: again.body.runId, status: 'skipped', output: null, costUsd: 0, delivery: { status: 'skipped' } });
    expect(skipped.error).toMatch(/^budget: /);
    expect(app.fake.requests().length + app2.fake.requests().length).toBe(calls); // no model call
    await app.api(`/api/agents/${agentId}`, { method: 'PATCH', token, body: { monthlyBudgetUsd: null } });
  }, 30_000);

  it('caps schedules by plan and keeps customers to their own', async () => {
    const plan = await app.api('/api/plans/small', { method: 'PUT', token, body: { name: 'Small', priceUsdMonth: 0, maxAgents: 2, maxSchedules: 1, minScheduleMinutes: 60 } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    expect(plan.body).toMatchObject({ maxSchedules: 1, minScheduleMinutes: 60 });
    const mk = await app.api('/api/users', { token, body: { email: 'cust@example.com', password: 'correct horse battery', role: 'customer' } });
    expect(mk.status, JSON.stringify(mk.body)).toBe(201);
    const setPlan = await app.api(`/api/customers/${mk.body.id}/plan`, { method: 'PUT', token, body: { planId: 'small', status: 'active' } });
    expect(setPlan.status, JSON.stringify(setPlan.body)).toBe(200);
    const login = await app.api('/api/auth/login', { body: { email: 'cust@example.com', password: 'correct horse battery' } });
    const ctoken = login.body.token as string;
    const agent = await app.api('/api/agents', { token: ctoken, body: { name: 'Mine' } });
    expect(agent.status).toBe(201);
    const post = (body: any) => app.api(`/api/agents/${agent.body.id}/schedules`, { token: ctoken, body: { name: 'n', instruction: 'i', deliver: { channel: 'dashboard' }, ...body } });
    const tooOften = await post({ everyMinutes: 15 });
    expect(tooOften.status).toBe(400);
    expect(tooOften.body.error.fields[0].path).toBe('everyMinutes');
    const cronTooOften = await post({ cron: '*/10 * * * *' });
    expect(cronTooOften.body.error.fields[0].path).toBe('cron');
    expect((await post({ everyMinutes: 60 })).status).toBe(201);
    const second = await post({ cron: '0 9 * * *' });
    expect(second.status).toBe(403);
    expect(second.body.error.code).toBe('plan_limit');

    // The operator's agent and its schedules are not the customer's business.
    const theirs = (await app.api(`/api/agents/${agentId}/schedules`, { token })).body.items[0].id;
    expect((await app.api(`/api/agents/${agentId}/schedules`, { token: ctoken })).status).toBe(404);
    expect((await app.api(`/api/agents/${agentId}/schedules/${theirs}/run`, { method: 'POST', token: ctoken })).status).toBe(404);
    expect((await app.api(`/api/agents/${agentId}/schedules/${theirs}/runs`, { token: ctoken })).status).toBe(404);
    expect((await app.api(`/api/agents/${agentId}/schedules/${theirs}`, { method: 'DELETE', token: ctoken })).status).toBe(404);
    expect((await app.api(`/api/agents/${agentId}/owner-link`, { method: 'POST', token: ctoken })).status).toBe(404);
    // Nor may the customer reach the operator's schedule through their own agent's path.
    expect((await app.api(`/api/agents/${agent.body.id}/schedules/${theirs}/runs`, { token: ctoken })).status).toBe(404);
  });
});
