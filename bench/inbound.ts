/**
 * Inbound channels: how fast Switchboard acknowledges Telegram and WhatsApp Cloud webhooks, and how
 * many inbound messages per second it answers, against zero-delay fakes on loopback.
 *
 *   npx tsx bench/inbound.ts        (bench/index.ts runs it after chat-overhead)
 *
 * A webhook is verified (secret header / HMAC-SHA256 over the raw bytes), written to the durable
 * inbox, and answered 200; the inbox worker answers afterwards. Phases:
 *   1. Ack latency, worker paused: N sequential signed POSTs per channel, each from a new sender,
 *      with the inbox worker stopped — the ack path on its own. The queued messages are then
 *      discarded (marked done unanswered) so they do not load the next phase.
 *   2. Ack latency, worker answering (as deployed): the same again with the worker running; it falls
 *      behind at once, so the acks share the event loop with a busy worker. Discarded afterwards too.
 *   3. Sustained: M messages alternating Telegram / WhatsApp over S senders (half on each), K
 *      requests in flight. Gives accepted messages/s at the webhooks, then end-to-end answered
 *      messages/s (replies counted as they arrive at the fake Telegram / WhatsApp), the time to
 *      drain after the last ack, and the CPU the whole process spent per message.
 *
 * The server and the fakes (OpenAI, Telegram, WhatsApp) share this process; the load client runs in
 * a worker thread so its work does not sit on the server's event loop. Timestamps are absolute
 * (performance.timeOrigin + performance.now()), so send times in the client thread and reply times
 * at the fakes compare. Everything binds 127.0.0.1; every loop and wait is bounded.
 * Knobs: BENCH_INBOUND_ACK (200 per channel), BENCH_INBOUND_BURST (200) and BENCH_INBOUND_BURST_ROUNDS (3), BENCH_INBOUND_MESSAGES (1000), BENCH_INBOUND_SENDERS (200),
 * BENCH_INBOUND_CONCURRENCY (32), BENCH_INBOUND_WORKERS (the server's inbox worker concurrency, default 8),
 * BENCH_INBOUND_PROFILE=<file> (the sustained phase under the CPU profiler, SQLite only; quickest with
 * BENCH_INBOUND_BURST=10 BENCH_INBOUND_BURST_ROUNDS=1 BENCH_INBOUND_ACK=10).
 * Time: the whole run (SQLite, then PostgreSQL) must end within bench/index.ts's 180 s limit, so it
 * keeps to BENCH_INBOUND_BUDGET_S (165 s): the PostgreSQL run uses smaller phases (BENCH_INBOUND_PG_ACK 50,
 * BENCH_INBOUND_PG_BURST_ROUNDS 1, BENCH_INBOUND_PG_MESSAGES 300; the burst keeps its 200 posts) and
 * every wait is cut to the time left. The sizes each run used are printed with its figures.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Session } from 'node:inspector/promises';
import { startFakeOpenAI } from '../test/fakes/openai-server.js';
import { startFakeTelegram } from '../test/fakes/telegram-server.js';
import { startFakeWhatsApp } from '../test/fakes/whatsapp-server.js';
import pg from 'pg';
import { startServer } from '../src/server.js';
import { intEnv, RESULTS_DIR, stats, statsHead, statsRow, type Stats } from './lib.js';
import { installSqlCounter } from './sql-counter.js';

const ACK_N = intEnv('BENCH_INBOUND_ACK', 200, 10, 5000);
const ACK_WARMUP = 20;
const FLOOD_N = intEnv('BENCH_INBOUND_MESSAGES', 1000, 10, 20_000);
const FLOOD_SENDERS = intEnv('BENCH_INBOUND_SENDERS', 200, 2, 20_000);
const IN_FLIGHT = intEnv('BENCH_INBOUND_CONCURRENCY', 32, 1, 256);
/** Hard stops: a client phase starts no new request after CLIENT_BUDGET_MS; the sustained phase stops waiting for replies after DRAIN_BUDGET_MS. */
const CLIENT_BUDGET_MS = 15_000;
const DRAIN_BUDGET_MS = 45_000;
const TG_TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';
const WA = { token: 'EAAG-bench-token', phoneNumberId: '106540352242922', appSecret: 'bench-app-secret' };
/** SWITCHBOARD_WORKER_CONCURRENCY for the server under test (8 is the server's default). */
const WORKER_CONCURRENCY = intEnv('BENCH_INBOUND_WORKERS', 8, 1, 64);
/** The burst: this many signed posts of one channel at once (200, the issue's figure), repeated BURST_ROUNDS times against each server. */
const BURST_N = intEnv('BENCH_INBOUND_BURST', 200, 10, 1000);
const BURST_ROUNDS = intEnv('BENCH_INBOUND_BURST_ROUNDS', 3, 1, 20);
/** Targets (issue 13.3): burst ack p99 within 1.5x of the bare server; at least 1,000 messages/s end to end on SQLite. */
const ACK_TARGET_RATIO = 1.5;
const E2E_TARGET_PER_SECOND = 1000;
/**
 * PostgreSQL run after the SQLite one (a fresh schema, dropped afterwards): BENCH_INBOUND_DATABASE_URL,
 * else TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test; "none" skips it.
 */
