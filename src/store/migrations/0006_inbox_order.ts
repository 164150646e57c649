/** Migration 0006_inbox_order: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';

export const migration: Migration = {
  // The provider's own order within a conversation (Telegram update_id, WhatsApp timestamp), since
  // parallel webhook deliveries can arrive out of order.
  async up(db: Kysely<any>) {
    await db.schema.alterTable('inbox').addColumn('order_key', 'text', (c) => c.notNull().defaultTo('')).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('inbox').dropColumn('order_key').execute();
  },
};
