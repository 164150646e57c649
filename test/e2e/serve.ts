// Starts everything the browser tests talk to: a fake OpenAI upstream, a fake Telegram
// Bot API and the real Switchboard server on a fresh data folder. Playwright runs this as its webServer
// and stops it (SIGTERM) when the run ends.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { echoReply, startFakeOpenAI } from '../fakes/openai-server.js';
import { startFakeTelegram, textUpdate } from '../fakes/telegram-server.js';
import { startServer } from '../../src/server.js';

const port = Number(process.env.E2E_PORT ?? 3917);
const controlPort = Number(process.env.E2E_CONTROL_PORT ?? port + 1);

const fake = await startFakeOpenAI();
// Echo the last user message word by word, slowly enough that the browser sees
// the reply grow token by token (and the typing indicator before it).
const slowEcho = () =>
  fake.setDefault((req) => ({ kind: 'text', text: echoReply(req), delayMsBetweenChunks: 15, firstByteDelayMs: 150 }));
slowEcho();

// A Telegram bot the tests can connect (channels.spec.ts uses the same token and username).
// No PUBLIC_URL is set, so the app long-polls this fake with a short timeout.
const E2E_BOT = { token: '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1', username: 'E2EBot' };
const telegram = await startFakeTelegram({ bots: [E2E_BOT] });

// A small control channel so a test can script the upstream:
// POST /enqueue with a ScriptedResponse (or an array of them), POST /reset.
// Telegram: POST /telegram/update {chatId, text, token?} queues a user's message for the bot;
// GET /telegram/sent?chatId= lists the texts the bot sent to that chat.
// POST /apps/<name> starts (once per name) another Switchboard on its own data folder and answers
// {url}: channels.spec.ts and budget.spec.ts run on their own, so their owner accounts (and budgets,
// prices and alerts) cannot spoil core.spec.ts's first-run setup whichever file runs first.
const control = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString('utf8')));
  req.on('end', async () => {
    try {
      const app = req.method === 'POST' ? /^\/apps\/([a-z][a-z0-9-]{0,30})$/.exec(req.url ?? '') : null;
      if (app) {
        const other = await startOtherApp(app[1]!);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: other.url }));
        return;
      }
      if (req.method === 'POST' && req.url === '/enqueue') {
        const parsed = JSON.parse(body);
        fake.enqueue(...(Array.isArray(parsed) ? parsed : [parsed]));
      } else if (req.method === 'POST' && req.url === '/reset') {
        fake.reset();
        slowEcho();
      } else if (req.method === 'POST' && req.url === '/telegram/update') {
        const { token, ...input } = JSON.parse(body) as { token?: string; chatId: number; text: string };
        telegram.pushUpdate(token ?? E2E_BOT.token, textUpdate(input));
      } else if (req.method === 'GET' && req.url?.startsWith('/telegram/sent')) {
        const chatId = new URL(req.url, 'http://x').searchParams.get('chatId');
        const texts = telegram.sent.filter((m) => String(m.chatId) === chatId).map((m) => m.text);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ texts }));
        return;
      } else {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(204).end();
    } catch (e) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(String(e));
    }
  });
});
await new Promise<void>((resolve) => control.listen(controlPort, '127.0.0.1', resolve));

const secretKey = randomBytes(32).toString('hex');
const appEnv = (dataDir: string) => ({
  DATA_DIR: dataDir,
  OPENAI_API_KEY: 'test',
  OPENAI_BASE_URL: fake.url,
  SWITCHBOARD_DEFAULT_MODEL: 'openai:gpt-4o-mini',
  SWITCHBOARD_SECRET_KEY: secretKey,
  SWITCHBOARD_LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
  // A scripted upstream failure should reach the browser at once, not after retries.
  SWITCHBOARD_MODEL_MAX_RETRIES: '0',
  TELEGRAM_API_ROOT: telegram.apiRoot,
  SWITCHBOARD_TELEGRAM_POLL_TIMEOUT_S: '1',
});

const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-'));
const app = await startServer({ port, host: '127.0.0.1', env: appEnv(dataDir) });

type OtherApp = { url: string; close(): Promise<void>; dataDir: string };
const otherApps = new Map<string, Promise<OtherApp>>();
function startOtherApp(name: string): Promise<OtherApp> {
  let started = otherApps.get(name);
  if (!started) {
    started = (async () => {
      const dir = mkdtempSync(join(tmpdir(), `switchboard-e2e-${name}-`));
      const other = await startServer({ port: 0, host: '127.0.0.1', env: appEnv(dir) });
      console.log(`[e2e] ${name} switchboard on ${other.url} (data ${dir})`);
      return { url: other.url, close: () => other.close(), dataDir: dir };
    })();
    otherApps.set(name, started);
  }
  return started;
}
console.log(`[e2e] switchboard on ${app.url} (data ${dataDir}), fake OpenAI on ${fake.url}, fake Telegram on ${telegram.apiRoot}`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  control.close();
  const others = (await Promise.all([...otherApps.values()].map((p) => p.catch(() => null)))).filter((o) => !!o);
  await Promise.allSettled([app.close(), ...others.map((o) => o.close())]);
  await Promise.allSettled([fake.close(), telegram.close()]);
  rmSync(dataDir, { recursive: true, force: true });
  for (const o of others) rmSync(o.dataDir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
