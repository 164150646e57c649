// Typed client for the Switchboard HTTP API (docs/api.md).
// Every failure becomes an ApiError carrying the server's stable code and message.
// Cookies (sb_session for the dashboard, sb_visitor for public chat) flow with
// `credentials: 'same-origin'`; the web app never handles tokens itself.

// ---------- types ----------
// Shapes that are the server's own domain types are imported (type-only, erased at
// build time) so the two cannot drift apart; the rest mirror docs/api.md.
import type {
  Agent as DomainAgent,
  Persona as DomainPersona,
  ProviderKind as DomainProviderKind,
  Role as DomainRole,
  UsageTotals,
} from '../../../src/domain/types.js';
import type { BuiltinTool as DomainBuiltinTool } from '../../../src/tools/policy.js';

export type Role = DomainRole;
export type Persona = DomainPersona;

/** Where a conversation or message happened. */
export type Channel = 'web' | 'api' | 'openai' | 'telegram' | 'whatsapp';

/** An agent's Telegram bot as the server reports it (the token itself is never returned). */
export interface TelegramChannel {
  username: string;
  link: string;
  /** `webhook` when PUBLIC_URL is set; otherwise the server long-polls getUpdates. */
  mode: 'webhook' | 'polling';
  lastInboundAt: string | null;
  lastOutboundAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  connectedAt: string;
}

export interface AgentChannels {
  telegram: TelegramChannel | null;
}

/** Conversation memory settings (issue 4), edited on the agent's Settings tab. */
export interface AgentMemorySettings {
  /** A conversation ends (and is summarized) after this many minutes without a message: 1–10080. */
  sessionTimeoutMinutes: number;
  /** Recent history sent to the model per call is bounded by this many tokens: 500–200000. */
  contextTokenBudget: number;
  /** The agent may search past summaries (memory_search/memory_get) and append notes (memory_write). */
  memoryTools: boolean;
}

/** Defaults the server applies when an agent has never set them. */
export const MEMORY_DEFAULTS: AgentMemorySettings = {
  sessionTimeoutMinutes: 30,
  contextTokenBudget: 8000,
  memoryTools: true,
};

export const MEMORY_LIMITS = {
  sessionTimeoutMinutes: { min: 1, max: 10080 },
  contextTokenBudget: { min: 500, max: 200000 },
} as const;

/** Cost control (issue 5), edited in the Budget section of the agent's Settings tab. */
export type AgentBudgetSettings = Pick<
  DomainAgent,
  | 'monthlyBudgetUsd'
  | 'downgradeAtPercent'
  | 'stopAtPercent'
  | 'budgetStopMessage'
  | 'personDailyMessages'
  | 'personDailyCostUsd'
  | 'maxOutputTokens'
>;

/** Defaults the server applies to a new agent. */
export const BUDGET_DEFAULTS = { downgradeAtPercent: 80, stopAtPercent: 100, maxOutputTokens: 2048 } as const;

export const BUDGET_LIMITS = {
  downgradeAtPercent: { min: 1, max: 100 },
  stopAtPercent: { min: 1, max: 1000 },
  budgetStopMessage: { max: 1000 },
  maxOutputTokens: { min: 16, max: 128000 },
} as const;

/** What people are told once an agent's budget is spent, when it has no message of its own. */
export const defaultStopMessage = (agentName: string) =>
  `Sorry — ${agentName} has used up its budget for this month and cannot answer right now. Please try again later.`;

// ---------- tools, plugins and approvals (issue 7) ----------

export type BuiltinTool = DomainBuiltinTool;

/** The built-in tools, in the order the server lists them. */
export const BUILTIN_TOOLS: readonly BuiltinTool[] = [
  'read',
  'write',
  'edit',
  'list',
  'exec',
  'web_fetch',
  'web_search',
  'memory_search',
  'memory_get',
  'memory_write',
];

/** Named groups a policy may use instead of single tools; `group:plugins` is every HTTP plugin of the agent. */
export const TOOL_GROUPS = {
  'group:fs': ['read', 'write', 'edit', 'list'],
  'group:runtime': ['exec'],
  'group:web': ['web_fetch', 'web_search'],
  'group:memory': ['memory_search', 'memory_get', 'memory_write'],
} as const satisfies Record<string, readonly BuiltinTool[]>;
export type ToolGroup = keyof typeof TOOL_GROUPS | 'group:plugins';

/** What PATCH /api/agents/:id takes as `tools` (names or groups; deny wins). */
export interface ToolPolicy {
  allow: string[];
  deny: string[];
  /** Calls of these tools wait for the owner's approval before they run. */
  requireApproval: string[];
}

/** An agent's tools as the server reports them. */
export interface AgentTools extends ToolPolicy {
  /** What the model is offered: the policy within the owner's plan and what this installation can run. */
  effective: string[];
  /** Allowed by the policy but not offered, and why ("not included in the plan", "bubblewrap … is not installed"). */
  unavailable: { name: string; reason: string }[];
  /** True while the agent has no policy of its own (memory tools only). */
  default: boolean;
}

