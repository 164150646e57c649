/** The one error class thrown on purpose. It knows its HTTP status and a message safe to show. */
export type FieldProblem = { path: string; message: string };

export class AppError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 502 | 503 | 504,
    readonly code: string,
    message: string,
    readonly extra: { fields?: FieldProblem[]; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const errors = {
  validation: (fields: FieldProblem[], message?: string) =>
    new AppError(400, 'validation_failed', message ?? fields.map((f) => (f.path ? `${f.path}: ${f.message}` : f.message)).join('; '), { fields }),
  badRequest: (code: string, message: string) => new AppError(400, code, message),
  unauthorized: (message = 'Sign in first: send the session cookie or Authorization: Bearer <token>.') =>
    new AppError(401, 'unauthorized', message),
  forbidden: (message = 'Your role does not allow this.') => new AppError(403, 'forbidden', message),
  notFound: (what: string) => new AppError(404, 'not_found', `${what} was not found.`),
  conflict: (code: string, message: string) => new AppError(409, code, message),
  rateLimited: (retryAfterSeconds: number) =>
    new AppError(429, 'rate_limited', `Too many attempts; try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds }),
};
