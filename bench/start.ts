/**
 * Start-to-ready: how long after the process is spawned the built server answers GET /health with 200.
 *
 *   npm run bench start        (BENCH_START_RUNS, default 5; BENCH_START_AGENTS, default 1000; BENCH_START_NPM=0 skips `npm start`)
 *
 * Builds what is stale first (scripts/build-if-stale.mjs), then spawns `node --max-semi-space-size=4 --heap-growing-percent=20 dist/main.js`
 * (as `npm start` and the systemd unit run it) on SQLite with
 * no integration configured and polls /health every 2 ms from the spawn:
 *   - migrations pending: a new, empty data directory each run (every migration runs);
 *   - empty database: the same directory again (nothing to migrate);
 *   - the empty database again with an empty code-cache folder each run (CACHE_DIRECTORY): a first start;
 *   - 1,000 agents: a database with that many agents created through the API beforehand;
 *   - `npm start` on that database: npm, the staleness check, then the server in the same Node process.
 * Reference, in the same run: a bare `node:http` server spawned and polled the same way.
 * Target (issue 13): ready within 1 s absolute; the ratio to the reference is printed too.
 * Writes bench/results/start-<ts>.json and latest-start.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RESULTS_DIR, intEnv } from './lib.js';
import { baseEnv, buildIfStale, createAgents, median, rssMb, signIn, startBare, startBuilt, startProcess, type Running } from './server-process.js';

const RUNS = intEnv('BENCH_START_RUNS', 5, 1, 50);
const AGENTS = intEnv('BENCH_START_AGENTS', 1000, 0, 100_000);
const TARGET_MS = 1000;

const t0 = performance.now();
buildIfStale();
const dirs: string[] = [];
const tempDir = () => { const d = mkdtempSync(join(tmpdir(), 'sb-bench-start-')); dirs.push(d); return d; };

/** `refMs[i]`: the bare server, started just before run i, so each ratio compares two starts under the same load. */
type Row = { label: string; readyMs: number[]; refMs: number[]; rssMb: number[]; target: boolean; error?: string };
const rows: Row[] = [];

async function measure(label: string, start: () => Promise<Running>, target = true, ownRss = true): Promise<Row> {
  const row: Row = { label, readyMs: [], refMs: [], rssMb: [], target };
  for (let i = 0; i < RUNS; i++) {
    let s: Running;
    if (target) { const bare = await startBare(); row.refMs.push(bare.readyMs); await bare.stop(); }
    try { s = await start(); } catch (err) { row.error = (err as Error).message.split('\n')[0]; break; }
    row.readyMs.push(s.readyMs);
    if (ownRss) row.rssMb.push(rssMb(s.pid)); // npm start: the spawned process is npm, not the server
    await s.stop();
  }
  rows.push(row);
  return row;
}

try {
  const reference = await measure('reference: bare node:http server', startBare, false);
  await measure('node dist/main.js, migrations pending (new DB)', () => startBuilt(baseEnv(tempDir())));
  const emptyDir = tempDir();
  await (await startBuilt(baseEnv(emptyDir))).stop(); // migrate once
  await measure('node dist/main.js, empty database', () => startBuilt(baseEnv(emptyDir)));
  // dist/main.js keeps V8's code cache of the bundle (scripts/main-loader.mjs); the rows above use it (the
  // first start wrote it). This one starts each time with an empty cache folder: a new installation's first start.
  await measure('node dist/main.js, empty database, no code cache', () => startBuilt({ ...baseEnv(emptyDir), CACHE_DIRECTORY: tempDir() }));

  const bigDir = tempDir();
  const seeding = performance.now();
  const seeder = await startBuilt(baseEnv(bigDir));
  await createAgents(seeder.base, await signIn(seeder.base), AGENTS);
  await seeder.stop();
  const seedS = (performance.now() - seeding) / 1000;
  await measure(`node dist/main.js, ${AGENTS} agents`, () => startBuilt(baseEnv(bigDir)));
  if (process.env.BENCH_START_NPM !== '0') await measure(`npm start, ${AGENTS} agents (staleness check + server)`, () => startProcess('npm', ['start', '--silent'], baseEnv(bigDir)), true, false);

  const ref = median(reference.readyMs);
  const w = 58;
  console.log(`\nSwitchboard start-to-ready (ms, spawn → first 200 from GET /health) — node ${process.version}, ${cpus().length} CPUs, SQLite, ${RUNS} runs each, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`${''.padEnd(w)}${['median', 'max', '× ref', 'RSS MB', 'target'].map((h) => h.padStart(9)).join('')}`);
  for (const r of rows) {
    const m = median(r.readyMs);
    const ratio = r.refMs.length ? median(r.readyMs.map((x, i) => x / r.refMs[i]!)) : 1;
    if (r.error) { console.log(`${r.label.padEnd(w)}  FAILED: ${r.error}`); continue; }
    const verdict = r.target ? (m <= TARGET_MS ? 'ok' : 'OVER') : '';
    console.log(`${r.label.padEnd(w)}${m.toFixed(0).padStart(9)}${Math.max(...r.readyMs).toFixed(0).padStart(9)}${ratio.toFixed(2).padStart(9)}${(r.rssMb.length ? median(r.rssMb).toFixed(0) : '-').padStart(9)}${(r.target ? `≤${TARGET_MS} ${verdict}` : '').padStart(11)}`);
  }
  console.log(`target: ready within ${TARGET_MS} ms (absolute, issue 13); × ref is the median ratio to a bare server started just before each run (same load). ${AGENTS} agents created over the API in ${seedS.toFixed(1)} s.`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const result = {
    bench: 'start', at: new Date().toISOString(), node: process.version, cpus: cpus().length, load: loadavg(), runs: RUNS, agents: AGENTS, targetMs: TARGET_MS,
    referenceMedianMs: ref,
    rows: rows.map((r) => ({ label: r.label, error: r.error, medianMs: median(r.readyMs), maxMs: Math.max(...r.readyMs), ratio: r.refMs.length ? median(r.readyMs.map((x, i) => x / r.refMs[i]!)) : 1, refMs: r.refMs, rssMb: median(r.rssMb), readyMs: r.readyMs, target: r.target ? TARGET_MS : null })),
    wallS: (performance.now() - t0) / 1000,
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(RESULTS_DIR, `start-${stamp}.json`), JSON.stringify(result, null, 2));
  writeFileSync(join(RESULTS_DIR, 'latest-start.json'), JSON.stringify(result, null, 2));
  console.log(`written: bench/results/start-${stamp}.json and bench/results/latest-start.json`);
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
