import type { ChannelSender, Clock, DirectSend, Store } from '../../domain/ports.js';
import type { ChannelAdapter, DeliveryReceipt, WebhookRequest } from '../../domain/channels.js';
import { SendError } from '../../domain/ports.js';
import { AppError, errors } from '../../domain/errors.js';
import { safeEqual } from '../../infra/system.js';
import type { Logger } from '../../infra/logger.js';
import { sendRecorded } from '../direct.js';
import type { CloudConfig, TwilioConfig, WhatsAppConfigStore } from './config.js';
import { downloadCloudMedia, parseCloudWebhook, sendCloudAudio, sendCloudTemplate, sendCloudText, verifyCloudSignature } from './cloud.js';
import { downloadTwilioMedia, parseTwilioWebhook, sendTwilioMedia, sendTwilioText, verifyTwilioSignature } from './twilio.js';
import { maskSecrets } from '../../infra/redact.js';
import type { Actor } from '../../domain/types.js';
import { changedFields, recordAudit } from '../../services/audit.js';
import { linksAsPlainUrls } from '../plain-links.js';

type Health = { lastInboundAt: string | null; lastOutboundAt: string | null; lastError: string | null; lastErrorAt: string | null };
const HEALTH_KEY = 'channels.whatsapp.health';
/** Codes that mean "outside the 24-hour customer service window": recorded as undelivered, never retried. */
const WINDOW_CODES = new Set([131047, 63016]);

/**
 * One WhatsApp number in front of every listed agent, through the Cloud API or Twilio: two channel
 * adapters ('whatsapp' and 'twilio'), of which the one whose settings are present takes part.
 * Webhooks are verified over the exact bytes (Meta) or the public URL and form fields (Twilio),
 * stored in the inbox, and answered by the inbox worker through these senders.
 */
