/**
 * The one error class thrown on purpose, and the one table that says which HTTP status each error
 * code is answered with. A code has exactly one status wherever it is thrown — a route, a service,
 * a chat stream's `error` event or the OpenAI-compatible endpoint — and the HTTP layer looks it up
 * here (`statusOf`) rather than guessing.
 */
export type FieldProblem = { path: string; message: string };

export type HttpStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 501 | 502 | 503 | 504;

/**
 * Error code → HTTP status. Where a peer system dictates the answer (a provider that documents the
 * status its webhook expects) the comment names it; everything else follows one rule per family:
 * bad input 400, not signed in 401, not allowed 403, not found 404, state conflict 409, too many
 * 429, our own failure 500, an upstream we depend on failed 502 (timed out 504), this server
 * cannot serve it right now (a model, an agent or a channel not available) 503.
 */
export const ERROR_STATUS = {
  // ----- request shape -----
  validation_failed: 400,
  /** /v1: an OpenAI parameter Switchboard cannot honour (n > 1, client tools, logprobs…), named in `param`. */
  unsupported_parameter: 400,
  /** A person message longer than the installation's limit (Settings; SWITCHBOARD_MAX_MESSAGE_CHARS). */
  message_too_long: 400,
  invalid_json: 400,
  payload_too_large: 413,
  workspace_full: 413,
  unsupported_media_type: 415,
  /** An upload (audio, image) over its kind's size or length limit; nothing is stored. */
  media_too_large: 413,
  /** An upload whose bytes are not one of the allowed audio or image formats (whatever its Content-Type said); nothing is stored. */
  unsupported_media: 415,
  http_error: 400,
  // ----- who is asking -----
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  account_suspended: 403,
  signup_closed: 403,
  plan_limit: 403,
  rate_limited: 429,
  too_many_attempts: 429,
  // ----- webhooks: a request whose secret or signature does not verify -----
  /** Ours (Telegram's secret token, WhatsApp Cloud's X-Hub-Signature-256): not authenticated. */
  invalid_signature: 401,
  /** Stripe dictates: its webhook guide answers a failed signature check with 400. */
  stripe_invalid_signature: 400,
  /** Twilio dictates: its request-validation guide answers a bad X-Twilio-Signature with 403. */
  twilio_invalid_signature: 403,
  /** Meta dictates: the verification handshake answers a wrong hub.verify_token with 403. */
  verify_token_mismatch: 403,
  invalid_update: 400,
  invalid_payload: 400,
  // ----- things that are not there -----
  not_found: 404,
  model_not_found: 404,
  // ----- accounts, links, mail -----
  invalid_token: 400,
  code_expired: 400,
  wrong_code: 400,
  email_taken: 409,
  already_set_up: 409,
  already_verified: 409,
  user_has_agents: 409,
  // ----- agents, files, providers -----
  version_conflict: 409,
  file_changed: 409,
  persona_file: 400,
  slug_taken: 409,
  agent_deleted: 409,
  agent_not_ready: 409,
  provisioning_in_progress: 409,
  provisioning_failed: 409,
  not_failed: 409,
  token_required: 400,
  plugins_unavailable: 400,
  billing_paused: 409,
  approval_closed: 409,
  provider_exists: 409,
  provider_from_env: 409,
  channel_from_env: 409,
  /** A person already took this conversation over (issue 15). */
  already_taken_over: 409,
  /** WhatsApp's 24-hour customer-service window is closed: only an approved template may be sent. */
  outside_window: 409,
  // ----- a feature this server is not set up for (the caller can do nothing about it but ask) -----
  mail_not_configured: 400,
  alerts_not_configured: 400,
  billing_not_configured: 400,
  /** Linking a phone and sending a test message both answer 503 (the test message said 400). */
  whatsapp_not_configured: 503,
  telegram_not_configured: 503,
  channel_not_configured: 503,
  /** A feature this installation has not set up (text to speech without SWITCHBOARD_TTS_MODEL): the client falls back on its own (the browser's speech synthesis). */
  not_configured: 501,
  // ----- billing -----
  plan_not_purchasable: 400,
  already_subscribed: 409,
  no_billing_account: 400,
  plan_in_use: 409,
  // ----- answering: the admission step and the model gateway -----
  agent_paused: 503,
  /** No model resolves, or the provider for it is not configured (a ProviderError of kind not_configured too). */
  no_model_configured: 503,
  /** The plan's messages or spend, the agent's budget or a person's cap: refused before any model call. */
  budget_exhausted: 429,
  provider_error: 502,
  provider_timeout: 504,
  // ----- other upstreams -----
  code_not_sent: 502,
  mail_failed: 502,
  telegram_unreachable: 502,
  telegram_webhook_failed: 502,
  whatsapp_send_failed: 502,
  /** A person's reply (or a hand-back notice) could not be delivered on the conversation's channel. */
  reply_not_delivered: 502,
  stripe_unreachable: 502,
  stripe_error: 502,
  stripe_rate_limited: 503,
  // ----- ours -----
  internal_error: 500,
} as const satisfies Record<string, HttpStatus>;

