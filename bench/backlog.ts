/**
 * The per-message lookups on a large installation: does a message cost the same with 20,000 open
 * conversations and 10,000 webhooks waiting as on an almost empty database? (issue 13: a claim and a
 * conversation lookup that walk every open row make the inbox slowest exactly when it is behind.)
 * And a customer's dashboard inbox (its first page, newest activity first, over all of their agents), and a /metrics scrape's inbox and outbox counts with 200,000 answered messages (and as many reply
 * parts sent) behind them: on SQLite a scrape is synchronous, so its time is time the server stands still.
 *
 *   npm run bench -- backlog            (SQLite in memory; TEST_DATABASE_URL=postgres://… for PostgreSQL)
 *   BENCH_BACKLOG_CONVERSATIONS=20000  BENCH_BACKLOG_WAITING=10000  BENCH_BACKLOG_FINISHED=200000  BENCH_BACKLOG_N=300
 *
 * The store is the real one (repositories, migrations; on PostgreSQL the tables are analyzed after
 * filling, as autovacuum would). Figure: each operation's p50/p99 on the large
 * database; reference: the same operation, same run, on a database holding 100 of each. Target: the
 * ratio stays under 2 (the cost does not grow with the installation). Writes bench/results/backlog-<ts>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { sql } from 'kysely';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openTestStore } from '../test/helpers/test-store.js';
import { manualClock } from '../test/helpers/fakes.js';
import { AGENT_DEFAULTS } from '../src/domain/schemas.js';
import { RESULTS_DIR, intEnv, stats, statsHead, statsRow, type Stats } from './lib.js';
import type { Store } from '../src/domain/ports.js';

const CONVERSATIONS = intEnv('BENCH_BACKLOG_CONVERSATIONS', 20_000, 100, 1_000_000);
const WAITING = intEnv('BENCH_BACKLOG_WAITING', 10_000, 100, 1_000_000);
const FINISHED = intEnv('BENCH_BACKLOG_FINISHED', 200_000, 100, 10_000_000);
const N = intEnv('BENCH_BACKLOG_N', 300, 10, 100_000);
const AGENTS = 50;
const pg = !!process.env.TEST_DATABASE_URL;

type Measured = { open: Stats; claim: Stats; recall: Stats; inbox: Stats; scrape: Stats };

async function measure(conversations: number, waiting: number, finished: number): Promise<Measured> {
  const clock = manualClock();
  const { store, db, close } = await openTestStore(clock);
  try {
    const owner = await store.users.insert({ email: 'bench@example.com', passwordHash: 'x', role: 'customer' });
    const agents: string[] = [];
    for (let a = 0; a < AGENTS; a++) agents.push((await store.agents.insert(agentRow(owner.id, a))).id);
    const pairs: [string, string][] = [];
    for (let i = 0; i < conversations; i++) {
      const p = await store.people.upsert('web', `bench-${i}`);
      const agentId = agents[i % AGENTS]!;
      const c = await store.conversations.create({ agentId, personId: p.id, channel: 'web' });
      pairs.push([agentId, p.id]);
      // Each conversation with a summary of an earlier talk; a third of them mention an order.
      await store.summaries.insert({ conversationId: c.id, agentId, personId: p.id, channel: 'web', summary: summaryText(i),
        startedAt: c.createdAt, endedAt: c.createdAt, messageCount: 6, model: 'bench', inputTokens: 0, outputTokens: 0, costUsd: 0 });
    }
    // `waiting` webhooks over waiting / 2 conversations (two each, so half wait behind the other).
    let next = 0;
    const threads = Math.max(1, Math.floor(waiting / 2));
    const enqueue = (n: number) => store.inbox.acceptMany(Array.from({ length: n }, () => {
      const k = next++;
      return { channel: 'telegram', account: 'bench', externalId: `m${k}`, threadKey: `telegram:bench:${k % threads}`,
        agentId: null, sender: `s${k}`, senderName: null, text: 'hello', payload: null, orderKey: '' };
    }), clock.now().toISOString());
    for (let i = 0; i < waiting; i += 500) await enqueue(Math.min(500, waiting - i));
    // PostgreSQL plans from statistics, which autovacuum gathers within a minute of such a change; a
    // fresh test schema has none yet, so gather them now as it would have.
    if (pg) await sql`analyze`.execute(db);
    clock.advance(1000);
    const open = await time(N, async (i) => { const [a, p] = pairs[(i * 7919) % pairs.length]!; await store.conversations.open(a, p); });
    // A claim of eight as the worker makes it, each then finished; eight new webhooks arrive after each
    // (not timed), so the backlog stays the same size throughout.
    const claim = await time(N, async () => {
      const now = clock.now().toISOString();
      const items = await store.inbox.claimMany(now, new Date(clock.now().getTime() + 60_000).toISOString(), undefined, 8);
      for (const it of items) await store.inbox.finish(it.id, 'done', now);
      return items.length;
    }, async (claimed) => { await enqueue(claimed); });
    // What memory recall asks before a reply: this person's summaries with this agent that match the message.
    const recall = await time(N, async (i) => {
      const [agentId, personId] = pairs[(i * 7919) % pairs.length]!;
      await store.summaries.search({ agentId, personIds: [personId], q: 'where is my order, the parcel was due on friday', limit: 20 });
    });
    // The dashboard inbox's first page for the customer who owns these agents (it reloads as conversations arrive).
    const inbox = await time(Math.min(N, 100), async () => { await store.conversations.inboxPage({ ownerId: owner.id, limit: 51 }); });
    // Answered messages and their sent reply parts, as months of traffic leave them (rows written in bulk:
    // only their number and statuses matter here), then the counts a /metrics scrape reads.
    for (let i = 0; i < finished; i += 10_000) {
      const n = Math.min(10_000, finished - i);
      // The numbers i … i + n - 1 as rows of x.
      const xs = sql.raw(pg ? `select generate_series(${i}, ${i + n - 1}) as x` : `with recursive r(x) as (select ${i} union all select x + 1 from r where x < ${i + n - 1}) select x from r`);
      await sql`insert into inbox (id, seq, channel, account, external_id, thread_key, agent_id, sender, sender_name, text, payload, status, attempts, locked_until, reply_ready, last_error, received_at, processed_at, order_key)
        select 'done-' || x, 1000000000 + x, 'telegram', 'bench', 'done-' || x, 'telegram:bench:done-' || x, null, 's', null, 'hello', 'null', 'done', 1, null, 1, null, ${clock.now().toISOString()}, ${clock.now().toISOString()}, ''
        from (${xs}) as xs`.execute(db);
      await sql`insert into outbox (id, inbox_id, part, channel, agent_id, recipient, text, status, attempts, provider_message_id, last_error, created_at, sent_at, delivery, delivery_at)
        select 'part-' || x, 'done-' || x, 0, 'telegram', null, 's', 'Echo: hello', 'sent', 1, null, null, ${clock.now().toISOString()}, ${clock.now().toISOString()}, null, null
        from (${xs}) as xs`.execute(db);
    }
    if (pg) await sql`analyze`.execute(db);
    await store.inbox.foldCounts(); // as the server's sweep does every minute (PostgreSQL; nothing to do on SQLite)
    const scrape = await time(Math.min(N, 50), async () => { await Promise.all([store.inbox.counts(), store.analytics.outboxCounts()]); });
    return { open, claim, recall, inbox, scrape };
  } finally {
    await close();
  }
}

function agentRow(ownerId: string, a: number): Parameters<Store['agents']['insert']>[0] {
  return { ownerId, name: `Bench ${a}`, slug: `bench-${a}`, description: '', icon: '', model: null, fallbackModel: null, temperature: 0.7, status: 'active', listed: false,
    persona: { soul: '', agents: '', tools: '', user: '', instructions: '' }, ...AGENT_DEFAULTS };
}

const WORDS = 'delivery refund weekend invoice address password account shipping parcel friday monday price colour size return exchange voucher discount'.split(' ');
function summaryText(i: number): string {
  const words = Array.from({ length: 40 }, (_, k) => WORDS[(i * 31 + k * 7) % WORDS.length]!);
  return `The person asked about ${i % 3 === 0 ? 'their order and ' : ''}${words.join(' ')}.`;
}

async function time(n: number, f: (i: number) => Promise<unknown>, after?: (r: number) => Promise<void>): Promise<Stats> {
  const xs: number[] = [];
  for (let i = -Math.min(10, n); i < n; i++) { // the first ten warm up
    const t0 = performance.now();
    const r = await f(i < 0 ? n - i : i);
    if (i >= 0) xs.push(performance.now() - t0);
    await after?.(Number(r));
  }
  return stats(xs);
}

const started = new Date().toISOString();
const t0 = performance.now();
const small = await measure(100, 100, 100);
const large = await measure(CONVERSATIONS, WAITING, FINISHED);
const rows: [string, keyof Measured][] = [['open conversation of a person', 'open'], ['claim of 8 (and their finish)', 'claim'], ['memory recall (summary search)', 'recall'], ['a customer\'s dashboard inbox, first page', 'inbox'], ['/metrics inbox and outbox counts', 'scrape']];
console.log(`Per-message lookups on a large installation (ms) — node ${process.version}, ${cpus().length} CPUs, ${pg ? 'PostgreSQL' : 'SQLite'}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`large = ${CONVERSATIONS} open conversations (each with a summary) over ${AGENTS} agents, ${WAITING} webhooks waiting and ${FINISHED} answered (each with a reply part sent); reference = 100 of each, same run\n`);
console.log(statsHead(52));
const out: Record<string, unknown> = {};
let ok = true;
for (const [label, k] of rows) {
  console.log(statsRow(`${label}: large`, large[k], 52));
  console.log(statsRow(`${label}: reference`, small[k], 52));
  const ratio = large[k].p50 / small[k].p50;
  const met = ratio <= 2;
  ok &&= met;
  console.log(`    ratio p50 ${ratio.toFixed(2)}× (target ≤2×: the cost does not grow with the installation) ${met ? 'MET' : 'OVER'}`);
  if (k === 'inbox') console.log(`    (on SQLite a page reads each agent's share first — here ${AGENTS} × 8 rows against 2 per agent in the reference — and a page's worth per agent only when one agent had all its share on the page)`);
  out[k] = { large: large[k], reference: small[k], ratioP50: Math.round(ratio * 100) / 100, met };
}
mkdirSync(RESULTS_DIR, { recursive: true });
const name = `backlog${pg ? '-pg' : ''}-${started.replace(/[:.]/g, '-')}.json`;
const json = JSON.stringify({ startedAt: started, environment: { node: process.version, cpus: cpus().length, database: pg ? 'postgresql' : 'sqlite', loadavg: loadavg() },
  sizes: { conversations: CONVERSATIONS, waiting: WAITING, finished: FINISHED, agents: AGENTS, n: N }, results: out, seconds: Math.round(performance.now() - t0) / 1000 }, null, 2) + '\n';
writeFileSync(join(RESULTS_DIR, name), json);
writeFileSync(join(RESULTS_DIR, `latest-backlog${pg ? '-pg' : ''}.json`), json);
console.log(`\nwritten: bench/results/${name}; took ${Math.round(performance.now() - t0) / 1000} s`);
if (!ok) process.exitCode = 1;
