#!/usr/bin/env node
// dist/main.js is a copy of scripts/main-loader.mjs made by scripts/bundle-server.mjs (npm run build:server); edit that file.
/**
 * Runs the bundled server (dist/server.cjs) from V8's code cache when there is one.
 *
 * Why: compiling the 2.4 MB bundle was the largest single cost of a start (~200 ms of CPU, issue 13).
 * Node 20 has no compile cache for ES modules (module.enableCompileCache() arrived in 22.1), so the
 * bundle is CommonJS and compiled here with vm.Script, which takes and produces V8's cached data. The
 * first start compiles as usual and writes the cache (5 s after start, or as the process exits,
 * whichever is first); later starts deserialize it instead. V8 refuses a cache made by another V8,
 * or with other flags (it is then rewritten). V8 checks the source only by its length, so the file name
 * carries a hash of the bundle's text (a few milliseconds), of Node's flags, Node's version and the
 * architecture; a new build's first start deletes the caches of older ones.
 *
 * The cache is code, so it is kept with the code: $CACHE_DIRECTORY (systemd's CacheDirectory=) when
 * set, else dist/.cache. Never in DATA_DIR. When neither can be written, starts are only slower.
 * Deleting it is always safe.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Module, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const dir = dirname(fileURLToPath(import.meta.url));
const filename = join(dir, 'server.cjs');
const cacheDir = process.env.CACHE_DIRECTORY?.split(':')[0] || join(dir, '.cache');
const source = readFileSync(filename, 'utf8').replace(/^#!/, '//'); // the shebang, kept as a comment so line numbers hold
const hex = (text) => createHash('sha256').update(text).digest('hex');
const sourceKey = `server-${hex(source).slice(0, 20)}-`;
// Node's flags are part of what V8 checks: a start with other flags (`node dist/main.js migrate` without
// the heap flags `npm start` uses) keeps its own cache instead of replacing the other one's each time.
const cacheName = `${sourceKey}${hex(process.execArgv.join(' ')).slice(0, 8)}-${process.version}-${process.arch}.v8`;
const cacheFile = join(cacheDir, cacheName);

// V8 does not check the integrity of cached data (a damaged file crashes the process), so the file is the
// SHA-256 of the data followed by the data, and one whose hash does not match is not given to V8.
const digest = (data) => createHash('sha256').update(data).digest();
let cachedData, damaged = false;
try {
  const file = readFileSync(cacheFile);
  const data = file.subarray(32);
  if (file.length > 32 && digest(data).equals(file.subarray(0, 32))) cachedData = data;
  else damaged = true;
} catch { /* none yet */ }
// The bundle's import() calls (packages loaded on first use) are `__load(…)`: this module's own import(),
// resolved from dist/ as the bundle's would be (scripts/bundle-server.mjs says why).
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __load) {${source}\n})`, { filename, cachedData });
cachedData = undefined;
/** What happened to the cache this start: "hit", "miss" (none) or "rejected" (made for another V8, flags or source). */
globalThis[Symbol.for('switchboard.codeCache')] = script.cachedDataRejected === false ? 'hit' : script.cachedDataRejected || damaged ? 'rejected' : 'miss';

// A CommonJS module like any other: in require.cache under its file name, so the chunks the bundle
// loads on first use (dist/chunks/*.cjs, which require('../server.cjs')) get this instance, not a second one.
const require = createRequire(filename);
const mod = new Module(filename);
mod.filename = filename;
mod.paths = Module._nodeModulePaths(dir);
require.cache[filename] = mod;
if (globalThis[Symbol.for('switchboard.codeCache')] !== 'hit') {
  let saved = false;
  const save = () => {
    if (saved) return;
    saved = true;
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      const data = script.createCachedData();
      mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
      for (const f of readdirSync(cacheDir)) if (/^server-.*\.v8$/.test(f) && !f.startsWith(sourceKey)) rmSync(join(cacheDir, f), { force: true });
      const fd = openSync(tmp, 'w', 0o600);
      try { writeSync(fd, digest(data)); writeSync(fd, data); } finally { closeSync(fd); }
      renameSync(tmp, cacheFile);
    } catch {
      rmSync(tmp, { force: true }); // a read-only installation: no cache, only a slower start
    }
  };
  setTimeout(save, 5000).unref();
  process.once('exit', save);
}
script.runInThisContext().call(mod.exports, mod.exports, require, mod, filename, dir, (specifier) => import(specifier));
mod.loaded = true;
