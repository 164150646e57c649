/** Migration 0017_inbox_open: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { sql, type Kysely, type Migration } from 'kysely';

export const migration: Migration = {
  // The inbox worker's claim asks, for each candidate, whether its conversation has anything earlier
  // still open (queued or processing); the conversation index made it walk every answered message
  // of that conversation too, and they pile up for ever. A partial index over the open ones keeps
  // each claim as cheap after a million answered messages as after none (SQLite and PostgreSQL).
  async up(db: Kysely<any>) {
    await db.schema.createIndex('inbox_open_thread').on('inbox').columns(['thread_key', 'order_key', 'seq'])
      .where(sql<boolean>`status in ('queued', 'processing')`).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('inbox_open_thread').ifExists().execute();
  },
};
