/** Wires adapters into services: plain functions, no DI framework. */
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import type { Config } from './config/config.js';
import type { ChatModelPort, Clock, EventBus, IdGenerator, PasswordHasher, SecretBox, Store } from './domain/ports.js';
import { localEventBus, withConversationEvents } from './infra/events.js';
import { inFlightReplies, takeoverService } from './services/takeover.js';
import { openDb, migrate, ownerExists, type Dialect } from './store/db.js';
import { createStore } from './store/store.js';
import { argon2Hasher, randomIds, systemClock } from './infra/system.js';
import { aesGcmBox, loadSecretKey } from './infra/secret-box.js';
import { createLogger, type Logger } from './infra/logger.js';
import { accountService } from './services/accounts.js';
import { agentService } from './services/agents.js';
import { providerService } from './services/providers.js';
import { priceService } from './services/prices.js';
import { chatService } from './services/chat.js';
import { ownerService } from './services/owner.js';
import type { InboundMessage } from './domain/ports.js';
import { scheduleService } from './services/schedules.js';
import { voiceService } from './services/voice.js';
import { previewService } from './services/preview.js';
import { admissionService } from './services/admission.js';
import { completionService } from './services/completions.js';
import { modelGateway } from './llm/model-gateway.js';
import { usageService } from './services/usage.js';
import { analyticsService } from './services/analytics.js';
import { createMetrics, withUsageMetrics, type Metrics } from './infra/metrics.js';
import { loadTemplates } from './services/templates.js';
import { inboxService } from './services/inbox.js';
import { visitorService } from './services/visitors.js';
import { telegramChannel } from './channels/telegram/telegram-channel.js';
import { whatsappChannel } from './channels/whatsapp/whatsapp-channel.js';
import { channelRegistry } from './channels/registry.js';
import { deliveryService } from './services/deliveries.js';
import { whatsappConfigStore } from './channels/whatsapp/config.js';
import { whatsappRouter } from './services/routing.js';
import type { Router } from './services/inbox.js';
import { linkService } from './services/linking.js';
import { memoryService } from './services/memory.js';
import { provisioningService } from './services/provisioning.js';
import { createJobQueue, type JobQueue } from './jobs/index.js';
import { budgetService } from './services/budget.js';
import { alertService, storedSmtp } from './services/alerts.js';
import { billingService, planLimits } from './services/billing.js';
import { stripeGateway } from './infra/stripe-gateway.js';
import { parseSmtpUrl, smtpMailer } from './infra/mail.js';
import { safeFetcher } from './infra/safe-fetch.js';
import { registerSecret } from './infra/redact.js';
import { auditService } from './services/audit.js';
import { toolbox as createToolbox } from './tools/toolbox.js';
import { knowledgeProvider } from './tools/knowledge-tool.js';
import { knowledgeService } from './services/knowledge.js';
import { execProvider } from './tools/exec.js';
import { webFetchProvider, webSearchProvider, type SearchConfig } from './tools/web.js';
import { pluginProvider, preparePlugins } from './tools/plugins.js';
import { approvalService } from './services/approvals.js';
import { handoffService } from './services/handoff.js';
import { handoffProvider } from './tools/handoff-tool.js';
import { conversationService } from './services/conversations.js';
import { settingsService, signupSwitch } from './services/settings.js';
import type { EmbeddingPort, MediaStorage, SpeechPort } from './domain/ports.js';
import { mediaService } from './services/media.js';
import { siteWatchService } from './services/site-watch.js';
import { SITE_REPORT_KIND, siteReportService } from './services/site-report.js';
import { diskMediaStorage, memoryMediaStorage, s3MediaStorage } from './infra/media-storage.js';

type ModelOptions = { timeoutMs: number; maxRetries: number };

/**
 * The model ports over the AI SDK, which loads (`ai`, `@ai-sdk/*`) with the first model call rather than at
 * start: an install that is idle, or has no model yet, does not pay for it. Once loaded, calls go straight to
 * the adapter's ports.
 */
