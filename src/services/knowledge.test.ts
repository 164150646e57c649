import { describe, expect, it } from 'vitest';
import type { KnowledgeHit } from '../domain/ports.js';
import { fuse } from './knowledge.js';

const hit = (id: string): KnowledgeHit => ({ chunkId: id, sourceId: 's', title: id, heading: '', url: null, text: id, score: 0 });

describe('reciprocal rank fusion', () => {
  it('ranks first what both rankings put high, and keeps what only one of them found', () => {
    const fused = fuse([[hit('a'), hit('b'), hit('c')], [hit('b'), hit('d'), hit('a')]], 10);
    expect(fused.map((h) => h.chunkId)).toEqual(['b', 'a', 'd', 'c']);
    expect(fused[0]!.score).toBeCloseTo(1 / 62 + 1 / 61, 6);
  });

  it('cuts at the limit and breaks ties by chunk id', () => {
    expect(fuse([[hit('x')], [hit('w')]], 1).map((h) => h.chunkId)).toEqual(['w']);
    expect(fuse([[], []], 5)).toEqual([]);
  });
});
