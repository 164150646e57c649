/**
 * Turning a knowledge source's bytes into searchable text (issue 18): the type is sniffed from the bytes
 * (file-type for PDF and DOCX; a claimed text type is believed only when the bytes are valid UTF-8 text),
 * PDF text through unpdf (pdf.js), DOCX through mammoth (to HTML), HTML through the web tools' Readability
 * and turndown path, Markdown/plain text/CSV as they are. Text is then split into chunks that keep their
 * heading path (`Guide › Install › Linux`) and, for PDFs, their page.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { resolvePackage } from '../infra/lazy.js';
import { htmlToMarkdown } from '../tools/web.js';
import { errors } from '../domain/errors.js';
import { AppError } from '../domain/errors.js';
import type { KnowledgeChunkInput } from '../domain/ports.js';

export type KnowledgeFileKind = 'pdf' | 'docx' | 'html' | 'markdown' | 'text' | 'csv';
export const KNOWLEDGE_FILE_TYPES: Record<KnowledgeFileKind, string> = {
  pdf: 'application/pdf', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  html: 'text/html', markdown: 'text/markdown', text: 'text/plain', csv: 'text/csv',
};

export const unsupportedFile = () => new AppError(415, 'unsupported_media',
  'This file type is not supported: upload PDF, DOCX, Markdown, HTML, plain text or CSV.');

function utf8(bytes: Uint8Array): string | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    // Control characters other than tab, newline and carriage return mean it is not text.
    return /[\u0000-\u0008\u000e-\u001f]/.test(text.slice(0, 4096)) ? undefined : text;
  } catch { return undefined; }
}

/** What the bytes are: binary formats by their signature, text ones by name and claimed type once the bytes are text. */
export async function sniffKnowledgeFile(bytes: Uint8Array, claimedType: string | undefined, filename: string): Promise<KnowledgeFileKind> {
  const { fileTypeFromBuffer } = await import('file-type');
  const t = await fileTypeFromBuffer(bytes);
  if (t?.mime === 'application/pdf') return 'pdf';
  if (t?.ext === 'docx') return 'docx';
  if (t) throw unsupportedFile(); // some other binary (an image, a zip, an executable)
  const text = utf8(bytes);
  if (text === undefined) throw unsupportedFile();
  const claimed = (claimedType ?? '').split(';')[0]!.trim().toLowerCase();
  const ext = (/\.([a-z0-9]+)$/i.exec(filename)?.[1] ?? '').toLowerCase();
  if (claimed === 'text/html' || ext === 'html' || ext === 'htm' || /^\s*(<!doctype html|<html)/i.test(text)) return 'html';
  if (claimed === 'text/csv' || ext === 'csv') return 'csv';
  if (claimed === 'text/markdown' || ext === 'md' || ext === 'markdown') return 'markdown';
  return 'text';
}

/**
 * Limits on reading one PDF or DOCX. Both are compressed containers: a 180 KB DOCX can hold 50 MB of
 * XML (measured: 37 s of CPU and 2.9 GB resident inside mammoth), and a larger one more than the
 * process has. So they are read in a worker thread with its own heap limit and a deadline, never on
 * the event loop, and what they yield is capped (text formats need no cap: they yield no more characters
 * than their bytes): a bomb fails its upload with a 413, and the server
 * and everyone else's requests carry on.
 */
export const EXTRACT_LIMITS = { heapMb: 384, timeoutMs: 60_000, maxChars: 8_000_000, atOnce: 2 };

/** At most EXTRACT_LIMITS.atOnce readers at a time in this process (each may hold heapMb); the others wait their turn. */
let reading = 0;
const waiting: (() => void)[] = [];
async function inTurn<T>(atOnce: number, f: () => Promise<T>): Promise<T> {
  if (reading >= atOnce) await new Promise<void>((r) => waiting.push(r));
  reading++;
  try { return await f(); } finally { reading--; waiting.shift()?.(); }
}

/** The worker's code (CommonJS, run with `eval`): loads the parser by the path the server resolved, and posts the text or HTML back. */
const WORKER_SOURCE = `
const { parentPort, workerData: w } = require('node:worker_threads');
(async () => {
  if (w.kind === 'pdf') {
    // pdf.js (inside unpdf) uses Promise.withResolvers, which Node 20 lacks.
    Promise.withResolvers ??= function () { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };
    const { extractText, getDocumentProxy } = require(w.paths.unpdf);
    const doc = await getDocumentProxy(new Uint8Array(w.bytes));
    const { text } = await extractText(doc, { mergePages: false });
    const joined = text.join('\\f');
    if (joined.length > w.maxChars) return parentPort.postMessage({ tooMuch: true });
    parentPort.postMessage({ text: joined });
  } else {
    const { value } = await require(w.paths.mammoth).convertToHtml({ buffer: Buffer.from(w.bytes) });
    if (value.length > w.maxChars * 2) return parentPort.postMessage({ tooMuch: true });
    parentPort.postMessage({ html: value });
  }
})().catch((e) => parentPort.postMessage({ error: String((e && e.message) || e).slice(0, 200) }));
`;

