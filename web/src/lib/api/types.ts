// Names for the shapes the web app passes around, every one taken from the generated schema.d.ts
// (the server's OpenAPI document), so none can drift from what the server sends or accepts.
import type { components, paths } from './schema';

type Schemas = components['schemas'];
type Operation<P extends keyof paths, M extends keyof paths[P]> = paths[P][M];
type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;

/** The JSON body of a successful answer (status 200 unless named). */
export type Ok<P extends keyof paths, M extends keyof paths[P], S extends number = 200> =
  Operation<P, M> extends { responses: infer R } ? (S extends keyof R ? Json<R[S]> : never) : never;
/** The JSON body a request takes. */
export type Body<P extends keyof paths, M extends keyof paths[P]> =
  Operation<P, M> extends { requestBody?: infer B } ? Json<NonNullable<B>> : never;
/** The query a request takes. */
export type Query<P extends keyof paths, M extends keyof paths[P]> =
  Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type Item<T> = T extends readonly (infer I)[] ? I : never;

// ---------- accounts ----------
export type User = Schemas['User'];
export type Role = User['role'];
export type AuthOptions = Ok<'/api/auth/options', 'get'>;
export type ApiKey = Item<Ok<'/api/keys', 'get'>['keys']>;
export type AuditEntry = Schemas['AuditEntry'];

// ---------- agents ----------
export type Agent = Schemas['Agent'];
export type Persona = Schemas['Persona'];
export type AgentTools = Agent['tools'];
export type AgentChannels = Agent['channels'];
export type TelegramChannel = NonNullable<AgentChannels['telegram']>;
/** What PATCH /api/agents/{id} takes. */
export type AgentInput = Body<'/api/agents/{id}', 'patch'>;
/** What PATCH /api/agents/{id} takes as `tools` (names or groups; deny wins), as the agent reports it. */
export type ToolPolicy = Pick<AgentTools, 'allow' | 'deny' | 'requireApproval'>;
export type Plugin = Item<Agent['plugins']>;
export type PluginInput = Item<NonNullable<Body<'/api/agents/{id}', 'patch'>['plugins']>>;
export type PluginMethod = NonNullable<PluginInput['method']>;
export type Template = Item<Ok<'/api/templates', 'get'>['templates']>;
export type Placeholder = Template['placeholders'][string];
/** A Switchboard template document, as exported and imported. */
export type TemplateDocument = Schemas['AgentTemplate'] & { switchboardTemplate?: number };
export type AgentConfig = Schemas['AgentConfig'];
export type ProvisioningStatus = Schemas['ProvisioningStatus'];
export type ProvisioningStep = Item<ProvisioningStatus['steps']>;
export type ProvisioningStepName = ProvisioningStep['name'];
export type SiteAgentInput = Body<'/api/agents', 'post'>;

// ---------- conversations and memory ----------
export type Message = Schemas['Message'];
export type MessageMedia = Schemas['MessageMedia'];
export type Channel = 'web' | 'api' | 'openai' | 'telegram' | 'whatsapp';
export type Conversation = Schemas['Conversation'];
export type ConversationSummary = Item<Ok<'/api/agents/{id}/conversations', 'get'>['conversations']>;
export type ClosedReason = NonNullable<Conversation['closedReason']>;
export type SummaryStatus = Conversation['summaryStatus'];
export type HistoryMessage = Item<Ok<'/api/agents/{id}/history', 'get'>['messages']>;
export type ToolCall = Item<Conversation['toolCalls']>;
export type ToolCallOutcome = 'ok' | 'error' | 'refused' | 'pending' | 'approved' | 'denied' | 'expired';
export type Summary = NonNullable<Schemas['Summary']>;
export type SummaryFilter = Omit<Query<'/api/agents/{id}/summaries', 'get'>, 'format'>;
/** A person as every list shows them: the id actions take, one label, their channel identities. */
export type Person = Schemas['Person'];
/** A summary as the summaries list shows it, with its person. */
export type PersonSummary = Item<Ok<'/api/agents/{id}/summaries', 'get'>['items']>;
export type MemoryPerson = Item<Ok<'/api/agents/{id}/people', 'get'>['people']>;
export type DeletedCounts = Ok<'/api/people/{id}', 'delete'>['deleted'];
/** A file in an agent's workspace as listed: persona files, MEMORY.md, daily notes and anything the agent wrote. */
export type WorkspaceFile = Item<Ok<'/api/agents/{id}/files', 'get'>['files']>;
export type WorkspaceFileKind = WorkspaceFile['kind'];
export type WorkspaceFileContent = Schemas['WorkspaceFile'];

// ---------- tools and approvals ----------
export type Approval = Schemas['Approval'];
export type ApprovalStatus = Approval['status'];

// ---------- providers, models, prices, usage ----------
export type Provider = Schemas['Provider'];
export type ProviderKind = Provider['kind'];
export type ProvidersResponse = Ok<'/api/providers', 'get'>;
export type ModelInfo = Item<Ok<'/api/models', 'get'>['models']>;
export type PricesResponse = Ok<'/api/prices', 'get'>;
export type Price = Item<PricesResponse['prices']>;
export type UsageSummary = Ok<'/api/usage/summary', 'get'>;

// ---------- public chat ----------
export type PublicAgent = Item<Ok<'/api/public/agents', 'get'>['agents']>;
export type PublicAgentDetail = Ok<'/api/public/agents/{slug}', 'get'>;
export type VisitorConversation = Ok<'/api/public/agents/{slug}/conversation', 'get'>;

// ---------- channels ----------
export type WhatsAppSettings = Schemas['WhatsAppSettings'];
export type WhatsAppSettingsInput = Body<'/api/channels/whatsapp', 'put'>;
export type WhatsAppProvider = NonNullable<WhatsAppSettings['provider']>;
export type ChannelHealth = Schemas['ChannelHealth'];
export type UndeliveredMessage = Item<Ok<'/api/channels/undelivered', 'get'>['messages']>;

// ---------- budgets, alerts, recommendations, analytics ----------
export type AgentBudget = Schemas['Budget'];
export type BudgetState = AgentBudget['state'];
export type Recommendations = Ok<'/api/recommendations', 'get'>;
export type Recommendation = Item<Recommendations['items']>;
export type ModelSuggestion = Item<Recommendation['suggestions']>;
export type BudgetAlert = Schemas['BudgetAlert'];
export type AlertSettings = Schemas['AlertSettings'];
export type SettingsPatch = Body<'/api/settings', 'patch'>;
export type AlertSettingsInput = Body<'/api/settings/alerts', 'put'>;
export type AlertTestResult = Ok<'/api/settings/alerts/test', 'post'>;
export type Analytics = Schemas['Analytics'];
export type AnalyticsQuery = Omit<Query<'/api/analytics', 'get'>, 'format' | 'table'>;
export type AnalyticsTable = NonNullable<Query<'/api/analytics', 'get'>['table']>;
export type DeliveryRow = Item<Analytics['delivery']['byChannel']>;

// ---------- plans, billing, customers ----------
export type Plan = Schemas['Plan'];
export type PlanInput = Body<'/api/plans/{id}', 'put'>;
export type PlanTool = Item<NonNullable<PlanInput['tools']>>;
export type Billing = Schemas['Billing'];
export type BillingStatus = Billing['status'];
export type Invoice = Schemas['Invoice'];
export type Customer = Schemas['Customer'];

// ---------- meta ----------
export type Meta = Schemas['Meta'];
