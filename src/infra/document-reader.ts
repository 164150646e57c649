/**
 * Reading documents off the event loop. HTML (a fetched page, a crawled page, an uploaded file), PDF
 * and DOCX are parsed with linkedom, Readability, turndown, pdf.js (unpdf) and mammoth, all
 * synchronous and all slow on hostile input: a 2 MB page took 3 s, a 19 MB HTML file 130 s, and a
 * 180 KB DOCX holding 50 MB of XML 37 s at 2.9 GB resident — each of them time in which the one event
 * loop answered nobody. So they run in worker threads (at most `atOnce`), each with its own heap limit;
 * a job past its deadline or its heap ends its worker (the next job starts a new one), and a worker
 * idle for IDLE_MS ends, so an idle server keeps no second heap.
 *
 * The worker's code is CommonJS run with `eval` (so it needs no file of its own beside the bundle); it
 * loads each package by the path this thread resolved (`resolvePackage`), on first use.
 */
import { Worker } from 'node:worker_threads';
import { AppError } from '../domain/errors.js';
import { resolvePackage } from './lazy.js';

export type ReaderLimits = { heapMb: number; timeoutMs: number; maxChars: number; atOnce: number };
export const READER_LIMITS: ReaderLimits = { heapMb: 384, timeoutMs: 60_000, maxChars: 8_000_000, atOnce: 2 };
/** A fetched or crawled web page (at most 2 MB) gets a shorter deadline than an upload. */
export const PAGE_READER_LIMITS: ReaderLimits = { ...READER_LIMITS, timeoutMs: 20_000 };
const IDLE_MS = 10_000;

export type ReadTask =
  | { kind: 'html'; html: string; links?: boolean }
  | { kind: 'pdf' | 'docx'; bytes: Uint8Array }
  | { kind: 'robots'; url: string; text: string; agent: string; urls: string[] };
/** Markdown of the page's main content (Readability's, else the body), its title, and (`links`) its hrefs unless robots say nofollow. */
export type ReadResult = { title: string | null; markdown: string; hrefs?: string[] };

const WORKER_SOURCE = `
const { parentPort, workerData: w } = require('node:worker_threads');
const loaded = {};
const load = (name) => (loaded[name] ??= require(w.paths[name]));
function toMarkdown(html, links) {
  // linkedom does not imply <body> as browsers do: a page without the tag (valid HTML) had an empty body.
  if (!/<body[\\s>]/i.test(html)) html = '<html><body>' + html.replace(/<\\/?(?:html|head)\\b[^<>]*>/gi, '') + '</body></html>';
  const { document } = load('linkedom').parseHTML(html);
  let hrefs;
  if (links && !/nofollow/i.test(document.querySelector('meta[name="robots"]')?.getAttribute('content') ?? '')) {
    hrefs = [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href') ?? '').slice(0, 10000);
  }
  const title = document.querySelector('title')?.textContent?.trim() || null;
  for (const el of document.querySelectorAll('script, style, noscript, template, iframe, svg, title, meta, link')) el.remove();
  let content = null;
  try {
    // Readability works on its own copy.
    const article = new (load('readability').Readability)(document.cloneNode(true), { charThreshold: 200 }).parse();
    if (article?.content && (article.textContent ?? '').trim().length > 200) content = article.content;
  } catch { /* the body instead */ }
  const Turndown = load('turndown');
  const td = new (Turndown.default ?? Turndown)({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-' });
  td.remove(['script', 'style', 'noscript', 'iframe']);
  const markdown = td.turndown(content ?? document.body?.innerHTML ?? html).replace(/\\n{3,}/g, '\\n\\n').trim();
  return { title, markdown, hrefs };
}
let robots; // the last robots.txt parsed, for the next batch of the same crawl
function readRobots(job) {
  if (!robots || robots.url !== job.url || robots.text !== job.text) robots = { url: job.url, text: job.text, parsed: load('robots')(job.url, job.text) };
  const r = robots.parsed;
  const delay = r.getCrawlDelay(job.agent);
  return { allowed: job.urls.map((u) => r.isAllowed(u, job.agent) !== false), sitemaps: r.getSitemaps().slice(0, 50), crawlDelaySeconds: typeof delay === 'number' && delay >= 0 ? delay : null };
}
async function read(job) {
  if (job.kind === 'robots') return readRobots(job);
  if (job.kind === 'html') return toMarkdown(job.html, job.links);
  if (job.kind === 'pdf') {
    // pdf.js (inside unpdf) uses Promise.withResolvers, which Node 20 lacks.
    Promise.withResolvers ??= function () { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };
    const { extractText, getDocumentProxy } = load('unpdf');
    const { text } = await extractText(await getDocumentProxy(new Uint8Array(job.bytes)), { mergePages: false });
    return { title: null, markdown: text.join('\\f') };
  }
  const { value } = await load('mammoth').convertToHtml({ buffer: Buffer.from(job.bytes) });
  if (value.length > job.maxChars * 2) return { tooMuch: true };
  return toMarkdown('<html><body>' + value + '</body></html>', false);
}
parentPort.on('message', (job) => {
  read(job).then((r) => {
    if (!r.tooMuch && typeof r.markdown === 'string' && r.markdown.length > job.maxChars) r = { tooMuch: true };
    parentPort.postMessage(r);
  }, (e) => parentPort.postMessage({ error: String((e && e.message) || e).slice(0, 200) }));
});
`;

