/**
 * Chat overhead: what Switchboard itself adds to a streamed web chat, measured against a
 * zero-delay fake OpenAI server on loopback.
 *
 *   npm run bench                         (= tsx bench/index.ts: this one, then inbound and memory)
 *   npx tsx bench/index.ts chat-overhead  (this one only)
 *
 * Sequential phase (one visitor, one conversation, N chats through POST /api/public/agents/:slug/chat):
 *   a. request sent by the client → the model request arrives at the fake
 *   b. the fake writes its first content token → the client receives the first `delta` event
 *   c. whole request, send → end of the event stream
 * Concurrent phase: 100 visitors chatting at once (a load client in a worker thread), giving
 *   requests per second and latency percentiles; the fake model runs in a process of its own for it
 *   (bench/fake-openai-process.ts), as a real provider would not share Switchboard's event loop.
 * A baseline streams the same reply straight from the fake, to show what the fake and the
 * loopback cost on their own.
 *
 * Server, fake and sequential client share one process and one clock (performance.now()), so
 * the timestamps are comparable. Everything binds 127.0.0.1; every loop is bounded.
 * Environment knobs: BENCH_SEQUENTIAL (default 200), BENCH_CONCURRENCY (100), BENCH_PER_VISITOR (10).
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { startFakeOpenAI, echoReply } from '../test/fakes/openai-server.js';
import { startServer } from '../src/server.js';
import { startFakeOpenAIProcess, type FakeProcess } from './fake-openai-process.js';

const SEQUENTIAL = intEnv('BENCH_SEQUENTIAL', 200, 1, 5000);
const WARMUP = 20;
const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 100, 1, 1000);
const PER_VISITOR = intEnv('BENCH_PER_VISITOR', 10, 1, 100);
/** Hard stop for the concurrent phase: workers start no new chat after this. */
const CONCURRENT_BUDGET_MS = 25_000;
const SLUG = 'bench-echo';
const MESSAGE = 'Tell me something short about switchboards please';
const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return v;
}

