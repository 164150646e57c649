import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { randomUUID } from 'node:crypto';
import { errors } from '../../domain/errors.js';
import type { AgentService } from '../../services/agents.js';
import { CompletionRequest, type CompletionService } from '../../services/completions.js';
import type { ModelResult } from '../../llm/model-gateway.js';
import { router } from '../router.js';
import { authorize } from '../../services/access.js';
import { toAppError } from '../errors.js';
import { jsonBody, ok, errorResponses } from '../schemas.js';

const tags = ['OpenAI-compatible'];
const usageOf = (r: ModelResult) => ({ prompt_tokens: r.usage.inputTokens, completion_tokens: r.usage.outputTokens, total_tokens: r.usage.inputTokens + r.usage.outputTokens });

/** `/v1`: agents as OpenAI models. Errors are answered in OpenAI's shape by the one onError (http/errors.ts). */
export function openaiRoutes(deps: { agents: Pick<AgentService, 'list'>; completions: CompletionService }) {
  const app = router();

  app.openapi(createRoute({ method: 'get', path: '/v1/models', tags, summary: 'Agents as models (id = agent slug)',
    responses: { 200: ok(z.object({ object: z.literal('list'), data: z.array(z.object({ id: z.string(), object: z.literal('model'), created: z.number(), owned_by: z.string() })) })), ...errorResponses(401) } }),
  async (c) => {
    const agents = await deps.agents.list(authorize(c.get('actor'), 'agent.read'));
    return c.json({ object: 'list' as const, data: agents.filter((a) => a.status === 'active').map((a) => ({ id: a.slug, object: 'model' as const, created: Math.floor(Date.parse(a.createdAt) / 1000), owned_by: 'switchboard' })) }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/v1/chat/completions', tags,
    summary: "Chat with an agent through any OpenAI client; `model` is the agent's slug and its persona is applied server-side",
    request: jsonBody(CompletionRequest),
    responses: { 200: { description: 'chat.completion, or a text/event-stream of chat.completion.chunk', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) }, 'text/event-stream': { schema: z.string() } } }, ...errorResponses(400, 401, 403, 404, 409, 429, 502, 503, 504) } }),
  async (c) => {
    // authorize → validate → one service call → present
    const actor = authorize(c.get('actor'), 'agent.message');
    const body = c.req.valid('json');
    const { agent, first, rest } = await deps.completions.start(actor, body);

    const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
    const created = Math.floor(Date.now() / 1000);
    if (!body.stream) {
      let step = first;
      while (!step.done) step = await rest.next();
      return c.json({ id, object: 'chat.completion', created, model: agent.slug, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: step.value.text, refusal: null } }], usage: usageOf(step.value) }, 200);
    }
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({ id, object: 'chat.completion.chunk', created, model: agent.slug, choices: [{ index: 0, delta, finish_reason: finish }], ...(body.stream_options?.include_usage ? { usage: null } : {}) });
    return streamSSE(c, async (stream) => {
      await stream.writeSSE({ data: JSON.stringify(chunk({ role: 'assistant', content: '' }, null)) });
      try {
        let step = first;
        while (!step.done) {
          await stream.writeSSE({ data: JSON.stringify(chunk({ content: step.value.text }, null)) });
          step = await rest.next();
        }
        // Usage rides on the finishing chunk always (choices kept, for clients that read choices[0]);
        // the separate choices-less usage chunk is added when the client asked for it.
        await stream.writeSSE({ data: JSON.stringify({ ...chunk({}, 'stop'), usage: usageOf(step.value) }) });
        if (body.stream_options?.include_usage) {
          await stream.writeSSE({ data: JSON.stringify({ id, object: 'chat.completion.chunk', created, model: agent.slug, choices: [], usage: usageOf(step.value) }) });
        }
      } catch (err) {
        // Text has already been sent: the failure can only be reported inside the stream, with the code the table knows.
        const e = toAppError(err);
        if (!e) c.get('log').error('openai stream failed', { error: err });
        await stream.writeSSE({ data: JSON.stringify({ error: { message: e ? e.message : 'Internal error.', type: 'server_error', code: e ? e.code : 'internal_error' } }) });
      }
      await stream.writeSSE({ data: '[DONE]' });
    });
  });

  return app;
}
