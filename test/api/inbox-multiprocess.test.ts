/**
 * Two server processes on one database (SQLite file, or PostgreSQL under test:pg) share the inbox:
 * webhooks land on either, both workers answer, and every message is answered exactly once, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeTelegram, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';

const TOKEN = '424242424:DDHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw4';

describe('two server instances (separate database connections) share the inbox', () => {
  let tg: FakeTelegram;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    tg = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'SharedBot' }] });
    a = await startTestApp({ publicUrl: true, env: { TELEGRAM_API_ROOT: tg.apiRoot } });
    b = await startTestApp({ publicUrl: true, shareWith: a, env: { TELEGRAM_API_ROOT: tg.apiRoot } });
    // Both processes answer from the same fake model.
    b.fake.setDefault((req) => `Echo: ${String(req.messages?.at(-1)?.content ?? '')}`);
  });
  afterAll(async () => { await b?.close(); await a?.close(); await tg?.close(); });

  it('answers every message once, in order per chat, whichever process received or processed it', async () => {
    const token = await a.owner();
    const agent = (await a.api('/api/agents', { token, body: { name: 'Shared' } })).body;
    expect((await a.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: TOKEN } })).status).toBe(200);
    const secret = tg.bots.get(TOKEN)!.webhook!.secret!;
    const chats = [7001, 7002, 7003, 7004];
    let id = 900_000;
    const burst = (from: number, to: number) => Promise.all(chats.map(async (chat) => {
      for (let i = from; i < to; i++) {
        const target = (i + chat) % 2 ? a : b; // alternate the receiving process
        const r = await tg.deliver(TOKEN, textUpdate({ chatId: chat, text: `m${i}`, updateId: id++ }), { url: `${target.url}/webhooks/telegram/${agent.id}`, secret });
        expect(r.status).toBe(200);
      }
    }));

    // First A's worker is stopped: what A accepted, B's worker answers.
    await a.server.services.inbox.stop();
    await burst(0, 3);
    await eventually(() => chats.every((c) => tg.messagesTo(c).length >= 3), 15_000, 'replies from B');
    expect((a.fake.requests() as any[]).length).toBe(0);
    expect((b.fake.requests() as any[]).length).toBe(12);

    // Then both work at once, and still nothing is answered twice or out of order.
    a.server.services.inbox.start();
    await burst(3, 8);
    await eventually(() => chats.every((c) => tg.messagesTo(c).length >= 8), 15_000, 'all replies');
    await new Promise((r) => setTimeout(r, 500));
    for (const c of chats) expect(tg.messagesTo(c)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `Echo: m${i}`));
    expect((a.fake.requests() as any[]).length + (b.fake.requests() as any[]).length).toBe(32);
  }, 30_000);
});