export type PluginMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** An HTTP plugin as stored: secrets are listed by name only, never their values. */
export interface Plugin {
  name: string;
  description: string;
  /** A JSON Schema object: `{"type":"object","properties":{…},"required":[…]}`. */
  parameters: Record<string, unknown>;
  method: PluginMethod | string;
  /** May hold `{param}` placeholders. */
  url: string;
  /** Values may use `{param}` and `{{secret:NAME}}`. */
  headers: Record<string, string>;
  /** A JSON template with `{param}` placeholders; null: no body. */
  body: string | null;
  /** A dot path picked out of a JSON answer, e.g. `data.items`. */
  responsePath: string | null;
  /** Names of the secrets that are set. */
  secrets: string[];
}

/** A plugin as PATCH takes it. `secrets` are write-only: omit a name to keep it, `""` removes it. */
export type PluginInput = Omit<Plugin, 'secrets'> & { secrets?: Record<string, string> };

export type ToolCallOutcome = 'ok' | 'error' | 'refused' | 'pending' | 'approved' | 'denied' | 'expired';

/** One tool call in a conversation (arguments with secrets redacted). */
export interface ToolCall {
  id: string;
  tool: string;
  args: unknown;
  outcome: ToolCallOutcome | string;
  /** The first characters of what the tool answered (model-facing text: render as text). */
  resultPreview: string | null;
  resultBytes: number;
  durationMs: number;
  createdAt: string;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'done' | 'failed';

/** A tool call held until the owner approves it. `approved` is brief: the call is running. */
export interface Approval {
  id: string;
  agentId: string;
  agentName: string;
  conversationId: string | null;
  toolCallId: string;
  tool: string;
  /** The call's arguments, secrets redacted. Written by the model: render as text. */
  args: unknown;
  status: ApprovalStatus;
  /** What the tool answered once approved (done or failed). */
  result: string | null;
  /** The user who decided. */
  decidedBy: string | null;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
}

export type Agent = Omit<DomainAgent, 'channels' | 'toolPolicy' | 'plugins' | keyof AgentMemorySettings> &
  AgentMemorySettings & { channels: AgentChannels; tools: AgentTools; plugins: Plugin[] };
export type ProviderKind = DomainProviderKind;
export type UsageNumbers = UsageTotals;

export interface User {
  id: string;
  email: string;
  role: Role;
  createdAt?: string;
  /** Customers only: a monthly cap in USD across all the agents they own (null: none). */
  monthlyBudgetUsd?: number | null;
  /** Customer accounts (GET /api/auth/me, /api/users): display name, standing and address check. */
  name?: string | null;
  status?: 'active' | 'suspended';
  emailVerified?: boolean;
  emailVerifiedAt?: string | null;
}

export type AgentInput = Partial<
  Pick<
    Agent,
    | 'name'
    | 'slug'
    | 'description'
    | 'icon'
    | 'model'
    | 'fallbackModel'
    | 'temperature'
    | 'listed'
    | 'status'
    | keyof AgentMemorySettings
    | keyof AgentBudgetSettings
  >
> & {
  persona?: Partial<Persona>;
  template?: string;
  templateVars?: Record<string, string>;
  version?: number;
  /** A BotFather token; `""` disconnects the agent's bot. */
  telegramBotToken?: string;
  /** The tool policy; null restores the default (memory tools only). */
  tools?: ToolPolicy | null;
  /** The whole list of HTTP plugins. */
  plugins?: PluginInput[];
};

export interface PublicAgent {
  slug: string;
  name: string;
  description: string;
  icon: string;
}

export interface PublicAgentDetail extends PublicAgent {
  available: boolean;
  notice: string | null;
}

export interface Message {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  status: 'complete' | 'error';
  createdAt: string;
}

export interface VisitorConversation {
  conversationId: string | null;
  messages: Message[];
}

/** A message from an agent's history: the latest across all conversations and channels. */
export interface HistoryMessage extends Message {
  channel: Channel | string;
  conversationId: string;
  personId: string | null;
  error: string | null;
}

export interface ConversationSummary {
  id: string;
  channel: Channel | string;
  personId: string | null;
  messageCount: number;
  lastMessageAt: string | null;
  createdAt: string;
  /** Set once the session ended (timeout, new conversation, closed by an operator). */
  closedAt?: string | null;
  closedReason?: ClosedReason | null;
  summaryStatus?: SummaryStatus;
  /** Some reply in it came from the fallback model because the agent's budget ran low. */
  downgraded?: boolean;
}

/** Why a conversation ended. */
export type ClosedReason = 'timeout' | 'new_conversation' | 'switched_agent' | 'closed_by_operator';
export type SummaryStatus = 'none' | 'pending' | 'ready' | 'failed';

/** The summary attached to a closed conversation; tokens and cost are those of writing it. */
export interface ConversationSummaryCard {
  id: string;
  /** Markdown (Topics / Facts shared / Decisions / Open questions). Model output: render with Markdown.svelte. */
  summary: string;
  startedAt: string;
  endedAt: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface Conversation {
  id: string;
  agentId: string;
  channel: Channel | string;
  personId?: string | null;
  /** The person's identity as the channel knows it (phone number, Telegram user, API userId, visitor id). */
  userId?: string | null;
  createdAt?: string;
  lastMessageAt?: string;
  status: 'open' | 'closed';
  closedAt: string | null;
  closedReason: ClosedReason | null;
  summaryStatus: SummaryStatus;
  summary: ConversationSummaryCard | null;
  /** `channel` per message when the server records it (a person can move between channels). */
  messages: (Message & { error?: string | null; channel?: Channel | string | null })[];
  /** Every tool call the agent made in this conversation, oldest first. */
  toolCalls?: ToolCall[];
}

/** A stored summary of one finished conversation. */
export interface Summary {
  id: string;
  conversationId: string;
  /** The person's identity as the caller knows it: phone number, Telegram user, API userId or web visitor id. */
  userId: string | null;
  personId: string | null;
  agentId: string;
  summary: string;
  startedAt: string;
  endedAt: string;
  channel: Channel | string;
  messageCount: number;
  /** The model that wrote the summary; the tokens and cost below are that call's. */
  model?: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  createdAt: string;
}

export interface SummaryFilter {
  q?: string;
  userId?: string;
  personId?: string;
  limit?: number;
}

/** Someone who talked with an agent, on any channel. */
export interface MemoryPerson {
  id: string;
  kind: string;
  externalId: string;
  conversations: number;
  summaries: number;
  lastMessageAt: string | null;
}

export interface DeletedCounts {
  conversations: number;
  messages: number;
  summaries: number;
  links: number;
}

/**
 * A file in an agent's workspace: persona files, MEMORY.md, daily notes `memory/YYYY-MM-DD.md`,
 * and (`file`) anything else the agent wrote with its workspace tools, e.g. `notes/plan.md`.
 */
export type WorkspaceFileKind = 'persona' | 'memory' | 'daily' | 'file';

export interface WorkspaceFile {
  path: string;
  kind: WorkspaceFileKind;
  size: number;
  updatedAt: string | null;
}

export interface WorkspaceFileContent {
  path: string;
  kind: WorkspaceFileKind;
  content: string;
  updatedAt: string | null;
}

export interface Placeholder {
  description: string;
  required: boolean;
  default?: string;
}

export interface Template {
  id: string;
  name: string;
  description: string;
  icon: string;
  placeholders: Record<string, Placeholder>;
}

export interface Provider {
  name: string;
  kind: ProviderKind;
  baseUrl: string | null;
  hasKey: boolean;
  source: 'env' | 'settings';
  models: string[];
}

export interface ProvidersResponse {
  configured: boolean;
  defaultModel: string | null;
  providers: Provider[];
}

export interface ModelInfo {
  id: string;
  provider: string;
  model: string;
  available: boolean;
  priced: boolean;
  inputPerM: number | null;
  outputPerM: number | null;
}

export interface Price {
  model: string;
  inputPerM: number;
  outputPerM: number;
  cachedInputPerM?: number;
  source: 'table' | 'override';
}

export interface PricesResponse {
  checkedAt: string | null;
  defaultPrice: { inputPerM: number; outputPerM: number };
  prices: Price[];
}

export interface UsageSummary {
  agents: { agentId: string; name: string; slug: string; today: UsageNumbers; month: UsageNumbers }[];
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface FieldError {
  path: string;
  message: string;
}

export type WhatsAppProvider = 'cloud' | 'twilio';

export interface ChannelHealth {
  lastInboundAt: string | null;
  lastOutboundAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
}

/** The WhatsApp number shared by all agents. Secrets are write-only: `has*` says one is stored. */
export interface WhatsAppSettings {
  provider: WhatsAppProvider | null;
  source: 'env' | 'settings' | null;
  cloud: {
    phoneNumberId: string;
    graphUrl: string | null;
    hasToken: boolean;
    hasAppSecret: boolean;
    hasVerifyToken: boolean;
  } | null;
  twilio: { accountSid: string; from: string; apiUrl: string | null; hasAuthToken: boolean } | null;
  /** Null when PUBLIC_URL is unset: the providers then have nowhere to send messages. */
  webhookUrls: { cloud: string | null; twilio: string | null };
  health: ChannelHealth;
}

/** PUT /api/channels/whatsapp. Omit a secret to keep the stored one. */
export type WhatsAppSettingsInput =
  | { provider: 'cloud'; phoneNumberId: string; token?: string; appSecret?: string; verifyToken?: string; graphUrl?: string }
  | { provider: 'twilio'; accountSid: string; from: string; authToken?: string; apiUrl?: string }
  | { provider: null };

export interface UndeliveredMessage {
  id: string;
  channel: Channel | string;
  agentId: string | null;
  recipient: string;
  text: string;
  status: 'failed' | 'undelivered';
  lastError: string | null;
  createdAt: string;
}

// ---------- budgets, alerts, recommendations, analytics (issue 5) ----------

export type BudgetState = 'normal' | 'downgraded' | 'stopped';

/** An agent's budget this month (GET /api/agents/:id/budget). */
export interface AgentBudget {
  agentId: string;
  /** The month, `YYYY-MM` (UTC). */
  period: string;
  monthlyBudgetUsd: number | null;
  spentUsd: number;
  /** Promised to model calls still running. */
  reservedUsd: number;
  /** Spent as a percentage of the budget; null without a budget. */
  percent: number | null;
  state: BudgetState;
  downgradeAtPercent: number;
  stopAtPercent: number;
  fallbackModel: string | null;
  /** This month's spend at the pace so far. */
  projectedUsd: number;
  /** Cumulative spend per day of the month; null for days still to come. */
  series: { date: string; spentUsd: number | null }[];
  /** The owner's cap across all their agents, when the owner is a customer with one. */
  customer: { monthlyBudgetUsd: number; spentUsd: number } | null;
}

export interface ModelSuggestion {
  model: string;
  estimatedUsd: number;
  savingsUsd: number;
  savingsPercent: number;
}

export interface Recommendation {
  agentId: string;
  agentName: string;
  currentModel: string | null;
  last30DaysUsd: number;
  requests: number;
  /** Cheaper configured models, most savings first. */
  suggestions: ModelSuggestion[];
  /** "Switch Recipe Helper to openai:gpt-4o-mini: about 62% less, $3.10/month"; null without a cheaper model. */
  message: string | null;
}

export interface Recommendations {
  windowDays: number;
  items: Recommendation[];
}

/** A budget threshold crossed (each threshold once per period). */
export interface BudgetAlert {
  id: string;
  scope: 'agent' | 'customer' | 'person';
  scopeId: string;
  period: string;
  kind: 'downgrade' | 'stop';
  ownerId: string | null;
  percent: number;
  spentUsd: number;
  budgetUsd: number;
  /** Server-written text; may name an agent, which is user input: render as text. */
  message: string;
  createdAt: string;
  acknowledgedAt: string | null;
  /** 'sent', 'not configured' or 'failed: …'; null while not tried yet. */
  webhookStatus: string | null;
  emailStatus: string | null;
}

/** Where budget alerts go. Secrets are write-only: `has*` says one is stored. */
export interface AlertSettings {
  webhookUrl: string | null;
  hasWebhookSecret: boolean;
  email: {
    host: string;
    port: number;
    /** true: TLS from the start (port 465); false: STARTTLS when the server offers it. */
    secure: boolean;
    user: string | null;
    hasPassword: boolean;
    from: string;
    to: string[];
  } | null;
}

/** PUT /api/settings/alerts. `webhookSecret` and `email.password`: omit to keep, "" to remove. */
export interface AlertSettingsInput {
  webhookUrl?: string | null;
  webhookSecret?: string;
  email?: {
    host: string;
    port: number;
    secure: boolean;
    user?: string | null;
    password?: string;
    from: string;
    to: string[];
  } | null;
}

/** Per way: 'sent', 'not configured' or 'failed: <reason>'. */
export interface AlertTestResult {
  webhook: string;
  email: string;
}

interface ActivityNumbers {
  messages: number;
  people: number;
}

export interface AnalyticsQuery {
  from?: string;
  to?: string;
  agentId?: string;
}

/** The tables GET /api/analytics can send as CSV. */
export type AnalyticsTable = 'series' | 'byAgent' | 'byModel' | 'byChannel' | 'delivery';

export interface DeliveryRow {
  channel: string;
  sent: number;
  delivered: number;
  read: number;
  failed: number;
  undelivered: number;
  pending: number;
}

export interface Analytics {
  range: { from: string; to: string };
  totals: ActivityNumbers & UsageNumbers & { replies: number };
  /** One row per day of the range, zeros included. */
  series: (ActivityNumbers & UsageNumbers & { date: string; replies: number })[];
  /** agentId null: usage with no agent (e.g. the OpenAI-compatible endpoint without one). */
  byAgent: (ActivityNumbers & UsageNumbers & { agentId: string | null; name: string })[];
  byModel: (UsageNumbers & { model: string })[];
  byChannel: (ActivityNumbers & { channel: string; requests: number; costUsd: number })[];
  latency: {
    ttftP50Ms: number | null;
    ttftP95Ms: number | null;
    latencyP50Ms: number | null;
    latencyP95Ms: number | null;
    series: { date: string; ttftP50Ms: number | null; ttftP95Ms: number | null }[];
  };
  delivery: { byChannel: DeliveryRow[] };
}

/** A Switchboard template document, as exported and imported. */
export type TemplateDocument = Record<string, unknown> & { switchboardTemplate?: number };

// ---------- errors ----------

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldError[];
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, fields: FieldError[] = [], retryAfter: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }

