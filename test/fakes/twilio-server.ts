// Fake Twilio Programmable Messaging (WhatsApp) for integration tests (PROTOCOLS.md section 3). Only node:http,
// binds 127.0.0.1 on a random port.
//
// Pointing the real `twilio` client (6.x) at the fake — verified in node_modules/twilio/lib and by the tests:
//   1. const client = twilio(accountSid, authToken); client.api.baseUrl = fake.apiUrl;
//      `client.api` is a lazily created, cached Domain whose public `baseUrl` (default https://api.twilio.com) is
//      prefixed to `/2010-04-01/Accounts/{sid}/Messages.json`; `client.messages` resolves through client.api.v2010.
//      BaseTwilio.request() only rewrites the hostname when edge/region (or TWILIO_EDGE/TWILIO_REGION) are set —
//      leave them unset. RequestClient sends with axios `proxy: false`, so HTTP(S)_PROXY env does not interfere
//      for http:// URLs. `autoRetry: true` (429 backoff) still works, it lives in RequestClient.
//   2. twilio(accountSid, authToken, { httpClient }) where httpClient.request(opts) rewrites `opts.uri`
//      (https://api.twilio.com → fake.apiUrl) and delegates to a real `new twilio.RequestClient()`.
// `twilio` is CommonJS: in ESM use the default import (`import twilio from 'twilio'`); named imports do not exist.
//
// Inbound webhooks are form-encoded and signed with X-Twilio-Signature exactly like Twilio:
// twilio.getExpectedTwilioSignature(authToken, url, params) over the PUBLIC url the app is configured with
// (publicUrl + the path/query of the local webhook URL) and all params.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import twilio from 'twilio';

export type TwilioParams = Record<string, string | string[]>;

export interface TwilioJournalEntry {
  method: string; path: string; headers: IncomingHttpHeaders; rawBody: Buffer; at: number;
  /** Decoded form params (repeated keys → arrays). */
  params: TwilioParams;
}

export interface TwilioMessage {
  sid: string; account_sid: string; api_version: string; body: string; from: string | null; to: string;
  status: string; direction: string; num_media: string; num_segments: string; messaging_service_sid: string | null;
  date_created: string; date_updated: string; date_sent: string | null; error_code: number | null;
  error_message: string | null; price: string | null; price_unit: string; uri: string; subresource_uris: Record<string, string>;
  [k: string]: unknown;
}

export interface SentTwilioMessage { sid: string; to: string; from: string | null; body: string;
  /** The `MediaUrl` values (outbound media Twilio fetches from these public URLs), in order. */
  mediaUrls: string[];
  params: TwilioParams; resource: TwilioMessage; at: number }

export interface TwilioDelivery {
  url: string; signedUrl: string; params: TwilioParams; headers: Record<string, string>; rawBody: Buffer;
  status: number; body: string; at: number;
}

export interface TwilioDeliveryResult {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** Text of each <Message> (or its <Body>) in a TwiML answer, XML-unescaped. */
  messages: string[];
}

export type TwilioScript =
  | { status: number; code: number; message?: string; body?: unknown }
  | { kind: 'hang' | 'reset' | 'malformed' };

export const twilioErrors = {
  rateLimit: (): TwilioScript => ({ status: 429, code: 20429, message: 'Too Many Requests' }),
  outsideWindow: (): TwilioScript => ({ status: 400, code: 63016, message: OUTSIDE_WINDOW }),
  invalidTo: (): TwilioScript => ({ status: 400, code: 21211, message: "Invalid 'To' Phone Number" }),
  channelRateLimit: (): TwilioScript => ({ status: 429, code: 63018, message: 'Rate limit exceeded for Channel' }),
  serverError: (): TwilioScript => ({ status: 500, code: 20500, message: 'Internal Server Error' }),
  hang: (): TwilioScript => ({ kind: 'hang' }),
  reset: (): TwilioScript => ({ kind: 'reset' }),
};

const OUTSIDE_WINDOW = 'Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.';
const WINDOW_MS = 24 * 60 * 60 * 1000;

export interface FakeTwilioOptions {
  accountSid: string;
  authToken: string;
  /** Default public base URL used for signing inbound webhooks (e.g. https://bot.example.com). */
  publicUrl?: string;
  /** Free-form WhatsApp send outside 24 h: 'sync' = HTTP 400 code 63016 (default); 'async' = 201 queued, then the
   *  message turns `failed` with error_code 63016 and a signed status callback is POSTed (real Twilio behaves this way). */
  windowFailure?: 'sync' | 'async';
  enforceWindow?: boolean;
  /** Body limit, 1600 (error 21658, PROTOCOLS.md §3); counted in UTF-16 units unless 'codepoint'. */
  bodyUnit?: 'utf16' | 'codepoint';
}

