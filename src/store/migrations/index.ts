/**
 * Numbered migrations, run at start. One set serves SQLite and PostgreSQL: only portable
 * column types (text, integer, double precision) and no dialect-specific SQL.
 */
import { sql, PostgresAdapter, type Kysely, type Migration } from 'kysely';

const ts = 'text';
const isPostgres = (db: Kysely<any>) => db.getExecutor().adapter instanceof PostgresAdapter;

export const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<any>) {
      await db.schema.createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();

      await db.schema.createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('last_used_at', ts)
        .addColumn('expires_at', ts)
        .execute();
      await db.schema.createIndex('tokens_user').on('tokens').columns(['user_id', 'kind']).execute();

      await db.schema.createTable('agents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('slug', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('icon', 'text', (c) => c.notNull())
        .addColumn('instructions', 'text', (c) => c.notNull())
        .addColumn('model', 'text')
        .addColumn('fallback_model', 'text')
        .addColumn('temperature', 'double precision', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('listed', 'integer', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('agents_owner').on('agents').column('owner_id').execute();

      await db.schema.createTable('agent_files')
        .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('agent_files_pk', ['agent_id', 'path'])
        .execute();

      await db.schema.createTable('people')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addUniqueConstraint('people_identity', ['kind', 'external_id'])
        .execute();

      await db.schema.createTable('conversations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
        .addColumn('person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('last_message_at', ts, (c) => c.notNull())
        .addColumn('closed_at', ts)
        .execute();
      await db.schema.createIndex('conversations_lookup').on('conversations')
        .columns(['agent_id', 'person_id', 'channel', 'closed_at']).execute();

      await db.schema.createTable('messages')
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('messages_conversation').on('messages').columns(['conversation_id', 'seq']).execute();

      await db.schema.createTable('providers')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('base_url', 'text')
        .addColumn('api_key_sealed', 'text')
        .addColumn('models', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .execute();

      await db.schema.createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .execute();

      await db.schema.createTable('usage')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('agent_id', 'text', (c) => c.references('agents.id').onDelete('set null'))
        .addColumn('conversation_id', 'text', (c) => c.references('conversations.id').onDelete('set null'))
        .addColumn('message_id', 'text')
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('input_tokens', 'integer', (c) => c.notNull())
        .addColumn('output_tokens', 'integer', (c) => c.notNull())
        .addColumn('cost_usd', 'double precision', (c) => c.notNull())
        .addColumn('ttft_ms', 'integer')
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('usage_day').on('usage').columns(['day', 'agent_id']).execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['usage', 'settings', 'providers', 'messages', 'conversations', 'people', 'agent_files', 'agents', 'tokens', 'users']) {
        await db.schema.dropTable(t).ifExists().execute();
      }
    },
  },
  '0002_channels': {
    async up(db: Kysely<any>) {
      /** A channel an agent is connected to (its Telegram bot now; more later). Secrets are sealed. */
      await db.schema.createTable('agent_channels')
        .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('secret_sealed', 'text', (c) => c.notNull())
        .addColumn('info', 'text', (c) => c.notNull())
        .addColumn('webhook_secret', 'text')
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('poll_offset', 'integer')
        .addColumn('last_inbound_at', ts)
        .addColumn('last_outbound_at', ts)
        .addColumn('last_error', 'text')
        .addColumn('last_error_at', ts)
        .addColumn('created_at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('agent_channels_pk', ['agent_id', 'channel'])
        .execute();

      /** Every inbound channel message, written before the webhook answers. */
      await db.schema.createTable('inbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('account', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text', (c) => c.notNull())
        .addColumn('thread_key', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text', (c) => c.references('agents.id').onDelete('cascade'))
        .addColumn('sender', 'text', (c) => c.notNull())
        .addColumn('sender_name', 'text')
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('locked_until', ts)
        .addColumn('reply_ready', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('received_at', ts, (c) => c.notNull())
        .addColumn('processed_at', ts)
        .addUniqueConstraint('inbox_dedupe', ['channel', 'account', 'external_id'])
        .execute();
      await db.schema.createIndex('inbox_pending').on('inbox').columns(['status', 'seq']).execute();
      await db.schema.createIndex('inbox_thread').on('inbox').columns(['thread_key', 'seq']).execute();
      await db.schema.createIndex('inbox_seq').on('inbox').column('seq').execute();

      /** Replies to send, one row per chunk, so a restart resends only what was not confirmed. */
      await db.schema.createTable('outbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('inbox_id', 'text', (c) => c.notNull().references('inbox.id').onDelete('cascade'))
        .addColumn('part', 'integer', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text')
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('provider_message_id', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('sent_at', ts)
        .addUniqueConstraint('outbox_part', ['inbox_id', 'part'])
        .execute();

      // A message can name where it came from (an inbox id), so reprocessing never stores it twice.
      await db.schema.alterTable('messages').addColumn('source_id', 'text').execute();
      await db.schema.createIndex('messages_source').on('messages').column('source_id').unique().execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('messages_source').ifExists().execute();
      await db.schema.alterTable('messages').dropColumn('source_id').execute();
      for (const t of ['outbox', 'inbox', 'agent_channels']) await db.schema.dropTable(t).ifExists().execute();
    },
  },
  '0003_single_owner': {
    // Exactly one owner, even when two setup requests race: a partial unique index on both dialects.
    async up(db: Kysely<any>) {
      await db.schema.createIndex('users_single_owner').on('users').column('role').unique().where(sql.ref('role'), '=', 'owner').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('users_single_owner').ifExists().execute();
    },
  },
  '0004_whatsapp': {
    async up(db: Kysely<any>) {
      /** Per person on the shared WhatsApp number: the current agent and a switch waiting for YES. */
      await db.schema.createTable('person_state')
        .addColumn('person_id', 'text', (c) => c.primaryKey().references('people.id').onDelete('cascade'))
        .addColumn('current_agent_id', 'text', (c) => c.references('agents.id').onDelete('set null'))
        .addColumn('pending_agent_id', 'text', (c) => c.references('agents.id').onDelete('set null'))
        .addColumn('pending_text', 'text')
        .addColumn('updated_at', ts, (c) => c.notNull())
        .execute();
      // Delivery receipts (delivered, read) per outbound part, and its time.
      await db.schema.alterTable('outbox').addColumn('delivery', 'text').execute();
      await db.schema.alterTable('outbox').addColumn('delivery_at', ts).execute();
      await db.schema.createIndex('outbox_provider_id').on('outbox').columns(['channel', 'provider_message_id']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('outbox_provider_id').ifExists().execute();
      await db.schema.alterTable('outbox').dropColumn('delivery_at').execute();
      await db.schema.alterTable('outbox').dropColumn('delivery').execute();
      await db.schema.dropTable('person_state').ifExists().execute();
    },
  },
  '0005_linking': {
    async up(db: Kysely<any>) {
      // Where each message was written or sent, now that linked people share conversations across channels.
      await db.schema.alterTable('messages').addColumn('channel', 'text').execute();
      /** A web identity linked to a phone for a while: the two are one person until it expires. */
      await db.schema.createTable('person_links')
        .addColumn('person_id', 'text', (c) => c.primaryKey().references('people.id').onDelete('cascade'))
        .addColumn('linked_person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
        .addColumn('expires_at', ts, (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();
      /** One-time codes sent over WhatsApp; stored hashed, single use, short-lived. */
      await db.schema.createTable('link_codes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
        .addColumn('phone', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('expires_at', ts, (c) => c.notNull())
        .addColumn('used_at', ts)
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('link_codes_person').on('link_codes').columns(['person_id', 'created_at']).execute();
      await db.schema.createIndex('link_codes_phone').on('link_codes').columns(['phone', 'created_at']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('link_codes').ifExists().execute();
      await db.schema.dropTable('person_links').ifExists().execute();
      await db.schema.alterTable('messages').dropColumn('channel').execute();
    },
  },
  '0006_inbox_order': {
    // The provider's own order within a conversation (Telegram update_id, WhatsApp timestamp), since
    // parallel webhook deliveries can arrive out of order.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('inbox').addColumn('order_key', 'text', (c) => c.notNull().defaultTo('')).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('inbox').dropColumn('order_key').execute();
    },
  },
  '0007_memory': {
    // Sessions that end and are summarized, the summaries' full-text index (the one place the two
    // dialects differ: FTS5 on SQLite, a tsvector column on PostgreSQL), and an audit log.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('agents').addColumn('session_timeout_minutes', 'integer', (c) => c.notNull().defaultTo(30)).execute();
      await db.schema.alterTable('agents').addColumn('context_token_budget', 'integer', (c) => c.notNull().defaultTo(8000)).execute();
      await db.schema.alterTable('agents').addColumn('memory_tools', 'integer', (c) => c.notNull().defaultTo(1)).execute();

      await db.schema.alterTable('conversations').addColumn('closed_reason', 'text').execute();
      await db.schema.alterTable('conversations').addColumn('summary_status', 'text', (c) => c.notNull().defaultTo('none')).execute();
      /** Older turns of a long session, compacted, and the last message seq they cover. */
      await db.schema.alterTable('conversations').addColumn('running_summary', 'text').execute();
      await db.schema.alterTable('conversations').addColumn('compacted_through', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      /** Summaries of earlier sessions chosen when this one started (kept fixed for the session). */
      await db.schema.alterTable('conversations').addColumn('memory_context', 'text').execute();
      await db.schema.createIndex('conversations_open').on('conversations').columns(['closed_at', 'last_message_at']).execute();

      await db.schema.createTable('summaries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('conversation_id', 'text', (c) => c.notNull().unique().references('conversations.id').onDelete('cascade'))
        .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
        .addColumn('person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('started_at', ts, (c) => c.notNull())
        .addColumn('ended_at', ts, (c) => c.notNull())
        .addColumn('message_count', 'integer', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('input_tokens', 'integer', (c) => c.notNull())
        .addColumn('output_tokens', 'integer', (c) => c.notNull())
        .addColumn('cost_usd', 'double precision', (c) => c.notNull())
        /** JSON array of numbers when an embedding model is configured. */
        .addColumn('embedding', 'text')
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('summaries_agent_person').on('summaries').columns(['agent_id', 'person_id', 'ended_at']).execute();
      if (isPostgres(db)) {
        await sql`alter table summaries add column tsv tsvector generated always as (to_tsvector('english', summary)) stored`.execute(db);
        await sql`create index summaries_tsv on summaries using gin (tsv)`.execute(db);
      } else {
        await sql`create virtual table summaries_fts using fts5(summary_id unindexed, body, tokenize = 'porter unicode61')`.execute(db);
        // Kept in step by triggers, so cascading deletes (agent, person) clean the index too.
        await sql`create trigger summaries_fts_insert after insert on summaries begin insert into summaries_fts(summary_id, body) values (new.id, new.summary); end`.execute(db);
        await sql`create trigger summaries_fts_delete after delete on summaries begin delete from summaries_fts where summary_id = old.id; end`.execute(db);
      }

      await db.schema.createTable('audit_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('actor_id', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target_type', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_log_time').on('audit_log').column('created_at').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('audit_log').ifExists().execute();
      if (!isPostgres(db)) {
        await sql`drop trigger if exists summaries_fts_insert`.execute(db);
        await sql`drop trigger if exists summaries_fts_delete`.execute(db);
        await sql`drop table if exists summaries_fts`.execute(db);
      }
      await db.schema.dropTable('summaries').ifExists().execute();
      await db.schema.dropIndex('conversations_open').ifExists().execute();
      for (const c of ['memory_context', 'compacted_through', 'running_summary', 'summary_status', 'closed_reason']) await db.schema.alterTable('conversations').dropColumn(c).execute();
      for (const c of ['memory_tools', 'context_token_budget', 'session_timeout_minutes']) await db.schema.alterTable('agents').dropColumn(c).execute();
    },
  },
  '0008_budgets': {
    // Budgets enforced before each model call: running totals per scope and period, reservations
    // that a crashed process cannot leak (they expire), and threshold alerts sent once per period.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('agents').addColumn('monthly_budget_usd', 'double precision').execute();
      await db.schema.alterTable('agents').addColumn('downgrade_at_percent', 'integer', (c) => c.notNull().defaultTo(80)).execute();
      await db.schema.alterTable('agents').addColumn('stop_at_percent', 'integer', (c) => c.notNull().defaultTo(100)).execute();
      await db.schema.alterTable('agents').addColumn('budget_stop_message', 'text').execute();
      await db.schema.alterTable('agents').addColumn('person_daily_messages', 'integer').execute();
      await db.schema.alterTable('agents').addColumn('person_daily_cost_usd', 'double precision').execute();
      await db.schema.alterTable('agents').addColumn('max_output_tokens', 'integer', (c) => c.notNull().defaultTo(2048)).execute();
      await db.schema.alterTable('users').addColumn('monthly_budget_usd', 'double precision').execute();
      await db.schema.alterTable('conversations').addColumn('downgraded', 'integer', (c) => c.notNull().defaultTo(0)).execute();

      /** scope: agent | customer (month, YYYY-MM) or person (day, YYYY-MM-DD; scope_id = agentId:personId). */
      await db.schema.createTable('spend')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('scope_id', 'text', (c) => c.notNull())
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('spent_usd', 'double precision', (c) => c.notNull())
        .addColumn('reserved_usd', 'double precision', (c) => c.notNull())
        .addColumn('messages', 'integer', (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('spend_pk', ['scope', 'scope_id', 'period'])
        .execute();
      await db.schema.createTable('budget_holds')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('scope_id', 'text', (c) => c.notNull())
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('amount_usd', 'double precision', (c) => c.notNull())
        .addColumn('expires_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('budget_holds_expiry').on('budget_holds').column('expires_at').execute();
      await db.schema.createTable('budget_alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('scope_id', 'text', (c) => c.notNull())
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text')
        .addColumn('percent', 'double precision', (c) => c.notNull())
        .addColumn('spent_usd', 'double precision', (c) => c.notNull())
        .addColumn('budget_usd', 'double precision', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('acknowledged_at', ts)
        .addColumn('webhook_status', 'text')
        .addColumn('email_status', 'text')
        .addUniqueConstraint('budget_alerts_once', ['scope', 'scope_id', 'period', 'kind'])
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['budget_alerts', 'budget_holds', 'spend']) await db.schema.dropTable(t).ifExists().execute();
      await db.schema.alterTable('conversations').dropColumn('downgraded').execute();
      await db.schema.alterTable('users').dropColumn('monthly_budget_usd').execute();
      for (const c of ['max_output_tokens', 'person_daily_cost_usd', 'person_daily_messages', 'budget_stop_message', 'stop_at_percent', 'downgrade_at_percent', 'monthly_budget_usd']) {
        await db.schema.alterTable('agents').dropColumn(c).execute();
      }
    },
  },
  '0009_customers': {
    // The customer platform: plans, billing state, sign-up tokens, Stripe events, invoices, and the
    // provisioning pipeline of customer agents.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('users').addColumn('name', 'text').execute();
      await db.schema.alterTable('users').addColumn('email_verified_at', ts).execute();
      /** active | suspended (by the operator: no login, agents silent). */
      await db.schema.alterTable('users').addColumn('status', 'text', (c) => c.notNull().defaultTo('active')).execute();
      await db.schema.alterTable('users').addColumn('plan_id', 'text').execute();
      /** none | trialing | active | past_due | canceled */
      await db.schema.alterTable('users').addColumn('plan_status', 'text', (c) => c.notNull().defaultTo('none')).execute();
      await db.schema.alterTable('users').addColumn('trial_ends_at', ts).execute();
      await db.schema.alterTable('users').addColumn('current_period_end', ts).execute();
      await db.schema.alterTable('users').addColumn('past_due_since', ts).execute();
      await db.schema.alterTable('users').addColumn('stripe_customer_id', 'text').execute();
      await db.schema.alterTable('users').addColumn('stripe_subscription_id', 'text').execute();
      await db.schema.createIndex('users_stripe_customer').on('users').column('stripe_customer_id').execute();

      await db.schema.createTable('plans')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('price_usd_month', 'double precision', (c) => c.notNull())
        .addColumn('stripe_price_id', 'text')
        .addColumn('max_agents', 'integer', (c) => c.notNull())
        .addColumn('monthly_messages', 'integer')
        .addColumn('monthly_cost_usd', 'double precision')
        /** JSON array of tool names agents on this plan may use (memory, web_fetch, web_search, exec). */
        .addColumn('tools', 'text', (c) => c.notNull())
        .addColumn('trial_days', 'integer', (c) => c.notNull())
        .addColumn('sort', 'integer', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .execute();
      const at = new Date().toISOString();
      await db.insertInto('plans').values([
        { id: 'trial', name: 'Trial', description: 'Try one agent free for 14 days.', price_usd_month: 0, stripe_price_id: null, max_agents: 1, monthly_messages: 300, monthly_cost_usd: 2, tools: JSON.stringify(['memory', 'web_fetch']), trial_days: 14, sort: 0, created_at: at, updated_at: at },
        { id: 'starter', name: 'Starter', description: 'One website, a steady conversation.', price_usd_month: 29, stripe_price_id: null, max_agents: 2, monthly_messages: 3000, monthly_cost_usd: 15, tools: JSON.stringify(['memory', 'web_fetch', 'web_search']), trial_days: 0, sort: 1, created_at: at, updated_at: at },
        { id: 'pro', name: 'Pro', description: 'Several sites and the full tool set.', price_usd_month: 99, stripe_price_id: null, max_agents: 10, monthly_messages: 20000, monthly_cost_usd: 80, tools: JSON.stringify(['memory', 'web_fetch', 'web_search', 'exec']), trial_days: 0, sort: 2, created_at: at, updated_at: at },
      ]).execute();

      /** One-time tokens sent by e-mail: verify_email, reset_password, magic_link. Stored hashed. */
      await db.schema.createTable('auth_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('expires_at', ts, (c) => c.notNull())
        .addColumn('used_at', ts)
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('auth_tokens_user').on('auth_tokens').columns(['user_id', 'kind']).execute();

      /** Stripe events already handled (idempotency by event id). */
      await db.schema.createTable('stripe_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('created', 'integer', (c) => c.notNull())
        .addColumn('received_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createTable('invoices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('stripe_invoice_id', 'text', (c) => c.notNull().unique())
        .addColumn('amount_usd', 'double precision', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('hosted_url', 'text')
        .addColumn('period_start', ts)
        .addColumn('period_end', ts)
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('invoices_user').on('invoices').columns(['user_id', 'created_at']).execute();

      await db.schema.alterTable('agents').addColumn('site_url', 'text').execute();
      /** JSON: what the site check detected (generator, frameworks, host). */
      await db.schema.alterTable('agents').addColumn('stack', 'text').execute();
      /** Why an agent is paused: operator | billing | customer (billing pauses are lifted by paying). */
      await db.schema.alterTable('agents').addColumn('paused_reason', 'text').execute();
      /** The provisioning pipeline of a customer agent: its steps and, until bound, the sealed bot token. */
      await db.schema.createTable('provisioning')
        .addColumn('agent_id', 'text', (c) => c.primaryKey().references('agents.id').onDelete('cascade'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('steps', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('token_sealed', 'text')
        .addColumn('started_at', ts, (c) => c.notNull())
        .addColumn('finished_at', ts)
        .execute();

      // Analytics and caps count messages by time.
      await db.schema.createIndex('messages_created').on('messages').column('created_at').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('messages_created').ifExists().execute();
      for (const t of ['provisioning', 'invoices', 'stripe_events', 'auth_tokens', 'plans']) await db.schema.dropTable(t).ifExists().execute();
      for (const c of ['paused_reason', 'stack', 'site_url']) await db.schema.alterTable('agents').dropColumn(c).execute();
      await db.schema.dropIndex('users_stripe_customer').ifExists().execute();
      for (const c of ['stripe_subscription_id', 'stripe_customer_id', 'past_due_since', 'current_period_end', 'trial_ends_at', 'plan_status', 'plan_id', 'status', 'email_verified_at', 'name']) {
        await db.schema.alterTable('users').dropColumn(c).execute();
      }
    },
  },
  '0010_tools': {
    // Agent tools: each agent's allow/deny policy and HTTP plugins, every tool call on record, and
    // calls held for the owner's approval.
    async up(db: Kysely<any>) {
      /** JSON {allow: string[], deny: string[]}; null: the default (memory tools only). */
      await db.schema.alterTable('agents').addColumn('tool_policy', 'text').execute();
      /** JSON array of HTTP plugin definitions; header secrets sealed. */
      await db.schema.alterTable('agents').addColumn('plugins', 'text').execute();
      await db.schema.createTable('tool_calls')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
        .addColumn('conversation_id', 'text', (c) => c.references('conversations.id').onDelete('cascade'))
        .addColumn('tool', 'text', (c) => c.notNull())
        /** Arguments as JSON, secrets redacted, capped. */
        .addColumn('args', 'text', (c) => c.notNull())
        /** ok | error | refused | pending | approved | denied | expired */
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('result_preview', 'text')
        .addColumn('result_bytes', 'integer', (c) => c.notNull())
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tool_calls_conversation').on('tool_calls').columns(['conversation_id', 'created_at']).execute();
      await db.schema.createIndex('tool_calls_agent').on('tool_calls').columns(['agent_id', 'created_at']).execute();
      await db.schema.createTable('approvals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
        .addColumn('conversation_id', 'text', (c) => c.references('conversations.id').onDelete('cascade'))
        .addColumn('tool_call_id', 'text', (c) => c.notNull())
        .addColumn('tool', 'text', (c) => c.notNull())
        /** The real arguments (sealed: they may hold what the person typed), to run the call on approval. */
        .addColumn('args_sealed', 'text', (c) => c.notNull())
        /** pending | approved | denied | expired | done | failed */
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('decided_by', 'text')
        .addColumn('expires_at', ts, (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('decided_at', ts)
        .execute();
      await db.schema.createIndex('approvals_agent_status').on('approvals').columns(['agent_id', 'status']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('approvals').ifExists().execute();
      await db.schema.dropTable('tool_calls').ifExists().execute();
      await db.schema.alterTable('agents').dropColumn('plugins').execute();
      await db.schema.alterTable('agents').dropColumn('tool_policy').execute();
    },
  },
  '0011_indexes': {
    // The login limiter and the audit page read the audit log by action and target; the budget
    // sweeper reads holds by expiry (already indexed); tool calls by conversation (indexed in 0010).
    async up(db: Kysely<any>) {
      await db.schema.createIndex('audit_log_action_target').on('audit_log').columns(['action', 'target_id', 'created_at']).execute();
      await db.schema.createIndex('auth_tokens_expiry').on('auth_tokens').column('expires_at').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('auth_tokens_expiry').ifExists().execute();
      await db.schema.dropIndex('audit_log_action_target').ifExists().execute();
    },
  },
  '0012_inbox_route': {
    // The routing decision for a message on the shared WhatsApp number, stored with the person's new
    // state in one transaction: a message processed again after a crash is routed as it was the first
    // time, instead of being read as the answer to the question it had itself prompted.
    // Per-agent channel health (last message in, last reply out, last error) reads by agent.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('inbox').addColumn('route', 'text').execute();
      await db.schema.createIndex('inbox_agent').on('inbox').columns(['agent_id', 'channel', 'received_at']).execute();
      await db.schema.createIndex('outbox_agent').on('outbox').columns(['agent_id', 'channel', 'created_at']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('outbox_agent').ifExists().execute();
      await db.schema.dropIndex('inbox_agent').ifExists().execute();
      await db.schema.alterTable('inbox').dropColumn('route').execute();
    },
  },
  '0013_direct_sends': {
    // Messages sent outside a conversation's reply (link codes, approval notices, test messages):
    // recorded like outbox parts, so their delivery receipts are kept and they show with the rest.
    async up(db: Kysely<any>) {
      await db.schema.createTable('direct_sends')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text')
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        /** link_code | approval | test */
        .addColumn('purpose', 'text', (c) => c.notNull())
        /** sent | failed | undelivered */
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('provider_message_id', 'text')
        .addColumn('last_error', 'text')
        .addColumn('delivery', 'text')
        .addColumn('delivery_at', ts)
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('direct_sends_provider_id').on('direct_sends').columns(['channel', 'provider_message_id']).execute();
      await db.schema.createIndex('direct_sends_created').on('direct_sends').column('created_at').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('direct_sends').ifExists().execute();
    },
  },
};
