/**
 * The built server as its own process, for the start and resident-set benchmarks: a free port, a
 * spawn, GET /health polled until it answers 200 (start-to-ready), the process's resident set read
 * from /proc, a clean stop. Also a bare `node:http` server started and polled the same way (the
 * reference), and helpers to sign in and create agents over the API.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ADMIN = { email: 'bench@example.com', password: 'correct horse battery' };

/** Builds the server (and the web app unless `serverOnly`) if their sources are newer than the build. */
export function buildIfStale(serverOnly = false): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-if-stale.mjs'), ...(serverOnly ? ['server'] : [])], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('build-if-stale failed');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** One GET /health; resolves to the status, or 0 when nothing answers yet. */
function probe(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: 2000 }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.end();
  });
}

/** Resident set of a process in MB (VmRSS), or NaN when it is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch { return NaN; }
}

export type Running = { port: number; base: string; pid: number; readyMs: number; child: ChildProcess; stop(): Promise<void> };

/**
 * Spawns `command args` with `env` (on a fresh free port, PORT and HOST set) and polls GET /health
 * every 2 ms from the moment of the spawn until it answers 200. `readyMs` is spawn → first 200.
 */
export async function startProcess(command: string, args: string[], env: Record<string, string>, opts: { timeoutMs?: number } = {}): Promise<Running> {
  const port = await freePort();
  const t0 = performance.now();
  // Its own process group, so `npm start` and the node it starts are stopped together.
  const child = spawn(command, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  const deadline = t0 + (opts.timeoutMs ?? 120_000);
  for (;;) {
    if (exited !== undefined) throw new Error(`${command} ${args.join(' ')} exited (${exited}) before it was ready:\n${stderr}`);
    if ((await probe(port)) === 200) break;
    if (performance.now() > deadline) { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } throw new Error(`${command} ${args.join(' ')}: not ready after ${opts.timeoutMs ?? 120_000} ms:\n${stderr}`); }
    await new Promise((r) => setTimeout(r, 2));
  }
  const readyMs = performance.now() - t0;
  return {
    port, base: `http://127.0.0.1:${port}`, pid: child.pid!, readyMs, child,
    stop: () => new Promise<void>((resolve) => {
      if (exited !== undefined) return resolve();
      const kill = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
      child.once('exit', () => { clearTimeout(kill); resolve(); });
      try { process.kill(-child.pid!, 'SIGTERM'); } catch { clearTimeout(kill); resolve(); }
    }),
  };
}

/**
 * The V8 flags the server runs with, as `npm start`, deploy/switchboard.service and the Dockerfile start it:
 * young-generation semi-spaces of 4 MB instead of 16, and the old generation's limit set 20% above what
 * is live after each full collection instead of up to 4× (docs/architecture.md, "Start and memory").
 */
export const NODE_FLAGS = ['--max-semi-space-size=4', '--heap-growing-percent=20'];

/** The built server: `node --max-semi-space-size=4 --heap-growing-percent=20 dist/main.js` (other flags with `nodeArgs`). */
export const startBuilt = (env: Record<string, string>, nodeArgs: string[] = NODE_FLAGS) => startProcess(process.execPath, [...nodeArgs, join(ROOT, 'dist', 'main.js')], env);

/** The reference: a bare node:http server answering 200, started and polled the same way. */
export const startBare = () => startProcess(process.execPath, ['-e', "require('node:http').createServer((q, s) => s.end('ok')).listen(+process.env.PORT, process.env.HOST)"], {});

/** The environment of a quiet server with no integration configured (no model, mail, Stripe, Twilio, bots). */
export const baseEnv = (dataDir: string): Record<string, string> => ({
  DATA_DIR: dataDir, SWITCHBOARD_SECRET_KEY: 'c'.repeat(64), SWITCHBOARD_LOG_LEVEL: 'error',
  SWITCHBOARD_ADMIN_EMAIL: ADMIN.email, SWITCHBOARD_ADMIN_PASSWORD: ADMIN.password,
});

export async function api(base: string, method: string, path: string, body?: unknown, token?: string): Promise<any> {
  const r = await fetch(base + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

export async function signIn(base: string): Promise<string> {
  return (await api(base, 'POST', '/api/auth/login', ADMIN)).token as string;
}

/** Creates `n` agents through the API, `inFlight` at a time; answers their ids. */
export async function createAgents(base: string, token: string, n: number, inFlight = 8): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) {
      const i = next++;
      const a = await api(base, 'POST', '/api/agents', { name: `Bench agent ${i + 1}`, description: `Agent number ${i + 1} of the benchmark.` }, token);
      ids.push(a.id);
    }
  }));
  return ids;
}

export const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN; };