const tooBigToRead = (what: string) => new AppError(413, 'media_too_large', `The file holds more than a knowledge file may (${what}); split it into smaller files.`);

/** A PDF's text (pages joined by form feeds) or a DOCX's HTML, read in a worker thread within EXTRACT_LIMITS. */
function readInWorker(kind: 'pdf' | 'docx', bytes: Uint8Array, limits = EXTRACT_LIMITS): Promise<{ text?: string; html?: string }> {
  const copy = new Uint8Array(bytes); // its buffer is handed to the worker
  return inTurn(limits.atOnce, () => new Promise((resolve, reject) => {
    let settled = false;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { kind, bytes: copy, maxChars: limits.maxChars, paths: { unpdf: resolvePackage('unpdf'), mammoth: resolvePackage('mammoth') } },
      transferList: [copy.buffer],
      resourceLimits: { maxOldGenerationSizeMb: limits.heapMb, maxYoungGenerationSizeMb: 32 },
      stdout: true, stderr: true, // pdf.js warns on stdout; nothing of it belongs in our log
    });
    const done = (f: () => void) => { if (settled) return; settled = true; clearTimeout(timer); void worker.terminate(); f(); };
    const timer = setTimeout(() => done(() => reject(tooBigToRead(`it took longer than ${limits.timeoutMs / 1000} s to read`))), limits.timeoutMs);
    worker.on('message', (m: { text?: string; html?: string; tooMuch?: boolean; error?: string }) => done(() => {
      if (m.tooMuch) reject(tooBigToRead(`over ${limits.maxChars.toLocaleString('en')} characters of text`));
      else if (m.error !== undefined) reject(new Error(m.error));
      else resolve(m);
    }));
    worker.on('error', (err: Error & { code?: string }) => done(() => reject(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? tooBigToRead('it needs more memory to read than a file may use') : err)));
    worker.on('exit', () => done(() => reject(new Error('the reader stopped'))));
  }));
}

/** The readable text of a file, as Markdown where it has structure; PDFs keep a form feed between pages. */
export async function extractText(kind: KnowledgeFileKind, bytes: Uint8Array, name: string, limits = EXTRACT_LIMITS): Promise<{ title: string; text: string }> {
  const base = name.replace(/\.[a-z0-9]+$/i, '') || 'Untitled';
  const capped = (r: { title: string; text: string }) => {
    if (r.text.length > limits.maxChars) throw tooBigToRead(`over ${limits.maxChars.toLocaleString('en')} characters of text`);
    return r;
  };
  try {
    if (kind === 'pdf') return capped({ title: base, text: (await readInWorker('pdf', bytes, limits)).text ?? '' });
    if (kind === 'docx') {
      const { html } = await readInWorker('docx', bytes, limits);
      return capped({ title: base, text: htmlToMarkdown(`<html><body>${html ?? ''}</body></html>`, '').markdown });
    }
    // Text formats yield no more characters than their bytes, which the upload limit bounds already.
    const text = new TextDecoder().decode(bytes);
    if (kind === 'html') {
      const md = htmlToMarkdown(text, '');
      return { title: md.title ?? base, text: md.markdown };
    }
    return { title: base, text };
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw errors.badRequest('invalid_payload', `The file could not be read as ${kind.toUpperCase()}: ${(err as Error).message.slice(0, 200)}`);
  }
}

export const contentHash = (text: string) => createHash('sha256').update(text).digest('hex');

const CHUNK_CHARS = 1200;

/**
 * Splits Markdown into chunks of about CHUNK_CHARS, never across a heading, each with the path of headings
 * above it. Form feeds (PDF page breaks) start a new page number.
 */
export function chunkText(text: string, o: { title: string; url: string | null }): KnowledgeChunkInput[] {
  const out: KnowledgeChunkInput[] = [];
  const path: string[] = [];
  let page = text.includes('\f') ? 1 : null;
  let buf: string[] = [];
  let size = 0;
  const flush = () => {
    const body = buf.join('\n').replace(/\n{3,}/g, '\n\n').trim();
    if (body) out.push({ title: o.title, heading: path.filter(Boolean).join(' › '), url: o.url, page, text: body });
    buf = []; size = 0;
  };
  for (const pageText of text.split('\f')) {
    for (const line of pageText.split('\n')) {
      const h = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
      if (h) {
        flush();
        const level = h[1]!.length;
        path.length = level - 1;
        path[level - 1] = h[2]!.slice(0, 200);
        continue;
      }
      // A very long line (a PDF page, minified text) is cut into pieces.
      for (let i = 0; i < Math.max(1, line.length); i += CHUNK_CHARS) {
        const piece = line.slice(i, i + CHUNK_CHARS);
        if (size + piece.length > CHUNK_CHARS && size > 0) flush();
        buf.push(piece); size += piece.length + 1;
      }
    }
    flush();
    if (page !== null) page++;
  }
  return out;
}
