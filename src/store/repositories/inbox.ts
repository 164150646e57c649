import { SqliteAdapter, sql } from 'kysely';
import type { Db } from '../db.js';
import type { ChannelRepo, ChannelRow, DirectSend, IdGenerator, InboundMessage, InboxItem, InboxRepo, OutboxItem, PersonStateRepo } from '../../domain/ports.js';
import type { Database } from '../schema.js';
import { inTx } from './agents.js';
import { maskSecrets, maskStored } from '../../infra/redact.js';
import { prepared, preparedIn, preparedShapes, sizedRuns } from '../prepared.js';

const toItem = (r: Database['inbox']): InboxItem => ({
  id: r.id, seq: Number(r.seq), channel: r.channel, account: r.account, externalId: r.external_id, threadKey: r.thread_key,
  agentId: r.agent_id, sender: r.sender, senderName: r.sender_name, text: r.text, payload: JSON.parse(r.payload),
  status: r.status as InboxItem['status'], attempts: Number(r.attempts), replyReady: Number(r.reply_ready) === 1,
  lastError: r.last_error, receivedAt: r.received_at, route: r.route ? JSON.parse(r.route) : null,
});
/** Agents' channel rows (Telegram reads its bots' on every webhook and send): prepared per 1, 2, 4 or 8 agents. */
const channelsOf = preparedIn([1, 2, 4, 8], (db, ids) => db.selectFrom('agent_channels').selectAll().where('agent_id', 'in', ids));
/**
 * The inbox's insert of `n` messages (a webhook batch's, or one the web chat answers inline, claimed as
 * it is stored), built and compiled once per size (prepared.ts): the
 * Kysely build of one insert per message was the largest share of a burst's CPU after SQLite itself,
 * and on PostgreSQL each was a round trip. Sizes are powers of two (a batch of 37 is 32 + 4 + 1
 * rows), so at most seven shapes are ever compiled. Row k's seq is the table's highest plus k + 1
 * (on PostgreSQL every row's subquery sees the table as the statement began), so a batch keeps its
 * arrival order; a message seen before (channel, account, external id; also twice in one batch) is
 * not inserted and not returned.
 */
const ACCEPT_SIZES = [64, 32, 16, 8, 4, 2, 1];
type AcceptValues = Record<string, string | number | null>;
const acceptInsert = preparedShapes((n: number) => (db, p: AcceptValues) => {
  const row = (field: string, k: number) => p[`${field}${k}`] as string;
  return db.insertInto('inbox').values(Array.from({ length: n }, (_, k) => ({
    id: row('id', k), seq: sql<number>`(select coalesce(max(seq), 0) + ${sql.lit(k + 1)} from inbox)` as unknown as number,
    channel: row('channel', k), account: row('account', k), external_id: row('externalId', k), thread_key: row('threadKey', k),
    agent_id: row('agentId', k), sender: row('sender', k), sender_name: row('senderName', k), text: row('text', k),
    payload: row('payload', k), order_key: row('orderKey', k), status: p.status as string, attempts: p.attempts as number, locked_until: p.lockedUntil as string | null,
    reply_ready: 0, last_error: null, received_at: p.at as string, processed_at: null, route: null,
  }))).onConflict((oc) => oc.columns(['channel', 'account', 'external_id']).doNothing()).returning('id');
});
/** The insert's values; with a lease the messages are claimed as they are stored (answered inline), else queued for the worker. */
const acceptValues = (rows: { id: string; m: InboundMessage }[], at: string, leaseUntil?: string): AcceptValues => {
  const v: AcceptValues = { at, status: leaseUntil ? 'processing' : 'queued', attempts: leaseUntil ? 1 : 0, lockedUntil: leaseUntil ?? null };
  rows.forEach(({ id, m }, k) => {
    v[`id${k}`] = id; v[`channel${k}`] = m.channel; v[`account${k}`] = m.account; v[`externalId${k}`] = m.externalId;
    v[`threadKey${k}`] = m.threadKey; v[`agentId${k}`] = m.agentId ?? null; v[`sender${k}`] = m.sender; v[`senderName${k}`] = m.senderName ?? null;
    v[`text${k}`] = m.text; v[`payload${k}`] = JSON.stringify(m.payload ?? null); v[`orderKey${k}`] = m.orderKey ?? '';
  });
  return v;
};