function lazyModelPorts(opts: ModelOptions): { llm: ChatModelPort; embeddings: EmbeddingPort; speech: SpeechPort; load(): Promise<void> } {
  let chat: ChatModelPort | undefined;
  let embed: EmbeddingPort | undefined;
  let speech: SpeechPort | undefined;
  let loading: Promise<void> | undefined;
  const load = () => (loading ??= import('./llm/ai-sdk-adapter.js').then((m) => { chat = m.aiSdkChatModel(opts); embed = m.aiSdkEmbeddings(opts); speech = m.aiSdkSpeech(opts); }));
  return {
    llm: {
      stream: (req) => chat ? chat.stream(req) : (async function* () { await load(); yield* chat!.stream(req); })(),
      listModels: async (provider) => { if (!chat) await load(); return chat!.listModels(provider); },
    },
    embeddings: { embed: async (req) => { if (!embed) await load(); return embed!.embed(req); } },
    speech: {
      transcribe: async (req) => { if (!speech) await load(); return speech!.transcribe(req); },
      speak: async (req) => { if (!speech) await load(); return speech!.speak(req); },
    },
    load,
  };
}

function searchConfig(c: Config): SearchConfig | undefined {
  if (c.SWITCHBOARD_SEARCH_PROVIDER === 'searxng' && c.SEARXNG_URL) return { provider: 'searxng', url: c.SEARXNG_URL };
  if (c.SWITCHBOARD_SEARCH_PROVIDER === 'brave' && c.BRAVE_API_KEY) return { provider: 'brave', apiKey: c.BRAVE_API_KEY, url: c.BRAVE_API_URL };
  if (c.SWITCHBOARD_SEARCH_PROVIDER === 'tavily' && c.TAVILY_API_KEY) return { provider: 'tavily', apiKey: c.TAVILY_API_KEY, url: c.TAVILY_API_URL };
  return undefined;
}

export const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export type Services = ReturnType<typeof buildServices>;

export type Infra = { store: Store; ids: IdGenerator; clock: Clock; hasher: PasswordHasher; box: SecretBox; /** The instance secret the box and visitor ids are keyed by. */ secretKey: Buffer; llm: ChatModelPort; embeddings: EmbeddingPort; queue: JobQueue; log: Logger; metrics: Metrics;
  /** Conversation events (live inbox, open web chats); the store announces every message on it. */
  events: EventBus;
  /** Speech to text and text to speech (the AI SDK's, unless a test passes its own). */
  speech?: SpeechPort;
  /** Where media files live (default: S3 when configured, else DATA_DIR/media; memory with DATA_DIR=':memory:'). */
  mediaStorage?: MediaStorage };

/** The media storage the configuration asks for: an S3-compatible bucket, or files under DATA_DIR/media. */
export function mediaStorageFor(config: Config): MediaStorage {
  if (config.SWITCHBOARD_MEDIA_S3_BUCKET && config.SWITCHBOARD_MEDIA_S3_ENDPOINT && config.SWITCHBOARD_MEDIA_S3_ACCESS_KEY_ID && config.SWITCHBOARD_MEDIA_S3_SECRET_ACCESS_KEY) {
    registerSecret(config.SWITCHBOARD_MEDIA_S3_SECRET_ACCESS_KEY);
    return s3MediaStorage({
      bucket: config.SWITCHBOARD_MEDIA_S3_BUCKET, endpoint: config.SWITCHBOARD_MEDIA_S3_ENDPOINT, region: config.SWITCHBOARD_MEDIA_S3_REGION,
      accessKeyId: config.SWITCHBOARD_MEDIA_S3_ACCESS_KEY_ID, secretAccessKey: config.SWITCHBOARD_MEDIA_S3_SECRET_ACCESS_KEY, pathStyle: config.SWITCHBOARD_MEDIA_S3_PATH_STYLE,
    });
  }
  return config.DATA_DIR === ':memory:' ? memoryMediaStorage() : diskMediaStorage(join(config.DATA_DIR, 'media'));
}