/** BENCH_INBOUND_PROFILE=<file>: the sustained phase on SQLite under V8's CPU profiler (the server's thread), written there; PostgreSQL is skipped (unless BENCH_INBOUND_PROFILE_DB=pg). */
const PROFILE = process.env.BENCH_INBOUND_PROFILE;
/** BENCH_INBOUND_PROFILE_PHASE=burst profiles the burst phase (rounds, discards and the bare server included) instead of the sustained one. */
const PROFILE_BURST = process.env.BENCH_INBOUND_PROFILE_PHASE === 'burst';
/** BENCH_INBOUND_PROFILE_DB=pg profiles the PostgreSQL run instead (the SQLite run is skipped). */
const PROFILE_PG = !!PROFILE && process.env.BENCH_INBOUND_PROFILE_DB === 'pg';
/** BENCH_INBOUND_SQL_TOP=1: the sustained phase also prints (and writes) its statements by count and by time. */
const SQL_TOP = !!process.env.BENCH_INBOUND_SQL_TOP;
/** The whole run's time budget (both databases), under bench/index.ts's 180 s per benchmark. */
const BUDGET_MS = intEnv('BENCH_INBOUND_BUDGET_S', 165, 30, 3600) * 1000;
const processStart = performance.now();
/** Phase sizes of one run. */
type Sizes = { ack: number; burst: number; burstRounds: number; messages: number };
const SQLITE_SIZES: Sizes = { ack: ACK_N, burst: BURST_N, burstRounds: BURST_ROUNDS, messages: FLOOD_N };
const PG_SIZES: Sizes = {
  ack: intEnv('BENCH_INBOUND_PG_ACK', Math.min(ACK_N, 50), 10, 5000), burst: BURST_N,
  burstRounds: intEnv('BENCH_INBOUND_PG_BURST_ROUNDS', Math.min(BURST_ROUNDS, 1), 1, 20), messages: intEnv('BENCH_INBOUND_PG_MESSAGES', Math.min(FLOOD_N, 300), 10, 20_000),
};
/** Below this much time left, the PostgreSQL run is not started (said, not hidden). */
const PG_MIN_MS = 45_000;
const PG_URL = PROFILE && !PROFILE_PG ? 'none' : process.env.BENCH_INBOUND_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
type ChannelName = 'telegram' | 'whatsapp';

const nowAbs = () => performance.timeOrigin + performance.now();
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

// ---------- the load client, in its own thread ----------
// Message i goes to channels[i % channels.length]. Each body is built just before it is sent (a
// Telegram Update with the secret header; a WhatsApp Cloud envelope signed over its exact bytes),
// and the client records send → end of the 200 response.
const CLIENT_SOURCE = `
const http = require('node:http');
const { createHmac } = require('node:crypto');
const { parentPort, workerData: w } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const now = () => performance.timeOrigin + performance.now();
const agent = new http.Agent({ keepAlive: true, maxSockets: w.inFlight });
const k = w.channels.length;
function build(i) {
  const channel = w.channels[i % k];
  const text = w.tag + '-' + i + ' hello from the bench';
  const sender = w.senderBase[channel] + (Math.floor(i / k) % w.sendersPerChannel);
  const date = Math.floor(Date.now() / 1000);
  if (channel === 'telegram') {
    const raw = Buffer.from(JSON.stringify({ update_id: w.updateBase + i, message: {
      message_id: i + 1, date, from: { id: sender, is_bot: false, first_name: 'Bench', language_code: 'en' },
      chat: { id: sender, type: 'private', first_name: 'Bench' }, text } }));
    return { path: w.paths.telegram, raw, headers: { 'x-telegram-bot-api-secret-token': w.secret } };
  }
  const waId = String(sender);
  const raw = Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: {
    messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: w.phoneNumberId },
    contacts: [{ profile: { name: 'Bench' }, wa_id: waId }],
    messages: [{ from: waId, id: 'wamid.' + w.tag + '-' + i, timestamp: String(date), type: 'text', text: { body: text } }] } }] }] }));
  return { path: w.paths.whatsapp, raw, headers: { 'x-hub-signature-256': 'sha256=' + createHmac('sha256', w.appSecret).update(raw).digest('hex') } };
}
const sentAt = new Float64Array(w.count).fill(NaN), ackAt = new Float64Array(w.count).fill(NaN), status = new Int32Array(w.count);
function post(i) {
  const { path, raw, headers } = build(i);
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: w.port, path, method: 'POST', agent,
      headers: Object.assign({ 'content-type': 'application/json', 'content-length': raw.length }, headers) }, (res) => {
      res.resume();
      res.on('end', () => { ackAt[i] = now(); status[i] = res.statusCode || 0; resolve(); });
      res.on('error', () => { status[i] = -1; resolve(); });
    });
    req.on('error', () => { status[i] = -1; resolve(); });
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    sentAt[i] = now();
    req.end(raw);
  });
}
(async () => {
  if (w.warm) {
    // Connections already open, as a reverse proxy's pool sends a burst: one GET each, all at once, then reused.
    await Promise.all(Array.from({ length: w.inFlight }, () => new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: w.port, path: '/health', method: 'GET', agent }, (res) => { res.resume(); res.on('end', resolve); res.on('error', resolve); });
      req.on('error', resolve);
      req.end();
    })));
  }
  const t0 = now();
  const deadline = performance.now() + w.budgetMs;
  let next = 0;
  await Promise.all(Array.from({ length: w.inFlight }, async () => {
    while (next < w.count && performance.now() < deadline) await post(next++);
  }));
  parentPort.postMessage({ t0, t1: now(), sentAt, ackAt, status });
  agent.destroy();
})();
`;

