/**
 * Flat cost per turn: one person has a 200-turn conversation with one agent whose history budget
 * is small; the input tokens the model is sent per turn must stop growing once the budget is
 * reached (older turns are compacted into a running summary by a background job).
 *
 *   npm run bench memory       (BENCH_TURNS, default 200; BENCH_BUDGET tokens, default 2000)
 *
 * Runs the real server on SQLite against the fake OpenAI server (whose prompt_tokens are
 * sum(ceil(chars/4) + 3) per message, like a tokenizer would count), waits for background jobs
 * between turns so the numbers do not depend on timing, and prints input tokens at turns
 * 10, 50, 100, 200 plus the compactions and their cost.
 * Writes bench/results/memory-<ts>.json and latest-memory.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startFakeOpenAI, contentText, type ChatRequest } from '../test/fakes/openai-server.js';
import { startServer } from '../src/server.js';

const TURNS = Number(process.env.BENCH_TURNS ?? 200);
const BUDGET = Number(process.env.BENCH_BUDGET ?? 2000);
const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');
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

  mkdirSync(RESULTS_DIR, { recursive: true });
  const result = { bench: 'memory', at: new Date().toISOString(), turns: TURNS, budget: BUDGET, marks, flat, compactions, costUsd: usage.costUsd, requests: usage.requests, wallS, perTurn };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(RESULTS_DIR, `memory-${stamp}.json`), JSON.stringify(result, null, 2));
  writeFileSync(join(RESULTS_DIR, 'latest-memory.json'), JSON.stringify(result, null, 2));
  if (grows) process.exitCode = 1;
} finally {
  await server.close();
  await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
}
