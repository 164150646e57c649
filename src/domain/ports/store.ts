/** The store: every repository, and transactions over them. */
import type { AuthTokenRepo, TokenRepo, UserRepo } from './accounts.js';
import type { AgentRepo, PersonNotesRepo, ProvisioningRepo, WorkspaceRepo } from './agents.js';
import type { AuditRepo } from './audit.js';
import type { BillingRepo, PlanRepo } from './billing.js';
import type { BudgetRepo } from './budget.js';
import type { ChannelRepo } from './channels.js';
import type { ApprovalRepo, ConversationRepo, PersonRepo, SummaryRepo, ToolCallRepo } from './conversations.js';
import type { InboxRepo, PersonStateRepo } from './inbox.js';
import type { ProviderRepo, SettingsRepo } from './settings.js';
import type { AnalyticsRepo, UsageRepo } from './usage.js';
import type { MediaRepo } from './media.js';
import type { ScheduleRepo } from './schedules.js';
import type { SiteWatchRepo } from './site-watch.js';
import type { KnowledgeRepo } from './knowledge.js';

export interface Store {
  users: UserRepo;
  tokens: TokenRepo;
  agents: AgentRepo;
  people: PersonRepo;
  conversations: ConversationRepo;
  providers: ProviderRepo;
  settings: SettingsRepo;
  usage: UsageRepo;
  analytics: AnalyticsRepo;
  inbox: InboxRepo;
  channels: ChannelRepo;
  personState: PersonStateRepo;
  summaries: SummaryRepo;
  workspace: WorkspaceRepo;
  notes: PersonNotesRepo;
  audit: AuditRepo;
  budget: BudgetRepo;
  plans: PlanRepo;
  provisioning: ProvisioningRepo;
  billing: BillingRepo;
  authTokens: AuthTokenRepo;
  toolCalls: ToolCallRepo;
  approvals: ApprovalRepo;
  media: MediaRepo;
  schedules: ScheduleRepo;
  siteWatch: SiteWatchRepo;
  knowledge: KnowledgeRepo;
  /** Runs fn in one transaction, with a store bound to it. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
