/** Response shapes for the OpenAPI document, plus small helpers to declare routes tersely. */
import { z } from '@hono/zod-openapi';

export const ErrorSchema = z.object({
  error: z.object({
    code: z.string().openapi({ example: 'validation_failed' }),
    message: z.string(),
    fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    attemptsLeft: z.number().int().optional().openapi({ description: 'Sign-in: failed tries left before the next ones are slowed (on a 401)' }),
    retryAfterSeconds: z.number().int().optional().openapi({ description: 'How long to wait before trying again (on a 429; also the Retry-After header)' }),
    slowed: z.boolean().optional().openapi({ description: 'Sign-in: attempts are being slowed after too many failures (on a 429)' }),
  }),
}).openapi('Error');

export const UserSchema = z.object({
  id: z.string(), email: z.string(), role: z.enum(['owner', 'admin', 'auditor', 'customer']), createdAt: z.string().optional(), monthlyBudgetUsd: z.number().nullable().optional(),
  name: z.string().nullable().optional(), status: z.enum(['active', 'suspended']).optional(),
  emailVerifiedAt: z.string().nullable().optional(), emailVerified: z.boolean().optional(),
  timezone: z.string().nullable().optional().openapi({ description: 'IANA time zone for schedules and reports that name none (null: UTC)' }),
}).openapi('User');
export const SessionSchema = z.object({ token: z.string(), user: UserSchema }).openapi('Session');

export const PersonaSchema = z.object({ soul: z.string(), agents: z.string(), tools: z.string(), user: z.string(), instructions: z.string() }).openapi('Persona');
export const AgentSchema = z.object({
  id: z.string(), slug: z.string(), name: z.string(), description: z.string(), icon: z.string(),
  persona: PersonaSchema, model: z.string().nullable(), fallbackModel: z.string().nullable(), temperature: z.number(),
  status: z.enum(['active', 'paused', 'provisioning', 'failed', 'deleted']), listed: z.boolean(), ownerId: z.string(), version: z.number(),
  siteUrl: z.string().nullable(), stack: z.object({ generator: z.string().nullable(), frameworks: z.array(z.string()), host: z.string().nullable(), server: z.string().nullable(), title: z.string().nullable() }).nullable(),
  pausedReason: z.enum(['operator', 'customer', 'billing']).nullable(),
  ownerChat: z.object({ channel: z.literal('telegram'), linked: z.boolean(), name: z.string().optional() }).optional()
    .openapi({ description: "The owner's Telegram chat with the agent (linked through POST /api/agents/:id/owner-link); shown on GET /api/agents/:id" }),
  tools: z.object({
    allow: z.array(z.string()), deny: z.array(z.string()), requireApproval: z.array(z.string()),
    effective: z.array(z.string()).openapi({ description: 'The tools offered to the model: allow minus deny, within the plan and what this installation can run' }),
    unavailable: z.array(z.object({ name: z.string(), reason: z.string() })), default: z.boolean(),
    catalog: z.array(z.object({ name: z.string(), available: z.boolean(), reason: z.string().nullable(), mode: z.string().nullable().openapi({ description: 'How the tool runs on this installation when that matters (exec: whether each command is bounded by its own cgroup or by per-process limits)' }) })).openapi({ description: 'Every tool, allowed or not, and whether it could run for this agent on this installation' }),
  }),
  plugins: z.array(z.object({
    name: z.string(), description: z.string(), parameters: z.record(z.string(), z.unknown()), method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']), url: z.string(),
    headers: z.record(z.string(), z.string()), body: z.string().nullable(), responsePath: z.string().nullable(), secrets: z.array(z.string()),
  })),
  sessionTimeoutMinutes: z.number(), contextTokenBudget: z.number(), memoryTools: z.boolean(), sharedNotes: z.boolean(),
  monthlyBudgetUsd: z.number().nullable(), downgradeAtPercent: z.number(), stopAtPercent: z.number(), budgetStopMessage: z.string().nullable(),
  personDailyMessages: z.number().nullable(), personDailyCostUsd: z.number().nullable(), maxOutputTokens: z.number(),
  handoff: z.object({
    autoReleaseMinutes: z.number(), releaseMessage: z.string(), requestedMessage: z.string(), triggers: z.array(z.string()), pauseWhileWaiting: z.boolean(),
    notifyTelegramChatId: z.string().nullable().openapi({ description: "The owner's Telegram chat the agent's own bot tells when a person is asked for (null: not on Telegram)" }),
  }).openapi({ description: 'When a person steps in (issue 15): automatic hand-back after this many quiet minutes (0: never), what the person is told on hand-back and when a person is asked for, the phrases that ask for one, and whether the agent stays quiet meanwhile' }),
  site: z.object({
    url: z.string().nullable().openapi({ description: "The URL the uptime check watches (null: the agent's siteUrl)" }),
    checkIntervalMinutes: z.number(), alerts: z.boolean(),
  }).openapi({ description: 'The site watch (issue 17): what is checked, how often, and whether up/down changes alert the owner' }),
  voice: z.object({ reply: z.enum(['off', 'when-spoken-to', 'always']), voice: z.string() }).openapi({ description: 'Spoken replies (issue 16): off, when-spoken-to (a voice message is answered with audio too) or always, and the text-to-speech voice' }),
  knowledge: z.object({ autoContext: z.boolean() }).openapi({ description: 'The knowledge base (issue 18): autoContext puts the best passages for each message into the prompt without a tool call' }),
  capabilities: z.object({ transcription: z.boolean(), speech: z.boolean(), vision: z.boolean() }).optional().openapi({ description: 'What this installation can do for the agent: hear voice messages (SWITCHBOARD_STT_MODEL), speak replies (SWITCHBOARD_TTS_MODEL), look at images (its model accepts images). In GET /api/agents/{id}.' }),
  createdAt: z.string(), updatedAt: z.string(),
  notes: z.array(z.string()).optional().describe('Only when created from a template: what the template asked for that this installation could not give, e.g. a fallback model its provider does not serve (left empty)'),
  channels: z.object({
    telegram: z.object({ username: z.string(), link: z.string(), mode: z.enum(['webhook', 'polling']), lastInboundAt: z.string().nullable(), lastOutboundAt: z.string().nullable(), lastError: z.string().nullable(), lastErrorAt: z.string().nullable(), connectedAt: z.string() }).nullable(),
  }),
}).openapi('Agent');

