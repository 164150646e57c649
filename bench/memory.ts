/**
 * Two kinds of memory.
 *
 * (1) Resident set of the server process (issue 13.4). The built server (`node dist/main.js`, built
 * first if stale) runs on SQLite with no integration configured (no mail, Stripe, Twilio, WhatsApp,
 * Telegram bots, plugins, no model), and its RSS is read from /proc: at idle after start; then the fake
 * OpenAI server is added as a provider through the API, and RSS is read after creating 1,000 agents through
 * the API, and after bursts of chats
 * (BENCH_MEMORY_BURSTS bursts of BENCH_MEMORY_BURST concurrent messages, each to a different agent).
 * After each step the process is left idle for a moment so the figure is a resting one. It runs twice: with
 * the V8 flags the server is deployed with (NODE_FLAGS) and with V8's defaults, for comparison.
 * Reference, in the same run: the RSS of a bare `node:http` server. Targets: ≤100 MB at idle,
 * ≤150 MB after 1,000 agents.
 *
 * (2) Flat cost per turn: one person has a 200-turn conversation with one agent whose history budget
 * is small; the input tokens the model is sent per turn must stop growing once the budget is
 * reached (older turns are compacted into a running summary by a background job).
 *
 *   npm run bench memory       (BENCH_TURNS, default 200; BENCH_BUDGET tokens, default 2000;
 *                               BENCH_MEMORY_AGENTS, default 1000; BENCH_MEMORY_PARTS=rss or =turns for one part)
 *
 * Part (2) runs the real server in this process on SQLite against the fake OpenAI server (whose prompt_tokens are
 * sum(ceil(chars/4) + 3) per message, like a tokenizer would count), waits for background jobs
 * between turns so the numbers do not depend on timing, and prints input tokens at turns
 * 10, 50, 100, 200 plus the compactions and their cost.
 * Writes bench/results/memory-<ts>.json and latest-memory.json (both parts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startFakeOpenAI, contentText, type ChatRequest } from '../test/fakes/openai-server.js';
import { startServer } from '../src/server.js';
import { RESULTS_DIR } from './lib.js';
import { NODE_FLAGS, api, baseEnv, buildIfStale, createAgents, rssMb, signIn, startBare, startBuilt } from './server-process.js';

const PARTS = (process.env.BENCH_MEMORY_PARTS ?? 'rss,turns').split(',');
const AGENTS = Number(process.env.BENCH_MEMORY_AGENTS ?? 1000);
const BURSTS = Number(process.env.BENCH_MEMORY_BURSTS ?? 5);
const BURST = Number(process.env.BENCH_MEMORY_BURST ?? 100);
const IDLE_TARGET_MB = 100;
const AGENTS_TARGET_MB = 150;
const results: Record<string, unknown> = { bench: 'memory', at: new Date().toISOString() };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS of a process after it has been left alone for `ms` (timers and GC settle). */
async function restingRss(pid: number, ms = 3000): Promise<number> {
  await sleep(ms);
  return rssMb(pid);
}

type RssRun = { flags: string[]; idle: number; agents: number; chats: number; createS: number; chatS: number };