/**
 * The statements every answered message runs once or more, prepared (built once, not per message):
 * a part's claim, its mark (one shape per set of fields given) and the message's finish.
 */
/**
 * Messages in a conversation a person holds; `.where('hm.source_id', '=', inboxId)` narrows it to the
 * inbound message's (one indexed lookup: messages.source_id is unique).
 */
const humanHeld = (db: Db) => db.selectFrom('messages as hm').innerJoin('conversations as hc', 'hc.id', 'hm.conversation_id').select('hm.id').where('hc.mode', '=', 'human');
const claimPartQuery = prepared((db, p: { id: string; now: string; staleBefore: string }) => db.updateTable('outbox').set({ status: 'sending', sent_at: p.now }).where('id', '=', p.id)
  .where((eb) => eb.or([eb('status', '=', 'pending'), eb.and([eb('status', '=', 'sending'), eb('sent_at', '<', p.staleBefore)])]))
  // Not once a person has taken the conversation over.
  .where((eb) => eb.not(eb.exists(humanHeld(db).where('hm.source_id', '=', sql.ref<string>('outbox.inbox_id'))))));
/**
 * A reply's parts in multi-row inserts of 8, 4, 2 and 1 rows (a reply of one part, the common case,
 * is one statement; each size compiled once), and the message's reply_ready mark.
 */
const PART_SIZES = [8, 4, 2, 1];
type PartValues = Record<string, string | number | null>;
/**
 * Shape `n` or `n:claim`: with `claim`, the first row is stored claimed for sending now (as
 * claimPartQuery would claim it a moment later) unless a person has taken the conversation over, when
 * it is stored pending like the rest and the sender's claim refuses it as before.
 */
const partsInsert = preparedShapes((shape: string) => {
  const [n, claim] = [Number.parseInt(shape, 10), shape.endsWith(':claim')];
  return (db, p: PartValues) => {
    const held = sql<boolean>`exists ${humanHeld(db).where('hm.source_id', '=', p.inboxId as string)}`;
    return db.insertInto('outbox').values(Array.from({ length: n }, (_, k) => ({
      id: p[`id${k}`] as string, inbox_id: p.inboxId as string, part: p[`part${k}`] as number, channel: p[`channel${k}`] as string, agent_id: p[`agentId${k}`] as string | null,
      recipient: p[`recipient${k}`] as string, text: p[`text${k}`] as string, attempts: 0, provider_message_id: null, last_error: null, created_at: p.at as string,
      ...(claim && k === 0
        ? { status: sql<string>`case when ${held} then 'pending' else 'sending' end`, sent_at: sql<string | null>`case when ${held} then null else ${p.at} end` }
        : { status: 'pending', sent_at: null }),
    }))).onConflict((oc) => oc.columns(['inbox_id', 'part']).doNothing()).returningAll();
  };
});
const replyReadyQuery = prepared((db, p: { id: string }) => db.updateTable('inbox').set({ reply_ready: 1 }).where('id', '=', p.id));
type PartMark = { status: string; attempts?: number; last_error?: string | null; provider_message_id?: string | null; sent_at?: string | null };
const PART_MARK_FIELDS = ['attempts', 'last_error', 'provider_message_id', 'sent_at'] as const;
/** One shape per set of fields given: `shape` lists them, comma-separated, in PART_MARK_FIELDS order. */
const markPartQuery = preparedShapes((shape: string) => {
  const fields = shape ? (shape.split(',') as (typeof PART_MARK_FIELDS)[number][]) : [];
  return (db, p: PartMark & { id: string }) => db.updateTable('outbox')
    .set({ status: p.status, ...Object.fromEntries(fields.map((f) => [f, p[f]])) }).where('id', '=', p.id);
});
const finishQuery = prepared((db, p: { id: string; status: string; at: string }) => db.updateTable('inbox').set({ status: p.status, processed_at: p.at, locked_until: null }).where('id', '=', p.id));
const finishWithErrorQuery = prepared((db, p: { id: string; status: string; at: string; error: string | null }) => db.updateTable('inbox')
  .set({ status: p.status, processed_at: p.at, locked_until: null, last_error: p.error }).where('id', '=', p.id));

