import { createRoute, z } from '@hono/zod-openapi';
import { router } from '../router.js';
import { ok, errorResponses } from '../schemas.js';

/** Inbound webhooks from messaging platforms. Each verifies, stores to the inbox, and answers at once. */
export function webhookRoutes() {
  const app = router();
  const tags = ['Webhooks'];

  app.openapi(createRoute({ method: 'post', path: '/webhooks/telegram/{agentId}', tags,
    summary: "Telegram updates (a JSON Update) for an agent's bot; requires X-Telegram-Bot-Api-Secret-Token, checked before the body is read",
    request: { params: z.object({ agentId: z.string().max(100) }) },
    responses: { 200: ok(z.object({})), ...errorResponses(400, 401, 404) } }),
  async (c) => {
    await c.get('services').telegram.handleWebhook(c.req.valid('param').agentId, c.req.header('x-telegram-bot-api-secret-token'), await c.req.text());
    return c.json({}, 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/webhooks/whatsapp', tags, summary: "Meta's verification handshake: answers hub.challenge when hub.verify_token matches",
    request: { query: z.object({ 'hub.mode': z.string().optional(), 'hub.verify_token': z.string().optional(), 'hub.challenge': z.string().optional() }) },
    responses: { 200: { description: 'The challenge, as plain text', content: { 'text/plain': { schema: z.string() } } }, ...errorResponses(403, 404) } }),
  async (c) => {
    const q = c.req.valid('query');
    return c.text(await c.get('services').whatsapp.verifyChallenge(q['hub.mode'], q['hub.verify_token'], q['hub.challenge']), 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/webhooks/whatsapp', tags, summary: 'WhatsApp Cloud API messages and statuses; requires X-Hub-Signature-256 over the raw body',
    responses: { 200: ok(z.object({})), ...errorResponses(400, 401, 404) } }),
  async (c) => {
    const raw = Buffer.from(await c.req.arrayBuffer());
    await c.get('services').whatsapp.handleCloud(raw, c.req.header('x-hub-signature-256'));
    return c.json({}, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/webhooks/twilio', tags, summary: 'Twilio WhatsApp messages and status callbacks; requires X-Twilio-Signature',
    responses: { 200: { description: 'Empty TwiML', content: { 'text/xml': { schema: z.string() } } }, ...errorResponses(403, 404) } }),
  async (c) => {
    const form = new URLSearchParams(await c.req.text());
    const params: Record<string, string | string[]> = {};
    for (const [k, v] of form) {
      const prev = params[k];
      params[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const url = new URL(c.req.url);
    await c.get('services').whatsapp.handleTwilio(url.pathname + url.search, c.req.url, params, c.req.header('x-twilio-signature'));
    return c.body('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', 200, { 'Content-Type': 'text/xml' });
  });

  return app;
}
