/**
 * Turning a knowledge source's bytes into searchable text (issue 18): the type is sniffed from the bytes
 * (file-type for PDF and DOCX; a claimed text type is believed only when the bytes are valid UTF-8 text),
 * PDF text through unpdf (pdf.js), DOCX through mammoth (to HTML), HTML through the web tools' Readability
 * and turndown path, Markdown/plain text/CSV as they are. Text is then split into chunks that keep their
 * heading path (`Guide › Install › Linux`) and, for PDFs, their page.
 */
import { createHash } from 'node:crypto';
import { READER_LIMITS, readDocument } from '../infra/document-reader.js';
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

/** The readable text of a file, as Markdown where it has structure; PDFs keep a form feed between pages. */
export async function extractText(kind: KnowledgeFileKind, bytes: Uint8Array, name: string, limits = READER_LIMITS): Promise<{ title: string; text: string }> {
  const base = name.replace(/\.[a-z0-9]+$/i, '') || 'Untitled';
  try {
    // PDF, DOCX and HTML are read in a worker thread within `limits` (infra/document-reader.ts): a bomb
    // is a 413, and the server answers everyone meanwhile. Plain text, Markdown and CSV are taken as they
    // are (they yield no more characters than their bytes, which the upload limit bounds).
    if (kind === 'pdf' || kind === 'docx') return { title: base, text: (await readDocument({ kind, bytes }, limits)).markdown };
    const text = new TextDecoder().decode(bytes);
    if (kind === 'html') {
      const md = await readDocument({ kind: 'html', html: text }, limits);
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

const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);
/**
 * A Markdown heading line (`## Title ##`): its level and its title without the closing hashes. Read
 * by hand, not by pattern: `^(#{1,6})\s+(.*?)\s*#*\s*$` backtracked in time polynomial in a run of
 * tabs, so one line of an uploaded file held the event loop for minutes.
 */
export function headingOf(line: string): { level: number; title: string } | undefined {
  let level = 0;
  while (level < 7 && line[level] === '#') level++;
  if (level < 1 || level > 6 || !isSpace(line[level])) return undefined;
  let title = line.slice(level).trim();
  let end = title.length;
  while (end > 0 && title[end - 1] === '#') end--;
  title = title.slice(0, end).trimEnd();
  return { level, title };
}

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
      const h = headingOf(line);
      if (h) {
        flush();
        path.length = h.level - 1;
        path[h.level - 1] = h.title.slice(0, 200);
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