/** Who wrote a message: the person talking, the agent, or a person of the operator's side replying by hand (with the name they go by). */
export const MessageAuthorSchema = z.object({
  type: z.enum(['agent', 'human', 'person']),
  userId: z.string().optional().openapi({ description: 'The user who wrote a human reply (dashboard only; never shown to the person)' }),
  name: z.string().optional().openapi({ description: "A human reply's author as the person sees them: the user's name, else the local part of their e-mail" }),
}).openapi('MessageAuthor');
/** A voice note or image a message carries (served by GET /api/media/:mediaId). */
export const MessageMediaSchema = z.object({
  mediaId: z.string(), kind: z.enum(['audio', 'image']), mimeType: z.string(),
  transcript: z.string().optional().openapi({ description: 'What was heard in an audio file, when it was transcribed' }),
}).openapi('MessageMedia');

export const MessageSchema = z.object({
  id: z.string(), role: z.enum(['user', 'assistant']), content: z.string(), status: z.enum(['complete', 'error']), createdAt: z.string(),
  channel: z.string().nullable().optional(),
  author: MessageAuthorSchema,
  media: z.array(MessageMediaSchema).optional().openapi({ description: 'Voice notes and images attached to the message (in a transcript: always present, possibly empty)' }),
}).openapi('Message');

export const TotalsSchema = z.object({ requests: z.number(), inputTokens: z.number(), outputTokens: z.number(), costUsd: z.number() });

export const ProviderSchema = z.object({
  name: z.string(), kind: z.enum(['openai', 'anthropic', 'openai-compatible']), models: z.array(z.string()),
  baseUrl: z.string().nullable().optional().describe('Operators only: left out for customers'),
  hasKey: z.boolean().optional().describe('Operators only: left out for customers'),
  source: z.enum(['env', 'settings']).optional().describe('Operators only: left out for customers'),
  effectiveBaseUrl: z.string().optional().describe('Operators only: the address calls go to (the built-in one when baseUrl is null)'),
  servedModels: z.array(z.string()).nullable().optional().describe('Operators only: the models the provider said it serves (GET {baseUrl}/models, kept 10 minutes), null when it could not be asked'),
  sources: z.object({
    baseUrl: z.enum(['env', 'dashboard', 'default']),
    apiKey: z.enum(['env', 'dashboard', 'none']),
    models: z.enum(['provider', 'dashboard', 'default']).describe('provider: its own answer; dashboard: the list typed in; default: the price table, as the provider could not be asked'),
  }).optional().describe('Operators only: where each setting comes from (the environment, the dashboard, or the built-in default)'),
}).openapi('Provider');

/**
 * A day in a query string: `2026-01-31`, or an ISO timestamp whose date part is taken. It must be a
 * real calendar day (the pattern alone would let 2026-13-01 or 2026-02-30 through).
 */