/** One server with `flags`: RSS at idle, after AGENTS agents, after the bursts of chats. */
async function rssRun(flags: string[], modelUrl: string): Promise<RssRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-bench-rss-'));
  const server = await startBuilt(baseEnv(dataDir), flags);
  try {
    const idle = await restingRss(server.pid);
    const token = await signIn(server.base);
    // The model is added afterwards, as an operator would in the dashboard: idle is measured with nothing configured.
    await api(server.base, 'POST', '/api/providers', { name: 'openai', kind: 'openai', apiKey: 'k', baseUrl: modelUrl }, token);
    await api(server.base, 'PATCH', '/api/settings', { defaultModel: 'openai:gpt-4o-mini' }, token);
    const t0 = performance.now();
    const ids = await createAgents(server.base, token, AGENTS);
    const createS = (performance.now() - t0) / 1000;
    await api(server.base, 'GET', '/api/agents', undefined, token);
    const agents = await restingRss(server.pid);
    const t1 = performance.now();
    for (let b = 0; b < BURSTS; b++) {
      await Promise.all(Array.from({ length: BURST }, (_, i) => {
        const agentId = ids[(b * BURST + i) % ids.length]!;
        return api(server.base, 'POST', `/api/agents/${agentId}/message`, { userId: `person-${i}`, text: `Burst ${b}, message ${i}: what should I cook tonight?` }, token);
      }));
    }
    const chatS = (performance.now() - t1) / 1000;
    return { flags, idle, agents, chats: await restingRss(server.pid), createS, chatS };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function residentSet() {
  buildIfStale(true);
  const bare = await startBare();
  const referenceMb = await restingRss(bare.pid, 1000);
  await bare.stop();
  const fake = await startFakeOpenAI();
  fake.setDefault(() => 'Sure, here is a short answer.');
  try {
    // As deployed (npm start, the systemd unit, the image), then with V8's default young generation for comparison.
    const runs = [await rssRun(NODE_FLAGS, fake.url), await rssRun([], fake.url)];
    const w = 52;
    const cols = runs.map((r) => (r.flags.length ? r.flags.join(' ') : 'V8 defaults'));
    console.log(`Switchboard resident set (MB, VmRSS of \`node dist/main.js\`) — node ${process.version}, ${cpus().length} CPUs, SQLite, no integration configured, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`${''.padEnd(w)}${cols.map((c) => c.padStart(26)).join('')}${'target'.padStart(12)}`);
    console.log(`${'reference: bare node:http server'.padEnd(w)}${runs.map(() => `${referenceMb.toFixed(0)} (1.00×)`.padStart(26)).join('')}`);
    const line = (label: string, pick: (r: RssRun) => number, target?: number) => {
      const verdict = target === undefined ? '' : `≤${target} ${pick(runs[0]!) <= target ? 'ok' : 'OVER'}`;
      console.log(`${label.padEnd(w)}${runs.map((r) => `${pick(r).toFixed(0)} (${(pick(r) / referenceMb).toFixed(2)}×)`.padStart(26)).join('')}${verdict.padStart(12)}`);
    };
    line('idle after start', (r) => r.idle, IDLE_TARGET_MB);
    line(`after creating ${AGENTS} agents (API)`, (r) => r.agents, AGENTS_TARGET_MB);
    line(`after ${BURSTS} bursts of ${BURST} chats (${Math.min(AGENTS, BURSTS * BURST)} agents)`, (r) => r.chats);
    console.log(`${'seconds to create the agents / to answer the chats'.padEnd(w)}${runs.map((r) => `${r.createS.toFixed(1)} / ${r.chatS.toFixed(1)}`.padStart(26)).join('')}`);
    console.log(`targets (first column, as deployed): idle ≤${IDLE_TARGET_MB} MB, after ${AGENTS} agents ≤${AGENTS_TARGET_MB} MB (absolute, issue 13).\n`);
    results.residentSet = { referenceMb, runs, agents: AGENTS, bursts: BURSTS, burst: BURST, targets: { idle: IDLE_TARGET_MB, agents: AGENTS_TARGET_MB }, load: loadavg() };
  } finally {
    await fake.close();
  }
}

async function flatTurns() {
  const TURNS = Number(process.env.BENCH_TURNS ?? 200);
  const BUDGET = Number(process.env.BENCH_BUDGET ?? 2000);
  const TOPICS = ['sourdough starter', 'tomato sauce', 'knife skills', 'risotto', 'meal prep', 'spices', 'roast chicken', 'pastry'];

  const systemOf = (r: ChatRequest) => contentText(r.messages?.find((m: any) => m.role === 'system')?.content);
  const isBackground = (r: ChatRequest) => /running summary|memory of a conversation/.test(systemOf(r));

  const fake = await startFakeOpenAI();
  // A chatty model: each answer is about 120 tokens, so history grows fast.
  fake.setDefault((req) => {
    if (isBackground(req)) return `They discussed ${TOPICS.join(', ')}; the person prefers quick weeknight recipes and metric units. `.repeat(3);
    const last = contentText(req.messages?.at(-1)?.content);
    return `About "${last.slice(0, 60)}": ${'Here is a practical tip with quantities and timings that you can follow tonight. '.repeat(6)}`;
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-bench-memory-'));
  const server = await startServer({
    port: 0, host: '127.0.0.1',
    env: {
      DATA_DIR: dataDir, SWITCHBOARD_SECRET_KEY: 'b'.repeat(64), SWITCHBOARD_LOG_LEVEL: 'error', SWITCHBOARD_MODEL_MAX_RETRIES: '0',
      OPENAI_API_KEY: 'k', OPENAI_BASE_URL: fake.url, SWITCHBOARD_DEFAULT_MODEL: 'openai:gpt-4o-mini',
      SWITCHBOARD_ADMIN_EMAIL: 'bench@example.com', SWITCHBOARD_ADMIN_PASSWORD: 'correct horse battery',
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const post = async (path: string, body: unknown, token?: string) => {
      const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      return r.json() as Promise<any>;
    };
    const { token } = await post('/api/auth/login', { email: 'bench@example.com', password: 'correct horse battery' });
    const agent = await post('/api/agents', { name: 'Cooking Coach', template: 'recipe-helper', contextTokenBudget: BUDGET, memoryTools: false }, token);

    const perTurn: { turn: number; inputTokens: number; sentMessages: number; ms: number }[] = [];
    const t0 = performance.now();
    for (let turn = 1; turn <= TURNS; turn++) {
      const topic = TOPICS[turn % TOPICS.length];
      const started = performance.now();
      const r = await post(`/api/agents/${agent.id}/message`, { userId: 'bench-person', text: `Turn ${turn}: tell me more about ${topic}, I am cooking for ${2 + (turn % 5)} people this week.` }, token);
      const chat = fake.requests().filter((q) => !isBackground(q)).at(-1)!;
      perTurn.push({ turn, inputTokens: r.usage.inputTokens, sentMessages: chat.messages!.length - 1, ms: Math.round(performance.now() - started) });
      await server.services.queue.drain({ timeoutMs: 30_000 });
    }
    const wallS = (performance.now() - t0) / 1000;
    const compactions = fake.requests().filter((q) => /running summary/.test(systemOf(q))).length;
    const at = (n: number) => perTurn.find((p) => p.turn === n);
    const marks = [10, 50, 100, 200].filter((n) => n <= TURNS).map((n) => at(n)!);
    const late = perTurn.filter((p) => p.turn > TURNS / 4).map((p) => p.inputTokens);
    const flat = { min: Math.min(...late), max: Math.max(...late) };
    const usage = await fetch(`${base}/api/usage?agentId=${agent.id}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<any>);

    console.log(`memory: ${TURNS}-turn conversation, history budget ${BUDGET} tokens (fake model, SQLite)`);
    console.log('┌────────┬──────────────────────┬──────────────────────┬──────────┐');
    console.log('│ turn   │ input tokens / turn  │ history msgs sent    │ ms       │');
    console.log('├────────┼──────────────────────┼──────────────────────┼──────────┤');
    for (const m of marks) console.log(`│ ${String(m.turn).padEnd(6)} │ ${String(m.inputTokens).padStart(20)} │ ${String(m.sentMessages).padStart(20)} │ ${String(m.ms).padStart(8)} │`);
    console.log('└────────┴──────────────────────┴──────────────────────┴──────────┘');
    console.log(`after turn ${Math.floor(TURNS / 4)}: input tokens per turn between ${flat.min} and ${flat.max}; ${compactions} compactions; `
      + `total cost $${usage.costUsd.toFixed(4)} (${usage.requests} model calls); ${wallS.toFixed(1)} s`);
    const grows = marks.length >= 3 && marks.at(-1)!.inputTokens > marks[1]!.inputTokens * 1.5;
    if (grows) console.log('FAIL: input tokens per turn keep growing');

    results.turns = { turns: TURNS, budget: BUDGET, marks, flat, compactions, costUsd: usage.costUsd, requests: usage.requests, wallS, perTurn };
    if (grows) process.exitCode = 1;
  } finally {
    await server.close();
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (PARTS.includes('rss')) await residentSet();
if (PARTS.includes('turns')) await flatTurns();
mkdirSync(RESULTS_DIR, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(join(RESULTS_DIR, `memory-${stamp}.json`), JSON.stringify(results, null, 2));
writeFileSync(join(RESULTS_DIR, 'latest-memory.json'), JSON.stringify(results, null, 2));
