/** The audit log. */

/**
 * One entry: who (`actorId` and the role they acted with; `system` for the server's own work, null
 * for an unknown caller), what (`action`, e.g. `agent.updated`), to what (`targetType`, `targetId`),
 * and `detail`: for changes, `fields` (the names of what changed) and `changes` (small non-secret
 * before/after values); never a secret's value.
 */
export type AuditEntry = { id: string; actorId: string | null; actorRole: string | null; action: string; targetType: string; targetId: string; detail: Record<string, unknown>; createdAt: string };
export type AuditFilter = { actions: string[]; since: string; targetId?: string; ip?: string };
export type AuditListFilter = {
  /** Exactly this action, or a prefix when it ends in `*` (`auth.*`). */
  action?: string;
  targetType?: string;
  targetId?: string;
};
export interface AuditRepo {
  add(e: Omit<AuditEntry, 'id' | 'createdAt' | 'actorRole'> & { actorRole?: string | null }): Promise<void>;
  /** Newest first. */
  list(limit: number, f?: AuditListFilter): Promise<AuditEntry[]>;
  /** Entries after `since` with one of the actions (for one target, or whose detail.ip is `ip`): how many, the oldest and newest time. */
  tally(f: AuditFilter): Promise<{ count: number; first: string | null; last: string | null }>;
}
