/**
 * scripts/build-if-stale.mjs (run by npm start) decides from modification times: a part is up to date
 * when its output and stamp exist and no source is newer than the stamp; test files do not count for the
 * server; a missing output or stamp is stale. Run with --check on a copy of the script in a scratch tree,
 * so nothing is built.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/build-if-stale.mjs', import.meta.url));
let root = '';

function file(rel: string, at: Date) {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, rel);
  utimesSync(p, at, at);
}

function check(...parts: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-if-stale.mjs'), '--check', ...parts], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

afterEach(() => { if (root) rmSync(root, { recursive: true, force: true }); });

describe('build-if-stale --check', () => {
  it('finds nothing to build when the stamps are newer than every source, and names the file that changed otherwise', () => {
    root = mkdtempSync(join(tmpdir(), 'sb-stale-'));
    mkdirSync(join(root, 'scripts'));
    copyFileSync(SCRIPT, join(root, 'scripts', 'build-if-stale.mjs'));
    const old = new Date(Date.now() - 3_600_000);
    const built = new Date(Date.now() - 1_800_000);
    for (const f of ['src/main.ts', 'src/llm/prices.json', 'package.json', 'package-lock.json', 'web/src/app.html', 'web/svelte.config.js']) file(f, old);
    for (const f of ['dist/main.js', 'web/build/index.html', 'dist/.build-server', 'dist/.build-web']) file(f, built);

    expect(check()).toEqual({ status: 0, out: '' });

    file('src/main.test.ts', new Date()); // tests are not part of the build
    expect(check('server').status).toBe(0);

    file('src/llm/prices.json', new Date());
    const server = check('server');
    expect(server.status).toBe(1);
    expect(server.out).toContain('server: stale (src/llm/prices.json changed since the last build)');
    expect(check('web').status).toBe(0); // the web app does not depend on the server's sources

    file('web/src/app.html', new Date());
    expect(check('web').out).toContain('web: stale (web/src/app.html changed since the last build)');

    rmSync(join(root, 'dist', '.build-web'));
    file('web/src/app.html', old);
    expect(check('web').out).toContain('web: stale (it has no build stamp)');
    rmSync(join(root, 'web', 'build'), { recursive: true });
    expect(check('web').out).toContain('web: stale (web/build/index.html is missing)');
  });

  it('at install (--prepare) skips a part whose sources are not there yet instead of failing, as the Dockerfile installs before copying them', () => {
    root = mkdtempSync(join(tmpdir(), 'sb-stale-'));
    mkdirSync(join(root, 'scripts'));
    copyFileSync(SCRIPT, join(root, 'scripts', 'build-if-stale.mjs'));
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-if-stale.mjs'), '--prepare'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('server not built at install (src is not there yet)');
    expect(r.stdout).toContain('web not built at install (web/src is not there yet)');
  });
});
