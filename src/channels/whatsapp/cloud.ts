import { createHmac } from 'node:crypto';
import type { InboundMessage } from '../../domain/ports.js';
import { SendError } from '../../domain/ports.js';
import { safeEqual } from '../../infra/system.js';
import type { CloudConfig } from './config.js';
import { networkFailure } from '../failures.js';

export const GRAPH_VERSION = 'v21.0';

/** Meta signs the raw bytes it sends (non-ASCII escaped as \uXXXX): verify those bytes, never a re-serialisation. */
export function verifyCloudSignature(appSecret: string, raw: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = 'sha256=' + createHmac('sha256', appSecret).update(raw).digest('hex');
  return safeEqual(expected, header.toLowerCase());
}

/** `details` is Meta's `errors[].error_data.details`, the part that says what went wrong. */
export type CloudStatus = { id: string; status: string; recipientId: string; errors: { code: number; title?: string; message?: string; details?: string }[] };

/** Every message and status in a webhook POST (one POST can carry several entries and changes). */
export function parseCloudWebhook(body: unknown, phoneNumberId: string): { messages: InboundMessage[]; statuses: CloudStatus[] } {
  const messages: InboundMessage[] = [];
  const statuses: CloudStatus[] = [];
  const entries = (body as { entry?: unknown[] })?.entry;
  for (const entry of Array.isArray(entries) ? entries : []) {
    for (const change of (entry as { changes?: unknown[] }).changes ?? []) {
      const value = (change as { value?: any }).value;
      if (!value || (value.metadata?.phone_number_id && String(value.metadata.phone_number_id) !== phoneNumberId)) continue;
      const names = new Map<string, string>((value.contacts ?? []).map((c: any) => [String(c.wa_id), String(c.profile?.name ?? '')]));
      for (const m of value.messages ?? []) {
        const text = m.type === 'text' ? m.text?.body
          : m.type === 'interactive' ? (m.interactive?.button_reply?.title ?? m.interactive?.list_reply?.title)
          : m.type === 'button' ? m.button?.text
          : (m.image?.caption ?? m.video?.caption ?? m.document?.caption);
        if (typeof text !== 'string' || !text.trim()) continue; // media without text is ignored for now
        const from = String(m.from);
        messages.push({
          channel: 'whatsapp', account: phoneNumberId, externalId: String(m.id), threadKey: `whatsapp:${from}`, agentId: null,
          sender: from, senderName: names.get(from) || null, text, payload: { id: m.id, type: m.type, timestamp: m.timestamp },
          orderKey: String(m.timestamp ?? '').padStart(12, '0'),
        });
      }
      for (const st of value.statuses ?? []) {
        const errs = (Array.isArray(st.errors) ? st.errors : []).map((e: any) => ({ code: Number(e.code), title: e.title, message: e.message, details: e.error_data?.details || undefined }));
        statuses.push({ id: String(st.id), status: String(st.status), recipientId: String(st.recipient_id ?? ''), errors: errs });
      }
    }
  }
  return { messages, statuses };
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

async function sendCloud(c: CloudConfig, payload: object): Promise<{ providerMessageId: string | null }> {
  let res: Response;
  try {
    res = await fetch(`${c.graphUrl}/${GRAPH_VERSION}/${c.phoneNumberId}/messages`, {
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
