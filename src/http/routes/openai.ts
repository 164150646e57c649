import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { randomUUID } from 'node:crypto';
import { errors, AppError } from '../../domain/errors.js';
import { ProviderError, type ModelMessage } from '../../domain/ports.js';
import { canRead } from '../../services/access.js';
import { composeSystemPrompt } from '../../services/prompt.js';
import { router } from '../router.js';
import { requireActor } from '../middleware/request-context.js';
import { jsonBody, ok, errorResponses } from '../schemas.js';

const tags = ['OpenAI-compatible'];
const Content = z.union([z.string(), z.array(z.object({ type: z.string(), text: z.string().optional() }).loose()), z.null()]);
/** Lenient on purpose: OpenAI clients send many optional fields; the ones we do not use are ignored. */
const ChatRequest = z.object({
  model: z.string().min(1).max(200),
  messages: z.array(z.object({ role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']), content: Content.optional() }).loose()).min(1).max(500),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
}).loose();

const text = (c: z.infer<typeof Content> | undefined) =>
  typeof c === 'string' ? c : Array.isArray(c) ? c.filter((p) => p.type === 'text').map((p) => p.text ?? '').join('') : '';

export function openaiRoutes() {
  const app = router();

  app.openapi(createRoute({ method: 'get', path: '/v1/models', tags, summary: 'Agents as models (id = agent slug)',
    responses: { 200: ok(z.object({ object: z.literal('list'), data: z.array(z.object({ id: z.string(), object: z.literal('model'), created: z.number(), owned_by: z.string() })) })), ...errorResponses(401) } }),
  async (c) => {
    const agents = await c.get('services').agents.list(requireActor(c));
    return c.json({ object: 'list' as const, data: agents.filter((a) => a.status === 'active').map((a) => ({ id: a.slug, object: 'model' as const, created: Math.floor(Date.parse(a.createdAt) / 1000), owned_by: 'switchboard' })) }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/v1/chat/completions', tags,
    summary: "Chat with an agent through any OpenAI client; `model` is the agent's slug and its persona is applied server-side",
    request: jsonBody(ChatRequest),
    responses: { 200: { description: 'chat.completion, or a text/event-stream of chat.completion.chunk', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) }, 'text/event-stream': { schema: z.string() } } }, ...errorResponses(400, 401, 403, 404, 429, 502, 503, 504) } }),
  async (c) => {
    const s = c.get('services');
    const actor = requireActor(c);
    if (actor.user.role === 'auditor') throw errors.forbidden('Auditors have read-only access.');
    const body = c.req.valid('json');
    const agent = await s.store.agents.bySlug(body.model);
    if (!agent || agent.status === 'deleted' || !canRead(actor, agent)) throw new AppError(404, 'model_not_found', `No agent with the slug "${body.model}". GET /v1/models lists them.`);
    if (agent.status !== 'active') throw new AppError(503, 'agent_paused', `${agent.name} is paused.`);

    const extra = body.messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => text(m.content)).filter(Boolean);
    const system = composeSystemPrompt(agent) + (extra.length ? `\n\n## Instructions from the client\n\n${extra.join('\n\n')}` : '');
    const messages: ModelMessage[] = body.messages
      .filter((m) => m.role === 'user' || m.role === 'assistant')
      .map((m) => ({ role: m.role as 'user' | 'assistant', content: text(m.content) }))
      .filter((m) => m.content !== '');
    if (!messages.length || messages[messages.length - 1]!.role !== 'user') throw errors.validation([{ path: 'messages', message: 'must end with a user message' }]);

    await s.providers.resolve(agent.model);
    const gen = s.chat.callModel({ agent, agentModel: agent.model, fallbackModel: agent.fallbackModel, system, messages, temperature: body.temperature ?? agent.temperature, channel: 'openai', conversationId: null });
    // A provider failure becomes the status the message API gives it (502, 504 on timeout), with a safe message.
    const failed = (err: unknown) => {
      if (!(err instanceof ProviderError)) return err;
      const { status, code } = s.chat.providerErrorCode(err);
      return new AppError(status, code, 'The model provider failed to answer. Try again in a moment.');
    };
    // Run up to the first model event before answering (as the public chat does), so a failure before any
    // text — upstream error, timeout, spent budget — is a JSON error with its status, not a 200 stream.
    const first = await gen.next().catch((err: unknown) => { throw failed(err); });
    const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
    const created = Math.floor(Date.now() / 1000);
    const usageOf = (r: { usage: { inputTokens: number; outputTokens: number } }) => ({ prompt_tokens: r.usage.inputTokens, completion_tokens: r.usage.outputTokens, total_tokens: r.usage.inputTokens + r.usage.outputTokens });

    if (!body.stream) {
      let step = first;
      try {
        while (!step.done) step = await gen.next();
      } catch (err) { throw failed(err); }
      const r = step.value;
      return c.json({ id, object: 'chat.completion', created, model: agent.slug, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: r.text, refusal: null } }], usage: usageOf(r) }, 200);
    }
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({ id, object: 'chat.completion.chunk', created, model: agent.slug, choices: [{ index: 0, delta, finish_reason: finish }], ...(body.stream_options?.include_usage ? { usage: null } : {}) });
    return streamSSE(c, async (stream) => {
      await stream.writeSSE({ data: JSON.stringify(chunk({ role: 'assistant', content: '' }, null)) });
      try {
        let step = first;
        while (!step.done) {
          await stream.writeSSE({ data: JSON.stringify(chunk({ content: step.value.text }, null)) });
          step = await gen.next();
        }
        // Usage rides on the finishing chunk always (choices kept, for clients that read choices[0]);
        // the separate choices-less usage chunk is added when the client asked for it.
        await stream.writeSSE({ data: JSON.stringify({ ...chunk({}, 'stop'), usage: usageOf(step.value) }) });
        if (body.stream_options?.include_usage) {
          await stream.writeSSE({ data: JSON.stringify({ id, object: 'chat.completion.chunk', created, model: agent.slug, choices: [], usage: usageOf(step.value) }) });
        }
      } catch (err) {
        // Text has already been sent: the failure can only be reported inside the stream.
        if (!(err instanceof ProviderError)) c.get('log').error('openai stream failed', { error: err });
        const message = err instanceof ProviderError ? 'The model provider failed to answer.' : 'Internal error.';
        await stream.writeSSE({ data: JSON.stringify({ error: { message, type: 'server_error', code: err instanceof ProviderError ? 'provider_error' : 'internal_error' } }) });
      }
      await stream.writeSSE({ data: '[DONE]' });
    });
  });

  return app;
}
