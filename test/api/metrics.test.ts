/**
 * GET /metrics: Prometheus text format for this server only — model calls, tokens and cost, HTTP
 * requests by route pattern, inbox/outbox/job gauges, send failures, process metrics — served to
 * loopback without a token, and only with the bearer token once METRICS_TOKEN is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeTelegram, telegramErrors, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';
import { loadConfig } from '../../src/config/config.js';

const BOT = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';
const METRICS_TOKEN = 'm'.repeat(20) + '-scrape-secret';

/** The value of one sample line, e.g. value(text, 'switchboard_jobs{state="failed"}'); undefined when absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics without METRICS_TOKEN: loopback only', () => {
  let app: TestApp;
  let tg: FakeTelegram;
  let token: string;
  let agent: { id: string; slug: string };
  const scrape = async (headers: Record<string, string> = {}) => {
    const res = await fetch(`${app.url}/metrics`, { headers });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };

  beforeAll(async () => {
    tg = await startFakeTelegram({ bots: [{ token: BOT, username: 'MetricsBot' }] });
    app = await startTestApp({ publicUrl: true, env: { TELEGRAM_API_ROOT: tg.apiRoot } });
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Recipe Helper', template: 'recipe-helper' } })).body;
  });
  afterAll(async () => { await app?.close(); await tg?.close(); });

  it('serves the Prometheus text format to this machine without a token', async () => {
    const r = await scrape();
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.text).toContain('# TYPE switchboard_http_requests_total counter');
    expect(r.text).toContain('# TYPE switchboard_model_ttft_seconds histogram');
    // prom-client's process and Node.js metrics, in this server's own registry.
    expect(r.text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(r.text).toMatch(/^nodejs_heap_size_total_bytes \d/m);
    // Gauges read at scrape time, every known state present even at zero.
    for (const s of ['queued', 'processing', 'done', 'failed']) expect(value(r.text, `switchboard_inbox_messages{status="${s}"}`)).toBe(0);
    for (const s of ['pending', 'sending', 'sent', 'failed', 'undelivered']) expect(value(r.text, `switchboard_outbox_parts{status="${s}"}`)).toBe(0);
    for (const s of ['queued', 'active', 'completed', 'failed']) expect(value(r.text, `switchboard_jobs{state="${s}"}`)).toEqual(expect.any(Number));
  });

  it('counts model calls, tokens and cost after a chat', async () => {
    const before = (await scrape()).text;
    const calls = 'switchboard_model_calls_total{provider="openai",model="openai:gpt-4o-mini",purpose="chat",status="ok"}';
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'Count me in', userId: 'alice' } });
    expect(r.status).toBe(200);
    const after = (await scrape()).text;
    expect((value(after, calls) ?? 0) - (value(before, calls) ?? 0)).toBe(1);
    const delta = (series: string) => (value(after, series) ?? 0) - (value(before, series) ?? 0);
    expect(delta('switchboard_model_tokens_total{model="openai:gpt-4o-mini",direction="input"}')).toBe(r.body.usage.inputTokens);
    expect(delta('switchboard_model_tokens_total{model="openai:gpt-4o-mini",direction="output"}')).toBe(r.body.usage.outputTokens);
    expect(delta('switchboard_model_cost_usd_total{model="openai:gpt-4o-mini"}')).toBeCloseTo(r.body.usage.costUsd, 12);
    expect(delta('switchboard_model_ttft_seconds_count{purpose="chat"}')).toBe(1);
    expect(delta('switchboard_model_latency_seconds_count{purpose="chat"}')).toBe(1);

    // A failed attempt is counted with its status, and kept out of the latency histograms.
    app.fake.enqueue({ kind: 'error', status: 500 }, { kind: 'error', status: 500 });
    expect((await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'fail', userId: 'bob' } })).status).toBe(502);
    const failed = (await scrape()).text;
    expect(value(failed, 'switchboard_model_calls_total{provider="openai",model="openai:gpt-4o-mini",purpose="chat",status="error"}')).toBe(1);
    expect(value(failed, 'switchboard_model_calls_total{provider="openai",model="openai:gpt-4.1-nano",purpose="chat",status="error"}')).toBe(1);
    expect(value(failed, 'switchboard_model_latency_seconds_count{purpose="chat"}')).toBe(value(after, 'switchboard_model_latency_seconds_count{purpose="chat"}'));
  });

  it('labels HTTP requests with the route pattern, never the raw path', async () => {
    await app.api(`/api/agents/${agent.id}`, { token });
    await app.api('/api/agents/00000000-0000-0000-0000-000000000000', { token });
    await app.api('/api/no/such/route', { token });
    const text = (await scrape()).text;
    expect(value(text, 'switchboard_http_requests_total{method="GET",route="/api/agents/:id",status="200"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'switchboard_http_requests_total{method="GET",route="/api/agents/:id",status="404"}')).toBe(1);
    expect(value(text, 'switchboard_http_requests_total{method="POST",route="/api/agents/:id/message",status="200"}')).toBe(1);
    expect(value(text, 'switchboard_http_requests_total{method="GET",route="/api/*",status="404"}')).toBe(1);
    expect(text).toMatch(/^switchboard_http_request_duration_seconds_count\{method="POST",route="\/api\/agents\/:id\/message"\} \d/m);
    expect(text).not.toContain(agent.id);
    expect(text).not.toContain('00000000-0000');
    expect(text).not.toContain('/no/such');
  });

  it('counts failed sends to a channel, retried or final, and the outbox parts by status', async () => {
    expect((await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: BOT } })).status).toBe(200);
    tg.enqueue('sendMessage', telegramErrors.tooManyRequests(1));
    await tg.deliver(BOT, textUpdate({ chatId: 7001, text: 'rate limited' }));
    await eventually(() => tg.messagesTo(7001).length === 1, 8000, 'reply after 429');
    tg.enqueue('sendMessage', telegramErrors.blocked());
    await tg.deliver(BOT, textUpdate({ chatId: 7002, text: 'blocked' }));
    const text = String(await eventually(async () => {
      const t = (await scrape()).text;
      // The failure is counted as the send fails; the inbox row is finished a moment later.
      return value(t, 'switchboard_send_failures_total{channel="telegram",final="true"}') === 1 && value(t, 'switchboard_inbox_messages{status="done"}') === 4 && t;
    }, 8000, 'final send failure'));
    expect(value(text, 'switchboard_send_failures_total{channel="telegram",final="false"}')).toBe(1);
    expect(value(text, 'switchboard_outbox_parts{status="sent"}')).toBe(1);
    expect(value(text, 'switchboard_outbox_parts{status="undelivered"}')).toBe(1);
    // Two Telegram updates, and the two earlier message API calls (they go through the inbox too).
    expect(value(text, 'switchboard_inbox_messages{status="done"}')).toBe(4);
    expect(value(text, 'switchboard_http_requests_total{method="POST",route="/webhooks/telegram/:agentId",status="200"}')).toBe(2);
  });

  it('refuses requests relayed by a proxy, and explains METRICS_TOKEN', async () => {
    const relayed: Record<string, string>[] = [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }, { 'x-real-ip': '203.0.113.9' }];
    for (const h of relayed) {
      const r = await scrape(h);
      expect(r.status).toBe(403);
      expect(JSON.parse(r.text).error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('METRICS_TOKEN') });
    }
  });
});

describe('metrics with METRICS_TOKEN', () => {
  let app: TestApp;
  beforeAll(async () => { app = await startTestApp({ env: { METRICS_TOKEN } }); });
  afterAll(async () => { await app?.close(); });

  it('answers 401 without the bearer token or with a wrong one, 200 with the right one', async () => {
    const none = await app.api('/metrics');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: { code: 'unauthorized', message: expect.stringContaining('METRICS_TOKEN') } });
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    for (const wrong of ['nope', METRICS_TOKEN + 'x', METRICS_TOKEN.slice(0, -1)]) {
      expect((await app.api('/metrics', { headers: { authorization: `Bearer ${wrong}` } })).status).toBe(401);
    }
    expect((await app.api('/metrics', { headers: { authorization: `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}` } })).status).toBe(401);
    // A user's session token is not a metrics token.
    expect((await app.api('/metrics', { token: await app.owner() })).status).toBe(401);
    const ok = await app.api('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}`, 'x-forwarded-for': '203.0.113.9' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('switchboard_http_requests_total{method="GET",route="/metrics",status="401"}');
  });

  it('refuses a METRICS_TOKEN shorter than 16 characters at start-up', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN: must be at least 16 characters/);
    expect(loadConfig({ METRICS_TOKEN }).METRICS_TOKEN).toBe(METRICS_TOKEN);
  });
});