export interface DeliverOptions {
  /** Public base URL to sign with (overrides the start option). Signed URL = publicUrl + path/query of webhookUrl. */
  publicUrl?: string;
  /** Exact URL to sign (wins over publicUrl), e.g. to test :443 or http/https mismatches. */
  signUrl?: string;
  /** Override the X-Twilio-Signature header; null omits it. */
  signature?: string | null;
  /** Send params exactly as given, without Twilio's default fields. */
  raw?: boolean;
}

export interface FakeTwilio {
  /** e.g. http://127.0.0.1:PORT — set `client.api.baseUrl` to it. */
  apiUrl: string;
  port: number;
  journal: TwilioJournalEntry[];
  sent: SentTwilioMessage[];
  deliveries: TwilioDelivery[];
  /** Mutable at runtime. */
  config: { windowFailure: 'sync' | 'async'; enforceWindow: boolean; publicUrl?: string };
  enqueue(...responses: TwilioScript[]): void;
  /** Inbound message webhook; missing standard fields (MessageSid, AccountSid, WaId, NumMedia, …) are filled in. */
  deliver(webhookUrl: string, params: TwilioParams, opts?: DeliverOptions): Promise<TwilioDeliveryResult>;
  /** Signed status callback (MessageSid, MessageStatus, ErrorCode?, …). */
  deliverStatus(webhookUrl: string, st: { messageSid: string; status: string; to: string; from?: string; errorCode?: number }, opts?: DeliverOptions): Promise<TwilioDeliveryResult>;
  /** Re-POST the nth delivery (negative: from the end) byte for byte with the same headers. */
  replay(n: number): Promise<TwilioDeliveryResult>;
  /** X-Twilio-Signature for a URL + params (twilio.getExpectedTwilioSignature with this auth token). */
  sign(url: string, params: TwilioParams): string;
  setNow(ms: number | null): void;
  advance(ms: number): void;
  now(): number;
  /** Last inbound time (ms) per address without the `whatsapp:` prefix, e.g. '+15551234567'. */
  lastInbound: Map<string, number>;
  /** Resolves when async status callbacks have been delivered. */
  settled(): Promise<void>;
  /**
   * Makes a file known as if a person had sent it (PROTOCOLS.md §7): answers the `MediaUrl0` to put in a
   * webhook. GET on it needs HTTP Basic (account SID and auth token) and answers 307 to a signed CDN
   * address that needs none, like Twilio's media URLs.
   */
  addMedia(bytes: Buffer, contentType: string): { url: string; contentType: string; sid: string };
  /** Files served, by media sid. */
  media: Map<string, { bytes: Buffer; contentType: string }>;
  reset(): void;
  close(): Promise<void>;
}

