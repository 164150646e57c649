/** Migration 0014_security (issue 12): customer agents off the operator's public surfaces; notes per person. */
import { type Kysely, type Migration } from 'kysely';
import { ts } from './util.js';

export const migration: Migration = {
  // Customer agents leave the operator's public surfaces: agents owned by a customer were listed by
  // default; only an owner or admin lists one now, so every one listed so far is taken off.
  // Notes the model writes are kept per person (person_notes); an agent's shared notes (MEMORY.md
  // and daily notes in agent_files) take the model's writes only when an operator turns shared_notes on.
  async up(db: Kysely<any>) {
    await db.updateTable('agents').set({ listed: 0 })
      .where('owner_id', 'in', db.selectFrom('users').select('id').where('role', '=', 'customer')).execute();
    await db.schema.alterTable('agents').addColumn('shared_notes', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.createTable('person_notes')
      .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
      .addColumn('person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
      /** MEMORY.md | memory/YYYY-MM-DD.md */
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('content', 'text', (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('person_notes_pk', ['agent_id', 'person_id', 'path'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('person_notes').ifExists().execute();
    await db.schema.alterTable('agents').dropColumn('shared_notes').execute();
  },
};
