/** Migration 0015_audit (issue 14.1): the audit log names the actor's role, and is read by target. */
import { type Kysely, type Migration } from 'kysely';

export const migration: Migration = {
  // actor_role: the role the actor acted with (owner, admin, auditor, customer), or "system" for the
  // server's own work (billing, provisioning); null for an unknown caller (a failed sign-in).
  // The page filters by target (an agent's history), hence the index.
  async up(db: Kysely<any>) {
    await db.schema.alterTable('audit_log').addColumn('actor_role', 'text').execute();
    await db.schema.createIndex('audit_log_target').on('audit_log').columns(['target_type', 'target_id', 'created_at']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('audit_log_target').ifExists().execute();
    await db.schema.alterTable('audit_log').dropColumn('actor_role').execute();
  },
};
