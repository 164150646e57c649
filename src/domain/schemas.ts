/** Input schemas shared by services and routes (the OpenAPI document is generated from these). */
import { z } from 'zod';
import type { FieldProblem } from './errors.js';
import { HANDOFF_DEFAULTS, KNOWLEDGE_DEFAULTS, SITE_DEFAULTS, VOICE_DEFAULTS, type PluginDef } from './types.js';

/** Turns zod issues into field problems; unknown keys are named one by one. */
export function zodProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.flatMap((i) => {
    const path = i.path.join('.');
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => ({ path: path ? `${path}.${k}` : k, message: 'is not a known field' }));
    return [{ path, message: i.message }];
  });
}

export const LIMITS = {
  name: 80,
  description: 500,
  icon: 16,
  personaFile: 32_768,
  instructions: 16_384,
} as const;

/**
 * The installation's message-length setting may be set within this range (characters). The upper
 * bound keeps one message well inside the default request-body limit.
 */
export const MESSAGE_CHARS_RANGE = { min: 100, max: 200_000 } as const;

export const slugSchema = z.string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, 'must be 1–64 lowercase letters, digits or dashes, not starting or ending with a dash');
export const modelSchema = z.string().max(200)
  .regex(/^[a-z0-9][a-z0-9_-]*:\S+$/, 'must look like provider:model, e.g. openai:gpt-4o-mini');

export const personaSchema = z.strictObject({
  soul: z.string().max(LIMITS.personaFile).default(''),
  agents: z.string().max(LIMITS.personaFile).default(''),
  tools: z.string().max(LIMITS.personaFile).default(''),
  user: z.string().max(LIMITS.personaFile).default(''),
  instructions: z.string().max(LIMITS.instructions).default(''),
});
export const personaPatchSchema = z.strictObject({
  soul: z.string().max(LIMITS.personaFile).optional(),
  agents: z.string().max(LIMITS.personaFile).optional(),
  tools: z.string().max(LIMITS.personaFile).optional(),
  user: z.string().max(LIMITS.personaFile).optional(),
  instructions: z.string().max(LIMITS.instructions).optional(),
});

