/** Budgets: running spend totals, reservations and the alerts they raise. */

/** A running total: an agent's or a customer's month (YYYY-MM), or one person's day with one agent (YYYY-MM-DD; scopeId agentId:personId). */
export type SpendKey = { scope: 'agent' | 'customer' | 'person'; scopeId: string; period: string };
export type BudgetAlert = {
  id: string; scope: SpendKey['scope']; scopeId: string; period: string; kind: 'downgrade' | 'stop'; ownerId: string | null;
  percent: number; spentUsd: number; budgetUsd: number; message: string; createdAt: string; acknowledgedAt: string | null;
  webhookStatus: string | null; emailStatus: string | null;
};
export interface BudgetRepo {
  get(k: SpendKey): Promise<{ spentUsd: number; reservedUsd: number; messages: number }>;
  /**
   * Reserves each amount while its scope's spent + reserved is under its limit, all or nothing, in one
   * transaction; the holds expire at `expiresAt` if never settled. A scope without a limit (null)
   * holds nothing: its total is brought up to date by settle.
   */
  reserve(holdId: string, items: { key: SpendKey; amountUsd: number; limitUsd: number | null }[], expiresAt: string): Promise<{ ok: true } | { ok: false; refused: SpendKey }>;
  /**
   * Releases the holds and adds what the call really cost, in one transaction; returns each scope's
   * spent total after it (so thresholds can be checked without reading the rows again). `held`
   * false: the scope reserved nothing (it has no limit), so there is no hold to release.
   */
  settle(holdId: string, items: { key: SpendKey; actualUsd: number; held?: boolean }[]): Promise<{ key: SpendKey; spentUsd: number }[]>;
  /** Counts one message unless `cap` were reached; false when it was. */
  countMessage(k: SpendKey, cap: number): Promise<boolean>;
  /** Releases holds of calls that never settled (a crashed process). */
  expireHolds(now: string): Promise<number>;
  /** Records an alert unless this one was raised this period; returns its id when new. */
  addAlert(a: Omit<BudgetAlert, 'id' | 'createdAt' | 'acknowledgedAt' | 'webhookStatus' | 'emailStatus'>): Promise<string | undefined>;
  alert(id: string): Promise<BudgetAlert | undefined>;
  alerts(f: { ownerId?: string; limit: number }): Promise<BudgetAlert[]>;
  updateAlert(id: string, patch: { acknowledgedAt?: string; webhookStatus?: string; emailStatus?: string }): Promise<void>;
  usageByModel(agentId: string, fromDay: string): Promise<{ model: string; inputTokens: number; outputTokens: number; costUsd: number; requests: number }[]>;
  dailySpend(agentId: string, month: string): Promise<{ day: string; costUsd: number }[]>;
}
