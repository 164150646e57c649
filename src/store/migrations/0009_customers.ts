/** Migration 0009_customers: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';
import { ts } from './util.js';

export const migration: Migration = {
  // The customer platform: plans, billing state, sign-up tokens, Stripe events, invoices, and the
  // provisioning pipeline of customer agents.
  async up(db: Kysely<any>) {
    await db.schema.alterTable('users').addColumn('name', 'text').execute();
    await db.schema.alterTable('users').addColumn('email_verified_at', ts).execute();
    /** active | suspended (by the operator: no login, agents silent). */
    await db.schema.alterTable('users').addColumn('status', 'text', (c) => c.notNull().defaultTo('active')).execute();
    await db.schema.alterTable('users').addColumn('plan_id', 'text').execute();
    /** none | trialing | active | past_due | canceled */
    await db.schema.alterTable('users').addColumn('plan_status', 'text', (c) => c.notNull().defaultTo('none')).execute();
    await db.schema.alterTable('users').addColumn('trial_ends_at', ts).execute();
    await db.schema.alterTable('users').addColumn('current_period_end', ts).execute();
    await db.schema.alterTable('users').addColumn('past_due_since', ts).execute();
    await db.schema.alterTable('users').addColumn('stripe_customer_id', 'text').execute();
    await db.schema.alterTable('users').addColumn('stripe_subscription_id', 'text').execute();
    await db.schema.createIndex('users_stripe_customer').on('users').column('stripe_customer_id').execute();

    await db.schema.createTable('plans')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('price_usd_month', 'double precision', (c) => c.notNull())
      .addColumn('stripe_price_id', 'text')
      .addColumn('max_agents', 'integer', (c) => c.notNull())
      .addColumn('monthly_messages', 'integer')
      .addColumn('monthly_cost_usd', 'double precision')
      /** JSON array of tool names agents on this plan may use (memory, web_fetch, web_search, exec). */
      .addColumn('tools', 'text', (c) => c.notNull())
      .addColumn('trial_days', 'integer', (c) => c.notNull())
      .addColumn('sort', 'integer', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute();
    const at = new Date().toISOString();
    await db.insertInto('plans').values([
      { id: 'trial', name: 'Trial', description: 'Try one agent free for 14 days.', price_usd_month: 0, stripe_price_id: null, max_agents: 1, monthly_messages: 300, monthly_cost_usd: 2, tools: JSON.stringify(['memory', 'web_fetch']), trial_days: 14, sort: 0, created_at: at, updated_at: at },
      { id: 'starter', name: 'Starter', description: 'One website, a steady conversation.', price_usd_month: 29, stripe_price_id: null, max_agents: 2, monthly_messages: 3000, monthly_cost_usd: 15, tools: JSON.stringify(['memory', 'web_fetch', 'web_search']), trial_days: 0, sort: 1, created_at: at, updated_at: at },
      { id: 'pro', name: 'Pro', description: 'Several sites and the full tool set.', price_usd_month: 99, stripe_price_id: null, max_agents: 10, monthly_messages: 20000, monthly_cost_usd: 80, tools: JSON.stringify(['memory', 'web_fetch', 'web_search', 'exec']), trial_days: 0, sort: 2, created_at: at, updated_at: at },
    ]).execute();

    /** One-time tokens sent by e-mail: verify_email, reset_password, magic_link. Stored hashed. */
    await db.schema.createTable('auth_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('expires_at', ts, (c) => c.notNull())
      .addColumn('used_at', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('auth_tokens_user').on('auth_tokens').columns(['user_id', 'kind']).execute();

    /** Stripe events already handled (idempotency by event id). */
    await db.schema.createTable('stripe_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('created', 'integer', (c) => c.notNull())
      .addColumn('received_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createTable('invoices')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('stripe_invoice_id', 'text', (c) => c.notNull().unique())
      .addColumn('amount_usd', 'double precision', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('hosted_url', 'text')
      .addColumn('period_start', ts)
      .addColumn('period_end', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('invoices_user').on('invoices').columns(['user_id', 'created_at']).execute();

    await db.schema.alterTable('agents').addColumn('site_url', 'text').execute();
    /** JSON: what the site check detected (generator, frameworks, host). */
    await db.schema.alterTable('agents').addColumn('stack', 'text').execute();
    /** Why an agent is paused: operator | billing | customer (billing pauses are lifted by paying). */
    await db.schema.alterTable('agents').addColumn('paused_reason', 'text').execute();
    /** The provisioning pipeline of a customer agent: its steps and, until bound, the sealed bot token. */
    await db.schema.createTable('provisioning')
      .addColumn('agent_id', 'text', (c) => c.primaryKey().references('agents.id').onDelete('cascade'))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('steps', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('token_sealed', 'text')
      .addColumn('started_at', ts, (c) => c.notNull())
      .addColumn('finished_at', ts)
      .execute();

    // Analytics and caps count messages by time.
    await db.schema.createIndex('messages_created').on('messages').column('created_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('messages_created').ifExists().execute();
    for (const t of ['provisioning', 'invoices', 'stripe_events', 'auth_tokens', 'plans']) await db.schema.dropTable(t).ifExists().execute();
    for (const c of ['paused_reason', 'stack', 'site_url']) await db.schema.alterTable('agents').dropColumn(c).execute();
    await db.schema.dropIndex('users_stripe_customer').ifExists().execute();
    for (const c of ['stripe_subscription_id', 'stripe_customer_id', 'past_due_since', 'current_period_end', 'trial_ends_at', 'plan_status', 'plan_id', 'status', 'email_verified_at', 'name']) {
      await db.schema.alterTable('users').dropColumn(c).execute();
    }
  },
};
