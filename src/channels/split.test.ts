import { describe, expect, it } from 'vitest';
import { splitMessage, type SplitOptions } from './split.js';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const cpLen = (s: string) => Array.from(s).length;

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

/** Common invariants for every chunking. */
function checkChunks(chunks: string[], limit: number, opts: SplitOptions = {}): void {
  const len = opts.unit === 'codepoint' ? cpLen : (s: string) => s.length;
  for (const c of chunks) {
    expect(len(c)).toBeLessThanOrEqual(limit);
    expect(c.length).toBeGreaterThan(0);
    expect(c).toBe(c.trim());
    expect(hasLoneSurrogate(c)).toBe(false);
  }
}

/** Plain chunks must appear in order in the input, separated only by whitespace; returns the cut offsets. */
function locate(input: string, chunks: string[]): number[] {
  const cuts: number[] = [];
  let at = 0;
  for (const c of chunks) {
    const i = input.indexOf(c, at);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(input.slice(at, i).trim()).toBe('');
    cuts.push(i, i + c.length);
    at = i + c.length;
  }
  expect(input.slice(at).trim()).toBe('');
  return cuts;
}

const graphemeBoundaries = (s: string) => new Set([...Array.from(segmenter.segment(s), (g) => g.index), s.length]);

describe('splitMessage', () => {
  it('returns [] for empty or whitespace-only text, one chunk when it fits', () => {
    expect(splitMessage('', 10)).toEqual([]);
    expect(splitMessage(' \n\n ', 10)).toEqual([]);
    expect(splitMessage('  hello  ', 10)).toEqual(['hello']);
    expect(() => splitMessage('x', 0)).toThrow(RangeError);
  });

  it('splits 2049 emoji (4098 UTF-16 units) at 4096 without breaking a surrogate pair', () => {
    const input = '😀'.repeat(2049);
    const chunks = splitMessage(input, 4096);
    expect(chunks).toHaveLength(2);
    checkChunks(chunks, 4096);
    for (const c of chunks) {
      const last = c.charCodeAt(c.length - 1);
      expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
    }
    expect(chunks.join('')).toBe(input);
    expect(chunks[0].length).toBe(4096);
  });

  it('counts code points when unit is codepoint', () => {
    const input = '😀'.repeat(4097);
    const chunks = splitMessage(input, 4096, { unit: 'codepoint' });
    expect(chunks.map(cpLen)).toEqual([4096, 1]);
    checkChunks(chunks, 4096, { unit: 'codepoint' });
    expect(chunks.join('')).toBe(input);
  });

  it("splits 'é'.repeat(4097) (precomposed) into 4096 + 1", () => {
    const input = 'é'.repeat(4097);
    const chunks = splitMessage(input, 4096);
    expect(chunks.map((c) => c.length)).toEqual([4096, 1]);
    expect(chunks.join('')).toBe(input);
  });

  it('never separates a combining mark from its base (decomposed e + U+0301)', () => {
    const input = 'e\u0301'.repeat(3000); // 6000 units, grapheme = 2 units
    const chunks = splitMessage(input, 4095);
    checkChunks(chunks, 4095);
    expect(chunks.join('')).toBe(input);
    for (const c of chunks) {
      expect(c.startsWith('e')).toBe(true);
      expect(c.endsWith('\u0301')).toBe(true);
    }
    expect(chunks[0].length).toBe(4094);
  });

  it('keeps ZWJ family emoji whole across a boundary', () => {
    const family = '👨‍👩‍👧'; // 8 UTF-16 units, one grapheme
    expect(family.length).toBe(8);
    const input = 'ab ' + family.repeat(20);
    const chunks = splitMessage(input, 4 * 8 + 3); // boundary falls inside the 5th family emoji
    checkChunks(chunks, 35);
    const bounds = graphemeBoundaries(input);
    for (const cut of locate(input, chunks)) expect(bounds.has(cut)).toBe(true);
    for (const c of chunks.slice(1)) expect(c.length % 8).toBe(0);
  });

  it('falls back to a code point cut when a single grapheme exceeds the limit', () => {
    const input = 'a' + '\u0301'.repeat(20);
    const chunks = splitMessage(input, 8);
    checkChunks(chunks, 8);
    expect(chunks.join('')).toBe(input);
  });

  it('splits a 4097-unit message into 4096 + 1 with a hard cut, or at a space', () => {
    expect(splitMessage('a'.repeat(4097), 4096).map((c) => c.length)).toEqual([4096, 1]);
    const words = ('word '.repeat(820) + 'x').slice(0, 4097);
    const chunks = splitMessage(words, 4096);
    checkChunks(chunks, 4096);
    expect(chunks).toHaveLength(2);
    expect(chunks[0].endsWith('word')).toBe(true);
    locate(words, chunks);
  });

  it('prefers paragraph breaks over line breaks over sentence ends over spaces', () => {
    const para1 = 'First sentence here. '.repeat(100).trim(); // ~2100
    const para2 = 'Second paragraph goes on. '.repeat(100).trim();
    const chunks = splitMessage(`${para1}\n\n${para2}`, 4096);
    expect(chunks).toEqual([para1, para2].flatMap((p) => (p.length <= 4096 ? [p] : splitMessage(p, 4096))));
    expect(chunks[0]).toBe(para1);

    const lines = 'line one of the text\n'.repeat(10) + 'tail words';
    const byLine = splitMessage(lines, 50, { format: 'plain' });
    for (const c of byLine.slice(0, -1)) expect(c.endsWith('text')).toBe(true);

    const sentences = 'Alpha beta gamma. Delta epsilon zeta eta theta iota kappa lambda mu nu xi.';
    expect(splitMessage(sentences, 40)[0]).toBe('Alpha beta gamma.');
  });

  it('does not take a paragraph break that would leave a tiny chunk', () => {
    const input = 'Title\n\n' + 'Some words here. '.repeat(40);
    const chunks = splitMessage(input, 400);
    expect(chunks[0].startsWith('Title\n\nSome words')).toBe(true);
    expect(chunks[0].endsWith('.')).toBe(true);
  });

  it('closes and reopens <b> in HTML mode and never cuts inside a tag or entity', () => {
    const input = 'Intro. <b>' + 'important &amp; bold words '.repeat(12) + '</b> and <a href="https://x.y/z">a link</a>.';
    const chunks = splitMessage(input, 120, { format: 'html' });
    checkChunks(chunks, 120);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) {
      expect(c.match(/<b>/g)?.length ?? 0).toBe(c.match(/<\/b>/g)?.length ?? 0);
      expect(c).not.toMatch(/<[^>]*$/); // no cut inside a tag
      expect(c).not.toMatch(/&[a-z]*$/); // no cut inside an entity
      expect(c).not.toMatch(/^[^<]*>/);
    }
    expect(chunks[1].startsWith('<b>')).toBe(true);
    expect(chunks[0].endsWith('</b>')).toBe(true);
    const strip = (s: string) => s.replace(/<\/?b>/g, '').replace(/\s+/g, '');
    expect(strip(chunks.join(''))).toBe(strip(input));
  });

  it('reopens an <a href> tag with its attributes', () => {
    const input = `<a href="https://example.com/x">${'link text '.repeat(10)}</a>`;
    const chunks = splitMessage(input, 60, { format: 'html' });
    checkChunks(chunks, 60);
    for (const c of chunks) expect(c).toMatch(/^<a href="https:\/\/example\.com\/x">.*<\/a>$/);
  });

  it('closes and reopens a Markdown code fence with its language', () => {
    const code = Array.from({ length: 30 }, (_, i) => `    const v${i} = ${i};`).join('\n');
    const input = `Here is the code:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nDone.`;
    const chunks = splitMessage(input, 300);
    checkChunks(chunks, 300);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) expect((c.match(/```/g) ?? []).length % 2).toBe(0);
    for (const c of chunks.slice(1, -1)) expect(c.startsWith('```ts\n    const')).toBe(true); // indentation kept
    const body = (s: string) => s.replace(/```(ts)?/g, '').replace(/\s+/g, '');
    expect(body(chunks.join(''))).toBe(body(input));
  });

  it('balances **bold**, *italic*, _x_ and `code` across chunks', () => {
    const input = `Start **${'bold words '.repeat(8)}end** then *${'it words '.repeat(8).trim()}* and _${'under '.repeat(8).trim()}_ and \`${'code x '.repeat(8)}\`.`;
    const chunks = splitMessage(input, 40);
    checkChunks(chunks, 40);
    for (const c of chunks) {
      const t = c.replace(/\*\*/g, '\u0000');
      expect((t.match(/\u0000/g) ?? []).length % 2).toBe(0);
      expect((t.match(/\*/g) ?? []).length % 2).toBe(0);
      expect((c.match(/_/g) ?? []).length % 2).toBe(0);
      expect((c.match(/`/g) ?? []).length % 2).toBe(0);
    }
    const strip = (s: string) => s.replace(/[*_`\s]/g, '');
    expect(strip(chunks.join(''))).toBe(strip(input));
  });

  it('leaves snake_case, lone asterisks and escapes alone', () => {
    const input = 'call my_func_name with 2 * 3 and \\*not bold\\* ' + 'filler '.repeat(10);
    const chunks = splitMessage(input, 30);
    locate(input, chunks);
  });

  it('stays fast on long replies (Intl.Segmenter is quadratic on long strings)', () => {
    const input = 'Mixed 😀 text with **bold** and é\u0301 words.\r\n'.repeat(5000); // ~230k units
    const t0 = Date.now();
    const chunks = splitMessage(input, 4096);
    expect(Date.now() - t0).toBeLessThan(5000); // ~0.5 s here
    checkChunks(chunks, 4096);
  });

  it('reads a hostile fence line in linear time', () => {
    // A fence pattern ending in `(.*)$` backtracked over the backticks when the line held a \r or U+2028: 40,000 took 1.4 s.
    for (const input of ['`'.repeat(60_000) + '\rx', '~'.repeat(60_000) + '\u2028x\nafter']) checkChunks(splitMessage(input, 4096), 4096);
  });

  describe('property: seeded random strings', () => {
    // mulberry32
    const rng = (seed: number) => () => {
      seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const atoms = ['a', 'b', 'xyz', 'word', ' ', ' ', '  ', '\n', '\n\n', '. ', '! ', '😀', '👍🏽', '👨‍👩‍👧', 'e\u0301', 'é', '中', '🇧🇷'];
    const mdAtoms = [...atoms, '*', '**', '_', '`', '```', '\n```q\n', '<', '&'];
    const gen = (r: () => number, pool: string[]) => {
      const len = Math.floor(r() * 400);
      let s = '';
      for (let i = 0; i < len; i++) s += pool[Math.floor(r() * pool.length)];
      return s;
    };

    it('plain: limit respected, no lone surrogates, grapheme-safe, lossless up to trimmed whitespace', () => {
      for (let seed = 1; seed <= 300; seed++) {
        const r = rng(seed);
        const input = gen(r, atoms);
        const limit = 12 + Math.floor(r() * 200);
        const unit = r() < 0.3 ? 'codepoint' : 'utf16';
        const chunks = splitMessage(input, limit, { format: 'plain', unit });
        checkChunks(chunks, limit, { unit });
        const bounds = graphemeBoundaries(input);
        for (const cut of locate(input, chunks)) expect(bounds.has(cut), `seed ${seed}`).toBe(true);
      }
    });

    it('markdown/html: limit respected, no lone surrogates, lossless up to whitespace and entity markers', () => {
      for (let seed = 1; seed <= 300; seed++) {
        const r = rng(seed * 7919);
        const input = gen(r, mdAtoms);
        const limit = 16 + Math.floor(r() * 200);
        const format = r() < 0.5 ? 'markdown' : 'html';
        const html = format === 'html' ? input.replace(/\*\*/g, '<b>').replace(/_/g, '</b>') : input;
        const chunks = splitMessage(html, limit, { format });
        checkChunks(chunks, limit);
        const norm = (s: string) => s.replace(/<\/?b>/g, '').replace(/[*_`\s]|q/g, '');
        expect(norm(chunks.join('')), `seed ${seed}`).toBe(norm(html));
      }
    });
  });
});
