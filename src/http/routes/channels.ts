import { createRoute, z } from '@hono/zod-openapi';
import type { AgentBots } from '../../domain/channels.js';
import type { Actor } from '../../domain/types.js';
import type { WhatsAppChannel } from '../../channels/whatsapp/whatsapp-channel.js';
import type { DeliveryService } from '../../services/deliveries.js';
import { authorize } from '../../services/access.js';
import { router } from '../router.js';
import { jsonBody, ok, errorResponses } from '../schemas.js';

/** Messaging channels: WhatsApp settings, test message, undelivered replies and delivery receipts. */
export function channelRoutes(deps: {
  bots: Pick<AgentBots, 'validate'>; whatsapp: Pick<WhatsAppChannel, 'view' | 'save' | 'test' | 'health'>;
  agents: { getVisible(actor: Actor, id: string): Promise<unknown> }; deliveries: DeliveryService;
}) {
  const { bots, whatsapp, agents, deliveries } = deps;
  const app = router();

  app.openapi(createRoute({ method: 'post', path: '/api/telegram/check', tags: ['Channels'],
    summary: 'Check a BotFather token before using it: the bot it belongs to, or why it cannot be used (unknown token, already connected to another agent)',
    request: jsonBody(z.strictObject({ token: z.string().max(200), agentId: z.string().max(100).optional() })),
    responses: { 200: ok(z.object({ id: z.number(), username: z.string(), firstName: z.string(), link: z.string() })), ...errorResponses(400, 401, 403, 502) } }),
  async (c) => {
    const actor = authorize(c.get('actor'), 'agent.create');
    const { token, agentId } = c.req.valid('json');
    if (agentId) await agents.getVisible(actor, agentId);
    const me = await bots.validate(token, agentId);
    return c.json({ ...me, link: `https://t.me/${me.username}` }, 200);
  });

  // ----- channels -----
  const Health = z.object({ lastInboundAt: z.string().nullable(), lastOutboundAt: z.string().nullable(), lastError: z.string().nullable(), lastErrorAt: z.string().nullable() });
  const WhatsAppView = z.object({
    provider: z.enum(['cloud', 'twilio']).nullable(), source: z.enum(['env', 'settings']).nullable(),
    cloud: z.object({ phoneNumberId: z.string(), graphUrl: z.string(), hasToken: z.boolean(), hasAppSecret: z.boolean(), hasVerifyToken: z.boolean() }).nullable(),
    twilio: z.object({ accountSid: z.string(), from: z.string(), apiUrl: z.string(), hasAuthToken: z.boolean() }).nullable(),
    webhookUrls: z.object({ cloud: z.string().nullable(), twilio: z.string().nullable() }), health: Health,
  }).openapi('WhatsAppSettings');
  const chTags = ['Channels'];
  app.openapi(createRoute({ method: 'get', path: '/api/channels/whatsapp', tags: chTags, summary: 'WhatsApp provider settings (secrets are never returned) and health',
    responses: { 200: ok(WhatsAppView), ...errorResponses(401) } }),
  async (c) => {
    authorize(c.get('actor'), 'channelAccount.read'); // customers do not see the operator's WhatsApp account
    return c.json(await whatsapp.view(), 200);
  });
  app.openapi(createRoute({ method: 'put', path: '/api/channels/whatsapp', tags: chTags, summary: 'Choose and configure the WhatsApp provider (owner, admin); omitted secrets keep their stored value',
    request: jsonBody(z.discriminatedUnion('provider', [
      z.strictObject({ provider: z.literal('cloud'), phoneNumberId: z.string().regex(/^\d{5,30}$/, 'must be the numeric phone number id'), token: z.string().min(1).max(1000).optional(), appSecret: z.string().min(1).max(200).optional(), verifyToken: z.string().min(1).max(200).nullable().optional(), graphUrl: z.url().optional() }),
      z.strictObject({ provider: z.literal('twilio'), accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must look like AC followed by 32 hex characters'), from: z.string().regex(/^(whatsapp:)?\+\d{6,16}$/, 'must be a number like whatsapp:+14155238886'), authToken: z.string().min(1).max(200).optional(), apiUrl: z.url().optional() }),
      z.strictObject({ provider: z.null() }),
    ])),
    responses: { 200: ok(WhatsAppView), ...errorResponses(400, 401, 403, 409) } }),
  async (c) => {
    await whatsapp.save(authorize(c.get('actor'), 'channelAccount.write'), c.req.valid('json'));
    return c.json(await whatsapp.view(), 200);
  });
  app.openapi(createRoute({ method: 'post', path: '/api/channels/whatsapp/test', tags: chTags, summary: 'Send a test message through the configured WhatsApp provider',
    request: jsonBody(z.strictObject({ to: z.string().regex(/^\+?[\d\s()-]{6,20}$/, 'must be a phone number such as +5511999999999') })),
    responses: { 200: ok(z.object({ ok: z.literal(true), providerMessageId: z.string().nullable() })), ...errorResponses(400, 401, 403, 502) } }),
  async (c) => {
    authorize(c.get('actor'), 'channelAccount.write');
    return c.json(await whatsapp.test(c.req.valid('json').to), 200);
  });
  app.openapi(createRoute({ method: 'get', path: '/api/channels/whatsapp/health', tags: chTags,
    summary: "One agent's WhatsApp traffic on the shared number: last message in, last reply out, last failed reply",
    request: { query: z.object({ agentId: z.string().max(100) }) },
    responses: { 200: ok(Health.openapi('ChannelHealth')), ...errorResponses(401, 404) } }),
  async (c) => {
    const { agentId } = c.req.valid('query');
    await agents.getVisible(authorize(c.get('actor'), 'agent.read'), agentId);
    return c.json(await whatsapp.health(agentId), 200);
  });
  app.openapi(createRoute({ method: 'get', path: '/api/channels/undelivered', tags: chTags, summary: 'Replies that could not be delivered (`failed`, `undelivered`) and messages that got no reply at all (`unanswered`), with the reason',
    request: { query: z.object({ agentId: z.string().max(100).optional() }) },
    responses: { 200: ok(z.object({ messages: z.array(z.object({ id: z.string(), channel: z.string(), agentId: z.string().nullable(), recipient: z.string(), text: z.string(), status: z.string(), lastError: z.string().nullable(), createdAt: z.string() })) })), ...errorResponses(401, 404) } }),
  async (c) => c.json({ messages: await deliveries.undelivered(authorize(c.get('actor'), 'agent.read'), c.req.valid('query').agentId) }, 200));

  app.openapi(createRoute({ method: 'get', path: '/api/channels/outbound', tags: chTags, summary: 'Latest messages sent on messaging channels — reply parts, and link codes, approval notices, handoff notices and test messages (`purpose`) — with delivery receipts (sent, delivered, read, failed). Link codes are stored and shown masked.',
    request: { query: z.object({ agentId: z.string().max(100).optional(), limit: z.coerce.number().int().min(1).max(500).optional() }) },
    responses: { 200: ok(z.object({ messages: z.array(z.object({ id: z.string(), channel: z.string(), agentId: z.string().nullable(), recipient: z.string(), text: z.string(), status: z.string(), delivery: z.string().nullable(), deliveryAt: z.string().nullable(), providerMessageId: z.string().nullable(), lastError: z.string().nullable(), createdAt: z.string(), sentAt: z.string().nullable(), purpose: z.enum(['reply', 'link_code', 'approval', 'test', 'human_reply', 'handoff_release', 'handoff', 'schedule', 'owner_link', 'site_alert']) })) })), ...errorResponses(401, 404) } }),
  async (c) => {
    const { agentId, limit } = c.req.valid('query');
    return c.json({ messages: await deliveries.outbound(authorize(c.get('actor'), 'agent.read'), agentId, limit ?? 100) }, 200);
  });

  return app;
}
