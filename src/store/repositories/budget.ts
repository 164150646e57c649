import { sql, PostgresAdapter, type ExpressionBuilder } from 'kysely';
import type { Db } from '../db.js';
import { prepared, preparedShapes } from '../prepared.js';
import type { BudgetAlert, BudgetRepo, Clock, IdGenerator, SpendKey } from '../../domain/ports.js';
import type { Database } from '../schema.js';
import { periodBounds } from './text-keys.js';

const toAlert = (r: Database['budget_alerts']): BudgetAlert => ({
  id: r.id, scope: r.scope as SpendKey['scope'], scopeId: r.scope_id, period: r.period, kind: r.kind as BudgetAlert['kind'], ownerId: r.owner_id,
  percent: Number(r.percent), spentUsd: Number(r.spent_usd), budgetUsd: Number(r.budget_usd), message: r.message, createdAt: r.created_at,
  acknowledgedAt: r.acknowledged_at, webhookStatus: r.webhook_status, emailStatus: r.email_status,
});

/**
 * Running totals per scope and period, kept in step with the usage table: a row starts from what
 * usage already holds for its period, then every model call reserves before and settles after.
 */
/** The one order rows of `spend` are locked in, by every transaction that locks more than one (no deadlocks). */
const lockOrder = (a: SpendKey, b: SpendKey) =>
  a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : a.scopeId < b.scopeId ? -1 : a.scopeId > b.scopeId ? 1 : a.period < b.period ? -1 : a.period > b.period ? 1 : 0;

type SettleValues = Record<string, string | number>;
/** The call's `n` rows of spend: `(scope, scope_id, period) = …` for each, or-ed. */
const settleKeys = (n: number, p: SettleValues) => (eb: ExpressionBuilder<Database, 'spend'>) =>
  eb.or(Array.from({ length: n }, (_, i) => eb.and([eb('scope', '=', p[`scope${i}`] as string), eb('scope_id', '=', p[`id${i}`] as string), eb('period', '=', p[`period${i}`] as string)])));
/** Each row's own value `name` (freed, actual), by its scope; PostgreSQL is told the values are numbers. */
const byScope = (n: number, p: SettleValues, name: string, pg: boolean) => sql<number>`(case ${pg ? sql`"spend"."scope"` : sql`scope`} ${sql.join(Array.from({ length: n }, (_, i) =>
  sql`when ${p[`scope${i}`]} then ${pg ? sql`cast(${p[`${name}${i}`]} as double precision)` : p[`${name}${i}`]}`), sql` `)} else 0 end)`;

/** settleAll's statement for `n` scopes, built once per n (prepared). */
const settleAllQuery = preparedShapes((n: number) => (db, p: SettleValues) => db.updateTable('spend').set({
  reserved_usd: sql<number>`max(reserved_usd - ${byScope(n, p, 'freed', false)}, 0)`,
  spent_usd: sql<number>`spent_usd + ${byScope(n, p, 'actual', false)}`,
  updated_at: p.at as string,
}).where(settleKeys(n, p)).returning(['scope', 'scope_id', 'period', 'spent_usd']));

/**
 * settleAll on PostgreSQL: the same update, all of the rows or none. The rows are locked first, in the
 * one lock order (`lockOrder`: by code point, which is collation "C"), by a `FOR UPDATE` in sorted order:
 * an update over several rows alone would lock them in whatever order its scan finds them, and two
 * calls settling the same agent and customer rows in opposite orders could deadlock. And it locks only
 * when every row is there (the count, read once before any lock): a scope's first call of the period
 * must create its row, and creating an earlier row while holding a later one would break the order.
 */
const settleAllQueryPg = preparedShapes((n: number) => (db, p: SettleValues) => db
  .with('locked', (d) => d.selectFrom('spend').select(['scope', 'scope_id', 'period'])
    .where(settleKeys(n, p))
    .where((eb) => eb(eb.selectFrom('spend').select((e) => e.fn.countAll<number>().as('n')).where(settleKeys(n, p)), '=', n))
    .orderBy(sql`scope collate "C"`).orderBy(sql`scope_id collate "C"`).orderBy(sql`period collate "C"`)
    .forUpdate())
  .updateTable('spend').from('locked').set({
    reserved_usd: sql<number>`greatest("spend"."reserved_usd" - ${byScope(n, p, 'freed', true)}, 0)`,
    spent_usd: sql<number>`"spend"."spent_usd" + ${byScope(n, p, 'actual', true)}`,
    updated_at: p.at as string,
  })
  .whereRef('spend.scope', '=', 'locked.scope').whereRef('spend.scope_id', '=', 'locked.scope_id').whereRef('spend.period', '=', 'locked.period')
  .returning(['spend.scope', 'spend.scope_id', 'spend.period', 'spend.spent_usd']));

