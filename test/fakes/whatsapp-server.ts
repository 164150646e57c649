// Fake WhatsApp Cloud API (Meta Graph API) for integration tests (PROTOCOLS.md section 2). Only node:http, binds
// 127.0.0.1 on a random port; `graphUrl` stands in for https://graph.facebook.com (requests go to
// `${graphUrl}/v21.0/${phoneNumberId}/messages`, any vNN.0 accepted).
// Webhook deliveries are serialized like Meta does — non-ASCII escaped as \uXXXX (surrogate pairs for emoji) and
// `/` as `\/` — and signed over those exact bytes with X-Hub-Signature-256 (plus the legacy sha1 X-Hub-Signature).
// Re-serializing the parsed body (JSON.stringify) does NOT reproduce those bytes: verify against the raw body.
// Media (PROTOCOLS.md §2, §7): `GET /<version>/<media-id>` answers {messaging_product, url, mime_type, sha256, file_size, id},
// the url downloads the bytes (`/whatsapp_business/attachments/?mid=<id>`); both need the bearer token (401 otherwise).
// `POST /<version>/<phone-number-id>/media` (multipart: messaging_product, file, type) stores an upload → {id};
// audio and image messages name an uploaded id (or a link).
import { createHash, createHmac } from 'node:crypto';
import { parseMultipart } from './multipart.js';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface WhatsAppJournalEntry {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  json?: any;
  at: number;
}

export interface SentWhatsAppMessage {
  id: string;
  /** `to` exactly as sent, and the wa_id it resolved to. */
  to: string;
  waId: string;
  type: string;
  /** text.body for type 'text'. */
  text?: string;
  body: any;
  at: number;
}

export interface WhatsAppDelivery {
  url: string;
  headers: Record<string, string>;
  /** The exact bytes that were POSTed (and signed). */
  rawBody: Buffer;
  status: number;
  body: string;
  at: number;
}

export interface DeliveryResult {
  status: number;
  body: string;
}

/** A scripted answer for the next POST .../messages. */
export type WhatsAppScript =
  | { status: number; code: number; message?: string; details?: string; type?: string; subcode?: number; body?: unknown }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'malformed' };

