// Fake Telegram Bot API for integration tests (PROTOCOLS.md section 1). Only node:http, binds 127.0.0.1 on a
// random port. Point grammY at it with `new Bot(token, { client: { apiRoot: fake.apiRoot } })`.
// Every answer is a JSON envelope `{ok, result}` / `{ok:false, error_code, description, parameters?}`, whatever
// the HTTP status. Methods are case-insensitive; params come from the query string, JSON, urlencoded or multipart
// bodies (a multipart file arrives as an UploadedFile). Files (PROTOCOLS.md §7): `addFile` makes one known,
// `getFile` answers its file_path, and `GET /file/bot<token>/<file_path>` downloads it; `sendVoice`, `sendAudio`
// and `sendPhoto` take an upload or a file_id and are recorded in `sentMedia`.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseMultipart, type MultipartFile } from './multipart.js';

export interface TelegramJournalEntry {
  method: string; path: string; headers: IncomingHttpHeaders; rawBody: Buffer; at: number;
  token?: string;
  /** Bot API method, lower-cased (e.g. `sendmessage`). */
  apiMethod?: string;
  /** Merged query + body params (form/query values stay strings). */
  params: Record<string, any>;
  /** 'webhookReply' when the call came from a webhook response body. */
  source: 'http' | 'webhookReply';
}

/** A scripted answer for the next call of one method. `result` → ok envelope; `status` ≥ 400 → error envelope. */
export type TelegramScript =
  | {
      status?: number; description?: string; retryAfter?: number; migrateToChatId?: number;
      parameters?: Record<string, unknown>; result?: unknown;
      /** Wait before answering (then fall through to normal handling when neither status ≥ 400 nor result is set). */
      delayMs?: number;
    }
  | { kind: 'hang' | 'reset' | 'malformed' };

export const telegramErrors = {
  tooManyRequests: (retryAfter = 1): TelegramScript => ({ status: 429, retryAfter }),
  /** Older format: 429 without `parameters`. */
  tooManyRequestsNoParams: (): TelegramScript => ({ status: 429, description: 'Too Many Requests' }),
  blocked: (): TelegramScript => ({ status: 403, description: 'Forbidden: bot was blocked by the user' }),
  chatNotFound: (): TelegramScript => ({ status: 400, description: 'Bad Request: chat not found' }),
  migrated: (newChatId: number): TelegramScript => ({ status: 400, migrateToChatId: newChatId }),
  serverError: (): TelegramScript => ({ status: 500, description: 'Internal Server Error' }),
  hang: (): TelegramScript => ({ kind: 'hang' }),
  reset: (): TelegramScript => ({ kind: 'reset' }),
};

/** A file part of a multipart request. */
export type UploadedFile = MultipartFile;

/** A media message a bot sent (sendVoice, sendAudio, sendPhoto). */
export interface SentTelegramMedia {
  token: string; method: 'sendvoice' | 'sendaudio' | 'sendphoto'; chatId: number | string; messageId: number;
  /** The upload, or the file_id / URL string that was passed. */
  file: UploadedFile | string;
  caption?: string; params: Record<string, any>; at: number;
}

/** A file the fake serves: what getFile answers and the bytes its download returns. */
export interface FakeTelegramFile { fileId: string; fileUniqueId: string; filePath: string; bytes: Buffer; mimeType?: string }

export interface SentTelegramMessage {
  token: string; chatId: number | string; messageId: number; parseMode?: string; params: Record<string, any>; at: number;
  /** Text exactly as sent (with markup). */
  text: string;
  /** Text after entity parsing (tags/markers removed). */
  plainText: string;
}

export interface TelegramDelivery {
  token: string; url: string; headers: Record<string, string>; rawBody: Buffer; update: any; status: number; body: string; at: number;
}

export interface DeliverResult {
  status: number; body: string;
  /** When the webhook answered with `{"method": ...}` (grammY webhook reply): the envelope of executing it. */
  webhookReply?: { status: number; body: any };
}

export interface FakeBot {
  token: string; id: number; username: string; firstName: string;
  webhook: { url: string; secret?: string; allowedUpdates?: string[]; maxConnections: number } | null;
  allowedUpdates?: string[];
  /** Unconfirmed updates for getUpdates. */
  pending: any[];
  chatActions: { chatId: number | string; action: string; at: number }[];
}

