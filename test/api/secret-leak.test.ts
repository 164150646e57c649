/**
 * Issue 12 item 12: a bot token must never reach a stored row, an API response or a log line, even
 * when Telegram is unreachable and the error the HTTP client raises names the request URL (which
 * carries the token). The adapter keeps the network failure apart from the URL; as a second wall
 * every known secret is masked wherever error text is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { eventually, isPg, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeTelegram, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';
import { createLogger } from '../../src/infra/logger.js';

const TOKEN = '555444333:LEAKqTcvCH1vGWJxfSeofSAs0K5PALDsaw7';
const SECRET_PART = TOKEN.split(':')[1]!;

/** Every text the database holds: SQLite's file and its write-ahead log as raw bytes, or every row of the schema as text. */
async function databaseText(app: TestApp): Promise<string> {
  if (!isPg()) {
    return readdirSync(app.dataDir).filter((f) => f.startsWith('switchboard.db')).map((f) => readFileSync(join(app.dataDir, f)).toString('latin1')).join('\n');
  }
  const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await c.connect();
  try {
    const tables = await c.query<{ table_name: string }>('select table_name from information_schema.tables where table_schema = $1', [app.schema]);
    const out: string[] = [];
    for (const { table_name } of tables.rows) {
      const rows = await c.query<{ t: string }>(`select t::text as t from "${app.schema}"."${table_name}" t`);
      for (const r of rows.rows) out.push(r.t);
    }
    return out.join('\n');
  } finally {
    await c.end();
  }
}

describe('a bot token never reaches stored errors, API responses or logs', () => {
  let app: TestApp;
  let tg: FakeTelegram;
  let token: string;
  let agent: { id: string };
  const logLines: string[] = [];

  beforeAll(async () => {
    tg = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'LeakyBot' }] });
    app = await startTestApp({
      publicUrl: true, log: createLogger('debug', { app: 'switchboard' }, (line) => logLines.push(line)),
      env: { TELEGRAM_API_ROOT: tg.apiRoot, SWITCHBOARD_SEND_RETRY_MS: '50', SWITCHBOARD_SEND_ATTEMPTS: '2' },
    });
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Leaky Helper' } })).body;
    expect((await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: TOKEN } })).status).toBe(200);
  });
  afterAll(async () => { await app?.close(); });

  it('keeps the token out when Telegram goes down mid-conversation', async () => {
    // One message answered while Telegram is up.
    await tg.deliver(TOKEN, textUpdate({ chatId: 9001, text: 'hello' }));
    await eventually(() => tg.messagesTo(9001).length === 1, 5000, 'first reply');
    const webhook = tg.bots.get(TOKEN)!.webhook!;

    // Telegram goes away; the next message arrives (the webhook still reaches us) and its reply cannot be sent.
    await tg.close();
    const update = textUpdate({ chatId: 9001, text: 'still there?' });
    const res = await fetch(webhook.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': webhook.secret! }, body: JSON.stringify(update) });
    expect(res.status).toBe(200);
    const failed = await eventually(async () => {
      const r = await app.api(`/api/channels/undelivered?agentId=${agent.id}`, { token });
      return r.body.messages.find((m: { recipient: string; status: string }) => m.recipient === '9001' && m.status === 'failed') as { lastError: string } | undefined;
    }, 10_000, 'failed reply listed');
    expect(failed!.lastError).toMatch(/network/i); // the failure is still explained

    // Checking the token while Telegram is down: a 502 that says so, without the token.
    const check = await app.api('/api/telegram/check', { token, body: { token: TOKEN } });
    expect(check.status).toBe(502);

    const responses = [
      JSON.stringify((await app.api(`/api/channels/undelivered?agentId=${agent.id}`, { token })).body),
      JSON.stringify((await app.api('/api/channels/undelivered', { token })).body),
      JSON.stringify((await app.api('/api/channels/outbound', { token })).body),
      JSON.stringify((await app.api('/api/agents', { token })).body),
      JSON.stringify((await app.api(`/api/agents/${agent.id}`, { token })).body),
      JSON.stringify(check.body),
    ].join('\n');
    const agentView = (await app.api(`/api/agents/${agent.id}`, { token })).body;
    expect(agentView.channels.telegram.lastError).toMatch(/network/i); // the channel says what went wrong
    expect(responses).not.toContain(SECRET_PART);

    const log = logLines.join('\n');
    expect(log).toMatch(/send failed/); // the failure was logged …
    expect(log).not.toContain(SECRET_PART); // … without the token

    const db = await databaseText(app);
    expect(db).toMatch(/network/i); // the error text is stored …
    expect(db).not.toContain(SECRET_PART); // … without the token
    expect(db).not.toContain(encodeURIComponent(TOKEN));
  }, 30_000);
});
