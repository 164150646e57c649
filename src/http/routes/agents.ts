import { createRoute, z } from '@hono/zod-openapi';
import { configPatchSchema, createAgentSchema, patchAgentSchema, personaPatchSchema, LIMITS } from '../../domain/schemas.js';
import { errors } from '../../domain/errors.js';
import { authorize } from '../../services/access.js';
import type { AgentService } from '../../services/agents.js';
import type { ProvisioningService } from '../../services/provisioning.js';
import type { ConversationService } from '../../services/conversations.js';
import { router } from '../router.js';
import { jsonBody, ok, noContent, errorResponses, AgentConfigSchema, AgentSchema, IdParam, MessageSchema, PersonSchema, ProvisioningStatusSchema, ChatFields, textOrMedia } from '../schemas.js';

const tags = ['Agents'];
const TemplateDoc = z.record(z.string(), z.unknown()).openapi('AgentTemplate', { description: 'A template document: {switchboardTemplate:1, name, description, icon, model, fallbackModel, temperature, listed, persona, placeholders}' });

/** Agents, their provisioning, workspace configuration and conversations. */
export function agentRoutes(deps: { agents: AgentService; provisioning: ProvisioningService; conversations: ConversationService }) {
  const { agents, provisioning, conversations } = deps;
  const app = router();

  app.openapi(createRoute({ method: 'get', path: '/api/templates', tags, summary: 'Agent templates shipped with Switchboard',
    responses: { 200: ok(z.object({ templates: z.array(z.object({ id: z.string(), name: z.string(), description: z.string().openapi({ description: 'What the template does, in plain words (never a placeholder)' }), icon: z.string(), model: z.string().nullable(), placeholders: z.record(z.string(), z.object({ description: z.string(), required: z.boolean(), default: z.string().optional() })) })) })), ...errorResponses(401) } }),
  (c) => {
    authorize(c.get('actor'), 'session.read');
    return c.json({ templates: agents.templates() }, 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/agents', tags, summary: 'List the agents you can see',
    responses: { 200: ok(z.object({ agents: z.array(AgentSchema) })), ...errorResponses(401) } }),
  async (c) => c.json({ agents: await agents.list(authorize(c.get('actor'), 'agent.read')) }, 200));

  app.openapi(createRoute({ method: 'post', path: '/api/agents', tags,
    summary: 'Create an agent (blank or from a template). With `siteUrl` or `telegramBotToken` it is provisioned: 202, status "provisioning"; follow GET /api/agents/{id}/status.',
    request: jsonBody(createAgentSchema),
    responses: { 201: ok(AgentSchema, 'Created, active'), 202: ok(AgentSchema, 'Created; the provisioning pipeline runs in the background'), ...errorResponses(400, 401, 403, 409) } }),
  async (c) => {
    const agent = await agents.create(authorize(c.get('actor'), 'agent.create'), c.req.valid('json'));
    return c.json(agent, agent.status === 'provisioning' ? 202 : 201);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/agents/import', tags, summary: 'Import an agent from a template document',
    request: jsonBody(TemplateDoc), responses: { 201: ok(AgentSchema), ...errorResponses(400, 401, 403, 409) } }),
  async (c) => c.json(await agents.importTemplate(authorize(c.get('actor'), 'agent.create'), c.req.valid('json')), 201));

  app.openapi(createRoute({ method: 'post', path: '/api/agents/preview-prompt', tags, summary: 'Compose the system prompt for a persona (live preview)',
    request: jsonBody(z.strictObject({ name: z.string().max(LIMITS.name), description: z.string().max(LIMITS.description).optional(), persona: personaPatchSchema.optional() })),
    responses: { 200: ok(z.object({ systemPrompt: z.string(), tokens: z.number() })), ...errorResponses(400, 401) } }),
  (c) => {
    authorize(c.get('actor'), 'session.read');
    return c.json(agents.previewPrompt(c.req.valid('json')), 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}', tags, summary: 'One agent',
    request: { params: IdParam }, responses: { 200: ok(AgentSchema), ...errorResponses(401, 404) } }),
  async (c) => {
    const a = await agents.get(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id);
    return c.json({ ...a, capabilities: await conversations.capabilities(a as never) }, 200);
  });

  app.openapi(createRoute({ method: 'patch', path: '/api/agents/{id}', tags,
    summary: 'Edit an agent. Send `version` (or If-Match) to refuse stale edits with 409.',
    request: { params: IdParam, ...jsonBody(patchAgentSchema), headers: z.object({ 'if-match': z.string().optional() }) },
    responses: { 200: ok(AgentSchema), ...errorResponses(400, 401, 403, 404, 409) } }),
  async (c) => {
    const ifMatch = c.req.valid('header')['if-match'];
    const v = ifMatch ? Number(ifMatch.replace(/^W\//, '').replace(/"/g, '')) : undefined;
    if (v !== undefined && !Number.isInteger(v)) throw errors.validation([{ path: 'If-Match', message: 'must be the agent version, e.g. "3"' }]);
    return c.json(await agents.update(authorize(c.get('actor'), 'agent.write'), c.req.valid('param').id, c.req.valid('json'), v), 200);
  });

  app.openapi(createRoute({ method: 'delete', path: '/api/agents/{id}', tags,
    summary: 'Deprovision an agent: its Telegram bot is unbound and the token forgotten, its slug freed, its status becomes "deleted". Conversations are kept unless `purge=true`.',
    request: { params: IdParam, query: z.object({ purge: z.enum(['true', 'false', '1', '0']).optional().openapi({ description: 'Also delete its conversations (messages, summaries) and notes' }) }) },
    responses: { ...noContent, ...errorResponses(400, 401, 403, 404) } }),
  async (c) => {
    const purge = c.req.valid('query').purge;
    await agents.remove(authorize(c.get('actor'), 'agent.write'), c.req.valid('param').id, { purge: purge === 'true' || purge === '1' });
    return c.body(null, 204);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/status', tags, summary: 'Provisioning status: each step with its state and a sentence, the t.me link once bound',
    request: { params: IdParam }, responses: { 200: ok(ProvisioningStatusSchema), ...errorResponses(401, 404) } }),
  async (c) => c.json(await provisioning.status(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id), 200));

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/retry', tags, summary: 'Run a failed provisioning again, from the step that failed',
    request: { params: IdParam }, responses: { 202: ok(ProvisioningStatusSchema), ...errorResponses(400, 401, 403, 404, 409) } }),
  async (c) => c.json(await provisioning.retry(authorize(c.get('actor'), 'agent.write'), c.req.valid('param').id), 202));

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/config', tags, summary: 'The workspace files: SOUL.md, AGENTS.md, TOOLS.md, USER.md and custom instructions',
    request: { params: IdParam }, responses: { 200: ok(AgentConfigSchema), ...errorResponses(401, 404) } }),
  async (c) => c.json(await agents.getConfig(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id), 200));

  app.openapi(createRoute({ method: 'patch', path: '/api/agents/{id}/config', tags, summary: 'Edit workspace files; bumps the agent version. Send `version` to refuse stale edits with 409.',
    request: { params: IdParam, ...jsonBody(configPatchSchema) }, responses: { 200: ok(AgentConfigSchema), ...errorResponses(400, 401, 403, 404, 409) } }),
  async (c) => c.json(await agents.updateConfig(authorize(c.get('actor'), 'agent.write'), c.req.valid('param').id, c.req.valid('json')), 200));

  for (const [action, status] of [['pause', 'paused'], ['resume', 'active']] as const) {
    app.openapi(createRoute({ method: 'post', path: `/api/agents/{id}/${action}`, tags, summary: `${action === 'pause' ? 'Pause' : 'Resume'} an agent`,
      request: { params: IdParam }, responses: { 200: ok(AgentSchema), ...errorResponses(401, 403, 404, 409) } }),
    async (c) => c.json(await agents.setStatus(authorize(c.get('actor'), 'agent.write'), c.req.valid('param').id, status), 200));
  }

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/duplicate', tags, summary: 'Copy an agent (unlisted)',
    request: { params: IdParam, body: { required: false, content: { 'application/json': { schema: z.strictObject({ name: z.string().trim().min(1).max(LIMITS.name).optional() }) } } } },
    responses: { 201: ok(AgentSchema), ...errorResponses(400, 401, 403, 404) } }),
  async (c) => {
    const body = (c.req.valid('json') ?? {}) as { name?: string };
    return c.json(await agents.duplicate(authorize(c.get('actor'), 'agent.write'), c.req.valid('param').id, body.name), 201);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/export', tags, summary: 'Export an agent as a template document',
    request: { params: IdParam }, responses: { 200: ok(TemplateDoc), ...errorResponses(401, 404) } }),
  async (c) => {
    const t = await agents.exportTemplate(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id);
    c.header('Content-Disposition', `attachment; filename="${t.id}.switchboard.json"`);
    return c.json(t as Record<string, unknown>, 200);
  });

  // ----- conversations -----
  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/conversations', tags: ['Conversations'], summary: "An agent's recent conversations",
    request: { params: IdParam },
    responses: { 200: ok(z.object({ conversations: z.array(z.object({ id: z.string(), channel: z.string(), personId: z.string(), person: PersonSchema, messageCount: z.number(), lastMessageAt: z.string(), createdAt: z.string(), closedAt: z.string().nullable(), closedReason: z.string().nullable(), summaryStatus: z.string(), downgraded: z.boolean() })) })), ...errorResponses(401, 404) } }),
  async (c) => {
    const actor = authorize(c.get('actor'), 'agent.read');
    return c.json({ conversations: await conversations.listForAgent(actor, c.req.valid('param').id) }, 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/history', tags: ['Conversations'], summary: "The agent's latest messages across all conversations and channels",
    request: { params: IdParam, query: z.object({ limit: z.coerce.number().int().min(1).max(500).optional() }) },
    responses: { 200: ok(z.object({ messages: z.array(MessageSchema.extend({ channel: z.string(), conversationId: z.string(), personId: z.string(), person: PersonSchema, error: z.string().nullable() })) })), ...errorResponses(401, 404) } }),
  async (c) => {
    const actor = authorize(c.get('actor'), 'agent.read');
    // A deleted agent's kept history stays readable.
    return c.json({ messages: await conversations.recentMessages(actor, c.req.valid('param').id, c.req.valid('query').limit ?? 100) }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/message', tags: ['Conversations'],
    summary: 'Send a message to an agent and get the whole reply. `userId` names the person (any string), so a harness can speak as several people.',
    request: { params: IdParam, ...jsonBody(ChatFields.extend({ userId: z.string().min(1).max(200).optional() }).refine(textOrMedia, { path: ['text'], message: 'must not be empty (or send mediaIds)' })) },
    responses: { 200: ok(z.object({
      reply: z.string(), conversationId: z.string(), messageId: z.string().openapi({ description: "The reply's message id (for POST /api/agents/{id}/messages/{messageId}/speech)" }),
      usage: z.object({ inputTokens: z.number(), outputTokens: z.number(), costUsd: z.number() }),
      transcript: z.string().optional().openapi({ description: 'What was heard in the voice message (it is the stored message text)' }),
      voice: z.object({ mediaId: z.string(), mimeType: z.string() }).optional().openapi({ description: "The reply spoken (the agent's voice.reply), served by GET /api/media/{mediaId}" }),
    })), ...errorResponses(400, 401, 403, 404, 409, 502, 503, 504) } }),
  async (c) => {
    const actor = authorize(c.get('actor'), 'agent.message');
    // Through the inbox: a reply cut off by a crash is finished by a worker and appears in the history.
    return c.json(await conversations.message(actor, c.req.valid('param').id, c.req.valid('json')), 200);
  });

  return app;
}
