import { describe, expect, it } from 'vitest';
import type { SettingsRepo } from '../domain/ports.js';
import { DEFAULT_UNKNOWN_PRICE, priceService } from './prices.js';

function memorySettings(): SettingsRepo {
  const m = new Map<string, unknown>();
  return { get: async <T>(k: string) => m.get(k) as T | undefined, set: async (k, v) => void m.set(k, v), delete: async (k) => void m.delete(k) };
}

describe('prices', () => {
  it('prices a call from the table, with cached input at the cached rate', async () => {
    const p = priceService(memorySettings());
    const { costUsd, priced } = await p.cost('openai:gpt-4o-mini', { inputTokens: 1_000_000, outputTokens: 1_000_000, cachedInputTokens: 500_000 });
    expect(priced).toBe(true);
    expect(costUsd).toBeCloseTo(0.5 * 0.15 + 0.5 * 0.075 + 0.6, 10);
  });

  it('counts unknown models at the default price, never as free, and honours overrides', async () => {
    const p = priceService(memorySettings());
    const unknown = await p.cost('ollama:llama3', { inputTokens: 1_000_000, outputTokens: 0 });
    expect(unknown).toEqual({ costUsd: DEFAULT_UNKNOWN_PRICE.inputPerM, priced: false });
    await p.setOverride('ollama:llama3', { inputPerM: 0, outputPerM: 0 });
    expect(await p.cost('ollama:llama3', { inputTokens: 5, outputTokens: 5 })).toEqual({ costUsd: 0, priced: true });
  });
});