type ClientJob = {
  port: number; channels: ChannelName[]; paths: Record<ChannelName, string>; tag: string; count: number; sendersPerChannel: number;
  senderBase: Record<ChannelName, number>; inFlight: number; updateBase: number; secret: string; appSecret: string; phoneNumberId: string; budgetMs: number;
  /** Open inFlight connections (a GET each) before the timed posts, so these reuse them. */
  warm?: boolean;
};
type ClientResult = { t0: number; t1: number; sentAt: Float64Array; ackAt: Float64Array; status: Int32Array };

function runClient(job: ClientJob): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(CLIENT_SOURCE, { eval: true, workerData: job });
    w.once('message', (m: ClientResult) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  });
}

// ---------- counting replies at the fakes ----------
/** Each reply is "Echo: <tag>-<i> …"; the fakes' `sent` arrays are tapped so a reply is timed as it is recorded. */
type Tracker = { replyAt: Float64Array; expected: number; got: number; duplicates: number; done?: () => void };
const trackers = new Map<string, Tracker>();
function tapSent(arr: { text?: string }[]) {
  const push = arr.push.bind(arr);
  arr.push = (...items: { text?: string }[]) => {
    const at = nowAbs();
    for (const it of items) {
      const m = /^Echo: (\w+)-(\d+) /.exec(it.text ?? '');
      const t = m && trackers.get(m[1]!);
      if (!t) continue;
      const i = Number(m[2]);
      if (!Number.isNaN(t.replyAt[i]!)) { t.duplicates++; continue; }
      t.replyAt[i] = at;
      if (++t.got === t.expected) t.done?.();
    }
    return push(...items);
  };
}
function waitAnswered(t: Tracker, budgetMs: number): Promise<boolean> {
  if (t.got >= t.expected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), budgetMs);
    t.done = () => { clearTimeout(timer); resolve(true); };
  });
}

// ---------- what the server's thread went through, per phase ----------
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
function meter() {
  loopDelay.reset();
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const t = performance.now();
  return () => {
    const ms = (ns: number) => round(ns / 1e6, 2);
    const c = process.cpuUsage(cpu);
    return {
      eventLoopDelay: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
      /** Share of the phase the server's event loop was busy (1 = saturated). */
      eventLoopUtilization: round(performance.eventLoopUtilization(elu).utilization, 3),
      /** User+system CPU of the whole process (all threads: server, fakes, load client) over wall time. */
      processCpuMs: Math.round((c.user + c.system) / 1000), wallMs: Math.round(performance.now() - t),
    };
  };
}
type Meter = ReturnType<ReturnType<typeof meter>>;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function pgQuery(url: string, q: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { await c.query(q); } finally { await c.end(); }
}

async function api(port: number, path: string, o: { method?: string; body?: unknown; token?: string } = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: o.method ?? (o.body === undefined ? 'GET' : 'POST'),
    headers: { ...(o.body === undefined ? {} : { 'content-type': 'application/json' }), ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
  });
  const text = await res.text();
  let body: any = text;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, body };
}

/**
 * The floor: a bare node:http server that reads each post to its end and answers 200 `{}` — what
 * any webhook receiver has to do at least. It shares the server's thread and is measured from the
 * same client in the same run, so the ratio holds on a noisy machine.
 */
