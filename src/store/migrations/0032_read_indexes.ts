/** Migration 0032_read_indexes: reads that walked a whole table (an agent's month of usage, replies sent by time, a target's audit entries) by index. */
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
    // The audit log of one target (GET /api/audit?targetId=…, an agent's or a person's history) walked
    // the whole log newest first, keeping that target's entries (0015's audit_log_target leads with the
    // target's type, which that filter does not know).
    await db.schema.createIndex('audit_log_target_id').on('audit_log').columns(['target_id', 'created_at']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('audit_log_target_id').ifExists().execute();
    await db.schema.dropIndex('outbox_created').ifExists().execute();
    await db.schema.dropIndex('usage_agent_day').ifExists().execute();
  },
};
