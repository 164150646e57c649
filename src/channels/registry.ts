import type { ChannelSender, Clock, InboundMessage, Store } from '../domain/ports.js';
import type { ChannelAdapter, DeliveryReceipt, DirectPurpose, WebhookRequest } from '../domain/channels.js';
import { AppError, errors } from '../domain/errors.js';
import type { Logger } from '../infra/logger.js';
import { z } from 'zod';
import { defineJob, type Job, type JobQueue } from '../jobs/index.js';
import { splitMessage } from './split.js';
import { sendRecorded } from './direct.js';

/** A receipt for a message not on record yet, looked for again a few times (1, 2, 4, 8 s) before it is dropped. */
export const RECEIPT_JOB = 'whatsapp-receipt'; // the name it shipped with; it serves every channel's receipts
type Receipt = Omit<DeliveryReceipt, 'providerMessageId'>;
const ReceiptJob = z.object({
  channel: z.string().min(1).max(40),
  providerMessageId: z.string().min(1),
  receipt: z.object({
    delivery: z.enum(['sent', 'delivered', 'read']).optional(),
    failed: z.object({ status: z.enum(['failed', 'undelivered']), error: z.string() }).optional(),
  }) satisfies z.ZodType<Receipt>,
});
export type ReceiptJob = z.infer<typeof ReceiptJob>;

/** How a channel's missing settings are said when something must be sent on it. */
const NOT_CONFIGURED: Record<string, string> = {
  whatsapp: 'WhatsApp is not set up on this site, so phones cannot be linked.',
};

/**
 * Every messaging channel in one place (Outline's plugins): adapters register here, and take part
 * only while their settings are present. A webhook goes verify → parse → inbox; replies leave
 * through each adapter's sender (the inbox worker); messages outside a reply leave through `send`.
 */
export function channelRegistry(deps: {
  store: Store; clock: Clock; log: Logger; queue: JobQueue;
  /** The durable inbox: a message is stored there before the webhook is answered. */
  accept: (m: InboundMessage) => Promise<{ duplicate: boolean }>;
  /** Told when a webhook starts being received; the function it returns, when it is answered (the inbox worker yields meanwhile). */
  ingress?: () => () => void;
}) {
  const { store, log } = deps;
  const now = () => deps.clock.now().toISOString();
  const adapters = new Map<string, ChannelAdapter>();
  /** The inbox worker's view: every registered sender by inbox channel (a sender refuses when its settings are gone). */
  const senders = new Map<string, ChannelSender>();

  const receiptJob = defineJob({
    name: RECEIPT_JOB, schema: ReceiptJob, retry: { limit: 4, delaySeconds: 1 },
    /** Applies the receipt once its message is on record (a retry looks again; after the last it is dropped). */
    async perform(job: Job<ReceiptJob>) {
      const { channel, providerMessageId, receipt: r } = job.data;
      if (await applyReceipt(channel, providerMessageId, r)) return;
      throw new Error(`no ${channel} message ${providerMessageId} on record yet`);
    },
    onFinalFailure: async ({ data: { channel, providerMessageId, receipt: r } }) => {
      log.warn('delivery receipt dropped: no message sent with this id', { channel, providerMessageId, receipt: r.delivery ?? r.failed?.status });
    },
  });

  function adapter(channel: string): ChannelAdapter {
    const a = adapters.get(channel);
    if (!a) throw errors.notFound(`The ${channel} channel`);
    return a;
  }

  /** Applies a receipt to its outbound record; false when no message with this provider id is on record (yet). */
  async function applyReceipt(channel: string, providerMessageId: string, r: Receipt): Promise<boolean> {
    if (await store.inbox.receipt(channel, providerMessageId, r, now())) return true;
    return store.inbox.hasProviderMessage(channel, providerMessageId); // on record already: an older receipt
  }

  /**
   * A receipt can arrive before the send it is about has been stored (providers answer the send and
   * post the status within milliseconds). The webhook answers at once either way: a receipt for a
   * message not on record yet goes to a durable job that looks again a little later.
   */
  async function receipt(channel: string, r: DeliveryReceipt) {
    const { providerMessageId, ...rest } = r;
    if (await applyReceipt(channel, providerMessageId, rest)) return;
    const status = rest.delivery ?? rest.failed?.status ?? 'failed';
    await deps.queue.send(receiptJob, { channel, providerMessageId, receipt: rest }, { singletonKey: `${channel}:${providerMessageId}:${status}` });
  }

  /** The adapter that sends on a conversation channel now ('whatsapp' is the Cloud API or Twilio, whichever is set up). */
  async function sendingAdapter(conversationChannel: string): Promise<ChannelAdapter> {
    for (const a of adapters.values()) if (a.conversationChannel === conversationChannel && (await a.enabled())) return a;
    const code = conversationChannel === 'whatsapp' ? 'whatsapp_not_configured' as const : conversationChannel === 'telegram' ? 'telegram_not_configured' as const : 'channel_not_configured' as const;
    throw new AppError(503, code, NOT_CONFIGURED[conversationChannel] ?? `The ${conversationChannel} channel is not set up on this site.`);
  }

  return {
    senders,
    jobs: [receiptJob],

    register(a: ChannelAdapter) {
      adapters.set(a.channel, a);
      senders.set(a.channel, a.sender);
    },

    /** A webhook: verified by its adapter, parsed, stored in the inbox, receipts applied; answered with the adapter's ack. */
    async receive(channel: string, req: WebhookRequest): Promise<{ body: string; contentType: string } | undefined> {
      const done = deps.ingress?.();
      try {
        const a = adapter(channel);
        await a.verify(req);
        const { messages, receipts } = await a.parse(req);
        // All of a post's messages go into the inbox's same group commit; the answer waits for it.
        const accepted = (await Promise.all(messages.map((m) => deps.accept(m)))).filter((r) => !r.duplicate).length;
        for (const r of receipts) await receipt(channel, r);
        const failed = receipts.flatMap((r) => (r.failed ? [r.failed.error] : []));
        if (a.observe && (accepted || failed.length)) await a.observe({ accepted, failed });
        return a.ack;
      } finally {
        done?.();
      }
    },

    /** A platform's GET handshake, answered by its adapter. */
    async challenge(channel: string, req: WebhookRequest): Promise<string> {
      const a = adapter(channel);
      if (!a.challenge) throw errors.notFound(`A ${channel} handshake`);
      return a.challenge(req);
    },

    /**
     * Sends a message outside a reply (link code, approval notice, test message) on a conversation
     * channel: rendered and split like a reply, parts in order, each recorded with its purpose. A
     * link code is a secret until used, so only its masked form is kept.
     */
    async send(m: { channel: string; agentId: string | null; to: string; text: string; purpose: DirectPurpose }): Promise<{ providerMessageId: string | null }> {
      const a = await sendingAdapter(m.channel);
      const s = a.sender;
      let last: { providerMessageId: string | null } = { providerMessageId: null };
      for (const part of splitMessage(s.render ? s.render(m.text) : m.text, s.maxLength, s.format ? { format: s.format } : undefined)) {
        const kept = m.purpose === 'link_code' ? part.replace(/\d{6}/g, '••••••') : part;
        last = await sendRecorded(store, now, { channel: a.channel, agentId: m.agentId, recipient: m.to, text: kept, purpose: m.purpose },
          () => s.send({ agentId: m.agentId, account: m.agentId ?? '', recipient: m.to, text: part }));
      }
      return last;
    },
  };
}
export type ChannelRegistry = ReturnType<typeof channelRegistry>;
