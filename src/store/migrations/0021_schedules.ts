/** Migration 0021_schedules: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';
import { ts } from './util.js';

export const migration: Migration = {
  // Agents that act on their own (issue 17): scheduled tasks (cron with a time zone, or every N minutes),
  // their runs (one per slot: the unique (schedule_id, scheduled_for) index; manual runs have no slot),
  // the owner's chat with the agent (linked by a one-time /start code, hashed at rest), the account's
  // time zone, and the plan caps on schedules and site checks.
  async up(db: Kysely<any>) {
    await db.schema.createTable('schedules').ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull().defaultTo('task'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('cron', 'text')
      .addColumn('every_minutes', 'integer')
      .addColumn('timezone', 'text')
      .addColumn('instruction', 'text', (c) => c.notNull())
      .addColumn('deliver_channel', 'text', (c) => c.notNull())
      .addColumn('deliver_to', 'text')
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('next_run_at', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('schedules_agent').ifNotExists().on('schedules').column('agent_id').execute();
    await db.schema.createTable('schedule_runs').ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('schedule_id', 'text', (c) => c.notNull())
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('scheduled_for', ts)
      .addColumn('late', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('started_at', ts, (c) => c.notNull())
      .addColumn('finished_at', ts)
      .addColumn('cost_usd', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('output', 'text')
      .addColumn('error', 'text')
      .addColumn('conversation_id', 'text')
      .addColumn('delivery_channel', 'text', (c) => c.notNull())
      .addColumn('delivery_status', 'text')
      .addColumn('delivery_error', 'text')
      .execute();
    await db.schema.createIndex('schedule_runs_slot').ifNotExists().unique().on('schedule_runs').columns(['schedule_id', 'scheduled_for']).execute();
    await db.schema.createIndex('schedule_runs_started').ifNotExists().on('schedule_runs').columns(['schedule_id', 'started_at']).execute();
    await db.schema.createTable('owner_links').ifNotExists()
      .addColumn('code_hash', 'text', (c) => c.primaryKey())
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('expires_at', ts, (c) => c.notNull())
      .addColumn('used_at', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createTable('owner_chats').ifNotExists()
      .addColumn('agent_id', 'text', (c) => c.primaryKey())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('chat_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('linked_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.alterTable('users').addColumn('timezone', 'text').execute();
    await db.schema.alterTable('plans').addColumn('max_schedules', 'integer').execute();
    await db.schema.alterTable('plans').addColumn('min_schedule_minutes', 'integer').execute();
    await db.schema.alterTable('plans').addColumn('min_check_interval_minutes', 'integer').execute();
  },
  async down(db: Kysely<any>) {
    for (const t of ['owner_chats', 'owner_links', 'schedule_runs', 'schedules']) await db.schema.dropTable(t).ifExists().execute();
    await db.schema.alterTable('users').dropColumn('timezone').execute();
    for (const c of ['max_schedules', 'min_schedule_minutes', 'min_check_interval_minutes']) await db.schema.alterTable('plans').dropColumn(c).execute();
  },
};
