/**
 * Packages loaded on first use instead of at start: integrations (Stripe, Twilio, mail, Telegram,
 * PostgreSQL, the web tools' HTML parsers) cost start time and resident memory even when they are not
 * configured. `lazyRequire('stripe')` answers a function that loads the package the first time it is
 * called (synchronously, through `require`, so code that verifies a webhook signature or classifies an
 * error stays synchronous) and answers the same module afterwards. Types come from `import type`.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}

/** The package's default export, whether it is published as CommonJS (`module.exports = X`) or with `exports.default`. */
export function lazyDefault<T>(id: string): () => T {
  const load = lazyRequire<{ default?: T } & T>(id);
  return () => { const m = load(); return (m.default ?? m) as T; };
}

/** The file `require` would load for a package, for code that loads it elsewhere (a worker thread). */
export const resolvePackage = (id: string): string => require.resolve(id);
