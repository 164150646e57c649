/** Migration 0018_handoff: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';

export const migration: Migration = {
  // A person can step into any conversation (issue 15): the conversation's mode (the agent answers, or a
  // person does), whether it waits for a person and why, who took it over and when; who wrote each
  // message (the agent, a person of the operator's side, or the person talking); an agent's handoff
  // settings (JSON); and the display name a channel told us for a person (Telegram, WhatsApp profile).
  async up(db: Kysely<any>) {
    await db.schema.alterTable('conversations').addColumn('mode', 'text', (c) => c.notNull().defaultTo('agent')).execute();
    await db.schema.alterTable('conversations').addColumn('needs_human', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('conversations').addColumn('handoff_reason', 'text').execute();
    await db.schema.alterTable('conversations').addColumn('needs_human_at', 'text').execute();
    await db.schema.alterTable('conversations').addColumn('taken_over_by', 'text').execute();
    await db.schema.alterTable('conversations').addColumn('taken_over_at', 'text').execute();
    await db.schema.alterTable('conversations').addColumn('last_person_message_at', 'text').execute();
    // The inbox shows each conversation's last message and whether it still awaits an answer.
    await db.schema.alterTable('conversations').addColumn('last_message_preview', 'text').execute();
    await db.schema.alterTable('conversations').addColumn('last_message_role', 'text').execute();
    await db.schema.alterTable('messages').addColumn('author_type', 'text').execute();
    await db.schema.alterTable('messages').addColumn('author_user_id', 'text').execute();
    await db.schema.alterTable('messages').addColumn('author_name', 'text').execute();
    await db.schema.alterTable('agents').addColumn('handoff', 'text').execute();
    await db.schema.alterTable('people').addColumn('display_name', 'text').execute();
    // The inbox lists conversations across agents, newest activity first.
    await db.schema.createIndex('conversations_last_message').on('conversations').columns(['last_message_at', 'id']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('conversations_last_message').ifExists().execute();
    for (const c of ['mode', 'needs_human', 'handoff_reason', 'needs_human_at', 'taken_over_by', 'taken_over_at', 'last_person_message_at', 'last_message_preview', 'last_message_role']) {
      await db.schema.alterTable('conversations').dropColumn(c).execute();
    }
    for (const c of ['author_type', 'author_user_id', 'author_name']) await db.schema.alterTable('messages').dropColumn(c).execute();
    await db.schema.alterTable('agents').dropColumn('handoff').execute();
    await db.schema.alterTable('people').dropColumn('display_name').execute();
  },
};
