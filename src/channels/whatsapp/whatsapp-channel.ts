import type { ChannelSender, Clock, DirectSend, InboundMessage, Store } from '../../domain/ports.js';
import { SendError } from '../../domain/ports.js';
import { AppError, errors } from '../../domain/errors.js';
import { safeEqual } from '../../infra/system.js';
import type { Logger } from '../../infra/logger.js';
import { z } from 'zod';
import { defineJob, type Job, type JobQueue } from '../../jobs/index.js';
import { splitMessage } from '../split.js';
import { sendRecorded } from '../direct.js';
import type { CloudConfig, TwilioConfig, WhatsAppConfigStore } from './config.js';
import { parseCloudWebhook, sendCloudTemplate, sendCloudText, verifyCloudSignature } from './cloud.js';
import { parseTwilioWebhook, sendTwilioText, verifyTwilioSignature } from './twilio.js';
import { maskSecrets } from '../../infra/redact.js';

type Health = { lastInboundAt: string | null; lastOutboundAt: string | null; lastError: string | null; lastErrorAt: string | null };
const HEALTH_KEY = 'channels.whatsapp.health';
/** Codes that mean "outside the 24-hour customer service window": recorded as undelivered, never retried. */
const WINDOW_CODES = new Set([131047, 63016]);

/** A receipt for a message not on record yet, looked for again a few times (1, 2, 4, 8 s) before it is dropped. */
export const RECEIPT_JOB = 'whatsapp-receipt';
type Receipt = Parameters<Store['inbox']['receipt']>[2];
const ReceiptJob = z.object({
  channel: z.enum(['whatsapp', 'twilio']),
  providerMessageId: z.string().min(1),
  receipt: z.object({
    delivery: z.enum(['sent', 'delivered', 'read']).optional(),
    failed: z.object({ status: z.enum(['failed', 'undelivered']), error: z.string() }).optional(),
  }) satisfies z.ZodType<Receipt>,
});
export type ReceiptJob = z.infer<typeof ReceiptJob>;

/**
 * One WhatsApp number in front of every listed agent, through the Cloud API or Twilio.
 * Webhooks are verified over the exact bytes (Meta) or the public URL and form fields (Twilio),
 * stored in the inbox, and answered by the inbox worker through these senders.
 */
