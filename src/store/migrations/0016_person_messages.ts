/** Migration 0016_person_messages: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { sql, type Kysely, type Migration } from 'kysely';
import { ts } from './util.js';

export const migration: Migration = {
  // One row per person message an agent received, on any way in (web, message API, Telegram,
  // WhatsApp and /v1, which stores no conversation): the one source of the "messages" and
  // "people" figures of analytics. No text, only who, where and when.
  async up(db: Kysely<any>) {
    await db.schema.createTable('person_messages')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('person_id', 'text')
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('person_messages_day').on('person_messages').columns(['day', 'agent_id']).execute();
    // The messages received before this table existed: every stored user message.
    await sql`insert into person_messages (id, agent_id, person_id, channel, day, created_at)
      select m.id, c.agent_id, c.person_id, coalesce(m.channel, c.channel), substr(m.created_at, 1, 10), m.created_at
      from messages m inner join conversations c on c.id = m.conversation_id where m.role = 'user'`.execute(db);
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('person_messages').ifExists().execute();
  },
};
