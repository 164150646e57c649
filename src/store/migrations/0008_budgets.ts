/** Migration 0008_budgets: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';
import { ts } from './util.js';

export const migration: Migration = {
  // Budgets enforced before each model call: running totals per scope and period, reservations
  // that a crashed process cannot leak (they expire), and threshold alerts sent once per period.
  async up(db: Kysely<any>) {
    await db.schema.alterTable('agents').addColumn('monthly_budget_usd', 'double precision').execute();
    await db.schema.alterTable('agents').addColumn('downgrade_at_percent', 'integer', (c) => c.notNull().defaultTo(80)).execute();
    await db.schema.alterTable('agents').addColumn('stop_at_percent', 'integer', (c) => c.notNull().defaultTo(100)).execute();
    await db.schema.alterTable('agents').addColumn('budget_stop_message', 'text').execute();
    await db.schema.alterTable('agents').addColumn('person_daily_messages', 'integer').execute();
    await db.schema.alterTable('agents').addColumn('person_daily_cost_usd', 'double precision').execute();
    await db.schema.alterTable('agents').addColumn('max_output_tokens', 'integer', (c) => c.notNull().defaultTo(2048)).execute();
    await db.schema.alterTable('users').addColumn('monthly_budget_usd', 'double precision').execute();
    await db.schema.alterTable('conversations').addColumn('downgraded', 'integer', (c) => c.notNull().defaultTo(0)).execute();

    /** scope: agent | customer (month, YYYY-MM) or person (day, YYYY-MM-DD; scope_id = agentId:personId). */
    await db.schema.createTable('spend')
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('scope_id', 'text', (c) => c.notNull())
      .addColumn('period', 'text', (c) => c.notNull())
      .addColumn('spent_usd', 'double precision', (c) => c.notNull())
      .addColumn('reserved_usd', 'double precision', (c) => c.notNull())
      .addColumn('messages', 'integer', (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('spend_pk', ['scope', 'scope_id', 'period'])
      .execute();
    await db.schema.createTable('budget_holds')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('scope_id', 'text', (c) => c.notNull())
      .addColumn('period', 'text', (c) => c.notNull())
      .addColumn('amount_usd', 'double precision', (c) => c.notNull())
      .addColumn('expires_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('budget_holds_expiry').on('budget_holds').column('expires_at').execute();
    await db.schema.createTable('budget_alerts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('scope_id', 'text', (c) => c.notNull())
      .addColumn('period', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('owner_id', 'text')
      .addColumn('percent', 'double precision', (c) => c.notNull())
      .addColumn('spent_usd', 'double precision', (c) => c.notNull())
      .addColumn('budget_usd', 'double precision', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('acknowledged_at', ts)
      .addColumn('webhook_status', 'text')
      .addColumn('email_status', 'text')
      .addUniqueConstraint('budget_alerts_once', ['scope', 'scope_id', 'period', 'kind'])
      .execute();
  },
  async down(db: Kysely<any>) {
    for (const t of ['budget_alerts', 'budget_holds', 'spend']) await db.schema.dropTable(t).ifExists().execute();
    await db.schema.alterTable('conversations').dropColumn('downgraded').execute();
    await db.schema.alterTable('users').dropColumn('monthly_budget_usd').execute();
    for (const c of ['max_output_tokens', 'person_daily_cost_usd', 'person_daily_messages', 'budget_stop_message', 'stop_at_percent', 'downgrade_at_percent', 'monthly_budget_usd']) {
      await db.schema.alterTable('agents').dropColumn(c).execute();
    }
  },
};
