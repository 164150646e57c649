/** The audit log. */

export type AuditEntry = { id: string; actorId: string | null; action: string; targetType: string; targetId: string; detail: Record<string, unknown>; createdAt: string };
export type AuditFilter = { actions: string[]; since: string; targetId?: string; ip?: string };
export interface AuditRepo {
  add(e: Omit<AuditEntry, 'id' | 'createdAt'>): Promise<void>;
  /** Newest first; `action` matches exactly, or as a prefix when it ends in `*` (`auth.*`). */
  list(limit: number, action?: string): Promise<AuditEntry[]>;
  /** Entries after `since` with one of the actions (for one target, or whose detail.ip is `ip`): how many, the oldest and newest time. */
  tally(f: AuditFilter): Promise<{ count: number; first: string | null; last: string | null }>;
}