export function whatsappChannel(deps: { store: Store; clock: Clock; log: Logger; config: WhatsAppConfigStore; publicUrl?: string;
  /** A public, signed, expiring URL of a stored file (Twilio sends media only from a URL); undefined without PUBLIC_URL. */
  mediaLink?: (mediaId: string) => string | undefined }) {
  const { store, log } = deps;
  const now = () => deps.clock.now().toISOString();
  const conflict = deps.config.envConflict();
  if (conflict) log.warn(conflict);

  // Health is kept in memory and written at most every few seconds (errors at once), instead of a
  // read-modify-write of the settings row on every message.
  let health: Health | undefined;
  let lastWrite = 0;
  async function touch(patch: Partial<Health>) {
    health ??= (await store.settings.get<Health>(HEALTH_KEY)) ?? { lastInboundAt: null, lastOutboundAt: null, lastError: null, lastErrorAt: null };
    health = { ...health, ...patch, ...(patch.lastError ? { lastError: maskSecrets(patch.lastError) } : {}) };
    if (patch.lastError !== undefined || Date.now() - lastWrite > 5000) {
      lastWrite = Date.now();
      await store.settings.set(HEALTH_KEY, health);
    }
  }

  function sender(channel: 'whatsapp' | 'twilio'): ChannelSender {
    const want = () => (channel === 'whatsapp' ? 'cloud' : 'twilio');
    /** A failed send as the inbox sees it: outside the window is final; the health row keeps the reason. */
    const failed = async (err: unknown) => {
      const e = err instanceof SendError ? err : new SendError(maskSecrets((err as Error)?.message ?? String(err)), true);
      const reason = WINDOW_CODES.has(Number(e.code)) ? `outside the 24-hour window: ${e.message}` : e.message;
      await touch({ lastError: reason, lastErrorAt: now() });
      return new SendError(reason, e.retryable && !WINDOW_CODES.has(Number(e.code)), e.retryAfterMs, e.code);
    };
    return {
      channel,
      maxLength: channel === 'twilio' ? 1600 : 4096,
      async send(m) {
        const c = await deps.config.get();
        if (!c || c.provider !== want()) throw new SendError(`WhatsApp is no longer configured for ${channel === 'whatsapp' ? 'the Cloud API' : 'Twilio'}`, false);
        try {
          // WhatsApp shows Markdown links verbatim: citations go as "title (https://…)" (never longer than the link).
          const text = linksAsPlainUrls(m.text);
          const r = c.provider === 'cloud' ? await sendCloudText(c, m.recipient, text) : await sendTwilioText(c, m.recipient, text, deps.publicUrl ? `${deps.publicUrl}/webhooks/twilio` : undefined);
          await touch({ lastOutboundAt: now() });
          return r;
        } catch (err) {
          throw await failed(err);
        }
      },
      async download(m, limits) {
        const c = await deps.config.get();
        const media = m.media;
        if (media.kind === 'unsupported') throw new SendError('not a file that can be read', false);
        if (c?.provider === 'cloud' && media.provider === 'whatsapp') return downloadCloudMedia(c, media.mediaId, limits);
        if (c?.provider === 'twilio' && media.provider === 'twilio') return downloadTwilioMedia(c, media.url, limits);
        throw new SendError('WhatsApp is no longer configured for the provider that received this file', false);
      },
      // Spoken replies: uploaded to the Cloud API as an audio message; through Twilio, sent as a MediaUrl
      // Twilio fetches — a signed link to that one file, so only with PUBLIC_URL set.
      ...(channel === 'whatsapp' || (deps.mediaLink && deps.publicUrl) ? {
        async sendVoice(m: { recipient: string; mediaId: string; bytes: Uint8Array; mimeType: string }) {
          const c = await deps.config.get();
          if (!c || c.provider !== want()) throw new SendError(`WhatsApp is no longer configured for ${channel === 'whatsapp' ? 'the Cloud API' : 'Twilio'}`, false);
          try {
            let r: { providerMessageId: string | null };
            if (c.provider === 'cloud') r = await sendCloudAudio(c, m.recipient, m.bytes, m.mimeType);
            else {
              const url = deps.mediaLink?.(m.mediaId);
              if (!url) throw new SendError('Twilio sends files from a public URL: set PUBLIC_URL to send spoken replies', false);
              r = await sendTwilioMedia(c, m.recipient, url, deps.publicUrl ? `${deps.publicUrl}/webhooks/twilio` : undefined);
            }
            await touch({ lastOutboundAt: now() });
            return r;
          } catch (err) {
            throw await failed(err);
          }
        },
      } : {}),
    };
  }

  async function requireProvider<T extends 'cloud' | 'twilio'>(p: T): Promise<T extends 'cloud' ? CloudConfig : TwilioConfig> {
    const c = await deps.config.get();
    if (!c || c.provider !== p) throw errors.notFound(p === 'cloud' ? 'A WhatsApp Cloud API configuration' : 'A Twilio configuration');
    return c as never;
  }

  /** The test message is sent outside a reply, and on record like the others. */
  const sendDirect = (channel: 'whatsapp' | 'twilio', d: { agentId: string | null; recipient: string; text: string; purpose: DirectSend['purpose'] }, send: () => Promise<{ providerMessageId: string | null }>) =>
    sendRecorded(store, now, { channel, ...d }, send);

  /** Inbound health: the shared number has no per-agent channel row, so its figures are kept in settings. */
  async function observe(e: { accepted: number; failed: string[] }) {
    if (e.accepted) await touch({ lastInboundAt: now() });
    const last = e.failed.at(-1);
    if (last) await touch({ lastError: last, lastErrorAt: now() });
  }

  /** Meta's reasons and Twilio's codes, as the error text kept with a failed receipt. */
  const failedReceipt = (providerMessageId: string, windowClosed: boolean, reason: string): DeliveryReceipt =>
    ({ providerMessageId, failed: { status: windowClosed ? 'undelivered' : 'failed', error: `${windowClosed ? 'outside the 24-hour window: ' : ''}${reason}` } });

  const cloud: ChannelAdapter = {
    channel: 'whatsapp',
    conversationChannel: 'whatsapp',
    enabled: async () => (await deps.config.get())?.provider === 'cloud',
    async verify(req: WebhookRequest) {
      const c = await requireProvider('cloud');
      if (!verifyCloudSignature(c.appSecret, Buffer.from(await req.body()), req.header('x-hub-signature-256'))) throw new AppError(401, 'invalid_signature', 'The X-Hub-Signature-256 header is missing or does not match the body.');
    },
    async parse(req: WebhookRequest) {
      const c = await requireProvider('cloud');
      let body: unknown;
      try { body = JSON.parse(Buffer.from(await req.body()).toString('utf8')); } catch { throw errors.badRequest('invalid_json', 'The body is not valid JSON.'); }
      const { messages, statuses, skipped } = parseCloudWebhook(body, c.phoneNumberId);
      if (skipped) log.warn('whatsapp webhook: items of an unexpected shape skipped', { skipped });
      const receipts: DeliveryReceipt[] = [];
      for (const st of statuses) {
        if (st.status === 'failed') {
          const e = st.errors[0];
          const head = e?.title ?? e?.message ?? '';
          receipts.push(e ? failedReceipt(st.id, WINDOW_CODES.has(Number(e.code)), `(#${e.code}) ${head}${e.details && e.details !== head ? ` — ${e.details}` : ''}`.trim()) : { providerMessageId: st.id, failed: { status: 'failed', error: 'failed' } });
        } else if (st.status === 'sent' || st.status === 'delivered' || st.status === 'read') {
          receipts.push({ providerMessageId: st.id, delivery: st.status });
        }
      }
      return { messages, receipts };
    },
    /** Meta's GET verification handshake: echo hub.challenge as plain text when the token matches. */
    async challenge(req: WebhookRequest) {
      const c = await requireProvider('cloud');
      const { 'hub.mode': mode, 'hub.verify_token': token, 'hub.challenge': challenge } = req.query;
      if (mode !== 'subscribe' || !token || !c.verifyToken || !safeEqual(token, c.verifyToken) || challenge === undefined) {
        throw new AppError(403, 'verify_token_mismatch', 'The verify token does not match WHATSAPP_VERIFY_TOKEN.');
      }
      return challenge;
    },
    observe,
    sender: sender('whatsapp'),
  };

  /** Twilio posts a form: every field (repeated ones as lists) is signed together with the public URL it called. */
  async function twilioForm(req: WebhookRequest) {
    const params: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(Buffer.from(await req.body()).toString('utf8'))) {
      const prev = params[k];
      params[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    return params;
  }

  const twilio: ChannelAdapter = {
    channel: 'twilio',
    conversationChannel: 'whatsapp',
    enabled: async () => (await deps.config.get())?.provider === 'twilio',
    async verify(req: WebhookRequest) {
      const c = await requireProvider('twilio');
      const u = new URL(req.url);
      const url = deps.publicUrl ? deps.publicUrl + u.pathname + u.search : req.url;
      if (!verifyTwilioSignature(c.authToken, req.header('x-twilio-signature'), url, await twilioForm(req))) throw new AppError(403, 'twilio_invalid_signature', 'The X-Twilio-Signature header does not match this request.');
    },
    async parse(req: WebhookRequest) {
      const c = await requireProvider('twilio');
      const { message, status } = parseTwilioWebhook(await twilioForm(req), c.from);
      const receipts: DeliveryReceipt[] = [];
      if (status?.status === 'failed' || status?.status === 'undelivered') {
        receipts.push(failedReceipt(status.sid, status.errorCode !== null && WINDOW_CODES.has(status.errorCode), `Twilio reported ${status.status}${status.errorCode ? ` (${status.errorCode})` : ''}`));
      } else if (status && (status.status === 'sent' || status.status === 'delivered' || status.status === 'read')) {
        receipts.push({ providerMessageId: status.sid, delivery: status.status });
      }
      return { messages: message ? [message] : [], receipts };
    },
    observe,
    sender: sender('twilio'),
    ack: { body: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', contentType: 'text/xml' },
  };

  return {
    adapters: [cloud, twilio],

    async view() {
      const c = await deps.config.get();
      const stored = (await store.settings.get<Health>(HEALTH_KEY)) ?? { lastInboundAt: null, lastOutboundAt: null, lastError: null, lastErrorAt: null };
      const latest = (a: string | null, b: string | null | undefined) => (!b ? a : !a || b > a ? b : a);
      const h = health ?? stored;
      // Another process may have newer figures in the database; this one may have newer ones in memory.
      const merged: Health = { lastInboundAt: latest(stored.lastInboundAt, h.lastInboundAt), lastOutboundAt: latest(stored.lastOutboundAt, h.lastOutboundAt), lastError: h.lastErrorAt && (!stored.lastErrorAt || h.lastErrorAt >= stored.lastErrorAt) ? h.lastError : stored.lastError, lastErrorAt: latest(stored.lastErrorAt, h.lastErrorAt) };
      return {
        provider: c ? c.provider : null,
        source: c ? c.source : null,
        cloud: c?.provider === 'cloud' ? { phoneNumberId: c.phoneNumberId, graphUrl: c.graphUrl, hasToken: !!c.token, hasAppSecret: !!c.appSecret, hasVerifyToken: !!c.verifyToken } : null,
        twilio: c?.provider === 'twilio' ? { accountSid: c.accountSid, from: c.from, apiUrl: c.apiUrl, hasAuthToken: !!c.authToken } : null,
        webhookUrls: { cloud: deps.publicUrl ? `${deps.publicUrl}/webhooks/whatsapp` : null, twilio: deps.publicUrl ? `${deps.publicUrl}/webhooks/twilio` : null },
        health: merged,
      };
    },

    /** Saves dashboard credentials; secrets left out keep their stored value. Environment settings win. */
    async save(actor: Actor, input: { provider: 'cloud'; phoneNumberId: string; token?: string; appSecret?: string; verifyToken?: string | null; graphUrl?: string } | { provider: 'twilio'; accountSid: string; from: string; authToken?: string; apiUrl?: string } | { provider: null }) {
      if (deps.config.fromEnv()) throw errors.conflict('channel_from_env', 'WhatsApp is configured by environment variables; change them instead.');
      const prev = await deps.config.get();
      // The new settings and their audit entry commit together; secrets are compared, named, never copied.
      const write = async (next: CloudConfig | TwilioConfig | null) => {
        const { source: _s, ...before } = prev ?? { source: null, provider: null };
        const diff = changedFields(before, next ?? { provider: null }, { secret: ['token', 'appSecret', 'verifyToken', 'authToken'] });
        for (const k of Object.keys(before)) if ((!next || !(k in next)) && !diff.fields.includes(k)) diff.fields.push(k);
        await store.transaction(async (tx) => {
          await deps.config.set(next, tx.settings);
          if (diff.fields.length) await recordAudit(tx, actor, 'whatsapp.settings_updated', { type: 'channel', id: 'whatsapp' }, diff);
        });
      };
      if (input.provider === null) return write(null);
      if (input.provider === 'cloud') {
        const old = prev?.provider === 'cloud' ? prev : undefined;
        const token = input.token ?? old?.token;
        const appSecret = input.appSecret ?? old?.appSecret;
        const missing = [!token && 'token', !appSecret && 'appSecret'].filter(Boolean) as string[];
        if (missing.length) throw errors.validation(missing.map((p) => ({ path: p, message: 'is required for the Cloud API' })));
        return write({ provider: 'cloud', phoneNumberId: input.phoneNumberId, token: token!, appSecret: appSecret!, verifyToken: input.verifyToken !== undefined ? input.verifyToken : old?.verifyToken ?? null, graphUrl: input.graphUrl ?? old?.graphUrl ?? 'https://graph.facebook.com' });
      }
      const old = prev?.provider === 'twilio' ? prev : undefined;
      const authToken = input.authToken ?? old?.authToken;
      if (!authToken) throw errors.validation([{ path: 'authToken', message: 'is required for Twilio' }]);
      return write({ provider: 'twilio', accountSid: input.accountSid, from: input.from.replace(/^(whatsapp:)?/, 'whatsapp:'), authToken, apiUrl: input.apiUrl ?? old?.apiUrl ?? 'https://api.twilio.com' });
    },

    /** This agent's WhatsApp traffic (either provider): last message in and out, and the last send that failed. */
    health(agentId: string): Promise<Health> {
      return store.analytics.channelHealth(agentId, ['whatsapp', 'twilio']);
    },

    /**
     * Sends a test message and says what happened. On the Cloud API it is the hello_world template,
     * since a number that has not written to us in 24 hours cannot receive free-form text.
     */
    async test(to: string) {
      const c = await deps.config.get();
      if (!c) throw new AppError(503, 'whatsapp_not_configured', 'WhatsApp is not configured yet.');
      const recipient = to.replace(/[^\d]/g, '');
      try {
        const text = c.provider === 'cloud' ? 'template hello_world' : 'Switchboard test message: your WhatsApp connection works.';
        const r = await sendDirect(c.provider === 'cloud' ? 'whatsapp' : 'twilio', { agentId: null, recipient, text, purpose: 'test' }, () => (c.provider === 'cloud'
          ? sendCloudTemplate(c, recipient)
          : sender('twilio').send({ agentId: null, account: '', recipient, text })));
        await touch({ lastOutboundAt: now() });
        return { ok: true as const, ...r };
      } catch (err) {
        log.warn('whatsapp test message failed', { error: (err as Error).message });
        throw new AppError(502, 'whatsapp_send_failed', `The provider refused the test message: ${(err as Error).message}`);
      }
    },
  };
}
export type WhatsAppChannel = ReturnType<typeof whatsappChannel>;