export const tooBigToRead = (what: string) => new AppError(413, 'media_too_large', `This document is more than can be read (${what}); split it into smaller files.`);

type Job = { task: ReadTask; limits: ReaderLimits; resolve: (m: WorkerAnswer) => void; reject: (e: unknown) => void };
type WorkerAnswer = ReadResult & RobotsVerdict & { tooMuch?: boolean; error?: string };
type Slot = { worker: Worker; heapMb: number; job?: Job; timer?: ReturnType<typeof setTimeout>; idle?: ReturnType<typeof setTimeout> };
const slots = new Set<Slot>();
const waiting: Job[] = [];
let paths: Record<string, string> | undefined;

function spawn(heapMb: number): Slot {
  paths ??= { linkedom: resolvePackage('linkedom'), readability: resolvePackage('@mozilla/readability'), turndown: resolvePackage('turndown'), unpdf: resolvePackage('unpdf'), mammoth: resolvePackage('mammoth'), robots: resolvePackage('robots-parser') };
  const worker = new Worker(WORKER_SOURCE, {
    eval: true, workerData: { paths },
    resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 32 },
    stdout: true, stderr: true, // pdf.js warns on stdout; nothing of it belongs in our log
  });
  worker.unref(); // a reader never keeps the process alive
  const slot: Slot = { worker, heapMb };
  const fail = (err: unknown) => {
    end(slot);
    finish(slot, (job) => job.reject(err));
  };
  worker.on('message', (m: WorkerAnswer) => finish(slot, (job) => {
    if (m.tooMuch) job.reject(tooBigToRead(`over ${job.limits.maxChars.toLocaleString('en')} characters of text`));
    else if (m.error !== undefined) job.reject(new Error(m.error));
    else job.resolve(m);
  }));
  worker.on('error', (err: Error & { code?: string }) => fail(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? tooBigToRead('it needs more memory to read than a document may use') : err));
  worker.on('exit', () => fail(new Error('the reader stopped')));
  slots.add(slot);
  return slot;
}

function end(slot: Slot) {
  if (!slots.delete(slot)) return;
  clearTimeout(slot.timer);
  clearTimeout(slot.idle);
  void slot.worker.terminate();
}

/** The slot's job is done (`settle` says how); the slot takes the next job waiting, or idles. */
function finish(slot: Slot, settle: (job: Job) => void) {
  const job = slot.job;
  if (!job) return;
  slot.job = undefined;
  clearTimeout(slot.timer);
  settle(job);
  pump();
  if (slots.has(slot) && !slot.job) slot.idle = setTimeout(() => end(slot), IDLE_MS).unref();
}

