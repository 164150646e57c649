// The web app's client for the Switchboard HTTP API (docs/api.md): thin functions over an openapi-fetch
// client whose types are generated from the server's OpenAPI document (schema.d.ts, `npm run build:web`).
// Every failure becomes an ApiError carrying the server's stable code and message. The streamed chat is
// read by hand (server-sent events), typed from the same schema.
import { ApiError, client, errorFrom, unwrap, unwrapFile } from './client';
import type * as T from './types';

export * from './types';
export { ApiError, errorMessage, setUnauthorizedHandler, type FieldError } from './client';

const id = (value: string) => ({ params: { path: { id: value } } });

export const api = {
  // setup and auth
  setupStatus: () => unwrap(client.GET('/api/setup')),
  setup: (email: string, password: string) => unwrap(client.POST('/api/setup', { body: { email, password } })),
  login: (email: string, password: string) => unwrap(client.POST('/api/auth/login', { body: { email, password } })),
  me: () => unwrap(client.GET('/api/auth/me')),
  logout: () => unwrap(client.POST('/api/auth/logout')),

  // users
  users: () => unwrap(client.GET('/api/users')),
  createUser: (email: string, password: string, role: T.Role) =>
    unwrap(client.POST('/api/users', { body: { email, password, role } })),
  deleteUser: (userId: string) => unwrap(client.DELETE('/api/users/{id}', id(userId))),
  /** A customer's monthly cap across their agents; null removes it. */
  setUserBudget: (userId: string, monthlyBudgetUsd: number | null) =>
    unwrap(client.PATCH('/api/users/{id}', { ...id(userId), body: { monthlyBudgetUsd } })),

  // API keys
  keys: () => unwrap(client.GET('/api/keys')),
  createKey: (name: string) => unwrap(client.POST('/api/keys', { body: { name } })),
  deleteKey: (keyId: string) => unwrap(client.DELETE('/api/keys/{id}', id(keyId))),

  // providers, models, prices
  providers: () => unwrap(client.GET('/api/providers')),
  createProvider: (p: T.Body<'/api/providers', 'post'>) => unwrap(client.POST('/api/providers', { body: p })),
  updateProvider: (name: string, p: T.Body<'/api/providers/{name}', 'patch'>) =>
    unwrap(client.PATCH('/api/providers/{name}', { params: { path: { name } }, body: p })),
  deleteProvider: (name: string) => unwrap(client.DELETE('/api/providers/{name}', { params: { path: { name } } })),
  models: () => unwrap(client.GET('/api/models')),
  prices: () => unwrap(client.GET('/api/prices')),
  setPrice: (model: string, p: T.Body<'/api/prices/{model}', 'put'>) =>
    unwrap(client.PUT('/api/prices/{model}', { params: { path: { model } }, body: p })),
  resetPrice: (model: string) => unwrap(client.DELETE('/api/prices/{model}', { params: { path: { model } } })),
  updateSettings: (patch: T.Body<'/api/settings', 'patch'>) => unwrap(client.PATCH('/api/settings', { body: patch })),

  // agents
  agents: () => unwrap(client.GET('/api/agents')),
  agent: (agentId: string) => unwrap(client.GET('/api/agents/{id}', id(agentId))),
  createAgent: (input: T.Body<'/api/agents', 'post'>) => unwrap(client.POST('/api/agents', { body: input })),
  updateAgent: (agentId: string, input: T.Body<'/api/agents/{id}', 'patch'>) =>
    unwrap(client.PATCH('/api/agents/{id}', { ...id(agentId), body: input })),
  deleteAgent: (agentId: string) => unwrap(client.DELETE('/api/agents/{id}', id(agentId))),
  pauseAgent: (agentId: string) => unwrap(client.POST('/api/agents/{id}/pause', id(agentId))),
  resumeAgent: (agentId: string) => unwrap(client.POST('/api/agents/{id}/resume', id(agentId))),
  duplicateAgent: (agentId: string, name?: string) =>
    unwrap(client.POST('/api/agents/{id}/duplicate', { ...id(agentId), body: name ? { name } : {} })),
  exportAgent: (agentId: string) => unwrapFile(client.GET('/api/agents/{id}/export', { ...id(agentId), parseAs: 'blob' })),
  importAgent: (doc: T.TemplateDocument) => unwrap(client.POST('/api/agents/import', { body: doc as T.Body<'/api/agents/import', 'post'> })),
  previewPrompt: (input: T.Body<'/api/agents/preview-prompt', 'post'>, signal?: AbortSignal) =>
    unwrap(client.POST('/api/agents/preview-prompt', { body: input, signal })),
  /** The exact system prompt the agent would get with a draft (and a person's memory, with `personId`). */
  promptPreview: (agentId: string, body: T.Body<'/api/agents/{id}/prompt-preview', 'post'>, signal?: AbortSignal) =>
    unwrap(client.POST('/api/agents/{id}/prompt-preview', { ...id(agentId), body, signal })),
  /** Chat with the unsaved agent: streamed like the public chat; nothing is stored. */
  previewChat: (agentId: string, body: T.Body<'/api/agents/{id}/preview', 'post'>, handlers: ChatHandlers, signal?: AbortSignal) =>
    streamEvents(`/api/agents/${encodeURIComponent(agentId)}/preview`, body, handlers, signal),
  agentConversations: (agentId: string) => unwrap(client.GET('/api/agents/{id}/conversations', id(agentId))),
  conversation: (conversationId: string) => unwrap(client.GET('/api/conversations/{id}', id(conversationId))),
  /** End the session now and queue its summary. */
  closeConversation: (conversationId: string) => unwrap(client.POST('/api/conversations/{id}/close', id(conversationId))),
  agentHistory: (agentId: string, limit = 50) =>
    unwrap(client.GET('/api/agents/{id}/history', { params: { path: { id: agentId }, query: { limit } } })),
  /** Connect (a BotFather token) or disconnect (`""`) the agent's Telegram bot. */
  setTelegramToken: (agentId: string, token: string) =>
    unwrap(client.PATCH('/api/agents/{id}', { ...id(agentId), body: { telegramBotToken: token } })),
  templates: () => unwrap(client.GET('/api/templates')),

  // conversation memory: summaries, people, workspace files
  /** Best match first when `q` is given, newest first otherwise. */
  summaries: (agentId: string, f: T.SummaryFilter = {}) =>
    unwrap(client.GET('/api/agents/{id}/summaries', { params: { path: { id: agentId }, query: f } })),
  exportSummaries: (agentId: string, format: 'csv' | 'json', f: T.SummaryFilter = {}) =>
    unwrapFile(client.GET('/api/agents/{id}/summaries', { params: { path: { id: agentId }, query: { ...f, format } }, parseAs: 'blob' })),
  summary: (summaryId: string) => unwrap(client.GET('/api/summaries/{id}', id(summaryId))),
  people: (agentId: string, q?: string) =>
    unwrap(client.GET('/api/agents/{id}/people', { params: { path: { id: agentId }, query: { q } } })),
  /** Remove a person's messages, summaries and identity links. */
  deletePerson: (personId: string) => unwrap(client.DELETE('/api/people/{id}', id(personId))),
  files: (agentId: string) => unwrap(client.GET('/api/agents/{id}/files', id(agentId))),
  file: (agentId: string, path: string) =>
    unwrap(client.GET('/api/agents/{id}/file', { params: { path: { id: agentId }, query: { path } } })),
  /** `baseUpdatedAt`: the version the editor loaded (null: a new file); a file changed since is refused with 409. */
  saveFile: (agentId: string, path: string, content: string, baseUpdatedAt?: string | null) =>
    unwrap(client.PUT('/api/agents/{id}/file', { params: { path: { id: agentId }, query: { path } }, body: { content, baseUpdatedAt } })),
  /** Any file but the persona files (those are edited on the agent). */
  deleteFile: (agentId: string, path: string) =>
    unwrap(client.DELETE('/api/agents/{id}/file', { params: { path: { id: agentId }, query: { path } } })),

  // tool calls held for approval
  /** Newest first; without `status`, every request the user may see. */
  approvals: (status?: T.ApprovalStatus) => unwrap(client.GET('/api/approvals', { params: { query: { status } } })),
  approval: (approvalId: string) => unwrap(client.GET('/api/approvals/{id}', id(approvalId))),
  /** Conversations waiting for a person that nobody took over (the caller's to see). */
  needsHumanCount: () => unwrap(client.GET('/api/conversations/needs-human/count')),
  /** Runs the held call now; its result goes into the conversation. 409 approval_closed once decided or expired. */
  approve: (approvalId: string) => unwrap(client.POST('/api/approvals/{id}/approve', id(approvalId))),
  /** The held call never runs. */
  declineApproval: (approvalId: string) => unwrap(client.POST('/api/approvals/{id}/deny', id(approvalId))),

  // channels
  whatsapp: () => unwrap(client.GET('/api/channels/whatsapp')),
  // openapi-fetch's request-body type turns the `{provider: null}` branch (switch WhatsApp off) into
  // `{provider?: undefined}`; the schema's own type is the right one, so it is passed as the client's.
  saveWhatsapp: (input: T.WhatsAppSettingsInput) =>
    unwrap(client.PUT('/api/channels/whatsapp', { body: input as Exclude<T.WhatsAppSettingsInput, { provider: null }> })),
  testWhatsapp: (to: string) => unwrap(client.POST('/api/channels/whatsapp/test', { body: { to } })),
  /** One agent's traffic on the shared WhatsApp number (either provider). */
  whatsappHealth: (agentId: string) => unwrap(client.GET('/api/channels/whatsapp/health', { params: { query: { agentId } } })),
  undelivered: (agentId?: string) => unwrap(client.GET('/api/channels/undelivered', { params: { query: { agentId } } })),

  // usage and analytics
  usageSummary: () => unwrap(client.GET('/api/usage/summary')),
  analytics: (q: T.AnalyticsQuery) => unwrap(client.GET('/api/analytics', { params: { query: q } })),
  exportAnalytics: (table: T.AnalyticsTable, q: T.AnalyticsQuery) =>
    unwrapFile(client.GET('/api/analytics', { params: { query: { ...q, format: 'csv', table } }, parseAs: 'blob' })),

  // budgets, recommendations, alerts
  agentBudget: (agentId: string) => unwrap(client.GET('/api/agents/{id}/budget', id(agentId))),
  recommendations: () => unwrap(client.GET('/api/recommendations')),
  alerts: () => unwrap(client.GET('/api/alerts')),
  acknowledgeAlert: (alertId: string) => unwrap(client.POST('/api/alerts/{id}/ack', id(alertId))),
  /** Instance settings: default model, price of unknown models, self sign-up (the customer platform). */
  settings: () => unwrap(client.GET('/api/settings')),
  saveSettings: (patch: T.SettingsPatch) => unwrap(client.PATCH('/api/settings', { body: patch })),
  alertSettings: () => unwrap(client.GET('/api/settings/alerts')),
  saveAlertSettings: (input: T.AlertSettingsInput) => unwrap(client.PUT('/api/settings/alerts', { body: input })),
  testAlerts: () => unwrap(client.POST('/api/settings/alerts/test')),

  // limits, defaults and the tool catalog (see $lib/meta)
  meta: () => unwrap(client.GET('/api/meta')),

  // public chat
  publicAgents: () => unwrap(client.GET('/api/public/agents')),
  publicAgent: (slug: string) => unwrap(client.GET('/api/public/agents/{slug}', { params: { path: { slug } } })),
  visitorConversation: (slug: string) =>
    unwrap(client.GET('/api/public/agents/{slug}/conversation', { params: { path: { slug } } })),
  /** `switch`: the person leaves for another agent (the warning said the context resets). */
  newConversation: (slug: string, reason: 'new' | 'switch' = 'new') =>
    unwrap(client.POST('/api/public/agents/{slug}/conversation/new', { params: { path: { slug }, query: reason === 'switch' ? { reason } : {} } })),
  /** `mediaIds`: voice notes and images uploaded with uploadMedia, sent with the (possibly empty) text. */
  chat: (slug: string, text: string, handlers: ChatHandlers, signal?: AbortSignal, mediaIds: string[] = []) =>
    streamChat(slug, text, handlers, signal, mediaIds),
  /** Upload a recording or an image (raw body, its own Content-Type): 413 media_too_large, 415 unsupported_media. */
  uploadMedia: (slug: string, file: Blob) => uploadRaw(`/api/public/agents/${encodeURIComponent(slug)}/media`, file),
  /** A reply spoken (the same audio on a second call); 501 not_configured: no TTS model, use the browser's voice. */
  speech: (slug: string, messageId: string) =>
    postJson<SpokenReply>(`/api/public/agents/${encodeURIComponent(slug)}/messages/${encodeURIComponent(messageId)}/speech`),
  /** The dashboard's play button for a reply in a conversation the user may see. */
  agentSpeech: (agentId: string, messageId: string) =>
    postJson<SpokenReply>(`/api/agents/${encodeURIComponent(agentId)}/messages/${encodeURIComponent(messageId)}/speech`),
  /** Replies that reach the visitor's conversation without a request of theirs (a person's reply): an EventSource URL. */
  visitorEventsUrl: (slug: string) => `/api/public/agents/${encodeURIComponent(slug)}/conversation/events`,

  // schedules and the owner's Telegram chat (issue 17)
  schedules: (agentId: string) => unwrap(client.GET('/api/agents/{id}/schedules', id(agentId))),
  createSchedule: (agentId: string, body: T.Body<'/api/agents/{id}/schedules', 'post'>) =>
    unwrap(client.POST('/api/agents/{id}/schedules', { ...id(agentId), body })),
  updateSchedule: (agentId: string, scheduleId: string, body: T.Body<'/api/agents/{id}/schedules/{scheduleId}', 'patch'>) =>
    unwrap(client.PATCH('/api/agents/{id}/schedules/{scheduleId}', { params: { path: { id: agentId, scheduleId } }, body })),
  deleteSchedule: (agentId: string, scheduleId: string) =>
    unwrap(client.DELETE('/api/agents/{id}/schedules/{scheduleId}', { params: { path: { id: agentId, scheduleId } } })),
  runSchedule: (agentId: string, scheduleId: string) =>
    unwrap(client.POST('/api/agents/{id}/schedules/{scheduleId}/run', { params: { path: { id: agentId, scheduleId } } })),
  scheduleRuns: (agentId: string, scheduleId: string, limit = 20) =>
    unwrap(client.GET('/api/agents/{id}/schedules/{scheduleId}/runs', { params: { path: { id: agentId, scheduleId }, query: { limit } } })),
  /** A one-time t.me link (15 minutes) that links the owner's Telegram chat with the agent. */
  ownerLink: (agentId: string) => unwrap(client.POST('/api/agents/{id}/owner-link', id(agentId))),
  /** The account's time zone for schedules that name none (null: UTC). */
  setTimezone: (timezone: string | null) => unwrap(client.PUT('/api/account/timezone', { body: { timezone } })),
  // site watch (issue 17)
  siteChecks: (agentId: string, range: { from?: string; to?: string } = {}) =>
    unwrap(client.GET('/api/agents/{id}/site/checks', { params: { path: { id: agentId }, query: range } })),
  siteAudits: (agentId: string) => unwrap(client.GET('/api/agents/{id}/site/audits', id(agentId))),
  runSiteAudit: (agentId: string) => unwrap(client.POST('/api/agents/{id}/site/audits', { ...id(agentId), body: {} })),
  siteReports: (agentId: string) => unwrap(client.GET('/api/agents/{id}/site/reports', id(agentId))),
  siteReport: (agentId: string, date: string) =>
    unwrap(client.GET('/api/agents/{id}/site/reports/{date}', { params: { path: { id: agentId, date } } })),

  // knowledge base (issue 18)
  knowledge: (agentId: string) => unwrap(client.GET('/api/agents/{id}/knowledge', id(agentId))),
  addKnowledge: (agentId: string, body: T.Body<'/api/agents/{id}/knowledge', 'post'>) =>
    unwrap(client.POST('/api/agents/{id}/knowledge', { ...id(agentId), body })),
  syncKnowledge: (agentId: string, sourceId: string) =>
    unwrap(client.POST('/api/agents/{id}/knowledge/{sourceId}/sync', { params: { path: { id: agentId, sourceId } } })),
  updateKnowledge: (agentId: string, sourceId: string, body: T.Body<'/api/agents/{id}/knowledge/{sourceId}', 'patch'>) =>
    unwrap(client.PATCH('/api/agents/{id}/knowledge/{sourceId}', { params: { path: { id: agentId, sourceId } }, body })),
  deleteKnowledge: (agentId: string, sourceId: string) =>
    unwrap(client.DELETE('/api/agents/{id}/knowledge/{sourceId}', { params: { path: { id: agentId, sourceId } } })),
  searchKnowledge: (agentId: string, q: string) =>
    unwrap(client.GET('/api/agents/{id}/knowledge/search', { params: { path: { id: agentId }, query: { q, limit: 5 } } })),
  /** The raw file as the body, its name in X-Filename (the header is what lets a text/plain upload past the form-post refusal). */
  uploadKnowledge: async (agentId: string, file: File): Promise<{ id: string; status: string }> => {
    const res = await fetch(`/api/agents/${encodeURIComponent(agentId)}/knowledge/files`, {
      method: 'POST', credentials: 'same-origin', body: file,
      headers: { 'Content-Type': file.type || 'application/octet-stream', 'X-Filename': encodeURIComponent(file.name) },
    });
    if (!res.ok) throw await errorFrom(res);
    return res.json() as Promise<{ id: string; status: string }>;
  },
};

