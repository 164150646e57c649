import { OpenAPIHono } from '@hono/zod-openapi';
import { join } from 'node:path';
import type { AppEnv } from './http/context.js';
import type { Services } from './deps.js';
import { ROOT_DIR } from './deps.js';
import { onError } from './http/errors.js';
import { AppError, errors } from './domain/errors.js';
import { authenticate, refuseFormPosts, requestContext } from './http/middleware/request-context.js';
import { accountRoutes } from './http/routes/accounts.js';
import { agentRoutes } from './http/routes/agents.js';
import { providerRoutes } from './http/routes/providers.js';
import { publicRoutes } from './http/routes/public.js';
import { openaiRoutes } from './http/routes/openai.js';
import { webhookRoutes } from './http/routes/webhooks.js';
import { channelRoutes } from './http/routes/channels.js';
import { memoryRoutes } from './http/routes/memory.js';
import { takeoverRoutes } from './http/routes/takeover.js';
import { inboxRoutes } from './http/routes/inbox.js';
import { budgetRoutes } from './http/routes/budget.js';
import { approvalRoutes } from './http/routes/approvals.js';
import { handoffRoutes } from './http/routes/handoff.js';
import { billingRoutes } from './http/routes/billing.js';
import { auditRoutes } from './http/routes/audit.js';
import { analyticsRoutes } from './http/routes/analytics.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { metaRoutes } from './http/routes/meta.js';
import { previewRoutes } from './http/routes/preview.js';
import { scheduleRoutes } from './http/routes/schedules.js';
import { mediaRoutes } from './http/routes/media.js';
import { siteRoutes } from './http/routes/site.js';
import { UPLOAD_PATH } from './http/upload.js';
import { knowledgeRoutes, KNOWLEDGE_UPLOAD_PATH } from './http/routes/knowledge.js';
import { httpMetrics } from './http/middleware/metrics.js';
import { renderReference } from './http/docs.js';
import { serveSpa } from './http/static.js';
import { frameGuard } from './http/middleware/frame-guard.js';
import { bodyLimit } from './http/middleware/body-limit.js';

export type AppOptions = { webRoot?: string; ready?: () => boolean };

