// Fake OpenAI-compatible upstream (chat completions, models, embeddings, audio transcriptions and speech) for
// integration tests. Follows /work/shared/PROTOCOLS.md sections 5 and 7. Only node:http, binds 127.0.0.1 on a random port.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface JournalEntry {
  method: string;
  /** Request path including any query string, e.g. `/v1/chat/completions`. */
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** Parsed body when it was valid JSON. */
  json?: any;
  /** Date.now() when the body was fully received. */
  at: number;
}

/** Options shared by the streamed kinds. */
export interface StreamKnobs {
  /** Override the usage numbers (total_tokens is always the sum). */
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** Do not send the usage chunk even when stream_options.include_usage is set. */
  omitUsage?: boolean;
  /** End the stream without `data: [DONE]`. */
  omitDone?: boolean;
  delayMsBetweenChunks?: number;
  /** Delay before the status line/headers are written (slow time-to-first-byte). */
  firstByteDelayMs?: number;
  /** Split every SSE event across two TCP writes, and split multi-byte UTF-8 characters between writes. */
  splitWrites?: boolean;
}

export type ScriptedResponse =
  | ({ kind: 'text'; text: string; chunks?: string[]; finishReason?: 'stop' | 'length' } & StreamKnobs)
  | ({
      kind: 'tool_calls';
      calls: { id?: string; name: string; arguments: string }[];
      /** Characters (code points) per streamed arguments fragment; default 8. */
      argumentChunkSize?: number;
    } & StreamKnobs)
  /** Always answered with a JSON body; the default body is an OpenAI error derived from the status. */
  | { kind: 'error'; status: number; body?: object; headers?: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'reset' }
  /** 200 stream, role chunk + `afterChunks` content chunks, then `data: {"error":{...}}` and the connection ends. */
  | { kind: 'stream_error'; afterChunks: number; message: string; type?: string; code?: string | null }
  /** Invalid JSON inside a `data:` frame (streaming) or a truncated JSON body (non-streaming). */
  | { kind: 'malformed' };

