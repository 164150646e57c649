import { sql } from 'kysely';
import type { Db } from '../db.js';
import type { BillingRepo, Clock, CustomerUsage, IdGenerator, Invoice } from '../../domain/ports.js';
import type { Database } from '../schema.js';

const toInvoice = (r: Database['invoices']): Invoice => ({
  id: r.id, userId: r.user_id, stripeInvoiceId: r.stripe_invoice_id, amountUsd: Number(r.amount_usd), currency: r.currency, status: r.status,
  hostedUrl: r.hosted_url, periodStart: r.period_start, periodEnd: r.period_end, createdAt: r.created_at,
});

/** Where the newest applied event time is kept until users has a column for it (see docs/architecture.md). */
const eventKey = (userId: string) => `billing.event_at.${userId}`;

/** The first day of a month (YYYY-MM) and of the month after, as ISO date strings. */
function monthRange(month: string): [string, string] {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return [`${month}-01`, new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10)];
}

/** Stripe events handled, invoices, and per-customer usage for billing views. */
export function billingRepo(db: Db, ids: IdGenerator, clock: Clock): BillingRepo {
  return {
    async claimEvent(e) {
      const r = await db.insertInto('stripe_events').values({ id: e.id, type: e.type, created: e.created, received_at: clock.now().toISOString() })
        .onConflict((oc) => oc.column('id').doNothing()).returning('id').executeTakeFirst();
      return r !== undefined;
    },
    async lockCustomer(userId) {
      // A no-op write takes the row lock on PostgreSQL (held to commit); SQLite serializes writers anyway.
      await db.updateTable('users').set((eb) => ({ plan_status: eb.ref('plan_status') })).where('id', '=', userId).execute();
    },
    async lastEventAt(userId) {
      const r = await db.selectFrom('settings').select('value').where('key', '=', eventKey(userId)).executeTakeFirst();
      const v = r ? (JSON.parse(r.value) as { subscription?: number; payment?: number }) : {};
      return { subscription: v.subscription ?? null, payment: v.payment ?? null };
    },
    async setLastEventAt(userId, stream, created) {
      const r = await db.selectFrom('settings').select('value').where('key', '=', eventKey(userId)).executeTakeFirst();
      const value = JSON.stringify({ ...(r ? JSON.parse(r.value) : {}), [stream]: created });
      const at = clock.now().toISOString();
      await db.insertInto('settings').values({ key: eventKey(userId), value, updated_at: at })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: at })).execute();
    },
    async upsertInvoice(i) {
      const row = {
        user_id: i.userId, amount_usd: i.amountUsd, currency: i.currency, status: i.status, hosted_url: i.hostedUrl,
        period_start: i.periodStart, period_end: i.periodEnd,
      };
      await db.insertInto('invoices').values({ id: ids.id(), stripe_invoice_id: i.stripeInvoiceId, ...row, created_at: i.createdAt })
        .onConflict((oc) => oc.column('stripe_invoice_id').doUpdateSet(row).where('invoices.status', '<>', 'paid')).execute();
    },
    async invoices(userId, limit) {
      const rows = await db.selectFrom('invoices').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
      return rows.map(toInvoice);
    },
    async countOnPlan(planId) {
      const r = await db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('plan_id', '=', planId).executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async usage(month, userIds) {
      const out = new Map<string, CustomerUsage>();
      if (userIds && !userIds.length) return out;
      const [from, to] = monthRange(month);
      const entry = (id: string) => out.get(id) ?? (out.set(id, { messages: 0, costUsd: 0, agents: 0 }), out.get(id)!);
      const messages = await db.selectFrom('messages as m').innerJoin('conversations as c', 'c.id', 'm.conversation_id').innerJoin('agents as a', 'a.id', 'c.agent_id')
        .where('m.role', '=', 'user').where('m.created_at', '>=', from).where('m.created_at', '<', to)
        .$if(!!userIds, (q) => q.where('a.owner_id', 'in', userIds!))
        .select(['a.owner_id', sql<number>`count(*)`.as('n')]).groupBy('a.owner_id').execute();
      for (const r of messages) entry(r.owner_id).messages = Number(r.n);
      const cost = await db.selectFrom('usage as u').innerJoin('agents as a', 'a.id', 'u.agent_id').where('u.day', '>=', from).where('u.day', '<', to)
        .$if(!!userIds, (q) => q.where('a.owner_id', 'in', userIds!))
        .select(['a.owner_id', sql<number>`coalesce(sum(u.cost_usd), 0)`.as('s')]).groupBy('a.owner_id').execute();
      for (const r of cost) entry(r.owner_id).costUsd = Math.round(Number(r.s) * 1e8) / 1e8;
      const agents = await db.selectFrom('agents as a').where('a.status', '<>', 'deleted')
        .$if(!!userIds, (q) => q.where('a.owner_id', 'in', userIds!))
        .select(['a.owner_id', sql<number>`count(*)`.as('n')]).groupBy('a.owner_id').execute();
      for (const r of agents) entry(r.owner_id).agents = Number(r.n);
      return out;
    },
  };
}