export interface FakeTelegramOptions {
  bots?: { token: string; username: string; id?: number; firstName?: string }[];
  /** Cap on a getUpdates long-poll wait, whatever `timeout` says (default 1000 ms). */
  maxPollWaitMs?: number;
  /** How sendMessage's 4096 limit is measured after entity parsing (default 'utf16', the stricter). */
  textUnit?: 'utf16' | 'codepoint';
}

export interface FakeTelegram {
  /** e.g. http://127.0.0.1:PORT (no trailing slash) — grammY's `client.apiRoot`. */
  apiRoot: string; port: number; journal: TelegramJournalEntry[]; bots: Map<string, FakeBot>;
  sent: SentTelegramMessage[]; deliveries: TelegramDelivery[];
  /** Voice notes, audio and photos the bots sent. */
  sentMedia: SentTelegramMedia[];
  /** Files getFile knows, by file_id. */
  files: Map<string, FakeTelegramFile>;
  /**
   * Makes a file known (as if a person had sent it) and answers the objects an update carries:
   * `voice` ({file_id, file_unique_id, duration, mime_type, file_size}) and `photo` (sizes, largest last; all point at these bytes).
   */
  addFile(bytes: Buffer, o?: { mimeType?: string; filePath?: string; duration?: number; width?: number; height?: number }): { fileId: string; voice: any; audio: any; photo: any[] };
  addBot(bot: { token: string; username: string; id?: number; firstName?: string }): FakeBot;
  enqueue(method: string, ...responses: TelegramScript[]): void;
  /** Texts sent to a chat (optionally by one bot), in order. */
  messagesTo(chatId: number | string, token?: string): string[];
  /** Journal entries for one Bot API method (case-insensitive). */
  calls(method: string): TelegramJournalEntry[];
  pushUpdate(token: string, update: any): any;
  deliver(token: string, update: any, opts?: { secret?: string | null; url?: string }): Promise<DeliverResult>;
  /** Re-POST the nth delivery (negative: from the end) with the same bytes and headers. */
  replay(n: number): Promise<DeliverResult>;
  /** Clears journal, sent, deliveries, scripts and per-bot state; registered bots stay. */
  reset(): void;
  close(): Promise<void>;
}

// ---------- update builders ----------

let nextUpdateId = 100_000_000;
let nextInboundMessageId = 1;

export interface TextUpdateInput {
  chatId: number; text?: string; updateId?: number; fromId?: number; firstName?: string; username?: string;
  languageCode?: string; messageId?: number;
  /** Unix seconds. */
  date?: number;
  chatType?: 'private' | 'group' | 'supergroup' | 'channel';
  /** Extra Message fields (voice, photo, caption, media_group_id, reply_to_message, ...). */
  extra?: Record<string, unknown>;
}

/** An Update with a `message` in the shape of PROTOCOLS.md 1; `/commands` get `bot_command` entities (UTF-16 offsets). */
export function textUpdate(u: TextUpdateInput): any {
  const firstName = u.firstName ?? 'Ana';
  const chatType = u.chatType ?? (u.chatId < 0 ? 'supergroup' : 'private');
  const from = {
    id: u.fromId ?? (u.chatId > 0 ? u.chatId : 11111111), is_bot: false, first_name: firstName,
    ...(u.username ? { username: u.username } : {}), language_code: u.languageCode ?? 'en',
  };
  const chat = chatType === 'private'
    ? { id: u.chatId, type: chatType, first_name: firstName, ...(u.username ? { username: u.username } : {}) }
    : { id: u.chatId, type: chatType, title: 'Test group' };
  const message: Record<string, unknown> = {
    message_id: u.messageId ?? nextInboundMessageId++, date: u.date ?? Math.floor(Date.now() / 1000), from, chat,
  };
  if (u.text !== undefined) {
    message.text = u.text;
    const entities = [...u.text.matchAll(/(^|\s)(\/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?)/g)].map((m) => ({
      type: 'bot_command', offset: m.index! + m[1].length, length: m[2].length,
    }));
    if (entities.length) message.entities = entities;
  }
  Object.assign(message, u.extra);
  return { update_id: u.updateId ?? nextUpdateId++, message };
}

// ---------- entity checks ----------

type Parsed = { ok: true; text: string } | { ok: false; error: string };
const byteOffset = (s: string, i: number) => Buffer.byteLength(s.slice(0, i));
const HTML_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji']);