  /** The message for one field path (exact match, or the first nested under it). */
  fieldMessage(path: string): string | undefined {
    return (
      this.fields.find((f) => f.path === path)?.message ??
      this.fields.find((f) => f.path.startsWith(path + '.') || f.path.startsWith(path + '['))?.message
    );
  }
}

/** Turn anything thrown into a message fit to show a person. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error && err.name === 'AbortError') return 'The request was cancelled.';
  if (err instanceof TypeError) return 'Could not reach the server. Check your connection and try again.';
  if (err instanceof Error) return err.message;
  return 'Something went wrong.';
}

async function errorFrom(res: Response): Promise<ApiError> {
  const retry = res.headers.get('Retry-After');
  const retryAfter = retry && /^\d+$/.test(retry) ? Number(retry) : null;
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON: fall through to a generic message */
  }
  const e = (body as { error?: { code?: unknown; message?: unknown; fields?: unknown } } | null)?.error;
  if (e && typeof e.message === 'string') {
    const fields = Array.isArray(e.fields)
      ? e.fields.filter(
          (f): f is FieldError => !!f && typeof f.path === 'string' && typeof f.message === 'string',
        )
      : [];
    return new ApiError(res.status, typeof e.code === 'string' ? e.code : 'error', e.message, fields, retryAfter);
  }
  return new ApiError(res.status, 'http_' + res.status, `The server answered ${res.status} ${res.statusText}`.trim(), [], retryAfter);
}

