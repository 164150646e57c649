/** The site watch's records (issue 17): uptime checks, the up/down state, its changes, and audits. */
export type SiteCheck = {
  id: string; agentId: string; slot: string; at: string; ok: boolean; status: number;
  ttfbMs: number | null; totalMs: number | null; certDaysLeft: number | null; error: string | null;
};
export type SiteState = { agentId: string; state: 'up' | 'down'; since: string; reason: string | null };
export type SiteEvent = { id: string; agentId: string; kind: 'down' | 'up'; at: string; detail: string };
export type SiteFinding = { id: string; severity: 'high' | 'medium' | 'low'; title: string; detail: string; url?: string };
export type SiteAuditScores = { seo: number; performance?: number; accessibility?: number };
export type SiteAudit = {
  id: string; agentId: string; at: string; url: string; source: 'api' | 'tool' | 'schedule'; status: 'queued' | 'running' | 'done' | 'failed';
  finishedAt: string | null; scores: SiteAuditScores | null; findings: SiteFinding[];
  /** Pages crawled: URL → content hash (what changed since the last crawl). */
  pages: Record<string, string>;
  /** Plain notes about the run (e.g. Lighthouse skipped, and why). */
  notes: string[];
  error: string | null;
};

export interface SiteWatchRepo {
  /** Stores a check; false when the agent already has one for this slot (another process ran it). */
  insertCheck(c: SiteCheck): Promise<boolean>;
  checks(agentId: string, from: string, to: string, limit: number): Promise<SiteCheck[]>;
  /** The newest checks, newest first. */
  lastChecks(agentId: string, n: number): Promise<SiteCheck[]>;
  /** ok / total per agent since a time (uptime ratios). */
  uptime(agentId: string, since: string, until: string): Promise<{ ok: number; total: number }>;
  /** Deletes checks and events older than `before`; answers how many checks went. */
  prune(before: string): Promise<number>;
  state(agentId: string): Promise<SiteState | undefined>;
  /** Moves the state from `from` (undefined: no row yet) to `to`; true only for the caller that made the change. */
  changeState(agentId: string, from: SiteState['state'] | undefined, to: SiteState, ): Promise<boolean>;
  insertEvent(e: SiteEvent): Promise<void>;
  events(agentId: string, limit: number): Promise<SiteEvent[]>;
  insertAudit(a: SiteAudit): Promise<void>;
  updateAudit(id: string, p: Partial<Pick<SiteAudit, 'status' | 'finishedAt' | 'scores' | 'findings' | 'pages' | 'notes' | 'error'>>): Promise<void>;
  audit(id: string): Promise<SiteAudit | undefined>;
  audits(agentId: string, limit: number): Promise<SiteAudit[]>;
  /** Audits of an agent started since a time (frequency cap), and those still queued or running. */
  auditCounts(agentId: string, since: string): Promise<{ recent: number; open: number }>;
}
