import { z } from 'zod';
import { parseTrustedProxies, type TrustedProxies } from '../infra/client-address.js';
import { MESSAGE_CHARS_RANGE } from '../domain/schemas.js';

/** Every setting Switchboard reads from the environment, parsed once and frozen. */
const EnvShape = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /**
   * How long an idle HTTP connection is kept open for its next request. Longer than a reverse proxy's
   * idle timeout for its upstream connections (nginx and most load balancers: 60 s), so the proxy never
   * sends a request on a connection Switchboard is closing (a 502 for a webhook) and a burst reuses the
   * proxy's open connections instead of opening new ones, which Node accepts one per turn of its event loop.
   */
  SWITCHBOARD_KEEPALIVE_SECONDS: z.coerce.number().int().min(1).max(600).default(65),
  DATA_DIR: z.string().min(1).default('./data'),
  PUBLIC_URL: z
    .url({ message: 'must be an absolute URL such as https://bots.example.com' })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// (unset it to use SQLite in DATA_DIR)')
    .optional(),
  SWITCHBOARD_DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase PostgreSQL identifier').optional(),
  SWITCHBOARD_ADMIN_EMAIL: z.email().optional(),
  SWITCHBOARD_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  /** Deprecated alias: true means SWITCHBOARD_TRUSTED_PROXIES=1 (one proxy in front). */
  SWITCHBOARD_TRUST_PROXY: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1').default(false),
  /** The reverse proxies in front of the server: a number of hops, or their addresses/CIDRs; the client address is the rightmost X-Forwarded-For entry they did not add. */
  SWITCHBOARD_TRUSTED_PROXIES: z.string().transform((v, ctx) => {
    const t = parseTrustedProxies(v);
    if ('error' in t) { ctx.addIssue({ code: 'custom', message: `${t.error} (e.g. 1, or 127.0.0.1,10.0.0.0/8)` }); return z.NEVER; }
    return t;
  }).optional(),
  /** Anonymous requests (public chat messages, link codes, uploads) one client address may make per minute, per process. */
  SWITCHBOARD_ANON_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(30),
  SWITCHBOARD_SECRET_KEY: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$|^[A-Za-z0-9+/]{43}=$/, 'must be 32 bytes as 64 hex characters or base64')
    .optional(),
  SWITCHBOARD_DEFAULT_MODEL: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*:.+$/, 'must look like provider:model, e.g. openai:gpt-4o-mini')
    .optional(),
  SWITCHBOARD_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  SWITCHBOARD_MAX_BODY_BYTES: z.coerce.number().int().positive().default(1_048_576),
  /** Characters one person message may have, on every way in; the default of the setting the dashboard edits (Settings). */
  SWITCHBOARD_MAX_MESSAGE_CHARS: z.coerce.number().int().min(MESSAGE_CHARS_RANGE.min).max(MESSAGE_CHARS_RANGE.max).default(16_000),
  /** Bearer token Prometheus sends to GET /metrics; without it, only requests from this machine (loopback) may read them. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (e.g. openssl rand -hex 32)').optional(),
  /** open: anyone may create a customer account at POST /api/auth/register. */
  SWITCHBOARD_SIGNUP: z.enum(['open', 'closed']).optional(),
  /** The SMTP server for account mail (and alerts); wins over the SMTP settings in the dashboard. The message never echoes the value (it holds a password). */
  SMTP_URL: z.string()
    .refine((u) => { try { const x = new URL(u); return (x.protocol === 'smtp:' || x.protocol === 'smtps:') && !!x.hostname; } catch { return false; } },
      'must look like smtp://user:password@host:587 or smtps://user:password@host:465')
    .optional(),
  SMTP_FROM: z.string().max(320)
    .regex(/^[^<>@\s]+@[^<>@\s]+$|^[^<>]*<[^<>@\s]+@[^<>@\s]+>$/, 'must be an address, e.g. Switchboard <noreply@example.com>')
    .optional(),
  SWITCHBOARD_MODEL_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  SWITCHBOARD_MODEL_MAX_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  TELEGRAM_API_ROOT: z.url().transform((u) => u.replace(/\/+$/, '')).default('https://api.telegram.org'),
  SWITCHBOARD_TELEGRAM_POLL_TIMEOUT_S: z.coerce.number().int().min(0).max(50).default(25),
  SWITCHBOARD_WORKER_CONCURRENCY: z.coerce.number().int().min(0).max(64).default(8),
  SWITCHBOARD_EXEC_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  SWITCHBOARD_INBOX_LEASE_MS: z.coerce.number().int().min(500).max(3_600_000).default(60_000),
  SWITCHBOARD_SEND_RETRY_MS: z.coerce.number().int().min(10).max(600_000).default(1_000),
  SWITCHBOARD_SEND_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  WHATSAPP_TOKEN: z.string().min(1).optional(),
  WHATSAPP_PHONE_NUMBER_ID: z.string().regex(/^\d{5,30}$/, 'must be the numeric phone number id from Meta').optional(),
  WHATSAPP_APP_SECRET: z.string().min(1).optional(),
  WHATSAPP_VERIFY_TOKEN: z.string().min(1).optional(),
  WHATSAPP_GRAPH_URL: z.url().transform((u) => u.replace(/\/+$/, '')).default('https://graph.facebook.com'),
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must look like AC followed by 32 hex characters').optional(),
  TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
  TWILIO_WHATSAPP_FROM: z.string().regex(/^(whatsapp:)?\+\d{6,16}$/, 'must be a number like whatsapp:+14155238886').optional(),
  TWILIO_API_URL: z.url().transform((u) => u.replace(/\/+$/, '')).default('https://api.twilio.com'),
  SWITCHBOARD_ROUTER_MODEL: z.string().regex(/^[a-z0-9][a-z0-9_-]*:.+$/, 'must look like provider:model').optional(),
  SWITCHBOARD_LINK_HOURS: z.coerce.number().min(1).max(24 * 365).default(24),
  /** Let the server fetch URLs on private, loopback and link-local addresses (customer sites on a LAN). Off: only public addresses. */
  /** How long a tool call held for the owner's approval waits before it expires. */
  SWITCHBOARD_APPROVAL_HOURS: z.coerce.number().min(0.01).max(24 * 30).default(24),
  /** The web_search tool's provider; without one the tool is not offered. */
  SWITCHBOARD_SEARCH_PROVIDER: z.enum(['searxng', 'brave', 'tavily']).optional(),
  SEARXNG_URL: z.url().optional(),
  BRAVE_API_KEY: z.string().min(1).optional(),
  BRAVE_API_URL: z.url().default('https://api.search.brave.com'),
  TAVILY_API_KEY: z.string().min(1).optional(),
  TAVILY_API_URL: z.url().default('https://api.tavily.com'),
  SWITCHBOARD_ALLOW_PRIVATE_URLS: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1').default(false),
  /** How long the provisioning site check waits for a customer's website, redirects included. */
  SWITCHBOARD_SITE_CHECK_TIMEOUT_MS: z.coerce.number().int().min(500).max(60_000).default(10_000),
  /** An embedding model (provider:model) for hybrid memory search; without it, full-text search alone ranks. */
  /** Knowledge base (issue 18): the largest uploaded file, the total of one agent's files, the most pages a site source may read. */
  SWITCHBOARD_KNOWLEDGE_MAX_FILE_BYTES: z.coerce.number().int().min(1024).default(20 * 1024 * 1024),
  SWITCHBOARD_KNOWLEDGE_MAX_AGENT_BYTES: z.coerce.number().int().min(1024).default(100 * 1024 * 1024),
  SWITCHBOARD_KNOWLEDGE_MAX_PAGES: z.coerce.number().int().min(1).max(50_000).default(1000),
  /** Polite crawling: the wait between one crawler worker's requests to a site (the site's Crawl-delay wins when longer). */
  SWITCHBOARD_KNOWLEDGE_CRAWL_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(500),
  SWITCHBOARD_EMBEDDING_MODEL: z.string().regex(/^[a-z0-9][a-z0-9_-]*:.+$/, 'must look like provider:model').optional(),
  /** How often idle sessions are looked for, closed and queued for summary. */
  SWITCHBOARD_SESSION_SWEEP_SECONDS: z.coerce.number().min(1).max(3600).default(60),
  /** Background jobs (summaries, compaction) run at once per process; 0 runs none here (another process does). */
  /** First wait before a failed background job (a summary) is tried again; it doubles after each failure. */
  SWITCHBOARD_JOB_RETRY_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  SWITCHBOARD_JOB_CONCURRENCY: z.coerce.number().int().min(0).max(64).default(2),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z
    .url()
    .refine((u) => /\/v1\/?$/.test(u), 'must end in /v1, e.g. http://localhost:11434/v1')
    .optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.url().optional(),
  /** Stripe billing: the secret (or restricted) API key and the webhook endpoint's signing secret, set together. Without them there is no billing; plans still limit. */
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_\S+$/, 'must be a Stripe secret key (sk_live_…, sk_test_…) or restricted key (rk_…)').optional(),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_\S+$/, 'must be the webhook endpoint signing secret, starting with whsec_').optional(),
  /** Where the Stripe API is (tests point it at a fake). */
  STRIPE_API_URL: z.url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL').transform((u) => u.replace(/\/+$/, '')).default('https://api.stripe.com'),
  /** Days a customer may stay past due before their agents are paused. */
  SWITCHBOARD_BILLING_GRACE_DAYS: z.coerce.number().min(0).max(365).default(7),
  /** How often each process looks for due schedule slots (ms); a due slot is queued once across processes. */
  SWITCHBOARD_SCHEDULE_TICK_MS: z.coerce.number().int().min(20).max(600_000).default(15_000),
  /** A slot run more than this long after its time (ms; e.g. missed while the server was down) is marked late. */
  SWITCHBOARD_SCHEDULE_LATE_MS: z.coerce.number().int().min(1000).max(86_400_000).default(120_000),
  /** A schedule run still `running` this long after it started was cut off by a crash: it is marked failed ("interrupted"). */
  SWITCHBOARD_SCHEDULE_STALE_MS: z.coerce.number().int().min(60_000).max(86_400_000).default(1_800_000),
  /** Days a voice note or image is kept (record and file); the retention job deletes it after. */
  SWITCHBOARD_MEDIA_RETENTION_DAYS: z.coerce.number().min(1).max(36_500).default(90),
  /** S3-compatible media storage (AWS S3, R2, MinIO…); without a bucket, media live under DATA_DIR/media. Bucket, endpoint, keys set together. */
  SWITCHBOARD_MEDIA_S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3–63 lowercase letters, digits, dots, hyphens)').optional(),
  SWITCHBOARD_MEDIA_S3_ENDPOINT: z.url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL, e.g. https://s3.eu-central-1.amazonaws.com').transform((u) => u.replace(/\/+$/, '')).optional(),
  SWITCHBOARD_MEDIA_S3_REGION: z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be a region name such as eu-central-1 (auto for R2)').default('us-east-1'),
  SWITCHBOARD_MEDIA_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  SWITCHBOARD_MEDIA_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Path-style addressing (<endpoint>/<bucket>/<key>), which MinIO and most self-hosted servers need; off: <bucket>.<endpoint host>. */
  SWITCHBOARD_MEDIA_S3_PATH_STYLE: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1').default(false),
  /** Speech to text (provider:model, e.g. openai:whisper-1 or openai:gpt-4o-mini-transcribe); without it voice notes are not transcribed. */
  SWITCHBOARD_STT_MODEL: z.string().regex(/^[a-z0-9][a-z0-9_-]*:.+$/, 'must look like provider:model, e.g. openai:whisper-1').optional(),
  /** Text to speech (provider:model, e.g. openai:gpt-4o-mini-tts); without it replies are not spoken by the server. */
  SWITCHBOARD_TTS_MODEL: z.string().regex(/^[a-z0-9][a-z0-9_-]*:.+$/, 'must look like provider:model, e.g. openai:gpt-4o-mini-tts').optional(),
});

