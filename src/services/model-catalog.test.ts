import { describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../domain/types.js';
import { modelCatalog } from './model-catalog.js';

const provider = (over: Partial<ProviderConfig> = {}): ProviderConfig => ({ name: 'local', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:1/v1', apiKey: null, models: [], source: 'settings', ...over });

function setup(answer: (p: ProviderConfig) => string[] | undefined | Promise<string[] | undefined>, opts: { maxEntries?: number } = {}) {
  let t = Date.UTC(2026, 0, 1);
  const asked: string[] = [];
  const catalog = modelCatalog({
    listModels: async (p) => { asked.push(p.name); return answer(p); },
    clock: { now: () => new Date(t) }, ttlMs: 600_000, unknownTtlMs: 30_000, ...opts,
  });
  return { catalog, asked, advance: (ms: number) => { t += ms; } };
}

describe('modelCatalog', () => {
  it('asks once, keeps the answer for the TTL, then asks again', async () => {
    const { catalog, asked, advance } = setup(() => ['b', 'a', 'a']);
    await expect(catalog.served(provider())).resolves.toEqual(['a', 'b']);
    await Promise.all([catalog.served(provider()), catalog.served(provider())]);
    expect(asked).toHaveLength(1);
    advance(599_000);
    await catalog.served(provider());
    expect(asked).toHaveLength(1);
    advance(2_000);
    await catalog.served(provider());
    expect(asked).toHaveLength(2);
  });

  it('keeps "cannot say" only briefly, and a failure is "cannot say"', async () => {
    let fail = true;
    const { catalog, asked, advance } = setup(() => { if (fail) throw new Error('down'); return ['m']; });
    await expect(catalog.served(provider())).resolves.toBeUndefined();
    fail = false;
    await expect(catalog.served(provider())).resolves.toBeUndefined();
    advance(31_000);
    await expect(catalog.served(provider())).resolves.toEqual(['m']);
    expect(asked).toHaveLength(2);
  });

  it('asks again when the provider changes: invalidated by name, and a new address or key is a new list', async () => {
    const { catalog, asked } = setup((p) => [p.baseUrl ?? 'none']);
    await catalog.served(provider());
    await catalog.served(provider({ baseUrl: 'http://127.0.0.1:2/v1' }));
    await catalog.served(provider({ apiKey: 'k' }));
    expect(asked).toHaveLength(3);
    catalog.invalidate('local');
    expect(catalog.size).toBe(0);
    await catalog.served(provider());
    expect(asked).toHaveLength(4);
  });

  it('peek never waits: nothing at first, the answer once it came, and refreshes in the background', async () => {
    const { catalog, asked } = setup(() => ['x']);
    expect(catalog.peek(provider())).toBeUndefined();
    expect(asked).toHaveLength(1);
    await catalog.served(provider());
    expect(catalog.peek(provider())).toEqual(['x']);
    expect(asked).toHaveLength(1);
  });

  it('keeps at most maxEntries lists', async () => {
    const { catalog } = setup(() => ['x'], { maxEntries: 3 });
    for (let i = 0; i < 10; i++) await catalog.served(provider({ name: `p${i}` }));
    expect(catalog.size).toBe(3);
  });
});
