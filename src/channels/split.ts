// Splits a long reply into chunks that each fit a channel's message limit (Telegram 4096, WhatsApp 4096, Twilio 1600).
// Break preference: paragraph (\n\n) > line (\n) > sentence end (. ! ? + space) > space > hard cut.
// A cut never lands inside a surrogate pair, and not inside a grapheme cluster (ZWJ emoji, base + combining mark)
// unless one cluster alone exceeds the limit. Markdown (`**`, `*`, `_`, `__`, `` ` ``, ``` fences) and HTML
// (`<b>…</b>`, `&amp;`) entities open at a cut are closed at the end of the chunk and reopened at the start of the
// next one; the added markers count against the limit. Limits are measured on the raw chunk (markup included),
// which is never less than what Telegram counts "after entity parsing".

export type SplitUnit = 'utf16' | 'codepoint';
export type SplitFormat = 'plain' | 'markdown' | 'html';

export interface SplitOptions {
  /** How `limit` is measured: UTF-16 code units (JS `.length`, default) or Unicode code points. */
  unit?: SplitUnit;
  /** Markup to keep balanced across chunks. Default 'markdown'; 'plain' never adds characters. */
  format?: SplitFormat;
  /** A paragraph/line/sentence break is only taken if the chunk is at least this fraction of `limit` (default 0.3). */
  minFill?: number;
}

interface Entity {
  /** Text that reopens the entity at the start of the next chunk, e.g. `**`, "```ts\n", `<a href="x">`. */
  open: string;
  /** Text that closes it at the end of a chunk, e.g. `**`, "\n```", `</a>`. */
  close: string;
  /** Whitespace inside is significant (code blocks): keep indentation at the start of the next chunk. */
  verbatim?: boolean;
}

interface Token {
  start: number;
  end: number;
  kind: 'atomic' | 'open' | 'close';
  entity?: Entity;
}

const isWs = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
const isAlnum = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{N}]/u.test(c);
const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

let segmenter: Intl.Segmenter | undefined;

