/** Migration 0005_linking: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';
import { ts } from './util.js';

export const migration: Migration = {
  async up(db: Kysely<any>) {
    // Where each message was written or sent, now that linked people share conversations across channels.
    await db.schema.alterTable('messages').addColumn('channel', 'text').execute();
    /** A web identity linked to a phone for a while: the two are one person until it expires. */
    await db.schema.createTable('person_links')
      .addColumn('person_id', 'text', (c) => c.primaryKey().references('people.id').onDelete('cascade'))
      .addColumn('linked_person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
      .addColumn('expires_at', ts, (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    /** One-time codes sent over WhatsApp; stored hashed, single use, short-lived. */
    await db.schema.createTable('link_codes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
      .addColumn('phone', 'text', (c) => c.notNull())
      .addColumn('code_hash', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('expires_at', ts, (c) => c.notNull())
      .addColumn('used_at', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('link_codes_person').on('link_codes').columns(['person_id', 'created_at']).execute();
    await db.schema.createIndex('link_codes_phone').on('link_codes').columns(['phone', 'created_at']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('link_codes').ifExists().execute();
    await db.schema.dropTable('person_links').ifExists().execute();
    await db.schema.alterTable('messages').dropColumn('channel').execute();
  },
};