export function whatsappChannel(deps: { store: Store; clock: Clock; log: Logger; config: WhatsAppConfigStore; queue: JobQueue; publicUrl?: string; accept: (m: InboundMessage) => Promise<{ duplicate: boolean }> }) {
  const { store, log } = deps;

  const receiptJob = defineJob({
    name: RECEIPT_JOB, schema: ReceiptJob, retry: { limit: 4, delaySeconds: 1 },
    perform: (job): Promise<void> => whatsapp.deliverReceipt(job),
    onFinalFailure: async ({ data: { channel, providerMessageId, receipt: r } }) => {
      log.warn('delivery receipt dropped: no message sent with this id', { channel, providerMessageId, receipt: r.delivery ?? r.failed?.status });
    },
  });
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

  async function accept(m: InboundMessage) {
    const r = await deps.accept(m);
    if (!r.duplicate) await touch({ lastInboundAt: now() });
  }

  function sender(channel: 'whatsapp' | 'twilio'): ChannelSender {
    return {
      channel,
      maxLength: channel === 'twilio' ? 1600 : 4096,
      async send(m) {
        const c = await deps.config.get();
        const want = channel === 'whatsapp' ? 'cloud' : 'twilio';
        if (!c || c.provider !== want) throw new SendError(`WhatsApp is no longer configured for ${want === 'cloud' ? 'the Cloud API' : 'Twilio'}`, false);
        try {
          const r = c.provider === 'cloud' ? await sendCloudText(c, m.recipient, m.text) : await sendTwilioText(c, m.recipient, m.text, deps.publicUrl ? `${deps.publicUrl}/webhooks/twilio` : undefined);
          await touch({ lastOutboundAt: now() });
          return r;
        } catch (err) {
          const e = err instanceof SendError ? err : new SendError(maskSecrets((err as Error)?.message ?? String(err)), true);
          const reason = WINDOW_CODES.has(Number(e.code)) ? `outside the 24-hour window: ${e.message}` : e.message;
          await touch({ lastError: reason, lastErrorAt: now() });
          throw new SendError(reason, e.retryable && !WINDOW_CODES.has(Number(e.code)), e.retryAfterMs, e.code);
        }
      },
    };
  }

  async function requireProvider<T extends 'cloud' | 'twilio'>(p: T): Promise<T extends 'cloud' ? CloudConfig : TwilioConfig> {
    const c = await deps.config.get();
    if (!c || c.provider !== p) throw errors.notFound(p === 'cloud' ? 'A WhatsApp Cloud API configuration' : 'A Twilio configuration');
    return c as never;
  }

  /** A send outside a reply, on record; a link code is a secret until used, so only its masked form is kept. */
  const sendDirect = (channel: 'whatsapp' | 'twilio', d: { agentId: string | null; recipient: string; text: string; purpose: DirectSend['purpose'] }, send: () => Promise<{ providerMessageId: string | null }>) =>
    sendRecorded(store, now, { channel, ...d, text: d.purpose === 'link_code' ? d.text.replace(/\d{6}/g, '••••••') : d.text }, send);

  /** Applies a receipt to its outbound part; false when no part with this provider id is on record (yet). */
  async function applyReceipt(channel: string, providerMessageId: string, r: Receipt): Promise<boolean> {
    if (await store.inbox.receipt(channel, providerMessageId, r, now())) return true;
    return store.inbox.hasProviderMessage(channel, providerMessageId); // on record already: an older receipt
  }

  /**
   * A receipt can arrive before the send it is about has been stored (providers answer the send and
   * post the status within milliseconds). The webhook answers at once either way: a receipt for a
   * message not on record yet goes to a durable job that looks again a little later.
   */
  async function receipt(channel: 'whatsapp' | 'twilio', providerMessageId: string, r: Receipt) {
    if (await applyReceipt(channel, providerMessageId, r)) return;
    const status = r.delivery ?? r.failed?.status ?? 'failed';
    await deps.queue.send(receiptJob, { channel, providerMessageId, receipt: r }, { singletonKey: `${channel}:${providerMessageId}:${status}` });
  }

  const whatsapp = {
    senders: [sender('whatsapp'), sender('twilio')],
    jobs: [receiptJob],

    /** The receipt job: applies the receipt once its message is on record (a retry looks again; after the last it is dropped). */
    async deliverReceipt(job: Job<ReceiptJob>) {
      const { channel, providerMessageId, receipt: r } = job.data;
      if (await applyReceipt(channel, providerMessageId, r)) return;
      throw new Error(`no ${channel} message ${providerMessageId} on record yet`);
    },

    /** Meta's GET verification handshake: echo hub.challenge as plain text when the token matches. */
    async verifyChallenge(mode: string | undefined, token: string | undefined, challenge: string | undefined): Promise<string> {
      const c = await requireProvider('cloud');
      if (mode !== 'subscribe' || !token || !c.verifyToken || !safeEqual(token, c.verifyToken) || challenge === undefined) {
        throw errors.forbidden('The verify token does not match WHATSAPP_VERIFY_TOKEN.');
      }
      return challenge;
    },

    async handleCloud(raw: Buffer, signature: string | undefined) {
      const c = await requireProvider('cloud');
      if (!verifyCloudSignature(c.appSecret, raw, signature)) throw errors.unauthorized('The X-Hub-Signature-256 header is missing or does not match the body.');
      let body: unknown;
      try { body = JSON.parse(raw.toString('utf8')); } catch { throw errors.badRequest('invalid_json', 'The body is not valid JSON.'); }
      const { messages, statuses } = parseCloudWebhook(body, c.phoneNumberId);
      for (const m of messages) await accept(m);
      for (const st of statuses) {
        if (st.status === 'failed') {
          const e = st.errors[0];
          const windowClosed = e && WINDOW_CODES.has(Number(e.code));
          const head = e?.title ?? e?.message ?? '';
          const reason = e ? `${windowClosed ? 'outside the 24-hour window: ' : ''}(#${e.code}) ${head}${e.details && e.details !== head ? ` — ${e.details}` : ''}`.trim() : 'failed';
          await receipt('whatsapp', st.id, { failed: { status: windowClosed ? 'undelivered' : 'failed', error: reason } });
          await touch({ lastError: reason, lastErrorAt: now() });
        } else if (st.status === 'sent' || st.status === 'delivered' || st.status === 'read') {
          await receipt('whatsapp', st.id, { delivery: st.status });
        }
      }
      return { messages: messages.length, statuses: statuses.length };
    },

    async handleTwilio(pathAndQuery: string, requestUrl: string, params: Record<string, string | string[]>, signature: string | undefined) {
      const c = await requireProvider('twilio');
      const url = deps.publicUrl ? deps.publicUrl + pathAndQuery : requestUrl;
      if (!verifyTwilioSignature(c.authToken, signature, url, params)) throw new AppError(403, 'invalid_signature', 'The X-Twilio-Signature header does not match this request.');
      const { message, status } = parseTwilioWebhook(params, c.from);
      if (message) await accept(message);
      if (status) {
        if (status.status === 'failed' || status.status === 'undelivered') {
          const windowClosed = status.errorCode !== null && WINDOW_CODES.has(status.errorCode);
          const reason = `${windowClosed ? 'outside the 24-hour window: ' : ''}Twilio reported ${status.status}${status.errorCode ? ` (${status.errorCode})` : ''}`;
          await receipt('twilio', status.sid, { failed: { status: windowClosed ? 'undelivered' : 'failed', error: reason } });
          await touch({ lastError: reason, lastErrorAt: now() });
        } else if (status.status === 'sent' || status.status === 'delivered' || status.status === 'read') {
          await receipt('twilio', status.sid, { delivery: status.status });
        }
      }
    },

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
    async save(input: { provider: 'cloud'; phoneNumberId: string; token?: string; appSecret?: string; verifyToken?: string | null; graphUrl?: string } | { provider: 'twilio'; accountSid: string; from: string; authToken?: string; apiUrl?: string } | { provider: null }) {
      if (deps.config.fromEnv()) throw errors.conflict('channel_from_env', 'WhatsApp is configured by environment variables; change them instead.');
      const prev = await deps.config.get();
      if (input.provider === null) return deps.config.set(null);
      if (input.provider === 'cloud') {
        const old = prev?.provider === 'cloud' ? prev : undefined;
        const token = input.token ?? old?.token;
        const appSecret = input.appSecret ?? old?.appSecret;
        const missing = [!token && 'token', !appSecret && 'appSecret'].filter(Boolean) as string[];
        if (missing.length) throw errors.validation(missing.map((p) => ({ path: p, message: 'is required for the Cloud API' })));
        return deps.config.set({ provider: 'cloud', phoneNumberId: input.phoneNumberId, token: token!, appSecret: appSecret!, verifyToken: input.verifyToken !== undefined ? input.verifyToken : old?.verifyToken ?? null, graphUrl: input.graphUrl ?? old?.graphUrl ?? 'https://graph.facebook.com' });
      }
      const old = prev?.provider === 'twilio' ? prev : undefined;
      const authToken = input.authToken ?? old?.authToken;
      if (!authToken) throw errors.validation([{ path: 'authToken', message: 'is required for Twilio' }]);
      return deps.config.set({ provider: 'twilio', accountSid: input.accountSid, from: input.from.replace(/^(whatsapp:)?/, 'whatsapp:'), authToken, apiUrl: input.apiUrl ?? old?.apiUrl ?? 'https://api.twilio.com' });
    },

    /** Sends a text to a phone through whichever provider is configured (link codes, approval notices), split like a reply. */
    async sendText(phone: string, text: string, purpose: 'link_code' | 'approval', agentId: string | null = null) {
      const c = await deps.config.get();
      if (!c) throw new AppError(503, 'whatsapp_not_configured', 'WhatsApp is not set up on this site, so phones cannot be linked.');
      const channel = c.provider === 'cloud' ? 'whatsapp' : 'twilio';
      const s = sender(channel);
      let last: { providerMessageId: string | null } = { providerMessageId: null };
      for (const part of splitMessage(text, s.maxLength)) {
        last = await sendDirect(channel, { agentId, recipient: phone, text: part, purpose }, () => s.send({ agentId, account: '', recipient: phone, text: part }));
      }
      return last;
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
      if (!c) throw errors.badRequest('whatsapp_not_configured', 'WhatsApp is not configured yet.');
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
  return whatsapp;
}
export type WhatsAppChannel = ReturnType<typeof whatsappChannel>;
