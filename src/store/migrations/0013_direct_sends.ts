/** Migration 0013_direct_sends: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';
import { ts } from './util.js';

export const migration: Migration = {
  // Messages sent outside a conversation's reply (link codes, approval notices, test messages):
  // recorded like outbox parts, so their delivery receipts are kept and they show with the rest.
  async up(db: Kysely<any>) {
    await db.schema.createTable('direct_sends')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('agent_id', 'text')
      .addColumn('recipient', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      /** link_code | approval | test */
      .addColumn('purpose', 'text', (c) => c.notNull())
      /** sent | failed | undelivered */
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('provider_message_id', 'text')
      .addColumn('last_error', 'text')
      .addColumn('delivery', 'text')
      .addColumn('delivery_at', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('direct_sends_provider_id').on('direct_sends').columns(['channel', 'provider_message_id']).execute();
    await db.schema.createIndex('direct_sends_created').on('direct_sends').column('created_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('direct_sends').ifExists().execute();
  },
};