/** Simple balance check in the spirit of Telegram's parser; returns the text after parsing. */
export function parseEntities(text: string, mode: string | undefined): Parsed {
  if (!mode) return { ok: true, text };
  const m = mode.toLowerCase();
  if (m === 'html') {
    const stack: { name: string; at: number }[] = [];
    let out = '';
    const re = /<(\/?)([a-zA-Z][\w-]*)[^<>]*>|&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);|[<&]|[^<&]+/g;
    for (let t: RegExpExecArray | null; (t = re.exec(text)); ) {
      const [tok, slash, name, ent] = t;
      if (name) {
        const n = name.toLowerCase();
        if (!HTML_TAGS.has(n)) return { ok: false, error: `Unsupported start tag "${n}" at byte offset ${byteOffset(text, t.index)}` };
        if (!slash) stack.push({ name: n, at: t.index });
        else if (stack.pop()?.name !== n) return { ok: false, error: `Unmatched end tag at byte offset ${byteOffset(text, t.index)}, expected "</${n}>"` };
      } else if (ent) {
        out += ent[0] === '#' ? String.fromCodePoint(Number(ent[1] === 'x' ? '0' + ent.slice(1) : ent.slice(1))) : ({ lt: '<', gt: '>', amp: '&', quot: '"' } as any)[ent];
      } else if (tok === '<') {
        return { ok: false, error: `Unsupported start tag "" at byte offset ${byteOffset(text, t.index)}` };
      } else out += tok;
    }
    const open = stack.pop();
    return open ? { ok: false, error: `Can't find end tag corresponding to start tag "${open.name}"` } : { ok: true, text: out };
  }
  // Markdown / MarkdownV2: code spans/blocks are opaque; `\` escapes; toggles must all be closed.
  const v2 = m === 'markdownv2';
  const marks = v2 ? ['||', '__', '*', '_', '~'] : ['*', '_'];
  const open = new Map<string, number>();
  let out = '';
  for (let i = 0; i < text.length; ) {
    if (text[i] === '\\' && i + 1 < text.length && (v2 || '_*`['.includes(text[i + 1]))) { out += text[i + 1]; i += 2; continue; }
    if (text[i] === '`') {
      const fence = text.startsWith('```', i) ? '```' : '`';
      const end = text.indexOf(fence, i + fence.length);
      if (end < 0) return { ok: false, error: `Can't find end of the entity starting at byte offset ${byteOffset(text, i)}` };
      let inner = text.slice(i + fence.length, end);
      if (fence === '```') inner = inner.replace(/^[^\n]*\n/, '');
      out += inner;
      i = end + fence.length;
      continue;
    }
    const mk = marks.find((k) => text.startsWith(k, i));
    if (mk) {
      if (open.has(mk)) open.delete(mk); else open.set(mk, i);
      i += mk.length;
      continue;
    }
    out += text[i++];
  }
  const first = Math.min(...open.values());
  return open.size ? { ok: false, error: `Can't find end of the entity starting at byte offset ${byteOffset(text, first)}` } : { ok: true, text: out };
}

// ---------- server ----------

const DESCRIPTIONS: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden: bot was blocked by the user', 404: 'Not Found',
  409: 'Conflict', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway',
};
const CHAT_ACTIONS = new Set(['typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice', 'upload_document', 'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note']);
const SECRET_RE = /^[A-Za-z0-9_-]{1,256}$/;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Outcome = { status: number; body: any } | { kind: 'hang' | 'reset' | 'malformed' };
const ok = (result: unknown, description?: string): Outcome => ({ status: 200, body: { ok: true, result, ...(description ? { description } : {}) } });
const fail = (status: number, description: string, parameters?: Record<string, unknown>): Outcome => ({
  status, body: { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) },
});

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

const asBool = (v: unknown) => v === true || v === 'true' || v === '1' || v === 1;
const asArray = (v: unknown): string[] | undefined => {
  if (v === undefined || v === '') return undefined;
  if (Array.isArray(v)) return v.map(String);
  try { const a = JSON.parse(String(v)); return Array.isArray(a) ? a.map(String) : undefined; } catch { return undefined; }
};
const asChatId = (v: unknown): number | string | undefined =>
  v === undefined || v === '' ? undefined : typeof v === 'number' ? v : /^-?\d+$/.test(String(v)) ? Number(v) : String(v);
