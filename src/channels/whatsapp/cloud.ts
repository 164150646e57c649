import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { InboundMedia, InboundMessage } from '../../domain/ports.js';
import { boundedDownload, fileTooLarge } from '../media-download.js';
import { SendError } from '../../domain/ports.js';
import { safeEqual } from '../../infra/system.js';
import type { CloudConfig } from './config.js';
import { networkFailure } from '../failures.js';
import { nodeFetch } from '../../infra/node-fetch.js';

export const GRAPH_VERSION = 'v21.0';

/** Meta signs the raw bytes it sends (non-ASCII escaped as \uXXXX): verify those bytes, never a re-serialisation. */
export function verifyCloudSignature(appSecret: string, raw: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = 'sha256=' + createHmac('sha256', appSecret).update(raw).digest('hex');
  return safeEqual(expected, header.toLowerCase());
}

/** `details` is Meta's `errors[].error_data.details`, the part that says what went wrong. */
export type CloudStatus = { id: string; status: string; recipientId: string; errors: { code: number; title?: string; message?: string; details?: string }[] };

/**
 * What we read of Meta's webhook, item by item (PROTOCOLS.md §3). Meta's payloads are loose objects
 * with more fields than these, so unknown fields pass. The POST is signed, so it is Meta's (or holds
 * the app secret): an item of the wrong shape is skipped and counted, never a 500, which Meta would
 * redeliver for a week; the items beside it are still read.
 */
const idText = z.union([z.string().min(1).max(256), z.number().finite().transform(String)]);
const cloudFile = z.looseObject({ id: idText, mime_type: z.string().max(255).optional(), caption: z.string().optional() });
const cloudMessage = z.looseObject({
  from: idText,
  id: idText,
  timestamp: z.union([z.string().max(20), z.number().finite()]).optional(),
  type: z.string().max(64),
  text: z.looseObject({ body: z.string() }).optional(),
  interactive: z.looseObject({
    button_reply: z.looseObject({ title: z.string() }).optional(),
    list_reply: z.looseObject({ title: z.string() }).optional(),
  }).optional(),
  button: z.looseObject({ text: z.string() }).optional(),
  audio: cloudFile.optional(), voice: cloudFile.optional(), image: cloudFile.optional(),
  video: cloudFile.partial().optional(), document: cloudFile.partial().optional(),
});
const cloudStatus = z.looseObject({
  id: idText,
  status: z.string().max(64),
  recipient_id: idText.optional(),
  errors: z.array(z.looseObject({
    code: z.number().finite().optional(), title: z.string().optional(), message: z.string().optional(),
    error_data: z.looseObject({ details: z.string().optional() }).optional(),
  })).optional(),
});
const cloudContact = z.looseObject({ wa_id: idText, profile: z.looseObject({ name: z.string().optional() }).optional() });
const list = z.array(z.unknown());
const cloudValue = z.looseObject({
  metadata: z.looseObject({ phone_number_id: idText.optional() }).optional(),
  contacts: list.optional(), messages: list.optional(), statuses: list.optional(),
});
const cloudChange = z.looseObject({ value: cloudValue });
const cloudEntry = z.looseObject({ changes: list });
type CloudMessage = z.infer<typeof cloudMessage>;

/** The file a message carries: audio (voice notes too) and images are read; video, documents and stickers are not. */
export function cloudMediaOf(m: CloudMessage): InboundMedia | undefined {
  const audio = m.type === 'audio' ? m.audio : m.type === 'voice' ? m.voice : undefined;
  if (audio) return { kind: 'audio', provider: 'whatsapp', mediaId: audio.id, mimeType: audio.mime_type };
  if (m.type === 'image' && m.image) return { kind: 'image', provider: 'whatsapp', mediaId: m.image.id, mimeType: m.image.mime_type };
  if (m.type === 'video' || m.type === 'document' || m.type === 'sticker') return { kind: 'unsupported', what: m.type };
  return undefined;
}

/**
 * Every message and status in a webhook POST (one POST can carry several entries and changes), and
 * how many items were skipped for their shape (`skipped`).
 */
export function parseCloudWebhook(body: unknown, phoneNumberId: string): { messages: InboundMessage[]; statuses: CloudStatus[]; skipped: number } {
  const messages: InboundMessage[] = [];
  const statuses: CloudStatus[] = [];
  let skipped = 0;
  /** Each item of a list that has the shape; the others counted. */
  const each = <T>(items: unknown, schema: z.ZodType<T>): T[] => {
    if (items === undefined) return [];
    if (!Array.isArray(items)) { skipped++; return []; }
    return items.flatMap((item) => {
      const r = schema.safeParse(item);
      if (!r.success) skipped++;
      return r.success ? [r.data] : [];
    });
  };
  for (const entry of each((body as { entry?: unknown } | null)?.entry, cloudEntry)) {
    for (const { value } of each(entry.changes, cloudChange)) {
      if (value.metadata?.phone_number_id && value.metadata.phone_number_id !== phoneNumberId) continue;
      const names = new Map(each(value.contacts, cloudContact).map((c) => [c.wa_id, c.profile?.name ?? '']));
      for (const m of each(value.messages, cloudMessage)) {
        const media = cloudMediaOf(m);
        const said = m.type === 'text' ? m.text?.body
          : m.type === 'interactive' ? (m.interactive?.button_reply?.title ?? m.interactive?.list_reply?.title)
          : m.type === 'button' ? m.button?.text
          : (m.image?.caption ?? m.video?.caption ?? m.document?.caption);
        const text = said ?? '';
        if (!text.trim() && !media) continue; // reactions, locations, contacts: nothing to answer
        messages.push({
          channel: 'whatsapp', account: phoneNumberId, externalId: m.id, threadKey: `whatsapp:${m.from}`, agentId: null,
          sender: m.from, senderName: names.get(m.from) || null, text, payload: { id: m.id, type: m.type, timestamp: m.timestamp, ...(media ? { media } : {}) },
          orderKey: String(m.timestamp ?? '').padStart(12, '0'),
        });
      }
      for (const st of each(value.statuses, cloudStatus)) {
        const errs = (st.errors ?? []).map((e) => ({ code: Number(e.code), title: e.title, message: e.message, details: e.error_data?.details || undefined }));
        statuses.push({ id: st.id, status: st.status, recipientId: st.recipient_id ?? '', errors: errs });
      }
    }
  }
  return { messages, statuses, skipped };
}