const agentFields = {
  name: z.string().trim().min(1, 'is required').max(LIMITS.name),
  slug: slugSchema,
  description: z.string().max(LIMITS.description),
  icon: z.string().max(LIMITS.icon),
  model: modelSchema.nullable(),
  fallbackModel: modelSchema.nullable(),
  temperature: z.number().min(0).max(2),
  listed: z.boolean(),
  status: z.enum(['active', 'paused']),
  sessionTimeoutMinutes: z.number().int('must be a whole number of minutes').min(1).max(10_080),
  contextTokenBudget: z.number().int().min(500).max(200_000),
  memoryTools: z.boolean(),
  sharedNotes: z.boolean().describe("Owner and admin only. On: notes the model writes in anyone's conversation go to the agent's shared MEMORY.md and daily notes, which every person's prompt includes — so any visitor can put text in front of every other visitor, and one person's details can reach another. Off (default): notes stay with the person they were written with (the agent owner's own notes are shared)."),
  monthlyBudgetUsd: z.number().min(0).max(1_000_000).nullable(),
  downgradeAtPercent: z.number().int().min(1).max(100),
  stopAtPercent: z.number().int().min(1).max(1000),
  budgetStopMessage: z.string().trim().max(1000).nullable(),
  personDailyMessages: z.number().int().min(1).max(100_000).nullable(),
  personDailyCostUsd: z.number().min(0).max(100_000).nullable(),
  maxOutputTokens: z.number().int().min(16).max(128_000),
  handoff: z.strictObject({
    autoReleaseMinutes: z.number().int('must be a whole number of minutes').min(0).max(10_080).optional(),
    releaseMessage: z.string().trim().min(1).max(1000).optional(),
    requestedMessage: z.string().trim().min(1).max(1000).optional(),
    triggers: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
    pauseWhileWaiting: z.boolean().optional(),
    notifyTelegramChatId: z.string().trim().regex(/^-?\d{1,20}$/, 'must be a Telegram chat id (digits, e.g. 123456789)').nullable().optional(),
  }).describe('When a person steps in: automatic hand-back after this many quiet minutes (0: never), what the person is told, the phrases that ask for a person, and whether the agent stays quiet while one is awaited. Fields left out keep their value.'),
  site: z.strictObject({
    url: z.string().trim().max(2048).refine((u) => { try { const p = new URL(u); return (p.protocol === 'http:' || p.protocol === 'https:') && !p.username && !p.password; } catch { return false; } }, 'must be an http(s) URL without a user name or password').nullable().optional(),
    checkIntervalMinutes: z.number().int('must be a whole number of minutes').min(1).max(1440).optional(),
    alerts: z.boolean().optional(),
  }).describe("The site watch: the URL checked (null: the agent's siteUrl), minutes between uptime checks (at least the plan's minimum for customers), and whether up/down changes alert the owner. Fields left out keep their value."),
  voice: z.strictObject({
    reply: z.enum(['off', 'when-spoken-to', 'always']).optional(),
    voice: z.string().trim().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a voice name (letters, digits, - or _), e.g. alloy').optional(),
  }).describe('Spoken replies: off (default), when-spoken-to (a voice message is answered with audio as well as text) or always; `voice` is the text-to-speech voice (e.g. alloy). Fields left out keep their value.'),
  knowledge: z.strictObject({
    autoContext: z.boolean().optional(),
  }).describe("The knowledge base: with autoContext on, the best passages for each message (about 1,500 tokens, with titles and URLs) are put into the prompt without a tool call. Fields left out keep their value."),
};
export const AGENT_DEFAULTS = {
  sessionTimeoutMinutes: 30, contextTokenBudget: 8000, memoryTools: true, sharedNotes: false,
  monthlyBudgetUsd: null, downgradeAtPercent: 80, stopAtPercent: 100, budgetStopMessage: null,
  personDailyMessages: null, personDailyCostUsd: null, maxOutputTokens: 2048,
  siteUrl: null, stack: null, pausedReason: null, toolPolicy: null, plugins: [] as PluginDef[], handoff: HANDOFF_DEFAULTS, site: SITE_DEFAULTS, voice: VOICE_DEFAULTS, knowledge: KNOWLEDGE_DEFAULTS,
} as const;

export const templateVarsSchema = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'placeholder names are snake_case'), z.string().max(2000));

/** A customer's website: http(s) only, no credentials. Where it may point (public addresses) is checked when it is fetched. */
export const siteUrlSchema = z.string().trim().max(2048).refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.hostname && !u.username && !u.password;
  } catch { return false; }
}, 'must be an http:// or https:// address without a user name or password, e.g. https://example.com');

export const createAgentSchema = z.strictObject({
  ...Object.fromEntries(Object.entries(agentFields).map(([k, v]) => [k, v.optional()])) as { [K in keyof typeof agentFields]: z.ZodOptional<(typeof agentFields)[K]> },
  name: agentFields.name,
  persona: personaPatchSchema.optional(),
  template: z.string().max(100).optional(),
  templateVars: templateVarsSchema.optional(),
  /** With a site URL or a bot token the agent is provisioned: 202, status "provisioning", steps at GET /api/agents/{id}/status. */
  siteUrl: siteUrlSchema.optional(),
  telegramBotToken: z.string().max(200).optional(),
});
export type CreateAgentInput = z.infer<typeof createAgentSchema>;

const toolNames = z.array(z.string().trim().min(1).max(80)).max(60);
export const toolPolicySchema = z.strictObject({
  allow: toolNames.default([]),
  deny: toolNames.default([]),
  /** Tools whose calls wait for the owner's approval before they run. */
  requireApproval: toolNames.default([]),
});

