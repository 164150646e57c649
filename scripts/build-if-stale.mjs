#!/usr/bin/env node
// @ts-check
/**
 * Builds what `npm start` serves only when its sources are newer than the last build (`npm start` runs it with --start).
 *
 *   node scripts/build-if-stale.mjs              server (dist/) and web app (web/build/), each only if stale
 *   node scripts/build-if-stale.mjs server       only the server
 *   node scripts/build-if-stale.mjs --check      prints what is stale and exits 1 if anything is; builds nothing
 *   node scripts/build-if-stale.mjs --force      builds regardless (same as `npm run build`)
 *   node scripts/build-if-stale.mjs --start [..] as with no flag, then runs the server (dist/main.js, with the
 *                                                arguments after --start) in this same process: `npm start`. One
 *                                                Node process instead of two (a `prestart` script, then the
 *                                                server) saves a process start on every `npm start`.
 *   node scripts/build-if-stale.mjs --prepare    as with no flag, run by `npm install`/`npm ci` (package.json `prepare`):
 *                                                a fresh clone is built once, so `npm start` then only checks. A part
 *                                                whose sources are absent (the Dockerfile installs before copying
 *                                                them) is skipped with a note instead of failing the install.
 *
 * A part is stale when its output is missing, when it has no stamp, or when any of its source files
 * (by modification time) is newer than its stamp. The stamp (dist/.build-<part>) is written after a
 * build succeeds and carries the time the build *started*, so a file saved during a build is seen
 * as newer on the next start. `git pull` and `git checkout` give the files they change the current
 * time, so an upgrade rebuilds what it touched. When nothing is stale this costs a few milliseconds
 * (a stat of each source file: no TypeScript, no npm, no imports).
 *
 * Plain JavaScript on purpose: it runs before every `npm start` and must not pay for a TypeScript loader.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * What each part is built from. Server: its TypeScript (tests excluded: they are not bundled into
 * dist/), the price table, the bundling script and the loader it copies, package.json and the lock file. Web: the SvelteKit
 * app and its configuration (web/src includes the generated API types, which are committed) and the
 * lock file (dependencies change there; package.json's scripts do not change the web app).
 * @type {Record<string, { script: string; output: string; sources: string[]; skip?: RegExp }>}
 */
const PARTS = {
  server: {
    script: 'build:server',
    output: 'dist/main.js',
    sources: ['src', 'scripts/bundle-server.mjs', 'scripts/main-loader.mjs', 'package.json', 'package-lock.json'],
    skip: /\.test\.ts$/,
  },
  web: {
    script: 'build:web',
    output: 'web/build/index.html',
    sources: ['web/src', 'web/static', 'web/svelte.config.js', 'web/vite.config.ts', 'web/tailwind.config.js', 'web/tailwind.v4-compat.js',
      'web/postcss.config.js', 'web/tsconfig.json', 'package-lock.json'],
  },
};

/** The newest modification time (ms) under `path`, and the file that has it; missing paths count as nothing. */
function newest(path, skip, found = { ms: 0, file: '' }) {
  let st;
  try { st = statSync(path); } catch { return found; }
  if (st.isDirectory()) {
    for (const name of readdirSync(path)) newest(join(path, name), skip, found);
  } else if (!(skip && skip.test(path)) && st.mtimeMs > found.ms) {
    found.ms = st.mtimeMs;
    found.file = path;
  }
  return found;
}

const stampOf = (part) => join(ROOT, 'dist', `.build-${part}`);

/** Why `part` needs a build, or undefined when it is up to date. */
export function staleness(part) {
  const p = PARTS[part];
  if (!existsSync(join(ROOT, p.output))) return `${p.output} is missing`;
  let stamp;
  try { stamp = statSync(stampOf(part)).mtimeMs; } catch { return 'it has no build stamp'; }
  const src = p.sources.reduce((acc, s) => newest(join(ROOT, s), p.skip, acc), { ms: 0, file: '' });
  if (src.ms > stamp) return `${src.file.slice(ROOT.length + 1)} changed since the last build`;
  return undefined;
}

function build(part) {
  const started = Date.now();
  const npm = process.env.npm_execpath;
  // Inside `npm start` npm tells us its own CLI; otherwise use the npm on the PATH.
  const r = npm
    ? spawnSync(process.execPath, [npm, 'run', PARTS[part].script], { cwd: ROOT, stdio: 'inherit' })
    : spawnSync('npm', ['run', PARTS[part].script], { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) {
    console.error(`build-if-stale: \`npm run ${PARTS[part].script}\` failed (exit ${r.status ?? r.signal}).`);
    process.exit(r.status || 1);
  }
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  writeFileSync(stampOf(part), `${new Date(started).toISOString()}\n`);
  const t = new Date(started);
  utimesSync(stampOf(part), t, t);
  console.log(`build-if-stale: ${part} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const startAt = process.argv.indexOf('--start');
const args = startAt < 0 ? process.argv.slice(2) : process.argv.slice(2, startAt);
const force = args.includes('--force');
const check = args.includes('--check');
const prepare = args.includes('--prepare');
const asked = args.filter((a) => !a.startsWith('--'));
const unknown = asked.filter((a) => !(a in PARTS));
if (unknown.length) {
  console.error(`build-if-stale: unknown part(s) ${unknown.join(', ')}; choose from ${Object.keys(PARTS).join(', ')}`);
  process.exit(2);
}
const parts = asked.length ? asked : Object.keys(PARTS);
let stale = 0;
for (const part of parts) {
  if (prepare && !existsSync(join(ROOT, PARTS[part].sources[0]))) {
    console.log(`build-if-stale: ${part} not built at install (${PARTS[part].sources[0]} is not there yet); \`npm run build\` builds it`);
    continue;
  }
  const why = force ? 'asked with --force' : staleness(part);
  if (!why) continue;
  stale++;
  if (check) { console.log(`${part}: stale (${why})`); continue; }
  console.log(`build-if-stale: building ${part} (${why})`);
  build(part);
}
if (check && stale) process.exit(1);
if (startAt >= 0) {
  // The server reads its command from process.argv: make it look as if `node dist/main.js …` had been run.
  const main = join(ROOT, 'dist', 'main.js');
  process.argv = [process.argv[0], main, ...process.argv.slice(startAt + 1)];
  await import(pathToFileURL(main).href);
}