const toPart = (r: Database['outbox']): OutboxItem => ({
  id: r.id, inboxId: r.inbox_id, part: Number(r.part), channel: r.channel, agentId: r.agent_id, recipient: r.recipient, text: r.text,
  status: r.status as OutboxItem['status'], attempts: Number(r.attempts), lastError: r.last_error, providerMessageId: r.provider_message_id, sentAt: r.sent_at,
});

/**
 * Messages that may be claimed now, earliest first: queued (and not waiting out a retry) or left in
 * processing by a lease that ran out; and each the earliest open message of its conversation, with no
 * later one of it in flight — so at most one per conversation. Asked before every claim (prepared:
 * one shape with a settle time, one without).
 */
export const claimableQuery = preparedShapes((settled: boolean) => (db, p: { now: string; settledBefore: string | null; limit: number }) => {
  // `status in (queued, processing)` is implied by the next condition; said on its own, in the words of
  // the partial indexes' WHERE, it lets the planners use them. SQLite is told to walk `inbox_open_seq`
  // (migration 0030): the open messages already in the order asked, so it stops after `limit` claimable
  // ones. Left to choose, it took `inbox_pending` and sorted every open message first (9 ms a claim with
  // 10,000 waiting). PostgreSQL plans from statistics.
  const from = db.getExecutor().adapter instanceof SqliteAdapter
    ? (sql`"inbox" as "i" indexed by "inbox_open_seq"` as unknown as 'inbox as i') : 'inbox as i';
  let cq = db.selectFrom(from).select('i.id').where(sql<boolean>`i.status in ('queued', 'processing')`);
  if (settled) cq = cq.where('i.received_at', '<=', p.settledBefore!);
  return cq
    .where((eb) => eb.or([
      eb.and([eb('i.status', '=', 'queued'), eb.or([eb('i.locked_until', 'is', null), eb('i.locked_until', '<=', p.now)])]),
      eb.and([eb('i.status', '=', 'processing'), eb('i.locked_until', '<', p.now)]),
    ]))
    // Order within a conversation: nothing earlier may still be waiting or in flight.
    .where((eb) => eb.not(eb.exists(eb.selectFrom('inbox as j').select('j.id')
      .whereRef('j.thread_key', '=', 'i.thread_key')
      .where(sql<boolean>`j.status in ('queued', 'processing')`)
      .where((e) => e.or([
        e('j.order_key', '<', e.ref('i.order_key')),
        e.and([e('j.order_key', '=', e.ref('i.order_key')), e.or([e('j.seq', '<', e.ref('i.seq')), e.and([e('j.seq', '=', e.ref('i.seq')), e('j.id', '<', e.ref('i.id'))])])]),
      ])))))
    // And no later message of the same conversation is being processed right now.
    .where((eb) => eb.not(eb.exists(eb.selectFrom('inbox as k').select('k.id')
      .whereRef('k.thread_key', '=', 'i.thread_key').whereRef('k.id', '!=', 'i.id')
      .where(sql<boolean>`k.status in ('queued', 'processing')`).where('k.status', '=', 'processing').where('k.locked_until', '>=', p.now))))
    .orderBy('i.seq').orderBy('i.id').limit(p.limit);
});

/** Leases the given messages if they are still claimable, returning them. */
export const takeQuery = (db: Db, ids: string[], now: string, leaseUntil: string) => db.updateTable('inbox')
  .set((eb) => ({ status: 'processing', locked_until: leaseUntil, attempts: eb('attempts', '+', 1) }))
  .where('id', 'in', ids)
  // Still claimable. Said as one CASE, which no index serves, so SQLite looks the rows up by id: as
  // an OR of status comparisons it walked every open message through `inbox_pending` instead (1.2 ms
  // a claim of eight with 10,000 waiting, against 9 µs by id).
  .where(sql<boolean>`case when status = 'queued' then (locked_until is null or locked_until <= ${now}) when status = 'processing' then locked_until < ${now} else false end`)
  .returningAll();