function start(slot: Slot, job: Job) {
  clearTimeout(slot.idle);
  slot.job = job;
  slot.timer = setTimeout(() => {
    end(slot);
    finish(slot, (j) => j.reject(tooBigToRead(`it took longer than ${j.limits.timeoutMs / 1000} s to read`)));
  }, job.limits.timeoutMs);
  const t = job.task;
  if (t.kind === 'html') slot.worker.postMessage({ kind: 'html', html: t.html, links: !!t.links, maxChars: job.limits.maxChars });
  else if (t.kind === 'robots') slot.worker.postMessage({ ...t, maxChars: job.limits.maxChars });
  else {
    const bytes = new Uint8Array(t.bytes); // a copy, whose buffer is handed over
    slot.worker.postMessage({ kind: t.kind, bytes, maxChars: job.limits.maxChars }, [bytes.buffer]);
  }
}

function pump() {
  while (waiting.length) {
    const job = waiting[0]!;
    let slot = [...slots].find((s) => !s.job && s.heapMb === job.limits.heapMb);
    if (!slot) {
      if (slots.size >= job.limits.atOnce) {
        // An idle worker with another heap limit makes room.
        const idle = [...slots].find((s) => !s.job);
        if (!idle) return;
        end(idle);
      }
      slot = spawn(job.limits.heapMb);
    }
    waiting.shift();
    start(slot, job);
  }
}

function run(task: ReadTask, limits: ReaderLimits): Promise<WorkerAnswer> {
  return new Promise((resolve, reject) => {
    const job: Job = { task, limits, resolve, reject };
    waiting.push(job);
    try { pump(); } catch (err) {
      // A worker that could not start: this job fails, and is not left waiting.
      const i = waiting.indexOf(job);
      if (i >= 0) waiting.splice(i, 1);
      reject(err);
    }
  });
}

/** Reads a document in a worker thread within `limits`; a document over them is a 413 `media_too_large`. */
export async function readDocument(task: Exclude<ReadTask, { kind: 'robots' }>, limits: ReaderLimits = READER_LIMITS): Promise<ReadResult> {
  const m = await run(task, limits);
  return { title: m.title, markdown: m.markdown, ...(m.hrefs ? { hrefs: m.hrefs } : {}) };
}

/** What a site's robots.txt says to `agent`: whether each of `urls` may be fetched, its sitemaps, its crawl delay. */
export type RobotsVerdict = { allowed: boolean[]; sitemaps: string[]; crawlDelaySeconds: number | null };
/** Google reads this much of a robots.txt and ignores the rest (RFC 9309 asks for at least 500 KiB). */
export const ROBOTS_MAX_BYTES = 500 * 1024;

/**
 * Asks a site's robots.txt (robots-parser) about a batch of URLs, in a reader thread. robots-parser,
 * like Google's matcher, compares a URL with each rule in time proportional to the rule's length
 * times the URL's, so a hostile file of short wildcard rules took 0.35 s per 2,000-character URL
 * (256 KB) and a crawl asks about every link it finds; here it is bounded by the page deadline.
 */
export async function readRobots(robotsUrl: string, text: string, agent: string, urls: string[], limits: ReaderLimits = PAGE_READER_LIMITS): Promise<RobotsVerdict> {
  if (!text.trim()) return { allowed: urls.map(() => true), sitemaps: [], crawlDelaySeconds: null }; // none: everything allowed, no thread needed
  const m = await run({ kind: 'robots', url: robotsUrl, text: text.slice(0, ROBOTS_MAX_BYTES), agent, urls }, limits);
  return { allowed: m.allowed, sitemaps: m.sitemaps, crawlDelaySeconds: m.crawlDelaySeconds };
}

/** readRobots with the crawls' one policy for failure: a robots.txt that cannot be worked out allows nothing. */
export const readRobotsOrNothing = (robotsUrl: string, text: string, agent: string, urls: string[]): Promise<RobotsVerdict> =>
  readRobots(robotsUrl, text, agent, urls).catch(() => ({ allowed: urls.map(() => false), sitemaps: [], crawlDelaySeconds: null }));

/** Readable Markdown of an HTML page, read off the event loop. */
export const htmlToMarkdown = (html: string, limits?: ReaderLimits): Promise<ReadResult> => readDocument({ kind: 'html', html }, limits);

/** How many reader threads are running (for tests). */
export const readerThreads = () => slots.size;
