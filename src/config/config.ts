import { z } from 'zod';

/** Every setting Switchboard reads from the environment, parsed once and frozen. */
const EnvShape = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
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
  SWITCHBOARD_TRUST_PROXY: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1').default(false),
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
  /** Bearer token Prometheus sends to GET /metrics; without it, only requests from this machine (loopback) may read them. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (e.g. openssl rand -hex 32)').optional(),
  SWITCHBOARD_MODEL_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  SWITCHBOARD_MODEL_MAX_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  TELEGRAM_API_ROOT: z.url().transform((u) => u.replace(/\/+$/, '')).default('https://api.telegram.org'),
  SWITCHBOARD_TELEGRAM_POLL_TIMEOUT_S: z.coerce.number().int().min(0).max(50).default(25),
  SWITCHBOARD_WORKER_CONCURRENCY: z.coerce.number().int().min(0).max(64).default(8),
  SWITCHBOARD_INBOX_LEASE_MS: z.coerce.number().int().min(500).max(3_600_000).default(60_000),
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
  /** An embedding model (provider:model) for hybrid memory search; without it, full-text search alone ranks. */
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
});

export type Config = Readonly<z.infer<typeof EnvShape>> & { readonly secureCookies: boolean };

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
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const c = parsed.data;
  return Object.freeze({ ...c, secureCookies: c.PUBLIC_URL?.startsWith('https://') ?? false });
}
