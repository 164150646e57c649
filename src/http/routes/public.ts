import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { getCookie, setCookie } from 'hono/cookie';
import type { Context } from 'hono';
import type { VisitorService } from '../../services/visitors.js';
import type { TrustedProxies } from '../../infra/client-address.js';
import { requestAddress } from '../middleware/client-address.js';
import { slugSchema } from '../../domain/schemas.js';
import { visitorMessage, type ConversationService, type Visitor } from '../../services/conversations.js';
import { CUT_BY_TAKEOVER } from '../../services/takeover.js';
import type { LinkService } from '../../services/linking.js';
import type { MediaService } from '../../services/media.js';
import { fileBody, MediaCreated, presentMedia, readUpload } from '../upload.js';
import type { AppEnv } from '../context.js';
import { router } from '../router.js';
import { serverTiming, totalTiming } from '../server-timing.js';
import { newCallTiming, type CallTiming } from '../../llm/model-gateway.js';
import { jsonBody, ok, errorResponses, MessageSchema, ChatFields, textOrMedia } from '../schemas.js';
import type { VoiceService } from '../../services/voice.js';
import { SpokenReply } from './media.js';

export const VISITOR_COOKIE = 'sb_visitor';
const SlugParam = z.object({ slug: slugSchema });
const tags = ['Public chat'];
/** An open event stream says it is alive this often (proxies close silent connections). */
const HEARTBEAT_MS = 15_000;

/** The anonymous browser identity: an id the server issued and signed, in an HttpOnly cookie; anything else gets a new one. */
function visitor(c: Context<AppEnv>, visitors: VisitorService, secure: boolean): Visitor {
  let id = visitors.verify(getCookie(c, VISITOR_COOKIE));
  if (!id) {
    const issued = visitors.issue();
    id = issued.id;
    setCookie(c, VISITOR_COOKIE, issued.cookie, { httpOnly: true, sameSite: 'Lax', path: '/', secure, maxAge: 400 * 86_400 });
  }
  return { kind: 'web', externalId: id };
}


/**
 * The public pages: listed agents, a visitor's chat with one (streamed), and linking the browser to
 * a WhatsApp number. Visitors are anonymous; a signed-in user may also open an unlisted agent they can see.
 */
