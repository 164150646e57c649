import type { Clock, IdGenerator, Store } from '../domain/ports.js';
import type { Db } from './db.js';
import { userRepo } from './repositories/users.js';
import { tokenRepo } from './repositories/tokens.js';
import { agentRepo } from './repositories/agents.js';
import { conversationRepo, personRepo } from './repositories/conversations.js';
import { providerRepo, settingsRepo } from './repositories/settings.js';
import { usageRepo } from './repositories/usage.js';
import { analyticsRepo } from './repositories/analytics.js';
import { channelRepo, inboxRepo, personStateRepo } from './repositories/inbox.js';
import { personNotesRepo, summaryRepo, workspaceRepo } from './repositories/memory.js';
import { auditRepo } from './repositories/audit.js';
import { authTokenRepo } from './repositories/auth-tokens.js';
import { budgetRepo } from './repositories/budget.js';
import { planRepo } from './repositories/plans.js';
import { provisioningRepo } from './repositories/provisioning.js';
import { billingRepo } from './repositories/billing.js';
import { approvalRepo, toolCallRepo } from './repositories/tools.js';
import { mediaRepo } from './repositories/media.js';
import { scheduleRepo } from './repositories/schedules.js';
import { siteWatchRepo } from './repositories/site-watch.js';
import { knowledgeRepo } from './repositories/knowledge.js';

/** The Store port implemented over Kysely; the same code serves SQLite and PostgreSQL. */
export function createStore(db: Db, ids: IdGenerator, clock: Clock): Store {
  return {
    users: userRepo(db, ids, clock),
    tokens: tokenRepo(db, ids, clock),
    agents: agentRepo(db, ids, clock),
    people: personRepo(db, ids, clock),
    conversations: conversationRepo(db, ids, clock),
    providers: providerRepo(db, clock),
    settings: settingsRepo(db, clock),
    usage: usageRepo(db, ids, clock),
    analytics: analyticsRepo(db),
    inbox: inboxRepo(db, ids),
    channels: channelRepo(db, () => clock.now().toISOString()),
    personState: personStateRepo(db),
    summaries: summaryRepo(db, ids, clock),
    workspace: workspaceRepo(db, clock),
    notes: personNotesRepo(db, clock),
    audit: auditRepo(db, ids, clock),
    budget: budgetRepo(db, ids, clock),
    plans: planRepo(db, clock),
    provisioning: provisioningRepo(db),
    billing: billingRepo(db, ids, clock),
    authTokens: authTokenRepo(db, ids, clock),
    toolCalls: toolCallRepo(db, ids, clock),
    approvals: approvalRepo(db, clock),
    media: mediaRepo(db, clock),
    schedules: scheduleRepo(db, ids),
    siteWatch: siteWatchRepo(db),
    knowledge: knowledgeRepo(db, ids, clock),
    transaction: (fn) => (db.isTransaction ? fn(createStore(db, ids, clock)) : db.transaction().execute((tx) => fn(createStore(tx, ids, clock)))),
    close: () => db.destroy(),
  };
}