export function splitMessage(text: string, limit: number, opts: SplitOptions = {}): string[] {
  if (!(limit >= 1)) throw new RangeError(`splitMessage: limit must be >= 1, got ${limit}`);
  const unit = opts.unit ?? 'utf16';
  const format = opts.format ?? 'markdown';
  const minFill = opts.minFill ?? 0.3;
  const n = text.length;

  // cum[i] = measured length of text[0, i)
  const cum = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const lowOfPair = unit === 'codepoint' && i > 0 && isLow(text.charCodeAt(i)) && isHigh(text.charCodeAt(i - 1));
    cum[i + 1] = cum[i] + (lowOfPair ? 0 : 1);
  }
  const measure = (s: string) => (unit === 'utf16' ? s.length : Array.from(s).length);

  // Cut-position tables (index i = between text[i-1] and text[i]).
  const cpOk = new Uint8Array(n + 1).fill(1); // not inside a surrogate pair
  for (let i = 1; i < n; i++) if (isLow(text.charCodeAt(i)) && isHigh(text.charCodeAt(i - 1))) cpOk[i] = 0;
  const grapheme = markGraphemes(text);

  const tokens = format === 'html' ? tokenizeHtml(text) : format === 'markdown' ? tokenizeMarkdown(text) : [];
  const inAtomic = new Uint8Array(n + 1);
  const noEnd = new Uint8Array(n + 1); // a chunk may not end here (right after an opener)
  const noStart = new Uint8Array(n + 1); // a chunk may not start here (right before a closer)
  for (const t of tokens) {
    for (let i = t.start + 1; i < t.end; i++) inAtomic[i] = 1;
    if (t.kind === 'open') noEnd[t.end] = 1;
    if (t.kind === 'close') noStart[t.start] = 1;
  }
  // stackAt[i] = entities open at position i (tokens are sorted and do not overlap).
  const stackAt: Entity[][] = new Array(n + 1);
  let cur: Entity[] = [];
  for (let i = 0, ti = 0; i <= n; i++) {
    while (ti < tokens.length && tokens[ti].end <= i) {
      const t = tokens[ti++];
      if (t.kind === 'open') cur = [...cur, t.entity!];
      else if (t.kind === 'close') {
        const k = cur.lastIndexOf(t.entity!);
        if (k >= 0) cur = cur.slice(0, k);
      }
    }
    stackAt[i] = cur;
  }

  // Maximal whitespace runs, classified: 0 paragraph, 1 line, 2 sentence, 3 space.
  const runs: { a: number; b: number; cls: number; lastNl: number }[] = [];
  for (let i = 0; i < n; ) {
    if (!isWs(text[i])) { i++; continue; }
    let j = i;
    let nl = 0;
    let lastNl = -1;
    while (j < n && isWs(text[j])) {
      if (text[j] === '\n') { nl++; lastNl = j; }
      j++;
    }
    const sentence = /[.!?]["'”’»)\]]*$/.test(text.slice(Math.max(0, i - 4), i));
    runs.push({ a: i, b: j, cls: nl >= 2 ? 0 : nl === 1 ? 1 : sentence ? 2 : 3, lastNl });
    i = j;
  }

  const suppressed = new Set<Entity>(); // entities whose markers were given up (degenerate limits)
  const live = (st: Entity[]) => st.filter((e) => !suppressed.has(e));
  const closeOf = (st: Entity[]) => live(st).reverse().map((e) => e.close).join('');
  const verbatimAt = (i: number) => stackAt[i].some((e) => e.verbatim);
  const skipWs = (i: number) => { while (i < n && isWs(text[i])) i++; return i; };
  /** Where the next chunk starts after a cut whose content ends at a (whitespace in between). */
  const nextStart = (a: number) => {
    const b = skipWs(a);
    if (!verbatimAt(a)) return b;
    const nl = text.lastIndexOf('\n', b - 1);
    return nl >= a ? nl + 1 : b;
  };

  const chunks: string[] = [];
  const push = (s: string) => { s = s.trim(); if (s) chunks.push(s); };
  let pos = skipWs(0);
  let end = n;
  while (end > pos && isWs(text[end - 1])) end--;

  let rEnd = 0;
  while (pos < end) {
    const prefix = live(stackAt[pos]).map((e) => e.open).join('');
    const budget = limit - measure(prefix);
    if (budget > 0 && cum[end] - cum[pos] <= budget) { push(prefix + text.slice(pos, end)); break; }
    let w = pos; // furthest index whose content fits the budget, ignoring closers
    while (w < end && cum[w + 1] - cum[pos] <= budget) w++;
    const fits = (a: number) => cum[a] - cum[pos] + measure(closeOf(stackAt[a])) <= budget;

    let cut = -1;
    let next = -1;
    if (budget > 0) {
      const best: number[] = [-1, -1, -1, -1];
      while (rEnd < runs.length && runs[rEnd].a <= w) rEnd++; // rEnd only moves forward; runs past this w are skipped below
      for (let r = rEnd - 1; r >= 0; r--) {
        const { a, cls } = runs[r];
        if (a <= pos) break;
        if (a > w || best[cls] >= 0) continue;
        if (noEnd[a] || inAtomic[a] || noStart[nextStart(a)] || !fits(a)) continue;
        best[cls] = a;
      }
      const fill = (a: number) => cum[a] - cum[pos] >= minFill * budget;
      const pick = best.find((a, cls) => a > pos && (cls === 3 || fill(a)));
      if (pick !== undefined) cut = pick;
      else {
        for (let e = w; e > pos && cut < 0; e--) {
          if (grapheme[e] && !inAtomic[e] && !noEnd[e] && !noStart[e] && !isWs(text[e - 1]) && fits(e)) cut = e;
        }
        if (cut < 0) cut = best.find((a) => a > pos) ?? -1;
      }
      if (cut >= 0) next = nextStart(cut);
    }
    if (cut < 0 && budget > 0) {
      // Nothing nice fits: keep the markers but allow a cut right after an opener / before a closer.
      for (let e = w; e > pos && cut < 0; e--) if (grapheme[e] && !inAtomic[e] && fits(e)) cut = e;
      if (cut >= 0) next = nextStart(cut);
    }
    if (cut < 0) {
      // Degenerate: an atomic token or a grapheme cluster longer than the limit, or markers that do not fit.
      // Give up markers for the entities open here; cut outside tokens at a grapheme, else a code point boundary.
      for (const e of stackAt[pos]) suppressed.add(e);
      let e = pos;
      while (e < end && cum[e + 1] - cum[pos] <= limit) e++;
      let g = e;
      while (g > pos && !(grapheme[g] && !inAtomic[g])) g--;
      if (g === pos) { g = e; while (g > pos && !grapheme[g]) g--; }
      if (g === pos) { g = e; while (g > pos && !cpOk[g]) g--; }
      if (g === pos) g = pos + (cpOk[pos + 1] ? 1 : 2); // a single code point longer than the limit
      for (const en of stackAt[g]) suppressed.add(en);
      push(text.slice(pos, g));
      pos = skipWs(g);
      continue;
    }
    push(prefix + text.slice(pos, cut).trimEnd() + closeOf(stackAt[cut]));
    pos = next;
  }
  return chunks;
}