export const whatsappErrors = {
  rateLimit: (): WhatsAppScript => ({ status: 429, code: 130429, message: '(#130429) Rate limit hit', details: 'Cloud API message throughput has been reached.' }),
  pairRateLimit: (): WhatsAppScript => ({ status: 400, code: 131056, message: '(#131056) (Business Account, Consumer Account) pair rate limit hit', details: 'Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.' }),
  reengagement: (): WhatsAppScript => ({ status: 400, code: 131047, message: '(#131047) Re-engagement message', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' }),
  undeliverable: (): WhatsAppScript => ({ status: 400, code: 131026, message: '(#131026) Message undeliverable' }),
  expiredToken: (): WhatsAppScript => ({ status: 401, code: 190, message: 'Error validating access token: Session has expired.', subcode: 463 }),
  serverError: (): WhatsAppScript => ({ status: 500, code: 2, message: 'Service temporarily unavailable', type: 'OAuthException' }),
  hang: (): WhatsAppScript => ({ kind: 'hang' }),
  reset: (): WhatsAppScript => ({ kind: 'reset' }),
};

export interface FakeWhatsAppOptions {
  token: string;
  phoneNumberId: string;
  appSecret: string;
  wabaId?: string;
  displayPhoneNumber?: string;
  /** How a free-form send outside the 24 h window fails: 'sync' = HTTP 400 code 131047 (default); 'async' = 200
   *  accepted, then a `failed` status with errors[].code 131047 is POSTed to `statusWebhookUrl`. */
  windowFailure?: 'sync' | 'async';
  /** Where async statuses are delivered (required for windowFailure 'async'). */
  statusWebhookUrl?: string;
  /** Enforce the 24 h customer service window for non-template messages (default true). */
  enforceWindow?: boolean;
  /** Maps the `to` of a send to the wa_id in the response (default: digits only). */
  waIdFor?: (to: string) => string;
}

export interface InboundMessage {
  /** wa_id of the sender, digits without '+'. */
  from: string;
  text?: string;
  id?: string;
  name?: string;
  /** Unix seconds (string or number); default: the fake's clock. */
  timestamp?: string | number;
  /** Defaults to 'text'; other types need their payload in `extra` (e.g. { image: {...} }). */
  type?: string;
  context?: { from: string; id: string };
  extra?: Record<string, unknown>;
}

export interface StatusInput {
  id: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  recipientId: string;
  timestamp?: string | number;
  errors?: { code: number; title?: string; message?: string; details?: string }[];
}

/** A media object the fake holds: one a person sent (addMedia) or one the business uploaded. */
export interface FakeWhatsAppMedia { id: string; bytes: Buffer; mimeType: string; sha256: string; uploaded: boolean; filename?: string; type?: string }

export interface FakeWhatsApp {
  graphUrl: string;
  /** Media by id. */
  media: Map<string, FakeWhatsAppMedia>;
  /** Makes media known as if a person had sent it; answers its id and sha256 for an inbound message's `audio`/`image` object. */
  addMedia(bytes: Buffer, mimeType: string): { id: string; sha256: string };
  port: number;
  journal: WhatsAppJournalEntry[];
  sent: SentWhatsAppMessage[];
  /** message_ids marked as read via `status: 'read'`. */
  reads: string[];
  deliveries: WhatsAppDelivery[];
  /** Mutable at runtime (e.g. set statusWebhookUrl once the app under test is listening). */
  config: { windowFailure: 'sync' | 'async'; statusWebhookUrl?: string; enforceWindow: boolean };
  enqueue(...responses: WhatsAppScript[]): void;
  deliverMessage(webhookUrl: string, msg: InboundMessage | InboundMessage[]): Promise<DeliveryResult>;
  deliverStatus(webhookUrl: string, st: StatusInput | StatusInput[]): Promise<DeliveryResult>;
  /** POST an arbitrary payload: an object is Meta-serialized and signed; a string/Buffer is sent as is.
   *  `signature: null` omits the header, a string overrides it. */
  deliverRaw(webhookUrl: string, payload: unknown, opts?: { signature?: string | null; headers?: Record<string, string> }): Promise<DeliveryResult>;
  /** Re-POST the nth delivery (negative: from the end) byte for byte with the same headers. */
  replay(n: number): Promise<DeliveryResult>;
  /** `sha256=<hex HMAC-SHA256(appSecret, rawBody)>` */
  sign(rawBody: string | Buffer): string;
  /** Meta's GET verification handshake. */
  verify(webhookUrl: string, verifyToken: string, challenge: string, mode?: string): Promise<DeliveryResult>;
  /** Build the envelope Meta would POST for `value` (messages/statuses/contacts…). */
  envelope(value: Record<string, unknown>): any;
  /** Controllable clock (ms) used for the 24 h window and default timestamps; `null` returns to Date.now(). */
  setNow(ms: number | null): void;
  advance(ms: number): void;
  now(): number;
  /** Last inbound time (ms) per wa_id, as recorded by deliverMessage (settable for tests). */
  lastInbound: Map<string, number>;
  /** Resolves when async status deliveries triggered by sends have finished. */
  settled(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

const WINDOW_MS = 24 * 60 * 60 * 1000;

/** JSON with every non-ASCII UTF-16 unit escaped as \uXXXX (lowercase hex) and '/' as '\/', like Meta's webhooks. */
export function metaJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\//g, '\\/');
}

let wamidSeq = 0;
export const newWamid = () =>
  `wamid.HBgL${Buffer.from(`fake-${Date.now()}-${++wamidSeq}-${Math.random()}`).toString('base64').replace(/=+$/, '')}`;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

const scriptError = (s: WhatsAppScript) => {
  if ('kind' in s) throw new Error('not an error script');
  return s.body !== undefined ? { status: s.status, body: s.body }
    : graphError(s.status, s.code, s.message ?? `(#${s.code}) Error`, s.details, s.type, s.subcode);
};

const graphError = (status: number, code: number, message: string, details?: string, type = 'OAuthException', subcode?: number) => ({
  status,
  body: {
    error: {
      message, type, code,
      ...(details ? { error_data: { messaging_product: 'whatsapp', details } } : {}),
      ...(subcode ? { error_subcode: subcode } : {}),
      fbtrace_id: `AfakeTrace${Math.random().toString(36).slice(2, 10)}`,
    },
  },
});

export async function startFakeWhatsApp(opts: FakeWhatsAppOptions): Promise<FakeWhatsApp> {
  const journal: WhatsAppJournalEntry[] = [];
  const sent: SentWhatsAppMessage[] = [];
  const reads: string[] = [];
  const deliveries: WhatsAppDelivery[] = [];
  const lastInbound = new Map<string, number>();
  const background = new Set<Promise<unknown>>();
  let queue: WhatsAppScript[] = [];
  let fixedNow: number | null = null;
  const config = { windowFailure: opts.windowFailure ?? 'sync', statusWebhookUrl: opts.statusWebhookUrl, enforceWindow: opts.enforceWindow ?? true };
  const now = () => fixedNow ?? Date.now();
  const wabaId = opts.wabaId ?? '102290129340398';
  const display = opts.displayPhoneNumber ?? '15550783881';
  const waIdFor = opts.waIdFor ?? ((to: string) => to.replace(/\D/g, ''));

  const sign = (raw: string | Buffer) => `sha256=${createHmac('sha256', opts.appSecret).update(raw).digest('hex')}`;
  const envelope = (value: Record<string, unknown>) => ({
    object: 'whatsapp_business_account',
    entry: [{
      id: wabaId,
      changes: [{
        field: 'messages',
        value: { messaging_product: 'whatsapp', metadata: { display_phone_number: display, phone_number_id: opts.phoneNumberId }, ...value },
      }],
    }],
  });

  async function post(url: string, headers: Record<string, string>, rawBody: Buffer): Promise<DeliveryResult> {
    const r = await fetch(url, { method: 'POST', headers, body: rawBody });
    const body = await r.text();
    deliveries.push({ url, headers, rawBody, status: r.status, body, at: Date.now() });
    return { status: r.status, body };
  }

  const deliverRaw: FakeWhatsApp['deliverRaw'] = (url, payload, o = {}) => {
    const raw = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : metaJson(payload), 'utf8');
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'facebookexternalua', ...o.headers };
    if (o.signature !== null) {
      headers['x-hub-signature-256'] = o.signature ?? sign(raw);
      if (o.signature === undefined) headers['x-hub-signature'] = `sha1=${createHmac('sha1', opts.appSecret).update(raw).digest('hex')}`;
    }
    return post(url, headers, raw);
  };

  const statusObj = (s: StatusInput) => ({
    id: s.id, status: s.status, timestamp: String(s.timestamp ?? Math.floor(now() / 1000)), recipient_id: s.recipientId,
    ...(s.status !== 'failed' && s.status !== 'read'
      ? {
          conversation: { id: `conv-${s.recipientId}`, origin: { type: 'service' }, ...(s.status === 'sent' ? { expiration_timestamp: String(Math.floor(now() / 1000) + 86400) } : {}) },
          pricing: { billable: true, pricing_model: 'PMP', category: 'service' },
        }
      : {}),
    ...(s.errors ? {
      errors: s.errors.map((e) => ({
        code: e.code, title: e.title ?? e.message ?? `Error ${e.code}`, message: e.message ?? e.title ?? `Error ${e.code}`,
        error_data: { details: e.details ?? e.message ?? '' },
      })),
    } : {}),
  });
  const deliverStatus: FakeWhatsApp['deliverStatus'] = (url, st) =>
    deliverRaw(url, envelope({ statuses: (Array.isArray(st) ? st : [st]).map(statusObj) }));

  const media = new Map<string, FakeWhatsAppMedia>();
  let mediaSeq = 0;
  const addMedia = (bytes: Buffer, mimeType: string, extra: Partial<FakeWhatsAppMedia> = {}) => {
    const id = String(1_000_000_000_000_000 + ++mediaSeq);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    media.set(id, { id, bytes, mimeType, sha256, uploaded: false, ...extra });
    return { id, sha256 };
  };
  /** The download URL of a media object (served by this fake; on Meta it is a lookaside.fbsbx.com URL). */
  const downloadUrl = (id: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/whatsapp_business/attachments/?mid=${id}&ext=${Date.now()}&hash=fake`;
  /** Types WhatsApp accepts for an upload (audio, image; documents and video omitted). */
  const UPLOAD_TYPES = /^(audio\/(aac|amr|mpeg|mp4|ogg)(;.*)?|image\/(jpeg|png|webp))$/;

  function handleSend(res: ServerResponse, req: IncomingMessage, body: any): void {
    const reply = (r: { status: number; body: unknown }) => {
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.body));
    };
    if (!body || typeof body !== 'object') return reply(graphError(400, 100, '(#100) Invalid parameter', 'Request body must be JSON.'));
    if (body.messaging_product !== 'whatsapp') return reply(graphError(400, 100, '(#100) The parameter messaging_product is required.'));
    if (body.status === 'read') {
      if (typeof body.message_id !== 'string') return reply(graphError(400, 100, '(#100) The parameter message_id is required.'));
      reads.push(body.message_id);
      return reply({ status: 200, body: { success: true } });
    }
    const script = queue.shift();
    if (script) {
      if ('kind' in script) {
        if (script.kind === 'reset') req.socket.destroy();
        else if (script.kind === 'malformed') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"messaging_product":"whatsapp","mess'); }
        return; // hang
      }
      return reply(scriptError(script));
    }
    const to = typeof body.to === 'string' ? body.to : '';
    if (!to) return reply(graphError(400, 100, '(#100) The parameter to is required.'));
    const type = body.type ?? 'text';
    if (type === 'text') {
      const text = body.text?.body;
      if (typeof text !== 'string' || !text) return reply(graphError(400, 100, '(#100) The parameter text[\'body\'] is required.'));
      if (text.length > 4096) return reply(graphError(400, 100, '(#100) Invalid parameter', "Param text['body'] must be at most 4096 characters long."));
    } else if (type === 'template') {
      if (!body.template?.name || !body.template?.language?.code) return reply(graphError(400, 100, '(#100) Invalid parameter', 'template name and language.code are required.'));
    } else if (!body[type] || typeof body[type] !== 'object') {
      return reply(graphError(400, 100, `(#100) The parameter ${type} is required.`));
    } else if (type === 'audio' || type === 'image') {
      const o = body[type];
      if (!o.id && !o.link) return reply(graphError(400, 100, '(#100) Invalid parameter', `${type} must have an id or a link.`));
      if (o.id && !media.get(String(o.id))?.uploaded) return reply(graphError(400, 131053, '(#131053) Media upload error', `Media id ${o.id} was not uploaded by this phone number.`));
      if (type === 'audio' && o.caption !== undefined) return reply(graphError(400, 100, '(#100) Invalid parameter', 'audio messages have no caption.'));
    }
    const waId = waIdFor(to);
    const last = lastInbound.get(waId);
    const outside = type !== 'template' && config.enforceWindow && (last === undefined || now() - last > WINDOW_MS);
    if (outside && config.windowFailure !== 'async') return reply(scriptError(whatsappErrors.reengagement()));
    const id = newWamid();
    sent.push({ id, to, waId, type, text: type === 'text' ? body.text.body : undefined, body, at: now() });
    reply({ status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: waId }], messages: [{ id, message_status: 'accepted' }] } });
    if (outside) {
      if (!config.statusWebhookUrl) throw new Error('windowFailure "async" needs config.statusWebhookUrl');
      const p = deliverStatus(config.statusWebhookUrl, {
        id, status: 'failed', recipientId: waId,
        errors: [{ code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' }],
      }).catch(() => undefined).finally(() => background.delete(p));
      background.add(p);
    }
  }

  const server = createServer(async (req, res) => {
    const rawBody = await readBody(req).catch(() => Buffer.alloc(0));
    const entry: WhatsAppJournalEntry = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, rawBody, at: Date.now() };
    try { if (rawBody.length) entry.json = JSON.parse(rawBody.toString('utf8')); } catch { /* keep raw */ }
    journal.push(entry);
    const send = (r: { status: number; body: unknown }) => {
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.body));
    };
    const url = new URL(req.url ?? '/', 'http://x');
    const pathname = url.pathname;
    const m = /^\/v\d+\.\d+\/([^/]+)\/messages\/?$/.exec(pathname);
    if (req.headers.authorization !== `Bearer ${opts.token}`) {
      return send(graphError(401, 190, 'Invalid OAuth access token - Cannot parse access token'));
    }
    // The media download (the URL a media lookup answered).
    if (req.method === 'GET' && pathname === '/whatsapp_business/attachments/') {
      const item = media.get(url.searchParams.get('mid') ?? '');
      if (!item) return send(graphError(404, 100, 'Media not found'));
      res.writeHead(200, { 'content-type': item.mimeType, 'content-length': item.bytes.length });
      return void res.end(item.bytes);
    }
    // A media lookup: GET /<version>/<media-id>.
    const lookup = /^\/v\d+\.\d+\/(\d+)\/?$/.exec(pathname);
    if (req.method === 'GET' && lookup && lookup[1] !== opts.phoneNumberId) {
      const item = media.get(lookup[1]!);
      if (!item) return send(graphError(400, 100, `Unsupported get request. Object with ID '${lookup[1]}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, undefined, 'GraphMethodException', 33));
      return send({ status: 200, body: { messaging_product: 'whatsapp', url: downloadUrl(item.id), mime_type: item.mimeType, sha256: item.sha256, file_size: item.bytes.length, id: item.id } });
    }
    // An upload: POST /<version>/<phone-number-id>/media (multipart).
    const upload = /^\/v\d+\.\d+\/([^/]+)\/media\/?$/.exec(pathname);
    if (req.method === 'POST' && upload) {
      if (upload[1] !== opts.phoneNumberId) return send(graphError(400, 100, `Unsupported post request. Object with ID '${upload[1]}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, undefined, 'GraphMethodException', 33));
      const form = parseMultipart(String(req.headers['content-type'] ?? ''), rawBody);
      if (!form) return send(graphError(400, 100, '(#100) Invalid parameter', 'The request must be multipart/form-data.'));
      if (form.messaging_product !== 'whatsapp') return send(graphError(400, 100, '(#100) The parameter messaging_product is required.'));
      const file = form.file;
      if (!file || typeof file === 'string') return send(graphError(400, 100, '(#100) The parameter file is required.'));
      const type = typeof form.type === 'string' ? form.type : file.type;
      if (!UPLOAD_TYPES.test(file.type || type)) return send(graphError(400, 131053, '(#131053) Media upload error', `Unsupported file type ${file.type || type}.`));
      const { id } = addMedia(file.bytes, file.type || type, { uploaded: true, filename: file.filename, type });
      return send({ status: 200, body: { id } });
    }
    if (!m || req.method !== 'POST') {
      return send(graphError(400, 100, `Unsupported ${req.method?.toLowerCase()} request. Object with ID '${pathname.split('/')[2] ?? ''}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, undefined, 'GraphMethodException', 33));
    }
    if (m[1] !== opts.phoneNumberId) {
      return send(graphError(400, 100, `Unsupported post request. Object with ID '${m[1]}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, undefined, 'GraphMethodException', 33));
    }
    try { handleSend(res, req, entry.json); } catch (e) { if (!res.headersSent) send(graphError(500, 1, `An unknown error occurred: ${e}`)); }
  });

  const sockets = new Set<Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    graphUrl: `http://127.0.0.1:${port}`,
    media,
    addMedia: (bytes, mimeType) => addMedia(bytes, mimeType),
    port,
    journal,
    sent,
    reads,
    deliveries,
    config,
    enqueue: (...responses) => void queue.push(...responses),
    deliverMessage: (url, msg) => {
      const msgs = Array.isArray(msg) ? msg : [msg];
      const seen = new Map<string, string | undefined>();
      for (const m of msgs) { seen.set(m.from, m.name ?? seen.get(m.from)); lastInbound.set(m.from, now()); }
      return deliverRaw(url, envelope({
        contacts: [...seen].map(([waId, name]) => ({ profile: { name: name ?? 'Ana' }, wa_id: waId })),
        messages: msgs.map((m) => ({
          ...(m.context ? { context: m.context } : {}),
          from: m.from, id: m.id ?? newWamid(), timestamp: String(m.timestamp ?? Math.floor(now() / 1000)), type: m.type ?? 'text',
          ...((m.type ?? 'text') === 'text' ? { text: { body: m.text ?? '' } } : {}),
          ...m.extra,
        })),
      }));
    },
    deliverStatus,
    deliverRaw,
    replay: (n) => {
      const d = deliveries.at(n);
      if (!d) throw new Error(`replay: no delivery #${n}`);
      return post(d.url, d.headers, d.rawBody);
    },
    sign,
    verify: async (url, verifyToken, challenge, mode = 'subscribe') => {
      const u = new URL(url);
      u.searchParams.set('hub.mode', mode);
      u.searchParams.set('hub.verify_token', verifyToken);
      u.searchParams.set('hub.challenge', challenge);
      const r = await fetch(u);
      return { status: r.status, body: await r.text() };
    },
    envelope,
    setNow: (ms) => void (fixedNow = ms),
    advance: (ms) => void (fixedNow = now() + ms),
    now,
    lastInbound,
    settled: async () => { while (background.size) await Promise.all([...background]); },
    reset: () => {
      journal.length = 0;
      sent.length = 0;
      reads.length = 0;
      deliveries.length = 0;
      queue = [];
      media.clear();
      lastInbound.clear();
      fixedNow = null;
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
