import { createRoute, z } from '@hono/zod-openapi';
import { MESSAGE_CHARS_RANGE, modelSchema } from '../../domain/schemas.js';
import { authorize } from '../../services/access.js';
import type { ProviderService } from '../../services/providers.js';
import type { PriceService } from '../../services/prices.js';
import type { SettingsService } from '../../services/settings.js';
import type { UsageService } from '../../services/usage.js';
import { router } from '../router.js';
import { jsonBody, ok, noContent, errorResponses, DayParam, ProviderSchema, TotalsSchema } from '../schemas.js';

const NameParam = z.object({ name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be lowercase letters, digits, - or _') });
const ModelParam = z.object({ model: modelSchema });
const PriceBody = z.strictObject({ inputPerM: z.number().min(0).max(10_000), outputPerM: z.number().min(0).max(10_000), cachedInputPerM: z.number().min(0).max(10_000).optional(),
  perMinute: z.number().min(0).max(100).optional().openapi({ description: 'Speech to text: USD per minute of audio' }), perMChars: z.number().min(0).max(10_000).optional().openapi({ description: 'Text to speech: USD per million characters' }),
  vision: z.boolean().optional().openapi({ description: 'The model accepts images: photos a person sends are shown to it' }) });
const DefaultModelSource = z.enum(['env', 'dashboard', 'default']).nullable().describe('Where the default model comes from: SWITCHBOARD_DEFAULT_MODEL, the dashboard, or the built-in choice (null: none)');
const baseUrl = z.url().max(500).refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');

/** Model providers, prices, instance settings and usage reports. */
export function providerRoutes(deps: { providers: ProviderService; prices: PriceService; settings: SettingsService; usage: UsageService }) {
  const { providers, prices, settings, usage } = deps;
  const app = router();
  const tags = ['Providers and prices'];

  app.openapi(createRoute({ method: 'get', path: '/api/providers', tags, summary: 'Model providers (keys are never returned; a customer sees only names, kinds and models)',
    responses: { 200: ok(z.object({ configured: z.boolean(), defaultModel: z.string().nullable(), defaultModelSource: DefaultModelSource, providers: z.array(ProviderSchema) })), ...errorResponses(401) } }),
  async (c) => {
    return c.json(await providers.list(authorize(c.get('actor'), 'session.read')), 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/providers', tags, summary: 'Add a provider: OpenAI, Anthropic, or any OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp)',
    request: jsonBody(z.strictObject({ name: NameParam.shape.name, kind: z.enum(['openai', 'anthropic', 'openai-compatible']), baseUrl: baseUrl.nullable().optional(), apiKey: z.string().max(500).nullable().optional(), models: z.array(z.string().min(1).max(200)).max(200).optional() })),
    responses: { 201: ok(ProviderSchema), ...errorResponses(400, 401, 403, 409) } }),
  async (c) => {
    return c.json(await providers.create(authorize(c.get('actor'), 'provider.write'), c.req.valid('json')), 201);
  });

  app.openapi(createRoute({ method: 'patch', path: '/api/providers/{name}', tags, summary: 'Change a provider',
    request: { params: NameParam, ...jsonBody(z.strictObject({ baseUrl: baseUrl.nullable().optional(), apiKey: z.string().max(500).nullable().optional(), models: z.array(z.string().min(1).max(200)).max(200).optional() })) },
    responses: { 200: ok(ProviderSchema), ...errorResponses(400, 401, 403, 404, 409) } }),
  async (c) => {
    return c.json(await providers.update(authorize(c.get('actor'), 'provider.write'), c.req.valid('param').name, c.req.valid('json')), 200);
  });

  app.openapi(createRoute({ method: 'delete', path: '/api/providers/{name}', tags, summary: 'Remove a provider',
    request: { params: NameParam }, responses: { ...noContent, ...errorResponses(401, 403, 404, 409) } }),
  async (c) => {
    await providers.remove(authorize(c.get('actor'), 'provider.write'), c.req.valid('param').name);
    return c.body(null, 204);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/models', tags, summary: 'Models to choose from, with prices: what each configured provider serves (asked of the provider, kept 10 minutes)',
    responses: { 200: ok(z.object({ defaultModel: z.string().nullable(), defaultModelSource: DefaultModelSource, models: z.array(z.object({
      id: z.string(), provider: z.string(), model: z.string(), available: z.boolean().describe('its provider is configured (and, when it can be asked, serves it)'),
      source: z.enum(['provider', 'dashboard', 'default']).describe("provider: the provider's own list; dashboard: the operator's list; default: the price table"),
      priced: z.boolean(), inputPerM: z.number(), outputPerM: z.number(),
    })) })), ...errorResponses(401) } }),
  async (c) => {
    authorize(c.get('actor'), 'session.read');
    return c.json(await providers.models(), 200);
  });

  const PriceRow = z.object({ model: z.string(), inputPerM: z.number(), outputPerM: z.number(), cachedInputPerM: z.number().optional(), perMinute: z.number().optional(), perMChars: z.number().optional(), vision: z.boolean().optional(), source: z.enum(['table', 'override']) });
  app.openapi(createRoute({ method: 'get', path: '/api/prices', tags, summary: 'The price table (USD per million tokens) with overrides',
    responses: { 200: ok(z.object({ checkedAt: z.string(), defaultPrice: PriceBody, prices: z.array(PriceRow) })), ...errorResponses(401) } }),
  async (c) => {
    authorize(c.get('actor'), 'session.read');
    return c.json({ checkedAt: prices.checkedAt, ...(await prices.list()) }, 200);
  });

  app.openapi(createRoute({ method: 'put', path: '/api/prices/{model}', tags, summary: "Override a model's price",
    request: { params: ModelParam, ...jsonBody(PriceBody) }, responses: { 200: ok(PriceRow), ...errorResponses(400, 401, 403) } }),
  async (c) => {
    return c.json(await settings.setPrice(authorize(c.get('actor'), 'settings.write'), c.req.valid('param').model, c.req.valid('json')), 200);
  });

  app.openapi(createRoute({ method: 'delete', path: '/api/prices/{model}', tags, summary: "Drop a model's price override",
    request: { params: ModelParam }, responses: { ...noContent, ...errorResponses(401, 403) } }),
  async (c) => {
    await settings.clearPrice(authorize(c.get('actor'), 'settings.write'), c.req.valid('param').model);
    return c.body(null, 204);
  });

  // ----- instance settings -----
  const Settings = z.object({
    defaultModel: z.string().nullable(), defaultModelFromEnv: z.boolean(), defaultPrice: PriceBody,
    signup: z.boolean().openapi({ description: 'Whether anyone may create a customer account (the customer platform is on)' }),
    signupFromEnv: z.boolean().openapi({ description: 'Whether SWITCHBOARD_SIGNUP decides sign-up (then the dashboard switch waits until it is removed)' }),
    customerPlatform: z.boolean().openapi({ description: 'Whether the customer pages (Customers, Plans) matter: sign-up is open or a customer exists' }),
    maxMessageChars: z.number().openapi({ description: 'Characters one person message may have, on every way in' }),
    maxMessageCharsSource: z.enum(['settings', 'default']).openapi({ description: 'settings: set here; default: SWITCHBOARD_MAX_MESSAGE_CHARS (or 16000)' }),
    maxMessageCharsDefault: z.number().openapi({ description: 'The limit when none is set here (SWITCHBOARD_MAX_MESSAGE_CHARS)' }),
  });
  app.openapi(createRoute({ method: 'get', path: '/api/settings', tags, summary: 'Instance settings: default model, price for unknown models, self sign-up, message length limit',
    responses: { 200: ok(Settings), ...errorResponses(401) } }),
  async (c) => {
    authorize(c.get('actor'), 'session.read');
    return c.json(await settings.read(), 200);
  });
  app.openapi(createRoute({ method: 'patch', path: '/api/settings', tags, summary: 'Change instance settings (owner, admin)',
    request: jsonBody(z.strictObject({
      defaultModel: modelSchema.nullable().optional(), defaultPrice: PriceBody.optional(), signup: z.boolean().optional(),
      maxMessageChars: z.number().int().min(MESSAGE_CHARS_RANGE.min).max(MESSAGE_CHARS_RANGE.max).nullable().optional()
        .openapi({ description: 'Characters one person message may have (null: back to SWITCHBOARD_MAX_MESSAGE_CHARS)' }),
    })),
    responses: { 200: ok(Settings), ...errorResponses(400, 401, 403) } }),
  async (c) => {
    return c.json(await settings.update(authorize(c.get('actor'), 'settings.write'), c.req.valid('json')), 200);
  });

  // ----- usage -----
  app.openapi(createRoute({ method: 'get', path: '/api/usage', tags: ['Usage'], summary: 'Usage totals, a per-day series, and breakdowns by agent, model and purpose (chat, summary, routing, embedding, preview, transcription, speech…)',
    request: { query: z.object({ agentId: z.string().max(100).optional(), from: DayParam.optional(), to: DayParam.optional() }) },
    responses: { 200: ok(TotalsSchema.extend({
      from: z.string(), to: z.string(), totals: TotalsSchema,
      series: z.array(TotalsSchema.extend({ date: z.string() })),
      byAgent: z.array(TotalsSchema.extend({ agentId: z.string().nullable(), name: z.string() })),
      byModel: z.array(TotalsSchema.extend({ model: z.string() })),
      byPurpose: z.array(TotalsSchema.extend({ purpose: z.string().openapi({ description: 'What the model calls were for: chat, summary, routing, embedding, preview, transcription, speech…' }) })),
    })), ...errorResponses(400, 401, 404) } }),
  async (c) => c.json(await usage.report(authorize(c.get('actor'), 'usage.read'), c.req.valid('query')), 200));

  app.openapi(createRoute({ method: 'get', path: '/api/usage/summary', tags: ['Usage'], summary: 'Per-agent usage today and this month',
    responses: { 200: ok(z.object({ agents: z.array(z.object({ agentId: z.string(), name: z.string(), slug: z.string(), today: TotalsSchema, month: TotalsSchema })) })), ...errorResponses(401) } }),
  async (c) => c.json(await usage.summary(authorize(c.get('actor'), 'usage.read')), 200));

  return app;
}