// ---------- statistics ----------
type Stats = { n: number; min: number; p50: number; p95: number; p99: number; max: number; mean: number };
function stats(xs: number[]): Stats {
  if (xs.length === 0) return { n: 0, min: NaN, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { n: s.length, min: r(s[0]!), p50: r(q(0.5)), p95: r(q(0.95)), p99: r(q(0.99)), max: r(s[s.length - 1]!), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

// ---------- a tiny HTTP client that timestamps what it receives ----------
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
type Timed = { status: number; headers: http.IncomingHttpHeaders; body: string; sentAt: number; firstDeltaAt: number | null; endAt: number };

function request(port: number, path: string, o: { method?: string; body?: unknown; headers?: Record<string, string>; deltaMarker?: string } = {}): Promise<Timed> {
  const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, path, agent, method: o.method ?? (payload ? 'POST' : 'GET'),
      headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}), ...o.headers },
    }, (res) => {
      let body = '';
      let firstDeltaAt: number | null = null;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const now = performance.now();
        body += chunk;
        if (firstDeltaAt === null && o.deltaMarker && body.includes(o.deltaMarker)) firstDeltaAt = now;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, sentAt, firstDeltaAt, endAt: performance.now() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout on ${path}`)));
    const sentAt = performance.now();
    req.end(payload);
  });
}

// ---------- when the fake writes its first content token ----------
/**
 * Node's ServerResponse.write is wrapped (in this process only) to note, for each response the
 * fake sends, the moment the first SSE frame carrying non-empty `delta.content` is complete.
 */
function watchFakeWrites(fakePort: number, onFirstToken: (at: number) => void): () => void {
  const proto = http.ServerResponse.prototype;
  const original = proto.write;
  const seen = new WeakMap<http.ServerResponse, { buf: string; done: boolean }>();
  proto.write = function patched(this: http.ServerResponse, chunk: unknown, ...rest: unknown[]) {
    const result = (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    if (this.socket?.localPort === fakePort) {
      const st = seen.get(this) ?? { buf: '', done: false };
      seen.set(this, st);
      if (!st.done) {
        st.buf += typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
        const frames = st.buf.split('\n\n').slice(0, -1);
        if (frames.some((f) => /"delta":\{"content":"[^"]/.test(f))) {
          st.done = true;
          onFirstToken(performance.now());
        }
      }
    }
    return result;
  } as typeof proto.write;
  return () => { proto.write = original; };
}

// ---------- the concurrent load client, in its own thread so it does not share the server's event loop ----------
const WORKER_SOURCE = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const { port, slug, concurrency, perVisitor, budgetMs, message } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency + 8 });
const body = JSON.stringify({ text: message });
function chat(cookie) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstDelta = null;
    const req = http.request({ host: '127.0.0.1', port, path: '/api/public/agents/' + slug + '/chat', method: 'POST', agent,
      headers: Object.assign({ 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, cookie ? { cookie } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; if (firstDelta === null && text.includes('event: delta')) firstDelta = performance.now() - started; });
      res.on('end', () => {
        const setCookie = (res.headers['set-cookie'] || []).find((c) => c.startsWith('sb_visitor='));
        resolve({ ok: res.statusCode === 200 && text.includes('event: done'), ms: performance.now() - started, firstDelta, cookie: setCookie ? setCookie.split(';')[0] : cookie });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}
(async () => {
  const totals = [], firsts = [];
  let failed = 0;
  const t0 = performance.now();
  const deadline = t0 + budgetMs;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    let cookie;
    for (let i = 0; i < perVisitor && performance.now() < deadline; i++) {
      try {
        const r = await chat(cookie);
        cookie = r.cookie;
        if (!r.ok) { failed++; continue; }
        totals.push(r.ms);
        if (r.firstDelta !== null) firsts.push(r.firstDelta);
      } catch { failed++; }
    }
  }));
  parentPort.postMessage({ wallMs: performance.now() - t0, totals, firsts, failed });
  agent.destroy();
})();
`;

type ConcurrentResult = { wallMs: number; totals: number[]; firsts: number[]; failed: number };
function runConcurrent(port: number): Promise<ConcurrentResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { port, slug: SLUG, concurrency: CONCURRENCY, perVisitor: PER_VISITOR, budgetMs: CONCURRENT_BUDGET_MS, message: MESSAGE },
    });
    w.once('message', (m: ConcurrentResult) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  });
}

