// Fake Anthropic Messages API upstream for integration tests (PROTOCOLS.md section 5, "Anthropic Messages streaming";
// section 7 for image blocks, which it records and checks like the API: `imageParts()`).
// Only node:http, binds 127.0.0.1 on a random port. `url` ends in /v1 so `createAnthropic({ baseURL: fake.url })` works.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface AnthropicJournalEntry {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  json?: any;
  at: number;
}

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';

export interface AnthropicStreamKnobs {
  /** Override usage numbers. */
  usage?: { input_tokens: number; output_tokens: number };
  delayMsBetweenChunks?: number;
  firstByteDelayMs?: number;
  /** Split every SSE frame across two TCP writes (inside a multi-byte UTF-8 character when there is one). */
  splitWrites?: boolean;
}

export type AnthropicScriptedResponse =
  | ({ kind: 'text'; text: string; chunks?: string[]; stopReason?: AnthropicStopReason } & AnthropicStreamKnobs)
  | ({
      kind: 'tool_use';
      calls: { id?: string; name: string; input: object }[];
      /** Characters per input_json_delta fragment; default 8. */
      argumentChunkSize?: number;
    } & AnthropicStreamKnobs)
  /** JSON error body; defaults derived from status (429 rate_limit_error with retry-after, 529 overloaded_error, ...). */
  | { kind: 'error'; status: number; body?: object; headers?: Record<string, string>; message?: string }
  /** 200 stream that sends `event: error` after `afterChunks` text deltas, then closes. */
  | { kind: 'stream_error'; afterChunks: number; errorType?: string; message: string }
  | { kind: 'hang' };

export interface AnthropicRequest {
  model?: string;
  max_tokens?: number;
  system?: unknown;
  messages?: any[];
  stream?: boolean;
  tools?: any[];
  [key: string]: any;
}

/**
 * An image block of a Messages request (`{"type":"image","source":{"type":"base64","media_type","data"}}`, or a
 * `url` source), with the message and block it was in; `bytes` is the decoded size of a base64 source.
 */
export interface AnthropicImagePart { sourceType: 'base64' | 'url'; mediaType?: string; bytes?: number; url?: string; messageIndex: number; blockIndex: number }

/** The image types the Messages API takes, and the most a base64 image may weigh (decoded). */
export const ANTHROPIC_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
export const ANTHROPIC_IMAGE_MAX_BYTES = 5 * 1024 * 1024;

export interface FakeAnthropicOptions {
  /** When set, requests must carry `x-api-key: <apiKey>`, otherwise 401 authentication_error. */
  apiKey?: string;
  /** Model ids served by GET /v1/models (newest first, as Anthropic lists them). */
  models?: string[];
}

export interface FakeAnthropic {
  /** Base URL ending in /v1 (the SDK posts to `${url}/messages`). */
  url: string;
  port: number;
  journal: AnthropicJournalEntry[];
  enqueue(...responses: AnthropicScriptedResponse[]): void;
  setDefault(fn: (req: AnthropicRequest) => string | AnthropicScriptedResponse): void;
  /** Parsed JSON bodies of POST /v1/messages requests. */
  requests(): AnthropicRequest[];
  /** The image blocks of every POST /v1/messages request so far (refused requests included), in order. */
  imageParts(): AnthropicImagePart[];
  /** Replaces the models GET /v1/models lists. */
  setModels(ids: string[]): void;
  reset(): void;
  close(): Promise<void>;
}

// ---------- deterministic helpers ----------

export const anthropicTokensFor = (text: string): number => Math.ceil(text.length / 4);

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join('');
  return '';
}

/** What the magic bytes say an image is (the API refuses an image whose bytes do not match its media_type). */
function sniffImage(b: Buffer): string | undefined {
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && /^GIF8[79]a$/.test(b.subarray(0, 6).toString('latin1'))) return 'image/gif';
  if (b.length >= 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return undefined;
}

/** An image's prompt tokens as Anthropic's vision guide reckons them: width × height / 750 (PNG sizes read; others 1,600). */
export function anthropicImageTokens(b: Buffer): number {
  if (sniffImage(b) === 'image/png' && b.length >= 24) return Math.ceil((b.readUInt32BE(16) * b.readUInt32BE(20)) / 750);
  return 1600;
}