// ---------- transport ----------

let onUnauthorized: (() => void) | null = null;

/** Called when a signed-in request answers 401 (the session ended). The dashboard sets this. */
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

async function send(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Accept', 'application/json');
  if (body !== undefined) headers.set('Content-Type', 'application/json');
  const res = await fetch(path, {
    ...init,
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    const err = await errorFrom(res);
    if (res.status === 401 && onUnauthorized && !path.startsWith('/api/auth/login')) onUnauthorized();
    throw err;
  }
  return res;
}

async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

const enc = encodeURIComponent;

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

/** GET a file the server sends as an attachment; the name comes from Content-Disposition. */
async function download(path: string): Promise<{ blob: Blob; filename: string | null }> {
  const res = await send('GET', path);
  const cd = res.headers.get('Content-Disposition') ?? '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  return { blob: await res.blob(), filename: m ? decodeURIComponent(m[1]) : null };
}

// ---------- routes ----------

export const api = {
  // setup and auth
  setupStatus: () => json<{ needsSetup: boolean }>('GET', '/api/setup'),
  setup: (email: string, password: string) => json<{ token: string; user: User }>('POST', '/api/setup', { email, password }),
  login: (email: string, password: string) =>
    json<{ token: string; user: User }>('POST', '/api/auth/login', { email, password }),
  me: () => json<{ user: User }>('GET', '/api/auth/me'),
  logout: () => json<{ ok: boolean }>('POST', '/api/auth/logout'),

  // users
  users: () => json<{ users: User[] }>('GET', '/api/users'),
  createUser: (email: string, password: string, role: Role) =>
    json<User>('POST', '/api/users', { email, password, role }),
  deleteUser: (id: string) => json<void>('DELETE', `/api/users/${enc(id)}`),
  /** A customer's monthly cap across their agents; null removes it. */
  setUserBudget: (id: string, monthlyBudgetUsd: number | null) =>
    json<User>('PATCH', `/api/users/${enc(id)}`, { monthlyBudgetUsd }),

  // API keys
  keys: () => json<{ keys: ApiKey[] }>('GET', '/api/keys'),
  createKey: (name: string) => json<ApiKey & { key: string }>('POST', '/api/keys', { name }),
  deleteKey: (id: string) => json<void>('DELETE', `/api/keys/${enc(id)}`),

  // providers, models, prices
  providers: () => json<ProvidersResponse>('GET', '/api/providers'),
  createProvider: (p: { name: string; kind: ProviderKind; baseUrl?: string; apiKey?: string; models?: string[] }) =>
    json<Provider>('POST', '/api/providers', p),
  updateProvider: (name: string, p: { baseUrl?: string; apiKey?: string; models?: string[] }) =>
    json<Provider>('PATCH', `/api/providers/${enc(name)}`, p),
  deleteProvider: (name: string) => json<void>('DELETE', `/api/providers/${enc(name)}`),
  models: () => json<{ defaultModel: string | null; models: ModelInfo[] }>('GET', '/api/models'),
  prices: () => json<PricesResponse>('GET', '/api/prices'),
  setPrice: (model: string, p: { inputPerM: number; outputPerM: number; cachedInputPerM?: number }) =>
    json<Price>('PUT', `/api/prices/${enc(model)}`, p),
  resetPrice: (model: string) => json<void>('DELETE', `/api/prices/${enc(model)}`),

  // agents
  agents: () => json<{ agents: Agent[] }>('GET', '/api/agents'),
  agent: (id: string) => json<Agent>('GET', `/api/agents/${enc(id)}`),
  createAgent: (input: AgentInput) => json<Agent>('POST', '/api/agents', input),
  updateAgent: (id: string, input: AgentInput) => json<Agent>('PATCH', `/api/agents/${enc(id)}`, input),
  deleteAgent: (id: string) => json<void>('DELETE', `/api/agents/${enc(id)}`),
  pauseAgent: (id: string) => json<Agent>('POST', `/api/agents/${enc(id)}/pause`),
  resumeAgent: (id: string) => json<Agent>('POST', `/api/agents/${enc(id)}/resume`),
  duplicateAgent: (id: string, name?: string) =>
    json<Agent>('POST', `/api/agents/${enc(id)}/duplicate`, name ? { name } : {}),
  exportAgent: (id: string) => download(`/api/agents/${enc(id)}/export`),
  importAgent: (doc: TemplateDocument) => json<Agent>('POST', '/api/agents/import', doc),
  previewPrompt: (input: { name: string; description?: string; persona: Persona }, signal?: AbortSignal) =>
    send('POST', '/api/agents/preview-prompt', input, { signal }).then(
      (r) => r.json() as Promise<{ systemPrompt: string; tokens: number }>,
    ),
  agentConversations: (id: string) =>
    json<{ conversations: ConversationSummary[] }>('GET', `/api/agents/${enc(id)}/conversations`),
  conversation: (id: string) => json<Conversation>('GET', `/api/conversations/${enc(id)}`),
  /** End the session now and queue its summary. */
  closeConversation: (id: string) => json<Conversation>('POST', `/api/conversations/${enc(id)}/close`),
  agentHistory: (id: string, limit = 50) =>
    json<{ messages: HistoryMessage[] }>('GET', `/api/agents/${enc(id)}/history?limit=${limit}`),
  /** Connect (a BotFather token) or disconnect (`""`) the agent's Telegram bot. */
  setTelegramToken: (id: string, token: string) =>
    json<Agent>('PATCH', `/api/agents/${enc(id)}`, { telegramBotToken: token }),
  templates: () => json<{ templates: Template[] }>('GET', '/api/templates'),

  // conversation memory: summaries, people, workspace files
  /** Best match first when `q` is given, newest first otherwise. */
  summaries: (agentId: string, f: SummaryFilter = {}) =>
    json<{ items: Summary[] }>('GET', `/api/agents/${enc(agentId)}/summaries` + query({ ...f })),
  exportSummaries: (agentId: string, format: 'csv' | 'json', f: SummaryFilter = {}) =>
    download(`/api/agents/${enc(agentId)}/summaries` + query({ ...f, format })),
  summary: (id: string) => json<Summary>('GET', `/api/summaries/${enc(id)}`),
  people: (agentId: string, q?: string) =>
    json<{ people: MemoryPerson[] }>('GET', `/api/agents/${enc(agentId)}/people` + query({ q })),
  /** Remove a person's messages, summaries and identity links. */
  deletePerson: (id: string) => json<{ deleted: DeletedCounts }>('DELETE', `/api/people/${enc(id)}`),
  files: (agentId: string) => json<{ files: WorkspaceFile[] }>('GET', `/api/agents/${enc(agentId)}/files`),
  file: (agentId: string, path: string) =>
    json<WorkspaceFileContent>('GET', `/api/agents/${enc(agentId)}/file` + query({ path })),
  /** `baseUpdatedAt`: the version the editor loaded (null: a new file); a file changed since is refused with 409. */
  saveFile: (agentId: string, path: string, content: string, baseUpdatedAt?: string | null) =>
    json<WorkspaceFileContent>('PUT', `/api/agents/${enc(agentId)}/file` + query({ path }), { content, baseUpdatedAt }),
  /** Any file but the persona files (those are edited on the agent). */
  deleteFile: (agentId: string, path: string) =>
    json<void>('DELETE', `/api/agents/${enc(agentId)}/file` + query({ path })),

  // tool calls held for approval
  /** Newest first; without `status`, every request the user may see. */
  approvals: (status?: ApprovalStatus) => json<{ approvals: Approval[] }>('GET', '/api/approvals' + query({ status })),
  approval: (id: string) => json<Approval>('GET', `/api/approvals/${enc(id)}`),
  /** Runs the held call now; its result goes into the conversation. 409 approval_closed once decided or expired. */
  approve: (id: string) => json<Approval>('POST', `/api/approvals/${enc(id)}/approve`),
  /** The held call never runs. */
  declineApproval: (id: string) => json<Approval>('POST', `/api/approvals/${enc(id)}/deny`),

  // channels
  whatsapp: () => json<WhatsAppSettings>('GET', '/api/channels/whatsapp'),
  saveWhatsapp: (input: WhatsAppSettingsInput) => json<WhatsAppSettings>('PUT', '/api/channels/whatsapp', input),
  testWhatsapp: (to: string) =>
    json<{ ok: true; providerMessageId: string | null }>('POST', '/api/channels/whatsapp/test', { to }),
  /** One agent's traffic on the shared WhatsApp number (either provider). */
  whatsappHealth: (agentId: string) => json<ChannelHealth>('GET', '/api/channels/whatsapp/health' + query({ agentId })),
  undelivered: (agentId?: string) =>
    json<{ messages: UndeliveredMessage[] }>('GET', '/api/channels/undelivered' + query({ agentId })),

  // usage and analytics
  usageSummary: () => json<UsageSummary>('GET', '/api/usage/summary'),
  analytics: (q: AnalyticsQuery) => json<Analytics>('GET', '/api/analytics' + query({ ...q })),
  exportAnalytics: (table: AnalyticsTable, q: AnalyticsQuery) =>
    download('/api/analytics' + query({ ...q, format: 'csv', table })),

  // budgets, recommendations, alerts
  agentBudget: (id: string) => json<AgentBudget>('GET', `/api/agents/${enc(id)}/budget`),
  recommendations: () => json<Recommendations>('GET', '/api/recommendations'),
  alerts: () => json<{ alerts: BudgetAlert[] }>('GET', '/api/alerts'),
  acknowledgeAlert: (id: string) => json<BudgetAlert>('POST', `/api/alerts/${enc(id)}/ack`),
  alertSettings: () => json<AlertSettings>('GET', '/api/settings/alerts'),
  saveAlertSettings: (input: AlertSettingsInput) => json<AlertSettings>('PUT', '/api/settings/alerts', input),
  testAlerts: () => json<AlertTestResult>('POST', '/api/settings/alerts/test'),

  // public chat
  publicAgents: () => json<{ agents: PublicAgent[] }>('GET', '/api/public/agents'),
  publicAgent: (slug: string) => json<PublicAgentDetail>('GET', `/api/public/agents/${enc(slug)}`),
  visitorConversation: (slug: string) =>
    json<VisitorConversation>('GET', `/api/public/agents/${enc(slug)}/conversation`),
  /** `switch`: the person leaves for another agent (the warning said the context resets). */
  newConversation: (slug: string, reason: 'new' | 'switch' = 'new') =>
    json<VisitorConversation>('POST', `/api/public/agents/${enc(slug)}/conversation/new${reason === 'switch' ? '?reason=switch' : ''}`),
  chat: (slug: string, text: string, handlers: ChatHandlers, signal?: AbortSignal) =>
    streamChat(slug, text, handlers, signal),
};

// ---------- chat stream ----------

export interface ChatHandlers {
  start?(e: { conversationId: string; userMessageId: string }): void;
  delta?(e: { text: string }): void;
  done?(e: { messageId: string; usage: { inputTokens: number; outputTokens: number; costUsd: number } }): void;
  /** The reply failed; the server stores it with status "error" under `messageId` when it has one. */
  error?(e: { code: string; message: string; messageId?: string }): void;
}

/**
 * POST a chat message and read the `text/event-stream` answer as it arrives.
 * Resolves when the stream ends. A refused request (4xx/5xx before streaming)
 * rejects with an ApiError; an `error` event is passed to `handlers.error`.
 */
async function streamChat(slug: string, text: string, handlers: ChatHandlers, signal?: AbortSignal): Promise<void> {
  const res = await fetch(`/api/public/agents/${enc(slug)}/chat`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    credentials: 'same-origin',
    body: JSON.stringify({ text }),
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

// ====================================================================================
// Customer accounts, plans, billing, customers admin, audit log and agent provisioning
// (the SitePM onboarding: docs/api.md "Auth and users", "Plans, billing and customers",
// "Audit log" and "Agents → Provisioning"). Kept in one block, used as `accountApi.*`.
// ====================================================================================

export type ProvisioningStepName = 'validate_token' | 'check_site' | 'generate_workspace' | 'bind_telegram' | 'health_check';
export type ProvisioningStepState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface ProvisioningStep {
  name: ProvisioningStepName | string;
  state: ProvisioningStepState;
  /** A sentence for the customer: the bot's @username, the stack found, why it failed. Plain text (may quote model output). */
  detail: string;
  updatedAt: string | null;
}

/** GET /api/agents/:id/status. `steps` is empty for an agent that was never provisioned. */
export interface ProvisioningStatus {
  agentId: string;
  status: Agent['status'];
  steps: ProvisioningStep[];
  /** Only while failed. */
  error?: string | null;
  failedStep?: ProvisioningStepName | string | null;
  /** Once the bot is bound. */
  telegram?: { username: string; link: string } | null;
  siteUrl?: string | null;
  stack?: Agent['stack'];
  attempts?: number;
  startedAt?: string | null;
  finishedAt?: string | null;
}

/** The workspace files and custom instructions of an agent (GET/PATCH /api/agents/:id/config). */
export interface AgentConfig {
  soul: string;
  agents: string;
  tools: string;
  user: string;
  instructions: string;
  siteUrl?: string | null;
  version?: number;
}

export type PlanTool = 'memory' | 'web_fetch' | 'web_search' | 'exec';
export const PLAN_TOOLS: readonly PlanTool[] = ['memory', 'web_fetch', 'web_search', 'exec'];

export interface Plan {
  id: string;
  name: string;
  description: string;
  priceUsdMonth: number;
  stripePriceId: string | null;
  maxAgents: number;
  /** null: unlimited. */
  monthlyMessages: number | null;
  /** null: unlimited. */
  monthlyCostUsd: number | null;
  tools: PlanTool[];
  trialDays: number;
  sort: number;
}

export type PlanInput = Partial<Omit<Plan, 'id'>>;

export type BillingStatus = 'none' | 'trialing' | 'active' | 'past_due' | 'canceled';

/** GET /api/billing: the caller's own plan, standing and usage this calendar month (UTC). */
export interface Billing {
  /** The plan's id (what checkout and the Stripe webhook name), or null. */
  plan: string | null;
  planDetails: Plan | null;
  status: BillingStatus;
  trialEndsAt: string | null;
  currentPeriodEnd: string | null;
  pastDueSince: string | null;
  graceEndsAt: string | null;
  /** YYYY-MM */
  period: string;
  usage: { messages: number; costUsd: number; agents: number };
  limits: { maxAgents: number | null; monthlyMessages: number | null; monthlyCostUsd: number | null; tools: PlanTool[] | null };
  trialExpired: boolean;
  blocked: null | 'trial_expired' | 'canceled';
  billingConfigured: boolean;
  hasBillingAccount: boolean;
}

export interface Invoice {
  id: string;
  stripeInvoiceId: string;
  amountUsd: number;
  currency: string;
  status: string;
  hostedUrl: string | null;
  periodStart: string | null;
  periodEnd: string | null;
  createdAt: string;
}

export interface Customer {
  id: string;
  email: string;
  name: string | null;
  status: 'active' | 'suspended';
  createdAt: string;
  plan: string | null;
  planStatus: BillingStatus;
  trialEndsAt: string | null;
  currentPeriodEnd: string | null;
  pastDueSince: string | null;
  agents: number;
  usage: { messages: number; costUsd: number };
}

export interface AuditEntry {
  id: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  detail: Record<string, unknown> | null;
  createdAt: string;
}

/** What the sign-in page may offer: sign-up (SWITCHBOARD_SIGNUP=open), and reset / magic links (mail configured). */
export interface AuthOptions {
  signup: boolean;
  mail: boolean;
}

/** POST /api/agents for a customer's website agent: answers 202 with `status: "provisioning"`. */
export interface SiteAgentInput {
  name: string;
  siteUrl: string;
  telegramBotToken: string;
  persona?: { instructions?: string };
}

export const accountApi = {
  // sign-up, e-mail verification, password reset, magic links
  authOptions: () => json<AuthOptions>('GET', '/api/auth/options'),
  register: (input: { email: string; password: string; name: string }) =>
    json<{ token: string; user: User }>('POST', '/api/auth/register', input),
  verifyEmail: (token: string) => json<{ ok: true }>('POST', '/api/auth/verify-email', { token }),
  resendVerification: () => json<{ ok: true }>('POST', '/api/auth/verify-email/resend'),
  requestPasswordReset: (email: string) => json<{ ok: true }>('POST', '/api/auth/password-reset', { email }),
  confirmPasswordReset: (token: string, password: string) =>
    json<{ ok: true }>('POST', '/api/auth/password-reset/confirm', { token, password }),
  requestMagicLink: (email: string) => json<{ ok: true }>('POST', '/api/auth/magic-link', { email }),
  verifyMagicLink: (token: string) => json<{ token: string; user: User }>('POST', '/api/auth/magic-link/verify', { token }),
  /** Asks Telegram (getMe) whose bot a token is, and whether another agent already uses it. */
  checkTelegramToken: (token: string) =>
    json<{ id: number; username: string; firstName: string; link: string }>('POST', '/api/telegram/check', { token }),

  // plans and the caller's billing
  plans: () => json<{ plans: Plan[] }>('GET', '/api/plans'),
  savePlan: (id: string, input: PlanInput) => json<Plan>('PUT', `/api/plans/${enc(id)}`, input),
  deletePlan: (id: string) => json<void>('DELETE', `/api/plans/${enc(id)}`),
  billing: () => json<Billing>('GET', '/api/billing'),
  /** A Stripe Checkout URL: send the browser there. */
  checkout: (plan: string) => json<{ url: string }>('POST', '/api/billing/checkout', { plan }),
  /** A Stripe Billing Portal URL. */
  portal: () => json<{ url: string }>('POST', '/api/billing/portal'),
  invoices: () => json<{ invoices: Invoice[] }>('GET', '/api/billing/invoices'),

  // operators: customers, suspension, audit
  customers: () => json<{ customers: Customer[] }>('GET', '/api/customers'),
  setCustomerPlan: (id: string, planId: string | null, status?: BillingStatus) =>
    json<Customer>('PUT', `/api/customers/${enc(id)}/plan`, status ? { planId, status } : { planId }),
  suspendUser: (id: string) => json<User>('POST', `/api/users/${enc(id)}/suspend`),
  unsuspendUser: (id: string) => json<User>('POST', `/api/users/${enc(id)}/unsuspend`),
  audit: (f: { limit?: number; action?: string } = {}) =>
    json<{ entries: AuditEntry[] }>('GET', '/api/audit' + query({ ...f })),

  // provisioning of a website agent
  createSiteAgent: (input: SiteAgentInput) => json<Agent>('POST', '/api/agents', input),
  provisioning: (id: string) => json<ProvisioningStatus>('GET', `/api/agents/${enc(id)}/status`),
  retryProvisioning: (id: string) => json<ProvisioningStatus>('POST', `/api/agents/${enc(id)}/retry`),
  /** A new token or site for a failed agent is kept for the retry; on a working agent it is checked at once. */
  fixAgent: (id: string, input: { name?: string; telegramBotToken?: string; siteUrl?: string; version?: number }) =>
    json<Agent>('PATCH', `/api/agents/${enc(id)}`, input),
  agentConfig: (id: string) => json<AgentConfig>('GET', `/api/agents/${enc(id)}/config`),
  saveAgentConfig: (id: string, input: Partial<Omit<AgentConfig, 'siteUrl'>>) =>
    json<AgentConfig>('PATCH', `/api/agents/${enc(id)}/config`, input),
  /** Deprovision; `purge` also deletes its conversations and notes. */
  deleteAgent: (id: string, purge: boolean) => json<void>('DELETE', `/api/agents/${enc(id)}?purge=${purge}`),
  sendMessage: (id: string, text: string) =>
    json<{ reply: string; conversationId: string; usage: { inputTokens: number; outputTokens: number; costUsd: number } }>(
      'POST',
      `/api/agents/${enc(id)}/message`,
      { text },
    ),
};
