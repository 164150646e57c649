// Which models Switchboard knows a price for (the price table plus overrides). A model without
// one is still counted, at the default price for unknown models, so wherever a model is shown
// next to a cost the UI flags it (ModelName.svelte).
import { api, type PricesResponse } from './api';

let cached: { at: number; prices: Promise<PricesResponse> } | null = null;
const TTL_MS = 30_000;

/** `isPriced(model)`: true/false, or null when the price list could not be loaded. */
export async function loadPricing(): Promise<(model: string) => boolean | null> {
  if (!cached || Date.now() - cached.at > TTL_MS) cached = { at: Date.now(), prices: api.prices() };
  try {
    const known = new Set((await cached.prices).prices.map((p) => p.model));
    return (model) => known.has(model);
  } catch {
    cached = null;
    return () => null;
  }
}

/** Forget the cached list (after a price was set or reset). */
export function pricingChanged(): void {
  cached = null;
}