export const accountApi = {
  // sign-up, e-mail verification, password reset, magic links
  authOptions: () => unwrap(client.GET('/api/auth/options')),
  register: (input: T.Body<'/api/auth/register', 'post'>) => unwrap(client.POST('/api/auth/register', { body: input })),
  verifyEmail: (token: string) => unwrap(client.POST('/api/auth/verify-email', { body: { token } })),
  resendVerification: () => unwrap(client.POST('/api/auth/verify-email/resend')),
  requestPasswordReset: (email: string) => unwrap(client.POST('/api/auth/password-reset', { body: { email } })),
  confirmPasswordReset: (token: string, password: string) =>
    unwrap(client.POST('/api/auth/password-reset/confirm', { body: { token, password } })),
  requestMagicLink: (email: string) => unwrap(client.POST('/api/auth/magic-link', { body: { email } })),
  verifyMagicLink: (token: string) => unwrap(client.POST('/api/auth/magic-link/verify', { body: { token } })),
  /** Asks Telegram (getMe) whose bot a token is, and whether another agent already uses it. */
  checkTelegramToken: (token: string) => unwrap(client.POST('/api/telegram/check', { body: { token } })),

  // plans and the caller's billing
  plans: () => unwrap(client.GET('/api/plans')),
  savePlan: (planId: string, input: T.PlanInput) => unwrap(client.PUT('/api/plans/{id}', { ...id(planId), body: input })),
  deletePlan: (planId: string) => unwrap(client.DELETE('/api/plans/{id}', id(planId))),
  billing: () => unwrap(client.GET('/api/billing')),
  /** A Stripe Checkout URL: send the browser there. */
  checkout: (plan: string) => unwrap(client.POST('/api/billing/checkout', { body: { plan } })),
  /** A Stripe Billing Portal URL. */
  portal: () => unwrap(client.POST('/api/billing/portal')),
  invoices: () => unwrap(client.GET('/api/billing/invoices')),

  // operators: customers, suspension, audit
  customers: () => unwrap(client.GET('/api/customers')),
  setCustomerPlan: (customerId: string, planId: string | null, status?: T.BillingStatus) =>
    unwrap(client.PUT('/api/customers/{id}/plan', { ...id(customerId), body: status ? { planId, status } : { planId } })),
  suspendUser: (userId: string) => unwrap(client.POST('/api/users/{id}/suspend', id(userId))),
  unsuspendUser: (userId: string) => unwrap(client.POST('/api/users/{id}/unsuspend', id(userId))),
  audit: (f: T.Query<'/api/audit', 'get'> = {}) => unwrap(client.GET('/api/audit', { params: { query: f } })),

  // provisioning of a website agent
  createSiteAgent: (input: T.SiteAgentInput) => unwrap(client.POST('/api/agents', { body: input })),
  provisioning: (agentId: string) => unwrap(client.GET('/api/agents/{id}/status', id(agentId))),
  retryProvisioning: (agentId: string) => unwrap(client.POST('/api/agents/{id}/retry', id(agentId))),
  /** A new token or site for a failed agent is kept for the retry; on a working agent it is checked at once. */
  fixAgent: (agentId: string, input: Pick<T.Body<'/api/agents/{id}', 'patch'>, 'name' | 'telegramBotToken' | 'siteUrl' | 'version'>) =>
    unwrap(client.PATCH('/api/agents/{id}', { ...id(agentId), body: input })),
  agentConfig: (agentId: string) => unwrap(client.GET('/api/agents/{id}/config', id(agentId))),
  saveAgentConfig: (agentId: string, input: T.Body<'/api/agents/{id}/config', 'patch'>) =>
    unwrap(client.PATCH('/api/agents/{id}/config', { ...id(agentId), body: input })),
  /** Deprovision; `purge` also deletes its conversations and notes. */
  deleteAgent: (agentId: string, purge: boolean) =>
    unwrap(client.DELETE('/api/agents/{id}', { params: { path: { id: agentId }, query: { purge: String(purge) as 'true' | 'false' } } })),
  sendMessage: (agentId: string, text: string) => unwrap(client.POST('/api/agents/{id}/message', { ...id(agentId), body: { text } })),
};

