/** Migration 0037_stripe_event_seconds: a Stripe event's `created` outlives 2038 on PostgreSQL. */
import { sql, type Kysely, type Migration } from 'kysely';
import { isPostgres } from './util.js';

export const migration: Migration = {
  // `stripe_events.created` holds Unix seconds. PostgreSQL's `integer` is 32 bits and ends at
  // 2038-01-19 03:14:07 UTC: every later event would fail its insert (a 500, which Stripe retries for
  // three days and then gives up on) and no customer's plan would move again. SQLite's integer is
  // 64 bits already.
  async up(db: Kysely<any>) {
    if (isPostgres(db)) await sql`alter table stripe_events alter column created type bigint`.execute(db);
  },
  async down(db: Kysely<any>) {
    if (isPostgres(db)) await sql`alter table stripe_events alter column created type integer`.execute(db);
  },
};
