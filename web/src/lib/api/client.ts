// The transport under $lib/api: an openapi-fetch client typed by the generated schema.d.ts, and the
// one error type every failure becomes. Cookies (sb_session for the dashboard, sb_visitor for public
// chat) flow with `credentials: 'same-origin'`; the web app never handles tokens itself.
import createClient from 'openapi-fetch';
import type { paths } from './schema';
import { humanFieldMessage } from '../field-messages';

export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldError[];
  readonly retryAfter: number | null;
  /** The error body's other facts (e.g. a failed sign-in's `attemptsLeft`, `slowed`). */
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, fields: FieldError[] = [], retryAfter: number | null = null, details: Record<string, unknown> = {}) {
    super(message);
    this.details = details;
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }

  /**
   * The problem with one field path (exact match, or the first nested under it), in words for
   * people (lib/field-messages.ts); `required` says what to ask when the field is missing.
   */
  fieldMessage(path: string, required?: string): string | undefined {
    const f = this.fields.find((x) => x.path === path) ?? this.fields.find((x) => x.path.startsWith(path + '.') || x.path.startsWith(path + '['));
    return f && humanFieldMessage(f.path, f.message, required);
  }
}

/** Turn anything thrown into a message fit to show a person. */
export function errorMessage(err: unknown): string {
  // Validation refusals read "name: is required; …" (code-speak): say the first problem in words.
  if (err instanceof ApiError && err.fields.length) return humanFieldMessage(err.fields[0]!.path, err.fields[0]!.message) + (err.fields.length > 1 ? ` (and ${err.fields.length - 1} more)` : '');
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error && err.name === 'AbortError') return 'The request was cancelled.';
  if (err instanceof TypeError) return 'Could not reach the server. Check your connection and try again.';
  if (err instanceof Error) return err.message;
  return 'Something went wrong.';
}

/** The ApiError for a refused request, from the `{"error":{code,message,fields}}` body when there is one. */
export function apiError(res: Response, body: unknown): ApiError {
  const retry = res.headers.get('Retry-After');
  const retryAfter = retry && /^\d+$/.test(retry) ? Number(retry) : null;
  const e = (body as { error?: { code?: unknown; message?: unknown; fields?: unknown } } | null)?.error;
  if (e && typeof e.message === 'string') {
    const fields = Array.isArray(e.fields)
      ? e.fields.filter((f): f is FieldError => !!f && typeof f.path === 'string' && typeof f.message === 'string')
      : [];
    const { code: _c, message: _m, fields: _f, ...details } = e as Record<string, unknown>;
    return new ApiError(res.status, typeof e.code === 'string' ? e.code : 'error', e.message, fields, retryAfter, details);
  }
  return new ApiError(res.status, 'http_' + res.status, `The server answered ${res.status} ${res.statusText}`.trim(), [], retryAfter);
}

/** Reads a refused response's body (JSON or not) into an ApiError. */
export async function errorFrom(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON: a generic message */
  }
  return apiError(res, body);
}

let onUnauthorized: (() => void) | null = null;

/** Called when a signed-in request answers 401 (the session ended). The dashboard sets this. */
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

/** JSON answers only: the CSV and file downloads are read as blobs (unwrapFile). */
export const client = createClient<paths, 'application/json'>({
  credentials: 'same-origin',
  headers: { Accept: 'application/json' },
  // Looked up per call, so a fetch replaced after start-up (tests, extensions) is the one used.
  fetch: (req) => globalThis.fetch(req),
  // Empty query values are left out, as if not given.
  querySerializer: (q) => {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(q ?? {})) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
    return s.toString();
  },
});

client.use({
  onResponse({ request, response }) {
    if (response.status === 401 && onUnauthorized && !new URL(request.url, location.href).pathname.startsWith('/api/auth/login')) onUnauthorized();
  },
});

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The answer's body, or the ApiError it became. */
export async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw apiError(response, error ?? null);
  return data as T;
}

/** A file the server sends as an attachment; the name comes from Content-Disposition. */
export async function unwrapFile(call: Promise<Result<unknown>>): Promise<{ blob: Blob; filename: string | null }> {
  const { data, error, response } = await call;
  if (!response.ok) throw apiError(response, error ?? null);
  const cd = response.headers.get('Content-Disposition') ?? '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  return { blob: data as Blob, filename: m ? decodeURIComponent(m[1]) : null };
}
