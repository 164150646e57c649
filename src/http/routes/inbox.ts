import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { authorize } from '../../services/access.js';
import type { ConversationService, InboxEvent } from '../../services/conversations.js';
import { AppError } from '../../domain/errors.js';
import { router } from '../router.js';
import { ok, errorResponses, PersonSchema } from '../schemas.js';

const tags = ['Conversations'];

const flag = (field: string) => z.enum(['true', 'false'], { message: `${field} must be true or false` }).transform((v) => v === 'true').optional();

const InboxQuerySchema = z.object({
  agentId: z.string().min(1).max(100).optional().openapi({ description: 'Only this agent\'s conversations (an agent you may not see is 404)' }),
  channel: z.enum(['web', 'api', 'openai', 'telegram', 'whatsapp']).optional(),
  mode: z.enum(['agent', 'human']).optional().openapi({ description: '`human`: handled by a person (taken over)' }),
  needsHuman: flag('needsHuman').openapi({ type: 'string', enum: ['true', 'false'], description: 'Waiting for a person (a handoff was asked for)' }),
  unanswered: flag('unanswered').openapi({ type: 'string', enum: ['true', 'false'], description: 'The person wrote last' }),
  q: z.string().max(200).optional().openapi({ description: 'Text in any message of the conversation (case-insensitive substring)' }),
  limit: z.coerce.number().int().min(1).max(200).optional().openapi({ description: 'Page size, default 50, at most 200' }),
  cursor: z.string().min(1).max(500).optional().openapi({ description: 'The `nextCursor` of the previous page' }),
});

const InboxItemSchema = z.object({
  id: z.string(), agentId: z.string(), agentName: z.string(), channel: z.string(), personId: z.string(), person: PersonSchema,
  mode: z.enum(['agent', 'human']), needsHuman: z.boolean(), handoffReason: z.string().nullable(), takenOverBy: z.string().nullable(),
  lastMessageAt: z.string(), lastMessagePreview: z.string().nullable(), lastMessageRole: z.enum(['user', 'assistant', 'system']).nullable(),
  unanswered: z.boolean().openapi({ description: 'The person wrote last' }), status: z.enum(['open', 'closed']), createdAt: z.string(),
}).openapi('InboxItem');

/** Open streams per user in this process: each holds a connection and a subscription, so there is a cap. */
export type InboxRouteOptions = { maxStreamsPerUser?: number; heartbeatMs?: number; retryMs?: number };

/** The live inbox: the conversation list across agents, and a server-sent event stream of what changes in it. */
export function inboxRoutes(deps: { conversations: ConversationService; options?: InboxRouteOptions }) {
  const { conversations } = deps;
  const o = { maxStreamsPerUser: 5, heartbeatMs: 20_000, retryMs: 3_000, ...deps.options };
  const open = new Map<string, number>();
  const app = router();

  // Registered before /api/conversations/{id}: "stream" is not a conversation id.
  app.openapi(createRoute({ method: 'get', path: '/api/conversations/stream', tags,
    summary: 'Live inbox: server-sent events `message.created` and `conversation.updated` for every conversation you may see (customers: your agents\'). Heartbeat comments every 20 s; at most 5 open streams per user (429).',
    responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } }, ...errorResponses(401, 429) } }),
  async (c) => {
    const actor = authorize(c.get('actor'), 'conversation.read');
    const user = actor.user.id;
    if ((open.get(user) ?? 0) >= o.maxStreamsPerUser) {
      throw new AppError(429, 'rate_limited', `At most ${o.maxStreamsPerUser} live inbox streams per user are open at once; close one (another tab) first.`, { retryAfterSeconds: 5 });
    }
    open.set(user, (open.get(user) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const n = (open.get(user) ?? 1) - 1;
      if (n > 0) open.set(user, n); else open.delete(user);
    };
    c.header('Cache-Control', 'no-cache, no-transform');
    c.header('X-Accel-Buffering', 'no'); // nginx: do not buffer the stream
    return streamSSE(c, async (stream) => {
      let unsubscribe: (() => void) | undefined;
      let timer: ReturnType<typeof setInterval> | undefined;
      let done!: () => void;
      const closed = new Promise<void>((r) => { done = r; });
      const stop = () => { unsubscribe?.(); unsubscribe = undefined; if (timer) clearInterval(timer); release(); done(); };
      stream.onAbort(stop);
      // Writes go one after another; a failed write means the client left.
      let chain = Promise.resolve();
      const write = (f: () => Promise<void>) => { chain = chain.then(f).catch(stop); };
      try {
        await stream.write(`retry: ${o.retryMs}\n\n`);
        unsubscribe = conversations.watch(actor, (e: InboxEvent) => write(() => stream.writeSSE({ event: e.type, data: JSON.stringify(e) })));
        write(() => stream.writeSSE({ event: 'ready', data: JSON.stringify({ heartbeatMs: o.heartbeatMs }) }));
        timer = setInterval(() => write(async () => { await stream.write(': ping\n\n'); }), o.heartbeatMs);
        timer.unref?.();
        await closed;
      } finally {
        stop();
      }
    }, async (err) => {
      c.get('log').warn('inbox stream failed', { error: err });
    });
  });

  app.openapi(createRoute({ method: 'get', path: '/api/conversations', tags,
    summary: 'The inbox: conversations across the agents you may see (customers: your own), newest activity first, filtered and searched; page with `cursor`.',
    request: { query: InboxQuerySchema },
    responses: { 200: ok(z.object({ items: z.array(InboxItemSchema), nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last one' }) })), ...errorResponses(400, 401, 404) } }),
  async (c) => c.json(await conversations.inboxList(authorize(c.get('actor'), 'conversation.read'), c.req.valid('query')), 200));

  return app;
}
