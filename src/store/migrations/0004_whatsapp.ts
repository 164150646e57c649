/** Migration 0004_whatsapp: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';
import { ts } from './util.js';

export const migration: Migration = {
  async up(db: Kysely<any>) {
    /** Per person on the shared WhatsApp number: the current agent and a switch waiting for YES. */
    await db.schema.createTable('person_state')
      .addColumn('person_id', 'text', (c) => c.primaryKey().references('people.id').onDelete('cascade'))
      .addColumn('current_agent_id', 'text', (c) => c.references('agents.id').onDelete('set null'))
      .addColumn('pending_agent_id', 'text', (c) => c.references('agents.id').onDelete('set null'))
      .addColumn('pending_text', 'text')
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute();
    // Delivery receipts (delivered, read) per outbound part, and its time.
    await db.schema.alterTable('outbox').addColumn('delivery', 'text').execute();
    await db.schema.alterTable('outbox').addColumn('delivery_at', ts).execute();
    await db.schema.createIndex('outbox_provider_id').on('outbox').columns(['channel', 'provider_message_id']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('outbox_provider_id').ifExists().execute();
    await db.schema.alterTable('outbox').dropColumn('delivery_at').execute();
    await db.schema.alterTable('outbox').dropColumn('delivery').execute();
    await db.schema.dropTable('person_state').ifExists().execute();
  },
};