async function startBareServer(): Promise<{ port: number; server: HttpServer }> {
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
      res.end('{}');
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

// ---------- run ----------
export type InboundResult = Awaited<ReturnType<typeof runInbound>>;

export async function runInbound(o: { databaseUrl?: string; sizes?: Sizes; deadline?: number } = {}) {
  const { ack: ACK_N, burst: BURST_N, burstRounds: BURST_ROUNDS, messages: FLOOD_N } = o.sizes ?? SQLITE_SIZES;
  /** A wait of up to `ms`, cut to what is left of the run's budget (keeping 5 s to close and report). */
  const deadline = o.deadline ?? Infinity;
  const within = (ms: number) => Math.max(1000, Math.min(ms, deadline - performance.now() - 5000));
  const startedAt = new Date();
  const wallStart = performance.now();
  const loadAtStart = loadavg().map((x) => round(x, 2));
  const openai = await startFakeOpenAI(); // default reply: "Echo: <last user message>", no delay
  const tg = await startFakeTelegram({ bots: [{ token: TG_TOKEN, username: 'BenchBot' }] });
  // The client signs its own Cloud payloads, so the fake never sees them come in: do not enforce the 24 h window.
  const wa = await startFakeWhatsApp({ ...WA, enforceWindow: false });
  tapSent(tg.sent);
  tapSent(wa.sent);
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-bench-inbound-'));
  const pgSchema = o.databaseUrl ? `bench_inbound_${randomBytes(4).toString('hex')}` : undefined;
  if (o.databaseUrl) await pgQuery(o.databaseUrl, `create schema ${pgSchema}`);
  const bare = await startBareServer();
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const server = await startServer({
    port, host: '127.0.0.1',
    env: {
      PUBLIC_URL: publicUrl, DATA_DIR: dataDir, SWITCHBOARD_LOG_LEVEL: 'silent', SWITCHBOARD_SECRET_KEY: randomBytes(32).toString('hex'),
      OPENAI_API_KEY: 'bench-key', OPENAI_BASE_URL: openai.url, SWITCHBOARD_DEFAULT_MODEL: 'openai:gpt-4o-mini', SWITCHBOARD_MODEL_MAX_RETRIES: '0',
      SWITCHBOARD_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
      ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl, SWITCHBOARD_DATABASE_SCHEMA: pgSchema! } : {}),
      TELEGRAM_API_ROOT: tg.apiRoot,
      WHATSAPP_TOKEN: WA.token, WHATSAPP_PHONE_NUMBER_ID: WA.phoneNumberId, WHATSAPP_APP_SECRET: WA.appSecret, WHATSAPP_GRAPH_URL: wa.graphUrl,
    },
  });
  const { inbox, store } = server.services;
  const iso = () => new Date().toISOString();
  try {
    // Owner, one listed agent (so WhatsApp routes straight to it), its Telegram bot in webhook mode.
    const setup = await api(port, '/api/setup', { body: { email: 'bench@example.com', password: 'bench-password-123' } });
    if (setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${JSON.stringify(setup.body)}`);
    const token = setup.body.token as string;
    const created = await api(port, '/api/agents', { token, body: { name: 'Bench echo', slug: 'bench-inbound', listed: true, persona: { soul: 'You answer briefly.' } } });
    if (created.status !== 201) throw new Error(`agent creation failed: ${created.status} ${JSON.stringify(created.body)}`);
    const agentId = created.body.id as string;
    const linked = await api(port, `/api/agents/${agentId}`, { method: 'PATCH', token, body: { telegramBotToken: TG_TOKEN } });
    if (linked.status !== 200 || linked.body.channels?.telegram?.mode !== 'webhook') throw new Error(`telegram connect failed: ${linked.status} ${JSON.stringify(linked.body)}`);
    const hook = tg.bots.get(TG_TOKEN)?.webhook;
    if (!hook?.secret || hook.url !== `${publicUrl}/webhooks/telegram/${agentId}`) throw new Error(`unexpected webhook registration: ${JSON.stringify(hook)}`);

    let phase = 0;
    const job = (channels: ChannelName[], count: number, sendersPerChannel: number, inFlight: number, at = port): ClientJob => {
      phase++;
      return {
        port: at, channels, count, sendersPerChannel, inFlight, budgetMs: within(CLIENT_BUDGET_MS), tag: `p${phase}`,
        paths: { telegram: `/webhooks/telegram/${agentId}`, whatsapp: '/webhooks/whatsapp' },
        senderBase: { telegram: 800_000_000 + phase * 100_000, whatsapp: 5511_900_000_000 + phase * 100_000 }, updateBase: phase * 1_000_000,
        secret: hook.secret!, appSecret: WA.appSecret, phoneNumberId: WA.phoneNumberId,
      };
    };
    /** Ack times of the 200s among messages [from, count) that went to channel `c` of `k`. */
    const acks = (r: ClientResult, c = 0, k = 1, from = 0) => {
      const xs: number[] = [];
      for (let i = from; i < r.sentAt.length; i++) if (i % k === c && r.status[i] === 200) xs.push(r.ackAt[i]! - r.sentAt[i]!);
      return xs;
    };
    const sentCount = (r: ClientResult) => Array.from(r.sentAt).filter(Number.isFinite).length;
    const refused = (r: ClientResult) => Array.from(r.status).filter((s, i) => Number.isFinite(r.sentAt[i]!) && s !== 200).length;

    /** Stops the worker and marks everything still queued as done, unanswered (bounded). */
    async function discardQueued(): Promise<number> {
      await inbox.stop();
      let n = 0;
      // Claimed 500 at a time (one query, every message of a burst is its own conversation), so
      // discarding costs little of the run's time and of a profile of the burst phase.
      for (let i = 0; i < 200; i++) {
        const items = await store.inbox.claimMany(iso(), new Date(Date.now() + 60_000).toISOString(), undefined, 500);
        if (!items.length) break;
        for (const item of items) await store.inbox.finish(item.id, 'done', iso());
        n += items.length;
      }
      return n;
    }

    // Sequential acks per channel: warm-up plus N messages, every one from a new sender.
    async function ackPhase(label: string) {
      const m = meter();
      const out = {} as Record<ChannelName, { ack: Stats; sent: number; refused: number }>;
      for (const channel of ['telegram', 'whatsapp'] as const) {
        const r = await runClient(job([channel], ACK_WARMUP + ACK_N, ACK_WARMUP + ACK_N, 1));
        out[channel] = { ack: stats(acks(r, 0, 1, ACK_WARMUP)), sent: sentCount(r), refused: refused(r) };
      }
      const measured = m();
      const answeredMeanwhile = tg.sent.length + wa.sent.length;
      const discarded = await discardQueued();
      return { label, ...out, ...measured, answeredMeanwhile, discardedAfter: discarded };
    }

    /** Waits (bounded) until the worker has answered everything queued, so each burst meets a quiet server. */
    async function settled(budgetMs = 30_000) {
      const until = performance.now() + within(budgetMs);
      while (performance.now() < until) {
        const c = await store.inbox.counts();
        if (!c.queued && !c.processing) return true;
        await new Promise((res) => setTimeout(res, 50));
      }
      return false;
    }

    // 0. The burst (issue 13.3): BURST_N signed posts at once per channel, as deployed (worker running),
    //    against Switchboard and against the bare server, rounds interleaved; p99 pooled over the rounds.
    //    Each round starts with the worker running and idle and the inbox empty.
    inbox.start();
    type BurstFigures = { switchboard: Stats; bare: Stats; ratioP99: number; ratioP50: number; refused: number; settledBetween: boolean };
    const burst = {} as Record<ChannelName, BurstFigures & { openConnections: BurstFigures }>;
    const burstMeter = meter();
    const burstProfiler = PROFILE && PROFILE_BURST && !!o.databaseUrl === PROFILE_PG ? new Session() : undefined;
    if (burstProfiler) {
      burstProfiler.connect();
      await burstProfiler.post('Profiler.enable');
      await burstProfiler.post('Profiler.setSamplingInterval', { interval: 100 });
      await burstProfiler.post('Profiler.start');
    }
    for (const channel of ['whatsapp', 'telegram'] as const) {
      await runClient(job([channel], 20, 20, 20, bare.port)); // warm both paths up
      await runClient(job([channel], 20, 20, 20));
      const figures = {} as Record<'cold' | 'warm', BurstFigures>;
      // Cold: every post on a new connection (the issue's figure). Warm: the same posts over connections
      // opened just before, as a reverse proxy's pool would send them — Node accepts one new connection
      // per turn of its event loop, so the cold burst also measures how long Switchboard's turns are.
      for (const kind of ['cold', 'warm'] as const) {
        const sb: number[] = [];
        const floor: number[] = [];
        let refusedBurst = 0;
        const quiet = await settled();
        for (let round = 0; round < BURST_ROUNDS; round++) {
          const b = await runClient({ ...job([channel], BURST_N, BURST_N, BURST_N, bare.port), warm: kind === 'warm' });
          floor.push(...acks(b));
          const r = await runClient({ ...job([channel], BURST_N, BURST_N, BURST_N), warm: kind === 'warm' });
          sb.push(...acks(r));
          refusedBurst += refused(r);
          // The next round meets a quiet server again: what this burst queued is discarded (worker stopped,
          // queue marked done unanswered, worker started), not answered — answering 200 messages per round
          // only took time (the sustained phase measures answering), and kept the run past its time limit.
          await discardQueued();
          inbox.start();
        }
        const x = stats(sb);
        const f = stats(floor);
        figures[kind] = { switchboard: x, bare: f, ratioP99: round(x.p99 / f.p99, 2), ratioP50: round(x.p50 / f.p50, 2), refused: refusedBurst, settledBetween: quiet };
      }
      burst[channel] = { ...figures.cold, openConnections: figures.warm };
    }
    const burstMeasured = burstMeter();
    if (burstProfiler) {
      const { profile } = await burstProfiler.post('Profiler.stop');
      writeFileSync(PROFILE!, JSON.stringify(profile));
      burstProfiler.disconnect();
      console.log(`burst profiled: written to ${PROFILE}`);
    }

    // 1. The ack path alone.
    await inbox.stop();
    const sentBefore = () => tg.sent.length + wa.sent.length;
    const paused = await ackPhase('worker paused');
    // 2. Acks while the worker answers.
    const base = sentBefore();
    inbox.start();
    const answering = await ackPhase('worker answering');
    answering.answeredMeanwhile -= base;

    // 3. Sustained: alternating channels, half the senders on each.
    inbox.start();
    const sustained = await (async () => {
      const perChannel = Math.max(1, Math.floor(FLOOD_SENDERS / 2));
      const j = job(['telegram', 'whatsapp'], FLOOD_N, perChannel, IN_FLIGHT);
      const t: Tracker = { replyAt: new Float64Array(j.count).fill(NaN), expected: 0, got: 0, duplicates: 0 };
      trackers.set(j.tag, t);
      // SQLite only: every statement the process runs while these messages are accepted and answered.
      // Which statements and how long each took only with BENCH_INBOUND_SQL_TOP: timing and keying every
      // statement took ~3 % of the sustained phase's CPU (its profile), counted in the figure.
      const counter = o.databaseUrl ? undefined : installSqlCounter({ texts: SQL_TOP });
      const profiler = PROFILE && !PROFILE_BURST && !!o.databaseUrl === PROFILE_PG ? new Session() : undefined;
      if (profiler) {
        profiler.connect();
        await profiler.post('Profiler.enable');
        await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
        await profiler.post('Profiler.start');
      }
      const m = meter();
      const r = await runClient(j);
      const accepted = Array.from(r.status).filter((s) => s === 200).length;
      t.expected = accepted; // only accepted messages can be answered
      const lastAck = Math.max(...Array.from(r.ackAt).filter(Number.isFinite));
      const complete = await waitAnswered(t, within(DRAIN_BUDGET_MS));
      const answeredAts = Array.from(t.replyAt).filter(Number.isFinite);
      const last = complete ? Math.max(...answeredAts) : nowAbs();
      const measured = m();
      if (profiler) {
        const { profile } = await profiler.post('Profiler.stop');
        writeFileSync(PROFILE!, JSON.stringify(profile));
        profiler.disconnect();
        console.log(`sustained phase profiled: written to ${PROFILE} (\`tsx bench/proxy.ts --top ${PROFILE}\` prints its top entries)`);
      }
      const sqlCount = counter?.count;
      const sqlTop = SQL_TOP ? counter?.byText().slice(0, 25) : undefined;
      const sqlTime = SQL_TOP ? counter?.byTime().slice(0, 15) : undefined;
      counter?.uninstall();
      const toReply = (c: number) => {
        const xs: number[] = [];
        for (let i = c; i < j.count; i += 2) if (Number.isFinite(t.replyAt[i]!)) xs.push(t.replyAt[i]! - r.sentAt[i]!);
        return xs;
      };
      const acceptMs = lastAck - r.t0;
      const e2eMs = last - r.t0;
      return {
        messages: j.count, senders: perChannel * 2, inFlight: IN_FLIGHT, sent: sentCount(r), accepted, refused: refused(r),
        acceptWallMs: Math.round(acceptMs), acceptedPerSecond: round(accepted / (acceptMs / 1000)),
        answered: answeredAts.length, duplicates: t.duplicates, complete,
        endToEndWallMs: Math.round(e2eMs), answeredPerSecond: round(answeredAts.length / (e2eMs / 1000)),
        drainAfterLastAckMs: Math.round(last - lastAck),
        cpuMsPerMessage: round(measured.processCpuMs / Math.max(1, answeredAts.length), 2),
        sqlStatementsPerMessage: sqlCount === undefined ? null : round(sqlCount / Math.max(1, answeredAts.length), 1),
        sqlTop: sqlTop?.map(([text, n]) => ({ perMessage: round(n / Math.max(1, answeredAts.length), 2), text })) ?? null,
        /** The statement shapes that took longest to execute, in ms per message. */
        sqlTime: sqlTime?.map(([text, ms]) => ({ msPerMessage: round(ms / Math.max(1, answeredAts.length), 3), text })) ?? null,
        ack: { telegram: stats(acks(r, 0, 2)), whatsapp: stats(acks(r, 1, 2)) },
        webhookToReply: { telegram: stats(toReply(0)), whatsapp: stats(toReply(1)) },
        ...measured,
      };
    })();

    // Let the last few items finish their bookkeeping (bounded), then read the inbox.
    for (let i = 0; i < 100; i++) {
      const c = await store.inbox.counts();
      if (!c.queued && !c.processing) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const inboxAtEnd = await store.inbox.counts();
    return {
      benchmark: 'inbound',
      startedAt: startedAt.toISOString(),
      durationS: round((performance.now() - wallStart) / 1000),
      environment: {
        node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown',
        loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg().map((x) => round(x, 2)), database: o.databaseUrl ? 'postgresql (fresh schema)' : 'sqlite (temp dir)', inboxWorkers: WORKER_CONCURRENCY,
      },
      settings: { ackMessagesPerChannel: ACK_N, ackWarmup: ACK_WARMUP, sustainedMessages: FLOOD_N, sustainedSenders: FLOOD_SENDERS, sustainedInFlight: IN_FLIGHT, model: 'fake OpenAI, zero delay, echo' },
      unit: 'ms',
      burst: { posts: BURST_N, rounds: BURST_ROUNDS, targetRatioP99: ACK_TARGET_RATIO, ...burst, ...burstMeasured },
      ackLatency: { workerPaused: paused, workerAnswering: answering },
      sustained: { ...sustained, targetPerSecond: E2E_TARGET_PER_SECOND },
      inboxAtEnd,
    };
  } finally {
    await server.close();
    await Promise.all([openai.close(), tg.close(), wa.close(), new Promise((r) => bare.server.close(r))]);
    bare.server.closeAllConnections();
    rmSync(dataDir, { recursive: true, force: true });
    if (o.databaseUrl) {
      await pgQuery(o.databaseUrl, `drop schema if exists ${pgSchema} cascade`);
      await pgQuery(o.databaseUrl, `drop schema if exists ${pgSchema}_jobs cascade`);
    }
  }
}

