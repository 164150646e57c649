/** Migration 0033_status_counts: the inbox's and outbox's rows by status, kept as they change. */
import { sql, type Kysely, type Migration } from 'kysely';
import { isPostgres } from './util.js';

const TABLES = ['inbox', 'outbox'] as const;
const add = (table: string, status: string) => sql.raw(`insert into status_counts (tbl, status, n) values ('${table}', ${status}, 1) on conflict (tbl, status) do update set n = n + 1;`);
const take = (table: string, status: string) => sql.raw(`update status_counts set n = n - 1 where tbl = '${table}' and status = ${status};`);

export const migration: Migration = {
  // /metrics reports the inbox's messages and the outbox's reply parts by status (`inbox_messages`,
  // `outbox_parts`), read at each scrape. `count(*) … group by status` read every row ever received or
  // sent: with 200,000 of each, 50 ms a scrape on SQLite (where the event loop stands still meanwhile)
  // and 75 ms of PostgreSQL's time (`npm run bench -- backlog`), growing for ever. Triggers now keep
  // the counts as rows are inserted, change status or are deleted (directly or by a cascade: an agent
  // or a person removed), in the same transaction as the change, and a scrape reads a few rows.
  async up(db: Kysely<any>) {
    if (isPostgres(db)) {
      // Counter rows that every status change updates would serialize every worker of every process on
      // them (and two transitions taken in opposite order could deadlock). So each statement appends
      // its net change by status to status_count_deltas (a statement-level trigger over its transition
      // tables: one row per status it changed, none when it changed none), which nobody updates; reads
      // add the deltas to status_counts, and the sweep folds them in (repositories/inbox.ts).
      await sql`create table status_counts (tbl text not null, status text not null, n bigint not null, primary key (tbl, status))`.execute(db);
      await sql`create table status_count_deltas (id bigserial primary key, tbl text not null, status text not null, d bigint not null)`.execute(db);
      await sql.raw(`create function status_count_delta() returns trigger language plpgsql as $$
begin
  if TG_OP = 'INSERT' then
    insert into status_count_deltas (tbl, status, d) select TG_TABLE_NAME, status, count(*) from new_rows group by status;
  elsif TG_OP = 'DELETE' then
    insert into status_count_deltas (tbl, status, d) select TG_TABLE_NAME, status, -count(*) from old_rows group by status;
  else
    insert into status_count_deltas (tbl, status, d)
      select TG_TABLE_NAME, status, sum(d) from (select status, 1 as d from new_rows union all select status, -1 as d from old_rows) x
      group by status having sum(d) <> 0;
  end if;
  return null;
end $$`).execute(db);
      for (const t of TABLES) {
        await sql`insert into status_counts (tbl, status, n) select ${t}, status, count(*) from ${sql.table(t)} group by status`.execute(db);
        await sql`create trigger ${sql.raw(`${t}_count_insert`)} after insert on ${sql.table(t)} referencing new table as new_rows for each statement execute function status_count_delta()`.execute(db);
        await sql`create trigger ${sql.raw(`${t}_count_update`)} after update on ${sql.table(t)} referencing old table as old_rows new table as new_rows for each statement execute function status_count_delta()`.execute(db);
        await sql`create trigger ${sql.raw(`${t}_count_delete`)} after delete on ${sql.table(t)} referencing old table as old_rows for each statement execute function status_count_delta()`.execute(db);
      }
      return;
    }
    // SQLite has one writer: row triggers update the counter rows directly, with no contention.
    await sql`create table status_counts (tbl text not null, status text not null, n integer not null, primary key (tbl, status)) without rowid`.execute(db);
    for (const t of TABLES) {
      await sql`insert into status_counts (tbl, status, n) select ${t}, status, count(*) from ${sql.table(t)} group by status`.execute(db);
      await sql`create trigger ${sql.raw(`${t}_count_insert`)} after insert on ${sql.table(t)} begin ${add(t, 'new.status')} end`.execute(db);
      await sql`create trigger ${sql.raw(`${t}_count_update`)} after update of status on ${sql.table(t)} when old.status is not new.status begin ${take(t, 'old.status')} ${add(t, 'new.status')} end`.execute(db);
      await sql`create trigger ${sql.raw(`${t}_count_delete`)} after delete on ${sql.table(t)} begin ${take(t, 'old.status')} end`.execute(db);
    }
  },
  async down(db: Kysely<any>) {
    const pg = isPostgres(db);
    for (const t of TABLES) {
      for (const k of ['insert', 'update', 'delete']) await sql`drop trigger if exists ${sql.raw(`${t}_count_${k}`)}${pg ? sql` on ${sql.table(t)}` : sql``}`.execute(db);
    }
    if (pg) {
      await sql`drop function if exists status_count_delta()`.execute(db);
      await sql`drop table if exists status_count_deltas`.execute(db);
    }
    await sql`drop table if exists status_counts`.execute(db);
  },
};