const base64Of = (block: any) => (block?.source?.type === 'base64' && typeof block.source.data === 'string' ? Buffer.from(block.source.data, 'base64') : undefined);

/**
 * The image blocks of a request, checked as the API checks them: a base64 or url
 * source, one of the four image types, at most 5 MB decoded, bytes matching the media_type. The first
 * problem is the 400 invalid_request_error message, its path in the API's style.
 */
function imagesOf(req: AnthropicRequest): { parts: AnthropicImagePart[]; problem?: string } {
  const parts: AnthropicImagePart[] = [];
  let problem: string | undefined;
  (req.messages ?? []).forEach((m: any, messageIndex: number) => {
    (Array.isArray(m?.content) ? m.content : []).forEach((block: any, blockIndex: number) => {
      if (block?.type !== 'image') return;
      const at = `messages.${messageIndex}.content.${blockIndex}.image.source`;
      const src = block.source ?? {};
      if (src.type === 'url') {
        parts.push({ sourceType: 'url', url: String(src.url ?? ''), messageIndex, blockIndex });
      } else {
        const bytes = base64Of(block);
        parts.push({ sourceType: 'base64', mediaType: src.media_type, ...(bytes ? { bytes: bytes.length } : {}), messageIndex, blockIndex });
        if (problem) return;
        if (src.type !== 'base64') problem = `${at}: Input tag '${String(src.type)}' found using 'type' does not match any of the expected tags: 'base64', 'url'`;
        else if (!ANTHROPIC_IMAGE_TYPES.includes(src.media_type)) problem = `${at}.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`;
        else if (!bytes || !bytes.length) problem = `${at}.base64.data: the image data is empty or not base64`;
        else if (bytes.length > ANTHROPIC_IMAGE_MAX_BYTES) problem = `${at}.base64: image exceeds 5 MB maximum: ${bytes.length} bytes > ${ANTHROPIC_IMAGE_MAX_BYTES} bytes`;
        else if (sniffImage(bytes) !== src.media_type) problem = `${at}.base64.data: Image does not match the provided media type ${src.media_type}`;
      }
    });
  });
  return { parts, ...(problem ? { problem } : {}) };
}

/** input_tokens = sum over messages (and system, when present) of ceil(chars/4) + 3, plus each base64 image's tokens. */
export function anthropicInputTokensFor(req: AnthropicRequest): number {
  const parts = [...(req.system ? [req.system] : []), ...(req.messages ?? []).map((m: any) => m?.content)];
  const images = (req.messages ?? []).flatMap((m: any) => (Array.isArray(m?.content) ? m.content : []))
    .reduce((n: number, block: any) => { const b = block?.type === 'image' ? base64Of(block) : undefined; return n + (b ? anthropicImageTokens(b) : 0); }, 0);
  return parts.reduce((n: number, c) => n + anthropicTokensFor(textOf(c)) + 3, 0) + images;
}

export function anthropicEchoReply(req: AnthropicRequest): string {
  const users = (req.messages ?? []).filter((m: any) => m?.role === 'user');
  return `Echo: ${textOf(users[users.length - 1]?.content)}`;
}

export function anthropicError(status: number, message?: string): object {
  const [type, msg] =
    status === 400 ? ['invalid_request_error', 'Invalid request.']
    : status === 401 ? ['authentication_error', 'invalid x-api-key']
    : status === 403 ? ['permission_error', 'Permission denied.']
    : status === 404 ? ['not_found_error', 'Not found.']
    : status === 413 ? ['request_too_large', 'Request exceeds the maximum allowed number of bytes.']
    : status === 429 ? ['rate_limit_error', 'Number of request tokens has exceeded your rate limit.']
    : status === 529 ? ['overloaded_error', 'Overloaded']
    : ['api_error', 'Internal server error'];
  return { type: 'error', error: { type, message: message ?? msg } };
}

// ---------- server ----------

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function wordChunks(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text ? [text] : []);
}

