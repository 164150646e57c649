/**
 * Ports: the small interfaces services use to reach the outside world, split by concern under
 * domain/ports/. Adapters in store/, llm/ and channels/ implement them; tests pass their own
 * (test/helpers/fakes.ts). This barrel re-exports them all, so `from '../domain/ports.js'` keeps working.
 */
export * from './ports/system.js';
export * from './ports/model.js';
export * from './ports/accounts.js';
export * from './ports/agents.js';
export * from './ports/conversations.js';
export * from './ports/budget.js';
export * from './ports/billing.js';
export * from './ports/audit.js';
export * from './ports/settings.js';
export * from './ports/usage.js';
export * from './ports/knowledge.js';
export * from './ports/inbox.js';
export * from './ports/channels.js';
export * from './ports/store.js';
export * from './ports/events.js';
export * from './ports/media.js';
export * from './ports/schedules.js';
export * from './ports/site-watch.js';
