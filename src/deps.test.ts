/**
 * Integrations are loaded when used, not at start: a server with none configured, built by
 * createServices()/createApp() and answering requests, has not loaded Stripe, nodemailer, Twilio,
 * grammY, pg, pg-boss, the media packages (sharp, music-metadata, file-type, aws4fetch), Lighthouse and chrome-launcher, the document readers (unpdf, mammoth), robots-parser, the web tools' HTML parsers, prom-client's default metrics (which bring
 * @opentelemetry/api) or the AI SDK. Run in a fresh Node process, since the test runner's own
 * process may have loaded any of them for other tests.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const SCRIPT = `
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire, register } from 'node:module';
// ES modules (the AI SDK is imported, not required): the loader hooks thread writes every URL resolved from now on.
const seenFile = process.env.SB_SEEN; // set by the test: the hooks thread has its own copy of the environment
register('data:text/javascript,' + encodeURIComponent("import { appendFileSync } from 'node:fs'; export async function resolve(s, c, n) { const r = await n(s, c); appendFileSync(process.env.SB_SEEN, r.url + String.fromCharCode(10)); return r; }"));
const { loadConfig } = await import('./src/config/config.ts');
const { createServices } = await import('./src/deps.ts');
const { createApp } = await import('./src/app.ts');
const dir = mkdtempSync(join(tmpdir(), 'sb-lazy-'));
const { services } = await createServices(loadConfig({ DATA_DIR: dir, SWITCHBOARD_LOG_LEVEL: 'silent', SWITCHBOARD_SECRET_KEY: 'd'.repeat(64), OPENAI_API_KEY: 'k' }));
const app = createApp(services);
for (const path of ['/health', '/api/setup', '/api/openapi.json', '/api/agents']) await app.request(path);
await services.store.close();
rmSync(dir, { recursive: true, force: true });
const cjs = Object.keys(createRequire(import.meta.url).cache);
const esm = readFileSync(seenFile, 'utf8').split('\\n').filter(Boolean);
rmSync(seenFile, { force: true });
console.log(JSON.stringify([...cjs, ...esm]));
`;

describe('start loads what every request needs, and no integration', () => {
  it('has not loaded Stripe, mail, Twilio, grammY, pg, pg-boss, the HTML parsers, default metrics, the AI SDK, the media packages, Lighthouse, the document readers or the crawler', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], { cwd: ROOT, encoding: 'utf8', timeout: 90_000, env: { ...process.env, SB_SEEN: join(tmpdir(), `sb-lazy-seen-${process.pid}-${Date.now()}`) } });
    const loaded: string[] = JSON.parse(out.trim().split('\n').at(-1)!);
    const pkg = (name: string) => loaded.filter((f) => f.includes(`/node_modules/${name}/`));
    for (const name of ['stripe', 'nodemailer', 'twilio', 'grammy', 'pg', 'pg-boss', 'linkedom', 'turndown', '@mozilla/readability', '@opentelemetry/api', 'ai', '@ai-sdk/openai', '@ai-sdk/anthropic', 'sharp', 'music-metadata', 'file-type', 'aws4fetch',
      // (sqlite-vec is not in the list: the SQLite store loads its extension into the connection as it opens it.)
      'lighthouse', 'chrome-launcher', 'unpdf', 'mammoth', 'robots-parser']) {
      expect(pkg(name), name).toEqual([]);
    }
    // …while what requests need is there (the check above would pass vacuously if nothing were seen).
    expect(pkg('better-sqlite3').length).toBeGreaterThan(0);
    expect(pkg('prom-client').length).toBeGreaterThan(0);
    expect(pkg('kysely').length).toBeGreaterThan(0); // ES modules are seen too
  }, 120_000);
});
