/**
 * The provisioning pipeline of customer agents, over real HTTP: a fake Telegram Bot API, a local website
 * and the fake model. POST returns at once; the steps run as a job and show up live at /status; a failure
 * at any step leaves no webhook behind and can be retried once fixed; plans cap how many agents a customer
 * has; deletion deprovisions (kept or purged conversations); nobody sees another customer's agent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, freePort, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeTelegram, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';
import { startFakeWebsite, type FakeWebsite } from '../fakes/website-server.js';

const STEP_NAMES = ['validate_token', 'check_site', 'generate_workspace', 'index_site', 'bind_telegram', 'health_check'];
const UNKNOWN_TOKEN = '111111111:ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ';

let botNo = 0;
/** A fresh bot on the fake Telegram, so tests do not share webhooks. */
function newBot(tg: FakeTelegram, username: string): string {
  botNo++;
  const token = `${700000000 + botNo}:AAHdqTcvCH1vGWJxfSeofSAs0K5PAL${String(botNo).padStart(5, '0')}`;
  tg.addBot({ token, username });
  return token;
}

async function customer(app: TestApp, owner: string, email: string): Promise<{ token: string; id: string }> {
  const u = await app.api('/api/users', { token: owner, body: { email, password: 'correct horse battery', role: 'customer' } });
  expect(u.status).toBe(201);
  const login = await app.api('/api/auth/login', { body: { email, password: 'correct horse battery' } });
  expect(login.status).toBe(200);
  // No plan: no agent limit (the plan test sets one explicitly).
  await app.server.services.store.plans.setBilling(u.body.id, { planId: null });
  return { token: login.body.token, id: u.body.id };
}

const statusOf = (app: TestApp, id: string, token: string) => app.api(`/api/agents/${id}/status`, { token }).then((r) => r.body);
/** Polls GET /status until the pipeline is no longer running. */
const settled = (app: TestApp, id: string, token: string, ms = 15_000) =>
  eventually(async () => { const s = await statusOf(app, id, token); return s.status !== 'provisioning' ? s : undefined; }, ms, `agent ${id} to settle`);
const stepOf = (s: any, name: string) => s.steps.find((x: any) => x.name === name);

