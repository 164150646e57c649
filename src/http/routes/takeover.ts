import { createRoute, z } from '@hono/zod-openapi';
import { authorize } from '../../services/access.js';
import type { TakeoverService } from '../../services/takeover.js';
import { router } from '../router.js';
import { jsonBody, ok, errorResponses, IdParam } from '../schemas.js';
import { ConversationSchema } from './memory.js';

const tags = ['Conversations'];

/** A person steps into a conversation: take over, reply by hand, hand back (issue 15). */
export function takeoverRoutes(deps: { takeover: TakeoverService<z.infer<typeof ConversationSchema>> }) {
  const { takeover } = deps;
  const app = router();

  app.openapi(createRoute({ method: 'post', path: '/api/conversations/{id}/takeover', tags,
    summary: 'Take the conversation over: the agent stops answering it on every channel (an answer being generated is cut, unsent parts dropped) until it is handed back. Someone else holding it: 409 already_taken_over; taking it over again yourself answers it as it is.',
    request: { params: IdParam }, responses: { 200: ok(ConversationSchema), ...errorResponses(401, 403, 404, 409) } }),
  async (c) => c.json(await takeover.takeover(authorize(c.get('actor'), 'conversation.write'), c.req.valid('param').id), 200));

  app.openapi(createRoute({ method: 'post', path: '/api/conversations/{id}/release', tags,
    summary: 'Hand the conversation back to the agent: it answers the next message, with the replies written by people in its history',
    request: { params: IdParam }, responses: { 200: ok(ConversationSchema), ...errorResponses(401, 403, 404) } }),
  async (c) => c.json(await takeover.release(authorize(c.get('actor'), 'conversation.write'), c.req.valid('param').id), 200));

  app.openapi(createRoute({ method: 'post', path: '/api/conversations/{id}/reply', tags,
    summary: "Reply as a person, on the channel the person last wrote on (web chat: live; Telegram; WhatsApp inside its 24-hour customer-service window, else 409 outside_window and nothing is stored). Works in both modes; stored with author {type: 'human', userId, name}.",
    request: { params: IdParam, ...jsonBody(z.strictObject({ text: z.string().trim().min(1, 'must not be empty').max(4000, 'must be at most 4,000 characters') })) },
    responses: { 201: ok(z.object({ messageId: z.string(), delivered: z.literal(true) }), 'Delivered and stored'), ...errorResponses(400, 401, 403, 404, 409, 502) } }),
  async (c) => c.json(await takeover.reply(authorize(c.get('actor'), 'conversation.write'), c.req.valid('param').id, c.req.valid('json').text), 201));

  return app;
}
