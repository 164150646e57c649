/** Migration 0030_hot_path_indexes: two lookups every message makes, each by an index that fits it. */
import { sql, type Kysely, type Migration } from 'kysely';

export const migration: Migration = {
  async up(db: Kysely<any>) {
    // Every chat turn, on every way in, asks for the person's open conversation with the agent
    // (conversations repository, `open`): agent, person, not closed, the latest first. SQLite chose
    // `conversations_open (closed_at, last_message_at)` for it, because that index also gives the
    // order, and so walked every open conversation of every agent for each message: 1.5 ms a message
    // with 20,000 open conversations, growing with the installation. A partial index over open
    // conversations by agent, person and time answers it in a few rows, in the order asked (27 µs).
    await db.schema.createIndex('conversations_person_open').on('conversations').columns(['agent_id', 'person_id', 'last_message_at'])
      .where(sql<boolean>`closed_at is null`).execute();
    // The inbox worker's claim wants the earliest claimable messages in (seq, id) order. From
    // `inbox_pending (status, seq)` that order needs a sort, so SQLite evaluated every open message
    // (with two subqueries each) before taking the first eight: 9 ms a claim with 10,000 messages
    // waiting, when a backlog is exactly when claims must be cheap. The open messages in that order
    // let a claim stop after the first it can take (the repository names this index on SQLite).
    await db.schema.createIndex('inbox_open_seq').on('inbox').columns(['seq', 'id'])
      .where(sql<boolean>`status in ('queued', 'processing')`).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('inbox_open_seq').ifExists().execute();
    await db.schema.dropIndex('conversations_person_open').ifExists().execute();
  },
};
