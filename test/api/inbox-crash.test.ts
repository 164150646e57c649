/**
 * Kill the server with SIGKILL in the middle of a burst of Telegram messages, restart it on the
 * same data, and count replies: every accepted message is answered, in order per chat, and the
 * only repeats allowed are the one send per conversation that was in flight at the kill.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { eventually, freePort, TEST_SECRET } from '../helpers/test-app.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import { startFakeTelegram, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';

const TOKEN = '555555555:CCHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw5';
const CHATS = [9101, 9102, 9103, 9104, 9105];
const PER_CHAT = 6;

describe('durable inbox under kill -9', () => {
  let openai: FakeOpenAI;
  let tg: FakeTelegram;
  let child: ChildProcess | undefined;
  let dataDir: string;
  let port: number;
  let schema: string | undefined;
  const dbUrl = process.env.TEST_DATABASE_URL;

  const env = () => ({
    ...process.env,
    PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: dbUrl ?? '', SWITCHBOARD_DATABASE_SCHEMA: schema ?? '',
    TELEGRAM_API_ROOT: tg.apiRoot, OPENAI_API_KEY: 'k', OPENAI_BASE_URL: openai.url, SWITCHBOARD_DEFAULT_MODEL: 'openai:gpt-4o-mini',
    SWITCHBOARD_SECRET_KEY: TEST_SECRET, SWITCHBOARD_LOG_LEVEL: 'error', SWITCHBOARD_INBOX_LEASE_MS: '1500',
    SWITCHBOARD_ADMIN_EMAIL: 'owner@example.com', SWITCHBOARD_ADMIN_PASSWORD: 'correct horse battery', SWITCHBOARD_MODEL_MAX_RETRIES: '0',
  });
  async function boot() {
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: env(), stdio: ['ignore', 'ignore', 'inherit'] });
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok).catch(() => false)), 20_000, 'server start');
  }

  beforeAll(async () => {
    openai = await startFakeOpenAI();
    // Slow enough that the kill lands while replies are being generated and sent.
    openai.setDefault((req) => ({ kind: 'text', text: `Echo: ${String(req.messages?.at(-1)?.content ?? '')}`, delayMsBetweenChunks: 15 }));
    tg = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'CrashBot' }] });
    dataDir = mkdtempSync(join(tmpdir(), 'sb-crash-'));
    port = await freePort();
    if (dbUrl) {
      schema = `k_${randomBytes(6).toString('hex')}`;
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      await c.query(`create schema ${schema}`);
      await c.end();
    }
  }, 30_000);
  afterAll(async () => {
    child?.kill('SIGKILL');
    await openai?.close();
    await tg?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (dbUrl && schema) {
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    }
  });

  it('answers every accepted message after a restart, none twice outside the in-flight window', async () => {
    await boot();
    const base = `http://127.0.0.1:${port}`;
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'owner@example.com', password: 'correct horse battery' }) }).then((r) => r.json() as Promise<any>);
    const auth = { authorization: `Bearer ${login.token}`, 'content-type': 'application/json' };
    const agent = await fetch(`${base}/api/agents`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'Crash Agent' }) }).then((r) => r.json() as Promise<any>);
    const patched = await fetch(`${base}/api/agents/${agent.id}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ telegramBotToken: TOKEN }) });
    expect(patched.status).toBe(200);

    // The burst: every chat sends its messages in order; each counts as accepted once we got 200.
    const accepted = new Map<number, string[]>(CHATS.map((c) => [c, []]));
    let update = 800_000;
    await Promise.all(CHATS.map(async (chat) => {
      for (let i = 0; i < PER_CHAT; i++) {
        const text = `c${chat}-m${i}`;
        const r = await tg.deliver(TOKEN, textUpdate({ chatId: chat, text, updateId: update++ }));
        if (r.status === 200) accepted.get(chat)!.push(text);
      }
    }));
    const total = [...accepted.values()].reduce((n, a) => n + a.length, 0);
    expect(total).toBe(CHATS.length * PER_CHAT);

    // Kill while replies are still going out.
    await eventually(() => tg.sent.length >= 3, 10_000, 'first replies');
    const before = tg.sent.length;
    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    expect(before).toBeLessThan(total);

    await boot();
    await eventually(() => CHATS.every((chat) => accepted.get(chat)!.every((t) => tg.messagesTo(chat).includes(`Echo: ${t}`))), 60_000, 'every message answered');
    await new Promise((r) => setTimeout(r, 500));

    let repeats = 0;
    for (const chat of CHATS) {
      const got = tg.messagesTo(chat);
      const want = accepted.get(chat)!.map((t) => `Echo: ${t}`);
      const unique = got.filter((m, i) => got.indexOf(m) === i);
      expect(unique).toEqual(want); // in order, nothing missing, nothing foreign
      const extra = got.length - unique.length;
      expect(extra).toBeLessThanOrEqual(1); // at most the one send in flight for this chat
      repeats += extra;
    }
    expect(repeats).toBeLessThanOrEqual(CHATS.length);
    child!.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }, 150_000);
});