const updateType = (u: any) => Object.keys(u).find((k) => k !== 'update_id') ?? 'message';

export async function startFakeTelegram(opts: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  const journal: TelegramJournalEntry[] = [];
  const bots = new Map<string, FakeBot>();
  const sent: SentTelegramMessage[] = [];
  const deliveries: TelegramDelivery[] = [];
  let queues = new Map<string, TelegramScript[]>();
  const polls = new Map<string, { finish: (o: Outcome) => void; wake: () => void }>();
  const messageIds = new Map<string, number>();
  const sentMedia: SentTelegramMedia[] = [];
  const files = new Map<string, FakeTelegramFile>();
  let fileSeq = 0;
  const FILE_LIMIT = 20 * 1024 * 1024; // the cloud Bot API's download limit

  const addFile: FakeTelegram['addFile'] = (bytes, o = {}) => {
    fileSeq++;
    const fileId = `AwACAgIAAxkBAAI${String(fileSeq).padStart(6, '0')}fake`;
    const fileUniqueId = `AgAD${String(fileSeq).padStart(4, '0')}`;
    const ext = o.mimeType?.includes('ogg') ? 'oga' : o.mimeType?.includes('jpeg') ? 'jpg' : o.mimeType?.split('/')[1] ?? 'bin';
    const filePath = o.filePath ?? (o.mimeType?.startsWith('image/') ? `photos/file_${fileSeq}.${ext}` : `voice/file_${fileSeq}.${ext}`);
    files.set(fileId, { fileId, fileUniqueId, filePath, bytes, mimeType: o.mimeType });
    const base = { file_id: fileId, file_unique_id: fileUniqueId, file_size: bytes.length };
    return {
      fileId,
      voice: { ...base, duration: o.duration ?? 1, mime_type: o.mimeType ?? 'audio/ogg' },
      audio: { ...base, duration: o.duration ?? 1, mime_type: o.mimeType ?? 'audio/mpeg', file_name: filePath.split('/').pop() },
      photo: [
        { ...base, file_id: `${fileId}_s`, width: 90, height: 90 },
        { ...base, width: o.width ?? 800, height: o.height ?? 600 },
      ],
    };
  };
  const maxWait = opts.maxPollWaitMs ?? 1000;
  const measure = (s: string) => (opts.textUnit === 'codepoint' ? Array.from(s).length : s.length);

  const addBot: FakeTelegram['addBot'] = (b) => {
    const bot: FakeBot = {
      token: b.token, id: b.id ?? (Number(b.token.split(':')[0]) || 1), username: b.username,
      firstName: b.firstName ?? b.username, webhook: null, pending: [], chatActions: [],
    };
    bots.set(b.token, bot);
    return bot;
  };
  for (const b of opts.bots ?? []) addBot(b);

  async function execute(bot: FakeBot, method: string, p: Record<string, any>, signal?: AbortSignal): Promise<Outcome> {
    const script = queues.get(method)?.shift();
    if (script) {
      if ('kind' in script) return { kind: script.kind };
      if (script.delayMs) await sleep(script.delayMs);
      if (script.result !== undefined) return ok(script.result);
      const status = script.status ?? 200;
      if (status >= 400) {
        const params = { ...script.parameters };
        if (script.retryAfter !== undefined) params.retry_after = script.retryAfter;
        if (script.migrateToChatId !== undefined) params.migrate_to_chat_id = script.migrateToChatId;
        const description = script.description
          ?? (script.retryAfter !== undefined ? `Too Many Requests: retry after ${script.retryAfter}`
            : script.migrateToChatId !== undefined ? 'Bad Request: group chat was upgraded to a supergroup chat'
              : DESCRIPTIONS[status] ?? 'Error');
        return fail(status, description, Object.keys(params).length ? params : undefined);
      }
    }
    switch (method) {
      case 'getme':
        return ok({ id: bot.id, is_bot: true, first_name: bot.firstName, username: bot.username, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false, can_connect_to_business: false, has_main_web_app: false });
      case 'setwebhook': {
        const url = String(p.url ?? '');
        if (p.secret_token !== undefined && !SECRET_RE.test(String(p.secret_token))) {
          return fail(400, 'Bad Request: secret token contains unallowed characters');
        }
        if (asBool(p.drop_pending_updates)) bot.pending = [];
        const allowed = asArray(p.allowed_updates);
        if (allowed) bot.allowedUpdates = allowed;
        if (!url) { bot.webhook = null; return ok(true, 'Webhook was deleted'); }
        try { new URL(url); } catch { return fail(400, 'Bad Request: bad webhook: Failed to resolve host: Name or service not known'); }
        bot.webhook = { url, secret: p.secret_token === undefined ? undefined : String(p.secret_token), allowedUpdates: allowed ?? bot.allowedUpdates, maxConnections: Number(p.max_connections ?? 40) };
        polls.get(bot.token)?.finish(fail(409, 'Conflict: terminated by setWebhook request'));
        return ok(true, 'Webhook was set');
      }
      case 'deletewebhook':
        if (asBool(p.drop_pending_updates)) bot.pending = [];
        bot.webhook = null;
        return ok(true, 'Webhook was deleted');
      case 'getwebhookinfo':
        return ok({
          url: bot.webhook?.url ?? '', has_custom_certificate: false, pending_update_count: bot.pending.length,
          ...(bot.webhook ? { max_connections: bot.webhook.maxConnections, allowed_updates: bot.webhook.allowedUpdates ?? ['message'] } : {}),
        });
      case 'getupdates': {
        if (bot.webhook) return fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
        const offset = Number(p.offset ?? 0);
        if (offset > 0) bot.pending = bot.pending.filter((u) => u.update_id >= offset);
        else if (offset < 0) bot.pending = bot.pending.slice(offset);
        const allowed = asArray(p.allowed_updates);
        if (allowed) bot.allowedUpdates = allowed;
        const limit = Math.min(100, Math.max(1, Number(p.limit ?? 100)));
        const take = () => bot.pending
          .filter((u) => !bot.allowedUpdates?.length || bot.allowedUpdates.includes(updateType(u)))
          .slice(0, limit);
        polls.get(bot.token)?.finish(fail(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'));
        const timeoutMs = Math.min(Number(p.timeout ?? 0) * 1000, maxWait);
        if (take().length || timeoutMs <= 0) return ok(take());
        return new Promise<Outcome>((resolve) => {
          const poll = {
            finish: (o: Outcome) => {
              clearTimeout(timer);
              signal?.removeEventListener('abort', onAbort);
              if (polls.get(bot.token) === poll) polls.delete(bot.token);
              resolve(o);
            },
            wake: () => { if (take().length) poll.finish(ok(take())); },
          };
          const onAbort = () => poll.finish({ kind: 'hang' });
          const timer = setTimeout(() => poll.finish(ok(take())), timeoutMs);
          signal?.addEventListener('abort', onAbort);
          polls.set(bot.token, poll);
        });
      }
      case 'sendmessage': {
        const chatId = asChatId(p.chat_id);
        if (chatId === undefined) return fail(400, 'Bad Request: chat_id is empty');
        const text = p.text === undefined ? '' : String(p.text);
        const parsed = parseEntities(text, p.parse_mode ? String(p.parse_mode) : undefined);
        if (!parsed.ok) return fail(400, `Bad Request: can't parse entities: ${parsed.error}`);
        if (!parsed.text.trim()) return fail(400, 'Bad Request: message text is empty');
        if (measure(parsed.text) > 4096) return fail(400, 'Bad Request: message is too long');
        const key = `${bot.token}|${chatId}`;
        const messageId = (messageIds.get(key) ?? 0) + 1;
        messageIds.set(key, messageId);
        const date = Math.floor(Date.now() / 1000);
        sent.push({ token: bot.token, chatId, messageId, text, plainText: parsed.text, parseMode: p.parse_mode, params: p, at: Date.now() });
        const chat = typeof chatId === 'number' && chatId > 0
          ? { id: chatId, type: 'private', first_name: 'Ana' }
          : { id: typeof chatId === 'number' ? chatId : -1001234567890, type: 'supergroup', title: 'Test group' };
        return ok({ message_id: messageId, from: { id: bot.id, is_bot: true, first_name: bot.firstName, username: bot.username }, chat, date, text: parsed.text });
      }
      case 'getfile': {
        const id = String(p.file_id ?? '').replace(/_s$/, '');
        const f = files.get(id);
        if (!f) return fail(400, 'Bad Request: invalid file_id');
        if (f.bytes.length > FILE_LIMIT) return fail(400, 'Bad Request: file is too big');
        return ok({ file_id: String(p.file_id), file_unique_id: f.fileUniqueId, file_size: f.bytes.length, file_path: f.filePath });
      }
      case 'sendvoice': case 'sendaudio': case 'sendphoto': {
        const chatId = asChatId(p.chat_id);
        if (chatId === undefined) return fail(400, 'Bad Request: chat_id is empty');
        const field = method === 'sendvoice' ? 'voice' : method === 'sendaudio' ? 'audio' : 'photo';
        const file = p[field] as UploadedFile | string | undefined;
        if (file === undefined || file === '') return fail(400, `Bad Request: there is no ${field} in the request`);
        if (typeof file === 'string' && !/^https?:\/\//.test(file) && !files.has(file.replace(/_s$/, ''))) return fail(400, 'Bad Request: wrong file identifier/HTTP URL specified');
        if (p.caption !== undefined && String(p.caption).length > 1024) return fail(400, 'Bad Request: message caption is too long');
        const key = `${bot.token}|${chatId}`;
        const messageId = (messageIds.get(key) ?? 0) + 1;
        messageIds.set(key, messageId);
        sentMedia.push({ token: bot.token, method, chatId, messageId, file, ...(p.caption !== undefined ? { caption: String(p.caption) } : {}), params: p, at: Date.now() });
        const stored = typeof file === 'string' ? undefined : addFile(file.bytes, { mimeType: file.type || (field === 'voice' ? 'audio/ogg' : undefined) });
        const media = field === 'voice' ? { voice: stored?.voice ?? { file_id: file, file_unique_id: 'AgADsent', duration: 1, mime_type: 'audio/ogg' } }
          : field === 'audio' ? { audio: stored?.audio ?? { file_id: file, file_unique_id: 'AgADsent', duration: 1 } }
            : { photo: stored?.photo ?? [{ file_id: file, file_unique_id: 'AgADsent', width: 800, height: 600 }] };
        const chat = typeof chatId === 'number' && chatId > 0 ? { id: chatId, type: 'private', first_name: 'Ana' } : { id: typeof chatId === 'number' ? chatId : -1001234567890, type: 'supergroup', title: 'Test group' };
        return ok({ message_id: messageId, from: { id: bot.id, is_bot: true, first_name: bot.firstName, username: bot.username }, chat, date: Math.floor(Date.now() / 1000), ...media, ...(p.caption ? { caption: String(p.caption) } : {}) });
      }
      case 'sendchataction': {
        const chatId = asChatId(p.chat_id);
        if (chatId === undefined) return fail(400, 'Bad Request: chat_id is empty');
        if (!CHAT_ACTIONS.has(String(p.action))) return fail(400, 'Bad Request: wrong parameter action in request');
        bot.chatActions.push({ chatId, action: String(p.action), at: Date.now() });
        return ok(true);
      }
      default:
        return fail(404, 'Not Found: method not found');
    }
  }

  const send = (res: ServerResponse, o: Outcome, req?: IncomingMessage) => {
    if (res.destroyed || res.headersSent) return;
    if ('kind' in o) {
      if (o.kind === 'reset') req?.socket.destroy();
      else if (o.kind === 'malformed') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ok":true,"resu'); }
      return; // hang: close() destroys the socket
    }
    res.writeHead(o.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(o.body));
  };

  const server = createServer(async (req, res) => {
    const rawBody = await readBody(req).catch(() => Buffer.alloc(0));
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const params: Record<string, any> = Object.fromEntries(url.searchParams);
    const type = String(req.headers['content-type'] ?? '');
    try {
      if (rawBody.length && type.includes('json')) Object.assign(params, JSON.parse(rawBody.toString('utf8')));
      else if (rawBody.length && type.includes('urlencoded')) Object.assign(params, Object.fromEntries(new URLSearchParams(rawBody.toString('utf8'))));
      else if (rawBody.length && type.startsWith('multipart/form-data')) {
        const parts = parseMultipart(type, rawBody) ?? {};
        // A file is sent as its own part and named in its field as `attach://<part name>` (grammY, the Bot API's convention).
        for (const [k, v] of Object.entries(parts)) {
          const attached = typeof v === 'string' && v.startsWith('attach://') ? parts[v.slice(9)] : undefined;
          params[k] = attached ?? v;
        }
      }
    } catch { /* fall through with what we have */ }
    // File downloads: GET /file/bot<token>/<file_path>.
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (download) {
      journal.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, rawBody, token: download[1], params, source: 'http', at: Date.now() });
      const f = bots.has(decodeURIComponent(download[1]!)) ? [...files.values()].find((x) => x.filePath === decodeURIComponent(download[2]!)) : undefined;
      if (!f) return send(res, fail(404, 'Not Found'));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': f.bytes.length });
      return void res.end(f.bytes);
    }
    const m = /^\/bot([^/]+)\/(?:test\/)?([^/]+)$/.exec(url.pathname);
    const entry: TelegramJournalEntry = {
      method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, rawBody,
      token: m?.[1], apiMethod: m?.[2].toLowerCase(), params, source: 'http', at: Date.now(),
    };
    journal.push(entry);
    if (!m) return send(res, fail(404, 'Not Found'));
    const bot = bots.get(decodeURIComponent(m[1]));
    if (!bot) return send(res, fail(401, 'Unauthorized'));
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    const outcome = await execute(bot, entry.apiMethod!, params, ac.signal).catch((e) => fail(500, `Internal Server Error: ${e}`));
    send(res, outcome, req);
  });

  const sockets = new Set<Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  async function post(token: string, url: string, headers: Record<string, string>, rawBody: Buffer, update: any): Promise<DeliverResult> {
    const r = await fetch(url, { method: 'POST', headers, body: rawBody });
    const body = await r.text();
    deliveries.push({ token, url, headers, rawBody, update, status: r.status, body, at: Date.now() });
    const result: DeliverResult = { status: r.status, body };
    let reply: any;
    try { reply = body ? JSON.parse(body) : undefined; } catch { /* not JSON */ }
    const bot = bots.get(token);
    if (bot && reply && typeof reply === 'object' && typeof reply.method === 'string') {
      const { method, ...p } = reply;
      journal.push({ method: 'POST', path: `/bot${token}/${method}`, headers: {}, rawBody: Buffer.from(body), token, apiMethod: method.toLowerCase(), params: p, source: 'webhookReply', at: Date.now() });
      const o = await execute(bot, method.toLowerCase(), p);
      if (!('kind' in o)) result.webhookReply = o;
    }
    return result;
  }

  return {
    apiRoot: `http://127.0.0.1:${port}`, port, journal, bots, sent, deliveries, addBot, sentMedia, files, addFile,
    enqueue: (method, ...responses) => {
      const k = method.toLowerCase();
      queues.set(k, [...(queues.get(k) ?? []), ...responses]);
    },
    messagesTo: (chatId, token) => sent.filter((s) => s.chatId === chatId && (!token || s.token === token)).map((s) => s.text),
    calls: (method) => journal.filter((e) => e.apiMethod === method.toLowerCase()),
    pushUpdate: (token, update) => {
      const bot = bots.get(token);
      if (!bot) throw new Error(`pushUpdate: unknown bot token ${token}`);
      const u = { ...update, update_id: update.update_id ?? nextUpdateId++ };
      bot.pending.push(u);
      polls.get(token)?.wake();
      return u;
    },
    deliver: async (token, update, o = {}) => {
      const bot = bots.get(token);
      const url = o.url ?? bot?.webhook?.url;
      if (!url) throw new Error(`deliver: no webhook URL for bot ${token}; call setWebhook or pass { url }`);
      const u = { ...update, update_id: update.update_id ?? nextUpdateId++ };
      const secret = o.secret === undefined ? bot?.webhook?.secret : o.secret;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (secret != null) headers['x-telegram-bot-api-secret-token'] = secret;
      return post(token, url, headers, Buffer.from(JSON.stringify(u)), u);
    },
    replay: (n) => {
      const d = deliveries.at(n);
      if (!d) throw new Error(`replay: no delivery #${n}`);
      return post(d.token, d.url, d.headers, d.rawBody, d.update);
    },
    reset: () => {
      journal.length = sent.length = deliveries.length = sentMedia.length = 0;
      files.clear();
      queues = new Map();
      messageIds.clear();
      for (const p of polls.values()) p.finish(ok([]));
      for (const b of bots.values()) { b.webhook = null; b.pending = []; b.chatActions = []; b.allowedUpdates = undefined; }
    },
    close: () => new Promise<void>((resolve) => {
      for (const p of polls.values()) p.finish({ kind: 'hang' });
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