export function publicRoutes(deps: { conversations: ConversationService; links: LinkService; visitors: VisitorService; media: MediaService; voice: VoiceService; secureCookies: boolean; trustedProxies: TrustedProxies | undefined }) {
  const { conversations, links } = deps;
  const who = (c: Context<AppEnv>) => visitor(c, deps.visitors, deps.secureCookies);
  /** Anonymous work (chat, link codes, uploads) is also limited per client address; signed-in callers are not. */
  const admitted = (c: Context<AppEnv>) => {
    if (!c.get('actor')) deps.visitors.admit(requestAddress(c, deps.trustedProxies));
    return who(c);
  };
  const app = router();
  const Card = z.object({ slug: z.string(), name: z.string(), description: z.string(), icon: z.string() });
  const History = z.object({ conversationId: z.string().nullable(), messages: z.array(MessageSchema) });

  app.openapi(createRoute({ method: 'get', path: '/api/public/agents', tags, summary: 'Agents listed on the home page',
    responses: { 200: ok(z.object({ agents: z.array(Card) })) } }),
  async (c) => c.json({ agents: await conversations.listed() }, 200));

  app.openapi(createRoute({ method: 'get', path: '/api/public/agents/{slug}', tags, summary: 'One public agent, and whether it can answer now',
    request: { params: SlugParam }, responses: { 200: ok(Card.extend({
      available: z.boolean(), notice: z.string().nullable(),
      capabilities: z.object({ transcription: z.boolean(), speech: z.boolean(), vision: z.boolean() }).openapi({ description: 'Voice messages are transcribed (else the browser\'s own speech recognition, where it exists), replies can be spoken (else the browser\'s speech synthesis), images are shown to the model' }),
      voice: z.object({ reply: z.enum(['off', 'when-spoken-to', 'always']) }).openapi({ description: 'When the agent answers with audio as well as text' }),
    })), ...errorResponses(404) } }),
  async (c) => c.json(await conversations.publicCard(c.get('actor'), c.req.valid('param').slug), 200));

  app.openapi(createRoute({ method: 'get', path: '/api/public/agents/{slug}/conversation', tags, summary: "This visitor's current conversation with the agent",
    request: { params: SlugParam }, responses: { 200: ok(History), ...errorResponses(404) } }),
  async (c) => {
    const h = await conversations.visitorHistory(c.get('actor'), c.req.valid('param').slug, () => who(c));
    // A reply cut by a takeover never reached the visitor: it is not shown to them.
    return c.json({ conversationId: h.conversationId, messages: h.messages.filter((m) => m.error !== CUT_BY_TAKEOVER).map(visitorMessage) }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/public/agents/{slug}/conversation/new', tags,
    summary: 'Start over: the next message opens a new conversation. `reason=switch` when the person leaves for another agent (the conversation is summarized, and resumes from its last turns when they come back).',
    request: { params: SlugParam, query: z.object({ reason: z.enum(['new', 'switch']).optional() }) }, responses: { 200: ok(History), ...errorResponses(400, 404) } }),
  async (c) => {
    await conversations.visitorNewConversation(c.get('actor'), c.req.valid('param').slug, () => who(c), c.req.valid('query').reason === 'switch' ? 'switched_agent' : 'new_conversation');
    return c.json({ conversationId: null, messages: [] }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/public/agents/{slug}/chat', tags,
    summary: 'Send a message; the reply streams back as server-sent events: start, delta…, done | error',
    request: { params: SlugParam, ...jsonBody(ChatFields.refine(textOrMedia, { path: ['text'], message: 'must not be empty (or send mediaIds)' })) },
    responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } }, ...errorResponses(400, 404, 503) } }),
  async (c) => {
    // Through the inbox: if this process dies mid-reply, a worker finishes the reply and the page picks it up.
    const events = await conversations.visitorSend(c.get('actor'), c.req.valid('param').slug, () => admitted(c), c.req.valid('json').text ?? '', c.req.valid('json').mediaIds);
    // Run up to the first event before answering, so "paused" or "no model" become proper HTTP errors.
    const first = await events.next();
    // The headers leave with the `start` event, before the model is called: they carry Switchboard's time
    // so far; the `done` event carries the totals (serverTiming, in the header's syntax).
    const startedAt = c.get('startedAt');
    c.header('Server-Timing', serverTiming([{ name: 'sb-pre', dur: performance.now() - startedAt, desc: 'switchboard before the model' }]));
    return streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => { open = false; });
      const write = async (ev: { type: string; timing?: CallTiming } & Record<string, unknown>) => {
        if (!open) return; // the browser left: keep generating so the reply is stored for its return
        const { type, timing, ...data } = ev;
        if (type === 'done') data.serverTiming = totalTiming(startedAt, timing ?? newCallTiming());
        try { await stream.writeSSE({ event: type, data: JSON.stringify(data) }); } catch { open = false; }
      };
      if (!first.done) await write(first.value);
      for await (const ev of events) await write(ev);
    }, async (err) => {
      c.get('log').error('chat stream failed', { error: err });
    });
  });

  app.openapi(createRoute({ method: 'get', path: '/api/public/agents/{slug}/conversation/events', tags,
    summary: "Replies that reach this visitor's conversation without a request of theirs — a person's reply, the agent's hand-back notice — as server-sent events `message` (the message as the history shows it; a person's reply names them by `author.name`), with a `ping` every 15 s",
    request: { params: SlugParam }, responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } }, ...errorResponses(404) } }),
  async (c) => {
    const feed = await conversations.visitorEvents(c.get('actor'), c.req.valid('param').slug, () => who(c));
    return streamSSE(c, async (stream) => {
      const pending: ReturnType<typeof visitorMessage>[] = [];
      let wake: (() => void) | undefined;
      let open = true;
      const off = feed.subscribe((m) => { pending.push(m); wake?.(); });
      stream.onAbort(() => { open = false; wake?.(); });
      try {
        await stream.writeSSE({ event: 'ready', data: '{}' });
        while (open) {
          while (pending.length && open) await stream.writeSSE({ event: 'message', data: JSON.stringify(pending.shift()) });
          const beat = await new Promise<boolean>((resolve) => {
            const t = setTimeout(() => { wake = undefined; resolve(true); }, HEARTBEAT_MS);
            wake = () => { clearTimeout(t); wake = undefined; resolve(false); };
          });
          if (beat && open) await stream.writeSSE({ event: 'ping', data: '{}' });
        }
      } catch {
        // the visitor left while we were writing
      } finally {
        off();
      }
    });
  });

  app.openapi(createRoute({ method: 'post', path: '/api/public/agents/{slug}/media', tags,
    summary: 'Upload a voice note or image from the chat (raw body with its Content-Type); the id goes into the next message\'s `mediaIds`. Counted like a chat message.',
    request: { params: SlugParam, ...fileBody },
    responses: { 201: ok(MediaCreated, 'Stored'), ...errorResponses(404, 413, 415, 429) } }),
  async (c) => {
    // Counted before the body is read, so a flood of large uploads is refused early.
    if (!c.get('actor')) deps.visitors.admit(requestAddress(c, deps.trustedProxies));
    const bytes = await readUpload(c.req.raw);
    const item = await deps.media.uploadForVisitor(c.get('actor'), c.req.valid('param').slug, () => who(c), { bytes, claimedType: c.req.header('content-type') });
    return c.json(presentMedia(item), 201);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/public/agents/{slug}/messages/{messageId}/speech', tags,
    summary: 'A reply in the visitor\'s own chat read aloud (the play button): made once (metered as `speech`), then the same file; GET /api/media/{mediaId} serves it. 501 not_configured without a TTS model: use the browser\'s speech synthesis.',
    request: { params: SlugParam.extend({ messageId: z.string().min(1).max(100) }) },
    responses: { 200: ok(SpokenReply), ...errorResponses(400, 404, 429, 501, 502, 503, 504) } }),
  async (c) => {
    const { slug, messageId } = c.req.valid('param');
    return c.json(await deps.voice.forVisitor(c.get('actor'), slug, () => admitted(c), messageId), 200);
  });

  // ----- web ↔ WhatsApp linking -----
  const LinkStatus = z.object({ linked: z.boolean(), phone: z.string().nullable(), expiresAt: z.string().nullable() });
  app.openapi(createRoute({ method: 'get', path: '/api/public/link', tags, summary: 'Whether this browser is linked to a WhatsApp number',
    responses: { 200: ok(LinkStatus) } }),
  async (c) => c.json(await links.status(who(c)), 200));
  app.openapi(createRoute({ method: 'post', path: '/api/public/link/start', tags, summary: 'Send a 6-digit code to a phone over WhatsApp',
    request: jsonBody(z.strictObject({ phone: z.string().min(6).max(30) })),
    responses: { 200: ok(z.object({ sent: z.boolean(), phone: z.string(), expiresInSeconds: z.number() })), ...errorResponses(400, 429, 502, 503) } }),
  async (c) => c.json(await links.start(admitted(c), c.req.valid('json').phone), 200));
  app.openapi(createRoute({ method: 'post', path: '/api/public/link/verify', tags, summary: 'Enter the code: links this browser and the phone (24 h by default)',
    request: jsonBody(z.strictObject({ code: z.string().regex(/^\s*\d{6}\s*$/, 'must be the 6 digits we sent') })),
    responses: { 200: ok(LinkStatus), ...errorResponses(400, 429) } }),
  async (c) => c.json(await links.verify(admitted(c), c.req.valid('json').code), 200));
  app.openapi(createRoute({ method: 'delete', path: '/api/public/link', tags, summary: 'Unlink this browser from its phone',
    responses: { 200: ok(LinkStatus) } }),
  async (c) => c.json(await links.unlink(who(c)), 200));

  return app;
}
