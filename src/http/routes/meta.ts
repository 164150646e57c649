import { createRoute, z } from '@hono/zod-openapi';
import { router } from '../router.js';
import { ok } from '../schemas.js';
import { AGENT_DEFAULTS, LIMITS, createAgentSchema } from '../../domain/schemas.js';
import { BUILTIN_TOOLS, TOOL_GROUPS } from '../../tools/policy.js';
import { PLAN_TOOLS } from '../../services/billing.js';
import { defaultStopMessage } from '../../services/budget.js';
import type { SettingsService } from '../../services/settings.js';

const RangeSchema = z.object({ min: z.number(), max: z.number() });
const MetaSchema = z.object({
  limits: z.object({
    message: z.number().openapi({ description: "Characters in one person message, on every way in (the installation's setting; SWITCHBOARD_MAX_MESSAGE_CHARS by default)" }),
    name: z.number(), description: z.number(), icon: z.number(),
    personaFile: z.number().openapi({ description: 'Characters in SOUL.md, AGENTS.md, TOOLS.md or USER.md' }),
    instructions: z.number(),
    sessionTimeoutMinutes: RangeSchema, contextTokenBudget: RangeSchema,
    downgradeAtPercent: RangeSchema, stopAtPercent: RangeSchema, maxOutputTokens: RangeSchema,
    budgetStopMessage: z.number().openapi({ description: "Characters in an agent's own budget stop message" }),
  }),
  defaults: z.object({
    sessionTimeoutMinutes: z.number(), contextTokenBudget: z.number(), memoryTools: z.boolean(),
    downgradeAtPercent: z.number(), stopAtPercent: z.number(), maxOutputTokens: z.number(),
  }).openapi({ description: 'What a new agent gets for each setting left out' }),
  budgetStopMessage: z.string().openapi({ description: 'What people are told once a budget is spent when the agent has no message of its own; {agent} stands for its name' }),
  tools: z.object({
    builtin: z.array(z.string()).openapi({ description: 'The built-in tools, in the order agents list them' }),
    groups: z.record(z.string(), z.array(z.string())).openapi({ description: 'Names a tool policy may use for several tools; group:plugins (every HTTP plugin of the agent) is not listed' }),
    plan: z.array(z.enum(PLAN_TOOLS)).openapi({ description: 'The tool names a plan may include' }),
  }),
}).openapi('Meta');
type Meta = z.infer<typeof MetaSchema>;

/** min and max of a number field of the agent schema (optional, maybe nullable). */
function range(key: 'sessionTimeoutMinutes' | 'contextTokenBudget' | 'downgradeAtPercent' | 'stopAtPercent' | 'maxOutputTokens') {
  const field = createAgentSchema.shape[key].unwrap();
  return { min: field.minValue ?? 0, max: field.maxValue ?? Number.MAX_SAFE_INTEGER };
}

/** Built once: everything here comes from the schemas and tables the server itself enforces. */
function buildMeta(): Meta {
  return {
    limits: {
      ...LIMITS, message: 0, // the installation's setting, read per request
      sessionTimeoutMinutes: range('sessionTimeoutMinutes'), contextTokenBudget: range('contextTokenBudget'),
      downgradeAtPercent: range('downgradeAtPercent'), stopAtPercent: range('stopAtPercent'), maxOutputTokens: range('maxOutputTokens'),
      budgetStopMessage: createAgentSchema.shape.budgetStopMessage.unwrap().unwrap().maxLength ?? 0,
    },
    defaults: {
      sessionTimeoutMinutes: AGENT_DEFAULTS.sessionTimeoutMinutes, contextTokenBudget: AGENT_DEFAULTS.contextTokenBudget, memoryTools: AGENT_DEFAULTS.memoryTools,
      downgradeAtPercent: AGENT_DEFAULTS.downgradeAtPercent, stopAtPercent: AGENT_DEFAULTS.stopAtPercent, maxOutputTokens: AGENT_DEFAULTS.maxOutputTokens,
    },
    budgetStopMessage: defaultStopMessage({ name: '{agent}' }),
    tools: {
      builtin: [...BUILTIN_TOOLS],
      groups: Object.fromEntries(Object.entries(TOOL_GROUPS).map(([k, v]) => [k, [...v]])),
      plan: [...PLAN_TOOLS],
    },
  };
}

/** GET /api/meta: the limits, defaults and tool catalog the web app shows, so it copies none of them. */
export function metaRoutes(deps: { settings: Pick<SettingsService, 'maxMessageChars'> }) {
  const app = router();
  const meta = buildMeta();
  app.openapi(createRoute({ method: 'get', path: '/api/meta', tags: ['Meta'], summary: 'Limits, defaults and the tool catalog (no login)',
    responses: { 200: ok(MetaSchema) } }),
  async (c) => c.json({ ...meta, limits: { ...meta.limits, message: await deps.settings.maxMessageChars() } }, 200));
  return app;
}