export interface ChatRequest {
  model?: string;
  messages?: any[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: any[];
  [key: string]: any;
}

export type DefaultReply = (req: ChatRequest) => string | ScriptedResponse;

export interface FakeOpenAIOptions {
  /** When set, every request must carry `Authorization: Bearer <apiKey>`, otherwise 401. */
  apiKey?: string;
  /** Model ids served by GET /v1/models. */
  models?: string[];
  /** Embedding length when the request has no `dimensions`; default 8. */
  embeddingDimensions?: number;
}

/** One scripted answer of POST /v1/audio/transcriptions: the text heard, or an OpenAI error. */
export type ScriptedTranscription = { text: string; duration?: number } | { kind: 'error'; status: number; message?: string };
/** What a transcription request carried (multipart/form-data). */
export interface TranscriptionRequest { model: string; filename: string; fileType: string; bytes: Buffer; language?: string; prompt?: string; responseFormat: string }
/** What a speech request asked for (JSON). */
export interface SpeechRequest { model: string; input: string; voice: string; responseFormat: string; instructions?: string; speed?: number }
/** An image part of a chat request (`{"type":"image_url","image_url":{"url","detail"}}`), with the message it was in. */
export interface ImagePart { url: string; detail?: string; mediaType?: string; bytes?: number; messageIndex: number }

/** File extensions OpenAI's transcription endpoint accepts (the format is told by the file name). */
export const TRANSCRIPTION_FORMATS = ['flac', 'mp3', 'mp4', 'mpeg', 'mpga', 'm4a', 'ogg', 'oga', 'wav', 'webm'];
const SPEECH_TYPES: Record<string, string> = { mp3: 'audio/mpeg', opus: 'audio/ogg', aac: 'audio/aac', flac: 'audio/flac', wav: 'audio/wav', pcm: 'audio/pcm' };

/**
 * A short, well-formed audio file of the requested format (so a client can sniff it): WAV of
 * silence, an Ogg page carrying an OpusHead, MPEG audio frames, an ADTS AAC header, a FLAC marker
 * and STREAMINFO, raw PCM. `text` only sets the length (more text, more audio).
 */
export function fakeSpeechAudio(format: string, text: string): Buffer {
  const samples = Math.max(800, Math.min(48_000, text.length * 400));
  switch (format) {
    case 'wav': {
      const b = Buffer.alloc(44 + samples * 2);
      b.write('RIFF', 0); b.writeUInt32LE(36 + samples * 2, 4); b.write('WAVE', 8); b.write('fmt ', 12); b.writeUInt32LE(16, 16);
      b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(24_000, 24); b.writeUInt32LE(48_000, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
      b.write('data', 36); b.writeUInt32LE(samples * 2, 40);
      return b;
    }
    case 'opus': {
      const head = Buffer.alloc(19);
      head.write('OpusHead', 0); head.writeUInt8(1, 8); head.writeUInt8(1, 9); head.writeUInt16LE(312, 10); head.writeUInt32LE(24_000, 12);
      const page = Buffer.alloc(27 + 1);
      page.write('OggS', 0); page.writeUInt8(0, 4); page.writeUInt8(2, 5); // beginning of stream
      page.writeUInt32LE(1, 14); page.writeUInt8(1, 26); page.writeUInt8(head.length, 27);
      return Buffer.concat([page, head]);
    }
    case 'mp3': {
      const frame = Buffer.alloc(417); // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz
      frame[0] = 0xff; frame[1] = 0xfb; frame[2] = 0x90; frame[3] = 0x64;
      return Buffer.concat(Array.from({ length: Math.max(3, Math.ceil(samples / 1152)) }, () => frame));
    }
    case 'aac': return Buffer.concat([Buffer.from([0xff, 0xf1, 0x50, 0x80, 0x02, 0x1f, 0xfc]), Buffer.alloc(9)]);
    case 'flac': return Buffer.concat([Buffer.from('fLaC'), Buffer.from([0x80, 0x00, 0x00, 0x22]), Buffer.alloc(34)]);
    default: return Buffer.alloc(samples * 2); // pcm: 24 kHz 16-bit mono, no header
  }
}

export interface FakeOpenAI {
  /** Base URL ending in /v1. */
  url: string;
  port: number;
  journal: JournalEntry[];
  /** Queue one-shot responses for the next chat completion requests (FIFO). */
  enqueue(...responses: ScriptedResponse[]): void;
  /** Replace the default reply generator (used when the queue is empty). */
  setDefault(fn: DefaultReply): void;
  /** Parsed JSON bodies of chat completion requests, in order. */
  requests(): ChatRequest[];
  /** Clear journal and queue, restore the default echo reply. */
  reset(): void;
  /** Replaces the model ids GET /v1/models serves. */
  setModels(ids: string[]): void;
  /** Queue answers for the next transcription requests (FIFO); without one the text is `defaultTranscript`. */
  enqueueTranscription(...answers: ScriptedTranscription[]): void;
  /** The text answered when nothing is queued (default "This is a fake transcript."). */
  setDefaultTranscript(text: string): void;
  /** Transcription requests received, parsed, in order. */
  transcriptions(): TranscriptionRequest[];
  /** Speech requests received, in order. */
  speeches(): SpeechRequest[];
  /** Image parts of every chat completion request, in order. */
  imageParts(): ImagePart[];
  close(): Promise<void>;
}

// ---------- deterministic helpers (exported so tests can compute expectations) ----------

export const tokensFor = (text: string): number => Math.ceil(text.length / 4);

/** Text of a message content (string, or the text parts of an array). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join('');
  }
  return '';
}

/** prompt_tokens = sum over messages of ceil(chars/4) + 3. */
export function promptTokensFor(messages: any[] = []): number {
  return messages.reduce((n, m) => n + tokensFor(contentText(m?.content)) + 3, 0);
}

export function echoReply(req: ChatRequest): string {
  const users = (req.messages ?? []).filter((m: any) => m?.role === 'user');
  const last = users[users.length - 1];
  return `Echo: ${contentText(last?.content)}`;
}

/** Deterministic float32-representable vector in [-1, 1] for an embedding input. */
export function fakeEmbedding(input: string, dims = 8): number[] {
  const out: number[] = [];
  let h = 2166136261;
  for (const ch of input) h = Math.imul(h ^ ch.codePointAt(0)!, 16777619);
  for (let i = 0; i < dims; i++) {
    h = Math.imul(h ^ (i + 1), 16777619) >>> 0;
    out.push(Math.fround(((h % 20001) - 10000) / 10000));
  }
  return out;
}

/** Default OpenAI-shaped error body for a status. */
export function openAIError(status: number, message?: string): object {
  const [type, code, msg] =
    status === 401 ? ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.']
    : status === 404 ? ['invalid_request_error', 'model_not_found', 'The model does not exist.']
    : status === 429 ? ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests. Please try again shortly.']
    : status >= 500 ? ['server_error', null, 'The server had an error while processing your request.']
    : ['invalid_request_error', null, 'Bad request.'];
  return { error: { message: message ?? msg, type, param: null, code } };
}

/** Convenience: a 429 insufficient_quota scripted response (permanent, though SDKs retry it). */
export const insufficientQuota = (): ScriptedResponse => ({
  kind: 'error',
  status: 429,
  body: { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } },
});

/** Convenience: a transient 429 with retry headers. */
export const rateLimited = (retryAfterMs = 10): ScriptedResponse => ({
  kind: 'error',
  status: 429,
  headers: {
    'retry-after-ms': String(retryAfterMs),
    'retry-after': String(Math.ceil(retryAfterMs / 1000)),
    'x-ratelimit-limit-requests': '500',
    'x-ratelimit-remaining-requests': '0',
    'x-ratelimit-reset-requests': `${retryAfterMs}ms`,
  },
});

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

/** Byte offset inside the first multi-byte UTF-8 character of buf, else the middle. */
function splitPoint(buf: Buffer): number {
  const i = buf.findIndex((b) => b >= 0xc0);
  return i >= 0 ? i + 1 : Math.max(1, buf.length >> 1);
}

export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const journal: JournalEntry[] = [];
  let queue: ScriptedResponse[] = [];
  let defaultReply: DefaultReply = echoReply;
  let seq = 0;
  let models = opts.models ?? ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-nano', 'text-embedding-3-small'];
  /** The audio models the fake serves (not listed by GET /v1/models, so chat model pickers stay as they were). */
  const audioModels = ['whisper-1', 'gpt-4o-transcribe', 'gpt-4o-mini-transcribe', 'tts-1', 'tts-1-hd', 'gpt-4o-mini-tts'];
  let transcriptionQueue: ScriptedTranscription[] = [];
  let defaultTranscript = 'This is a fake transcript.';
  const transcriptionLog: TranscriptionRequest[] = [];
  const speechLog: SpeechRequest[] = [];

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  async function handleChat(req: IncomingMessage, res: ServerResponse, body: ChatRequest): Promise<void> {
    let script: ScriptedResponse | string = queue.length ? queue.shift()! : defaultReply(body);
    if (typeof script === 'string') script = { kind: 'text', text: script };
    const stream = body.stream === true;
    const includeUsage = stream && body.stream_options?.include_usage === true;
    const id = `chatcmpl-fake${++seq}`;
    const created = Math.floor(Date.now() / 1000);
    const model = body.model ?? 'gpt-4o-mini';
    const promptTokens = promptTokensFor(body.messages);

    switch (script.kind) {
      case 'hang':
        return; // never answered; close() destroys the socket
      case 'reset':
        req.socket.destroy();
        return;
      case 'error':
        return sendJson(res, script.status, script.body ?? openAIError(script.status), {
          ...(script.status === 429 && !script.headers ? { 'retry-after-ms': '10', 'retry-after': '0' } : {}),
          ...script.headers,
        });
    }

    const chunk = (choices: unknown[], usage?: unknown) => ({
      id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake', choices,
      ...(includeUsage ? { usage: usage ?? null } : {}),
    });
    const choice = (delta: object, finish: string | null = null) => ({ index: 0, delta, logprobs: null, finish_reason: finish });
    const usageOf = (completion: number, override?: StreamKnobs['usage']) => {
      const p = override?.prompt_tokens ?? promptTokens;
      const c = override?.completion_tokens ?? completion;
      return {
        prompt_tokens: p, completion_tokens: c, total_tokens: p + c,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      };
    };

    if (script.kind === 'malformed') {
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(`{"id":"${id}","object":"chat.completion","choices":[{"index":0,"mess`);
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`data: ${JSON.stringify(chunk([choice({ role: 'assistant', content: '' })]))}\n\n`);
      return void res.end(`data: {"id":"${id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"oops\n\n`);
    }

