import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { LIMITS, modelSchema, personaPatchSchema, toolPolicySchema } from '../../domain/schemas.js';
import { authorize } from '../../services/access.js';
import { PREVIEW_MAX_TURNS, type PreviewService } from '../../services/preview.js';
import type { ChatEvent } from '../../services/chat.js';
import { newCallTiming } from '../../llm/model-gateway.js';
import { router } from '../router.js';
import { serverTiming, totalTiming } from '../server-timing.js';
import { jsonBody, ok, errorResponses, IdParam } from '../schemas.js';

const tags = ['Agents'];

const Draft = z.strictObject({
  name: z.string().max(LIMITS.name).optional(),
  description: z.string().max(LIMITS.description).optional(),
  persona: personaPatchSchema.optional(),
  model: modelSchema.nullable().optional(),
  temperature: z.number().min(0).max(2).optional(),
  tools: toolPolicySchema.nullable().optional(),
}).openapi('PreviewDraft', { description: 'Unsaved settings over the stored agent, for this call only: name, description, persona files, model (null: the default), temperature, tool policy (as PATCH /api/agents/{id} `tools`; null: the default policy).' });
const personId = z.string().min(1).max(200).openapi({ description: 'Impersonate: use this person\'s memory with the agent (their notes and summaries), read-only. They must have talked with the agent (404 otherwise).' });
const Prompt = z.object({ system: z.string(), tokens: z.number().openapi({ description: 'Estimated tokens (≈4 characters a token, the estimate the context budget uses)' }) });

/** The agent editor's preview: chat with the unsaved agent, and the system prompt it would get. */
export function previewRoutes(deps: { preview: PreviewService }) {
  const { preview } = deps;
  const app = router();

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/preview', tags,
    summary: 'Chat with the agent as it is being edited. Streams the public chat\'s events (start, delta…, done | error); nothing is stored, the call is billed as usage with purpose "preview".',
    request: { params: IdParam, ...jsonBody(z.strictObject({
      text: z.string().min(1, 'must not be empty').openapi({ description: "At most the installation's message limit (400 message_too_long)" }),
      draft: Draft.optional(),
      history: z.array(z.strictObject({ role: z.enum(['user', 'assistant']), content: z.string().min(1, 'must not be empty') }))
        .max(PREVIEW_MAX_TURNS, `must have at most ${PREVIEW_MAX_TURNS} turns; press Reset to start over`).optional()
        .openapi({ description: 'The preview so far (the server keeps nothing): each turn at most the message limit' }),
      personId: personId.optional(),
    })) },
    responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } }, ...errorResponses(400, 401, 403, 404, 409, 503) } }),
  async (c) => {
    const actor = authorize(c.get('actor'), 'agent.message');
    const ctl = new AbortController();
    const events = preview.chat(actor, c.req.valid('param').id, { ...c.req.valid('json'), signal: ctl.signal });
    // Run up to the first event before answering, so a refusal is a proper HTTP error.
    const first = await events.next();
    const startedAt = c.get('startedAt');
    c.header('Server-Timing', serverTiming([{ name: 'sb-pre', dur: performance.now() - startedAt, desc: 'switchboard before the model' }]));
    return streamSSE(c, async (stream) => {
      // A preview is for the person watching it: when they leave, the model call is cut (and billed for what it used).
      stream.onAbort(() => ctl.abort());
      const write = async (ev: ChatEvent) => {
        if (ctl.signal.aborted) return;
        const { type, ...data } = ev as ChatEvent & { timing?: unknown };
        const payload: Record<string, unknown> = { ...data };
        delete payload.timing;
        if (type === 'done') payload.serverTiming = totalTiming(startedAt, ('timing' in ev && ev.timing) || newCallTiming());
        try { await stream.writeSSE({ event: type, data: JSON.stringify(payload) }); } catch { ctl.abort(); }
      };
      if (!first.done) await write(first.value);
      for await (const ev of events) {
        if (ctl.signal.aborted) break;
        await write(ev);
      }
    }, async (err) => {
      c.get('log').error('preview stream failed', { error: err });
    });
  });

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/prompt-preview', tags,
    summary: 'The exact system prompt the agent would get now (persona, notes, memory tools), and its size. Auditors may read it.',
    request: { params: IdParam, query: z.object({ personId: personId.optional() }) },
    responses: { 200: ok(Prompt), ...errorResponses(400, 401, 404) } }),
  async (c) => c.json(await preview.prompt(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id, c.req.valid('query')), 200));

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/prompt-preview', tags,
    summary: 'The exact system prompt the agent would get with a draft (unsaved settings), and its size. Saves nothing.',
    request: { params: IdParam, ...jsonBody(z.strictObject({ draft: Draft.optional(), personId: personId.optional() })) },
    responses: { 200: ok(Prompt), ...errorResponses(400, 401, 404) } }),
  async (c) => c.json(await preview.prompt(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id, c.req.valid('json')), 200));

  return app;
}
