/** Migration 0019_media: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';
import { ts } from './util.js';

export const migration: Migration = {
  // Media a person sent (voice notes, photos) or a reply spoken (issue 16): who owns it (agent and person),
  // the conversation and message it belongs to once known, what the bytes are (sniffed), where they are
  // stored (a content-addressed key: two rows may share one file), what was heard in it, and when it expires.
  async up(db: Kysely<any>) {
    await db.schema.createTable('media')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('person_id', 'text', (c) => c.notNull())
      .addColumn('conversation_id', 'text')
      .addColumn('message_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('mime_type', 'text', (c) => c.notNull())
      .addColumn('bytes', 'integer', (c) => c.notNull())
      .addColumn('storage_key', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('duration_seconds', 'double precision')
      .addColumn('width', 'integer')
      .addColumn('height', 'integer')
      .addColumn('transcript', 'text')
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('expires_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('media_person').on('media').columns(['person_id', 'agent_id']).execute();
    await db.schema.createIndex('media_agent').on('media').column('agent_id').execute();
    await db.schema.createIndex('media_message').on('media').column('message_id').execute();
    await db.schema.createIndex('media_expires').on('media').column('expires_at').execute();
    await db.schema.createIndex('media_storage_key').on('media').column('storage_key').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('media').ifExists().execute();
  },
};