describe('Provisioning (PUBLIC_URL set: webhooks)', () => {
  let app: TestApp;
  let tg: FakeTelegram;
  let site: FakeWebsite;
  let owner: string;
  let cust: { token: string; id: string };
  let other: { token: string; id: string };

  beforeAll(async () => {
    tg = await startFakeTelegram();
    site = await startFakeWebsite();
    app = await startTestApp({
      publicUrl: true,
      env: { TELEGRAM_API_ROOT: tg.apiRoot, SWITCHBOARD_ALLOW_PRIVATE_URLS: 'true', SWITCHBOARD_SITE_CHECK_TIMEOUT_MS: '1000', SWITCHBOARD_JOB_RETRY_SECONDS: '1' },
    });
    owner = await app.owner();
    cust = await customer(app, owner, 'mark@example.com');
    other = await customer(app, owner, 'nosy@example.com');
  });
  afterAll(async () => { await app?.close(); await tg?.close(); await site?.close(); });

  it('provisions a website agent: 202 at once, then every step done, the bot bound and the t.me link shown', async () => {
    const bot = newBot(tg, 'MarkSitePmBot');
    const r = await app.api('/api/agents', { token: cust.token, body: { name: "Mark's Site PM", siteUrl: `${site.url}/old-home`, telegramBotToken: bot } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'provisioning', siteUrl: `${site.url}/old-home`, ownerId: cust.id, listed: false });
    expect(JSON.stringify(r.body)).not.toContain(bot.split(':')[1]);
    const first = await statusOf(app, r.body.id, cust.token);
    expect(first.steps.map((s: any) => s.name)).toEqual(STEP_NAMES);

    const s = await settled(app, r.body.id, cust.token);
    expect(s.status).toBe('active');
    expect(s.error).toBeUndefined();
    expect(s.steps.map((x: any) => x.state)).toEqual(['done', 'done', 'done', 'done', 'done', 'done']);
    expect(stepOf(s, 'validate_token').detail).toMatch(/@MarkSitePmBot/);
    expect(stepOf(s, 'check_site').detail).toMatch(/HTTP 200, after 1 redirect/);
    expect(stepOf(s, 'check_site').detail).toMatch(/WordPress 6\.4\.2.*Cloudflare/);
    expect(stepOf(s, 'check_site').detail).toMatch(/Mark's Bikes – Repairs in Leeds/);
    expect(stepOf(s, 'generate_workspace').detail).toMatch(/SOUL\.md/);
    expect(stepOf(s, 'index_site').detail).toMatch(/being read into the agent's knowledge/);
    // The customer's site is a knowledge source of the agent (a site source, re-synced daily).
    const kb = await app.api(`/api/agents/${r.body.id}/knowledge`, { token: cust.token });
    expect(kb.body.sources).toEqual([expect.objectContaining({ type: 'site', url: `${site.url}/old-home` })]);
    expect(stepOf(s, 'bind_telegram').detail).toMatch(/https:\/\/t\.me\/MarkSitePmBot/);
    expect(stepOf(s, 'health_check').detail).toMatch(/The agent answered: “Echo: /);
    expect(s.telegram).toEqual({ username: 'MarkSitePmBot', link: 'https://t.me/MarkSitePmBot' });
    expect(s.stack).toMatchObject({ generator: 'WordPress 6.4.2', host: 'Cloudflare', server: 'nginx/1.25.3', frameworks: expect.arrayContaining(['PHP']) });
    expect(JSON.stringify(s)).not.toContain(bot.split(':')[1]);

    // The webhook is registered with Telegram, with a secret.
    expect(tg.bots.get(bot)!.webhook).toMatchObject({ url: `${app.url}/webhooks/telegram/${r.body.id}`, secret: expect.any(String) });
    // The site was fetched as the site check, redirect followed.
    expect(site.journal.filter((j) => (j.path === '/old-home' || j.path === '/') && /SwitchboardSiteCheck/.test(j.headers['user-agent'] ?? '')).length).toBeGreaterThan(0);

    // The workspace names the site, its owner and its stack.
    const cfg = (await app.api(`/api/agents/${r.body.id}/config`, { token: cust.token })).body;
    expect(cfg.soul).toContain(`website product manager for ${site.url}/old-home`);
    expect(cfg.agents).toContain('**Tech Stack:** WordPress 6.4.2 (jQuery, PHP), hosted on Cloudflare, server nginx/1.25.3');
    expect(cfg.user).toContain('mark@example.com');
    expect(cfg.soul).not.toMatch(/\{[a-z_]+\}/);

    // The health check left no conversation behind, and the agent now answers on Telegram.
    expect((await app.api(`/api/agents/${r.body.id}/history`, { token: cust.token })).body.messages).toEqual([]);
    await tg.deliver(bot, textUpdate({ chatId: 4242, text: 'Is my site fast?' }));
    await eventually(() => tg.messagesTo(4242, bot).length === 1, 5000, 'telegram reply');
    expect(tg.messagesTo(4242, bot)).toEqual(['Echo: Is my site fast?']);

    const audit = await app.server.services.store.audit.list(200);
    const mine = audit.filter((e) => e.targetId === r.body.id).map((e) => e.action);
    expect(mine).toEqual(expect.arrayContaining(['agent.created', 'provisioning.succeeded']));
  });

  it('shows each step while it runs, and refuses edits until the agent is set up', async () => {
    const bot = newBot(tg, 'SlowSiteBot');
    const r = await app.api('/api/agents', { token: cust.token, body: { name: 'Slow Site PM', siteUrl: `${site.url}/slow`, telegramBotToken: bot } });
    expect(r.status).toBe(202);
    const mid = await eventually(async () => {
      const s = await statusOf(app, r.body.id, cust.token);
      return stepOf(s, 'check_site').state === 'running' ? s : undefined;
    }, 5000, 'check_site running');
    expect(stepOf(mid, 'validate_token')).toMatchObject({ state: 'done', detail: expect.stringMatching(/@SlowSiteBot/) });
    expect(stepOf(mid, 'check_site').detail).toMatch(/Fetching/);
    expect(stepOf(mid, 'health_check').state).toBe('pending');
    const patch = await app.api(`/api/agents/${r.body.id}`, { method: 'PATCH', token: cust.token, body: { description: 'too early' } });
    expect(patch.status).toBe(409);
    expect(patch.body.error.code).toBe('provisioning_in_progress');
    expect((await app.api(`/api/agents/${r.body.id}/pause`, { method: 'POST', token: cust.token })).status).toBe(409);
    const chat = await app.api(`/api/agents/${r.body.id}/message`, { token: cust.token, body: { text: 'hi' } });
    expect(chat.status).toBe(409);
    expect(chat.body.error.code).toBe('agent_not_ready');

    const s = await settled(app, r.body.id, cust.token);
    expect(s.status).toBe('active');
    expect(s.stack).toMatchObject({ frameworks: ['Next.js', 'React'], host: 'Vercel', title: 'Slow' });
  });

  it('fails at validate_token with Telegram\'s reason, binds nothing, and finishes after a new token and a retry', async () => {
    const r = await app.api('/api/agents', { token: cust.token, body: { name: 'Bad Token PM', siteUrl: `${site.url}/`, telegramBotToken: UNKNOWN_TOKEN } });
    expect(r.status).toBe(202);
    const s = await settled(app, r.body.id, cust.token);
    expect(s).toMatchObject({ status: 'failed', failedStep: 'validate_token' });
    expect(s.error).toMatch(/Telegram rejected this token.*Unauthorized/);
    expect(s.steps.map((x: any) => x.state)).toEqual(['failed', 'pending', 'pending', 'pending', 'pending', 'pending']);
    expect(s.telegram).toBeUndefined();
    expect((await app.api(`/api/agents/${r.body.id}`, { token: cust.token })).body).toMatchObject({ status: 'failed', channels: { telegram: null } });
    expect(tg.calls('setWebhook').filter((c) => String(c.params.url).includes(r.body.id))).toHaveLength(0);

    const early = await app.api(`/api/agents/${r.body.id}/retry`, { method: 'POST', token: cust.token });
    expect(early.status).toBe(400);
    expect(early.body.error.code).toBe('token_required');

    const bot = newBot(tg, 'FixedTokenBot');
    const fix = await app.api(`/api/agents/${r.body.id}`, { method: 'PATCH', token: cust.token, body: { telegramBotToken: bot } });
    expect(fix.status).toBe(200);
    expect(fix.body).toMatchObject({ status: 'failed', channels: { telegram: null } }); // not bound before the pipeline runs
    const retry = await app.api(`/api/agents/${r.body.id}/retry`, { method: 'POST', token: cust.token });
    expect(retry.status).toBe(202);
    expect(retry.body).toMatchObject({ status: 'provisioning', attempts: 2 });
    const done = await settled(app, r.body.id, cust.token);
    expect(done).toMatchObject({ status: 'active', telegram: { username: 'FixedTokenBot' } });
    expect(done.error).toBeUndefined();
    expect(tg.bots.get(bot)!.webhook?.url).toContain(r.body.id);
    const actions = (await app.server.services.store.audit.list(200)).filter((e) => e.targetId === r.body.id).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['provisioning.failed', 'provisioning.succeeded']));
  });

  it('fails at check_site for a site that hangs or answers 500, keeps the token, and finishes after the URL is fixed', async () => {
    const bot = newBot(tg, 'HangingSiteBot');
    const r = await app.api('/api/agents', { token: cust.token, body: { name: 'Hanging Site PM', siteUrl: `${site.url}/hang`, telegramBotToken: bot } });
    const t0 = Date.now();
    const s = await settled(app, r.body.id, cust.token);
    expect(s).toMatchObject({ status: 'failed', failedStep: 'check_site' });
    expect(s.error).toMatch(/did not answer within 1 s/);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(s.steps.map((x: any) => x.state)).toEqual(['done', 'failed', 'pending', 'pending', 'pending', 'pending']);
    expect(tg.bots.get(bot)!.webhook).toBeNull();

    expect((await app.api(`/api/agents/${r.body.id}`, { method: 'PATCH', token: cust.token, body: { siteUrl: `${site.url}/broken` } })).status).toBe(200);
    expect((await app.api(`/api/agents/${r.body.id}/retry`, { method: 'POST', token: cust.token })).status).toBe(202);
    const again = await settled(app, r.body.id, cust.token);
    expect(again).toMatchObject({ status: 'failed', failedStep: 'check_site', attempts: 2 });
    expect(again.error).toMatch(/answered HTTP 500/);

    const unreachable = `http://127.0.0.1:${await freePort()}/`;
    await app.api(`/api/agents/${r.body.id}`, { method: 'PATCH', token: cust.token, body: { siteUrl: unreachable } });
    await app.api(`/api/agents/${r.body.id}/retry`, { method: 'POST', token: cust.token });
    expect((await settled(app, r.body.id, cust.token)).error).toMatch(/connection was refused/);

    await app.api(`/api/agents/${r.body.id}`, { method: 'PATCH', token: cust.token, body: { siteUrl: `${site.url}/` } });
    await app.api(`/api/agents/${r.body.id}/retry`, { method: 'POST', token: cust.token });
    const done = await settled(app, r.body.id, cust.token);
    expect(done).toMatchObject({ status: 'active', attempts: 4, telegram: { username: 'HangingSiteBot' }, stack: { generator: 'WordPress 6.4.2' } });
    expect(stepOf(done, 'validate_token').state).toBe('done');
    expect(tg.bots.get(bot)!.webhook?.url).toContain(r.body.id);
  });

  it('fails at health_check when the model errors, unbinds the bot, and binds it again on retry', async () => {
    const bot = newBot(tg, 'ModelDownBot');
    app.fake.setDefault(() => ({ kind: 'error', status: 500 }));
    try {
      const r = await app.api('/api/agents', { token: cust.token, body: { name: 'Model Down PM', siteUrl: `${site.url}/`, telegramBotToken: bot } });
      const s = await settled(app, r.body.id, cust.token);
      expect(s).toMatchObject({ status: 'failed', failedStep: 'health_check' });
      expect(s.error).toMatch(/provider_error/);
      expect(s.error).toMatch(/answered 500/);
      expect(stepOf(s, 'bind_telegram')).toMatchObject({ state: 'pending', detail: expect.stringMatching(/Disconnected again/) });
      expect(s.telegram).toBeUndefined();
      // Nothing half-made: the webhook that was set is gone again, and so is the channel.
      expect(tg.calls('setWebhook').some((c) => String(c.params.url).includes(r.body.id))).toBe(true);
      expect(tg.bots.get(bot)!.webhook).toBeNull();
      expect((await app.api(`/api/agents/${r.body.id}`, { token: cust.token })).body.channels.telegram).toBeNull();

      app.fake.reset();
      expect((await app.api(`/api/agents/${r.body.id}/retry`, { method: 'POST', token: cust.token })).status).toBe(202);
      const done = await settled(app, r.body.id, cust.token);
      expect(done).toMatchObject({ status: 'active', telegram: { username: 'ModelDownBot', link: 'https://t.me/ModelDownBot' } });
      expect(tg.bots.get(bot)!.webhook?.url).toBe(`${app.url}/webhooks/telegram/${r.body.id}`);
    } finally {
      app.fake.reset();
    }
  });

  it('fails the health check when the agent\'s budget stops it', async () => {
    const r = await app.api('/api/agents', { token: cust.token, body: { name: 'Broke PM', siteUrl: `${site.url}/`, monthlyBudgetUsd: 0 } });
    const s = await settled(app, r.body.id, cust.token);
    expect(s).toMatchObject({ status: 'failed', failedStep: 'health_check' });
    expect(s.error).toMatch(/budget is spent/);
    expect((await app.api(`/api/agents/${r.body.id}`, { method: 'PATCH', token: cust.token, body: { monthlyBudgetUsd: 5 } })).status).toBe(200);
    await app.api(`/api/agents/${r.body.id}/retry`, { method: 'POST', token: cust.token });
    expect((await settled(app, r.body.id, cust.token)).status).toBe('active');
  });

  it('resumes a run that died mid-step at that step, and ignores a redelivered or stale job', async () => {
    const { store, provisioning } = app.server.services;
    // Its own site: other agents' uptime checks and every knowledge crawl fetch the shared one at any moment.
    const own = await startFakeWebsite();
    // Only the site checker's fetches (check_site and uptime checks), not the knowledge crawler's.
    const checks = () => own.journal.filter((j) => /SwitchboardSiteCheck/.test(j.headers['user-agent'] ?? '')).length;
    try {
      const r = await app.api('/api/agents', { token: cust.token, body: { name: 'Crashy PM', siteUrl: `${own.url}/` } });
      const done = await settled(app, r.body.id, cust.token);
      expect(done.status).toBe('active');
      expect(stepOf(done, 'validate_token').state).toBe('skipped');
      expect(stepOf(done, 'bind_telegram').state).toBe('skipped');
      const job = (attempt: number) => ({ id: 'j', name: 'provision-agent', data: { agentId: r.body.id, attempt }, attempt: 1 });

      // A redelivery of the finished job does nothing.
      const before = await store.provisioning.get(r.body.id);
      await provisioning.run(job(1));
      expect(await store.provisioning.get(r.body.id)).toEqual(before);

      // As if the process died while writing the workspace: the step is still "running".
      await store.agents.update(r.body.id, { status: 'provisioning', persona: { soul: '' } });
      const steps = before!.steps.map((s) => (s.name === 'generate_workspace' ? { ...s, state: 'running' as const } : ['bind_telegram', 'health_check'].includes(s.name) ? { ...s, state: 'pending' as const } : s));
      await store.provisioning.put({ ...before!, status: 'running', steps, finishedAt: null });
      await provisioning.run(job(2)); // a stale job of another attempt is ignored
      expect((await statusOf(app, r.body.id, cust.token)).status).toBe('provisioning');
      // An active agent's uptime checks fetch the site too (provisioning starts them): counted apart.
      const uptimeChecks = async () => { await app.server.services.queue.drain({ name: 'site_uptime', timeoutMs: 10_000 }); return (await store.siteWatch.lastChecks(r.body.id, 100)).length; };
      const checksBefore = await uptimeChecks();
      const fetched = checks();
      await provisioning.run(job(1));
      const resumed = await statusOf(app, r.body.id, cust.token);
      expect(resumed.status).toBe('active');
      expect(resumed.steps.map((x: any) => x.state)).toEqual(['skipped', 'done', 'done', 'done', 'skipped', 'done']);
      // Uptime checks first: one that runs while they are drained fetches the site too.
      const uptimeFetches = (await uptimeChecks()) - checksBefore;
      expect(checks()).toBe(fetched + uptimeFetches); // check_site was done and did not run again
      expect((await app.api(`/api/agents/${r.body.id}/config`, { token: cust.token })).body.soul).toContain('website product manager');
    } finally {
      await own.close();
    }
  });

  it('caps a customer at their plan\'s maxAgents, counting agents that are not deleted', async () => {
    const capped = await customer(app, owner, 'trial@example.com');
    await app.server.services.store.plans.setBilling(capped.id, { planId: 'trial' });
    const one = await app.api('/api/agents', { token: capped.token, body: { name: 'Only One' } });
    expect(one.status).toBe(201);
    const two = await app.api('/api/agents', { token: capped.token, body: { name: 'Second', siteUrl: `${site.url}/` } });
    expect(two.status).toBe(403);
    expect(two.body.error.code).toBe('plan_limit');
    expect(two.body.error.message).toMatch(/Trial plan allows 1 agent/);
    expect((await app.api(`/api/agents/${one.body.id}/duplicate`, { method: 'POST', token: capped.token })).status).toBe(403);
    expect((await app.api(`/api/agents/${one.body.id}`, { method: 'DELETE', token: capped.token })).status).toBe(204);
    expect((await app.api('/api/agents', { token: capped.token, body: { name: 'Second' } })).status).toBe(201);
    // Operators are not capped by a customer's plan.
    expect((await app.api('/api/agents', { token: owner, body: { name: 'Operator agent' } })).status).toBe(201);
  });

  it('keeps plain agents plain: no site and no token is 201 and active, for customers too', async () => {
    const r = await app.api('/api/agents', { token: cust.token, body: { name: 'Plain Helper' } });
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('active');
    expect(await statusOf(app, r.body.id, cust.token)).toMatchObject({ status: 'active', steps: [], attempts: 0 });
    const bad = await app.api('/api/agents', { token: cust.token, body: { name: 'Bad URL', siteUrl: 'ftp://example.com' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe('siteUrl');
    const creds = await app.api('/api/agents', { token: cust.token, body: { name: 'Bad URL', siteUrl: 'https://me:pw@example.com' } });
    expect(creds.status).toBe(400);
  });

  it('deprovisions on DELETE: bot unbound, token forgotten, slug freed, status "deleted", conversations kept', async () => {
    const bot = newBot(tg, 'ToDeleteBot');
    const r = await app.api('/api/agents', { token: cust.token, body: { name: 'Short Lived PM', siteUrl: `${site.url}/`, telegramBotToken: bot } });
    expect((await settled(app, r.body.id, cust.token)).status).toBe('active');
    expect((await app.api(`/api/agents/${r.body.id}/message`, { token: cust.token, body: { text: 'remember me' } })).status).toBe(200);
    const slug = r.body.slug;

    expect((await app.api(`/api/agents/${r.body.id}`, { method: 'DELETE', token: cust.token })).status).toBe(204);
    expect(tg.bots.get(bot)!.webhook).toBeNull();
    expect(await app.server.services.store.channels.get(r.body.id, 'telegram')).toBeUndefined();
    const s = await statusOf(app, r.body.id, cust.token);
    expect(s.status).toBe('deleted');
    expect(s.telegram).toBeUndefined();
    expect((await app.api(`/api/agents/${r.body.id}`, { token: cust.token })).status).toBe(404);
    expect((await app.api('/api/agents', { token: cust.token })).body.agents.map((a: any) => a.id)).not.toContain(r.body.id);
    const kept = (await app.api(`/api/agents/${r.body.id}/history`, { token: cust.token })).body.messages;
    expect(kept.map((m: any) => m.content)).toEqual(['remember me', 'Echo: remember me']);
    // Every other endpoint answers sensibly.
    expect((await app.api(`/api/agents/${r.body.id}/message`, { token: cust.token, body: { text: 'hello?' } })).status).toBe(404);
    expect((await app.api(`/api/agents/${r.body.id}/config`, { token: cust.token })).status).toBe(404);
    expect((await app.api(`/api/agents/${r.body.id}`, { method: 'PATCH', token: cust.token, body: { description: 'x' } })).status).toBe(404);
    for (const action of ['pause', 'resume']) {
      const p = await app.api(`/api/agents/${r.body.id}/${action}`, { method: 'POST', token: cust.token });
      expect(p.status).toBe(409);
      expect(p.body.error.code).toBe('agent_deleted');
    }
    expect((await app.api(`/api/agents/${r.body.id}/retry`, { method: 'POST', token: cust.token })).status).toBe(409);
    expect((await app.api(`/api/public/agents/${slug}`)).status).toBe(404);
    const late = await tg.deliver(bot, textUpdate({ chatId: 77, text: 'anyone?' }), { url: `${app.url}/webhooks/telegram/${r.body.id}`, secret: 'whatever' });
    expect(late.status).toBe(404);
    // The slug is free again.
    const again = await app.api('/api/agents', { token: cust.token, body: { name: 'Short Lived PM' } });
    expect(again.body.slug).toBe(slug);
    const audit = (await app.server.services.store.audit.list(200)).find((e) => e.targetId === r.body.id && e.action === 'agent.deleted');
    expect(audit?.detail).toMatchObject({ purge: false, slug });
  });

  it('purges conversations with ?purge=true', async () => {
    const r = await app.api('/api/agents', { token: cust.token, body: { name: 'Purged PM' } });
    await app.api(`/api/agents/${r.body.id}/message`, { token: cust.token, body: { text: 'forget me' } });
    expect((await app.api(`/api/agents/${r.body.id}/history`, { token: cust.token })).body.messages).toHaveLength(2);
    expect((await app.api(`/api/agents/${r.body.id}?purge=true`, { method: 'DELETE', token: cust.token })).status).toBe(204);
    expect((await statusOf(app, r.body.id, cust.token)).status).toBe('deleted');
    expect((await app.api(`/api/agents/${r.body.id}/history`, { token: cust.token })).body.messages).toEqual([]);
    const audit = (await app.server.services.store.audit.list(200)).find((e) => e.targetId === r.body.id && e.action === 'agent.deleted');
    expect(audit?.detail).toMatchObject({ purge: true, conversations: 1, messages: 2 });
  });

  it("answers 404 for another customer's agent on every endpoint, and keeps auditors read-only", async () => {
    const r = await app.api('/api/agents', { token: cust.token, body: { name: 'Private PM' } });
    const id = r.body.id;
    const calls: [string, string, unknown?][] = [
      ['GET', `/api/agents/${id}/status`], ['GET', `/api/agents/${id}/config`], ['PATCH', `/api/agents/${id}/config`, { soul: 'mine now' }],
      ['GET', `/api/agents/${id}/history`], ['POST', `/api/agents/${id}/message`, { text: 'hi' }], ['POST', `/api/agents/${id}/retry`],
      ['DELETE', `/api/agents/${id}`], ['POST', `/api/agents/${id}/pause`], ['PATCH', `/api/agents/${id}`, { siteUrl: 'https://example.com' }],
    ];
    for (const [method, path, body] of calls) {
      const res = await app.api(path, { method, token: other.token, body });
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    expect((await statusOf(app, id, cust.token)).status).toBe('active');

    await app.api('/api/users', { token: owner, body: { email: 'audit@example.com', password: 'correct horse battery', role: 'auditor' } });
    const auditor = (await app.api('/api/auth/login', { body: { email: 'audit@example.com', password: 'correct horse battery' } })).body.token;
    expect((await app.api(`/api/agents/${id}/config`, { token: auditor })).status).toBe(200);
    expect((await app.api(`/api/agents/${id}/status`, { token: auditor })).status).toBe(200);
    expect((await app.api(`/api/agents/${id}/config`, { method: 'PATCH', token: auditor, body: { soul: 'x' } })).status).toBe(403);
    expect((await app.api(`/api/agents/${id}/retry`, { method: 'POST', token: auditor })).status).toBe(403);
  });

  it('reads and edits the workspace files through /config, bumping the version', async () => {
    const r = await app.api('/api/agents', { token: cust.token, body: { name: 'Configurable', persona: { soul: '# Soul', instructions: 'Be brief.' } } });
    const cfg = await app.api(`/api/agents/${r.body.id}/config`, { token: cust.token });
    expect(cfg.body).toEqual({ soul: '# Soul', agents: '', tools: '', user: '', instructions: 'Be brief.', siteUrl: null, version: 1 });
    const p = await app.api(`/api/agents/${r.body.id}/config`, { method: 'PATCH', token: cust.token, body: { agents: '# Agents', instructions: 'Be kind.', version: 1 } });
    expect(p.status).toBe(200);
    expect(p.body).toEqual({ soul: '# Soul', agents: '# Agents', tools: '', user: '', instructions: 'Be kind.', siteUrl: null, version: 2 });
    expect((await app.api(`/api/agents/${r.body.id}`, { token: cust.token })).body.persona.agents).toBe('# Agents');
    const stale = await app.api(`/api/agents/${r.body.id}/config`, { method: 'PATCH', token: cust.token, body: { soul: 'late', version: 1 } });
    expect(stale.status).toBe(409);
    const unknown = await app.api(`/api/agents/${r.body.id}/config`, { method: 'PATCH', token: cust.token, body: { soul: 'x', colour: 'red' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.fields).toEqual([{ path: 'colour', message: 'is not a known field' }]);
    const long = await app.api(`/api/agents/${r.body.id}/config`, { method: 'PATCH', token: cust.token, body: { soul: 'x'.repeat(32_769) } });
    expect(long.status).toBe(400);
    const audit = (await app.server.services.store.audit.list(200)).find((e) => e.targetId === r.body.id && e.action === 'agent.config_updated');
    expect(audit?.detail).toMatchObject({ fields: ['agents', 'instructions'] });
  });
});

describe('Provisioning without SWITCHBOARD_ALLOW_PRIVATE_URLS', () => {
  let app: TestApp;
  let site: FakeWebsite;
  beforeAll(async () => {
    site = await startFakeWebsite();
    app = await startTestApp({ env: { SWITCHBOARD_SITE_CHECK_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => { await app?.close(); await site?.close(); });

  it('refuses a site on a private or loopback address without fetching it', async () => {
    const owner = await app.owner();
    const cust = await customer(app, owner, 'lan@example.com');
    const r = await app.api('/api/agents', { token: cust.token, body: { name: 'Sneaky PM', siteUrl: `${site.url}/` } });
    expect(r.status).toBe(202);
    const s = await settled(app, r.body.id, cust.token);
    expect(s).toMatchObject({ status: 'failed', failedStep: 'check_site' });
    expect(s.error).toMatch(/127\.0\.0\.1 is a loopback address.*only public addresses/);
    expect(stepOf(s, 'validate_token').state).toBe('skipped');
    expect(site.journal).toHaveLength(0);
    const metadata = await app.api('/api/agents', { token: cust.token, body: { name: 'Metadata PM', siteUrl: 'http://169.254.169.254/latest/meta-data/' } });
    expect((await settled(app, metadata.body.id, cust.token)).error).toMatch(/link-local/);
  });
});
