/**
 * The public chat page's weight: the JavaScript and CSS bytes Chromium transfers to open
 * `/chat/<slug>` (issue 13, target 5: at most 80 KB compressed), then after the first reply
 * (which loads the Markdown renderer), and the same page without compression as the reference.
 *
 *   npm run bench page-weight
 *
 * Needs the built web app (web/build); builds it (`npm run build:web`) when it is missing.
 * Runs the real server on SQLite against the fake OpenAI server and the system Chromium
 * (E2E_CHROMIUM, default /usr/bin/chromium). Bytes are Chromium's own count of what came over
 * the wire per response (CDP Network.loadingFinished encodedDataLength: compressed body plus
 * response headers), summed over scripts and stylesheets.
 * Writes bench/results/page-weight-<ts>.json and latest-page-weight.json.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from '@playwright/test';
import { startFakeOpenAI } from '../test/fakes/openai-server.js';
import { startServer } from '../src/server.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const RESULTS_DIR = join(HERE, 'results');
const TARGET_KB = 80;

if (!existsSync(join(ROOT, 'web', 'build', 'index.html'))) {
  console.log('page-weight: web/build is missing, building the web app first (npm run build:web) …');
  execSync('npm run build:web', { cwd: ROOT, stdio: 'inherit' });
}

interface Weight { js: number; css: number; files: number; total: number }

/** Opens the page with Chromium's network domain on; sums encodedDataLength of scripts and stylesheets. */
async function measure(page: Page, open: () => Promise<void>, acceptEncoding?: string): Promise<Weight> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (acceptEncoding !== undefined) await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': acceptEncoding } });
  const types = new Map<string, string>();
  const weight: Weight = { js: 0, css: 0, files: 0, total: 0 };
  cdp.on('Network.responseReceived', (e) => types.set(e.requestId, e.type));
  cdp.on('Network.loadingFinished', (e) => {
    const type = types.get(e.requestId);
    if (type === 'Script') weight.js += e.encodedDataLength;
    else if (type === 'Stylesheet') weight.css += e.encodedDataLength;
    else return;
    weight.files++;
  });
  await open();
  await page.waitForLoadState('networkidle');
  weight.total = weight.js + weight.css;
  await cdp.detach();
  return weight;
}

const fake = await startFakeOpenAI();
fake.setDefault(() => 'Here is **a reply** with a [link](https://example.com) and a list:\n\n- one\n- two');
const dataDir = mkdtempSync(join(tmpdir(), 'sb-bench-page-'));
const server = await startServer({
  port: 0, host: '127.0.0.1',
  env: {
    DATA_DIR: dataDir, SWITCHBOARD_SECRET_KEY: 'c'.repeat(64), SWITCHBOARD_LOG_LEVEL: 'error',
    OPENAI_API_KEY: 'k', OPENAI_BASE_URL: fake.url, SWITCHBOARD_DEFAULT_MODEL: 'openai:gpt-4o-mini',
    SWITCHBOARD_ADMIN_EMAIL: 'bench@example.com', SWITCHBOARD_ADMIN_PASSWORD: 'correct horse battery',
  },
});
const base = `http://127.0.0.1:${server.port}`;
const browser = await chromium.launch({
  executablePath: process.env.E2E_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  const post = async (path: string, body: unknown, token?: string) => {
    const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return r.json() as Promise<any>;
  };
  const { token } = await post('/api/auth/login', { email: 'bench@example.com', password: 'correct horse battery' });
  const agent = await post('/api/agents', { name: 'Page Weight', slug: 'page-weight' }, token);
  const url = `${base}/chat/${agent.slug}`;

  const context = await browser.newContext();
  const page = await context.newPage();
  // 1. Opening the chat page, as a first-time visitor's browser does (brotli and gzip accepted).
  const opened = await measure(page, async () => { await page.goto(url); await page.getByRole('textbox').first().waitFor(); });
  // 2. The first exchange: the reply's Markdown loads the renderer.
  const replied = await measure(page, async () => {
    await page.getByRole('textbox').first().fill('Hello');
    await page.keyboard.press('Enter');
    await page.locator('[data-role="assistant"] strong').first().waitFor({ timeout: 30_000 });
  });
  // 3. Reference: the same page when the browser accepts no compression.
  const page2 = await (await browser.newContext()).newPage();
  const plain = await measure(page2, async () => { await page2.goto(url); await page2.getByRole('textbox').first().waitFor(); }, 'identity');
  const page3 = await (await browser.newContext()).newPage();
  const gzipped = await measure(page3, async () => { await page3.goto(url); await page3.getByRole('textbox').first().waitFor(); }, 'gzip');

  const kb = (n: number) => (n / 1024).toFixed(1);
  const row = (label: string, w: Weight) => `│ ${label.padEnd(44)} │ ${kb(w.js).padStart(8)} │ ${kb(w.css).padStart(8)} │ ${kb(w.total).padStart(8)} │ ${String(w.files).padStart(5)} │`;
  console.log('page-weight: JavaScript + CSS Chromium transfers for the public chat page /chat/<slug> (KB = 1024 bytes)');
  console.log('┌──────────────────────────────────────────────┬──────────┬──────────┬──────────┬───────┐');
  console.log('│ load                                         │    JS KB │   CSS KB │ total KB │ files │');
  console.log('├──────────────────────────────────────────────┼──────────┼──────────┼──────────┼───────┤');
  console.log(row('open the page (brotli)', opened));
  console.log(row('+ first reply (loads the Markdown renderer)', replied));
  console.log(row('open the page, gzip only', gzipped));
  console.log(row('reference: open the page uncompressed', plain));
  console.log('└──────────────────────────────────────────────┴──────────┴──────────┴──────────┴───────┘');
  const ok = opened.total <= TARGET_KB * 1024;
  console.log(`target: opening the page transfers at most ${TARGET_KB} KB of JS+CSS: ${kb(opened.total)} KB, ${ok ? 'MET' : 'NOT MET'} ` +
    `(${(plain.total / Math.max(opened.total, 1)).toFixed(1)}× less than uncompressed; with the first reply ${kb(opened.total + replied.total)} KB)`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const result = { bench: 'page-weight', at: new Date().toISOString(), targetKB: TARGET_KB, met: ok, opened, firstReply: replied, gzipOnly: gzipped, uncompressed: plain };
  const json = JSON.stringify(result, null, 2);
  writeFileSync(join(RESULTS_DIR, `page-weight-${Date.now()}.json`), json);
  writeFileSync(join(RESULTS_DIR, 'latest-page-weight.json'), json);
  if (!ok) process.exitCode = 1;
} finally {
  await browser.close();
  await server.close();
  await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
}