/**
 * A person's first row of the day (their first message of the day: for most web visitors their only
 * one), started from what their day already holds, plus this call, in one statement (prepared): their
 * usage and their messages as subqueries of the insert (three statements were three cold starts of
 * SQLite). By the person's conversations (index usage_conversation), not by the day: a join let the
 * planner read every usage row of the day for each new person, so each first message of the day cost
 * more than the last.
 */
const personStartRowInsert = prepared((db, p: { scopeId: string; day: string; agentId: string; personId: string; from: string; to: string; actual: number; at: string }) => {
  const theirs = db.selectFrom('conversations as c').select('c.id').where('c.agent_id', '=', p.agentId).where('c.person_id', '=', p.personId);
  const spent = db.selectFrom('usage as u').select((eb) => eb.fn.sum<number>('u.cost_usd').as('s')).where('u.conversation_id', 'in', theirs).where('u.day', '=', p.day);
  const messages = db.selectFrom('messages as m').innerJoin('conversations as c', 'c.id', 'm.conversation_id').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('c.agent_id', '=', p.agentId).where('c.person_id', '=', p.personId).where('m.role', '=', 'user').where('m.created_at', '>=', p.from).where('m.created_at', '<', p.to);
  return db.insertInto('spend').columns(['scope', 'scope_id', 'period', 'spent_usd', 'reserved_usd', 'messages', 'updated_at'])
    .expression(db.selectNoFrom((eb) => [
      eb.val('person').as('scope'), eb.val(p.scopeId).as('scope_id'), eb.val(p.day).as('period'),
      sql<number>`coalesce((${spent}), 0) + ${p.actual}`.as('spent_usd'), sql<number>`0`.as('reserved_usd'),
      sql<number>`(${messages})`.as('messages'), eb.val(p.at).as('updated_at'),
    // "where true": SQLite could read the upsert's ON as a join's (its documented ambiguity of INSERT … SELECT).
    ]).where(sql<boolean>`true`))
    .onConflict((oc) => oc.columns(['scope', 'scope_id', 'period']).doNothing())
    .returning(['scope', 'scope_id', 'period', 'spent_usd']);
});
/** An agent's or a customer's first row of the month with this call's cost in it (prepared). */
const startRowInsert = prepared((db, p: { scope: string; scopeId: string; period: string; spent: number; messages: number; at: string }) => db.insertInto('spend')
  .values({ scope: p.scope, scope_id: p.scopeId, period: p.period, spent_usd: p.spent, reserved_usd: 0, messages: p.messages, updated_at: p.at })
  .onConflict((oc) => oc.columns(['scope', 'scope_id', 'period']).doNothing())
  .returning(['scope', 'scope_id', 'period', 'spent_usd']));

