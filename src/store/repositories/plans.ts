import type { Db } from '../db.js';
import type { BillingState, Clock, Plan, PlanRepo } from '../../domain/ports.js';
import type { Database } from '../schema.js';

const toPlan = (r: Database['plans']): Plan => ({
  id: r.id, name: r.name, description: r.description, priceUsdMonth: Number(r.price_usd_month), stripePriceId: r.stripe_price_id,
  maxAgents: Number(r.max_agents), monthlyMessages: r.monthly_messages == null ? null : Number(r.monthly_messages),
  monthlyCostUsd: r.monthly_cost_usd == null ? null : Number(r.monthly_cost_usd), tools: JSON.parse(r.tools) as string[],
  trialDays: Number(r.trial_days), sort: Number(r.sort),
  maxSchedules: r.max_schedules == null ? null : Number(r.max_schedules), minScheduleMinutes: r.min_schedule_minutes == null ? null : Number(r.min_schedule_minutes),
  minCheckIntervalMinutes: r.min_check_interval_minutes == null ? null : Number(r.min_check_interval_minutes),
  maxKnowledgeSources: r.max_knowledge_sources == null ? null : Number(r.max_knowledge_sources), maxKnowledgePages: r.max_knowledge_pages == null ? null : Number(r.max_knowledge_pages),
  maxKnowledgeBytes: r.max_knowledge_bytes == null ? null : Number(r.max_knowledge_bytes),
});

const toBilling = (r: Pick<Database['users'], 'id' | 'plan_id' | 'plan_status' | 'trial_ends_at' | 'current_period_end' | 'past_due_since' | 'stripe_customer_id' | 'stripe_subscription_id'>): BillingState => ({
  userId: r.id, planId: r.plan_id, planStatus: r.plan_status as BillingState['planStatus'], trialEndsAt: r.trial_ends_at,
  currentPeriodEnd: r.current_period_end, pastDueSince: r.past_due_since, stripeCustomerId: r.stripe_customer_id, stripeSubscriptionId: r.stripe_subscription_id,
});
const BILLING_COLS = ['id', 'plan_id', 'plan_status', 'trial_ends_at', 'current_period_end', 'past_due_since', 'stripe_customer_id', 'stripe_subscription_id'] as const;

/** Plans (editable by the operator) and each customer's billing state (columns on users). */
export function planRepo(db: Db, clock: Clock): PlanRepo {
  return {
    async list() {
      return (await db.selectFrom('plans').selectAll().orderBy('sort').orderBy('id').execute()).map(toPlan);
    },
    async get(id) {
      const r = await db.selectFrom('plans').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toPlan(r);
    },
    async upsert(p) {
      const at = clock.now().toISOString();
      const row = {
        name: p.name, description: p.description, price_usd_month: p.priceUsdMonth, stripe_price_id: p.stripePriceId, max_agents: p.maxAgents,
        monthly_messages: p.monthlyMessages, monthly_cost_usd: p.monthlyCostUsd, tools: JSON.stringify(p.tools), trial_days: p.trialDays, sort: p.sort, updated_at: at,
        max_schedules: p.maxSchedules ?? null, min_schedule_minutes: p.minScheduleMinutes ?? null, min_check_interval_minutes: p.minCheckIntervalMinutes ?? null,
        max_knowledge_sources: p.maxKnowledgeSources ?? null, max_knowledge_pages: p.maxKnowledgePages ?? null, max_knowledge_bytes: p.maxKnowledgeBytes ?? null,
      };
      await db.insertInto('plans').values({ id: p.id, ...row, created_at: at }).onConflict((oc) => oc.column('id').doUpdateSet(row)).execute();
      return toPlan((await db.selectFrom('plans').selectAll().where('id', '=', p.id).executeTakeFirstOrThrow()));
    },
    async delete(id) {
      const r = await db.deleteFrom('plans').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async billing(userId) {
      const r = await db.selectFrom('users').select([...BILLING_COLS]).where('id', '=', userId).executeTakeFirst();
      return r && toBilling(r);
    },
    async billingByStripeCustomer(stripeCustomerId) {
      const r = await db.selectFrom('users').select([...BILLING_COLS]).where('stripe_customer_id', '=', stripeCustomerId).executeTakeFirst();
      return r && toBilling(r);
    },
    async setBilling(userId, patch) {
      const set: Partial<Database['users']> = {};
      if (patch.planId !== undefined) set.plan_id = patch.planId;
      if (patch.planStatus !== undefined) set.plan_status = patch.planStatus;
      if (patch.trialEndsAt !== undefined) set.trial_ends_at = patch.trialEndsAt;
      if (patch.currentPeriodEnd !== undefined) set.current_period_end = patch.currentPeriodEnd;
      if (patch.pastDueSince !== undefined) set.past_due_since = patch.pastDueSince;
      if (patch.stripeCustomerId !== undefined) set.stripe_customer_id = patch.stripeCustomerId;
      if (patch.stripeSubscriptionId !== undefined) set.stripe_subscription_id = patch.stripeSubscriptionId;
      if (Object.keys(set).length) await db.updateTable('users').set(set).where('id', '=', userId).execute();
    },
    async pastDue(before) {
      const rows = await db.selectFrom('users').select([...BILLING_COLS]).where('plan_status', '=', 'past_due').where('past_due_since', '<', before).execute();
      return rows.map(toBilling);
    },
  };
}