/** Error codes that no retry will fix: outside the 24 h window, undeliverable, bad parameters, bad token. */
const FINAL = new Set([131047, 131026, 100, 190, 131051, 131052, 131053, 132000, 133010]);

export function sendCloudText(c: CloudConfig, to: string, text: string) {
  return sendCloud(c, { messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'text', text: { body: text, preview_url: false } });
}

/** A template message: the only kind allowed outside the 24-hour window (hello_world exists on every account). */
export function sendCloudTemplate(c: CloudConfig, to: string, name = 'hello_world', language = 'en_US') {
  return sendCloud(c, { messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'template', template: { name, language: { code: language } } });
}

/**
 * A file a person sent, in Meta's two steps: GET /{media-id} (bearer) names a short-lived URL and the
 * size, then that URL is fetched with the same bearer token. The token goes only to Meta: the Graph
 * host, or an https URL Meta named (lookaside.fbsbx.com).
 */
export async function downloadCloudMedia(c: CloudConfig, mediaId: string, limits: { maxBytes: number; timeoutMs: number }): Promise<Uint8Array> {
  const auth = { authorization: `Bearer ${c.token}` };
  let res: Response;
  try {
    res = await fetch(`${c.graphUrl}/${GRAPH_VERSION}/${encodeURIComponent(mediaId)}`, { headers: auth, signal: AbortSignal.timeout(limits.timeoutMs) });
  } catch (err) {
    throw networkFailure('the WhatsApp Cloud API', err);
  }
  const body = (await res.json().catch(() => ({}))) as { url?: string; file_size?: number; error?: { code?: number; message?: string } };
  if (!res.ok || typeof body.url !== 'string') {
    throw new SendError(`WhatsApp could not find the file: ${body.error?.message ?? `HTTP ${res.status}`}`, res.status === 429 || res.status >= 500, undefined, body.error?.code ?? res.status);
  }
  if (typeof body.file_size === 'number' && body.file_size > limits.maxBytes) throw fileTooLarge(limits.maxBytes);
  let url: URL;
  try { url = new URL(body.url); } catch { throw new SendError('WhatsApp named a file URL that is not one', false); }
  if (url.protocol !== 'https:' && url.origin !== new URL(c.graphUrl).origin) throw new SendError('WhatsApp named a file URL that is not https', false);
  return boundedDownload('the WhatsApp Cloud API', url.href, { ...limits, headers: auth });
}

/** A spoken reply: the audio uploaded (POST /{phone-number-id}/media, multipart) and sent as an `audio` message with the id Meta gives it. */
export async function sendCloudAudio(c: CloudConfig, to: string, bytes: Uint8Array, mimeType: string): Promise<{ providerMessageId: string | null }> {
  const form = new FormData();
  form.set('messaging_product', 'whatsapp');
  form.set('type', mimeType);
  form.set('file', new Blob([bytes], { type: mimeType }), mimeType.includes('ogg') ? 'reply.ogg' : 'reply.mp3');
  let res: Response;
  try {
    res = await fetch(`${c.graphUrl}/${GRAPH_VERSION}/${c.phoneNumberId}/media`, { method: 'POST', headers: { authorization: `Bearer ${c.token}` }, body: form, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw networkFailure('the WhatsApp Cloud API', err);
  }
  const body = (await res.json().catch(() => ({}))) as { id?: string; error?: { code?: number; message?: string; error_data?: { details?: string } } };
  if (!res.ok || !body.id) {
    const code = body.error?.code;
    const reason = `media upload refused: ${body.error?.message ?? `HTTP ${res.status}`}${body.error?.error_data?.details ? ` — ${body.error.error_data.details}` : ''}`;
    throw new SendError(reason, res.status === 429 || res.status >= 500, undefined, code);
  }
  return sendCloud(c, { messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'audio', audio: { id: body.id } });
}

async function sendCloud(c: CloudConfig, payload: object): Promise<{ providerMessageId: string | null }> {
  let res: Response;
  try {
    // node:http with keep-alive (infra/node-fetch.ts): undici's fetch algorithm was most of a send's CPU.
    res = await nodeFetch(`${c.graphUrl}/${GRAPH_VERSION}/${c.phoneNumberId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw networkFailure('the WhatsApp Cloud API', err);
  }
  const body = (await res.json().catch(() => ({}))) as { messages?: { id?: string }[]; error?: { code?: number; message?: string; error_data?: { details?: string } } };
  if (res.ok) return { providerMessageId: body.messages?.[0]?.id ?? null };
  const code = body.error?.code;
  const reason = `${body.error?.message ?? `HTTP ${res.status}`}${body.error?.error_data?.details ? ` — ${body.error.error_data.details}` : ''}`;
  if (code !== undefined && FINAL.has(code)) throw new SendError(reason, false, undefined, code);
  const retryAfter = Number(res.headers.get('retry-after'));
  throw new SendError(reason, res.status === 429 || res.status >= 500 || code === 130429 || code === 131056 || code === 4 || code === 80007, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined, code);
}