export function budgetRepo(db: Db, ids: IdGenerator, clock: Clock): BudgetRepo {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  /** What the usage table already says for a scope and period (when its running total starts). */
  async function fromUsage(tx: Db, k: SpendKey & { scope: 'agent' | 'customer' }): Promise<{ spent: number; messages: number }> {
    const [from, to] = periodBounds(k.period);
    if (k.scope === 'agent') {
      const r = await tx.selectFrom('usage').select((eb) => eb.fn.sum<number>('cost_usd').as('s'))
        .where('agent_id', '=', k.scopeId).where('day', '>=', from).where('day', '<', to).executeTakeFirst();
      return { spent: Number(r?.s ?? 0), messages: 0 };
    }
    {
      const r = await tx.selectFrom('usage as u').innerJoin('agents as a', 'a.id', 'u.agent_id').select((eb) => eb.fn.sum<number>('u.cost_usd').as('s'))
        .where('a.owner_id', '=', k.scopeId).where('u.day', '>=', from).where('u.day', '<', to).executeTakeFirst();
      const m = await tx.selectFrom('messages as m').innerJoin('conversations as c', 'c.id', 'm.conversation_id').innerJoin('agents as a', 'a.id', 'c.agent_id')
        .select((eb) => eb.fn.countAll<number>().as('n')).where('a.owner_id', '=', k.scopeId).where('m.role', '=', 'user').where('m.created_at', '>=', from).where('m.created_at', '<', to).executeTakeFirst();
      return { spent: Number(r?.s ?? 0), messages: Number(m?.n ?? 0) };
    }
  }

  async function ensure(tx: Db, k: SpendKey) {
    const exists = await tx.selectFrom('spend').select('scope').where('scope', '=', k.scope).where('scope_id', '=', k.scopeId).where('period', '=', k.period).executeTakeFirst();
    if (exists) return;
    if (k.scope === 'person') { await startRow(tx, k, 0, clock.now().toISOString()); return; }
    const init = await fromUsage(tx, { ...k, scope: k.scope });
    await tx.insertInto('spend').values({ scope: k.scope, scope_id: k.scopeId, period: k.period, spent_usd: init.spent, reserved_usd: 0, messages: init.messages, updated_at: clock.now().toISOString() })
      .onConflict((oc) => oc.columns(['scope', 'scope_id', 'period']).doNothing()).execute();
  }
  const inTx = <T>(fn: (tx: Db) => Promise<T>) => (db.isTransaction ? fn(db) : db.transaction().execute(fn));
  const where = <Q extends { where: (...a: any[]) => Q }>(q: Q, k: SpendKey) => q.where('scope', '=', k.scope).where('scope_id', '=', k.scopeId).where('period', '=', k.period);

  /** The row's totals, or undefined when the scope has no row for the period yet. */
  async function read(tx: Db, k: SpendKey) {
    const r = await where(tx.selectFrom('spend').select(['spent_usd', 'reserved_usd', 'messages']), k).executeTakeFirst();
    return r && { spentUsd: Number(r.spent_usd), reservedUsd: Number(r.reserved_usd), messages: Number(r.messages) };
  }
  /**
   * Runs `update` (a statement on the scope's row, RETURNING what it changed); only when it changed
   * nothing and the row does not exist yet is the row created (from the usage table) and the update
   * run again. The common case, a row already there, is one statement.
   */
  async function onRow<T>(tx: Db, k: SpendKey, update: () => Promise<T | undefined>): Promise<T | undefined> {
    const r = await update();
    if (r !== undefined) return r;
    const exists = await where(tx.selectFrom('spend').select('scope'), k).executeTakeFirst();
    if (exists) return undefined;
    await ensure(tx, k);
    return update();
  }

  /** A scope's first row of the period, with this call's cost in it; undefined when another call created it first. */
  async function startRow(tx: Db, k: SpendKey, actualUsd: number, at: string) {
    if (k.scope === 'person') {
      const [agentId, personId] = k.scopeId.split(':') as [string, string];
      const [from, to] = periodBounds(k.period);
      return personStartRowInsert.first(tx, { scopeId: k.scopeId, day: k.period, agentId, personId, from, to, actual: actualUsd, at });
    }
    const init = await fromUsage(tx, { ...k, scope: k.scope });
    return startRowInsert.first(tx, { scope: k.scope, scopeId: k.scopeId, period: k.period, spent: init.spent + actualUsd, messages: init.messages, at });
  }

  /** Every scope's row settled in one statement (see settle): the scopes' rows it updated. */
  function settleAll(tx: Db, items: { key: SpendKey; actualUsd: number }[], freed: (it: { key: SpendKey }) => number, at: string) {
    const values: SettleValues = { at };
    items.forEach((it, i) => Object.assign(values, { [`scope${i}`]: it.key.scope, [`id${i}`]: it.key.scopeId, [`period${i}`]: it.key.period, [`freed${i}`]: freed(it), [`actual${i}`]: it.actualUsd }));
    return (pg ? settleAllQueryPg : settleAllQuery)(items.length).execute(tx, values).then((r) => r.rows);
  }

  return {
    async get(k) {
      const found = await read(db, k);
      if (found) return found;
      await inTx((tx) => ensure(tx, k));
      return (await read(db, k))!;
    },
    async reserve(holdId, items, expiresAt) {
      // Only scopes with a limit hold anything: a reservation exists to keep concurrent calls under a
      // limit, and a scope without one is brought up to date when the call settles.
      const limited = items.filter((it) => it.limitUsd !== null);
      if (!limited.length) return { ok: true as const };
      return inTx(async (tx) => {
        const at = clock.now().toISOString();
        for (const it of [...limited].sort((a, b) => lockOrder(a.key, b.key))) {
          // One conditional statement per scope: reserved only while spent + reserved is still under
          // the limit, so concurrent callers serialize on the row and none can pass the limit.
          const r = await onRow(tx, it.key, () => where(tx.updateTable('spend').set((eb) => ({ reserved_usd: eb('reserved_usd', '+', it.amountUsd), updated_at: at })), it.key)
            .where(sql<boolean>`spent_usd + reserved_usd < ${it.limitUsd}`).returning('scope').executeTakeFirst());
          if (!r) throw new ReservationRefused(it.key);
        }
        await tx.insertInto('budget_holds').values(limited.map((it) => ({
          id: `${holdId}:${it.key.scope}`, scope: it.key.scope, scope_id: it.key.scopeId, period: it.key.period, amount_usd: it.amountUsd, expires_at: expiresAt,
        }))).execute();
      }).then(() => ({ ok: true as const }), (err) => {
        if (err instanceof ReservationRefused) return { ok: false as const, refused: err.key };
        throw err;
      });
    },
    async settle(holdId, items) {
      if (!items.length) return [];
      return inTx(async (tx) => {
        // Every hold of the call released in one statement (none when no scope had a limit).
        const holdIds = items.filter((it) => it.held !== false).map((it) => `${holdId}:${it.key.scope}`);
        const held = holdIds.length ? await tx.deleteFrom('budget_holds').where('id', 'in', holdIds).returning(['id', 'amount_usd']).execute() : [];
        const release = new Map(held.map((h) => [h.id, Number(h.amount_usd)]));
        const at = clock.now().toISOString();
        // Rows are locked in one fixed order (the order reserve takes them in, sorted): a statement over
        // several rows would lock them in whatever order its scan finds them, and on PostgreSQL two calls
        // settling the same agent and customer rows in opposite orders would deadlock.
        const same = (r: { scope: string; scope_id: string; period: string }, k: SpendKey) => r.scope === k.scope && r.scope_id === k.scopeId && r.period === k.period;
        const settleRow = (it: (typeof items)[number]) => {
          const freed = release.get(`${holdId}:${it.key.scope}`) ?? 0;
          return where(tx.updateTable('spend').set((eb) => ({
            reserved_usd: sql<number>`case when reserved_usd - ${freed} < 0 then 0 else reserved_usd - ${freed} end`,
            spent_usd: eb('spent_usd', '+', it.actualUsd), updated_at: at,
          })), it.key).returning(['scope', 'scope_id', 'period', 'spent_usd']).executeTakeFirst();
        };
        const rows: { scope: string; scope_id: string; period: string; spent_usd: number }[] = [];
        // The scopes' rows (one per scope: agent, customer, person) settle in one statement: on SQLite,
        // which runs one writer at a time, the rows it finds; on PostgreSQL all of them, locked in order,
        // or none when one is missing (settleAllQueryPg). What it left is done one by one below, in order.
        const together = items.length > 1 && new Set(items.map((it) => it.key.scope)).size === items.length;
        const found = together ? await settleAll(tx, items, (it) => release.get(`${holdId}:${it.key.scope}`) ?? 0, at) : [];
        rows.push(...found);
        // Rows settleAll left are known to be missing when it settled others (not updated again in vain);
        // when PostgreSQL's settled none, some of them may be there.
        const leftMissing = together && (!pg || found.length > 0);
        const each = items.filter((it) => !found.some((r) => same(r, it.key)));
        for (const it of [...each].sort((a, b) => lockOrder(a.key, b.key))) {
          let r = leftMissing ? undefined : await settleRow(it);
          // A scope without a row yet for this period (no limit, so nothing reserved it): its row starts
          // from the usage table (which does not hold this call yet) plus this call. When another call
          // created it in the meantime, this one settles on it as usual.
          if (!r && !release.get(`${holdId}:${it.key.scope}`)) r = await startRow(tx, it.key, it.actualUsd, at);
          if (!r) { await ensure(tx, it.key); r = await settleRow(it); }
          if (r) rows.push(r);
        }
        return items.flatMap((it) => {
          const r = rows.find((x) => same(x, it.key));
          return r ? [{ key: it.key, spentUsd: Number(r.spent_usd) }] : [];
        });
      });
    },
    async countMessage(k, cap) {
      return inTx(async (tx) => {
        await ensure(tx, k);
        const r = await where(tx.updateTable('spend').set((eb) => ({ messages: eb('messages', '+', 1) })), k).where('messages', '<', cap).executeTakeFirst();
        return Number(r.numUpdatedRows) === 1;
      });
    },
    async expireHolds(now) {
      const stale = await db.selectFrom('budget_holds').selectAll().where('expires_at', '<', now).limit(500).execute();
      let n = 0;
      for (const h of stale) {
        await inTx(async (tx) => {
          const gone = await tx.deleteFrom('budget_holds').where('id', '=', h.id).executeTakeFirst();
          if (Number(gone.numDeletedRows) !== 1) return;
          n++;
          await tx.updateTable('spend').set({ reserved_usd: sql<number>`case when reserved_usd - ${Number(h.amount_usd)} < 0 then 0 else reserved_usd - ${Number(h.amount_usd)} end` })
            .where('scope', '=', h.scope).where('scope_id', '=', h.scope_id).where('period', '=', h.period).execute();
        });
      }
      return n;
    },
    async addAlert(a) {
      const id = ids.id();
      const r = await db.insertInto('budget_alerts').values({
        id, scope: a.scope, scope_id: a.scopeId, period: a.period, kind: a.kind, owner_id: a.ownerId, percent: a.percent, spent_usd: a.spentUsd,
        budget_usd: a.budgetUsd, message: a.message, created_at: clock.now().toISOString(), acknowledged_at: null, webhook_status: null, email_status: null,
      }).onConflict((oc) => oc.columns(['scope', 'scope_id', 'period', 'kind']).doNothing()).executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) === 1 ? id : undefined;
    },
    async alert(id) {
      const r = await db.selectFrom('budget_alerts').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toAlert(r);
    },
    async alerts(f) {
      let q = db.selectFrom('budget_alerts').selectAll();
      if (f.ownerId) q = q.where('owner_id', '=', f.ownerId);
      return (await q.orderBy('created_at', 'desc').limit(f.limit).execute()).map(toAlert);
    },
    async updateAlert(id, patch) {
      await db.updateTable('budget_alerts').set({
        ...(patch.acknowledgedAt !== undefined ? { acknowledged_at: patch.acknowledgedAt } : {}),
        ...(patch.webhookStatus !== undefined ? { webhook_status: patch.webhookStatus } : {}),
        ...(patch.emailStatus !== undefined ? { email_status: patch.emailStatus } : {}),
      }).where('id', '=', id).execute();
    },
    async usageByModel(agentId, fromDay) {
      const rows = await db.selectFrom('usage').select(['model'])
        .select((eb) => [eb.fn.sum<number>('input_tokens').as('i'), eb.fn.sum<number>('output_tokens').as('o'), eb.fn.sum<number>('cost_usd').as('c'), eb.fn.countAll<number>().as('n')])
        .where('agent_id', '=', agentId).where('day', '>=', fromDay).groupBy('model').execute();
      return rows.map((r) => ({ model: r.model, inputTokens: Number(r.i ?? 0), outputTokens: Number(r.o ?? 0), costUsd: Number(r.c ?? 0), requests: Number(r.n) }));
    },
    async dailySpend(agentId, month) {
      const [from, to] = periodBounds(month);
      const rows = await db.selectFrom('usage').select(['day']).select((eb) => eb.fn.sum<number>('cost_usd').as('c'))
        .where('agent_id', '=', agentId).where('day', '>=', from).where('day', '<', to).groupBy('day').orderBy('day').execute();
      return rows.map((r) => ({ day: r.day, costUsd: Number(r.c ?? 0) }));
    },
  };
}

class ReservationRefused extends Error {
  constructor(readonly key: SpendKey) { super('reservation refused'); }
}
