// Starts everything the browser tests talk to: a fake OpenAI upstream, a fake Telegram
// Bot API, a customer's website, fake Stripe, an SMTP server that keeps its mail, and the real
// Switchboard server on a fresh data folder. Playwright runs this as its webServer
// and stops it (SIGTERM) when the run ends.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contentText, echoReply, startFakeOpenAI, type ChatRequest, type FakeOpenAI, type ScriptedResponse } from '../fakes/openai-server.js';
import { startFakeTelegram, textUpdate } from '../fakes/telegram-server.js';
import { startFakeWebsite } from '../fakes/website-server.js';
import { startFakeStripe } from '../fakes/stripe-server.js';
import { startFakeSmtp } from '../fakes/smtp-server.js';
import { startServer } from '../../src/server.js';

const port = Number(process.env.E2E_PORT ?? 3917);
const controlPort = Number(process.env.E2E_CONTROL_PORT ?? port + 1);

const fake = await startFakeOpenAI();
// Echo the last user message word by word, slowly enough that the browser sees
// the reply grow token by token (and the typing indicator before it).
// Tool calls can be driven from a chat message: "CALL <tool> <json arguments>" makes the model call
// that tool when it was offered one by that name, and a tool's answer comes back as "Tool said: …".
const CALL = /^CALL ([a-z][a-z0-9_]*) (\{[\s\S]*\})\s*$/;
function e2eModel(req: ChatRequest): ScriptedResponse {
  const messages = req.messages ?? [];
  const last = messages[messages.length - 1];
  if (last?.role === 'tool') return { kind: 'text', text: `Tool said: ${contentText(last.content)}` };
  const users = messages.filter((m) => m?.role === 'user');
  const call = CALL.exec(contentText(users[users.length - 1]?.content).trim());
  const offered = (name: string) => (req.tools ?? []).some((t) => t?.function?.name === name);
  if (call && offered(call[1]!)) return { kind: 'tool_calls', calls: [{ name: call[1]!, arguments: call[2]! }] };
  return { kind: 'text', text: echoReply(req), delayMsBetweenChunks: 15, firstByteDelayMs: 150 };
}
fake.setDefault(e2eModel);

// A Telegram bot the tests can connect (channels.spec.ts uses the same token and username).
// No PUBLIC_URL is set, so the app long-polls this fake with a short timeout.
const E2E_BOT = { token: '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1', username: 'E2EBot' };
const telegram = await startFakeTelegram({ bots: [E2E_BOT] });

// Customer sign-up and onboarding (onboarding.spec.ts): a bot of the customer's own, their website,
// Stripe and a mail server. Only apps started with {"customers": true} use them (see customerEnv).
const ONBOARDING_BOT = { token: '555000111:AAFk3mZq8vWcRtY2uNpLxE7sJdHgB4aQ9oI', username: 'MarkSitePmBot', firstName: 'Mark' };
telegram.addBot(ONBOARDING_BOT);
// More bots, one per agent of screens.spec.ts (1–4) and schedules.spec.ts (5): a bot polled by two agents would make each stop the other.
const SPARE_BOTS = [1, 2, 3, 4, 5].map((n) => ({ token: `55500011${n}:AAFk3mZq8vWcRtY2uNpLxE7sJdHgB4aQ9o${n}`, username: `SitePm${n}Bot`, firstName: `Site PM ${n}` }));
for (const bot of SPARE_BOTS) telegram.addBot(bot);
// The live inbox (inbox.spec.ts) has a bot of its own: its app polls it while the spec runs.
telegram.addBot({ token: '555000120:AAFk3mZq8vWcRtY2uNpLxE7sJdHgB4aQ9i0', username: 'InboxE2EBot', firstName: 'Inbox' });
const website = await startFakeWebsite();
const STRIPE = { secretKey: 'sk_test_e2e', webhookSecret: 'whsec_e2e', priceId: 'price_e2e_starter' };
const stripe = await startFakeStripe({ secretKey: STRIPE.secretKey, webhookSecret: STRIPE.webhookSecret, prices: [{ id: STRIPE.priceId, unitAmount: 2900 }] });
const smtp = await startFakeSmtp();