// ---------- media ----------

export interface UploadedMedia {
  mediaId: string;
  kind: 'audio' | 'image';
  mimeType: string;
  bytes: number;
}
export interface SpokenReply {
  mediaId: string;
  mimeType: string;
}

/** Where a stored voice note or image is served (to whoever may see its conversation); never a provider's URL. */
export const mediaUrl = (mediaId: string) => `/api/media/${encodeURIComponent(mediaId)}`;

async function uploadRaw(url: string, file: Blob): Promise<UploadedMedia> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': file.type || 'application/octet-stream', Accept: 'application/json' },
    credentials: 'same-origin',
    body: file,
  });
  if (!res.ok) throw await errorFrom(res);
  return (await res.json()) as UploadedMedia;
}

async function postJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (!res.ok) throw await errorFrom(res);
  return (await res.json()) as T;
}

// ---------- chat stream ----------

export interface ChatHandlers {
  /** `transcript`: what was heard in a voice note, which becomes the person's message text. */
  start?(e: { conversationId: string; userMessageId: string; transcript?: string }): void;
  delta?(e: { text: string }): void;
  /**
   * `reply`: the whole reply (with `budgetStopped`, the agent's stop message, which comes without deltas);
   * `human`: a person has taken the conversation over, so the agent says nothing (a reply being streamed was cut).
   */
  done?(e: {
    messageId: string;
    reply?: string;
    budgetStopped?: boolean;
    usage: { inputTokens: number; outputTokens: number; costUsd: number };
    human?: boolean;
    /** The reply spoken, when the agent's voice.reply asks for it and a TTS model is set. */
    voice?: SpokenReply;
  }): void;
  /** The reply failed; the server stores it with status "error" under `messageId` when it has one. */
  error?(e: { code: string; message: string; messageId?: string }): void;
}

