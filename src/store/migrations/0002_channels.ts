/** Migration 0002_channels: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';
import { ts } from './util.js';

export const migration: Migration = {
  async up(db: Kysely<any>) {
    /** A channel an agent is connected to (its Telegram bot now; more later). Secrets are sealed. */
    await db.schema.createTable('agent_channels')
      .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('secret_sealed', 'text', (c) => c.notNull())
      .addColumn('info', 'text', (c) => c.notNull())
      .addColumn('webhook_secret', 'text')
      .addColumn('mode', 'text', (c) => c.notNull())
      .addColumn('poll_offset', 'integer')
      .addColumn('last_inbound_at', ts)
      .addColumn('last_outbound_at', ts)
      .addColumn('last_error', 'text')
      .addColumn('last_error_at', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('agent_channels_pk', ['agent_id', 'channel'])
      .execute();

    /** Every inbound channel message, written before the webhook answers. */
    await db.schema.createTable('inbox')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('account', 'text', (c) => c.notNull())
      .addColumn('external_id', 'text', (c) => c.notNull())
      .addColumn('thread_key', 'text', (c) => c.notNull())
      .addColumn('agent_id', 'text', (c) => c.references('agents.id').onDelete('cascade'))
      .addColumn('sender', 'text', (c) => c.notNull())
      .addColumn('sender_name', 'text')
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('locked_until', ts)
      .addColumn('reply_ready', 'integer', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('received_at', ts, (c) => c.notNull())
      .addColumn('processed_at', ts)
      .addUniqueConstraint('inbox_dedupe', ['channel', 'account', 'external_id'])
      .execute();
    await db.schema.createIndex('inbox_pending').on('inbox').columns(['status', 'seq']).execute();
    await db.schema.createIndex('inbox_thread').on('inbox').columns(['thread_key', 'seq']).execute();
    await db.schema.createIndex('inbox_seq').on('inbox').column('seq').execute();

    /** Replies to send, one row per chunk, so a restart resends only what was not confirmed. */
    await db.schema.createTable('outbox')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('inbox_id', 'text', (c) => c.notNull().references('inbox.id').onDelete('cascade'))
      .addColumn('part', 'integer', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('agent_id', 'text')
      .addColumn('recipient', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('provider_message_id', 'text')
      .addColumn('last_error', 'text')
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('sent_at', ts)
      .addUniqueConstraint('outbox_part', ['inbox_id', 'part'])
      .execute();

    // A message can name where it came from (an inbox id), so reprocessing never stores it twice.
    await db.schema.alterTable('messages').addColumn('source_id', 'text').execute();
    await db.schema.createIndex('messages_source').on('messages').column('source_id').unique().execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('messages_source').ifExists().execute();
    await db.schema.alterTable('messages').dropColumn('source_id').execute();
    for (const t of ['outbox', 'inbox', 'agent_channels']) await db.schema.dropTable(t).ifExists().execute();
  },
};
