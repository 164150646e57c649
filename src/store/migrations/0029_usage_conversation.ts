/** Migration 0029_usage_conversation: an index for a person's spend today, looked up by conversation. */
import type { Kysely, Migration } from 'kysely';

export const migration: Migration = {
  // A person's first message of the day opens their daily spend row, which starts from what the usage
  // table already holds for them today (budget repository, `fromUsage`): usage joined to their
  // conversations. With only `usage_day (day, agent_id)` that read every usage row of the day, so each
  // new visitor cost more than the one before (the web chat profile: about 1 ms a message after 1,000
  // visitors, growing with the day's traffic). By conversation it reads only their own rows.
  async up(db: Kysely<any>) {
    await db.schema.createIndex('usage_conversation').on('usage').columns(['conversation_id', 'day']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('usage_conversation').ifExists().execute();
  },
};