/**
 * POST a chat message and read the `text/event-stream` answer as it arrives.
 * Resolves when the stream ends. A refused request (4xx/5xx before streaming)
 * rejects with an ApiError; an `error` event is passed to `handlers.error`.
 */
async function streamChat(slug: string, text: string, handlers: ChatHandlers, signal?: AbortSignal, mediaIds: string[] = []): Promise<void> {
  const body: T.Body<'/api/public/agents/{slug}/chat', 'post'> & { mediaIds?: string[] } = mediaIds.length ? { text, mediaIds } : { text };
  return streamEvents(`/api/public/agents/${encodeURIComponent(slug)}/chat`, body, handlers, signal);
}

/** POST a JSON body and read the chat's event stream (start, delta…, done | error) from the answer. */
async function streamEvents(url: string, body: unknown, handlers: ChatHandlers, signal?: AbortSignal): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    credentials: 'same-origin',
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok) throw await errorFrom(res);
  if (!res.body) throw new ApiError(res.status, 'no_body', 'The server sent an empty answer.');

  let finished = false;
  const dispatch = (event: string, data: string) => {
    let payload: unknown;
    try {
      payload = data ? JSON.parse(data) : {};
    } catch {
      return; // a garbled frame is skipped rather than breaking the conversation
    }
    switch (event) {
      case 'start':
        handlers.start?.(payload as Parameters<NonNullable<ChatHandlers['start']>>[0]);
        break;
      case 'delta':
        handlers.delta?.(payload as { text: string });
        break;
      case 'done':
        finished = true;
        handlers.done?.(payload as Parameters<NonNullable<ChatHandlers['done']>>[0]);
        break;
      case 'error':
        finished = true;
        handlers.error?.(payload as { code: string; message: string });
        break;
    }
  };

  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser(dispatch);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(value);
  }
  parser.end();
  if (!finished) {
    handlers.error?.({ code: 'stream_interrupted', message: 'The reply was interrupted before it finished.' });
  }
}

/** Incremental parser for the `event:`/`data:` frames of a server-sent event stream. */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];

  constructor(private readonly onEvent: (event: string, data: string) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = this.buffer.slice(0, nl);
      const len = this.buffer.startsWith('\r\n', nl) ? 2 : 1;
      // A lone trailing \r may be the first half of \r\n: wait for more input.
      if (len === 1 && this.buffer[nl] === '\r' && nl === this.buffer.length - 1) break;
      this.buffer = this.buffer.slice(nl + len);
      this.line(line);
    }
  }

  end(): void {
    if (this.buffer) this.line(this.buffer);
    this.buffer = '';
    this.line('');
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length) this.onEvent(this.event || 'message', this.data.join('\n'));
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return; // comment / keep-alive
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
  }
}

