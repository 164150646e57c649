/** Migration 0034_inbox_by_agent: a customer's inbox page reads each agent's newest conversations in order. */
import type { Kysely, Migration } from 'kysely';
import { isPostgres } from './util.js';

export const migration: Migration = {
  async up(db: Kysely<any>) {
    // The dashboard inbox of a customer (and of one agent) lists conversations newest activity first,
    // 50 at a time (repositories/conversations.ts, `inboxPage`). Scoped by owner it found the owner's
    // agents, then every conversation of theirs, and sorted them all for each page: 11 ms with 18,000
    // conversations, growing with each, and the open page reloads as new conversations arrive. With
    // this index each agent's newest conversations are read in order, a page's worth at most.
    // PostgreSQL plans the plain query well from its statistics and never reads this index, while each
    // conversation update (two a message) would write one more: SQLite only.
    if (isPostgres(db)) return;
    await db.schema.createIndex('conversations_agent_activity').on('conversations').columns(['agent_id', 'last_message_at', 'id']).execute();
  },
  async down(db: Kysely<any>) {
    if (isPostgres(db)) return;
    await db.schema.dropIndex('conversations_agent_activity').ifExists().execute();
  },
};
