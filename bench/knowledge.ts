/**
 * Knowledge search (issue 18): p95 of one agent's search at 1k, 10k and 50k chunks, full text alone and hybrid
 * (full text + nearest vectors, fused by reciprocal rank), beside a reference measured in the same run: a naive
 * LIKE count over the same agent's chunks (what search would cost without an index).
 *
 *   npm run bench -- knowledge          (SQLite in memory, sqlite-vec loaded; TEST_DATABASE_URL=postgres://… for PostgreSQL)
 *   BENCH_KNOWLEDGE_SIZES=1000,10000,50000  BENCH_KNOWLEDGE_QUERIES=50  BENCH_KNOWLEDGE_DIMS=256
 *
 * The store is the real one (repositories/knowledge.ts, the migrations, FTS5 / tsvector); each size is its own
 * agent in one database, so every query is scoped as in production. Embeddings are fake but deterministic (a
 * hashed bag of words, unit length), so the vector side does real work; the embedding call itself (a network
 * round trip to the provider) is not part of the figure. Writes bench/results/knowledge-<ts>.json and latest-knowledge.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { makeTestServices } from '../test/helpers/test-services.js';
import { fuse } from '../src/services/knowledge.js';
import { RESULTS_DIR, intEnv, stats, statsHead, statsRow, type Stats } from './lib.js';

const SIZES = (process.env.BENCH_KNOWLEDGE_SIZES ?? '1000,10000,50000').split(',').map(Number);
const QUERIES = intEnv('BENCH_KNOWLEDGE_QUERIES', 50, 10, 100_000);
const DIMS = intEnv('BENCH_KNOWLEDGE_DIMS', 256, 8, 4096);
const MODEL = 'bench:fake-embedding';
const pg = !!process.env.TEST_DATABASE_URL;

// A deterministic corpus: 3,000 made-up words with a Zipf-like frequency, 90–130 words a chunk.
let seed = 42;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const SYL = ['ka', 'lo', 'mi', 'ru', 'sen', 'ta', 'vo', 'ne', 'pri', 'dal', 'quo', 'ber', 'fin', 'gu', 'zel', 'mor'];
const VOCAB = Array.from({ length: 3000 }, (_, i) => SYL[i % 16]! + SYL[(i >> 4) % 16]! + SYL[(i >> 8) % 16]! + (i >> 12 ? 'x' : ''));
const word = () => VOCAB[Math.min(VOCAB.length - 1, Math.floor(VOCAB.length * rnd() ** 2.2))]!;
const chunkText = () => Array.from({ length: 90 + Math.floor(rnd() * 40) }, word).join(' ');

/** A hashed bag of words, unit length: similar texts get similar vectors. */
function embed(text: string): number[] {
  const v = new Array<number>(DIMS).fill(0);
  for (const w of text.split(/\s+/)) {
    let h = 2166136261;
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619);
    v[(h >>> 0) % DIMS]! += (h & 1) ? 1 : -1;
  }
  return v;
}

const t = await makeTestServices();
const { store, db, close } = t;
const actor = (await t.as('owner')).actor;
const vectorIndex = await store.knowledge.vectorIndex();

async function agentWith(n: number): Promise<string> {
  const { id } = await t.services.agents.create(actor, { name: `Bench ${n}` });
  const src = await store.knowledge.createSource({ agentId: id, type: 'site', title: 'Bench site', url: 'https://bench.example/', maxPages: 50_000, syncEveryHours: 0 });
  const perDoc = 100;
  for (let d = 0; d * perDoc < n; d++) {
    const chunks = Array.from({ length: Math.min(perDoc, n - d * perDoc) }, (_, i) => ({ title: `Page ${d}`, heading: `Section ${i}`, url: `https://bench.example/p/${d}`, page: null, text: chunkText() }));
    await store.knowledge.putDocument({ sourceId: src.id, agentId: id, url: `https://bench.example/p/${d}`, title: `Page ${d}`, contentHash: `h${d}`, chunks });
  }
  for (;;) {
    const batch = await store.knowledge.chunksToEmbed(src.id, MODEL, 1000);
    if (!batch.length) break;
    await store.knowledge.setVectors(MODEL, batch.map((c) => ({ id: c.id, vector: embed(c.text) })));
  }
  // PostgreSQL plans from statistics, which autovacuum refreshes after a bulk load like this one; do it now.
  if (pg) await sql`analyze knowledge_chunks`.execute(db);
  return id;
}

const queries = Array.from({ length: 50 }, () => Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => VOCAB[Math.floor(rnd() * 600)]!).join(' '));
async function time(fn: (q: string) => Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < 5; i++) await fn(queries[i % queries.length]!); // warm up
  const xs: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const q = queries[i % queries.length]!;
    const t0 = performance.now();
    await fn(q);
    xs.push(performance.now() - t0);
  }
  return stats(xs);
}

type Row = { chunks: number; buildS: number; reference: Stats; fulltext: Stats; hybrid: Stats };
const rows: Row[] = [];
for (const n of SIZES) {
  const t0 = performance.now();
  const agentId = await agentWith(n);
  const buildS = (performance.now() - t0) / 1000;
  const reference = await time((q) => db.selectFrom('knowledge_chunks').select((eb) => eb.fn.countAll().as('n')).where('agent_id', '=', agentId).where('text', 'like', `%${q.split(' ')[0]}%`).execute());
  const fulltext = await time((q) => store.knowledge.search(agentId, q, 5));
  const hybrid = await time(async (q) => {
    const [text, near] = await Promise.all([store.knowledge.search(agentId, q, 50), store.knowledge.vectorSearch(agentId, MODEL, embed(q), 50)]);
    return fuse([text, near], 5);
  });
  rows.push({ chunks: n, buildS, reference, fulltext, hybrid });
}
await close();

const w = 56;
console.log(`Knowledge search, one agent (ms) — node ${process.version}, ${cpus().length} CPUs, ${pg ? 'PostgreSQL' : 'SQLite in memory'}, vector index: ${vectorIndex}, ${DIMS}-dim fake embeddings, ${QUERIES} queries a row, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(statsHead(w));
for (const r of rows) {
  console.log(`── ${r.chunks.toLocaleString('en')} chunks (built in ${r.buildS.toFixed(1)} s)`);
  console.log(statsRow('  reference: LIKE count over the agent\'s chunks', r.reference, w));
  console.log(statsRow('  full text (FTS5/tsvector), top 5', r.fulltext, w));
  console.log(statsRow(`  hybrid: full text + vectors (${vectorIndex}), RRF top 5`, r.hybrid, w));
}
const last = rows.at(-1);
if (last) console.log(`at ${last.chunks.toLocaleString('en')} chunks: p95 full text ${last.fulltext.p95.toFixed(2)} ms, hybrid ${last.hybrid.p95.toFixed(2)} ms (reference LIKE scan ${last.reference.p95.toFixed(2)} ms; the query's embedding call is not included).`);

mkdirSync(RESULTS_DIR, { recursive: true });
const result = { bench: 'knowledge', at: new Date().toISOString(), database: pg ? 'postgres' : 'sqlite', vectorIndex, dims: DIMS, queries: QUERIES, rows, load: loadavg() };
const name = `knowledge-${result.at.replace(/[:.]/g, '-')}.json`;
writeFileSync(join(RESULTS_DIR, name), JSON.stringify(result, null, 2));
writeFileSync(join(RESULTS_DIR, `latest-knowledge${pg ? '-pg' : ''}.json`), JSON.stringify(result, null, 2));
console.log(`written: bench/results/${name} and bench/results/latest-knowledge${pg ? '-pg' : ''}.json`);
