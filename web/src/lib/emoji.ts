// Whether this browser can draw an emoji, or would show a box ("tofu") for it: on a machine
// without an emoji font every agent's icon would be a row of boxes. Drawn once per emoji on a
// small canvas and compared with a character no font has; cached for the page's life.

const cache = new Map<string, boolean>();
const SIZE = 32;

function pixels(ctx: CanvasRenderingContext2D, text: string): Uint8ClampedArray {
  ctx.clearRect(0, 0, SIZE, SIZE);
  ctx.fillText(text, SIZE / 2, SIZE / 2);
  return ctx.getImageData(0, 0, SIZE, SIZE).data;
}

const blank = (d: Uint8ClampedArray) => d.every((v, i) => i % 4 !== 3 || v === 0);
const same = (a: Uint8ClampedArray, b: Uint8ClampedArray) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * True when `emoji` renders as a glyph of its own: not blank, and not the same picture as a
 * character that surely has no glyph (U+FFFF, drawn as the font's missing-glyph box). Without a
 * canvas (tests, old browsers) it answers true and lets the browser try.
 */
export function canDrawEmoji(emoji: string): boolean {
  const known = cache.get(emoji);
  if (known !== undefined) return known;
  let ok = true;
  try {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = SIZE;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (ctx) {
      ctx.font = `${SIZE * 0.75}px "Apple Color Emoji","Segoe UI Emoji","Noto Color Emoji","Twemoji Mozilla",sans-serif`;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillStyle = '#000';
      const drawn = pixels(ctx, emoji);
      const tofu = pixels(ctx, '\uFFFF');
      const tofuPair = pixels(ctx, '\uFFFF\uFFFF');
      ok = !blank(drawn) && !same(drawn, tofu) && !same(drawn, tofuPair);
    }
  } catch {
    ok = true;
  }
  cache.set(emoji, ok);
  return ok;
}

/** Whether the text is pictographic (an emoji), as opposed to letters or digits. */
export const isPictographic = (text: string) => /\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(text);

/** Up to two initials of a name: "Recipe Helper" → "RH", "maths" → "M". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w));
  const letters = words.slice(0, 2).map((w) => [...w.replace(/^[^\p{L}\p{N}]+/u, '')][0] ?? '');
  return letters.join('').toUpperCase() || '?';
}
