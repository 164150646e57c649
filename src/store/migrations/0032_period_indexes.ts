/** Migration 0032_period_indexes: an agent's spend by day, and replies sent by time, read by index. */
import type { Kysely, Migration } from 'kysely';

export const migration: Migration = {
  async up(db: Kysely<any>) {
    // An agent's spend this month (its budget's running total starts from it on the month's first
    // message, and the budget page draws it by day) read every usage row of the installation: the
    // query said `day LIKE '2026-03%'`, which no index serves; it is a range now (budget repository,
    // `periodBounds`), and this index finds the agent's rows of the range.
    await db.schema.createIndex('usage_agent_day').on('usage').columns(['agent_id', 'day']).execute();
    // Analytics' delivery figures count the reply parts sent in a date range: every outbox row before.
    await db.schema.createIndex('outbox_created').on('outbox').column('created_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('outbox_created').ifExists().execute();
    await db.schema.dropIndex('usage_agent_day').ifExists().execute();
  },
};
