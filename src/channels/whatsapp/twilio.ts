import type twilioTypes from 'twilio';
import type { InboundMessage } from '../../domain/ports.js';
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
  if (!body || !body.trim()) return {};
  const phone = digits(one('WaId') ?? one('From') ?? '');
  return {
    message: {
      channel: 'twilio', account: digits(from), externalId: sid, threadKey: `whatsapp:${phone}`, agentId: null,
      sender: phone, senderName: one('ProfileName') ?? null, text: body, payload: { sid, numMedia: one('NumMedia') ?? '0' },
    },
  };
}

/** Errors no retry fixes: outside the window, bad numbers, opted out, body over 1600 characters (21658; 21617 in older docs). */
const FINAL = new Set([63016, 21211, 21408, 21610, 21614, 21617, 21658, 63003, 63024]);

/** `statusCallback` (PUBLIC_URL/webhooks/twilio) asks Twilio to report sent/delivered/read/failed for the message. */
export async function sendTwilioText(c: TwilioConfig, to: string, text: string, statusCallback?: string): Promise<{ providerMessageId: string | null }> {
  const client = twilio()(c.accountSid, c.authToken, { autoRetry: false, timeout: 15_000 });
  client.api.baseUrl = c.apiUrl; // a stand-in host (tests) or the real https://api.twilio.com
  try {
    const m = await client.messages.create({ from: c.from, to: `whatsapp:+${digits(to)}`, body: text, ...(statusCallback ? { statusCallback } : {}) });
    return { providerMessageId: m.sid };
  } catch (err) {
    const e = err as { status?: number; code?: number; message?: string };
    if (e.status === undefined && e.code === undefined) throw networkFailure('Twilio', err);
    const reason = `${e.message ?? 'Twilio error'}${e.code ? ` (${e.code})` : ''}`;
    if (e.code !== undefined && FINAL.has(e.code)) throw new SendError(reason, false, undefined, e.code);
    const retryable = e.status === undefined || e.status === 429 || e.status >= 500 || e.code === 20429;
    throw new SendError(reason, retryable, undefined, e.code);
  }
}
