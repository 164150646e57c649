/**
 * The proxy path: what Switchboard adds to a model call, against a bare forwarding proxy (plain
 * node:http, piping request and response) in front of the same zero-delay fake OpenAI server.
 * The floor proxy is what any proxy costs (one more hop over loopback, one more HTTP parse); the
 * ratio Switchboard / floor is what Switchboard's own work costs on top.
 *
 *   npx tsx bench/index.ts proxy          (through the runner)
 *   npx tsx bench/proxy.ts                (directly)
 *   BENCH_PROXY_PROFILE=/tmp/v1.cpuprofile npx tsx bench/proxy.ts
 *                                         (only 1,000 non-streaming /v1 calls after the warm-up, under V8's
 *                                         CPU profiler — what `node --cpu-prof` runs, but started after
 *                                         start-up so module loading stays out — written to that file)
 *   BENCH_PROXY_PROFILE_KIND=webchat BENCH_PROXY_PROFILE=/tmp/chat.cpuprofile npx tsx bench/proxy.ts  (=stream: streamed /v1 calls)
 *                                         (the same for 1,000 messages to the public web chat, each from a new visitor)
 *   npx tsx bench/proxy.ts --top /tmp/v1.cpuprofile   (the profile's top 15 by self time)
 *   BENCH_PROXY_SQL_ONLY=1 npx tsx bench/proxy.ts      (only the SQL statements per /v1 call, by shape;
 *                                         with BENCH_PROXY_PROFILE_KIND=webchat per web chat message)
 *
 * Measured, each call alternating Switchboard / floor so that noise hits both alike:
 *   1. non-streaming POST /v1/chat/completions: whole request, p50/p99 and the ratio to the floor
 *      (targets: p50 ≤ 1.15×, p99 ≤ 1.5×);
 *   2. streamed POST /v1/chat/completions: time to the first content token at the client;
 *   3. the web chat stream POST /api/public/agents/:slug/chat: time to the first `delta` event;
 *   both against the floor proxy streaming the same reply.
 * Client, servers and fake share one process (like chat-overhead.ts). Environment knobs:
 * BENCH_PROXY_N (calls per kind, default 300), BENCH_PROXY_WARMUP (30).
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { startFakeOpenAI, echoReply } from '../test/fakes/openai-server.js';
import { startServer } from '../src/server.js';
import { RESULTS_DIR, intEnv, stats, statsHead, statsRow, type Stats } from './lib.js';
import { installSqlCounter } from './sql-counter.js';

const PROFILE = process.env.BENCH_PROXY_PROFILE;
const N = PROFILE ? 1000 : intEnv('BENCH_PROXY_N', 300, 1, 20_000);
const WARMUP = intEnv('BENCH_PROXY_WARMUP', 30, 0, 1000);
const SLUG = 'bench-proxy';
const MESSAGE = 'Tell me something short about switchboards please';
const TARGET = { p50: 1.15, p99: 1.5 };

// ---------- the floor: a bare forwarding proxy ----------
function startFloorProxy(upstreamPort: number): Promise<{ port: number; close: () => Promise<void> }> {
  const upstream = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const server = http.createServer((req, res) => {
    const out = http.request({ host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, headers: req.headers, agent: upstream }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
    req.pipe(out);
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((r) => { upstream.destroy(); server.closeAllConnections(); server.close(() => r()); }),
  })));
}

// ---------- a client that timestamps the first token ----------
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
type Timed = { status: number; headers: http.IncomingHttpHeaders; body: string; first: number | null; total: number };
function call(port: number, path: string, body: unknown, headers: Record<string, string>, marker?: string): Promise<Timed> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const sentAt = performance.now();
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers } }, (res) => {
      let text = '';
      let first: number | null = null;
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; if (first === null && marker && text.includes(marker)) first = performance.now() - sentAt; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, first, total: performance.now() - sentAt }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout on ${path}`)));
    req.end(payload);
  });
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
type Pair = { switchboard: Stats; floor: Stats; ratioP50: number; ratioP99: number };
const pair = (sb: number[], fl: number[]): Pair => {
  const s = stats(sb), f = stats(fl);
  return { switchboard: s, floor: f, ratioP50: ratio(s.p50, f.p50), ratioP99: ratio(s.p99, f.p99) };
};

async function main() {
  const startedAt = new Date();
  const t0 = performance.now();
  const fake = await startFakeOpenAI();
  fake.setDefault((req) => echoReply(req));
  const floor = await startFloorProxy(fake.port);
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-bench-proxy-'));
  const server = await startServer({
    port: 0, host: '127.0.0.1',
    env: {
      DATA_DIR: dataDir, SWITCHBOARD_LOG_LEVEL: 'silent', SWITCHBOARD_SECRET_KEY: randomBytes(32).toString('hex'),
      OPENAI_API_KEY: 'bench-key', OPENAI_BASE_URL: fake.url, SWITCHBOARD_DEFAULT_MODEL: 'openai:gpt-4o-mini',
      SWITCHBOARD_MODEL_MAX_RETRIES: '0', SWITCHBOARD_ANON_PER_MINUTE: '100000',
    },
  });
  const sbPort = server.port;
  try {
    const setup = await call(sbPort, '/api/setup', { email: 'bench@example.com', password: 'bench-password-123' }, {});
    if (setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${setup.body}`);
    const token = (JSON.parse(setup.body) as { token: string }).token;
    const created = await call(sbPort, '/api/agents', { name: 'Bench proxy', slug: SLUG, listed: true, persona: { soul: 'You answer briefly.' } }, { authorization: `Bearer ${token}` });
    if (created.status !== 201) throw new Error(`agent creation failed: ${created.status} ${created.body}`);
    const keyRes = await call(sbPort, '/api/keys', { name: 'bench' }, { authorization: `Bearer ${token}` });
    if (keyRes.status !== 201) throw new Error(`key creation failed: ${keyRes.status} ${keyRes.body}`);
    const auth = { authorization: `Bearer ${(JSON.parse(keyRes.body) as { key: string }).key}` };
    const upstreamAuth = { authorization: 'Bearer bench-key' };
    const messages = [{ role: 'user', content: MESSAGE }];
    // The floor sends what Switchboard sends upstream: the agent's prompt as the system message.
    const floorMessages = [{ role: 'system', content: 'You are Bench proxy.\n\nYou answer briefly.' }, ...messages];
    const CONTENT = '"content":"Echo';

    const sbPlain = () => call(sbPort, '/v1/chat/completions', { model: SLUG, messages }, auth);
    if (process.env.BENCH_PROXY_SQL_ONLY) {
      // Only the statement count (quick, for working on the hot path): 50 calls after the warm-up.
      // BENCH_PROXY_PROFILE_KIND=webchat counts a web chat message from a new visitor instead.
      const webchat = process.env.BENCH_PROXY_PROFILE_KIND === 'webchat';
      const one = webchat ? () => call(sbPort, `/api/public/agents/${SLUG}/chat`, { text: MESSAGE }, {}) : sbPlain;
      for (let i = 0; i < WARMUP; i++) await one();
      const counter = installSqlCounter({ texts: true });
      for (let i = 0; i < 50; i++) { const r = await one(); if (r.status !== 200) throw new Error(`${webchat ? 'web chat' : 'v1'} ${i}: ${r.status} ${r.body}`); }
      console.log(`SQL statements per ${webchat ? 'web chat message (new visitor)' : 'non-streaming /v1 call'} (BEGIN/COMMIT included): ${counter.count / 50}`);
      for (const [text, n] of counter.byText().slice(0, 30)) console.log(`  ${(n / 50).toFixed(2).padStart(6)}  ${text}`);
      console.log('SQL execution time per call (ms), longest first, and the median of one execution:');
      for (const [text, ms] of counter.byTime().slice(0, 15)) console.log(`  ${(ms / 50).toFixed(3).padStart(7)} ${counter.median(text).toFixed(3).padStart(7)}  ${text}`);
      return;
    }
    if (PROFILE) {
      // BENCH_PROXY_PROFILE_KIND=webchat profiles the public web chat (a new visitor each call, read to the end)
      // instead, =stream a streamed /v1 call read to the end.
      const webchat = process.env.BENCH_PROXY_PROFILE_KIND === 'webchat';
      const streamed = process.env.BENCH_PROXY_PROFILE_KIND === 'stream';
      const one = webchat ? () => call(sbPort, `/api/public/agents/${SLUG}/chat`, { text: MESSAGE }, {})
        : streamed ? () => call(sbPort, '/v1/chat/completions', { model: SLUG, stream: true, messages }, auth) : sbPlain;
      for (let i = 0; i < WARMUP; i++) await one();
      const session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
      const p0 = performance.now();
      const c0 = process.cpuUsage();
      for (let i = 0; i < N; i++) { const r = await one(); if (r.status !== 200) throw new Error(`${webchat ? 'web chat' : 'v1'} ${i}: ${r.status} ${r.body}`); }
      const ms = performance.now() - p0;
      const cpu = process.cpuUsage(c0);
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(PROFILE, JSON.stringify(profile));
      session.disconnect();
      console.log(`profile run: ${N} ${webchat ? 'web chat messages' : streamed ? 'streamed /v1 calls' : 'non-streaming /v1 calls'} in ${Math.round(ms)} ms (${(ms / N).toFixed(2)} ms a call; process CPU ${((cpu.user + cpu.system) / N / 1000).toFixed(3)} ms a call, client, fake and profiler included); written to ${PROFILE}`);
      return;
    }

    const kinds = {
      plain: {
        sb: sbPlain,
        floor: () => call(floor.port, '/v1/chat/completions', { model: 'gpt-4o-mini', messages: floorMessages }, upstreamAuth),
        pick: (r: Timed) => r.total,
      },
      stream: {
        sb: () => call(sbPort, '/v1/chat/completions', { model: SLUG, stream: true, messages }, auth, CONTENT),
        floor: () => call(floor.port, '/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: floorMessages }, upstreamAuth, CONTENT),
        pick: (r: Timed) => r.first ?? NaN,
      },
      webchat: {
        // A new visitor each time (no cookie): every chat is a first message, so history never grows.
        sb: () => call(sbPort, `/api/public/agents/${SLUG}/chat`, { text: MESSAGE }, {}, 'event: delta'),
        floor: () => call(floor.port, '/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: floorMessages }, upstreamAuth, CONTENT),
        pick: (r: Timed) => r.first ?? NaN,
      },
    };
    const samples: Record<keyof typeof kinds, { sb: number[]; floor: number[] }> = { plain: { sb: [], floor: [] }, stream: { sb: [], floor: [] }, webchat: { sb: [], floor: [] } };
    let serverTiming: string | undefined;
    // Switchboard's own split of each call (its Server-Timing: the header on a whole answer, the last
    // chunk / `done` event of a stream): how much of the time is its own and how much the model's.
    const split: Record<keyof typeof kinds, { sb: number[]; model: number[] }> = { plain: { sb: [], model: [] }, stream: { sb: [], model: [] }, webchat: { sb: [], model: [] } };
    for (const [name, k] of Object.entries(kinds) as [keyof typeof kinds, (typeof kinds)['plain']][]) {
      for (let i = 0; i < WARMUP + N; i++) {
        // Alternate which goes first, so neither always follows the other's garbage.
        const order = i % 2 ? [k.sb, k.floor] : [k.floor, k.sb];
        const results: Timed[] = [];
        for (const f of order) results.push(await f());
        const [sb, fl] = i % 2 ? results : [results[1]!, results[0]!];
        if (sb!.status !== 200 || fl!.status !== 200) throw new Error(`${name} ${i}: switchboard ${sb!.status} ${sb!.body.slice(0, 200)}; floor ${fl!.status}`);
        if (name === 'plain' && i === 0) serverTiming = sb!.headers['server-timing'] as string | undefined;
        if (i < WARMUP) continue;
        samples[name].sb.push(k.pick(sb!));
        samples[name].floor.push(k.pick(fl!));
        const timing = name === 'plain' ? String(sb!.headers['server-timing'] ?? '') : sb!.body;
        const own = /(?:^|[\s,"])sb;dur=([\d.]+)/.exec(timing), model = /model;dur=([\d.]+)/.exec(timing);
        if (own && model) { split[name].sb.push(Number(own[1])); split[name].model.push(Number(model[1])); }
      }
    }
    // CPU per call: the process's CPU time (user + system) over a block of calls, which the other
    // programs on a shared machine disturb far less than latency. Client and fake are in both blocks.
    const cpuPerCall = async (f: () => Promise<Timed>) => {
      for (let i = 0; i < Math.min(WARMUP, 20); i++) await f();
      const c0 = process.cpuUsage();
      for (let i = 0; i < N; i++) await f();
      const c = process.cpuUsage(c0);
      return Math.round(((c.user + c.system) / N) * 10) / 10 / 1000;
    };
    const cpu = { switchboardMs: await cpuPerCall(kinds.plain.sb), floorMs: await cpuPerCall(kinds.plain.floor) };
    // SQL statements per non-streaming call (BEGIN/COMMIT included), counted after the timed blocks so
    // the counting never weighs on them; the commonest statement shapes come with it.
    const counter = installSqlCounter({ texts: true });
    const SQL_CALLS = 50;
    for (let i = 0; i < SQL_CALLS; i++) await kinds.plain.sb();
    const sql = { perCall: Math.round((counter.count / SQL_CALLS) * 10) / 10, top: counter.byText().slice(0, 25).map(([text, n]) => ({ perCall: Math.round((n / SQL_CALLS) * 100) / 100, text })) };
    counter.uninstall();

    const result = {
      benchmark: 'proxy',
      startedAt: startedAt.toISOString(),
      durationS: Math.round((performance.now() - t0) / 100) / 10,
      environment: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', loadAverage: loadavg().map((x) => Math.round(x * 100) / 100), database: 'sqlite (temp dir)' },
      settings: { callsPerKind: N, warmup: WARMUP, message: MESSAGE },
      unit: 'ms',
      targets: { p50Ratio: TARGET.p50, p99Ratio: TARGET.p99 },
      serverTimingExample: serverTiming ?? null,
      /** Medians of Switchboard's Server-Timing per kind: its own time (sb) and the model's, whole calls. */
      serverTimingMedians: Object.fromEntries(Object.entries(split).map(([k, v]) => [k, { sb: stats(v.sb).p50, model: stats(v.model).p50 }])) as Record<keyof typeof kinds, { sb: number; model: number }>,
      nonStreaming: pair(samples.plain.sb, samples.plain.floor),
      v1StreamFirstToken: pair(samples.stream.sb, samples.stream.floor),
      webChatFirstDelta: pair(samples.webchat.sb, samples.webchat.floor),
      cpuPerNonStreamingCall: { ...cpu, ratio: ratio(cpu.switchboardMs, cpu.floorMs) },
      sqlStatementsPerNonStreamingCall: sql,
    };
    print(result);
    mkdirSync(RESULTS_DIR, { recursive: true });
    const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
    const json = JSON.stringify(result, null, 2) + '\n';
    writeFileSync(join(RESULTS_DIR, `proxy-${stamp}.json`), json);
    writeFileSync(join(RESULTS_DIR, 'latest-proxy.json'), json);
    console.log(`\nwritten: bench/results/proxy-${stamp}.json and bench/results/latest-proxy.json`);
  } finally {
    agent.destroy();
    await server.close();
    await floor.close();
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function print(r: { environment: { node: string; cpus: number; loadAverage: number[] }; settings: { callsPerKind: number }; serverTimingExample: string | null; serverTimingMedians: Record<string, { sb: number; model: number }>; nonStreaming: Pair; v1StreamFirstToken: Pair; webChatFirstDelta: Pair; cpuPerNonStreamingCall: { switchboardMs: number; floorMs: number; ratio: number }; sqlStatementsPerNonStreamingCall: { perCall: number; top: { perCall: number; text: string }[] } }) {
  const verdict = (x: number, t: number) => `${x.toFixed(2)}× (target ≤${t}×) ${x <= t ? 'ok' : 'OVER'}`;
  console.log(`Switchboard proxy path (ms) — node ${r.environment.node}, ${r.environment.cpus} CPUs, SQLite, load average ${r.environment.loadAverage.join(' ')}`);
  console.log(`floor = a bare node:http forwarding proxy to the same zero-delay fake; ${r.settings.callsPerKind} calls each, alternating\n`);
  console.log(statsHead(52));
  const block = (title: string, p: Pair) => {
    console.log(statsRow(`${title}: Switchboard`, p.switchboard, 52));
    console.log(statsRow(`${title}: floor proxy`, p.floor, 52));
    console.log(`    ratio p50 ${verdict(p.ratioP50, TARGET.p50)}; p99 ${verdict(p.ratioP99, TARGET.p99)}`);
  };
  block('(1) /v1 non-streaming, whole', r.nonStreaming);
  block('(2) /v1 streamed, first token', r.v1StreamFirstToken);
  block('(3) web chat, first delta', r.webChatFirstDelta);
  const c = r.cpuPerNonStreamingCall;
  console.log(`(4) process CPU per non-streaming /v1 call (client and fake included): Switchboard ${c.switchboardMs.toFixed(3)} ms, floor ${c.floorMs.toFixed(3)} ms, ratio ${c.ratio.toFixed(2)}×`);
  const q = r.sqlStatementsPerNonStreamingCall;
  console.log(`(5) SQL statements per non-streaming /v1 call (BEGIN/COMMIT included): ${q.perCall}`);
  for (const t of q.top) console.log(`    ${t.perCall.toFixed(2).padStart(6)}  ${t.text}`);
  console.log(`\nServer-Timing on /v1 (first call): ${r.serverTimingExample ?? '(none)'}`);
  console.log(`Server-Timing medians, whole calls (sb = Switchboard's own, model = inside the provider call): ${Object.entries(r.serverTimingMedians).map(([k, v]) => `${k} sb ${v.sb} / model ${v.model} ms`).join('; ')}`);
}

/** The top 15 functions of a .cpuprofile by self time. */
function top(file: string) {
  type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number };
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const byFn = new Map<string, number>();
  for (const n of p.nodes) {
    const us = self.get(n.id) ?? 0;
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '~/').replace(/^\/work\/wt\/[^/]+\//, '');
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  const idle = [...byFn].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, us]) => a + us, 0);
  for (const k of [...byFn.keys()]) if (k.startsWith('(idle)')) byFn.delete(k);
  const total = [...byFn.values()].reduce((a, b) => a + b, 0);
  console.log(`profile ${file}: ${(total / 1000).toFixed(0)} ms busy (+ ${(idle / 1000).toFixed(0)} ms idle); % of busy time`);
  console.log(`${'self ms'.padStart(9)} ${'%'.padStart(6)}  function  location`);
  const line = ([k, us]: [string, number]) => console.log(`${(us / 1000).toFixed(1).padStart(9)} ${((us / total) * 100).toFixed(1).padStart(6)}  ${k}`);
  [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 15).forEach(line);
  // The same time by where the code lives: a package, our source file, Node's internals, or native.
  const byPlace = new Map<string, number>();
  for (const [k, us] of byFn) {
    const loc = k.split('  ')[1] ?? '';
    const place = !loc ? `native/${k.split('  ')[0]}` : loc.startsWith('~/') ? `pkg ${loc.slice(2).split('/').slice(0, loc.startsWith('~/@') ? 2 : 1).join('/')}` : loc.startsWith('node:') ? `node ${loc.split(':')[1]!.split('/').slice(0, 2).join('/')}` : loc.split(':')[0]!;
    byPlace.set(place, (byPlace.get(place) ?? 0) + us);
  }
  console.log('\nby place (package, source file, node internals, native):');
  [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, 15).forEach(line);
}

if (process.argv[2] === '--top') top(process.argv[3]!);
else main().catch((err: unknown) => { console.error(err); process.exitCode = 1; });