export function printInbound(r: InboundResult) {
  const { ackLatency: a, sustained: s } = r;
  const verdict = (x: Stats) => (x.n === 0 ? '' : x.p99 < 50 ? 'ok' : 'OVER');
  const busy = (m: Meter) => `event loop busy ${Math.round(m.eventLoopUtilization * 100)}%, delay p50 ${m.eventLoopDelay.p50} / p99 ${m.eventLoopDelay.p99} / max ${m.eventLoopDelay.max} ms; process CPU ${m.processCpuMs} ms in ${m.wallMs} ms`;
  console.log(`Switchboard inbound webhooks (ms) — node ${r.environment.node}, ${r.environment.cpus} CPUs, ${r.environment.database}, ${r.environment.inboxWorkers} inbox workers, load average ${r.environment.loadAverageAtStart.join(' ')}`);
  const b = r.burst;
  console.log(`\n(0) Burst: ${b.posts} signed posts at once per channel, ${b.rounds} rounds, worker running; reference: a bare node:http server answering the same posts from the same client`);
  console.log(`${statsHead()}`);
  for (const c of ['whatsapp', 'telegram'] as const) {
    for (const [x, open] of [[b[c], false], [b[c].openConnections, true]] as const) {
      if (!x) continue;
      const name = open ? `${c === 'whatsapp' ? 'WhatsApp' : 'Telegram'}, open connections` : c === 'whatsapp' ? 'WhatsApp Cloud' : 'Telegram';
      console.log(statsRow(`    ${name}: Switchboard`, x.switchboard));
      console.log(statsRow(`    ${name}: bare node:http${open ? '' : ' (reference)'}`, x.bare));
      console.log(`    ${name}: figure p99 ${x.switchboard.p99} ms, reference ${x.bare.p99} ms, ratio ${x.ratioP99} (p50 ratio ${x.ratioP50}), target ≤ ${b.targetRatioP99} → ${x.ratioP99 <= b.targetRatioP99 ? 'MET' : 'NOT MET'}${x.refused ? `; !! ${x.refused} not answered 200` : ''}${x.settledBetween ? '' : '; (inbox not drained between rounds)'}`);
    }
  }
  console.log('    (each post on a new connection is the figure; "open connections" sends the same posts over connections opened just before, as a reverse proxy\'s pool does)');
  console.log(`    ${busy(b)}`);
  console.log(`\n(1) Webhook ack, send → 200: ${r.settings.ackMessagesPerChannel} sequential messages per channel (after ${r.settings.ackWarmup} warm-up), each from a new sender`);
  console.log(`${statsHead()}  p99<50`);
  const row = (label: string, x: Stats) => console.log(`${statsRow(label, x)}  ${verdict(x)}`);
  row('    Telegram, worker paused (ack path alone)', a.workerPaused.telegram.ack);
  row('    WhatsApp Cloud, worker paused', a.workerPaused.whatsapp.ack);
  row('    Telegram, worker answering meanwhile', a.workerAnswering.telegram.ack);
  row('    WhatsApp Cloud, worker answering meanwhile', a.workerAnswering.whatsapp.ack);
  console.log(`    paused:    ${busy(a.workerPaused)}`);
  console.log(`    answering: ${busy(a.workerAnswering)}; ${a.workerAnswering.answeredMeanwhile} answered meanwhile, ${a.workerAnswering.discardedAfter} left unanswered and discarded`);
  const refusedAck = a.workerPaused.telegram.refused + a.workerPaused.whatsapp.refused + a.workerAnswering.telegram.refused + a.workerAnswering.whatsapp.refused;
  if (refusedAck) console.log(`    !! ${refusedAck} webhook(s) not answered 200`);
  console.log(`\n(2) Sustained: ${s.messages} messages alternating Telegram / WhatsApp over ${s.senders} senders, ${s.inFlight} in flight`);
  console.log(`    accepted ${s.accepted}/${s.messages} in ${s.acceptWallMs} ms → ${s.acceptedPerSecond} msg/s at the webhooks${s.refused ? ` (${s.refused} refused)` : ''}`);
  console.log(`    answered ${s.answered} in ${s.endToEndWallMs} ms → figure ${s.answeredPerSecond} msg/s end to end, target ≥ ${s.targetPerSecond} → ${s.answeredPerSecond >= s.targetPerSecond ? 'MET' : 'NOT MET'}; drained ${s.drainAfterLastAckMs} ms after the last ack${s.duplicates ? `; ${s.duplicates} duplicate replies` : ''}${s.complete ? '' : ' (INCOMPLETE)'}`);
  console.log(`    ${busy(s)} → ${s.cpuMsPerMessage} CPU ms per message`);
  if (s.sqlStatementsPerMessage !== null) {
    console.log(`    SQL statements per message, accepted to sent (BEGIN/COMMIT and idle polling included): ${s.sqlStatementsPerMessage}`);
    if (SQL_TOP) {
      for (const t of s.sqlTop ?? []) console.log(`      ${t.perMessage.toFixed(2).padStart(6)}  ${t.text}`);
      console.log('    SQL execution time per message (ms), longest first:');
      for (const t of s.sqlTime ?? []) console.log(`      ${t.msPerMessage.toFixed(3).padStart(7)}  ${t.text}`);
    }
  }
  console.log(statsHead());
  console.log(statsRow('    Telegram: ack under load', s.ack.telegram));
  console.log(statsRow('    WhatsApp: ack under load', s.ack.whatsapp));
  console.log(statsRow('    Telegram: webhook sent → reply at the fake', s.webhookToReply.telegram));
  console.log(statsRow('    WhatsApp: webhook sent → reply at the fake', s.webhookToReply.whatsapp));
  console.log(`\ninbox at the end: ${JSON.stringify(r.inboxAtEnd)}; took ${r.durationS} s`);
}