export const newSid = (prefix: string) => prefix + randomBytes(16).toString('hex');
const rfc2822 = (ms: number) => new Date(ms).toUTCString().replace('GMT', '+0000');
const bare = (addr: string) => addr.replace(/^whatsapp:/, '');
const xmlUnescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/** <Message> texts of a TwiML document. */
export function twimlMessages(xml: string): string[] {
  return [...xml.matchAll(/<Message(?:\s[^>]*)?>([\s\S]*?)<\/Message>/g)].map((m) => {
    const body = /<Body>([\s\S]*?)<\/Body>/.exec(m[1]);
    return xmlUnescape(body ? body[1] : m[1].replace(/<Media>[\s\S]*?<\/Media>/g, ''));
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function parseForm(s: string): TwilioParams {
  const out: TwilioParams = {};
  for (const [k, v] of new URLSearchParams(s)) {
    const cur = out[k];
    out[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
  return out;
}

function encodeForm(params: TwilioParams): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) u.append(k, x);
  return u.toString();
}

export async function startFakeTwilio(opts: FakeTwilioOptions): Promise<FakeTwilio> {
  const journal: TwilioJournalEntry[] = [];
  const sent: SentTwilioMessage[] = [];
  const deliveries: TwilioDelivery[] = [];
  const lastInbound = new Map<string, number>();
  const background = new Set<Promise<unknown>>();
  let queue: TwilioScript[] = [];
  let fixedNow: number | null = null;
  const now = () => fixedNow ?? Date.now();
  const config = { windowFailure: opts.windowFailure ?? 'sync', enforceWindow: opts.enforceWindow ?? true, publicUrl: opts.publicUrl };
  const { accountSid: AC, authToken } = opts;
  const sign = (url: string, params: TwilioParams) => twilio.getExpectedTwilioSignature(authToken, url, params);
  const measure = (s: string) => (opts.bodyUnit === 'codepoint' ? Array.from(s).length : s.length);

  const err = (status: number, code: number, message: string) => ({
    status, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
  });

  async function post(url: string, signedUrl: string, params: TwilioParams, headers: Record<string, string>, rawBody: Buffer): Promise<TwilioDeliveryResult> {
    const r = await fetch(url, { method: 'POST', headers, body: rawBody });
    const body = await r.text();
    deliveries.push({ url, signedUrl, params, headers, rawBody, status: r.status, body, at: Date.now() });
    return { status: r.status, body, headers: Object.fromEntries(r.headers), messages: twimlMessages(body) };
  }

  function signedPost(url: string, params: TwilioParams, o: DeliverOptions = {}) {
    const u = new URL(url);
    const base = o.publicUrl ?? config.publicUrl;
    const signedUrl = o.signUrl ?? (base ? base.replace(/\/+$/, '') + u.pathname + u.search : url);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'user-agent': 'TwilioProxy/1.1',
      'i-twilio-idempotency-token': newSid(''),
    };
    if (o.signature !== null) headers['x-twilio-signature'] = o.signature ?? sign(signedUrl, params);
    return post(url, signedUrl, params, headers, Buffer.from(encodeForm(params), 'utf8'));
  }

  const deliverStatus: FakeTwilio['deliverStatus'] = (url, st, o) => signedPost(url, {
    ...(st.errorCode !== undefined ? { ErrorCode: String(st.errorCode) } : {}),
    ChannelPrefix: 'whatsapp', ApiVersion: '2010-04-01', MessageStatus: st.status, SmsSid: st.messageSid, SmsStatus: st.status,
    To: st.to, MessageSid: st.messageSid, AccountSid: AC, From: st.from ?? 'whatsapp:+14155238886',
  }, o);

  function createMessage(p: TwilioParams): { status: number; body: unknown } {
    const one = (k: string) => (Array.isArray(p[k]) ? (p[k] as string[])[0] : (p[k] as string | undefined));
    const script = queue.shift();
    if (script && !('kind' in script)) return script.body !== undefined ? { status: script.status, body: script.body } : err(script.status, script.code, script.message ?? 'Error');
    const to = one('To');
    const from = one('From') ?? null;
    const body = one('Body') ?? '';
    const media = p.MediaUrl === undefined ? [] : ([] as string[]).concat(p.MediaUrl);
    if (!to) return err(400, 21604, "A 'To' phone number is required.");
    if (!from && !one('MessagingServiceSid')) return err(400, 21603, "A 'From' phone number is required.");
    if (!body && !media.length && !one('ContentSid')) return err(400, 21602, 'Message body is required.');
    if (!/^(whatsapp:)?\+?\d{6,15}$/.test(to)) return err(400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (measure(body) > 1600) return err(400, 21658, 'The concatenated message body exceeds the 1600 character limit.');
    const isWa = to.startsWith('whatsapp:');
    const last = lastInbound.get(bare(to));
    const outside = isWa && config.enforceWindow && !one('ContentSid') && (last === undefined || now() - last > WINDOW_MS);
    if (outside && config.windowFailure === 'sync') return err(400, 63016, OUTSIDE_WINDOW);
    const sid = newSid(media.length ? 'MM' : 'SM');
    const date = rfc2822(now());
    const service = one('MessagingServiceSid') ?? null;
    const resource: TwilioMessage = {
      account_sid: AC, api_version: '2010-04-01', body, date_created: date, date_sent: null, date_updated: date,
      direction: 'outbound-api', error_code: null, error_message: null, from, messaging_service_sid: service,
      num_media: String(media.length), num_segments: '1', price: null, price_unit: 'USD', sid,
      status: service && !from ? 'accepted' : 'queued', to,
      subresource_uris: { media: `/2010-04-01/Accounts/${AC}/Messages/${sid}/Media.json`, feedback: `/2010-04-01/Accounts/${AC}/Messages/${sid}/Feedback.json` },
      uri: `/2010-04-01/Accounts/${AC}/Messages/${sid}.json`,
    };
    sent.push({ sid, to, from, body, mediaUrls: media, params: p, resource, at: now() });
    if (outside) {
      const failed = { ...resource, status: 'failed', error_code: 63016, error_message: OUTSIDE_WINDOW };
      sent[sent.length - 1].resource = failed;
      const cb = one('StatusCallback');
      if (cb) {
        const pr = deliverStatus(cb, { messageSid: sid, status: 'failed', to, from: from ?? undefined, errorCode: 63016 })
          .catch(() => undefined).finally(() => background.delete(pr));
        background.add(pr);
      }
    }
    return { status: 201, body: resource };
  }

  const media = new Map<string, { bytes: Buffer; contentType: string }>();
  const server = createServer(async (req, res) => {
    const rawBody = await readBody(req).catch(() => Buffer.alloc(0));
    const url = new URL(req.url ?? '/', 'http://x');
    const params = { ...parseForm(url.search.slice(1)), ...parseForm(rawBody.toString('utf8')) };
    journal.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, rawBody, params, at: Date.now() });
    const send = (r: { status: number; body: unknown }) => {
      if (res.destroyed) return;
      res.writeHead(r.status, { 'content-type': 'application/json; charset=utf-8', 'twilio-request-id': newSid('RQ') });
      res.end(JSON.stringify(r.body));
    };
    // The CDN hop of a media download: signed address, no credentials (they would be ignored).
    const cdn = /^\/cdn\/(ME[0-9a-f]+)$/.exec(url.pathname);
    if (cdn && req.method === 'GET') {
      const f = media.get(cdn[1]!);
      if (!f || url.searchParams.get('Signature') !== 'fake-signature') { res.writeHead(403, { 'content-type': 'application/xml' }); return void res.end('<Error><Code>AccessDenied</Code></Error>'); }
      res.writeHead(200, { 'content-type': f.contentType, 'content-length': f.bytes.length });
      return void res.end(f.bytes);
    }
    const auth = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [user, pass] = auth ? Buffer.from(auth[1], 'base64').toString('utf8').split(':') : [];
    if (user !== AC || pass !== authToken) return send(err(401, 20003, 'Authenticate'));
    const create = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(url.pathname);
    const fetchOne = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/([^/]+)\.json$/.exec(url.pathname);
    const acct = (create ?? fetchOne)?.[1];
    if (acct !== undefined && acct !== AC) return send(err(403, 20003, 'Authenticate'));
    if (create && req.method === 'POST') {
      const script = queue[0];
      if (script && 'kind' in script) {
        queue.shift();
        if (script.kind === 'reset') req.socket.destroy();
        else if (script.kind === 'malformed') { res.writeHead(201, { 'content-type': 'application/json' }); res.end('{"sid":"SM'); }
        return; // hang: close() destroys the socket
      }
      return send(createMessage(params));
    }
    const mediaGet = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/([^/]+)\/Media\/(ME[0-9a-f]+)$/.exec(url.pathname);
    if (mediaGet && req.method === 'GET') {
      if (mediaGet[1] !== AC) return send(err(403, 20003, 'Authenticate'));
      if (!media.has(mediaGet[3]!)) return send(err(404, 20404, `The requested resource ${url.pathname} was not found`));
      res.writeHead(307, { location: `http://127.0.0.1:${port}/cdn/${mediaGet[3]}?Expires=${Math.floor(now() / 1000) + 3600}&Signature=fake-signature`, 'content-length': '0' });
      return void res.end();
    }
    if (fetchOne && req.method === 'GET') {
      const m = sent.find((s) => s.sid === fetchOne[2]);
      return send(m ? { status: 200, body: m.resource } : err(404, 20404, `The requested resource ${url.pathname} was not found`));
    }
    send(err(404, 20404, `The requested resource ${url.pathname} was not found`));
  });

  const sockets = new Set<Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    apiUrl: `http://127.0.0.1:${port}`,
    port,
    journal,
    sent,
    deliveries,
    config,
    enqueue: (...responses) => void queue.push(...responses),
    deliver: (url, params, o = {}) => {
      let p = params;
      if (!o.raw) {
        const sid = (params.MessageSid as string | undefined) ?? newSid(Number(params.NumMedia ?? 0) > 0 ? 'MM' : 'SM');
        const from = (params.From as string | undefined) ?? 'whatsapp:+15551234567';
        p = {
          SmsMessageSid: sid, NumMedia: '0', ProfileName: 'Ana', MessageType: 'text', SmsSid: sid,
          WaId: bare(from).replace(/^\+/, ''), SmsStatus: 'received', Body: '', To: 'whatsapp:+14155238886',
          NumSegments: '1', ReferralNumMedia: '0', MessageSid: sid, AccountSid: AC, From: from, ApiVersion: '2010-04-01',
          ...params,
        };
      }
      if (typeof p.From === 'string') lastInbound.set(bare(p.From), now());
      return signedPost(url, p, o);
    },
    deliverStatus,
    media,
    addMedia: (bytes, contentType) => {
      const sid = newSid('ME');
      media.set(sid, { bytes, contentType });
      return { sid, contentType, url: `http://127.0.0.1:${port}/2010-04-01/Accounts/${AC}/Messages/${newSid('MM')}/Media/${sid}` };
    },
    replay: (n) => {
      const d = deliveries.at(n);
      if (!d) throw new Error(`replay: no delivery #${n}`);
      return post(d.url, d.signedUrl, d.params, d.headers, d.rawBody);
    },
    sign,
    setNow: (ms) => void (fixedNow = ms),
    advance: (ms) => void (fixedNow = now() + ms),
    now,
    lastInbound,
    settled: async () => { while (background.size) await Promise.all([...background]); },
    reset: () => {
      journal.length = 0;
      sent.length = 0;
      deliveries.length = 0;
      queue = [];
      lastInbound.clear();
      media.clear();
      fixedNow = null;
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
