/** rankLocally: BM25 over one person's candidate summaries (SQLite's recall ranks them itself, migration 0031). */
import { describe, expect, it } from 'vitest';
import { rankLocally } from './memory.js';

describe('rankLocally', () => {
  it('ranks the text with more of the rarer words first, counting word forms', () => {
    const texts = [
      'We talked about the weather and the weekend.',
      'The person asked where their order was; two orders were late and one was ordered twice.',
      'A refund for an order that arrived broken.',
      'Shipping times for the weekend.',
    ];
    const r = rankLocally(texts, ['order', 'refund']);
    const best = r.map((x, i) => [x, i] as const).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
    expect(best.slice(0, 2)).toEqual([2, 1]); // both words beat three forms of one
    expect(r[1]!).toBeGreaterThan(r[0]!);
    expect(r[0]!).toBeGreaterThan(0); // no word found: still above zero, so recency orders it
    expect(r[0]).toBeCloseTo(r[3]!, 9);
  });

  it('answers for no texts and for words found nowhere', () => {
    expect(rankLocally([], ['order'])).toEqual([]);
    expect(rankLocally(['nothing here'], ['order'])).toHaveLength(1);
  });
});