/** grapheme[i] = 1 when i is a grapheme cluster boundary. Intl.Segmenter iteration is quadratic in V8 on long
 *  strings, so: between two code units below U+0300 there is always a boundary (except CR LF); only the short
 *  regions around other characters go through the segmenter, each restarted at a known boundary. */
function markGraphemes(text: string): Uint8Array {
  const n = text.length;
  const mark = new Uint8Array(n + 1);
  mark[n] = 1;
  const crlf = (p: number) => text[p - 1] === '\r' && text[p] === '\n';
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  for (let start = 0, extra = 0; start < n; ) {
    let j = start;
    while (j < n && text.charCodeAt(j) < 0x300) j++;
    if (j === n) { for (let p = start; p < n; p++) if (p === start || !crlf(p)) mark[p] = 1; break; }
    if (j - start >= 2) {
      for (let p = start; p < j; p++) if (p === start || !crlf(p)) mark[p] = 1;
      start = crlf(j - 1) && j - 2 >= start ? j - 2 : j - 1; // last simple char may join what follows
    }
    let k = j;
    while (k < n && text.charCodeAt(k) >= 0x300) k++;
    const end = Math.min(n, k + 2 + extra);
    const idx = Array.from(segmenter.segment(text.slice(start, end)), (sg) => sg.index);
    if (end === n) { for (const i of idx) mark[start + i] = 1; break; }
    if (idx.length < 2) { extra = extra * 2 + 16; continue; } // one cluster longer than the block
    const last = idx.pop()!; // the last cluster may continue past the block
    for (const i of idx) mark[start + i] = 1;
    start += last;
    extra = 0;
  }
  return mark;
}

// ---------- tokenizers ----------

function tokenizeHtml(text: string): Token[] {
  const tokens: Token[] = [];
  const stack: { name: string; entity: Entity }[] = [];
  const re = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)(\/?)>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);/g;
  for (let m: RegExpExecArray | null; (m = re.exec(text)); ) {
    const start = m.index;
    const end = start + m[0].length;
    if (m[2] === undefined || m[4] === '/') { tokens.push({ start, end, kind: 'atomic' }); continue; }
    const name = m[2].toLowerCase();
    if (!m[1]) {
      const entity: Entity = { open: m[0], close: `</${name}>`, verbatim: name === 'pre' };
      stack.push({ name, entity });
      tokens.push({ start, end, kind: 'open', entity });
      continue;
    }
    let k = stack.length - 1;
    while (k >= 0 && stack[k].name !== name) k--;
    if (k < 0) { tokens.push({ start, end, kind: 'atomic' }); continue; }
    tokens.push({ start, end, kind: 'close', entity: stack[k].entity });
    stack.length = k;
  }
  return tokens;
}