/** PostgreSQL: how many pending count changes one fold statement takes (the sweep repeats it until fewer remain). */
const FOLD_BATCH = 50_000;

/**
 * The inbox's or the outbox's rows by status (what /metrics reports), kept by triggers as rows change
 * (migration 0033) instead of counting every row ever received at each scrape: on SQLite read from
 * `status_counts`; on PostgreSQL `status_counts` plus the deltas appended since the last fold.
 */
export async function countByStatus(db: Db, table: 'inbox' | 'outbox'): Promise<Record<string, number>> {
  const rows: { status: string; n: unknown }[] = db.getExecutor().adapter instanceof SqliteAdapter
    ? await db.selectFrom('status_counts').select(['status', 'n']).where('tbl', '=', table).where('n', '<>', 0).execute()
    : (await sql<{ status: string; n: string }>`select status, sum(n) as n from (
        select status, n from status_counts where tbl = ${table} union all select status, d as n from status_count_deltas where tbl = ${table}
      ) x group by status having sum(n) <> 0`.execute(db)).rows;
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export function inboxRepo(db: Db, ids: IdGenerator): InboxRepo {
  async function claimable(now: string, settledBefore: string | undefined, limit: number) {
    return (await claimableQuery(!!settledBefore).execute(db, { now, settledBefore: settledBefore ?? null, limit })).rows;
  }
  /** Leases the candidates still claimable (another worker may have taken some meanwhile), in seq order. */
  async function take(candidates: { id: string }[], now: string, leaseUntil: string): Promise<InboxItem[]> {
    const rows = await takeQuery(db, candidates.map((c) => c.id), now, leaseUntil).execute();
    return rows.map(toItem).sort((a, b) => a.seq - b.seq || (a.id < b.id ? -1 : 1));
  }

  /** The id a message seen before was stored under (its channel, account and external id). */
  async function storedId(q: Db, m: InboundMessage): Promise<string> {
    return (await q.selectFrom('inbox').select('id')
      .where('channel', '=', m.channel).where('account', '=', m.account).where('external_id', '=', m.externalId).executeTakeFirstOrThrow()).id;
  }

  return {
    async acceptMany(ms, at) {
      if (ms.length === 0) return [];
      // One transaction, one commit, for every message that arrived together; a message seen before
      // (its channel, account and external id) is not stored again and keeps the id it had.
      const rows = ms.map((m) => ({ id: ids.id(), m }));
      return inTx(db, async (tx) => {
        const inserted = new Set<string>();
        for (const { run } of sizedRuns(rows, ACCEPT_SIZES)) {
          for (const r of (await acceptInsert(run.length).execute(tx, acceptValues(run, at))).rows) inserted.add(r.id);
        }
        const out: { id: string; duplicate: boolean }[] = [];
        for (const { id, m } of rows) out.push(inserted.has(id) ? { id, duplicate: false } : { id: await storedId(tx, m), duplicate: true });
        return out;
      });
    },

    async accept(m, at, leaseUntil) {
      const id = ids.id();
      const [row] = (await acceptInsert(1).execute(db, acceptValues([{ id, m }], at, leaseUntil))).rows;
      return row ? { id, duplicate: false } : { id: await storedId(db, m), duplicate: true };
    },

    async claim(now, leaseUntil, settledBefore) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const candidates = await claimable(now, settledBefore, 1);
        if (!candidates.length) return undefined;
        const [r] = await take(candidates, now, leaseUntil);
        if (r) return r;
      }
      return undefined;
    },
    async claimMany(now, leaseUntil, settledBefore, limit) {
      const candidates = await claimable(now, settledBefore, Math.max(1, limit));
      return candidates.length ? take(candidates, now, leaseUntil) : [];
    },

    async extend(id, leaseUntil) {
      await db.updateTable('inbox').set({ locked_until: leaseUntil }).where('id', '=', id).where('status', '=', 'processing').execute();
    },
    async setAgent(id, agentId) {
      await db.updateTable('inbox').set({ agent_id: agentId }).where('id', '=', id).execute();
    },

    async saveReply(id, parts, at, o) {
      return inTx(db, async (tx) => {
        // The parts in one statement per 8, 4, 2 or 1 of them; the rows written come back, so the sender needs no read before it sends.
        const rows: Database['outbox'][] = [];
        for (const { start, run } of sizedRuns(parts, PART_SIZES)) {
          const values: PartValues = { inboxId: id, at };
          run.forEach((p, k) => {
            values[`id${k}`] = ids.id(); values[`part${k}`] = start + k; values[`channel${k}`] = p.channel;
            values[`agentId${k}`] = p.agentId; values[`recipient${k}`] = p.recipient; values[`text${k}`] = p.text;
          });
          rows.push(...(await partsInsert(o?.claimFirst && start === 0 ? `${run.length}:claim` : String(run.length)).execute(tx, values)).rows);
        }
        await replyReadyQuery.execute(tx, { id });
        // A part already stored (another worker got here first) means the stored parts are the truth: read them.
        return rows.length === parts.length ? rows.map(toPart).sort((a, b) => a.part - b.part) : undefined;
      });
    },

    async pendingParts(inboxId, staleBefore) {
      return (await db.selectFrom('outbox').selectAll().where('inbox_id', '=', inboxId)
        .where((eb) => staleBefore
          ? eb.or([eb('status', '=', 'pending'), eb.and([eb('status', '=', 'sending'), eb('sent_at', '<', staleBefore)])])
          : eb('status', '=', 'pending'))
        .orderBy('part').execute()).map(toPart);
    },
    async claimPart(id, now, staleBefore) {
      const r = await claimPartQuery.execute(db, { id, now, staleBefore });
      return Number(r.numAffectedRows ?? 0) === 1;
    },
    async markPart(id, p) {
      const v: PartMark = { status: p.status };
      if (p.attempts !== undefined) v.attempts = p.attempts;
      if (p.lastError !== undefined) v.last_error = maskStored(p.lastError);
      if (p.providerMessageId !== undefined) v.provider_message_id = p.providerMessageId;
      if (p.sentAt !== undefined) v.sent_at = p.sentAt;
      await markPartQuery(PART_MARK_FIELDS.filter((f) => v[f] !== undefined).join(',')).execute(db, { ...v, id });
    },
    async retryLater(id, notBefore, error) {
      await db.updateTable('inbox').set({ status: 'queued', locked_until: notBefore, last_error: maskStored(error) }).where('id', '=', id).execute();
    },
    async setPayload(id, payload) {
      await db.updateTable('inbox').set({ payload: JSON.stringify(payload ?? null) }).where('id', '=', id).execute();
    },
    async finish(id, status, at, error) {
      if (error === undefined) await finishQuery.execute(db, { id, status, at });
      else await finishWithErrorQuery.execute(db, { id, status, at, error: maskStored(error) });
    },
    counts: () => countByStatus(db, 'inbox'),
    async foldCounts() {
      // PostgreSQL: the deltas the status triggers appended are added to status_counts and removed, in one
      // statement (a delta another process is folding at the same moment is locked, then gone: counted once),
      // the counter rows in one order so two folds never deadlock. SQLite keeps status_counts current itself.
      if (db.getExecutor().adapter instanceof SqliteAdapter) return 0;
      let folded = 0;
      for (;;) {
        const r = await sql<{ k: string }>`with moved as (
            delete from status_count_deltas where id in (select id from status_count_deltas order by id limit ${sql.lit(FOLD_BATCH)}) returning tbl, status, d
          ), summed as (
            select tbl, status, sum(d) as n, count(*) as k from moved group by tbl, status
          ), applied as (
            insert into status_counts (tbl, status, n) select tbl, status, n from summed order by tbl, status
            on conflict (tbl, status) do update set n = status_counts.n + excluded.n
          )
          select coalesce(sum(k), 0) as k from summed`.execute(db);
        const k = Number(r.rows[0]?.k ?? 0);
        folded += k;
        if (k < FOLD_BATCH) return folded;
      }
    },
    async byId(id) {
      const r = await db.selectFrom('inbox').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toItem(r);
    },
    async failedParts(agentId, limit) {
      let q = db.selectFrom('outbox').selectAll().where('status', 'in', ['failed', 'undelivered']);
      if (agentId) q = q.where('agent_id', '=', agentId);
      return (await q.orderBy('created_at', 'desc').limit(limit).execute()).map((r) => ({ ...toPart(r), createdAt: r.created_at }));
    },
    async setRoute(id, route) {
      await db.updateTable('inbox').set({ route: JSON.stringify(route), ...('agentId' in route ? { agent_id: route.agentId } : {}) }).where('id', '=', id).execute();
    },
    async failedInbound(agentId, limit) {
      let q = db.selectFrom('inbox').selectAll().where('status', '=', 'failed');
      if (agentId) q = q.where('agent_id', '=', agentId);
      return (await q.orderBy('received_at', 'desc').limit(limit).execute()).map(toItem);
    },
    async recentParts(agentId, limit) {
      let q = db.selectFrom('outbox').selectAll();
      if (agentId) q = q.where('agent_id', '=', agentId);
      return (await q.orderBy('created_at', 'desc').orderBy('part', 'desc').limit(limit).execute())
        .map((r) => ({ ...toPart(r), createdAt: r.created_at, delivery: r.delivery, deliveryAt: r.delivery_at }));
    },
    async hasProviderMessage(channel, providerMessageId) {
      return !!(await db.selectFrom('outbox').select('id').where('channel', '=', channel).where('provider_message_id', '=', providerMessageId).executeTakeFirst())
        || !!(await db.selectFrom('direct_sends').select('id').where('channel', '=', channel).where('provider_message_id', '=', providerMessageId).executeTakeFirst());
    },
    async receipt(channel, providerMessageId, r, at) {
      for (const table of ['outbox', 'direct_sends'] as const) if (await applyReceipt(table, channel, providerMessageId, r, at)) return true;
      return false;
    },
    async recordDirect(d, at) {
      await db.insertInto('direct_sends').values({
        id: ids.id(), channel: d.channel, agent_id: d.agentId, recipient: d.recipient, text: d.text, purpose: d.purpose, status: d.status,
        provider_message_id: d.providerMessageId, last_error: maskStored(d.lastError), delivery: null, delivery_at: null, created_at: at,
      }).execute();
    },
    async heldByHuman(inboxId) {
      return !!(await humanHeld(db).where('hm.source_id', '=', inboxId).executeTakeFirst());
    },
    async dropPending(of, reason) {
      const q = db.updateTable('outbox').set({ status: 'dropped', last_error: reason }).where('status', '=', 'pending');
      const r = await ('inboxId' in of ? q.where('inbox_id', '=', of.inboxId)
        : q.where('inbox_id', 'in', db.selectFrom('messages').select('source_id').where('conversation_id', '=', of.conversationId).where('source_id', 'is not', null)))
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async recentDirect(agentId, limit) {
      let q = db.selectFrom('direct_sends').selectAll();
      if (agentId) q = q.where('agent_id', '=', agentId);
      return (await q.orderBy('created_at', 'desc').limit(limit).execute()).map((r) => ({
        id: r.id, channel: r.channel, agentId: r.agent_id, recipient: r.recipient, text: r.text, purpose: r.purpose as DirectSend['purpose'],
        status: r.status as DirectSend['status'], providerMessageId: r.provider_message_id, lastError: r.last_error,
        delivery: r.delivery, deliveryAt: r.delivery_at, createdAt: r.created_at,
      }));
    },
  };

  /** Applies a delivery receipt to an outbound record (a reply part, or a direct send); false when none has this id. */
  async function applyReceipt(table: 'outbox' | 'direct_sends', channel: string, providerMessageId: string, r: Parameters<InboxRepo['receipt']>[2], at: string) {
    // Receipts arrive out of order: never let "delivered" overwrite "read".
    const set: Partial<Database['outbox']> = {};
    if (r.failed) { set.status = r.failed.status; set.last_error = maskSecrets(r.failed.error); }
    let q = db.updateTable(table as 'outbox').where('channel', '=', channel).where('provider_message_id', '=', providerMessageId);
    if (r.delivery) {
      set.delivery = r.delivery; set.delivery_at = at;
      const rank = { sent: 1, delivered: 2, read: 3 }[r.delivery];
      const lower = Object.entries({ sent: 1, delivered: 2, read: 3 }).filter(([, v]) => v < rank).map(([k]) => k);
      // No empty IN list: PostgreSQL refuses `in ()` (a 'sent' receipt has nothing below it).
      q = q.where((eb) => (lower.length ? eb.or([eb('delivery', 'is', null), eb('delivery', 'in', lower)]) : eb('delivery', 'is', null)));
    }
    const res = await q.set(set).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }
}

