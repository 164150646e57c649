import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { randomUUID } from 'node:crypto';
import { AppError } from '../../domain/errors.js';
import { streamStartTiming, totalTiming } from '../server-timing.js';
import type { AgentService } from '../../services/agents.js';
import { CompletionRequest, type CompletionService } from '../../services/completions.js';
import type { ModelResult } from '../../llm/model-gateway.js';
import { router } from '../router.js';
import { authorize } from '../../services/access.js';
import { toAppError } from '../errors.js';
import { jsonBody, ok, errorResponses } from '../schemas.js';

const tags = ['OpenAI-compatible'];
const modelNotFound = (slug: string) => new AppError(404, 'model_not_found', `The model "${slug}" does not exist or you do not have access to it. GET /v1/models lists the agents you can use.`);
const usageOf = (r: ModelResult) => ({ prompt_tokens: r.usage.inputTokens, completion_tokens: r.usage.outputTokens, total_tokens: r.usage.inputTokens + r.usage.outputTokens });

/** `/v1`: agents as OpenAI models. Errors are answered in OpenAI's shape by the one onError (http/errors.ts). */
export function openaiRoutes(deps: { agents: Pick<AgentService, 'list'>; completions: CompletionService }) {
  const app = router();

  const Model = z.object({ id: z.string(), object: z.literal('model'), created: z.number(), owned_by: z.string() });
  const asModel = (a: { slug: string; createdAt: string }) => ({ id: a.slug, object: 'model' as const, created: Math.floor(Date.parse(a.createdAt) / 1000), owned_by: 'switchboard' });

  app.openapi(createRoute({ method: 'get', path: '/v1/models', tags, summary: 'Agents as models (id = agent slug)',
    responses: { 200: ok(z.object({ object: z.literal('list'), data: z.array(Model) })), ...errorResponses(401) } }),
  async (c) => {
    const agents = await deps.agents.list(authorize(c.get('actor'), 'agent.read'));
    return c.json({ object: 'list' as const, data: agents.filter((a) => a.status === 'active').map(asModel) }, 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/v1/models/{model}', tags, summary: "One agent as a model (client.models.retrieve); 404 model_not_found for an unknown or another customer's agent",
    request: { params: z.object({ model: z.string().min(1).max(200) }) },
    responses: { 200: ok(Model), ...errorResponses(401, 404) } }),
  async (c) => {
    const slug = c.req.valid('param').model;
    const agent = (await deps.agents.list(authorize(c.get('actor'), 'agent.read'))).find((a) => a.slug === slug && a.status === 'active');
    if (!agent) throw modelNotFound(slug);
    return c.json(asModel(agent), 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/v1/chat/completions', tags,
    summary: "Chat with an agent through any OpenAI client; `model` is the agent's slug and its persona is applied server-side",
    request: jsonBody(CompletionRequest),
    responses: { 200: { description: 'chat.completion, or a text/event-stream of chat.completion.chunk', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) }, 'text/event-stream': { schema: z.string() } } }, ...errorResponses(400, 401, 403, 404, 409, 429, 502, 503, 504) } }),
  async (c) => {
    // authorize → validate → one service call → present
    const actor = authorize(c.get('actor'), 'agent.message');
    const body = c.req.valid('json');
    const { agent, first, rest, timing } = await deps.completions.start(actor, body);
    const startedAt = c.get('startedAt');

    const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
    const created = Math.floor(Date.now() / 1000);
    if (!body.stream) {
      let step = first;
      while (!step.done) step = await rest.next();
      c.header('Server-Timing', totalTiming(startedAt, timing));
      return c.json({ id, object: 'chat.completion', created, model: agent.slug, choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message: { role: 'assistant', content: step.value.text, refusal: null } }], usage: usageOf(step.value) }, 200);
    }
    // OpenAI's stream: with include_usage every chunk carries `usage: null` and one last chunk with empty
    // `choices` carries the usage; without it, no usage at all. The finishing chunk never carries usage.
    const includeUsage = !!body.stream_options?.include_usage;
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({ id, object: 'chat.completion.chunk', created, model: agent.slug, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) });
    // Headers leave before the model has finished: what is known now goes in them, the totals in the last chunk.
    c.header('Server-Timing', streamStartTiming(startedAt, timing));
    return streamSSE(c, async (stream) => {
      await stream.writeSSE({ data: JSON.stringify(chunk({ role: 'assistant', content: '' }, null)) });
      try {
        let step = first;
        while (!step.done) {
          await stream.writeSSE({ data: JSON.stringify(chunk({ content: step.value.text }, null)) });
          step = await rest.next();
        }
        const server_timing = totalTiming(startedAt, timing);
        await stream.writeSSE({ data: JSON.stringify({ ...chunk({}, 'stop'), ...(includeUsage ? {} : { server_timing }) }) });
        if (includeUsage) {
          await stream.writeSSE({ data: JSON.stringify({ id, object: 'chat.completion.chunk', created, model: agent.slug, choices: [], usage: usageOf(step.value), server_timing }) });
        }
      } catch (err) {
        // Text has already been sent: the failure can only be reported inside the stream, with the code the table knows.
        const e = toAppError(err);
        if (!e) c.get('log').error('openai stream failed', { error: err });
        await stream.writeSSE({ data: JSON.stringify({ error: { message: e ? e.message : 'Internal error.', type: 'server_error', param: null, code: e ? e.code : 'internal_error' } }) });
      }
      await stream.writeSSE({ data: '[DONE]' });
    });
  });

  return app;
}
