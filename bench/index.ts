/**
 * Runs the benchmarks one after another, each in its own Node process (so one's patches, timers
 * and warm caches never touch the other), and prints their tables.
 *
 *   tsx bench/index.ts                    all: chat-overhead, proxy, inbound, backlog, memory, start, page-weight, knowledge
 *   tsx bench/index.ts inbound            only the named ones
 *
 * Each writes its own results: bench/results/chat-overhead-<ts>.json + latest.json, and
 * bench/results/inbound-<ts>.json + latest-inbound.json, bench/results/proxy-<ts>.json + latest-proxy.json. Exits non-zero when any of them failed.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const HERE = dirname(fileURLToPath(import.meta.url));
const ALL = ['chat-overhead', 'proxy', 'inbound', 'backlog', 'memory', 'start', 'page-weight', 'knowledge'] as const;
/** A benchmark that has not finished after this long is stopped. */
const TIMEOUT_MS = 180_000;
/** Benchmarks that build large data sets first (knowledge: 61,000 chunks with vectors) get longer. */
const TIMEOUTS: Record<string, number> = { knowledge: 480_000 };

function run(name: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, `${name}.ts`)], { stdio: 'inherit', env: process.env });
    const limit = TIMEOUTS[name] ?? TIMEOUT_MS;
    const timer = setTimeout(() => { console.error(`${name}: still running after ${limit / 1000} s, stopping it`); child.kill('SIGTERM'); }, limit);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve(code ?? (signal ? 1 : 0)); });
    child.on('error', (err) => { clearTimeout(timer); console.error(err); resolve(1); });
  });
}

const asked = process.argv.slice(2);
const unknown = asked.filter((a) => !(ALL as readonly string[]).includes(a));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${ALL.join(', ')}`);
  process.exit(2);
}
const chosen = asked.length ? ALL.filter((b) => asked.includes(b)) : [...ALL];
const failed: string[] = [];
const t0 = performance.now();
for (const [i, name] of chosen.entries()) {
  if (i > 0) console.log(`\n${'─'.repeat(100)}\n`);
  if ((await run(name)) !== 0) failed.push(name);
}
console.log(`\nbenchmarks done in ${Math.round((performance.now() - t0) / 100) / 10} s${failed.length ? `; FAILED: ${failed.join(', ')}` : ''}`);
if (failed.length) process.exitCode = 1;
