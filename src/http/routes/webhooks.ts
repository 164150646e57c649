import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { WebhookRequest } from '../../domain/channels.js';
import type { ChannelRegistry } from '../../channels/registry.js';
import { router } from '../router.js';
import { ok, errorResponses } from '../schemas.js';

/** The request as a channel adapter sees it; the body is read once, and only if the adapter asks. */
function webhookRequest(c: Context, params: Record<string, string> = {}): WebhookRequest {
  let body: Promise<Uint8Array> | undefined;
  return {
    url: c.req.url, params, query: c.req.query(),
    header: (name) => c.req.header(name),
    body: () => (body ??= c.req.arrayBuffer().then((b) => new Uint8Array(b))),
  };
}

/** Inbound webhooks from messaging platforms: each is verified by its channel's adapter, stored in the inbox, and answered at once. */
export function webhookRoutes(deps: { channels: Pick<ChannelRegistry, 'receive' | 'challenge'> }) {
  const { channels } = deps;
  const app = router();
  const tags = ['Webhooks'];

  app.openapi(createRoute({ method: 'post', path: '/webhooks/telegram/{agentId}', tags,
    summary: "Telegram updates (a JSON Update) for an agent's bot; requires X-Telegram-Bot-Api-Secret-Token, checked before the body is read",
    request: { params: z.object({ agentId: z.string().max(100) }) },
    responses: { 200: ok(z.object({})), ...errorResponses(400, 401, 404) } }),
  async (c) => {
    await channels.receive('telegram', webhookRequest(c, { agentId: c.req.valid('param').agentId }));
    return c.json({}, 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/webhooks/whatsapp', tags, summary: "Meta's verification handshake: answers hub.challenge when hub.verify_token matches",
    request: { query: z.object({ 'hub.mode': z.string().optional(), 'hub.verify_token': z.string().optional(), 'hub.challenge': z.string().optional() }) },
    responses: { 200: { description: 'The challenge, as plain text', content: { 'text/plain': { schema: z.string() } } }, ...errorResponses(403, 404) } }),
  async (c) => c.text(await channels.challenge('whatsapp', webhookRequest(c)), 200));

  app.openapi(createRoute({ method: 'post', path: '/webhooks/whatsapp', tags, summary: 'WhatsApp Cloud API messages and statuses; requires X-Hub-Signature-256 over the raw body',
    responses: { 200: ok(z.object({})), ...errorResponses(400, 401, 404) } }),
  async (c) => {
    await channels.receive('whatsapp', webhookRequest(c));
    return c.json({}, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/webhooks/twilio', tags, summary: 'Twilio WhatsApp messages and status callbacks; requires X-Twilio-Signature',
    responses: { 200: { description: 'Empty TwiML', content: { 'text/xml': { schema: z.string() } } }, ...errorResponses(403, 404) } }),
  async (c) => {
    const ack = await channels.receive('twilio', webhookRequest(c));
    return c.body(ack?.body ?? '', 200, { 'Content-Type': ack?.contentType ?? 'text/plain' });
  });

  return app;
}
