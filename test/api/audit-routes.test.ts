/**
 * Issue 14.1: every state change made through the API writes exactly one audit entry, naming the
 * actor (user id and role), the action, the target and the fields that changed.
 *
 * The test walks every mutating operation (POST, PUT, PATCH, DELETE) of /api/openapi.json. Each has
 * a fixture below, or is listed in EXEMPT with the reason it is not a state change by nature; an
 * operation with neither fails the test, so a new route cannot skip the audit log. Runs on SQLite,
 * and on PostgreSQL under `npm run test:pg`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestServices, type TestServices } from '../helpers/test-services.js';
import { sha256 } from '../../src/infra/system.js';
import { PROVISIONING_STEPS, type Role } from '../../src/domain/types.js';
import type { AuditEntry } from '../../src/domain/ports.js';

type Ctx = {
  t: TestServices;
  tokens: Record<string, string>;
  users: Record<string, { id: string; role: Role }>;
  ids: Record<string, string>;
};
type Who = 'anonymous' | 'owner' | 'admin' | 'customer';

type Fixture = {
  /** Runs before the call (its own audit entries are not counted). */
  prepare?: (c: Ctx) => Promise<void>;
  as: Who;
  /** The concrete path (ids from ctx). */
  path: (c: Ctx) => string;
  body?: (c: Ctx) => unknown;
  headers?: Record<string, string>;
  status?: number;
  /** The one entry the call must leave. */
  expect: (c: Ctx, res: { body: any }) => {
    action: string;
    /** The user the entry names ('self' for the user the call created or signed in; 'system'). */
    actor: Who | 'self' | 'system';
    target: { type: string; id: string };
    /** detail.fields, when the entry describes a change to fields. */
    fields?: string[];
    detail?: Record<string, unknown>;
  };
  /** After the entry was checked (e.g. remember an id, sign in). */
  after?: (c: Ctx, res: { body: any }) => void | Promise<void>;
};

/** Operations that are not state changes by nature, and why. */
const EXEMPT: Record<string, string> = {
  'POST /api/auth/login': 'signing in opens a session; it is logged as auth.login / auth.login_failed, and is not a change to anything',
  'POST /api/auth/logout': 'ends the caller\'s own session; nothing else changes',
  'POST /api/auth/magic-link': 'mails a sign-in link (logged as auth.magic_link_requested for the rate limit); no data changes',
  'POST /api/auth/magic-link/verify': 'signing in with a link (logged as auth.magic_link_login)',
  'POST /api/auth/password-reset': 'mails a reset link (logged as auth.password_reset_requested for the rate limit); no data changes',
  'POST /api/auth/verify-email/resend': 'mails a new verification link (logged for the rate limit); no data changes',
  'POST /api/agents/preview-prompt': 'composes a prompt for preview; saves nothing',
  'POST /api/agents/{id}/preview': 'the editor\'s preview chat: stores nothing (its model calls are usage rows, purpose preview)',
  'POST /api/agents/{id}/prompt-preview': 'composes the system prompt a draft would get; saves nothing',
  'POST /api/agents/{id}/message': 'a chat message (conversations are the record of chat)',
  'POST /api/agents/{id}/media': 'a voice note or image for a chat message (the media table is its record, like conversations for chat)',
  'POST /api/telegram/check': 'asks Telegram about a token; saves nothing',
  'POST /api/channels/whatsapp/test': 'sends a test message; changes no settings',
  'POST /api/settings/alerts/test': 'sends a test alert; changes no settings',
  'POST /api/billing/checkout': 'opens a Stripe Checkout page (logged as billing.checkout_started); the plan changes when Stripe\'s webhook says so (billing.event)',
  'POST /api/billing/portal': 'opens Stripe\'s portal; changes arrive by webhook (billing.event)',
  'POST /api/webhooks/stripe': 'a webhook: applied events are recorded as billing.event with actor system (test/api/billing.test.ts)',
  'POST /webhooks/telegram/{agentId}': 'a webhook carrying chat messages',
  'POST /webhooks/whatsapp': 'a webhook carrying chat messages',
  'POST /webhooks/twilio': 'a webhook carrying chat messages',
  'POST /v1/chat/completions': 'chat (the OpenAI-compatible API)',
  'POST /api/public/agents/{slug}/chat': 'a visitor\'s chat message',
  'POST /api/public/agents/{slug}/messages/{messageId}/speech': 'a visitor asking to hear a reply of their own chat read aloud (the speech media and its usage row are its record)',
  'POST /api/agents/{id}/messages/{messageId}/speech': 'a reply read aloud for someone who may see it (the speech media and its usage row are its record, like chat)',
  'POST /api/public/agents/{slug}/media': 'a visitor\'s voice note or image for their chat (the media table is its record; it expires or is erased with the person)',
  'POST /api/public/agents/{slug}/conversation/new': 'a visitor starting their chat over',
  'POST /api/public/link/start': 'a visitor asking for a code to link their browser and phone (part of chatting)',
  'POST /api/public/link/verify': 'a visitor linking their browser and phone (part of chatting)',
  'DELETE /api/public/link': 'a visitor unlinking their own browser (part of chatting)',
};

