/** Migration 0003_single_owner: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { sql, type Kysely, type Migration } from 'kysely';

export const migration: Migration = {
  // Exactly one owner, even when two setup requests race: a partial unique index on both dialects.
  async up(db: Kysely<any>) {
    await db.schema.createIndex('users_single_owner').on('users').column('role').unique().where(sql.ref('role'), '=', 'owner').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('users_single_owner').ifExists().execute();
  },
};