export type ErrorCode = keyof typeof ERROR_STATUS;
/** The codes answered with one status (e.g. every 409), for helpers that fix the status. */
export type CodeWithStatus<S extends HttpStatus> = { [K in ErrorCode]: (typeof ERROR_STATUS)[K] extends S ? K : never }[ErrorCode];

export const statusOf = (code: ErrorCode): HttpStatus => ERROR_STATUS[code];
export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_STATUS, code);

/**
 * Thrown on purpose; carries a stable code, the status the table gives that code, and a message
 * safe to show. The status argument must be the table's (the compiler checks it), so a reader of
 * the call site sees the status and the table stays the only source.
 */
export class AppError<C extends ErrorCode = ErrorCode> extends Error {
  constructor(
    readonly status: (typeof ERROR_STATUS)[C],
    readonly code: C,
    message: string,
    /** `details`: safe facts for the client, added to the error body (e.g. how many sign-in tries are left). */
    readonly extra: { fields?: FieldProblem[]; retryAfterSeconds?: number; details?: Record<string, number | boolean | string>; cause?: unknown } = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** An AppError from its code alone: the status comes from the table. */
export const appError = <C extends ErrorCode>(code: C, message: string, extra?: AppError['extra']) =>
  new AppError<C>(ERROR_STATUS[code], code, message, extra);

/** The code a model provider's failure is answered with (its kind comes from ProviderError). */
export function providerFailureCode(kind: 'api' | 'network' | 'timeout' | 'not_configured'): 'provider_timeout' | 'no_model_configured' | 'provider_error' {
  if (kind === 'timeout') return 'provider_timeout';
  if (kind === 'not_configured') return 'no_model_configured';
  return 'provider_error';
}
/** What people are told when a provider failed: never the provider's own words (they may carry URLs or keys). */
export const PROVIDER_FAILURE_MESSAGE = 'The model provider failed to answer. Try again in a moment.';

/** A wait as people say it: "in 40 seconds", "in a minute", "in 15 minutes" (never "in 886 seconds"). */
export function waitInWords(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `in ${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  if (m === 1) return 'in a minute';
  if (m < 120) return `in ${m} minutes`;
  const h = Math.ceil(m / 60);
  return `in ${h} hours`;
}

export const errors = {
  validation: (fields: FieldProblem[], message?: string) =>
    new AppError(400, 'validation_failed', message ?? fields.map((f) => (f.path ? `${f.path}: ${f.message}` : f.message)).join('; '), { fields }),
  badRequest: (code: CodeWithStatus<400>, message: string) => appError(code, message),
  unauthorized: (message = 'Sign in first: send the session cookie or Authorization: Bearer <token>.') =>
    new AppError(401, 'unauthorized', message),
  forbidden: (message = 'Your role does not allow this.') => new AppError(403, 'forbidden', message),
  notFound: (what: string) => new AppError(404, 'not_found', `${what} was not found.`),
  conflict: (code: CodeWithStatus<409>, message: string) => appError(code, message),
  rateLimited: (retryAfterSeconds: number) =>
    new AppError(429, 'rate_limited', `Too many attempts; try again ${waitInWords(retryAfterSeconds)}.`, { retryAfterSeconds }),
};
