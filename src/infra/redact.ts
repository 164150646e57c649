/**
 * The second wall against secrets in text: every secret value the process learns (bot tokens,
 * API keys, webhook secrets, passwords from the environment) is registered here once, and any text
 * about to be stored, logged or sent to a client as an error can be passed through `maskSecrets`.
 * The first wall is that adapters never put secrets into their errors; this catches what slips by.
 */
const known = new Set<string>();
let pattern: RegExp | undefined;

const MIN_LENGTH = 8; // shorter values would mask ordinary words

function escape(s: string) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

/** Remembers a secret value (and its URL-encoded form) so it is masked wherever text is cleaned. */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < MIN_LENGTH) return;
  const forms = [value, encodeURIComponent(value)];
  let added = false;
  for (const f of forms) if (!known.has(f)) { known.add(f); added = true; }
  if (added) pattern = undefined;
}

/** Registers a secret just decrypted or loaded and hands it back: `asSecret(box.open(sealed))`. */
export function asSecret<T extends string | null | undefined>(value: T): T {
  registerSecret(value);
  return value;
}

/** Replaces every registered secret value in `text` with `[redacted]`. */
export function maskSecrets(text: string): string {
  if (known.size === 0 || !text) return text;
  pattern ??= new RegExp([...known].sort((a, b) => b.length - a.length).map(escape).join('|'), 'g');
  return text.replace(pattern, '[redacted]');
}

/** `maskSecrets` for a column that may be empty: how error text is written to a row. */
export function maskStored<T extends string | null | undefined>(text: T): T {
  return (typeof text === 'string' ? maskSecrets(text) : text) as T;
}

/** For tests: forget every registered value. */
export function clearSecrets(): void { known.clear(); pattern = undefined; }