const PASSWORD = 'correct horse battery';
const SECRETS = {
  providerKey: 'sk-audit-provider-secret-1234567890',
  webhookSecret: 'whsec-audit-alert-secret-0987654321',
  twilioToken: 'twilio-audit-auth-token-5555555555',
  password: PASSWORD,
};

const F: Record<string, Fixture> = {
  'POST /api/setup': {
    as: 'anonymous', path: () => '/api/setup', body: () => ({ email: 'owner@example.com', password: PASSWORD }), status: 201,
    after: (c, r) => { c.tokens.owner = r.body.token; c.users.owner = { id: r.body.user.id, role: 'owner' }; },
    expect: (_c, r) => ({ action: 'owner.created', actor: 'self', target: { type: 'user', id: r.body.user.id }, detail: { role: 'owner', via: 'setup' } }),
  },
  'POST /api/users': {
    as: 'owner', path: () => '/api/users', body: () => ({ email: 'admin@example.com', password: PASSWORD, role: 'admin' }), status: 201,
    after: async (c, r) => {
      c.users.admin = { id: r.body.id, role: 'admin' };
      c.tokens.admin = (await c.t.services.accounts.login('admin@example.com', PASSWORD, '127.0.0.1')).token;
    },
    expect: (_c, r) => ({ action: 'user.created', actor: 'owner', target: { type: 'user', id: r.body.id }, detail: { email: 'admin@example.com', role: 'admin' } }),
  },
  'POST /api/auth/register': {
    as: 'anonymous', path: () => '/api/auth/register', body: () => ({ email: 'carol@example.com', password: PASSWORD, name: 'Carol' }), status: 201,
    after: (c, r) => { c.tokens.customer = r.body.token; c.users.customer = { id: r.body.user.id, role: 'customer' }; },
    expect: (_c, r) => ({ action: 'auth.signup', actor: 'self', target: { type: 'user', id: r.body.user.id } }),
  },
  'POST /api/auth/verify-email': {
    prepare: async (c) => { await c.t.store.authTokens.insert({ userId: c.users.customer!.id, kind: 'verify_email', tokenHash: sha256('verify-token-1'), expiresAt: '2999-01-01T00:00:00.000Z' }); },
    as: 'anonymous', path: () => '/api/auth/verify-email', body: () => ({ token: 'verify-token-1' }),
    expect: (c) => ({ action: 'auth.email_verified', actor: 'self', target: { type: 'user', id: c.users.customer!.id }, fields: ['emailVerifiedAt'] }),
  },
  'POST /api/auth/password-reset/confirm': {
    prepare: async (c) => {
      const u = await c.t.services.accounts.addUser(await actorOf(c, 'owner'), { email: 'dave@example.com', password: PASSWORD, role: 'customer' });
      c.users.dave = { id: u.id, role: 'customer' };
      await c.t.store.authTokens.insert({ userId: u.id, kind: 'reset_password', tokenHash: sha256('reset-token-1'), expiresAt: '2999-01-01T00:00:00.000Z' });
    },
    as: 'anonymous', path: () => '/api/auth/password-reset/confirm', body: () => ({ token: 'reset-token-1', password: 'a brand new passphrase' }),
    expect: (c) => ({ action: 'auth.password_reset', actor: 'self', target: { type: 'user', id: c.users.dave!.id }, fields: ['password'] }),
  },
  'PATCH /api/users/{id}': {
    as: 'owner', path: (c) => `/api/users/${c.users.customer!.id}`, body: () => ({ monthlyBudgetUsd: 25 }),
    expect: (c) => ({ action: 'user.updated', actor: 'owner', target: { type: 'user', id: c.users.customer!.id }, fields: ['monthlyBudgetUsd'], detail: { changes: { monthlyBudgetUsd: { from: null, to: 25 } } } }),
  },
  'POST /api/users/{id}/suspend': {
    as: 'owner', path: (c) => `/api/users/${c.users.dave!.id}/suspend`,
    expect: (c) => ({ action: 'user.suspend', actor: 'owner', target: { type: 'user', id: c.users.dave!.id }, fields: ['status'] }),
  },
  'POST /api/users/{id}/unsuspend': {
    as: 'owner', path: (c) => `/api/users/${c.users.dave!.id}/unsuspend`,
    expect: (c) => ({ action: 'user.unsuspend', actor: 'owner', target: { type: 'user', id: c.users.dave!.id }, fields: ['status'] }),
  },
  'DELETE /api/users/{id}': {
    as: 'owner', path: (c) => `/api/users/${c.users.dave!.id}`, status: 204,
    expect: (c) => ({ action: 'user.deleted', actor: 'owner', target: { type: 'user', id: c.users.dave!.id }, detail: { email: 'dave@example.com' } }),
  },
  'POST /api/keys': {
    as: 'admin', path: () => '/api/keys', body: () => ({ name: 'ci' }), status: 201,
    after: (c, r) => { c.ids.key = r.body.id; c.ids.keyValue = r.body.key; },
    expect: (_c, r) => ({ action: 'api_key.created', actor: 'admin', target: { type: 'api_key', id: r.body.id }, detail: { name: 'ci' } }),
  },
  'DELETE /api/keys/{id}': {
    as: 'admin', path: (c) => `/api/keys/${c.ids.key}`, status: 204,
    expect: (c) => ({ action: 'api_key.deleted', actor: 'admin', target: { type: 'api_key', id: c.ids.key! }, detail: { name: 'ci' } }),
  },
  'POST /api/providers': {
    as: 'owner', path: () => '/api/providers', body: () => ({ name: 'local', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKey: SECRETS.providerKey, models: ['tiny'] }), status: 201,
    expect: () => ({ action: 'provider.created', actor: 'owner', target: { type: 'provider', id: 'local' }, detail: { kind: 'openai-compatible', apiKey: 'set' } }),
  },
  'PATCH /api/providers/{name}': {
    as: 'owner', path: () => '/api/providers/local', body: () => ({ apiKey: `${SECRETS.providerKey}-new`, models: ['tiny', 'small'], baseUrl: 'http://127.0.0.1:9/v1' }),
    expect: () => ({ action: 'provider.updated', actor: 'owner', target: { type: 'provider', id: 'local' }, fields: ['models', 'apiKey'] }),
  },
  'DELETE /api/providers/{name}': {
    as: 'owner', path: () => '/api/providers/local', status: 204,
    expect: () => ({ action: 'provider.deleted', actor: 'owner', target: { type: 'provider', id: 'local' } }),
  },
  'PUT /api/prices/{model}': {
    as: 'owner', path: () => '/api/prices/openai:gpt-4o-mini', body: () => ({ inputPerM: 1, outputPerM: 2 }),
    expect: () => ({ action: 'price.updated', actor: 'owner', target: { type: 'price', id: 'openai:gpt-4o-mini' }, fields: ['price'] }),
  },
  'DELETE /api/prices/{model}': {
    as: 'owner', path: () => '/api/prices/openai:gpt-4o-mini', status: 204,
    expect: () => ({ action: 'price.deleted', actor: 'owner', target: { type: 'price', id: 'openai:gpt-4o-mini' } }),
  },
  'PATCH /api/settings': {
    as: 'admin', path: () => '/api/settings', body: () => ({ defaultPrice: { inputPerM: 3, outputPerM: 9 }, defaultModel: null }),
    expect: () => ({ action: 'settings.updated', actor: 'admin', target: { type: 'settings', id: 'instance' }, fields: ['defaultPrice'] }),
  },
  'PUT /api/settings/alerts': {
    as: 'owner', path: () => '/api/settings/alerts', body: () => ({ webhookUrl: 'https://hooks.example.com/sb', webhookSecret: SECRETS.webhookSecret }),
    expect: () => ({ action: 'alert_settings.updated', actor: 'owner', target: { type: 'settings', id: 'alerts' }, fields: ['webhookUrl', 'webhookSecret'] }),
  },
  'PUT /api/channels/whatsapp': {
    as: 'owner', path: () => '/api/channels/whatsapp', body: () => ({ provider: 'twilio', accountSid: `AC${'0'.repeat(32)}`, from: '+14155238886', authToken: SECRETS.twilioToken }),
    expect: () => ({ action: 'whatsapp.settings_updated', actor: 'owner', target: { type: 'channel', id: 'whatsapp' }, fields: ['provider', 'accountSid', 'from', 'authToken', 'apiUrl'] }),
  },
  'POST /api/agents': {
    as: 'customer', path: () => '/api/agents', body: () => ({ name: 'Helper', description: 'Helps' }), status: 201,
    after: (c, r) => { c.ids.agent = r.body.id; },
    expect: (_c, r) => ({ action: 'agent.created', actor: 'customer', target: { type: 'agent', id: r.body.id }, detail: { name: 'Helper', via: 'blank' } }),
  },
  'PATCH /api/agents/{id}': {
    // Only the description and the budget change; the persona is sent unchanged and is not reported.
    prepare: async (c) => { c.ids.persona = JSON.stringify((await c.t.request(`/api/agents/${c.ids.agent}`, { token: c.tokens.customer })).body.persona); },
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}`, body: (c) => ({ description: 'Helps with orders', monthlyBudgetUsd: 5, name: 'Helper', persona: JSON.parse(c.ids.persona!) }),
    expect: (c) => ({ action: 'agent.updated', actor: 'customer', target: { type: 'agent', id: c.ids.agent! }, fields: ['description', 'monthlyBudgetUsd'], detail: { changes: { description: { from: 'Helps', to: 'Helps with orders' }, monthlyBudgetUsd: { from: null, to: 5 } } } }),
  },
  'PATCH /api/agents/{id}/config': {
    prepare: async (c) => { c.ids.config = JSON.stringify((await c.t.request(`/api/agents/${c.ids.agent}/config`, { token: c.tokens.customer })).body); },
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/config`,
    body: (c) => { const { siteUrl: _s, version: _v, ...files } = JSON.parse(c.ids.config!); return { ...files, soul: '# A new soul' }; },
    expect: (c) => ({ action: 'agent.config_updated', actor: 'customer', target: { type: 'agent', id: c.ids.agent! }, fields: ['soul'] }),
  },
  'PUT /api/agents/{id}/file': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/file?path=MEMORY.md`, body: () => ({ content: '- likes tea' }),
    expect: (c) => ({ action: 'agent.file_written', actor: 'customer', target: { type: 'agent', id: c.ids.agent! }, fields: ['content'], detail: { path: 'MEMORY.md' } }),
  },
  'DELETE /api/agents/{id}/file': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/file?path=MEMORY.md`, status: 204,
    expect: (c) => ({ action: 'agent.file_deleted', actor: 'customer', target: { type: 'agent', id: c.ids.agent! }, detail: { path: 'MEMORY.md' } }),
  },
  'POST /api/agents/{id}/knowledge': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/knowledge`, body: () => ({ type: 'url', url: 'https://93.184.215.14/guide' }), status: 202,
    expect: (c, res) => ({ action: 'knowledge.source_added', actor: 'customer', target: { type: 'knowledge_source', id: res.body.id }, detail: { agentId: c.ids.agent, sourceType: 'url' } }),
    after: (c, res) => { c.ids.knowledgeSource = res.body.id; },
  },
  'POST /api/agents/{id}/knowledge/files': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/knowledge/files`, body: () => 'Opening hours: nine to five.', headers: { 'x-filename': 'hours.txt' }, status: 202,
    expect: (c, res) => ({ action: 'knowledge.source_added', actor: 'customer', target: { type: 'knowledge_source', id: res.body.id }, detail: { agentId: c.ids.agent, sourceType: 'file', filename: 'hours.txt' } }),
  },
  'POST /api/agents/{id}/knowledge/{sourceId}/sync': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/knowledge/${c.ids.knowledgeSource}/sync`, status: 202,
    expect: (c) => ({ action: 'knowledge.sync_requested', actor: 'customer', target: { type: 'knowledge_source', id: c.ids.knowledgeSource! } }),
  },
  'PATCH /api/agents/{id}/knowledge/{sourceId}': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/knowledge/${c.ids.knowledgeSource}`, body: () => ({ syncEveryHours: 48 }), status: 200,
    expect: (c) => ({ action: 'knowledge.source_updated', actor: 'customer', target: { type: 'knowledge_source', id: c.ids.knowledgeSource! }, fields: ['syncEveryHours'] }),
  },
  'DELETE /api/agents/{id}/knowledge/{sourceId}': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/knowledge/${c.ids.knowledgeSource}`, status: 204,
    expect: (c) => ({ action: 'knowledge.source_deleted', actor: 'customer', target: { type: 'knowledge_source', id: c.ids.knowledgeSource! }, detail: { sourceType: 'url' } }),
  },
  'POST /api/agents/{id}/pause': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/pause`,
    expect: (c) => ({ action: 'agent.paused', actor: 'customer', target: { type: 'agent', id: c.ids.agent! }, fields: ['status'] }),
  },
  'POST /api/agents/{id}/resume': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/resume`,
    expect: (c) => ({ action: 'agent.resumed', actor: 'customer', target: { type: 'agent', id: c.ids.agent! }, fields: ['status'] }),
  },
  'POST /api/agents/{id}/site/audits': {
    // A public address literal (no DNS); the audit job may fail to reach it offline, which is a stored outcome, not a route error.
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/site/audits`, body: () => ({ url: 'http://93.184.215.14/' }), status: 202,
    expect: (c, r) => ({ action: 'site_audit.requested', actor: 'customer', target: { type: 'agent', id: c.ids.agent! }, fields: ['url'], detail: { auditId: r.body.auditId } }),
  },
  'POST /api/agents/{id}/duplicate': {
    as: 'owner', path: (c) => `/api/agents/${c.ids.agent}/duplicate`, body: () => ({ name: 'Helper two' }), status: 201,
    after: (c, r) => { c.ids.copy = r.body.id; },
    expect: (c, r) => ({ action: 'agent.created', actor: 'owner', target: { type: 'agent', id: r.body.id }, detail: { via: 'duplicate', from: c.ids.agent } }),
  },
  'POST /api/agents/import': {
    prepare: async (c) => { c.ids.doc = JSON.stringify((await c.t.request(`/api/agents/${c.ids.agent}/export`, { token: c.tokens.owner })).body); },
    as: 'owner', path: () => '/api/agents/import', body: (c) => ({ ...JSON.parse(c.ids.doc!), slug: 'imported-helper' }), status: 201,
    after: (c, r) => { c.ids.imported = r.body.id; },
    expect: (_c, r) => ({ action: 'agent.created', actor: 'owner', target: { type: 'agent', id: r.body.id }, detail: { via: 'import', slug: 'imported-helper' } }),
  },
  'POST /api/agents/{id}/retry': {
    prepare: async (c) => {
      const id = c.ids.copy!;
      await c.t.store.agents.update(id, { status: 'failed' });
      await c.t.store.provisioning.put({
        agentId: id, status: 'failed', error: 'The site did not answer.', attempts: 1, tokenSealed: null, startedAt: '2026-03-10T12:00:00.000Z', finishedAt: '2026-03-10T12:00:01.000Z',
        steps: PROVISIONING_STEPS.map((name) => ({ name, state: name === 'validate_token' ? 'skipped' : name === 'check_site' ? 'failed' : 'pending', detail: '', updatedAt: null })),
      });
    },
    as: 'owner', path: (c) => `/api/agents/${c.ids.copy}/retry`, status: 202,
    expect: (c) => ({ action: 'provisioning.started', actor: 'owner', target: { type: 'agent', id: c.ids.copy! }, fields: ['status'], detail: { attempt: 2, from: 'check_site' } }),
  },
  'POST /api/conversations/{id}/close': {
    prepare: async (c) => {
      const p = await c.t.store.people.upsert('api', 'visitor-1');
      c.ids.person = p.id;
      c.ids.conversation = (await c.t.store.conversations.create({ agentId: c.ids.agent!, personId: p.id, channel: 'api' })).id;
    },
    as: 'customer', path: (c) => `/api/conversations/${c.ids.conversation}/close`,
    expect: (c) => ({ action: 'conversation.closed', actor: 'customer', target: { type: 'conversation', id: c.ids.conversation! }, fields: ['status'] }),
  },
  'POST /api/conversations/{id}/takeover': {
    as: 'customer', path: (c) => `/api/conversations/${c.ids.conversation}/takeover`,
    expect: (c) => ({ action: 'conversation.taken_over', actor: 'customer', target: { type: 'conversation', id: c.ids.conversation! } }),
  },
  'POST /api/conversations/{id}/reply': {
    as: 'customer', path: (c) => `/api/conversations/${c.ids.conversation}/reply`, body: () => ({ text: 'A person answering by hand' }), status: 201,
    expect: (c, res) => ({ action: 'conversation.replied', actor: 'customer', target: { type: 'conversation', id: c.ids.conversation! }, detail: { messageId: res.body.messageId, channel: 'api' } }),
  },
  'POST /api/conversations/{id}/release': {
    as: 'customer', path: (c) => `/api/conversations/${c.ids.conversation}/release`,
    expect: (c) => ({ action: 'conversation.released', actor: 'customer', target: { type: 'conversation', id: c.ids.conversation! } }),
  },
  'DELETE /api/people/{id}': {
    as: 'customer', path: (c) => `/api/people/${c.ids.person}`,
    expect: (c) => ({ action: 'person.erase', actor: 'customer', target: { type: 'person', id: c.ids.person! }, detail: { scope: 'own_agents', conversations: 1 } }),
  },
  'POST /api/alerts/{id}/ack': {
    prepare: async (c) => {
      c.ids.alert = (await c.t.store.budget.addAlert({ scope: 'agent', scopeId: c.ids.agent!, period: '2026-03', kind: 'stop', ownerId: c.users.customer!.id, percent: 100, spentUsd: 5, budgetUsd: 5, message: 'Budget reached' }))!;
    },
    as: 'customer', path: (c) => `/api/alerts/${c.ids.alert}/ack`,
    expect: (c) => ({ action: 'alert.acknowledged', actor: 'customer', target: { type: 'alert', id: c.ids.alert! }, fields: ['acknowledgedAt'] }),
  },
  'POST /api/approvals/{id}/approve': {
    prepare: async (c) => { await heldCall(c, 'appr-1'); },
    as: 'owner', path: () => '/api/approvals/appr-1/approve',
    expect: () => ({ action: 'approval.approve', actor: 'owner', target: { type: 'tool_call', id: 'call-appr-1' }, fields: ['status'], detail: { approvalId: 'appr-1' } }),
  },
  'POST /api/approvals/{id}/deny': {
    prepare: async (c) => { await heldCall(c, 'appr-2'); },
    as: 'customer', path: () => '/api/approvals/appr-2/deny',
    expect: () => ({ action: 'approval.deny', actor: 'customer', target: { type: 'tool_call', id: 'call-appr-2' }, fields: ['status'], detail: { approvalId: 'appr-2' } }),
  },
  'PUT /api/plans/{id}': {
    as: 'owner', path: () => '/api/plans/gold', body: () => ({ name: 'Gold', priceUsdMonth: 49, maxAgents: 5 }), status: 201,
    expect: () => ({ action: 'plan.created', actor: 'owner', target: { type: 'plan', id: 'gold' } }),
  },
  'PUT /api/customers/{id}/plan': {
    as: 'admin', path: (c) => `/api/customers/${c.users.customer!.id}/plan`, body: () => ({ planId: 'gold' }),
    expect: (c) => ({ action: 'customer.plan_set', actor: 'admin', target: { type: 'user', id: c.users.customer!.id }, detail: { planId: 'gold', planStatus: 'active' } }),
  },
  'DELETE /api/plans/{id}': {
    prepare: async (c) => { await c.t.request('/api/plans/silver', { method: 'PUT', token: c.tokens.owner, body: { name: 'Silver', priceUsdMonth: 9, maxAgents: 1 } }); },
    as: 'owner', path: () => '/api/plans/silver', status: 204,
    expect: () => ({ action: 'plan.deleted', actor: 'owner', target: { type: 'plan', id: 'silver' }, detail: { name: 'Silver' } }),
  },
  'POST /api/agents/{id}/schedules': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/schedules`, status: 201,
    body: () => ({ name: 'Daily note', cron: '0 9 * * *', timezone: 'Europe/Berlin', instruction: 'Write the daily note', deliver: { channel: 'dashboard' } }),
    after: (c, r) => { c.ids.schedule = r.body.id; },
    expect: (c, r) => ({ action: 'schedule.created', actor: 'customer', target: { type: 'schedule', id: r.body.id }, detail: { agentId: c.ids.agent!, name: 'Daily note' } }),
  },
  'PATCH /api/agents/{id}/schedules/{scheduleId}': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/schedules/${c.ids.schedule}`, body: () => ({ enabled: false }),
    expect: (c) => ({ action: 'schedule.updated', actor: 'customer', target: { type: 'schedule', id: c.ids.schedule! }, detail: { fields: ['enabled'] } }),
  },
  'POST /api/agents/{id}/schedules/{scheduleId}/run': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/schedules/${c.ids.schedule}/run`, status: 202,
    expect: (c, r) => ({ action: 'schedule.run_requested', actor: 'customer', target: { type: 'schedule', id: c.ids.schedule! }, detail: { runId: r.body.runId } }),
  },
  'DELETE /api/agents/{id}/schedules/{scheduleId}': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/schedules/${c.ids.schedule}`, status: 204,
    expect: (c) => ({ action: 'schedule.deleted', actor: 'customer', target: { type: 'schedule', id: c.ids.schedule! }, detail: { name: 'Daily note' } }),
  },
  'PUT /api/account/timezone': {
    as: 'customer', path: () => '/api/account/timezone', body: () => ({ timezone: 'Europe/Berlin' }),
    expect: (c) => ({ action: 'account.timezone_updated', actor: 'customer', target: { type: 'user', id: c.users.customer!.id }, fields: ['timezone'], detail: { changes: { timezone: { from: null, to: 'Europe/Berlin' } } } }),
  },
  'POST /api/agents/{id}/owner-link': {
    prepare: async (c) => { await c.t.store.channels.upsert({ agentId: c.ids.agent!, channel: 'telegram', secretSealed: 'x', info: { username: 'AuditBot' }, webhookSecret: null, mode: 'polling' }); },
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}/owner-link`, status: 200,
    expect: (c, r) => ({ action: 'agent.owner_link_created', actor: 'customer', target: { type: 'agent', id: c.ids.agent! }, detail: { expiresAt: r.body.expiresAt } }),
  },
  'DELETE /api/agents/{id}': {
    as: 'customer', path: (c) => `/api/agents/${c.ids.agent}`, status: 204,
    expect: (c) => ({ action: 'agent.deleted', actor: 'customer', target: { type: 'agent', id: c.ids.agent! }, fields: ['status'] }),
  },
};

/** An approval waiting for a decision, on the customer's agent. */
async function heldCall(c: Ctx, id: string) {
  await c.t.store.toolCalls.insert({ id: `call-${id}`, agentId: c.ids.agent!, conversationId: null, tool: 'web_fetch', args: {}, outcome: 'pending', resultPreview: null, resultBytes: 0, durationMs: 0 });
  await c.t.store.approvals.insert({ id, agentId: c.ids.agent!, conversationId: null, toolCallId: `call-${id}`, tool: 'web_fetch', argsSealed: '{}', status: 'pending', expiresAt: '2999-01-01T00:00:00.000Z' });
}

async function actorOf(c: Ctx, who: 'owner' | 'admin' | 'customer') {
  return (await c.t.services.accounts.authenticate(c.tokens[who]!))!;
}

/** Operations of the OpenAPI document that change something: "METHOD /path". */
async function mutatingOperations(t: TestServices): Promise<string[]> {
  const doc = (await t.request('/api/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).filter((m) => ['post', 'put', 'patch', 'delete'].includes(m)).map((m) => `${m.toUpperCase()} ${p}`));
}

describe('audit log: every mutating route of the OpenAPI document', () => {
  const c = { tokens: {}, users: {}, ids: {} } as Ctx;
  const seen: AuditEntry[] = [];
  beforeAll(async () => { c.t = await makeTestServices({ env: { SWITCHBOARD_SIGNUP: 'open' } }); });
  afterAll(async () => { await c.t?.close(); });

  it('has a fixture or a stated exemption for every mutating operation', async () => {
    const ops = await mutatingOperations(c.t);
    const missing = ops.filter((op) => !F[op] && !EXEMPT[op]);
    expect(missing, `routes with no audit fixture (add one to test/api/audit-routes.test.ts, or exempt it with a reason)`).toEqual([]);
    // Fixtures and exemptions for routes that no longer exist are stale.
    expect([...Object.keys(F), ...Object.keys(EXEMPT)].filter((op) => !ops.includes(op))).toEqual([]);
    expect(Object.keys(F).filter((op) => EXEMPT[op])).toEqual([]);
  });

  for (const [op, fx] of Object.entries(F)) {
    it(`${op} writes one entry`, async () => {
      await fx.prepare?.(c);
      const before = new Set((await c.t.store.audit.list(100_000)).map((e) => e.id));
      const method = op.split(' ')[0]!;
      const body = fx.body?.(c);
      const res = await c.t.request(fx.path(c), { method, body, headers: fx.headers, token: fx.as === 'anonymous' ? undefined : c.tokens[fx.as] });
      expect(res.status, JSON.stringify(res.body)).toBe(fx.status ?? 200);
      const fresh = (await c.t.store.audit.list(100_000)).filter((e) => !before.has(e.id));
      const want = fx.expect(c, res);
      expect(fresh.map((e) => e.action), JSON.stringify(fresh)).toEqual([want.action]);
      const e = fresh[0]!;
      seen.push(e);
      expect({ type: e.targetType, id: e.targetId }).toEqual(want.target);
      if (want.actor === 'system') expect([e.actorId, e.actorRole]).toEqual([null, 'system']);
      else if (want.actor === 'self') {
        expect(e.actorId).toBe(e.targetId);
        expect(e.actorRole).toBeTruthy();
      } else {
        const u = c.users[want.actor]!;
        expect([e.actorId, e.actorRole]).toEqual([u.id, u.role]);
      }
      if (want.fields) expect(e.detail.fields).toEqual(want.fields);
      if (want.detail) expect(e.detail).toMatchObject(want.detail);
      await fx.after?.(c, res);
    });
  }

  it('a request that changes nothing writes nothing', async () => {
    const before = (await c.t.store.audit.list(100_000)).length;
    const agent = (await c.t.request(`/api/agents/${c.ids.imported}`, { token: c.tokens.owner })).body;
    const r = await c.t.request(`/api/agents/${c.ids.imported}`, { method: 'PATCH', token: c.tokens.owner, body: { name: agent.name, description: agent.description, persona: agent.persona, monthlyBudgetUsd: agent.monthlyBudgetUsd } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const cfg = (await c.t.request(`/api/agents/${c.ids.imported}/config`, { token: c.tokens.owner })).body;
    expect((await c.t.request(`/api/agents/${c.ids.imported}/config`, { method: 'PATCH', token: c.tokens.owner, body: { soul: cfg.soul } })).status).toBe(200);
    expect((await c.t.request(`/api/users/${c.users.customer!.id}`, { method: 'PATCH', token: c.tokens.owner, body: { monthlyBudgetUsd: 25 } })).status).toBe(200);
    expect((await c.t.store.audit.list(100_000)).length).toBe(before);
  });

  it('a refused change writes nothing', async () => {
    const before = (await c.t.store.audit.list(100_000)).length;
    expect((await c.t.request(`/api/agents/${c.ids.imported}`, { method: 'PATCH', token: c.tokens.owner, body: { name: 'Late', version: 99 } })).status).toBe(409);
    expect((await c.t.request('/api/users', { token: c.tokens.customer, body: { email: 'x@example.com', password: PASSWORD, role: 'admin' } })).status).toBe(403);
    expect((await c.t.store.audit.list(100_000)).length).toBe(before);
  });

  it('never stores a secret\'s value, anywhere in the log', async () => {
    const rows = JSON.stringify(await c.t.store.audit.list(100_000));
    for (const s of [...Object.values(SECRETS), c.ids.keyValue!, 'verify-token-1', 'reset-token-1', 'a brand new passphrase', 'sbk_', 'sbs_']) expect(rows).not.toContain(s);
  });

  it('lists entries by target and action for operators, with the actor\'s role', async () => {
    const r = await c.t.request(`/api/audit?targetType=agent&targetId=${c.ids.agent}`, { token: c.tokens.admin });
    expect(r.status).toBe(200);
    expect(new Set(r.body.entries.map((e: AuditEntry) => e.targetId))).toEqual(new Set([c.ids.agent]));
    expect(r.body.entries.map((e: AuditEntry) => e.action)).toEqual(expect.arrayContaining(['agent.created', 'agent.updated', 'agent.deleted']));
    expect(r.body.entries.find((e: AuditEntry) => e.action === 'agent.created')).toMatchObject({ actorId: c.users.customer!.id, actorRole: 'customer' });
    const keys = await c.t.request('/api/audit?action=api_key.*', { token: c.tokens.owner });
    expect(keys.body.entries.map((e: AuditEntry) => e.action).sort()).toEqual(['api_key.created', 'api_key.deleted']);
    expect((await c.t.request('/api/audit', { token: c.tokens.customer })).status).toBe(403);
  });
});
