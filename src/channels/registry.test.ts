import { describe, expect, it } from 'vitest';
import type { DirectSend, InboundMessage, Store } from '../domain/ports.js';
import type { ChannelAdapter, WebhookRequest } from '../domain/channels.js';
import { AppError } from '../domain/errors.js';
import { createLogger } from '../infra/logger.js';
import { systemClock } from '../infra/system.js';
import type { JobQueue } from '../jobs/index.js';
import { channelRegistry } from './registry.js';

const message = (text: string): InboundMessage => ({ channel: 'fake', account: 'a', externalId: text, threadKey: 'fake:1', agentId: null, sender: '1', senderName: null, text, payload: null });
const request = (secret: string): WebhookRequest => ({ url: 'http://x/webhooks/fake', params: {}, query: {}, header: (n) => (n === 'x-secret' ? secret : undefined), body: async () => new Uint8Array() });

function setup(opts: { cloudOn?: boolean; twilioOn?: boolean } = {}) {
  const accepted: InboundMessage[] = [];
  const recorded: DirectSend[] = [];
  const receipts: string[] = [];
  const sent: { channel: string; text: string }[] = [];
  const observed: { accepted: number; failed: string[] }[] = [];
  const store = {
    inbox: {
      recordDirect: async (d: DirectSend) => { recorded.push(d); },
      receipt: async (_c: string, id: string) => { receipts.push(id); return true; },
      hasProviderMessage: async () => true,
    },
  } as unknown as Store;
  const adapter = (channel: string, on: boolean, parsed: () => string[]): ChannelAdapter => ({
    channel, conversationChannel: 'whatsapp', enabled: async () => on,
    async verify(req) { if (req.header('x-secret') !== 'right') throw new AppError(401, 'unauthorized', 'bad signature'); },
    async parse() { return { messages: parsed().map(message), receipts: [{ providerMessageId: 'wamid.1', failed: { status: 'failed', error: 'gone' } }] }; },
    async observe(e) { observed.push(e); },
    sender: { channel, maxLength: 20, async send(m) { sent.push({ channel, text: m.text }); return { providerMessageId: `${channel}-${sent.length}` }; } },
  });
  let parses = 0;
  const channels = channelRegistry({
    store, clock: systemClock, log: createLogger('silent'), queue: {} as JobQueue,
    accept: async (m) => { const duplicate = accepted.some((a) => a.externalId === m.externalId); accepted.push(m); return { duplicate }; },
  });
  channels.register(adapter('whatsapp', opts.cloudOn ?? false, () => { parses++; return ['hi', 'hi']; }));
  channels.register(adapter('twilio', opts.twilioOn ?? false, () => { parses++; return ['hey']; }));
  return { channels, accepted, recorded, receipts, sent, observed, parses: () => parses };
}

describe('channel registry', () => {
  it('verifies before it parses: a refused webhook stores nothing', async () => {
    const t = setup({ cloudOn: true });
    await expect(t.channels.receive('whatsapp', request('wrong'))).rejects.toMatchObject({ status: 401 });
    expect(t.parses()).toBe(0);
    expect(t.accepted).toEqual([]);
  });

  it('stores every parsed message in the inbox, applies receipts, and tells the adapter what came (duplicates not counted)', async () => {
    const t = setup({ cloudOn: true });
    await t.channels.receive('whatsapp', request('right'));
    expect(t.accepted.map((m) => m.text)).toEqual(['hi', 'hi']);
    expect(t.receipts).toEqual(['wamid.1']);
    expect(t.observed).toEqual([{ accepted: 1, failed: ['gone'] }]);
  });

  it('sends outside a reply through the adapter whose settings are present, split, each part on record, link codes masked', async () => {
    const t = setup({ twilioOn: true });
    await t.channels.send({ channel: 'whatsapp', agentId: null, to: '5511', text: 'Your code is 123456. It expires soon.', purpose: 'link_code' });
    expect(t.sent.every((s) => s.channel === 'twilio')).toBe(true);
    expect(t.sent.map((s) => s.text).join(' ')).toContain('123456');
    expect(t.recorded.length).toBe(t.sent.length);
    expect(t.recorded.map((d) => d.text).join(' ')).not.toContain('123456');
    expect(t.recorded.every((d) => d.channel === 'twilio' && d.purpose === 'link_code' && d.status === 'sent')).toBe(true);
  });

  it('refuses a direct send on a channel nobody set up', async () => {
    const t = setup();
    await expect(t.channels.send({ channel: 'whatsapp', agentId: null, to: '5511', text: 'hello', purpose: 'approval' })).rejects.toMatchObject({ status: 503, code: 'whatsapp_not_configured' });
    expect(t.sent).toEqual([]);
  });
});
