/**
 * Which models each provider really serves, asked of the provider itself (`GET {baseURL}/models` on
 * OpenAI-compatible servers, Anthropic's models API) and kept for a while, so pickers, template
 * fallbacks and savings advice offer only models that exist there. A provider that cannot answer
 * (offline, no such endpoint) is "unknown" (undefined): callers then fall back to what the operator
 * declared and the price table, as before.
 */
import type { Clock } from '../domain/ports.js';
import type { ProviderConfig } from '../domain/types.js';
import { sha256 } from '../infra/system.js';

export interface ModelCatalogOptions {
  /** The provider's own list (the ChatModelPort's listModels): names, or undefined when it cannot say. */
  listModels: (p: ProviderConfig) => Promise<string[] | undefined>;
  clock?: Clock;
  /** How long a provider's answer is kept (default 10 minutes). */
  ttlMs?: number;
  /** How long "could not ask" is kept before asking again (default 30 seconds). */
  unknownTtlMs?: number;
  /** At most this many providers' lists are kept; the oldest goes first (default 64). */
  maxEntries?: number;
}

type Entry = { at: number; ttl: number; value: Promise<string[] | undefined>; settled?: string[] | undefined; done: boolean };

export function modelCatalog(opts: ModelCatalogOptions) {
  const ttlMs = opts.ttlMs ?? 10 * 60_000;
  const unknownTtlMs = opts.unknownTtlMs ?? 30_000;
  const maxEntries = opts.maxEntries ?? 64;
  const now = () => (opts.clock ? opts.clock.now().getTime() : Date.now());
  const entries = new Map<string, Entry>();

  // A change of address or key is a different catalogue; the key itself is never kept in the clear.
  const keyOf = (p: ProviderConfig) => `${p.name}\0${p.kind}\0${p.baseUrl ?? ''}\0${p.apiKey ? sha256(p.apiKey) : ''}`;

  function fetchInto(key: string, p: ProviderConfig): Entry {
    const entry: Entry = { at: now(), ttl: ttlMs, done: false, value: Promise.resolve(undefined) };
    entry.value = opts.listModels(p).then(
      (list) => (list ? [...new Set(list)].sort() : undefined),
      () => undefined,
    ).then((list) => {
      entry.settled = list;
      entry.done = true;
      if (!list) entry.ttl = unknownTtlMs;
      return list;
    });
    entries.delete(key);
    entries.set(key, entry);
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    return entry;
  }

  const fresh = (e: Entry | undefined): boolean => !!e && now() - e.at < e.ttl;

  return {
    /** The models `p` serves, asking it when the kept answer is missing or old. */
    served(p: ProviderConfig): Promise<string[] | undefined> {
      const key = keyOf(p);
      const hit = entries.get(key);
      return (hit && fresh(hit) ? hit : fetchInto(key, p)).value;
    },
    /**
     * What is known now, without waiting: for the chat path, which must never stall on a listing.
     * A missing or old answer is refreshed in the background for the next caller.
     */
    peek(p: ProviderConfig): string[] | undefined {
      const key = keyOf(p);
      const hit = entries.get(key);
      if (!fresh(hit)) fetchInto(key, p);
      return hit?.done ? hit.settled : undefined;
    },
    /** Forgets a provider's list (it was added, changed or removed), or every list. */
    invalidate(name?: string) {
      for (const key of [...entries.keys()]) if (name === undefined || key.startsWith(`${name}\0`)) entries.delete(key);
    },
    /** How many lists are kept (for tests of the bound). */
    get size() { return entries.size; },
  };
}
export type ModelCatalog = ReturnType<typeof modelCatalog>;
