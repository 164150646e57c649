#!/usr/bin/env node
// @ts-check
/**
 * Bundles the server into dist/server.cjs (plus dist/chunks/ for what is imported on first use), with
 * Vite (rolldown) in SSR mode. Why: start-to-ready was mostly module loading — some 600 small ES
 * module files (Kysely alone 262, zod 95, Hono 38) read, parsed and linked one by one. One file
 * starts about twice as fast (bench/start.ts). What is bundled is what every request needs and is
 * pure JavaScript; native modules, CommonJS packages and every integration loaded on first use
 * (Stripe, Twilio, mail, grammY, pg, the AI SDK, the media and document packages …) stay in
 * node_modules and are imported from there when first needed, exactly as before.
 *
 * The bundle is CommonJS, started by dist/main.js (written from scripts/main-loader.mjs), which
 * compiles it with V8's code cache: Node 20 has no compile cache for ES modules, and compiling the
 * bundle was the largest single cost of a start (bench/start.ts).
 *
 *   node scripts/bundle-server.mjs          (npm run build:server)
 */
import { chmodSync, copyFileSync, cpSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Pure-ESM packages every request needs: inlined into the bundle. Everything else stays external. */
const BUNDLED = ['kysely', 'zod', 'hono', '@hono/node-server', '@hono/zod-openapi', '@hono/zod-validator', '@asteasolutions/zod-to-openapi', 'croner', 'marked'];

// What an earlier build left (the bundle, its chunks, or the per-file output of the tsc build this replaced);
// the build stamps of scripts/build-if-stale.mjs (dist/.build-*) stay.
const DIST = join(ROOT, 'dist');
if (existsSync(DIST)) for (const name of readdirSync(DIST)) if (!name.startsWith('.build-')) rmSync(join(DIST, name), { recursive: true, force: true });

/**
 * import() of the packages loaded on first use, in the bundle, calls `__load` (same length, so the source map
 * holds), which the loader passes in: it is its own import(). A vm.Script could import() only through
 * vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER, which Node 20 drops when the script comes from the code cache
 * ("A dynamic import callback was not specified"). Chunks are loaded by require and must not import() at all.
 */
const IMPORT = /(?<![\w$.])import\(/g;
const importThroughLoader = {
  name: 'switchboard:import-through-loader',
  /** @param {string} code @param {{ isEntry: boolean, fileName: string }} chunk */
  renderChunk(code, chunk) {
    if (!IMPORT.test(code)) return null;
    if (!chunk.isEntry) throw new Error(`bundle-server: ${chunk.fileName} uses import(); only the entry may (through the loader)`);
    if (/(?<![\w$.])__load\b/.test(code)) throw new Error('bundle-server: the bundle already uses the name __load');
    return { code: code.replace(IMPORT, '__load('), map: null };
  },
};

/**
 * zod's namespace object is used whole (the OpenAPI layer extends it), so every one of its 60-odd message
 * locales was bundled (~245 KB) though only English is ever used: its locale index is the English one here.
 */
const ZOD_LOCALES = '\0switchboard:zod-locales-en';
const zodEnglishOnly = {
  name: 'switchboard:zod-english-only',
  enforce: 'pre',
  /** @param {string} source @param {string | undefined} importer */
  resolveId(source, importer) {
    if (source === '../locales/index.js' && importer && /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(importer)) return ZOD_LOCALES;
    return null;
  },
  /** @param {string} id */
  load(id) {
    return id === ZOD_LOCALES ? `export { default as en } from ${JSON.stringify(join(ROOT, 'node_modules', 'zod', 'v4', 'locales', 'en.js'))};` : null;
  },
};

await build({
  configFile: false,
  root: ROOT,
  logLevel: 'warn',
  publicDir: false,
  ssr: { noExternal: BUNDLED, target: 'node' },
  plugins: [zodEnglishOnly, importThroughLoader],
  build: {
    ssr: 'src/main.ts',
    outDir: 'dist',
    emptyOutDir: false,
    target: 'node20',
    minify: false,
    sourcemap: true,
    reportCompressedSize: false,
    copyPublicDir: false,
    rolldownOptions: {
      output: { comments: false, minify: { compress: false, mangle: false, codegen: { removeWhitespace: false, asciiOnly: true } }, format: 'cjs', entryFileNames: 'server.cjs', chunkFileNames: 'chunks/[name]-[hash].cjs' },
      checks: { pluginTimings: false },
    },
  },
});
// The price table is inlined in the bundle; a copy stays where the per-file build put it, for operators who read it.
cpSync(join(ROOT, 'src', 'llm', 'prices.json'), join(ROOT, 'dist', 'llm', 'prices.json'));

// Start loads the bundle's static imports and nothing else: besides Node's own modules, only these
// (native or CommonJS) packages every request needs. An integration that slips into this list would be
// loaded at every start, so the build stops and says which. sqlite-vec: the SQLite store loads its
// extension into the connection as it opens it (knowledge search by vector, issue 18); a few lines of JS.
const AT_START = new Set(['pino', 'better-sqlite3', 'argon2', 'sqlite-vec']);
const bundle = readFileSync(join(DIST, 'server.cjs'), 'utf8');
const imported = [...bundle.matchAll(/^(?:let|var|const)\s+[\w$]+\s*=\s*(?:__toESM\()?require\("([^"]+)"\)/gm)].map((m) => m[1]);
const unexpected = imported.filter((id) => id && !isBuiltin(id) && !id.startsWith('.') && !AT_START.has(id));
if (unexpected.length) {
  console.error(`bundle-server: dist/server.cjs would load ${unexpected.join(', ')} at start; load them on first use (infra/lazy.ts or import()), or add them to AT_START with the reason.`);
  process.exit(1);
}

// The entry point: the loader (scripts/main-loader.mjs), which runs the bundle from V8's code cache.
copyFileSync(join(ROOT, 'scripts', 'main-loader.mjs'), join(DIST, 'main.js'));
chmodSync(join(DIST, 'main.js'), 0o755);
