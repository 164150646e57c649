/** Migration 0036_lean_writes: two indexes that every message wrote more of than their readers need. */
import { sql, type Kysely, type Migration } from 'kysely';

export const migration: Migration = {
  // Every message updates its conversation twice (the person's message, the reply), moving
  // `last_message_at`, and SQLite's commit writes every page the update dirtied: the row's and, for
  // each index holding that column, the page it left and the page it joined (9 pages an update).
  // `conversations_person_open` needs only agent and person: a person has one open conversation with
  // an agent (rarely two, briefly), so ordering those few by time needs no index (7 pages an update).
  // `messages_source` held a NULL for every reply and every message without an inbox copy; only the
  // lookups by a message's inbox id read it, and they name a value.
  async up(db: Kysely<any>) {
    await db.schema.dropIndex('conversations_person_open').ifExists().execute();
    await db.schema.createIndex('conversations_person_open').on('conversations').columns(['agent_id', 'person_id'])
      .where(sql<boolean>`closed_at is null`).execute();
    await db.schema.dropIndex('messages_source').ifExists().execute();
    await db.schema.createIndex('messages_source').unique().on('messages').column('source_id')
      .where(sql<boolean>`source_id is not null`).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('messages_source').ifExists().execute();
    await db.schema.createIndex('messages_source').unique().on('messages').column('source_id').execute();
    await db.schema.dropIndex('conversations_person_open').ifExists().execute();
    await db.schema.createIndex('conversations_person_open').on('conversations').columns(['agent_id', 'person_id', 'last_message_at'])
      .where(sql<boolean>`closed_at is null`).execute();
  },
};
