/**
 * Kill the server with SIGKILL in the middle of a burst — Telegram and WhatsApp webhooks still
 * arriving, replies going out, web chats mid-stream — restart it on the same data, and count
 * replies. The fake providers redeliver what was not acknowledged, as the real ones do. Every
 * message is answered, in order per chat, and the only repeats allowed are the one send per
 * conversation that was in flight at the kill; a web reply cut off mid-stream is finished and
 * stored in the conversation.
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
import { startFakeWhatsApp, type FakeWhatsApp } from '../fakes/whatsapp-server.js';

const TOKEN = '555555555:CCHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw5';
const CHATS = [9101, 9102, 9103, 9104];
const PHONES = ['5511988880001', '5511988880002'];
const PER_CHAT = 8;
const WA = { token: 'EAAG-crash', phoneNumberId: '106540352249999', appSecret: 'crash-secret', verifyToken: 'crash-verify' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A provider's delivery: retried until acknowledged with 200 (connection refused while the server is down). */
async function until200(send: () => Promise<{ status: number }>): Promise<void> {
  for (;;) {
    const status = await send().then((r) => r.status, () => 0);
    if (status === 200) return;
    await sleep(150);
  }
}

describe('durable inbox under kill -9', () => {
  let openai: FakeOpenAI;
  let tg: FakeTelegram;
  let wa: FakeWhatsApp;
  let child: ChildProcess | undefined;
  let dataDir: string;
  let port: number;
  let schema: string | undefined;
  const dbUrl = process.env.TEST_DATABASE_URL;

  const env = () => ({
    ...process.env,
    PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: dbUrl ?? '', SWITCHBOARD_DATABASE_SCHEMA: schema ?? '',
    TELEGRAM_API_ROOT: tg.apiRoot,
    WHATSAPP_TOKEN: WA.token, WHATSAPP_PHONE_NUMBER_ID: WA.phoneNumberId, WHATSAPP_APP_SECRET: WA.appSecret,
    WHATSAPP_VERIFY_TOKEN: WA.verifyToken, WHATSAPP_GRAPH_URL: wa.graphUrl, OPENAI_API_KEY: 'k', OPENAI_BASE_URL: openai.url, SWITCHBOARD_DEFAULT_MODEL: 'openai:gpt-4o-mini',
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
    // Web replies are long, so the kill lands mid-stream.
    openai.setDefault((req) => {
      const said = String(req.messages?.at(-1)?.content ?? '');
      return { kind: 'text', text: `Echo: ${said}${said.startsWith('web-') ? ' and so on'.repeat(40) : ''}`, delayMsBetweenChunks: 15 };
    });
    tg = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'CrashBot' }] });
    wa = await startFakeWhatsApp({ token: WA.token, phoneNumberId: WA.phoneNumberId, appSecret: WA.appSecret });
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
    await wa?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (dbUrl && schema) {
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    }
  });

  it('answers every message after a kill mid-burst, none twice outside the in-flight window', async () => {
    await boot();
    const base = `http://127.0.0.1:${port}`;
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'owner@example.com', password: 'correct horse battery' }) }).then((r) => r.json() as Promise<any>);
    const auth = { authorization: `Bearer ${login.token}`, 'content-type': 'application/json' };
    const agent = await fetch(`${base}/api/agents`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'Crash Agent', listed: true }) }).then((r) => r.json() as Promise<any>);
    const patched = await fetch(`${base}/api/agents/${agent.id}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ telegramBotToken: TOKEN }) });
    expect(patched.status).toBe(200);
    const hook = `${base}/webhooks/whatsapp`;

    // Web chats, started first: each is mid-stream when the kill lands.
    // Two browsers, each with the visitor cookie the server issues (and signs) on a first visit.
    const visitors = await Promise.all([0, 1].map(async () => {
      const r = await fetch(`${base}/api/public/agents/${agent.slug}/conversation`);
      return r.headers.get('set-cookie')!.split(';')[0]!.replace(/^sb_visitor=/, '');
    }));
    const streaming = visitors.map(async (v, i) => {
      const r = await fetch(`${base}/api/public/agents/${agent.slug}/chat`, {
        method: 'POST', headers: { 'content-type': 'application/json', cookie: `sb_visitor=${v}` }, body: JSON.stringify({ text: `web-${i}` }),
      });
      expect(r.status).toBe(200);
      const reader = r.body!.getReader();
      let seen = '';
      while (!seen.includes('event: delta')) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      return reader;
    });
    const readers = await Promise.all(streaming);

    // The burst: each chat sends its messages in order, a little apart, and redelivers until acknowledged.
    // The second half is held until replies are going out, so the kill always lands while webhooks arrive.
    let release!: () => void;
    const released = new Promise<void>((r) => { release = r; });
    let killed = false;
    let sentAfterKill = 0;
    const note = () => { if (killed) sentAfterKill++; };
    const burst = Promise.all([
      ...CHATS.map(async (chat, c) => {
        for (let i = 0; i < PER_CHAT; i++) {
          if (i === PER_CHAT / 2) await released;
          const u = textUpdate({ chatId: chat, text: `c${chat}-m${i}`, updateId: 800_000 + c * 100 + i });
          note();
          await until200(() => tg.deliver(TOKEN, u));
          await sleep(70);
        }
      }),
      ...PHONES.map(async (phone, p) => {
        for (let i = 0; i < PER_CHAT; i++) {
          if (i === PER_CHAT / 2) await released;
          const m = { from: phone, text: `p${p}-m${i}`, id: `wamid.crash-${p}-${i}`, timestamp: 1_790_000_000 + i };
          note();
          await until200(() => wa.deliverMessage(hook, m));
          await sleep(70);
        }
      }),
    ]);

    // Kill while webhooks are still arriving, replies are going out and the web replies stream.
    await eventually(() => tg.sent.length + wa.sent.length >= 3, 20_000, 'first replies');
    release();
    await sleep(120);
    killed = true;
    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    for (const r of readers) await r.cancel().catch(() => {});
    await sleep(300);
    await boot();
    await burst;
    expect(sentAfterKill).toBeGreaterThan(0); // the kill landed mid-burst

    const want = (prefix: string) => Array.from({ length: PER_CHAT }, (_, i) => `Echo: ${prefix}-m${i}`);
    const waTo = (phone: string) => wa.sent.filter((m) => m.waId === phone).map((m) => m.text ?? '');
    await eventually(() => CHATS.every((chat) => want(`c${chat}`).every((t) => tg.messagesTo(chat).includes(t)))
      && PHONES.every((phone, p) => want(`p${p}`).every((t) => waTo(phone).includes(t))), 60_000, 'every message answered');
    await sleep(500);

    let repeats = 0;
    const check = (got: string[], expected: string[]) => {
      const unique = got.filter((m, i) => got.indexOf(m) === i);
      expect(unique).toEqual(expected); // in order, nothing missing, nothing foreign
      const extra = got.length - unique.length;
      expect(extra).toBeLessThanOrEqual(1); // at most the one send in flight for this chat
      repeats += extra;
    };
    for (const chat of CHATS) check(tg.messagesTo(chat), want(`c${chat}`));
    PHONES.forEach((phone, p) => check(waTo(phone), want(`p${p}`)));
    expect(repeats).toBeLessThanOrEqual(CHATS.length + PHONES.length);

    // The web replies cut off by the kill were finished by a worker and stored once.
    for (const [i, v] of visitors.entries()) {
      await eventually(async () => {
        const convo = await fetch(`${base}/api/public/agents/${agent.slug}/conversation`, { headers: { cookie: `sb_visitor=${v}` } }).then((r) => r.json() as Promise<any>);
        return convo.messages.length === 2;
      }, 20_000, `web reply ${i}`);
      const convo = await fetch(`${base}/api/public/agents/${agent.slug}/conversation`, { headers: { cookie: `sb_visitor=${v}` } }).then((r) => r.json() as Promise<any>);
      expect(convo.messages.map((m: any) => [m.role, m.status])).toEqual([['user', 'complete'], ['assistant', 'complete']]);
      expect(convo.messages[0].content).toBe(`web-${i}`);
      expect(convo.messages[1].content).toMatch(new RegExp(`^Echo: web-${i}( and so on){40}$`));
    }
    child!.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }, 150_000);
});