/** Settings that hold a secret value: registered with the redactor at start, so no stored or logged text carries them. */
const SECRET_SETTING = /(_KEY|TOKEN|SECRET|PASSWORD)$/;

export function buildServices(config: Config, infra: Infra) {
  const { store, ids, clock, hasher, box, llm, log, queue, metrics, events } = infra;
  for (const [k, v] of Object.entries(config)) if (SECRET_SETTING.test(k) && typeof v === 'string') registerSecret(v);
  if (config.SMTP_URL) registerSecret(parseSmtpUrl(config.SMTP_URL).pass);
  const prices = priceService(store.settings);
  const providers = providerService({ env: config, repo: store.providers, settings: store.settings, box, prices, clock, listModels: (p) => llm.listModels(p), store });
  // A customer's plan and what it allows: one reader for budgets, schedules, the site watch and knowledge.
  const limitsFor = planLimits({ store, clock });
  const budget = budgetService({ store, prices, providers, clock, ids, log: log.child({ service: 'budget' }), queue, limitsFor });
  // Every model call (chat, summaries, routing, /v1, embeddings) goes through the gateway: admitted, reserved, metered, recorded.
  const gateway = modelGateway({
    llm, providers, prices, budget, log: log.child({ service: 'models' }),
    embeddings: config.SWITCHBOARD_EMBEDDING_MODEL ? { port: infra.embeddings, model: config.SWITCHBOARD_EMBEDDING_MODEL } : undefined,
    speech: infra.speech ? { port: infra.speech, sttModel: config.SWITCHBOARD_STT_MODEL, ttsModel: config.SWITCHBOARD_TTS_MODEL } : undefined,
  });
  // Voice notes and images: checked, stored once (disk or S3), served to who may see them, expired and erased with their owners.
  const media = mediaService({
    store, storage: infra.mediaStorage ?? mediaStorageFor(config), clock, ids, queue, log: log.child({ service: 'media' }),
    retentionDays: config.SWITCHBOARD_MEDIA_RETENTION_DAYS, gateway,
    linkKey: createHmac('sha256', infra.secretKey).update('switchboard media link v1').digest(),
  });
  // Every way in (web chat, message API, Telegram, WhatsApp, /v1) admits a message through this one step.
  const signup = signupSwitch({ settings: store.settings, fromEnv: config.SWITCHBOARD_SIGNUP });
  const settings = settingsService({
    providers, prices, store, users: store.users, signup,
    defaultModelFromEnv: !!config.SWITCHBOARD_DEFAULT_MODEL, maxMessageCharsDefault: config.SWITCHBOARD_MAX_MESSAGE_CHARS,
  });
  const admission = admissionService({ budget, settings, store, clock, ids });
  const memory = memoryService({ store, queue, clock, log: log.child({ service: 'memory' }), gateway, dropMediaFiles: (keys) => media.dropFiles(keys),
    hasKnowledge: (agent) => knowledge.has(agent) }); // (knowledge is built below; asked only once messages arrive)
  // The one way to fetch a URL someone else chose: private addresses refused unless the install allows them.
  const fetcher = safeFetcher({ allowPrivate: config.SWITCHBOARD_ALLOW_PRIVATE_URLS });
  const mail = smtpMailer({ smtpUrl: config.SMTP_URL, from: config.SMTP_FROM, publicUrl: config.PUBLIC_URL, stored: () => storedSmtp(store.settings, box) });
  const alerts = alertService({ store, box, mail, log: log.child({ service: 'alerts' }) });
  // The site watch: uptime checks, audits and up/down alerts of an agent's site (issue 17), all through the fetcher's guard.
  const siteWatch = siteWatchService({
    store, queue, clock, ids, fetcher, alerts, log: log.child({ service: 'site-watch' }), checkTimeoutMs: config.SWITCHBOARD_SITE_CHECK_TIMEOUT_MS,
    deliverOwner: (agent, text) => owner.deliver(agent, text),
    minIntervalFor: async (ownerId) => (await limitsFor(ownerId)).plan?.minCheckIntervalMinutes,
  });
  // Handoff requested by the person or the agent: marks needsHuman once and tells the owner (issue 15).
  const handoff = handoffService({
    store, events, clock, log: log.child({ service: 'handoff' }), queue, alerts, publicUrl: config.PUBLIC_URL,
    send: (m) => channels.send(m), bots: { views: (ids) => telegram.views(ids) },
  });
  // The agent's knowledge base: files, pages and sites, synced by a durable job, searched by the knowledge_search tool (issue 18).
  const knowledge = knowledgeService({
    store, queue, fetcher, clock, log: log.child({ service: 'knowledge' }),
    limits: { fileBytes: config.SWITCHBOARD_KNOWLEDGE_MAX_FILE_BYTES, agentBytes: config.SWITCHBOARD_KNOWLEDGE_MAX_AGENT_BYTES, maxPages: config.SWITCHBOARD_KNOWLEDGE_MAX_PAGES, crawlDelayMs: config.SWITCHBOARD_KNOWLEDGE_CRAWL_DELAY_MS },
    // Chunks and queries are embedded through the metered gateway (purpose `embedding`), when a model is configured.
    embedder: config.SWITCHBOARD_EMBEDDING_MODEL ? { model: config.SWITCHBOARD_EMBEDDING_MODEL, embed: (agent, texts) => gateway.embed({ agent, texts, channel: 'api', conversationId: null }) } : undefined,
    capsFor: async (userId) => {
      const plan = (await limitsFor(userId)).plan;
      return plan ? { maxKnowledgeSources: plan.maxKnowledgeSources ?? null, maxKnowledgePages: plan.maxKnowledgePages ?? null, maxKnowledgeBytes: plan.maxKnowledgeBytes ?? null } : null;
    },
  });
  const toolbox = createToolbox({
    store, log: log.child({ service: 'tools' }), memoryTools: (agent, personId) => memory.tools(agent, personId), notesWritable: (agent, personId) => memory.notesWritable(agent, personId),
    planTools: (agent) => budget.toolsAllowed(agent),
    hold: () => approvals.hold,
    providers: [
      execProvider({ store, log: log.child({ service: 'exec' }), concurrency: config.SWITCHBOARD_EXEC_CONCURRENCY }),
      webFetchProvider({ fetcher }),
      webSearchProvider(searchConfig(config)),
      pluginProvider({ box, allowPrivate: config.SWITCHBOARD_ALLOW_PRIVATE_URLS }),
      handoffProvider({ tool: (agent, conversationId) => handoff.tool(agent, conversationId) }),
      { names: ['site_audit'], build: (ctx) => [siteWatch.tool(ctx.agent)] },
      knowledgeProvider({ has: (agent) => knowledge.has(agent), tool: (agent) => knowledge.tool(agent) }),
    ],
  });
  // Answers being generated, by conversation: a takeover cuts them (services/takeover.ts).
  const replies = inFlightReplies();
  // Spoken replies (the agent's voice.reply, the web chat's play button): metered as `speech`, kept as media.
  const voice = voiceService({ store, gateway, media, clock, log: log.child({ service: 'voice' }) });
  const chat = chatService({ store, gateway, providers, clock, log: log.child({ service: 'chat' }), memory, admission, toolbox, replies, handoff, media, prices, voice, knowledge });
  // Channels register their adapters here; the inbox answers on whichever channel a message came from.
  // A Telegram `/start <code>` from the owner link makes that chat the agent's owner chat; anything else goes to the inbox.
  const acceptInbound = async (m: InboundMessage) => ((await owner.claim(m)) ? { duplicate: false } : inbox.accept(m));
  const channels = channelRegistry({ store, clock, log: log.child({ service: 'channels' }), queue, accept: acceptInbound, ingress: () => inbox.receiving() });
  const routers = new Map<string, Router>();
  const inbox = inboxService({ store, chat, clock, log: log.child({ service: 'inbox' }), senders: channels.senders, routers, media, options: { concurrency: config.SWITCHBOARD_WORKER_CONCURRENCY, leaseMs: config.SWITCHBOARD_INBOX_LEASE_MS, baseBackoffMs: config.SWITCHBOARD_SEND_RETRY_MS, maxSendAttempts: config.SWITCHBOARD_SEND_ATTEMPTS },
    onSendFailure: (channel, final) => metrics.sendFailure(channel, final),
  });
  const telegram = telegramChannel({
    store, box, ids, clock, log: log.child({ service: 'telegram' }), apiRoot: config.TELEGRAM_API_ROOT, publicUrl: config.PUBLIC_URL,
    pollTimeoutSeconds: config.SWITCHBOARD_TELEGRAM_POLL_TIMEOUT_S, accept: acceptInbound,
  });
  // Plans always limit; payments only when Stripe is configured.
  const billing = billingService({
    store, clock, log: log.child({ service: 'billing' }), channels: telegram, graceDays: config.SWITCHBOARD_BILLING_GRACE_DAYS, publicUrl: config.PUBLIC_URL,
    gateway: config.STRIPE_SECRET_KEY && config.STRIPE_WEBHOOK_SECRET
      ? stripeGateway({ secretKey: config.STRIPE_SECRET_KEY, webhookSecret: config.STRIPE_WEBHOOK_SECRET, apiUrl: config.STRIPE_API_URL, clock, log: log.child({ service: 'stripe' }) })
      : undefined,
  });
  channels.register(telegram.adapter);
  const whatsapp = whatsappChannel({
    store, clock, log: log.child({ service: 'whatsapp' }), config: whatsappConfigStore(config, store.settings, box), publicUrl: config.PUBLIC_URL,
    // Twilio sends a spoken reply from a public URL: a signed, expiring link to that one file.
    mediaLink: (mediaId: string) => { const path = media.signedPath(mediaId); return path && config.PUBLIC_URL ? config.PUBLIC_URL + path : undefined; },
  });
  for (const a of whatsapp.adapters) channels.register(a);
  const router = whatsappRouter({
    store, gateway, clock, log: log.child({ service: 'routing' }), routerModel: config.SWITCHBOARD_ROUTER_MODEL,
    onSwitch: (personId, fromAgentId) => memory.end(fromAgentId, personId, 'switched_agent'),
  });
  routers.set('whatsapp', router);
  const approvals = approvalService({
    store, box, clock, ids, log: log.child({ service: 'approvals' }), hours: config.SWITCHBOARD_APPROVAL_HOURS, publicUrl: config.PUBLIC_URL,
    toolFor: () => async (agent, conv, name) => toolbox.resolve({ agent, personId: conv.personId, conversationId: conv.id }, name),
    notify: async (conv, agent, text) => {
      const person = await store.people.byId(conv.personId);
      if (person) await channels.send({ channel: conv.channel, agentId: agent.id, to: person.externalId, text, purpose: 'approval' });
    },
  });
  routers.set('twilio', router);
  const templates = loadTemplates(join(ROOT_DIR, 'templates'));
  const provisioning = provisioningService({
    store, queue, box, clock, log: log.child({ service: 'provisioning' }), telegram, chat, templates,
    fetcher, siteTimeoutMs: config.SWITCHBOARD_SITE_CHECK_TIMEOUT_MS, dropMediaFiles: (keys) => media.dropFiles(keys),
    addSiteReport: (agent) => siteReport.ensure(schedules, agent),
    addSiteSource: (agentId, url) => knowledge.addSiteSource(agentId, url),
    watchSite: async (agentId) => { const a = await store.agents.byId(agentId); if (a) await siteWatch.watch(a); },
  });
  // The owner's chat with the agent (one-time Telegram link) and delivery to the owner (schedules, site alerts, reports).
  const owner = ownerService({
    store, clock, log: log.child({ service: 'owner' }), send: (m) => channels.send(m), mail, fetcher,
    botUsername: async (agentId) => (await telegram.views([agentId])).get(agentId)?.username || undefined,
  });
  const schedules = scheduleService({
    store, clock, queue, log: log.child({ service: 'schedules' }), chat, owner,
    capsFor: async (userId) => {
      const l = await limitsFor(userId);
      return l.plan ? { maxSchedules: l.plan.maxSchedules ?? null, minScheduleMinutes: l.plan.minScheduleMinutes ?? null } : null;
    },
    timezoneOf: async (userId) => (await store.users.byId(userId))?.timezone ?? null,
    tickMs: config.SWITCHBOARD_SCHEDULE_TICK_MS, lateMs: config.SWITCHBOARD_SCHEDULE_LATE_MS, staleMs: config.SWITCHBOARD_SCHEDULE_STALE_MS,
  });
  // The weekly site report of website agents: a schedule kind whose figures are computed here, the next steps written by the agent.
  const siteReport = siteReportService({ store, log: log.child({ service: 'site-report' }), alerts, queue });
  schedules.registerKind(SITE_REPORT_KIND, siteReport.kind);
  // Each module that owns background work declares its jobs (name, payload, retries, final failure); the queue learns them here.
  for (const job of [...memory.jobs, ...alerts.jobs, ...channels.jobs, ...provisioning.jobs, ...handoff.jobs, ...media.jobs, ...schedules.jobs, ...siteWatch.jobs, ...knowledge.jobs, ...siteReport.jobs]) queue.register(job);
  const agents = agentService({ store, providers, templates, telegram, provisioning, describeTools: (agent) => toolbox.describe(agent),
    // The plan of the agent's owner sets the shortest uptime-check interval a customer may choose.
    checkSiteSettings: async (actor, agent, next, input) => siteWatch.checkSettings(actor, agent, next, input, (await limitsFor(agent.ownerId)).plan?.minCheckIntervalMinutes ?? undefined),
    siteWatchChanged: (agent) => siteWatch.watch(agent),
    preparePlugins: (input, current) => preparePlugins(input, current, box, { allowPrivate: config.SWITCHBOARD_ALLOW_PRIVATE_URLS }) });
  const conversations = conversationService({ store, chat, inbox, memory, events, clock, media });
  // A person steps in: take over, reply by hand on the person's channel, hand back (and the automatic hand-back).
  const takeover = takeoverService({
    store, events, clock, log: log.child({ service: 'takeover' }), replies, send: (m) => channels.send(m), view: conversations.view,
  });
  return {
    config,
    store,
    log,
    prices,
    providers,
    mail,
    accounts: accountService({ store, hasher, ids, clock, mail, log: log.child({ service: 'accounts' }), signupOpen: signup.open }),
    audit: auditService({ store }),
    agents,
    provisioning,
    chat,
    preview: previewService({ store, gateway, providers, admission, memory, toolbox, ids, log: log.child({ service: 'preview' }) }),
    completions: completionService({ agents: store.agents, people: store.people, clock, gateway, admission, providers }),
    gateway,
    media,
    owner,
    schedules,
    siteWatch,
    siteReport,
    voice,
    admission,
    memory,
    budget,
    alerts,
    toolbox,
    approvals,
    handoff,
    knowledge,
    queue,
    usage: usageService({ store, clock }),
    conversations,
    takeover,
    settings,
    analytics: analyticsService({ store, clock }),
    metrics,
    events,
    inbox,
    telegram,
    whatsapp,
    channels,
    deliveries: deliveryService({ inbox: store.inbox, agents }),
    billing,
    visitors: visitorService({ secretKey: infra.secretKey, clock, perMinute: config.SWITCHBOARD_ANON_PER_MINUTE }),
    links: linkService({ store, clock, sendText: (phone, text) => channels.send({ channel: 'whatsapp', agentId: null, to: phone, text, purpose: 'link_code' }), linkHours: config.SWITCHBOARD_LINK_HOURS }),
  };
}