/** Builds the whole HTTP app. It never listens: main.ts does, and tests call app.request() or serve it. */
export function createApp(services: Services, opts: AppOptions = {}) {
  const app = new OpenAPIHono<AppEnv>();
  app.onError(onError);
  app.use('*', requestContext({ log: services.log }));
  app.use('*', httpMetrics({ metrics: services.metrics }));
  app.use('*', frameGuard()); // no HTML page of ours is framed by another site
  const apiBodyLimit = bodyLimit({ maxSize: services.config.SWITCHBOARD_MAX_BODY_BYTES, onError: () => { throw new AppError(413, 'payload_too_large', `The request body is larger than ${services.config.SWITCHBOARD_MAX_BODY_BYTES} bytes.`); } });
  // File uploads (audio up to 25 MB) read their own body with their own bound (http/upload.ts).
  app.use('/api/*', (c, next) => (c.req.method === 'POST' && (UPLOAD_PATH.test(c.req.path) || KNOWLEDGE_UPLOAD_PATH.test(c.req.path)) ? next() : apiBodyLimit(c, next)));
  app.use('/webhooks/*', bodyLimit({ maxSize: 1_048_576, onError: () => { throw new AppError(413, 'payload_too_large', 'The request body is too large.'); } }));
  app.use('/v1/*', bodyLimit({ maxSize: services.config.SWITCHBOARD_MAX_BODY_BYTES * 4, onError: () => { throw new AppError(413, 'payload_too_large', 'The request body is too large.'); } }));
  app.use('/api/*', refuseFormPosts({ customHeaderRoutes: [KNOWLEDGE_UPLOAD_PATH], customHeader: 'x-filename' }));
  // Webhooks under /api (Stripe's) act for no user: they are verified by signature, never by a session or bearer token.
  const auth = authenticate({ accounts: services.accounts });
  app.use('/api/*', (c, next) => (c.req.path.startsWith('/api/webhooks/') ? next() : auth(c, next)));
  app.use('/v1/*', auth);

  app.get('/health', (c) => (opts.ready?.() ?? true) ? c.json({ status: 'ok' }) : c.json({ status: 'starting' }, 503));

  // Each route group gets only the services it calls (openai still reads them from the context).
  const s = services;
  const c = services.config;
  app.route('/', accountRoutes({ accounts: s.accounts, options: { secureCookies: c.secureCookies, trustedProxies: c.trustedProxies, publicUrl: c.PUBLIC_URL } }));
  app.route('/', agentRoutes({ agents: s.agents, provisioning: s.provisioning, conversations: s.conversations, owner: s.owner }));
  app.route('/', previewRoutes({ preview: s.preview }));
  app.route('/', providerRoutes({ providers: s.providers, prices: s.prices, settings: s.settings, usage: s.usage }));
  app.route('/', publicRoutes({ conversations: s.conversations, links: s.links, visitors: s.visitors, media: s.media, voice: s.voice, secureCookies: c.secureCookies, trustedProxies: c.trustedProxies }));
  app.route('/', openaiRoutes({ agents: s.agents, completions: s.completions }));
  app.route('/', webhookRoutes({ channels: s.channels }));
  app.route('/', channelRoutes({ bots: s.telegram, whatsapp: s.whatsapp, agents: s.agents, deliveries: s.deliveries }));
  // Before memoryRoutes: /api/conversations/stream must not be taken for /api/conversations/{id}.
  app.route('/', inboxRoutes({ conversations: s.conversations }));
  app.route('/', memoryRoutes({ memory: s.memory, conversations: s.conversations }));
  app.route('/', takeoverRoutes({ takeover: s.takeover }));
  app.route('/', analyticsRoutes({ analytics: s.analytics }));
  app.route('/', budgetRoutes({ budget: s.budget, alerts: s.alerts }));
  app.route('/', approvalRoutes({ approvals: s.approvals }));
  app.route('/', handoffRoutes({ handoff: s.handoff }));
  app.route('/', auditRoutes({ audit: s.audit }));
  app.route('/', metricsRoutes({ metrics: s.metrics, token: c.METRICS_TOKEN }));
  app.route('/', billingRoutes({ billing: s.billing }));
  app.route('/', metaRoutes({ settings: s.settings }));
  app.route('/', mediaRoutes({ media: s.media, visitors: s.visitors, voice: s.voice }));
  app.route('/', scheduleRoutes({ schedules: s.schedules, owner: s.owner }));
  app.route('/', siteRoutes({ siteWatch: s.siteWatch, siteReport: s.siteReport }));
  app.route('/', knowledgeRoutes({ knowledge: s.knowledge }));

  const document = {
    openapi: '3.1.0',
    info: { title: 'Switchboard', version: '0.1.0', description: 'Agents for people: web chat, usage accounting, an OpenAI-compatible endpoint.' },
    components: { securitySchemes: { bearer: { type: 'http' as const, scheme: 'bearer' }, session: { type: 'apiKey' as const, in: 'cookie' as const, name: 'sb_session' } } },
    security: [{ bearer: [] as string[] }, { session: [] as string[] }] as Record<string, string[]>[],
  };
  app.doc31('/api/openapi.json', document);
  let reference: string | undefined;
  app.get('/api/docs', (c) => c.html((reference ??= renderReference(app.getOpenAPI31Document(document) as never))));

  app.all('/api/*', () => { throw errors.notFound('This API route'); });
  app.all('/v1/*', () => { throw errors.notFound('This API route'); });
  app.all('/webhooks/*', () => { throw errors.notFound('This webhook'); });
  app.use('*', serveSpa(opts.webRoot ?? join(ROOT_DIR, 'web', 'build')));
  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'Not found.' } }, 404));
  return app;
}
export type App = ReturnType<typeof createApp>;
