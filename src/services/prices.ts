import table from '../llm/prices.json' with { type: 'json' };
import type { SettingsRepo } from '../domain/ports.js';
import type { TokenUsage } from '../domain/types.js';

/**
 * A model's list price: per million tokens in and out (cached input at its own rate when there is one),
 * and for speech models per minute of audio heard (`perMinute`, transcription) or per million characters
 * spoken (`perMChars`, text to speech), added to the token price.
 */
export type Price = { inputPerM: number; outputPerM: number; cachedInputPerM?: number; perMinute?: number; perMChars?: number;
  /** The model accepts images (a person's photos are sent to it as image parts). */
  vision?: boolean };
/** What a speech call is priced by besides tokens: seconds of audio heard, characters spoken. */
export type MediaUsage = { audioSeconds?: number; characters?: number };
export type PriceRow = Price & { model: string; source: 'table' | 'override' };

const TABLE: Record<string, Price> = table.prices;
/** Counted for models with no known price, so nothing is ever silently free. Operators can change it. */
export const DEFAULT_UNKNOWN_PRICE: Price = { inputPerM: 5, outputPerM: 15 };

/** How long the operator's price settings are reused before they are read again (another process's change shows within this). */
const SETTINGS_TTL_MS = 2000;

export function priceService(settings: SettingsRepo, o: { now?: () => number } = {}) {
  const now = o.now ?? Date.now;
  // Every model call prices itself twice (the reservation, then the record): the two settings are read
  // at most once every two seconds instead of on each call, and at once after a change made here.
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  function setting<T>(key: string): Promise<T | undefined> {
    const hit = cache.get(key);
    if (hit && now() - hit.at < SETTINGS_TTL_MS) return hit.value as Promise<T | undefined>;
    const value = settings.get<T>(key);
    value.catch(() => { if (cache.get(key)?.value === value) cache.delete(key); });
    cache.set(key, { at: now(), value });
    return value;
  }
  const overrides = async () => ({ ...((await setting<Record<string, Price>>('prices.overrides')) ?? {}) });
  const defaultPrice = async () => (await setting<Price>('prices.default')) ?? DEFAULT_UNKNOWN_PRICE;

  async function lookup(model: string): Promise<{ price: Price; priced: boolean }> {
    const o = await overrides();
    const p = o[model] ?? TABLE[model];
    return p ? { price: p, priced: true } : { price: await defaultPrice(), priced: false };
  }

  return {
    checkedAt: table.checkedAt,
    lookup,
    isPriced: async (model: string) => (await lookup(model)).priced,
    /** Whether a model accepts images: its row (the operator's override first, then the table) says `vision: true`. */
    async acceptsImages(model: string): Promise<boolean> {
      const o = await overrides();
      return (o[model] ?? TABLE[model])?.vision === true;
    },
    catalog: () => Object.keys(TABLE),
    async list(): Promise<{ defaultPrice: Price; prices: PriceRow[] }> {
      const o = await overrides();
      const models = [...new Set([...Object.keys(TABLE), ...Object.keys(o)])].sort();
      return {
        defaultPrice: await defaultPrice(),
        prices: models.map((m) => ({ model: m, ...(o[m] ?? TABLE[m]!), source: o[m] ? 'override' : 'table' })),
      };
    },
    /** The writes take the transaction's settings when the caller records the change (SettingsService). */
    async setOverride(model: string, p: Price, s: SettingsRepo = settings) {
      await s.set('prices.overrides', { ...((await s.get<Record<string, Price>>('prices.overrides')) ?? {}), [model]: p });
      cache.clear();
      return { model, ...p, source: 'override' as const };
    },
    async clearOverride(model: string, s: SettingsRepo = settings) {
      const o = (await s.get<Record<string, Price>>('prices.overrides')) ?? {};
      const had = model in o;
      delete o[model];
      await s.set('prices.overrides', o);
      cache.clear();
      return had;
    },
    async setDefault(p: Price, s: SettingsRepo = settings) { await s.set('prices.default', p); cache.clear(); },
    /** USD for one call. Cached input tokens are billed at the cached rate when the table has one; speech adds its minutes or characters. */
    async cost(model: string, u: TokenUsage, media?: MediaUsage): Promise<{ costUsd: number; priced: boolean }> {
      const { price, priced } = await lookup(model);
      const cached = Math.min(u.cachedInputTokens ?? 0, u.inputTokens);
      let usd = ((u.inputTokens - cached) * price.inputPerM + cached * (price.cachedInputPerM ?? price.inputPerM) + u.outputTokens * price.outputPerM) / 1e6;
      if (media?.audioSeconds) usd += ((price.perMinute ?? 0) * media.audioSeconds) / 60;
      if (media?.characters) usd += ((price.perMChars ?? 0) * media.characters) / 1e6;
      return { costUsd: Math.round(usd * 1e10) / 1e10, priced };
    },
  };
}
export type PriceService = ReturnType<typeof priceService>;
