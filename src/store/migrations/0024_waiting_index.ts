/** Migration 0024_waiting_index: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { sql, type Kysely, type Migration } from 'kysely';

export const migration: Migration = {
  // The operators' inbox badge (GET /api/conversations/needs-human/count, polled by every dashboard)
  // counted the conversations waiting for a person by scanning the whole conversations table. A partial
  // index over just those rows keeps it as cheap with a million conversations as with none (SQLite and
  // PostgreSQL; on SQLite the query must name the literal `needs_human = 1` for the index to apply).
  async up(db: Kysely<any>) {
    await db.schema.createIndex('conversations_waiting').on('conversations').columns(['needs_human_at'])
      .where(sql<boolean>`needs_human = 1`).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('conversations_waiting').ifExists().execute();
  },
};
