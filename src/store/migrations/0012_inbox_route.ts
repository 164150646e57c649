/** Migration 0012_inbox_route: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';

export const migration: Migration = {
  // The routing decision for a message on the shared WhatsApp number, stored with the person's new
  // state in one transaction: a message processed again after a crash is routed as it was the first
  // time, instead of being read as the answer to the question it had itself prompted.
  // Per-agent channel health (last message in, last reply out, last error) reads by agent.
  async up(db: Kysely<any>) {
    await db.schema.alterTable('inbox').addColumn('route', 'text').execute();
    await db.schema.createIndex('inbox_agent').on('inbox').columns(['agent_id', 'channel', 'received_at']).execute();
    await db.schema.createIndex('outbox_agent').on('outbox').columns(['agent_id', 'channel', 'created_at']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('outbox_agent').ifExists().execute();
    await db.schema.dropIndex('inbox_agent').ifExists().execute();
    await db.schema.alterTable('inbox').dropColumn('route').execute();
  },
};
