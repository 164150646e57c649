import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, type FakeTelegram } from '../../../test/fakes/telegram-server.js';
import type { DirectSend, SecretBox, Store } from '../../domain/ports.js';
import { createLogger } from '../../infra/logger.js';
import { randomIds, systemClock } from '../../infra/system.js';
import { telegramChannel } from './telegram-channel.js';
import { channelRegistry } from '../registry.js';
import type { JobQueue } from '../../jobs/index.js';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';
const TOKEN2 = '987654321:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw2';

describe('telegram channel: notices sent outside the inbox, through the channel registry', () => {
  let tg: FakeTelegram;
  beforeAll(async () => { tg = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'NoticeBot' }, { token: TOKEN2, username: 'OtherBot' }] }); });
  afterAll(() => tg?.close());

  it('renders and splits a long notice (approval results) into messages Telegram accepts, in order', async () => {
    const recorded: DirectSend[] = [];
    const store = { channels: { forAgents: async (ids: string[]) => ids.map((agentId) => ({ agentId, channel: 'telegram', secretSealed: TOKEN })) }, inbox: { recordDirect: async (d: DirectSend) => { recorded.push(d); } } } as unknown as Store;
    const box: SecretBox = { seal: (s) => s, open: (s) => s };
    const channel = telegramChannel({
      store, box, ids: randomIds, clock: systemClock, log: createLogger('silent'), apiRoot: tg.apiRoot, pollTimeoutSeconds: 1,
      accept: async () => ({ duplicate: false }),
    });
    const channels = channelRegistry({ store, clock: systemClock, log: createLogger('silent'), queue: {} as JobQueue, accept: async () => ({ duplicate: false }) });
    channels.register(channel.adapter);
    const result = Array.from({ length: 600 }, (_, i) => `line ${i} & <more>`).join('\n');
    await channels.send({ channel: 'telegram', agentId: 'agent-1', to: '5001', text: `✅ Approved: **"read"** ran.\n\n${result}`, purpose: 'approval' });
    const parts = tg.messagesTo(5001);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(4096);
    expect(tg.sent.every((m) => m.parseMode === 'HTML')).toBe(true);
    expect(parts[0]).toMatch(/^✅ Approved: <b>"read"<\/b> ran\./);
    expect(parts.join('\n').replace(/\s+/g, ' ')).toContain('line 0 &amp; &lt;more&gt;');
    expect(parts.at(-1)).toMatch(/line 599 &amp; &lt;more&gt;$/);
    // Each part is on record as sent outside a reply.
    expect(recorded.map((d) => [d.purpose, d.status, d.text])).toEqual(parts.map((p) => ['approval', 'sent', p]));
  });

  it('decrypts a bot token once, and sends with a rotated token (or refuses a removed bot) at once', async () => {
    let row: { agentId: string; channel: string; secretSealed: string } | undefined = { agentId: 'agent-1', channel: 'telegram', secretSealed: `sealed:${TOKEN}` };
    let opened = 0;
    let reads = 0;
    const store = { channels: { forAgents: async () => { reads++; return row ? [row] : []; } } } as unknown as Store;
    const box: SecretBox = { seal: (s) => `sealed:${s}`, open: (s) => { opened++; return s.slice('sealed:'.length); } };
    const { adapter } = telegramChannel({
      store, box, ids: randomIds, clock: systemClock, log: createLogger('silent'), apiRoot: tg.apiRoot, pollTimeoutSeconds: 1,
      accept: async () => ({ duplicate: false }),
    });
    const send = (text: string) => adapter.sender.send({ agentId: 'agent-1', account: 'agent-1', recipient: '6001', text });
    await send('one');
    await adapter.sender.typing!({ agentId: 'agent-1', account: 'agent-1', recipient: '6001' });
    await send('two');
    expect(opened).toBe(1); // the row is read each time, the token decrypted once
    expect(reads).toBe(3);
    row = { ...row!, secretSealed: `sealed:${TOKEN2}` }; // rotated (in this process or another): the next send uses it
    await send('three');
    expect(tg.sent.filter((m) => String(m.chatId) === '6001').map((m) => [m.token, m.text])).toEqual([[TOKEN, 'one'], [TOKEN, 'two'], [TOKEN2, 'three']]);
    row = undefined; // disconnected
    await expect(send('four')).rejects.toThrow(/no Telegram bot connected/);
  });

  it('reads the rows asked for at the same moment in one query, each caller getting its own agent\'s', async () => {
    const asked: string[][] = [];
    const store = { channels: { forAgents: async (ids: string[]) => { asked.push(ids); return ids.filter((id) => id !== 'gone').map((agentId) => ({ agentId, channel: 'telegram', mode: 'webhook', webhookSecret: `secret-of-${agentId}-0123456789`, secretSealed: TOKEN })); } } } as unknown as Store;
    const { adapter } = telegramChannel({
      store, box: { seal: (s) => s, open: (s) => s }, ids: randomIds, clock: systemClock, log: createLogger('silent'), apiRoot: tg.apiRoot, pollTimeoutSeconds: 1,
      accept: async () => ({ duplicate: false }),
    });
    const post = (agentId: string, secret: string) => adapter.verify({ url: '', params: { agentId }, query: {}, header: (n) => (n === 'x-telegram-bot-api-secret-token' ? secret : undefined), body: async () => new Uint8Array() });
    const results = await Promise.allSettled([
      post('a', 'secret-of-a-0123456789'), post('a', 'secret-of-a-0123456789'), post('b', 'secret-of-a-0123456789'), post('gone', 'whatever'),
    ]);
    expect(asked).toEqual([['a', 'b', 'gone']]);
    expect(results.map((r) => r.status === 'fulfilled' ? 'ok' : (r.reason as { status: number }).status)).toEqual(['ok', 'ok', 401, 404]);
  });
});