/** The cross-process event bus, listening before the server takes requests; a long message is loaded by the receiving process. */
async function startPgEvents(url: string, schema: string | undefined, store: Store, log: Logger): Promise<EventBus> {
  const { pgEventBus } = await import('./infra/pg-events.js'); // loads `pg` only on PostgreSQL
  const bus = pgEventBus({
    connectionString: url, schema, log: log.child({ service: 'events' }),
    load: {
      message: async (conversationId, messageId) => (await store.conversations.messages(conversationId, 20)).find((m) => m.id === messageId)
        ?? (await store.conversations.messages(conversationId)).find((m) => m.id === messageId),
      conversation: (id) => store.conversations.byId(id),
    },
  });
  await bus.start();
  return bus;
}

/** Opens the database, migrates it, and builds every service from the configuration. */
export async function createServices(config: Config, overrides: Partial<Infra> & { pgSchema?: string } = {}): Promise<{ services: Services; dialect: Dialect; /** SWITCHBOARD_ADMIN_PASSWORD's hash, started before migrating when no owner exists yet (undefined if it failed: hash again). */ ownerPasswordHash?: Promise<string | undefined>; /** Loads the AI SDK now rather than with the first model call (no-op with an `llm` override). */ warmModels(): Promise<void> }> {
  const log = overrides.log ?? createLogger(config.SWITCHBOARD_LOG_LEVEL, { app: 'switchboard' });
  const pgSchema = overrides.pgSchema ?? config.SWITCHBOARD_DATABASE_SCHEMA;
  const { db, dialect } = openDb({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, pgSchema, warn: (w) => log.warn('data directory is readable by other users', w) });
  // A new installation with the owner in the environment: the password is hashed while the migrations run.
  const hasher = overrides.hasher ?? argon2Hasher;
  const ownerPasswordHash = config.SWITCHBOARD_ADMIN_EMAIL && config.SWITCHBOARD_ADMIN_PASSWORD && !(await ownerExists(db))
    ? hasher.hash(config.SWITCHBOARD_ADMIN_PASSWORD).catch(() => undefined) : undefined;
  await migrate(db, pgSchema);
  const clock = overrides.clock ?? systemClock;
  // One registry per server; every model call is counted where its usage row is written.
  const metrics = overrides.metrics ?? createMetrics({ log: log.child({ service: 'metrics' }) });
  const base = withUsageMetrics(overrides.store ?? createStore(db, overrides.ids ?? randomIds, clock), metrics);
  // One process: the in-process bus. On PostgreSQL (possibly several processes): LISTEN/NOTIFY carries events between them.
  const events = overrides.events ?? (dialect === 'postgres' && config.DATABASE_URL ? await startPgEvents(config.DATABASE_URL, pgSchema, base, log) : localEventBus(log.child({ service: 'events' })));
  const store = withConversationEvents(base, events);
  const queue = overrides.queue ?? createJobQueue({
    dialect, db, databaseUrl: config.DATABASE_URL, pgSchema, clock, log: log.child({ service: 'jobs' }),
    concurrency: config.SWITCHBOARD_JOB_CONCURRENCY, retryDelaySeconds: config.SWITCHBOARD_JOB_RETRY_SECONDS,
  });
  metrics.watch({ inbox: () => store.inbox.counts(), outbox: () => store.analytics.outboxCounts(), jobs: () => queue.counts() });
  const modelOpts = { timeoutMs: config.SWITCHBOARD_MODEL_TIMEOUT_MS, maxRetries: config.SWITCHBOARD_MODEL_MAX_RETRIES };
  const secretKey = overrides.secretKey ?? loadSecretKey(config.SWITCHBOARD_SECRET_KEY, config.DATA_DIR);
  const models = lazyModelPorts(modelOpts);
  const services = buildServices(config, {
    store,
    queue,
    ids: overrides.ids ?? randomIds,
    clock,
    embeddings: overrides.embeddings ?? models.embeddings,
    speech: overrides.speech ?? models.speech,
    mediaStorage: overrides.mediaStorage,
    hasher,
    box: overrides.box ?? aesGcmBox(secretKey),
    secretKey,
    llm: overrides.llm ?? models.llm,
    log,
    metrics,
    events,
  });
  return { services, dialect, ownerPasswordHash, warmModels: overrides.llm ? async () => {} : models.load };
}
