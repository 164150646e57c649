/** Migration 0022_site_watch: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';
import { ts } from './util.js';

export const migration: Migration = {
  // The site watch (issue 17): an agent's site settings (JSON on the agent), the uptime check results
  // (bounded by retention, read by agent and time), the watch's up/down state per agent (changed by
  // compare-and-set, so a state change alerts once across processes), and the stored audits.
  async up(db: Kysely<any>) {
    await db.schema.alterTable('agents').addColumn('site', 'text').execute();
    await db.schema.createTable('site_checks').ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('slot', 'text', (c) => c.notNull())
      .addColumn('at', ts, (c) => c.notNull())
      .addColumn('ok', 'integer', (c) => c.notNull())
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('ttfb_ms', 'integer')
      .addColumn('total_ms', 'integer')
      .addColumn('cert_days_left', 'integer')
      .addColumn('error', 'text')
      .execute();
    await db.schema.createIndex('site_checks_agent_at').ifNotExists().on('site_checks').columns(['agent_id', 'at']).execute();
    // One result per agent and slot, however many processes ran the slot's job.
    await db.schema.createIndex('site_checks_agent_slot').ifNotExists().unique().on('site_checks').columns(['agent_id', 'slot']).execute();
    await db.schema.createIndex('site_checks_at').ifNotExists().on('site_checks').column('at').execute();
    await db.schema.createTable('site_state').ifNotExists()
      .addColumn('agent_id', 'text', (c) => c.primaryKey())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('since', ts, (c) => c.notNull())
      .addColumn('reason', 'text')
      .execute();
    await db.schema.createTable('site_events').ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('at', ts, (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('site_events_agent_at').ifNotExists().on('site_events').columns(['agent_id', 'at']).execute();
    await db.schema.createTable('site_audits').ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('at', ts, (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('finished_at', ts)
      .addColumn('scores', 'text')
      .addColumn('findings', 'text')
      .addColumn('pages', 'text')
      .addColumn('notes', 'text')
      .addColumn('error', 'text')
      .execute();
    await db.schema.createIndex('site_audits_agent_at').ifNotExists().on('site_audits').columns(['agent_id', 'at']).execute();
  },
  async down(db: Kysely<any>) {
    for (const t of ['site_audits', 'site_events', 'site_state', 'site_checks']) await db.schema.dropTable(t).ifExists().execute();
    await db.schema.alterTable('agents').dropColumn('site').execute();
  },
};
