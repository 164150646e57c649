/**
 * The process's one logger: pino, writing one JSON object per line, behind the small `Logger` type
 * the code base calls (`log.info(msg, data)`, `log.child(bindings)`), so call sites do not depend on
 * pino's argument order. Each service gets a named child and each request a child carrying its
 * request id (http/middleware/request-context.ts), so every line of a request names it.
 *
 * Two walls keep secrets out of the lines: fields are redacted by name (password, secret, token,
 * api key, authorization, cookie — at any depth, in data and in child bindings), and every string
 * (the message, string fields, error messages and stacks) passes through `maskSecrets`, which replaces
 * any secret value the process has registered (infra/redact.ts).
 */
import { pino, stdTimeFunctions, type DestinationStream } from 'pino';
import { maskSecrets } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export interface Logger {
  debug(msg: string, data?: Record<string, unknown>): void;
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
  error(msg: string, data?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

const SECRET_KEYS = /pass(word)?|secret|token|api_?key|authorization|cookie/i;
const MAX_DEPTH = 5;

/** A copy of `v` with secret-named fields replaced, registered secret values masked, and errors made plain. */
export function cleanLogData(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return maskSecrets(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth > MAX_DEPTH) return '[too deep]';
  if (v instanceof Error) return { name: v.name, message: maskSecrets(v.message), stack: v.stack === undefined ? undefined : maskSecrets(v.stack) };
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => cleanLogData(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, SECRET_KEYS.test(k) ? '[redacted]' : cleanLogData(x, depth + 1)]));
}

const clean = (o: Record<string, unknown>) => cleanLogData(o) as Record<string, unknown>;

function wrap(p: pino.Logger): Logger {
  return {
    debug: (msg, data) => p.debug(data ?? {}, msg),
    info: (msg, data) => p.info(data ?? {}, msg),
    warn: (msg, data) => p.warn(data ?? {}, msg),
    error: (msg, data) => p.error(data ?? {}, msg),
    child: (bindings) => wrap(p.child(clean(bindings))),
  };
}

/**
 * A logger at `level` (SWITCHBOARD_LOG_LEVEL; `silent` writes nothing) with `bindings` on every line.
 * Lines go to stdout, or to `write` (one JSON line at a time, without the newline) — how tests read them.
 */
export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}, write?: (line: string) => void): Logger {
  // process.stdout rather than pino's own file descriptor writer: one writer for the process, as before, so
  // whatever wraps or watches stdout (a test, a supervisor's pipe) sees the lines.
  const destination: DestinationStream = write ? { write: (line: string) => write(line.replace(/\n$/, '')) } : process.stdout;
  const p = pino({
    level,
    base: undefined, // no pid or hostname: the bindings say which process this is
    timestamp: stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: clean,
    },
    hooks: {
      // The message (the string argument) is masked as well as the fields.
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? maskSecrets(a) : a)) as Parameters<typeof method>);
      },
    },
  }, destination);
  return Object.keys(bindings).length ? wrap(p).child(bindings) : wrap(p);
}