// ---------- run ----------
async function main() {
  const startedAt = new Date();
  const wallStart = performance.now();
  const fake = await startFakeOpenAI();
  let arrivedAt: number | null = null;
  fake.setDefault((req) => { arrivedAt = performance.now(); return echoReply(req); });
  let firstTokenAt: number | null = null;
  const unwatch = watchFakeWrites(fake.port, (at) => { firstTokenAt ??= at; });

  const dataDir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  const secret = randomBytes(32).toString('hex');
  const serverOn = (modelUrl: string) => startServer({
    port: 0, host: '127.0.0.1',
    env: {
      DATA_DIR: dataDir, SWITCHBOARD_LOG_LEVEL: 'silent', SWITCHBOARD_SECRET_KEY: secret,
      OPENAI_API_KEY: 'bench-key', OPENAI_BASE_URL: modelUrl, SWITCHBOARD_DEFAULT_MODEL: 'openai:gpt-4o-mini',
      SWITCHBOARD_MODEL_MAX_RETRIES: '0',
      // Every chat comes from 127.0.0.1: the per-address anonymous limit (30 a minute by default) must not refuse the bench.
      SWITCHBOARD_ANON_PER_MINUTE: '100000',
    },
  });
  let server = await serverOn(fake.url);
  const port = server.port;
  let outside: FakeProcess | undefined;
  try {
    // Owner and a listed agent.
    const setup = await request(port, '/api/setup', { body: { email: 'bench@example.com', password: 'bench-password-123' } });
    if (setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${setup.body}`);
    const token = (JSON.parse(setup.body) as { token: string }).token;
    const created = await request(port, '/api/agents', {
      body: { name: 'Bench echo', slug: SLUG, listed: true, persona: { soul: 'You answer briefly.' } },
      headers: { authorization: `Bearer ${token}` },
    });
    if (created.status !== 201) throw new Error(`agent creation failed: ${created.status} ${created.body}`);

    // Baseline: the fake on its own, streamed straight to the client.
    const baseline: { firstToken: number[]; total: number[] } = { firstToken: [], total: [] };
    for (let i = 0; i < WARMUP + SEQUENTIAL; i++) {
      const r = await request(fake.port, '/v1/chat/completions', {
        body: { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: MESSAGE }] },
        deltaMarker: '"delta":{"content":"E',
      });
      if (r.status !== 200) throw new Error(`baseline request failed: ${r.status}`);
      if (i >= WARMUP) {
        baseline.total.push(r.endAt - r.sentAt);
        if (r.firstDeltaAt !== null) baseline.firstToken.push(r.firstDeltaAt - r.sentAt);
      }
    }

    // Sequential: one visitor, one conversation, through the public streaming route.
    const seq = { toModel: [] as number[], tokenToClient: [] as number[], total: [] as number[], firstDelta: [] as number[] };
    let cookie: string | undefined;
    for (let i = 0; i < WARMUP + SEQUENTIAL; i++) {
      arrivedAt = null;
      firstTokenAt = null;
      const r = await request(port, `/api/public/agents/${SLUG}/chat`, {
        body: { text: MESSAGE }, headers: cookie ? { cookie } : {}, deltaMarker: 'event: delta',
      });
      if (r.status !== 200 || !r.body.includes('event: done')) throw new Error(`chat ${i} failed: ${r.status} ${r.body.slice(0, 300)}`);
      const set = ([] as string[]).concat(r.headers['set-cookie'] ?? []).find((c) => c.startsWith('sb_visitor='));
      if (set) cookie = set.split(';')[0];
      if (i < WARMUP) continue;
      if (arrivedAt === null || firstTokenAt === null || r.firstDeltaAt === null) throw new Error(`chat ${i}: missing timestamps`);
      seq.toModel.push(arrivedAt - r.sentAt);
      seq.tokenToClient.push(r.firstDeltaAt - firstTokenAt);
      seq.firstDelta.push(r.firstDeltaAt - r.sentAt);
      seq.total.push(r.endAt - r.sentAt);
    }
    if (!cookie) throw new Error('the server never set the sb_visitor cookie');

    // Concurrent: 100 visitors at once, against the fake in a process of its own (the server restarted
    // on the same data, pointed at it). Node accepts one new connection per turn of the event loop, so
    // the in-process fake, sharing the saturated loop, took seconds to accept the 100 new model
    // connections: p99 4–6 s, all of it the fake's (docs/architecture.md, "Connections").
    await server.close();
    outside = await startFakeOpenAIProcess();
    server = await serverOn(outside.url);
    // The restarted process loads the AI SDK and compiles its hot paths on its first chats: warm it first.
    for (let i = 0; i < WARMUP; i++) {
      const r = await request(server.port, `/api/public/agents/${SLUG}/chat`, { body: { text: MESSAGE }, deltaMarker: 'event: delta' });
      if (r.status !== 200 || !r.body.includes('event: done')) throw new Error(`warm-up chat ${i} failed: ${r.status} ${r.body.slice(0, 300)}`);
    }
    const conc = await runConcurrent(server.port);
    const completed = conc.totals.length;

    const result = {
      benchmark: 'chat-overhead',
      startedAt: startedAt.toISOString(),
      durationS: Math.round((performance.now() - wallStart) / 100) / 10,
      environment: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', database: 'sqlite (temp dir)' },
      settings: { sequentialChats: SEQUENTIAL, warmupChats: WARMUP, concurrency: CONCURRENCY, chatsPerVisitor: PER_VISITOR, message: MESSAGE, replyWords: echoReply({ messages: [{ role: 'user', content: MESSAGE }] }).split(' ').length },
      unit: 'ms',
      baselineFakeDirect: { firstToken: stats(baseline.firstToken), total: stats(baseline.total) },
      sequential: {
        requestToModel: stats(seq.toModel),
        modelFirstTokenToClient: stats(seq.tokenToClient),
        requestToFirstDelta: stats(seq.firstDelta),
        total: stats(seq.total),
      },
      concurrent: {
        completed, failed: conc.failed, wallMs: Math.round(conc.wallMs),
        requestsPerSecond: Math.round((completed / (conc.wallMs / 1000)) * 10) / 10,
        firstDelta: stats(conc.firsts),
        total: stats(conc.totals),
      },
    };
    print(result);
    mkdirSync(RESULTS_DIR, { recursive: true });
    const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
    const json = JSON.stringify(result, null, 2) + '\n';
    writeFileSync(join(RESULTS_DIR, `chat-overhead-${stamp}.json`), json);
    writeFileSync(join(RESULTS_DIR, 'latest.json'), json);
    console.log(`\nwritten: bench/results/chat-overhead-${stamp}.json and bench/results/latest.json`);
    if (conc.failed > 0) process.exitCode = 1;
  } finally {
    unwatch();
    agent.destroy();
    await server.close();
    await fake.close();
    await outside?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function print(r: {
  environment: Record<string, unknown>; settings: { sequentialChats: number; concurrency: number; chatsPerVisitor: number };
  baselineFakeDirect: { firstToken: Stats; total: Stats };
  sequential: Record<'requestToModel' | 'modelFirstTokenToClient' | 'requestToFirstDelta' | 'total', Stats>;
  concurrent: { completed: number; failed: number; wallMs: number; requestsPerSecond: number; firstDelta: Stats; total: Stats };
}) {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(x >= 1000 ? 0 : 2) : '-').padStart(9);
  const row = (label: string, s: Stats) => `${label.padEnd(48)}${String(s.n).padStart(6)}${f(s.p50)}${f(s.p95)}${f(s.p99)}${f(s.max)}`;
  const head = `${''.padEnd(48)}${'n'.padStart(6)}${['p50', 'p95', 'p99', 'max'].map((h) => h.padStart(9)).join('')}`;
  console.log(`Switchboard chat overhead (ms) — node ${r.environment.node}, ${r.environment.cpus} CPUs, SQLite`);
  console.log(`\nSequential: ${r.settings.sequentialChats} chats, one visitor, POST /api/public/agents/:slug/chat`);
  console.log(head);
  console.log(row('(a) request sent → model request at the fake', r.sequential.requestToModel));
  console.log(row('(b) fake writes 1st token → client gets delta', r.sequential.modelFirstTokenToClient));
  console.log(row('    request sent → first delta at the client', r.sequential.requestToFirstDelta));
  console.log(row('(c) whole request', r.sequential.total));
  console.log(row('    baseline: fake alone, first token', r.baselineFakeDirect.firstToken));
  console.log(row('    baseline: fake alone, whole stream', r.baselineFakeDirect.total));
  console.log(`\n(d) Concurrent: ${r.settings.concurrency} visitors × ${r.settings.chatsPerVisitor} chats (load client in a worker thread, fake model in its own process)`);
  console.log(`    ${r.concurrent.completed} completed, ${r.concurrent.failed} failed in ${r.concurrent.wallMs} ms → ${r.concurrent.requestsPerSecond} chats/s`);
  console.log(head);
  console.log(row('    request sent → first delta', r.concurrent.firstDelta));
  console.log(row('    whole request', r.concurrent.total));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
