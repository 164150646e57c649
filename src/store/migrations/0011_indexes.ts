/** Migration 0011_indexes: shipped, so frozen (its name and SQL never change; a change is a new migration). */
import { type Kysely, type Migration } from 'kysely';

export const migration: Migration = {
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
};