    if (script.kind === 'stream_error') {
      const errBody = { error: { message: script.message, type: script.type ?? 'server_error', param: null, code: script.code ?? null } };
      if (!stream) return sendJson(res, 500, errBody);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`data: ${JSON.stringify(chunk([choice({ role: 'assistant', content: '' })]))}\n\n`);
      const words = wordChunks(contentTextOfDefault(body));
      for (let i = 0; i < script.afterChunks; i++) {
        res.write(`data: ${JSON.stringify(chunk([choice({ content: words[i % words.length] ?? 'x' })]))}\n\n`);
        await sleep(1);
      }
      return void res.end(`data: ${JSON.stringify(errBody)}\n\n`);
    }

    // text or tool_calls
    const s = script;
    if (s.firstByteDelayMs) await sleep(s.firstByteDelayMs);
    if (res.destroyed) return;

    let events: object[];
    let completionTokens: number;
    let message: object;
    let finish: string;
    if (s.kind === 'text') {
      const pieces = s.chunks ?? wordChunks(s.text);
      const text = s.chunks ? s.chunks.join('') : s.text;
      finish = s.finishReason ?? 'stop';
      completionTokens = tokensFor(text);
      message = { role: 'assistant', content: text, refusal: null, annotations: [] };
      events = [
        chunk([choice({ role: 'assistant', content: '', refusal: null })]),
        ...pieces.map((p) => chunk([choice({ content: p })])),
      ];
    } else {
      const calls = s.calls.map((c, k) => ({ ...c, id: c.id ?? `call_fake${seq}_${k}` }));
      const size = s.argumentChunkSize ?? 8;
      const frags = calls.map((c) => {
        const cps = Array.from(c.arguments);
        const out: string[] = [];
        for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(''));
        return out;
      });
      finish = 'tool_calls';
      completionTokens = tokensFor(calls.map((c) => c.name + c.arguments).join(''));
      message = {
        role: 'assistant', content: null, refusal: null, annotations: [],
        tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
      };
      events = [];
      const rounds = Math.max(0, ...frags.map((f) => f.length)) + 1;
      for (let r = 0; r < rounds; r++) {
        calls.forEach((c, k) => {
          const tc = r === 0
            ? { index: k, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }
            : frags[k][r - 1] !== undefined ? { index: k, function: { arguments: frags[k][r - 1] } } : null;
          if (!tc) return;
          const first = events.length === 0;
          events.push(chunk([choice(first ? { role: 'assistant', content: null, tool_calls: [tc] } : { tool_calls: [tc] })]));
        });
      }
    }
    const usage = usageOf(completionTokens, s.usage);

    if (!stream) {
      return sendJson(res, 200, {
        id, object: 'chat.completion', created, model, system_fingerprint: 'fp_fake',
        choices: [{ index: 0, message, logprobs: null, finish_reason: finish }], usage, service_tier: 'default',
      });
    }

    events.push(chunk([choice({}, finish)]));
    if (includeUsage && !s.omitUsage) events.push(chunk([], usage));
    const frames = events.map((e) => `data: ${JSON.stringify(e)}\n\n`);
    if (!s.omitDone) frames.push('data: [DONE]\n\n');

    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    for (let i = 0; i < frames.length; i++) {
      if (res.destroyed) return;
      const buf = Buffer.from(frames[i], 'utf8');
      // Always split some events across TCP writes; with splitWrites split every one (inside a UTF-8 char when present).
      if (s.splitWrites || i % 3 === 1) {
        const at = splitPoint(buf);
        res.write(buf.subarray(0, at));
        await sleep(s.splitWrites ? 3 : 1);
        if (res.destroyed) return;
        res.write(buf.subarray(at));
      } else {
        res.write(buf);
      }
      if (s.delayMsBetweenChunks) await sleep(s.delayMsBetweenChunks);
    }
    res.end();
  }

  function contentTextOfDefault(body: ChatRequest): string {
    const r = defaultReply(body);
    return typeof r === 'string' ? r : r.kind === 'text' ? r.text : 'partial answer';
  }

  function handleEmbeddings(res: ServerResponse, body: any): void {
    const raw = body?.input;
    const inputs: unknown[] = Array.isArray(raw) && raw.length > 0 && typeof raw[0] !== 'number' ? raw : [raw];
    const dims = typeof body?.dimensions === 'number' ? body.dimensions : (opts.embeddingDimensions ?? 8);
    const base64 = body?.encoding_format !== 'float';
    let tokens = 0;
    const data = inputs.map((input, index) => {
      const text = typeof input === 'string' ? input : JSON.stringify(input);
      tokens += typeof input === 'string' ? tokensFor(input) : Array.isArray(input) ? input.length : 1;
      const vec = fakeEmbedding(text, dims);
      let embedding: number[] | string = vec;
      if (base64) {
        const b = Buffer.alloc(vec.length * 4);
        vec.forEach((v, i) => b.writeFloatLE(v, i * 4));
        embedding = b.toString('base64');
      }
      return { object: 'embedding', index, embedding };
    });
    sendJson(res, 200, { object: 'list', data, model: body?.model ?? 'text-embedding-3-small', usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }

  /** POST /v1/audio/transcriptions: multipart with `file` (named with its format's extension) and `model`. */
  async function handleTranscription(req: IncomingMessage, res: ServerResponse, rawBody: Buffer): Promise<void> {
    const type = String(req.headers['content-type'] ?? '');
    if (!type.startsWith('multipart/form-data')) return sendJson(res, 400, openAIError(400, "Invalid Content-Type header: expected multipart/form-data."));
    let form: FormData;
    try { form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': type }, body: rawBody }).formData(); } catch {
      return sendJson(res, 400, openAIError(400, 'Could not parse multipart form'));
    }
    const file = form.get('file');
    const model = form.get('model');
    if (!(file instanceof Blob)) return sendJson(res, 400, { error: { message: "you must provide a file", type: 'invalid_request_error', param: 'file', code: null } });
    if (typeof model !== 'string' || !model) return sendJson(res, 400, { error: { message: "you must provide a model parameter", type: 'invalid_request_error', param: 'model', code: null } });
    const filename = (file as File).name ?? 'file';
    const ext = filename.split('.').pop()?.toLowerCase() ?? '';
    const bytes = Buffer.from(await file.arrayBuffer());
    const responseFormat = String(form.get('response_format') ?? 'json');
    transcriptionLog.push({
      model, filename, fileType: file.type, bytes, responseFormat,
      ...(form.get('language') ? { language: String(form.get('language')) } : {}), ...(form.get('prompt') ? { prompt: String(form.get('prompt')) } : {}),
    });
    if (!TRANSCRIPTION_FORMATS.includes(ext)) {
      return sendJson(res, 400, { error: { message: `Invalid file format. Supported formats: ${JSON.stringify(TRANSCRIPTION_FORMATS)}`, type: 'invalid_request_error', param: null, code: null } });
    }
    if (!audioModels.includes(model) && !models.includes(model)) return sendJson(res, 404, openAIError(404, `The model '${model}' does not exist`));
    if (bytes.length > 25 * 1024 * 1024) return sendJson(res, 413, openAIError(413, 'Maximum content size limit (26214400) exceeded.'));
    const script = transcriptionQueue.shift() ?? { text: defaultTranscript };
    if ('kind' in script) return sendJson(res, script.status, openAIError(script.status, script.message));
    const duration = script.duration ?? Math.round((bytes.length / 4000) * 100) / 100;
    if (responseFormat === 'text') { res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }); return void res.end(script.text); }
    if (responseFormat === 'verbose_json') {
      return sendJson(res, 200, { task: 'transcribe', language: 'english', duration, text: script.text, segments: [{ id: 0, start: 0, end: duration, text: script.text }] });
    }
    // gpt-4o(-mini)-transcribe add token usage; whisper-1 bills by duration.
    return sendJson(res, 200, model.startsWith('gpt-4o')
      ? { text: script.text, usage: { type: 'tokens', input_tokens: Math.ceil(duration * 10), output_tokens: tokensFor(script.text), total_tokens: Math.ceil(duration * 10) + tokensFor(script.text) } }
      : { text: script.text, usage: { type: 'duration', seconds: Math.ceil(duration) } });
  }

  /** POST /v1/audio/speech: JSON {model, input, voice, response_format?}; answers the audio bytes. */
  function handleSpeech(res: ServerResponse, body: any): void {
    const bad = (param: string, message: string) => sendJson(res, 400, { error: { message, type: 'invalid_request_error', param, code: null } });
    if (typeof body?.model !== 'string') return bad('model', "Missing required parameter: 'model'.");
    if (typeof body?.input !== 'string' || !body.input) return bad('input', "Missing required parameter: 'input'.");
    if (body.input.length > 4096) return bad('input', "String should have at most 4096 characters");
    if (typeof body?.voice !== 'string' || !body.voice) return bad('voice', "Missing required parameter: 'voice'.");
    const format = body.response_format ?? 'mp3';
    if (!SPEECH_TYPES[format]) return bad('response_format', `Invalid value: '${format}'. Supported values are: 'mp3', 'opus', 'aac', 'flac', 'wav', and 'pcm'.`);
    if (!audioModels.includes(body.model) && !models.includes(body.model)) return sendJson(res, 404, openAIError(404, `The model '${body.model}' does not exist`));
    speechLog.push({ model: body.model, input: body.input, voice: body.voice, responseFormat: format, ...(body.instructions ? { instructions: body.instructions } : {}), ...(body.speed ? { speed: body.speed } : {}) });
    const audio = fakeSpeechAudio(format, body.input);
    res.writeHead(200, { 'content-type': SPEECH_TYPES[format], 'content-length': audio.length });
    res.end(audio);
  }

  const server = createServer(async (req, res) => {
    req.socket.setNoDelay(true);
    const rawBody = await readBody(req).catch(() => Buffer.alloc(0));
    const path = req.url ?? '/';
    const entry: JournalEntry = { method: req.method ?? 'GET', path, headers: req.headers, rawBody, at: Date.now() };
    let parseError = false;
    if (rawBody.length && !String(req.headers['content-type'] ?? '').startsWith('multipart/')) {
      try { entry.json = JSON.parse(rawBody.toString('utf8')); } catch { parseError = true; }
    }
    journal.push(entry);
    res.setHeader('x-request-id', `req_fake${journal.length.toString(16).padStart(8, '0')}`);
    res.setHeader('openai-processing-ms', '1');

    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      return sendJson(res, 401, openAIError(401));
    }
    const pathname = path.split('?')[0].replace(/\/+$/, '');
    const method = entry.method;
    if (method === 'POST' && parseError) {
      return sendJson(res, 400, openAIError(400, 'We could not parse the JSON body of your request.'));
    }
    if (method === 'POST' && pathname === '/v1/chat/completions') {
      return handleChat(req, res, entry.json ?? {}).catch(() => res.destroy());
    }
    if (method === 'POST' && pathname === '/v1/embeddings') return handleEmbeddings(res, entry.json);
    if (method === 'POST' && pathname === '/v1/audio/transcriptions') return handleTranscription(req, res, rawBody).catch(() => res.destroy());
    if (method === 'POST' && pathname === '/v1/audio/speech') return handleSpeech(res, entry.json);
    const model = (id: string) => ({ id, object: 'model', created: 1700000000, owned_by: 'fake' });
    if (method === 'GET' && pathname === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: models.map(model) });
    }
    const m = /^\/v1\/models\/(.+)$/.exec(pathname);
    if (method === 'GET' && m) {
      const id = decodeURIComponent(m[1]);
      return models.includes(id)
        ? sendJson(res, 200, model(id))
        : sendJson(res, 404, openAIError(404, `The model '${id}' does not exist`));
    }
    sendJson(res, 404, { error: { message: `Invalid URL (${method} ${pathname})`, type: 'invalid_request_error', param: null, code: null } });
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
    requests: () =>
      journal.filter((e) => e.method === 'POST' && e.path.split('?')[0].replace(/\/+$/, '') === '/v1/chat/completions').map((e) => e.json),
    reset: () => {
      journal.length = 0;
      queue = [];
      defaultReply = echoReply;
      transcriptionQueue = [];
      transcriptionLog.length = 0;
      speechLog.length = 0;
    },
    setModels: (ids) => void (models = [...ids]),
    enqueueTranscription: (...answers) => void transcriptionQueue.push(...answers),
    setDefaultTranscript: (text) => void (defaultTranscript = text),
    transcriptions: () => [...transcriptionLog],
    speeches: () => [...speechLog],
    imageParts: () => {
      const out: ImagePart[] = [];
      for (const e of journal) {
        if (e.method !== 'POST' || e.path.split('?')[0].replace(/\/+$/, '') !== '/v1/chat/completions') continue;
        (e.json?.messages ?? []).forEach((m: any, messageIndex: number) => {
          for (const p of Array.isArray(m?.content) ? m.content : []) {
            if (p?.type !== 'image_url') continue;
            const url = String(p.image_url?.url ?? '');
            const data = /^data:([^;,]+);base64,(.*)$/.exec(url);
            out.push({ url, messageIndex, ...(p.image_url?.detail ? { detail: p.image_url.detail } : {}), ...(data ? { mediaType: data[1], bytes: Buffer.from(data[2]!, 'base64').length } : {}) });
          }
        });
      }
      return out;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Word-by-word pieces that concatenate back to the text ("Echo: hi there" → ["Echo: ", "hi ", "there"]). */
export function wordChunks(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text ? [text] : []);
}