/** Writes inbound-<timestamp>.json and latest-inbound.json; returns the timestamped file name. */
export function writeInbound(r: InboundResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const db = r.environment.database.startsWith('postgresql') ? '-pg' : '';
  const name = `inbound${db}-${r.startedAt.replace(/[:.]/g, '-')}.json`;
  const json = JSON.stringify(r, null, 2) + '\n';
  writeFileSync(join(RESULTS_DIR, name), json);
  writeFileSync(join(RESULTS_DIR, `latest-inbound${db}.json`), json);
  return name;
}

/** True when every webhook got its 200 and every sustained message was answered exactly once. */
export function inboundOk(r: InboundResult): boolean {
  const { ackLatency: a, sustained: s, burst: b } = r;
  return b.whatsapp.refused === 0 && b.telegram.refused === 0 && [a.workerPaused.telegram, a.workerPaused.whatsapp, a.workerAnswering.telegram, a.workerAnswering.whatsapp].every((x) => x.refused === 0)
    && s.complete && s.refused === 0 && s.duplicates === 0 && s.answered === s.messages;
}

if (process.argv[1] && (fileURLToPath(import.meta.url) === process.argv[1] || process.argv[1].endsWith('bench/inbound.ts'))) {
  (async () => {
    const end = processStart + BUDGET_MS;
    if (PROFILE_PG) {
      const p = await runInbound({ databaseUrl: PG_URL, sizes: PG_SIZES, deadline: end });
      printInbound(p);
      return;
    }
    // SQLite first, leaving the PostgreSQL run its minimum; then PostgreSQL in what is left.
    const r = await runInbound({ sizes: SQLITE_SIZES, deadline: PG_URL === 'none' ? end : end - PG_MIN_MS });
    printInbound(r);
    console.log(`written: bench/results/${writeInbound(r)} and bench/results/latest-inbound.json`);
    if (!inboundOk(r)) process.exitCode = 1;
    if (PG_URL === 'none') return;
    const left = end - performance.now();
    if (left < PG_MIN_MS) {
      console.log(`\nPostgreSQL run not started: ${Math.round(left / 1000)} s left of the ${BUDGET_MS / 1000} s budget (BENCH_INBOUND_BUDGET_S), ${PG_MIN_MS / 1000} s needed.`);
      process.exitCode = 1;
      return;
    }
    const z = PG_SIZES;
    console.log(`\n${'─'.repeat(60)}\nThe same on PostgreSQL (${PG_URL.replace(/\/\/[^@/]*@/, '//…@')}), smaller phases to end within the time limit: ${z.ack} sequential acks per channel, burst ${z.burst} × ${z.burstRounds} round(s), ${z.messages} sustained messages; ${Math.round(left / 1000)} s left\n`);
    let p: InboundResult;
    try {
      p = await runInbound({ databaseUrl: PG_URL, sizes: PG_SIZES, deadline: end });
    } catch (err) {
      console.log(`PostgreSQL run skipped: ${(err as Error).message}`);
      return;
    }
    printInbound(p);
    console.log(`written: bench/results/${writeInbound(p)} and bench/results/latest-inbound-pg.json`);
    if (!inboundOk(p)) process.exitCode = 1;
  })().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
