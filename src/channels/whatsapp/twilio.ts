import type twilioTypes from 'twilio';
import type { InboundMedia, InboundMessage } from '../../domain/ports.js';
import { boundedDownload } from '../media-download.js';
import { SendError } from '../../domain/ports.js';
import type { TwilioConfig } from './config.js';
import { networkFailure } from '../failures.js';
import { lazyDefault } from '../../infra/lazy.js';

/** Loaded with the first Twilio webhook or send, not at start (most installs have no Twilio). */
const twilio = lazyDefault<typeof twilioTypes>('twilio');

/** X-Twilio-Signature over the public URL Twilio called and every form field, with the twilio package. */
export function verifyTwilioSignature(authToken: string, signature: string | undefined, url: string, params: Record<string, string | string[]>): boolean {
  if (!signature) return false;
  return twilio().validateRequest(authToken, signature, url, params as Record<string, string>);
}

const digits = (s: string) => s.replace(/^whatsapp:/, '').replace(/[^\d]/g, '');

/** The first file of a message (MediaUrl0, MediaContentType0): audio and images are read, anything else is not. */
function twilioMediaOf(one: (k: string) => string | undefined): InboundMedia | undefined {
  if (!(Number(one('NumMedia') ?? '0') > 0)) return undefined;
  const url = one('MediaUrl0');
  const type = (one('MediaContentType0') ?? '').toLowerCase();
  if (!url) return undefined;
  if (type.startsWith('audio/')) return { kind: 'audio', provider: 'twilio', url, contentType: type };
  if (type.startsWith('image/')) return { kind: 'image', provider: 'twilio', url, contentType: type };
  return { kind: 'unsupported', what: type.split('/')[0] || 'file' };
}

/**
 * A file a person sent: MediaUrl0 answered with HTTP Basic (account SID and auth token), which Twilio
 * answers with a redirect to a signed CDN address (fetched without them). The credentials go only to
 * the Twilio API host this installation talks to; a media URL anywhere else is refused.
 */
export async function downloadTwilioMedia(c: TwilioConfig, url: string, limits: { maxBytes: number; timeoutMs: number }): Promise<Uint8Array> {
  let u: URL;
  try { u = new URL(url); } catch { throw new SendError('Twilio sent a media URL that is not one', false); }
  if (u.origin !== new URL(c.apiUrl).origin) throw new SendError('Twilio sent a media URL on another host; not fetched with the account credentials', false);
  const basic = Buffer.from(`${c.accountSid}:${c.authToken}`).toString('base64');
  return boundedDownload('Twilio', u.href, { ...limits, headers: { authorization: `Basic ${basic}` }, followRedirect: true });
}

/** An inbound Twilio WhatsApp message; status callbacks (MessageStatus without Body) return undefined. */
export function parseTwilioWebhook(p: Record<string, string | string[]>, from: string): { message?: InboundMessage; status?: { sid: string; status: string; errorCode: number | null } } {
  const one = (k: string) => (Array.isArray(p[k]) ? (p[k] as string[])[0] : (p[k] as string | undefined));
  const sid = one('MessageSid') ?? one('SmsSid');
  if (!sid) return {};
  const status = one('MessageStatus') ?? one('SmsStatus');
  const body = one('Body');
  if (status && status !== 'received' && body === undefined) {
    const code = one('ErrorCode');
    return { status: { sid, status, errorCode: code ? Number(code) : null } };
  }
  const media = twilioMediaOf(one);
  if ((!body || !body.trim()) && !media) return {};
  const phone = digits(one('WaId') ?? one('From') ?? '');
  return {
    message: {
      channel: 'twilio', account: digits(from), externalId: sid, threadKey: `whatsapp:${phone}`, agentId: null,
      sender: phone, senderName: one('ProfileName') ?? null, text: body ?? '', payload: { sid, numMedia: one('NumMedia') ?? '0', ...(media ? { media } : {}) },
    },
  };
}

/** Errors no retry fixes: outside the window, bad numbers, opted out, body over 1600 characters (21658; 21617 in older docs). */
const FINAL = new Set([63016, 21211, 21408, 21610, 21614, 21617, 21658, 63003, 63024]);

/** `statusCallback` (PUBLIC_URL/webhooks/twilio) asks Twilio to report sent/delivered/read/failed for the message. */
export function sendTwilioText(c: TwilioConfig, to: string, text: string, statusCallback?: string): Promise<{ providerMessageId: string | null }> {
  return createTwilioMessage(c, { to, body: text }, statusCallback);
}

/**
 * A file sent as `MediaUrl`: Twilio fetches it from that public address (here a signed link that
 * serves that one file for an hour) and WhatsApp shows it as an audio message. No body: the reply's
 * text goes as its own message before it.
 */
export function sendTwilioMedia(c: TwilioConfig, to: string, mediaUrl: string, statusCallback?: string): Promise<{ providerMessageId: string | null }> {
  return createTwilioMessage(c, { to, mediaUrl }, statusCallback);
}

async function createTwilioMessage(c: TwilioConfig, m: { to: string; body?: string; mediaUrl?: string }, statusCallback?: string): Promise<{ providerMessageId: string | null }> {
  const client = twilio()(c.accountSid, c.authToken, { autoRetry: false, timeout: 15_000 });
  client.api.baseUrl = c.apiUrl; // a stand-in host (tests) or the real https://api.twilio.com
  try {
    const msg = await client.messages.create({
      from: c.from, to: `whatsapp:+${digits(m.to)}`,
      ...(m.body !== undefined ? { body: m.body } : {}), ...(m.mediaUrl ? { mediaUrl: [m.mediaUrl] } : {}),
      ...(statusCallback ? { statusCallback } : {}),
    });
    return { providerMessageId: msg.sid };
  } catch (err) {
    const e = err as { status?: number; code?: number; message?: string };
    // Twilio's refusals carry an HTTP status and a numeric code; a connection that failed carries neither
    // (the HTTP client's own code is a string: ECONNREFUSED, ECONNABORTED on a timeout).
    if (e.status === undefined && typeof e.code !== 'number') throw networkFailure('Twilio', err);
    const reason = `${e.message ?? 'Twilio error'}${e.code ? ` (${e.code})` : ''}`;
    if (e.code !== undefined && FINAL.has(e.code)) throw new SendError(reason, false, undefined, e.code);
    const retryable = e.status === undefined || e.status === 429 || e.status >= 500 || e.code === 20429;
    throw new SendError(reason, retryable, undefined, e.code);
  }
}