function tokenizeMarkdown(text: string): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let fence: { ch: string; len: number; entity: Entity } | null = null;
  let segStart = -1; // start of the current inline segment (paragraph outside code blocks)
  const flush = (to: number) => {
    if (segStart >= 0 && to > segStart) inlineTokens(text, segStart, to, tokens);
    segStart = -1;
  };
  for (let ls = 0; ls < n; ) {
    let le = text.indexOf('\n', ls);
    if (le < 0) le = n;
    const line = text.slice(ls, le);
    const fm = /^( {0,3})(`{3,}|~{3,})([\s\S]*)$/.exec(line.replace(/\r$/, '')); // a line holds no \n; `.` would stop at \r or U+2028 and backtrack the fence
    if (fence) {
      if (fm && fm[2][0] === fence.ch && fm[2].length >= fence.len && !fm[3].trim()) {
        const s = ls + fm[1].length;
        tokens.push({ start: s, end: s + fm[2].length, kind: 'close', entity: fence.entity });
        fence = null;
      }
    } else if (fm && !(fm[2][0] === '`' && fm[3].includes('`'))) {
      flush(ls);
      const s = ls + fm[1].length;
      const info = fm[3].trim(); // reopen with the language only when it looks like one
      const entity: Entity = { open: `${fm[2]}${/^[\w+#.-]{1,20}$/.test(info) ? info : ''}\n`, close: `\n${fm[2]}`, verbatim: true };
      tokens.push({ start: s, end: s + fm[2].length + fm[3].length, kind: 'open', entity });
      fence = { ch: fm[2][0], len: fm[2].length, entity };
    } else if (!line.trim()) {
      flush(ls);
    } else if (segStart < 0) {
      segStart = ls;
    }
    ls = le + 1;
  }
  flush(n);
  tokens.sort((x, y) => x.start - y.start);
  return tokens;
}

/** Inline Markdown inside one paragraph: code spans, `*`/`**`/`_`/`__` emphasis (flanking rules), `\` escapes. */
function inlineTokens(text: string, from: number, to: number, out: Token[]): void {
  type Delim = { start: number; end: number; run: string; canOpen: boolean; canClose: boolean };
  const delims: Delim[] = [];
  for (let i = from; i < to; ) {
    const c = text[i];
    if (c === '\\' && i + 1 < to && /[!-/:-@[-`{-~]/.test(text[i + 1])) {
      out.push({ start: i, end: i + 2, kind: 'atomic' });
      i += 2;
      continue;
    }
    if (c !== '`' && c !== '*' && c !== '_') { i++; continue; }
    let j = i;
    while (j < to && text[j] === c) j++;
    const run = text.slice(i, j);
    if (c === '`') {
      const close = findBacktickRun(text, j, to, run.length);
      if (close < 0) {
        if (run.length > 1) out.push({ start: i, end: j, kind: 'atomic' });
      } else {
        const entity: Entity = { open: run, close: run };
        out.push({ start: i, end: j, kind: 'open', entity }, { start: close, end: close + run.length, kind: 'close', entity });
      }
      i = close < 0 ? j : close + run.length;
      continue;
    }
    if (run.length > 2) {
      out.push({ start: i, end: j, kind: 'atomic' });
    } else {
      const prev = text[i - 1];
      const next = text[j];
      const left = next !== undefined && j < to && !isWs(next);
      const right = i > from && prev !== undefined && !isWs(prev);
      delims.push({
        start: i, end: j, run,
        canOpen: left && (c === '*' || !isAlnum(prev)),
        canClose: right && (c === '*' || j >= to || !isAlnum(next)),
      });
    }
    i = j;
  }
  const stack: Delim[] = [];
  for (const d of delims) {
    const k = d.canClose ? stack.map((s) => s.run).lastIndexOf(d.run) : -1;
    if (k >= 0) {
      const entity: Entity = { open: d.run, close: d.run };
      const o = stack[k];
      out.push({ start: o.start, end: o.end, kind: 'open', entity }, { start: d.start, end: d.end, kind: 'close', entity });
      for (const lit of stack.splice(k)) if (lit !== o && lit.run.length > 1) out.push({ start: lit.start, end: lit.end, kind: 'atomic' });
    } else if (d.canOpen) {
      stack.push(d);
    } else if (d.run.length > 1) {
      out.push({ start: d.start, end: d.end, kind: 'atomic' });
    }
  }
  for (const lit of stack) if (lit.run.length > 1) out.push({ start: lit.start, end: lit.end, kind: 'atomic' });
}

function findBacktickRun(text: string, from: number, to: number, len: number): number {
  for (let i = from; i < to; ) {
    if (text[i] !== '`') { i++; continue; }
    let j = i;
    while (j < to && text[j] === '`') j++;
    if (j - i === len) return i;
    i = j;
  }
  return -1;
}
