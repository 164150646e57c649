/**
 * scripts/main-loader.mjs (dist/main.js): runs the CommonJS bundle from V8's code cache. Checked on a copy in a
 * scratch tree with a small stand-in bundle: the first start compiles and writes the cache as it exits, the next
 * one uses it; a changed bundle — even of the same length, which V8 alone would accept — is compiled again and
 * its cache replaces the old one; a damaged cache is refused and rewritten; a chunk that requires the bundle gets
 * the running instance, not a second one; the loader's import (`__load`) works inside it; $CACHE_DIRECTORY is
 * honoured; an unwritable cache folder only means no cache.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOADER = fileURLToPath(new URL('../../scripts/main-loader.mjs', import.meta.url));
let root = '';
afterEach(() => { if (root) { chmodSync(root, 0o700); rmSync(root, { recursive: true, force: true }); } });

/** A stand-in bundle: counts its own evaluations, loads a chunk on first use that requires it back, imports a builtin. */
const bundle = (tag: string) => `#!/usr/bin/env node
globalThis.evaluations = (globalThis.evaluations ?? 0) + 1;
exports.tag = ${JSON.stringify(tag)};
(async () => {
  const chunk = await Promise.resolve().then(() => require('./chunks/lazy.cjs'));
  const { EOL } = await __load('node:os');
  console.log(JSON.stringify({ cache: globalThis[Symbol.for('switchboard.codeCache')], tag: chunk.tagOfServer(), evaluations: globalThis.evaluations, eol: EOL === '\\n', argv: process.argv.slice(2) }));
})();
`;

function setUp(tag = 'one') {
  root = mkdtempSync(join(tmpdir(), 'sb-loader-'));
  mkdirSync(join(root, 'dist', 'chunks'), { recursive: true });
  writeFileSync(join(root, 'dist', 'main.js'), readFileSync(LOADER, 'utf8'));
  writeFileSync(join(root, 'dist', 'server.cjs'), bundle(tag));
  writeFileSync(join(root, 'dist', 'chunks', 'lazy.cjs'), `const server = require('../server.cjs'); exports.tagOfServer = () => server.tag;`);
}

function start(env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'main.js'), 'serve'], { encoding: 'utf8', env: { ...process.env, CACHE_DIRECTORY: '', ...env } });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { cache: string; tag: string; evaluations: number; eol: boolean; argv: string[] };
}
const caches = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.v8'));

describe('dist/main.js, the code-cache loader', () => {
  it('compiles and caches on the first start, uses the cache on the next, and compiles again when the bundle changes', () => {
    setUp('one');
    expect(start()).toEqual({ cache: 'miss', tag: 'one', evaluations: 1, eol: true, argv: ['serve'] });
    const cacheDir = join(root, 'dist', '.cache');
    const [first] = caches(cacheDir);
    expect(first).toMatch(new RegExp(`^server-[0-9a-f]{20}-[0-9a-f]{8}-${process.version}-${process.arch}\\.v8$`));
    expect(start()).toMatchObject({ cache: 'hit', tag: 'one', evaluations: 1 });

    // Another bundle of the very same length: V8 would take the old cache (and run the old code); its hash differs.
    writeFileSync(join(root, 'dist', 'server.cjs'), bundle('two'));
    expect(start()).toMatchObject({ cache: 'miss', tag: 'two', evaluations: 1 });
    expect(start()).toMatchObject({ cache: 'hit', tag: 'two' });
    const [second] = caches(cacheDir);
    expect(caches(cacheDir)).toEqual([second]); // the older bundle's cache is gone
    expect(second).not.toBe(first);

    // A damaged cache is refused by V8, the bundle compiled from its source, and the cache written again.
    const bytes = readFileSync(join(cacheDir, second!));
    bytes.fill(7, 64, 256);
    writeFileSync(join(cacheDir, second!), bytes);
    expect(start()).toMatchObject({ cache: 'rejected', tag: 'two', evaluations: 1 });
    expect(start()).toMatchObject({ cache: 'hit', tag: 'two' });
  });

  it('keeps the cache in $CACHE_DIRECTORY when systemd gives one, and runs without a cache where nothing can be written', () => {
    setUp();
    const systemd = join(root, 'cache');
    expect(start({ CACHE_DIRECTORY: systemd }).cache).toBe('miss');
    expect(caches(systemd)).toHaveLength(1);
    expect(start({ CACHE_DIRECTORY: systemd }).cache).toBe('hit');

    if (process.getuid?.() === 0) return; // root writes anywhere: the read-only case cannot be made here
    const readOnly = join(root, 'ro');
    mkdirSync(readOnly, { mode: 0o500 });
    expect(start({ CACHE_DIRECTORY: join(readOnly, 'cache') })).toMatchObject({ cache: 'miss', tag: 'one' });
    expect(start({ CACHE_DIRECTORY: join(readOnly, 'cache') }).cache).toBe('miss');
  });
});