export const DayParam = z.string()
  .regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/, 'must be a date like 2026-01-31 (or an ISO timestamp)')
  .refine((d) => { const x = d.slice(0, 10); const t = Date.parse(`${x}T00:00:00Z`); return !Number.isNaN(t) && new Date(t).toISOString().startsWith(x) && (d.length === 10 || !Number.isNaN(Date.parse(d))); }, 'must be a real calendar date')
  .transform((d) => d.length === 10 ? d : new Date(d).toISOString().slice(0, 10))
  .openapi({ type: 'string', example: '2026-01-31' });

/** A person's message (web chat, message API): text, uploaded files (POST …/media), or both. */
export const ChatFields = z.strictObject({
  text: z.string().optional().openapi({ description: 'At most the installation\'s message limit (GET /api/meta → limits.message); longer is 400 message_too_long. May be empty or left out when mediaIds are given (a caption, or nothing).' }),
  mediaIds: z.array(z.string().min(1).max(100)).max(10, 'at most 10 files in one message').optional().openapi({ description: 'Voice notes and images uploaded by the same person to the same agent (POST …/media), not yet sent: audio is transcribed (the stream\'s start event carries `transcript`), images are shown to models that accept them' }),
});
export const textOrMedia = (b: { text?: string; mediaIds?: string[] }) => !!b.text?.length || !!b.mediaIds?.length;
export const IdParam = z.object({ id: z.string().min(1).max(100) });

/** A JSON request body that must be present and must be JSON. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({ body: { required: true, content: { 'application/json': { schema } } } });
export const ok = <T extends z.ZodType>(schema: T, description = 'OK') => ({ content: { 'application/json': { schema } }, description });
export const noContent = { 204: { description: 'Done; no content' } };
export const errorResponses = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ok(ErrorSchema, 'Error')]));

/** One person as every list and page shows them (services/people.ts): the id actions take, one label, their channel identities. */
export const PersonSchema = z.object({
  id: z.string().openapi({ description: 'The person id: what "Delete data" and the person filters take' }),
  label: z.string().openapi({ description: 'A display name when known, else a short stable label derived from the id, e.g. "Visitor 7F3K"' }),
  identities: z.array(z.object({ kind: z.string(), externalId: z.string() })).openapi({ description: 'The channel identities that count as this person (web visitor, phone, Telegram user, API user)' }),
}).openapi('Person');

export const SummarySchema = z.object({
  id: z.string(), conversationId: z.string(), userId: z.string().openapi({ description: "The person's identity as the caller knows it: phone number, Telegram user, API userId or web visitor id" }),
  personId: z.string(), agentId: z.string(), summary: z.string(), startedAt: z.string(), endedAt: z.string(), channel: z.string(),
  messageCount: z.number(), model: z.string(), inputTokens: z.number(), outputTokens: z.number(), costUsd: z.number(), createdAt: z.string(),
  score: z.number().optional(),
}).openapi('Summary');

const StackSchema = z.object({ generator: z.string().nullable(), frameworks: z.array(z.string()), host: z.string().nullable(), server: z.string().nullable(), title: z.string().nullable() });
export const ProvisioningStatusSchema = z.object({
  agentId: z.string(),
  status: z.enum(['active', 'paused', 'provisioning', 'failed', 'deleted']),
  steps: z.array(z.object({
    name: z.enum(['validate_token', 'check_site', 'generate_workspace', 'index_site', 'bind_telegram', 'health_check']),
    state: z.enum(['pending', 'running', 'done', 'failed', 'skipped']),
    detail: z.string().openapi({ description: "A sentence: the bot's @username, the stack found, or why the step failed" }),
    updatedAt: z.string().nullable(),
  })).openapi({ description: 'In the order they run; empty for an agent that was never provisioned' }),
  error: z.string().optional().openapi({ description: 'Why the setup failed (status "failed" only)' }),
  failedStep: z.string().optional(),
  telegram: z.object({ username: z.string(), link: z.string() }).optional().openapi({ description: 'The bound bot and its t.me link' }),
  siteUrl: z.string().nullable(), stack: StackSchema.nullable(),
  attempts: z.number(), startedAt: z.string().nullable(), finishedAt: z.string().nullable(),
}).openapi('ProvisioningStatus');

export const AgentConfigSchema = z.object({
  soul: z.string().openapi({ description: 'SOUL.md' }), agents: z.string().openapi({ description: 'AGENTS.md' }),
  tools: z.string().openapi({ description: 'TOOLS.md' }), user: z.string().openapi({ description: 'USER.md' }),
  instructions: z.string().openapi({ description: 'Custom instructions' }), siteUrl: z.string().nullable(), version: z.number(),
}).openapi('AgentConfig');