// A small control channel so a test can script the upstream:
// POST /enqueue with a ScriptedResponse (or an array of them), POST /reset; with ?app=<name>, for that app's upstream.
// Telegram: POST /telegram/update {chatId, text, token?} queues a user's message for the bot;
// GET /telegram/sent?chatId= lists the texts the bot sent to that chat.
// POST /apps/<name> starts (once per name) another Switchboard on its own data folder and answers
// {url}: channels.spec.ts and budget.spec.ts run on their own, so their owner accounts (and budgets,
// prices and alerts) cannot spoil core.spec.ts's first-run setup whichever file runs first.
// A body {"customers": true} opens sign-up and adds the website, Stripe and mail (customerEnv);
// {"voice": true} configures speech to text and text to speech on the fake upstream (voiceEnv).
// GET /fakes answers {siteUrl, botToken, botUsername, spareBots, stripePriceId}; GET /mail?to= the mails sent there.
const otherApps = new Map<string, Promise<OtherApp>>();
const control = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString('utf8')));
  req.on('end', async () => {
    try {
      const app = req.method === 'POST' ? /^\/apps\/([a-z][a-z0-9-]{0,30})$/.exec(req.url ?? '') : null;
      if (app) {
        const opts = body ? (JSON.parse(body) as { customers?: boolean; voice?: boolean }) : {};
        const other = await startOtherApp(app[1]!, { customers: !!opts.customers, voice: !!opts.voice });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: other.url }));
        return;
      }
      if (req.method === 'GET' && req.url === '/fakes') {
        const fakes = {
          siteUrl: website.url,
          botToken: ONBOARDING_BOT.token,
          botUsername: ONBOARDING_BOT.username,
          spareBots: SPARE_BOTS.map((b) => ({ token: b.token, username: b.username })),
          stripePriceId: STRIPE.priceId,
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(fakes));
        return;
      }
      if (req.method === 'GET' && req.url?.startsWith('/mail')) {
        const to = new URL(req.url, 'http://x').searchParams.get('to') ?? '';
        const mails = smtp.to(to).map((m) => ({ subject: m.subject, text: m.text }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ mails }));
        return;
      }
      const path = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'POST' && (path.pathname === '/enqueue' || path.pathname === '/reset')) {
        // ?app=<name>: that app's own upstream; none: the main server's.
        const name = path.searchParams.get('app');
        const upstream = name ? (await otherApps.get(name))?.fake : fake;
        if (!upstream) throw new Error(`no app named ${name}`);
        if (path.pathname === '/enqueue') {
          const parsed = JSON.parse(body);
          upstream.enqueue(...(Array.isArray(parsed) ? parsed : [parsed]));
        } else {
          upstream.reset();
          upstream.setDefault(e2eModel);
        }
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
const appEnv = (dataDir: string, upstream: FakeOpenAI = fake) => ({
  DATA_DIR: dataDir,
  OPENAI_API_KEY: 'test',
  OPENAI_BASE_URL: upstream.url,
  SWITCHBOARD_DEFAULT_MODEL: 'openai:gpt-4o-mini',
  SWITCHBOARD_SECRET_KEY: secretKey,
  SWITCHBOARD_LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
  // A scripted upstream failure should reach the browser at once, not after retries.
  SWITCHBOARD_MODEL_MAX_RETRIES: '0',
  TELEGRAM_API_ROOT: telegram.apiRoot,
  SWITCHBOARD_TELEGRAM_POLL_TIMEOUT_S: '1',
});

/** Open sign-up, the customer's website reachable (it is on 127.0.0.1), Stripe and mail, for customer journeys. */
const customerEnv = {
  SWITCHBOARD_SIGNUP: 'open',
  SWITCHBOARD_ALLOW_PRIVATE_URLS: 'true',
  SWITCHBOARD_SITE_CHECK_TIMEOUT_MS: '2000',
  STRIPE_SECRET_KEY: STRIPE.secretKey,
  STRIPE_WEBHOOK_SECRET: STRIPE.webhookSecret,
  STRIPE_API_URL: stripe.apiUrl,
  SMTP_URL: smtp.url,
  SMTP_FROM: 'Switchboard <noreply@example.com>',
};

/** Voice (issue 16, voice.spec.ts): the fake upstream answers /audio/transcriptions and /audio/speech. */
const voiceEnv = {
  SWITCHBOARD_STT_MODEL: 'openai:gpt-4o-mini-transcribe',
  SWITCHBOARD_TTS_MODEL: 'openai:gpt-4o-mini-tts',
};

const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-'));
const app = await startServer({ port, host: '127.0.0.1', env: appEnv(dataDir) });

/**
 * Each other app has a model upstream of its own, so what one spec scripts (POST /enqueue?app=) is
 * answered to that app alone, never to another app's background call (a summary job, say).
 */
type OtherApp = { url: string; close(): Promise<void>; dataDir: string; fake: FakeOpenAI };
function startOtherApp(name: string, opts: { customers?: boolean; voice?: boolean } = {}): Promise<OtherApp> {
  let started = otherApps.get(name);
  if (!started) {
    started = (async () => {
      const dir = mkdtempSync(join(tmpdir(), `switchboard-e2e-${name}-`));
      const upstream = await startFakeOpenAI();
      upstream.setDefault(e2eModel);
      const env = { ...appEnv(dir, upstream), ...(opts.customers ? customerEnv : {}), ...(opts.voice ? voiceEnv : {}) };
      const other = await startServer({ port: 0, host: '127.0.0.1', env });
      console.log(`[e2e] ${name} switchboard on ${other.url} (data ${dir}, fake OpenAI on ${upstream.url})`);
      return { url: other.url, close: async () => { await other.close(); await upstream.close(); }, dataDir: dir, fake: upstream };
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
  await Promise.allSettled([fake.close(), telegram.close(), website.close(), stripe.close(), smtp.close()]);
  rmSync(dataDir, { recursive: true, force: true });
  for (const o of others) rmSync(o.dataDir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