export type Config = Readonly<z.infer<typeof EnvShape>> & {
  readonly secureCookies: boolean;
  /** SWITCHBOARD_TRUSTED_PROXIES, or one hop for the deprecated SWITCHBOARD_TRUST_PROXY=true; undefined: the TCP peer is the client. */
  readonly trustedProxies: TrustedProxies | undefined;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError listing every bad variable at once. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset": shells and .env files often leave VAR= behind.
  const cleaned = Object.fromEntries(
    Object.keys(EnvShape.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = EnvShape.safeParse(cleaned);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if ((cleaned.SWITCHBOARD_ADMIN_EMAIL === undefined) !== (cleaned.SWITCHBOARD_ADMIN_PASSWORD === undefined)) {
    problems.push('SWITCHBOARD_ADMIN_EMAIL and SWITCHBOARD_ADMIN_PASSWORD must be set together');
  }
  const needs = { searxng: ['SEARXNG_URL'], brave: ['BRAVE_API_KEY'], tavily: ['TAVILY_API_KEY'] } as const;
  const search = cleaned.SWITCHBOARD_SEARCH_PROVIDER as keyof typeof needs | undefined;
  for (const v of search ? needs[search] : []) if (!cleaned[v]) problems.push(`${v} is required when SWITCHBOARD_SEARCH_PROVIDER=${search}`);
  if ((cleaned.STRIPE_SECRET_KEY === undefined) !== (cleaned.STRIPE_WEBHOOK_SECRET === undefined)) {
    problems.push('STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET must be set together (without the webhook secret, payments would never reach Switchboard)');
  }
  const s3 = ['SWITCHBOARD_MEDIA_S3_BUCKET', 'SWITCHBOARD_MEDIA_S3_ENDPOINT', 'SWITCHBOARD_MEDIA_S3_ACCESS_KEY_ID', 'SWITCHBOARD_MEDIA_S3_SECRET_ACCESS_KEY'] as const;
  if (s3.some((k) => cleaned[k] !== undefined) && !s3.every((k) => cleaned[k] !== undefined)) {
    problems.push(`${s3.join(', ')} must be set together (media stay under DATA_DIR/media without them)`);
  }
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const c = parsed.data;
  const trustedProxies = c.SWITCHBOARD_TRUSTED_PROXIES ?? (c.SWITCHBOARD_TRUST_PROXY ? { hops: 1 } : undefined);
  return Object.freeze({ ...c, secureCookies: c.PUBLIC_URL?.startsWith('https://') ?? false, trustedProxies });
}