const toChannel = (r: Database['agent_channels']): ChannelRow => ({
  agentId: r.agent_id, channel: r.channel, secretSealed: r.secret_sealed, info: JSON.parse(r.info), webhookSecret: r.webhook_secret,
  mode: r.mode as ChannelRow['mode'], pollOffset: r.poll_offset === null ? null : Number(r.poll_offset),
  lastInboundAt: r.last_inbound_at, lastOutboundAt: r.last_outbound_at, lastError: r.last_error, lastErrorAt: r.last_error_at, createdAt: r.created_at,
});

export function channelRepo(db: Db, now: () => string): ChannelRepo {
  return {
    async upsert(r) {
      const values = { secret_sealed: r.secretSealed, info: JSON.stringify(r.info), webhook_secret: r.webhookSecret, mode: r.mode, last_error: null, last_error_at: null };
      await db.insertInto('agent_channels').values({ agent_id: r.agentId, channel: r.channel, ...values, poll_offset: null, last_inbound_at: null, last_outbound_at: null, created_at: now() })
        .onConflict((oc) => oc.columns(['agent_id', 'channel']).doUpdateSet({ ...values, poll_offset: null })).execute();
    },
    async get(agentId, channel) {
      const r = await db.selectFrom('agent_channels').selectAll().where('agent_id', '=', agentId).where('channel', '=', channel).executeTakeFirst();
      return r && toChannel(r);
    },
    async forAgents(agentIds) {
      // In slices: the ids can come from many webhooks at once (Telegram reads the bots asked for in one tick
      // together), and SQLite and PostgreSQL both cap the parameters of one statement.
      const out = [];
      for (let i = 0; i < agentIds.length; i += 500) out.push(...(await channelsOf(db, agentIds.slice(i, i + 500), {})).map(toChannel));
      return out;
    },
    async all(channel) {
      return (await db.selectFrom('agent_channels').selectAll().where('channel', '=', channel).execute()).map(toChannel);
    },
    async delete(agentId, channel) {
      const r = await db.deleteFrom('agent_channels').where('agent_id', '=', agentId).where('channel', '=', channel).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async touch(agentId, channel, p) {
      const set: Partial<Database['agent_channels']> = {};
      if (p.lastInboundAt !== undefined) set.last_inbound_at = p.lastInboundAt;
      if (p.lastOutboundAt !== undefined) set.last_outbound_at = p.lastOutboundAt;
      if (p.lastError !== undefined) set.last_error = maskStored(p.lastError);
      if (p.lastErrorAt !== undefined) set.last_error_at = p.lastErrorAt;
      if (p.pollOffset !== undefined) set.poll_offset = p.pollOffset;
      if (Object.keys(set).length) await db.updateTable('agent_channels').set(set).where('agent_id', '=', agentId).where('channel', '=', channel).execute();
    },
  };
}

export function personStateRepo(db: Db): PersonStateRepo {
  return {
    async get(personId) {
      const r = await db.selectFrom('person_state').selectAll().where('person_id', '=', personId).executeTakeFirst();
      return r && { personId: r.person_id, currentAgentId: r.current_agent_id, pendingAgentId: r.pending_agent_id, pendingText: r.pending_text };
    },
    async set(s, at) {
      const v = { current_agent_id: s.currentAgentId, pending_agent_id: s.pendingAgentId, pending_text: s.pendingText, updated_at: at };
      await db.insertInto('person_state').values({ person_id: s.personId, ...v }).onConflict((oc) => oc.column('person_id').doUpdateSet(v)).execute();
    },
  };
}