export async function startFakeAnthropic(opts: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const journal: AnthropicJournalEntry[] = [];
  let queue: AnthropicScriptedResponse[] = [];
  let defaultReply: (req: AnthropicRequest) => string | AnthropicScriptedResponse = anthropicEchoReply;
  let seq = 0;
  let models = opts.models ?? ['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-1', 'claude-3-5-haiku-latest'];

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const frame = (event: string, data: object) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

  async function writeFrames(res: ServerResponse, frames: string[], knobs: AnthropicStreamKnobs): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    for (let i = 0; i < frames.length; i++) {
      if (res.destroyed) return;
      const buf = Buffer.from(frames[i], 'utf8');
      if (knobs.splitWrites || i % 3 === 1) {
        const mb = buf.findIndex((b) => b >= 0xc0);
        const at = mb >= 0 ? mb + 1 : Math.max(1, buf.length >> 1);
        res.write(buf.subarray(0, at));
        await sleep(knobs.splitWrites ? 3 : 1);
        if (res.destroyed) return;
        res.write(buf.subarray(at));
      } else {
        res.write(buf);
      }
      if (knobs.delayMsBetweenChunks) await sleep(knobs.delayMsBetweenChunks);
    }
    res.end();
  }

  async function handleMessages(res: ServerResponse, body: AnthropicRequest): Promise<void> {
    // A malformed image is refused before anything is scripted (the request is still in the journal).
    const { problem } = imagesOf(body);
    if (problem) return sendJson(res, 400, anthropicError(400, problem));
    let script = queue.length ? queue.shift()! : defaultReply(body);
    if (typeof script === 'string') script = { kind: 'text', text: script };
    const stream = body.stream === true;
    const id = `msg_fake${String(++seq).padStart(6, '0')}`;
    const model = body.model ?? 'claude-sonnet-4-5';
    const inputTokens = anthropicInputTokensFor(body);

    if (script.kind === 'hang') return;
    if (script.kind === 'error') {
      const s = script;
      const defaults: Record<string, string> =
        s.status === 429 && !s.headers ? { 'retry-after': '0', 'anthropic-ratelimit-requests-remaining': '0' } : {};
      return sendJson(res, s.status, s.body ?? anthropicError(s.status, s.message), { ...defaults, ...s.headers });
    }

    const usageBase = { cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    const messageStart = (input: number) =>
      frame('message_start', {
        type: 'message_start',
        message: {
          id, type: 'message', role: 'assistant', content: [], model, stop_reason: null, stop_sequence: null,
          usage: { input_tokens: input, ...usageBase, output_tokens: 1, service_tier: 'standard' },
        },
      });

    if (script.kind === 'stream_error') {
      const errBody = { type: 'error', error: { type: script.errorType ?? 'overloaded_error', message: script.message } };
      if (!stream) return sendJson(res, script.errorType === 'api_error' ? 500 : 529, errBody);
      const words = wordChunks(anthropicEchoReply(body));
      const frames = [
        messageStart(inputTokens),
        frame('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      ];
      for (let i = 0; i < script.afterChunks; i++) {
        frames.push(frame('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: words[i % words.length] ?? 'x' } }));
      }
      frames.push(frame('error', errBody));
      return writeFrames(res, frames, {});
    }

    const s = script;
    if (s.firstByteDelayMs) await sleep(s.firstByteDelayMs);
    if (res.destroyed) return;

    // Build content blocks: each block is its final JSON plus its streamed frames.
    type Block = { final: object; start: object; deltas: object[]; outText: string };
    let blocks: Block[];
    let stopReason: AnthropicStopReason;
    if (s.kind === 'text') {
      const pieces = s.chunks ?? wordChunks(s.text);
      const text = s.chunks ? s.chunks.join('') : s.text;
      stopReason = s.stopReason ?? 'end_turn';
      blocks = [{
        final: { type: 'text', text },
        start: { type: 'text', text: '' },
        deltas: pieces.map((p) => ({ type: 'text_delta', text: p })),
        outText: text,
      }];
    } else {
      const size = s.argumentChunkSize ?? 8;
      stopReason = 'tool_use';
      blocks = s.calls.map((c, k) => {
        const callId = c.id ?? `toolu_fake${seq}_${k}`;
        const json = JSON.stringify(c.input);
        const cps = Array.from(json);
        const deltas: object[] = [];
        for (let i = 0; i < cps.length; i += size) deltas.push({ type: 'input_json_delta', partial_json: cps.slice(i, i + size).join('') });
        return {
          final: { type: 'tool_use', id: callId, name: c.name, input: c.input },
          start: { type: 'tool_use', id: callId, name: c.name, input: {} },
          deltas,
          outText: c.name + json,
        };
      });
    }
    const input = s.usage?.input_tokens ?? inputTokens;
    const output = s.usage?.output_tokens ?? anthropicTokensFor(blocks.map((b) => b.outText).join(''));

    if (!stream) {
      return sendJson(res, 200, {
        id, type: 'message', role: 'assistant', model, content: blocks.map((b) => b.final),
        stop_reason: stopReason, stop_sequence: null,
        usage: { input_tokens: input, ...usageBase, output_tokens: output, service_tier: 'standard' },
      });
    }

    const frames = [messageStart(input)];
    blocks.forEach((b, index) => {
      frames.push(frame('content_block_start', { type: 'content_block_start', index, content_block: b.start }));
      if (index === 0) frames.push(frame('ping', { type: 'ping' }));
      for (const delta of b.deltas) frames.push(frame('content_block_delta', { type: 'content_block_delta', index, delta }));
      frames.push(frame('content_block_stop', { type: 'content_block_stop', index }));
    });
    frames.push(
      frame('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: { input_tokens: input, ...usageBase, output_tokens: output },
      }),
      frame('message_stop', { type: 'message_stop' }),
    );
    return writeFrames(res, frames, s);
  }

  const server = createServer(async (req, res) => {
    req.socket.setNoDelay(true);
    const rawBody = await readBody(req).catch(() => Buffer.alloc(0));
    const path = req.url ?? '/';
    const entry: AnthropicJournalEntry = { method: req.method ?? 'GET', path, headers: req.headers, rawBody, at: Date.now() };
    let parseError = false;
    if (rawBody.length) {
      try { entry.json = JSON.parse(rawBody.toString('utf8')); } catch { parseError = true; }
    }
    journal.push(entry);
    res.setHeader('request-id', `req_fake${String(journal.length).padStart(8, '0')}`);

    if (opts.apiKey !== undefined && req.headers['x-api-key'] !== opts.apiKey) {
      return sendJson(res, 401, anthropicError(401));
    }
    const pathname = path.split('?')[0].replace(/\/+$/, '');
    // GET /v1/models: the models API, paged like the real one (limit 1..1000, default 20; after_id /
    // before_id; has_more, first_id, last_id), and like the real one it wants anthropic-version.
    if (entry.method === 'GET' && pathname === '/v1/models') {
      if (!req.headers['anthropic-version']) return sendJson(res, 400, anthropicError(400, 'anthropic-version: header is required'));
      const q = new URL(path, 'http://x').searchParams;
      const limit = Math.min(1000, Math.max(1, Number(q.get('limit') ?? 20) || 20));
      const after = q.get('after_id');
      const start = after ? models.indexOf(after) + 1 : 0;
      const page = models.slice(start, start + limit);
      return sendJson(res, 200, {
        data: page.map((id, i) => ({ type: 'model', id, display_name: id.replace(/-/g, ' '), created_at: new Date(Date.UTC(2025, 0, 1) - (start + i) * 86_400_000).toISOString() })),
        has_more: start + limit < models.length, first_id: page[0] ?? null, last_id: page.at(-1) ?? null,
      });
    }
    if (entry.method === 'POST' && pathname === '/v1/messages') {
      if (parseError) return sendJson(res, 400, anthropicError(400, 'There was an issue with your request body: invalid JSON.'));
      return handleMessages(res, entry.json ?? {}).catch(() => res.destroy());
    }
    sendJson(res, 404, anthropicError(404, `Not found: ${entry.method} ${pathname}`));
  });

  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    journal,
    enqueue: (...responses) => void queue.push(...responses),
    setDefault: (fn) => void (defaultReply = fn),
    requests: () => journal.filter((e) => e.method === 'POST' && e.path.split('?')[0] === '/v1/messages').map((e) => e.json),
    setModels: (ids) => void (models = [...ids]),
    imageParts: () => journal
      .filter((e) => e.method === 'POST' && e.path.split('?')[0].replace(/\/+$/, '') === '/v1/messages' && e.json)
      .flatMap((e) => imagesOf(e.json).parts),
    reset: () => {
      journal.length = 0;
      queue = [];
      defaultReply = anthropicEchoReply;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
