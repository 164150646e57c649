import { createRoute, z } from '@hono/zod-openapi';
import { getCookie } from 'hono/cookie';
import type { MediaService } from '../../services/media.js';
import type { VoiceService } from '../../services/voice.js';
import type { VisitorService } from '../../services/visitors.js';
import { authorize } from '../../services/access.js';
import type { AppEnv } from '../context.js';
import { router } from '../router.js';
import { errorResponses, ok } from '../schemas.js';
import { fileBody, MediaCreated, presentMedia, readUpload } from '../upload.js';
import { VISITOR_COOKIE } from './public.js';

const tags = ['Media'];
/** A reply's audio: GET /api/media/{mediaId} serves it. */
export const SpokenReply = z.object({ mediaId: z.string(), mimeType: z.string() }).openapi('SpokenReply');

/**
 * Media through the API: an upload for an agent (session or API key; the person is `userId`, else the
 * caller), and any file served to whoever may see its conversation — operators, the customer who owns
 * the agent, and the visitor or caller who sent it. The public chat's upload is in public.ts.
 */
export function mediaRoutes(deps: { media: MediaService; visitors: VisitorService; voice: VoiceService }) {
  const { media } = deps;
  const app = router();

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/media', tags,
    summary: 'Upload a voice note or image for an agent (raw body). `userId` names the person it is from, as in the message API; the id goes into a message\'s `mediaIds`.',
    request: { params: z.object({ id: z.string().min(1) }), query: z.object({ userId: z.string().min(1).max(200).optional() }), ...fileBody },
    responses: { 201: ok(MediaCreated, 'Stored'), ...errorResponses(401, 403, 404, 413, 415) } }),
  async (c) => {
    const actor = authorize(c.get('actor'), 'agent.message');
    const bytes = await readUpload(c.req.raw);
    const item = await media.uploadForAgent(actor, c.req.valid('param').id, { bytes, claimedType: c.req.header('content-type'), userId: c.req.valid('query').userId });
    return c.json(presentMedia(item), 201);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/messages/{messageId}/speech', tags,
    summary: 'A reply of the agent read aloud (the play button): made once through SWITCHBOARD_TTS_MODEL (metered as `speech`) and kept with the message, so a second call answers the same file. 501 not_configured without a TTS model (use the browser\'s speech synthesis).',
    request: { params: z.object({ id: z.string().min(1).max(100), messageId: z.string().min(1).max(100) }) },
    responses: { 200: ok(SpokenReply), ...errorResponses(400, 401, 404, 501, 502, 503, 504) } }),
  async (c) => {
    const { id, messageId } = c.req.valid('param');
    return c.json(await deps.voice.forActor(authorize(c.get('actor'), 'conversation.read'), id, messageId), 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/media/{mediaId}', tags,
    summary: 'A stored voice note or image, to whoever may see its conversation (operators, the agent\'s owner, the visitor or caller who sent it); 404 for anyone else. With `exp` and `sig` (a signed link the server made, e.g. the MediaUrl of a spoken reply sent through Twilio) it is served to anyone until `exp`; a wrong or expired signature gets 403.',
    request: {
      params: z.object({ mediaId: z.string().min(1).max(100) }),
      query: z.object({
        exp: z.string().max(20).optional().openapi({ description: 'Signed link: when it expires (unix seconds)' }),
        sig: z.string().max(100).optional().openapi({ description: 'Signed link: the signature of this file id and exp' }),
      }),
    },
    responses: { 200: { description: 'The file', content: { 'audio/*': { schema: z.string().openapi({ format: 'binary' }) }, 'image/*': { schema: z.string().openapi({ format: 'binary' }) } } }, ...errorResponses(403, 404) } }),
  async (c) => {
    const { exp, sig } = c.req.valid('query');
    const link = exp !== undefined || sig !== undefined ? { exp: exp ?? '', sig: sig ?? '' } : undefined;
    const visitorId = link ? undefined : deps.visitors.verify(getCookie(c, VISITOR_COOKIE));
    const { item, bytes } = await media.open({ actor: c.get('actor'), visitorId }, c.req.valid('param').mediaId, link);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': item.mimeType,
      'Content-Length': String(bytes.length),
      'X-Content-Type-Options': 'nosniff',
      'Content-Disposition': 'inline',
      'Cache-Control': 'private, max-age=3600',
      // A stored file is shown, never run: no scripts, no plugins, even if a browser were to render it as a document.
      'Content-Security-Policy': "default-src 'none'; sandbox",
      ETag: `"${item.sha256}"`,
    }) as never;
  });

  return app;
}
