import { SendError } from '../domain/ports.js';

/**
 * How a platform's failure becomes a SendError, shared by every adapter: the remote API refused
 * (its own code and description, final unless it is a rate limit or an outage), or the network
 * failed (always retried). A network error is described by its kind only — never by the HTTP
 * client's message, which names the request URL, and a Bot API URL carries the bot token.
 */
export function networkFailure(platform: string, err: unknown): SendError {
  return new SendError(`network error: could not reach ${platform} (${networkCause(err)})`, true);
}

/** The system error code (ECONNREFUSED, ETIMEDOUT…) or the error's kind, never its message. */
export function networkCause(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown; error?: unknown }).cause ?? (e as { error?: unknown }).error, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
    const name = (e as { name?: unknown }).name;
    if (name === 'AbortError' || name === 'TimeoutError') return 'timed out';
  }
  return 'connection failed';
}

/** A refusal from the remote API: rate limits (429, with their wait) and outages (5xx) are retried, the rest is final. */
export function apiRefusal(description: string, status: number, opts: { code?: string | number; retryAfterMs?: number; final?: boolean; retry?: boolean } = {}): SendError {
  const rateLimited = status === 429;
  const retryable = !opts.final && (opts.retry || rateLimited || status >= 500);
  return new SendError(description, retryable, rateLimited ? (opts.retryAfterMs ?? 1000) : opts.retryAfterMs, opts.code ?? status);
}