/** An HTTP plugin as the API takes it (see tools/plugins.ts for what is checked before saving). */
export const pluginInputSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be 1–64 lowercase letters, digits or _, starting with a letter'),
  description: z.string().trim().min(1, 'is required: the model reads it to decide when to call the tool').max(1000),
  parameters: z.record(z.string(), z.unknown()).default({ type: 'object', properties: {} }),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  url: z.string().min(1).max(2000),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'is not a valid header name'), z.string().max(4000)).default({}),
  body: z.string().max(20_000).nullable().default(null),
  responsePath: z.string().regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, 'must be a dot path like data.items').nullable().default(null),
  /** Secret values by name (write-only): omit to keep what is stored, "" to remove one. */
  secrets: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'secret names are letters, digits and _'), z.string().max(4000)).optional(),
});
export type PluginInput = z.infer<typeof pluginInputSchema>;

export const patchAgentSchema = z.strictObject({
  ...Object.fromEntries(Object.entries(agentFields).map(([k, v]) => [k, v.optional()])) as { [K in keyof typeof agentFields]: z.ZodOptional<(typeof agentFields)[K]> },
  persona: personaPatchSchema.optional(),
  version: z.number().int().positive().optional(),
  /** A BotFather token connects the agent's own Telegram bot; an empty string disconnects it. */
  telegramBotToken: z.string().max(200).optional(),
  /** The website the agent manages; on an agent whose provisioning failed, the site check runs again on retry. */
  siteUrl: siteUrlSchema.optional(),
  /** Tool policy: names or groups (group:fs, group:web, group:memory, group:runtime, group:plugins); deny wins. null: the default. */
  tools: toolPolicySchema.nullable().optional(),
  /** HTTP plugins (the whole list; secrets write-only). */
  plugins: z.array(pluginInputSchema).max(20).optional(),
});
export type PatchAgentInput = z.infer<typeof patchAgentSchema>;

/** The workspace files of GET/PATCH /api/agents/{id}/config. */
export const configPatchSchema = personaPatchSchema.extend({
  /** Refuse the edit with 409 when the agent's version is no longer this one. */
  version: z.number().int().positive().optional(),
}).strict();
export type ConfigPatchInput = z.infer<typeof configPatchSchema>;

export const placeholderSchema = z.strictObject({
  description: z.string().max(500).default(''),
  required: z.boolean().default(false),
  default: z.string().max(2000).optional(),
});

/** The portable agent template: shipped in templates/, produced by export, accepted by import. */
export const templateSchema = z.strictObject({
  switchboardTemplate: z.literal(1, { message: 'must be 1 (the template format version)' }),
  id: z.string().max(100).optional(),
  name: z.string().trim().min(1, 'is required').max(LIMITS.name),
  description: z.string().max(LIMITS.description).default(''),
  /** What the template gallery says about it, in plain words; needed when the description has a placeholder without a default. */
  summary: z.string().max(LIMITS.description).optional(),
  icon: z.string().max(LIMITS.icon).default('🤖'),
  model: modelSchema.nullable().optional(),
  fallbackModel: modelSchema.nullable().optional(),
  temperature: z.number().min(0).max(2).default(0.7),
  listed: z.boolean().default(true),
  sessionTimeoutMinutes: agentFields.sessionTimeoutMinutes.optional(),
  contextTokenBudget: agentFields.contextTokenBudget.optional(),
  memoryTools: z.boolean().optional(),
  monthlyBudgetUsd: agentFields.monthlyBudgetUsd.optional(),
  downgradeAtPercent: agentFields.downgradeAtPercent.optional(),
  stopAtPercent: agentFields.stopAtPercent.optional(),
  budgetStopMessage: agentFields.budgetStopMessage.optional(),
  personDailyMessages: agentFields.personDailyMessages.optional(),
  personDailyCostUsd: agentFields.personDailyCostUsd.optional(),
  maxOutputTokens: agentFields.maxOutputTokens.optional(),
  persona: personaSchema,
  placeholders: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'placeholder names are snake_case'), placeholderSchema).default({}),
});
export type AgentTemplate = z.infer<typeof templateSchema>;

export const importAgentSchema = templateSchema.extend({
  templateVars: templateVarsSchema.optional(),
  slug: slugSchema.optional(),
});
