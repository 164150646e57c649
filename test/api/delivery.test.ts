/**
 * Sending replies on a messaging channel when the provider misbehaves: outages are retried with a
 * growing wait and then marked failed, visibly; rate limits are waited out however often they come;
 * a message given up on before any reply existed is listed too. Nothing is dropped silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeTelegram, telegramErrors, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';

const TOKEN = '321321321:DDHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9';

describe('delivery failures on a messaging channel', () => {
  let app: TestApp;
  let tg: FakeTelegram;
  let token: string;
  let agent: { id: string; slug: string };
  const sendsTo = (chat: number) => tg.calls('sendMessage').filter((c) => String(c.params.chat_id) === String(chat));

  beforeAll(async () => {
    tg = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'FlakyBot' }] });
    app = await startTestApp({ publicUrl: true, env: { TELEGRAM_API_ROOT: tg.apiRoot, SWITCHBOARD_SEND_RETRY_MS: '300', SWITCHBOARD_SEND_ATTEMPTS: '4' } });
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Flaky Helper' } })).body;
    expect((await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: TOKEN } })).status).toBe(200);
  });
  afterAll(async () => { await app?.close(); await tg?.close(); });

  it('retries an outage with a growing wait, then marks the reply failed and lists it with the error', async () => {
    const outage = { status: 502, description: 'Bad Gateway' };
    tg.enqueue('sendMessage', outage, outage, outage, outage);
    await tg.deliver(TOKEN, textUpdate({ chatId: 7001, text: 'anyone home?' }));
    const failed = await eventually(async () => {
      const r = await app.api(`/api/channels/undelivered?agentId=${agent.id}`, { token });
      return r.body.messages.find((m: { recipient: string }) => m.recipient === '7001');
    }, 10_000, 'failed reply listed');
    expect(failed).toMatchObject({ channel: 'telegram', status: 'failed', text: 'Echo: anyone home?' });
    expect(failed.lastError).toMatch(/Bad Gateway/);
    const tries = sendsTo(7001);
    expect(tries).toHaveLength(4); // SWITCHBOARD_SEND_ATTEMPTS, then no more
    const gaps = tries.slice(1).map((t, i) => t.at - tries[i]!.at);
    // The wait doubles: at least 300, 600 and 1200 ms (the worker's poll and load only add to them).
    expect(gaps[0]!).toBeGreaterThanOrEqual(290);
    expect(gaps[1]!).toBeGreaterThanOrEqual(590);
    expect(gaps[2]!).toBeGreaterThanOrEqual(1190);
    await new Promise((r) => setTimeout(r, 500));
    expect(sendsTo(7001)).toHaveLength(4);
    // The agent's channel health shows the error.
    const shown = (await app.api(`/api/agents/${agent.id}`, { token })).body;
    expect(JSON.stringify(shown.channels.telegram)).toMatch(/Bad Gateway/);
  });

  it('waits out rate limits without using up attempts, however many come', async () => {
    tg.enqueue('sendMessage', ...Array.from({ length: 5 }, () => telegramErrors.tooManyRequests(1)));
    await tg.deliver(TOKEN, textUpdate({ chatId: 7002, text: 'slowly now' }));
    await eventually(() => tg.messagesTo(7002).length === 1, 15_000, 'delivered after five 429s');
    expect(tg.messagesTo(7002)).toEqual(['Echo: slowly now']);
    const tries = sendsTo(7002);
    expect(tries).toHaveLength(6); // five refusals, more than SWITCHBOARD_SEND_ATTEMPTS, then the send
    for (let i = 1; i < tries.length; i++) expect(tries[i]!.at - tries[i - 1]!.at).toBeGreaterThanOrEqual(950); // retry_after: 1 s
  }, 20_000);

  it('lists a message given up on before any reply existed as unanswered', async () => {
    const store = app.server.services.store;
    const { id } = await store.inbox.accept({
      channel: 'telegram', account: agent.id, externalId: 'given-up-1', threadKey: `telegram:${agent.id}:7003`, agentId: agent.id,
      sender: '7003', senderName: null, text: 'lost in routing', payload: null,
    }, new Date().toISOString(), new Date(Date.now() + 60_000).toISOString());
    await store.inbox.finish(id, 'failed', new Date().toISOString(), 'database unavailable');
    const r = await app.api(`/api/channels/undelivered?agentId=${agent.id}`, { token });
    expect(r.body.messages.find((m: { id: string }) => m.id === id)).toMatchObject({ status: 'unanswered', recipient: '7003', text: 'lost in routing', lastError: 'database unavailable' });
  });

  it('answers the web chat and the message API through the inbox, leaving nothing in flight', async () => {
    const store = app.server.services.store;
    const before = (await store.inbox.counts()).done ?? 0;
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'through the inbox', userId: 'inbox-user' } });
    expect(r.status).toBe(200);
    const web = await fetch(`${app.url}/api/public/agents/${agent.slug}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'and from the web' }) });
    expect(await web.text()).toContain('event: done');
    await eventually(async () => ((await store.inbox.counts()).done ?? 0) === before + 2, 3000, 'both done');
    expect((await store.inbox.counts()).processing ?? 0).toBe(0);
  });
});
