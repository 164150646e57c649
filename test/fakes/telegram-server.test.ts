import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Bot, GrammyError, HttpError, webhookCallback } from 'grammy';
import { parseEntities, startFakeTelegram, telegramErrors, textUpdate, type FakeTelegram } from './telegram-server.js';

const TOKEN = '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11';
const OTHER = '654321:XYZ-other-token';
let fake: FakeTelegram;

beforeAll(async () => {
  fake = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'switchboard_test_bot' }], maxPollWaitMs: 200 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const newBot = (token = TOKEN, client: Record<string, unknown> = {}) => new Bot(token, { client: { apiRoot: fake.apiRoot, ...client } });

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('fake Telegram via grammY', () => {
  it('answers getMe for a registered bot and 401 for an unknown token', async () => {
    const me = await newBot().api.getMe();
    expect(me).toMatchObject({ id: 123456, is_bot: true, username: 'switchboard_test_bot' });
    expect(fake.journal[0].path).toBe(`/bot${TOKEN}/getMe`);

    const err = await newBot(OTHER).api.getMe().catch((e) => e);
    expect(err).toBeInstanceOf(GrammyError);
    expect(err.error_code).toBe(401);
    expect(err.description).toBe('Unauthorized');
  });

  it('records sendMessage per chat, including chat ids above 2^31', async () => {
    const bot = newBot();
    const big = -1002345678901;
    const msg = await bot.api.sendMessage(42, 'hello');
    await bot.api.sendMessage(42, '<b>bold</b> &amp; more', { parse_mode: 'HTML' });
    await bot.api.sendMessage(big, 'to the group');
    expect(msg).toMatchObject({ message_id: 1, chat: { id: 42, type: 'private' }, text: 'hello' });
    expect(fake.messagesTo(42)).toEqual(['hello', '<b>bold</b> &amp; more']);
    expect(fake.sent[1]).toMatchObject({ plainText: 'bold & more', parseMode: 'HTML', messageId: 2 });
    expect(fake.messagesTo(big)).toEqual(['to the group']);
    expect(fake.calls('sendmessage')[0].headers['content-type']).toContain('application/json');
  });

  it('rejects unbalanced entities, empty and too-long texts with 400', async () => {
    const bot = newBot();
    const cases: [string, Record<string, string>, RegExp][] = [
      ['<b>open', { parse_mode: 'HTML' }, /can't parse entities: Can't find end tag corresponding to start tag "b"/],
      ['<b>x</i>', { parse_mode: 'HTML' }, /Unmatched end tag/],
      ['*bold', { parse_mode: 'MarkdownV2' }, /can't parse entities: Can't find end of the entity starting at byte offset 0/],
      ['ok _it', { parse_mode: 'Markdown' }, /byte offset 3/],
      ['```code', { parse_mode: 'Markdown' }, /can't parse entities/],
      ['a'.repeat(4097), {}, /^Bad Request: message is too long$/],
      ['😀'.repeat(2049), {}, /message is too long/],
    ];
    for (const [text, other, re] of cases) {
      const err = await bot.api.sendMessage(1, text, other).catch((e) => e);
      expect(err, text.slice(0, 10)).toBeInstanceOf(GrammyError);
      expect(err.error_code).toBe(400);
      expect(err.description).toMatch(re);
    }
    await bot.api.sendMessage(1, 'a'.repeat(4096));
    await bot.api.sendMessage(1, `<b>${'a'.repeat(4096)}</b>`, { parse_mode: 'HTML' }); // counted after parsing
    await bot.api.sendMessage(1, '\\*not bold\\* `*code*`', { parse_mode: 'MarkdownV2' });
    expect(fake.sent).toHaveLength(3);
    expect(parseEntities('&#x1F600;&lt;', 'HTML')).toEqual({ ok: true, text: '😀<' });
  });

  it('can count the text limit in code points', async () => {
    const cp = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'b' }], textUnit: 'codepoint' });
    try {
      const bot = new Bot(TOKEN, { client: { apiRoot: cp.apiRoot } });
      await bot.api.sendMessage(1, '😀'.repeat(4096));
      const err = await bot.api.sendMessage(1, '😀'.repeat(4097)).catch((e) => e);
      expect(err.description).toBe('Bad Request: message is too long');
    } finally {
      await cp.close();
    }
  });

  it('scripts 429 with retry_after, the older 429 without parameters, 403, migrate_to_chat_id and 500', async () => {
    const bot = newBot();
    fake.enqueue('sendMessage', telegramErrors.tooManyRequests(1), telegramErrors.tooManyRequestsNoParams());
    fake.enqueue('sendmessage', telegramErrors.blocked(), telegramErrors.migrated(-1009876543210), telegramErrors.serverError());

    const e429 = await bot.api.sendMessage(7, 'x').catch((e) => e);
    expect(e429).toBeInstanceOf(GrammyError);
    expect(e429.error_code).toBe(429);
    expect(e429.parameters.retry_after).toBe(1);
    expect(e429.description).toBe('Too Many Requests: retry after 1');
    const raw = JSON.parse(await (await fetch(`${fake.apiRoot}/bot${TOKEN}/sendMessage?chat_id=1&text=x`)).text());
    expect(raw).toEqual({ ok: false, error_code: 429, description: 'Too Many Requests' });

    const e403 = await bot.api.sendMessage(7, 'x').catch((e) => e);
    expect([e403.error_code, e403.description]).toEqual([403, 'Forbidden: bot was blocked by the user']);
    const migrated = await bot.api.sendMessage(-100, 'x').catch((e) => e);
    expect(migrated.error_code).toBe(400);
    expect(migrated.parameters.migrate_to_chat_id).toBe(-1009876543210);
    const e500 = await bot.api.sendMessage(7, 'x').catch((e) => e);
    expect(e500.error_code).toBe(500);
    expect(fake.sent).toHaveLength(0);
    await bot.api.sendMessage(7, 'finally');
    expect(fake.messagesTo(7)).toEqual(['finally']);
  });

  it('scripts a hung request and a connection reset (grammY HttpError)', async () => {
    const bot = newBot();
    fake.enqueue('sendMessage', telegramErrors.hang(), telegramErrors.reset());
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    expect(await bot.api.sendMessage(1, 'x', {}, ac.signal as Parameters<typeof bot.api.sendMessage>[3]).catch((e) => e)).toBeInstanceOf(HttpError);
    expect(await bot.api.sendMessage(1, 'x').catch((e) => e)).toBeInstanceOf(HttpError);
  });

  it('long polling: bot.start() receives a pushed update, replies, and stop() confirms it', async () => {
    const bot = newBot();
    const seen: string[] = [];
    bot.on('message:text', async (ctx) => {
      seen.push(ctx.message.text);
      await ctx.replyWithChatAction('typing');
      await ctx.reply(`echo: ${ctx.message.text}`);
    });
    const running = bot.start({ timeout: 30 });
    await until(() => fake.calls('getUpdates').length > 0);
    const u = fake.pushUpdate(TOKEN, textUpdate({ chatId: 3000000001, text: '/start hello' }));
    await until(() => fake.sent.length > 0);
    await bot.stop();
    await running;
    expect(seen).toEqual(['/start hello']);
    expect(fake.messagesTo(3000000001)).toEqual(['echo: /start hello']);
    expect(fake.bots.get(TOKEN)!.chatActions[0]).toMatchObject({ chatId: 3000000001, action: 'typing' });
    expect(fake.bots.get(TOKEN)!.pending).toEqual([]); // confirmed by stop()'s getUpdates offset
    expect(fake.calls('deleteWebhook')).toHaveLength(1);
    expect(fake.calls('getUpdates').at(-1)!.params.offset).toBe(u.update_id + 1);
  });

  it('getUpdates: waits up to the capped timeout then returns [], 409 while a webhook is set or a newer poll starts', async () => {
    const bot = newBot();
    const t0 = Date.now();
    expect(await bot.api.getUpdates({ timeout: 5 })).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);

    const first = bot.api.getUpdates({ timeout: 5 }).catch((e) => e);
    await until(() => fake.calls('getUpdates').length === 2);
    const second = bot.api.getUpdates({ timeout: 5 });
    const err = await first;
    expect(err).toBeInstanceOf(GrammyError);
    expect(err.error_code).toBe(409);
    expect(err.description).toMatch(/terminated by other getUpdates request/);
    fake.pushUpdate(TOKEN, textUpdate({ chatId: 5, text: 'wake' }));
    expect((await second).map((u) => u.message?.text)).toEqual(['wake']);

    await bot.api.setWebhook('http://127.0.0.1:9/hook');
    const conflict = await bot.api.getUpdates().catch((e) => e);
    expect(conflict.error_code).toBe(409);
    expect(conflict.description).toMatch(/webhook is active/);
    expect((await bot.api.getWebhookInfo()).url).toBe('http://127.0.0.1:9/hook');
    await bot.api.deleteWebhook({ drop_pending_updates: true });
    expect(await bot.api.getWebhookInfo()).toMatchObject({ url: '', pending_update_count: 0 });
  });

  it('validates secret_token and accepts form-encoded / query-string calls with any method case', async () => {
    const bot = newBot();
    const bad = await bot.api.setWebhook('https://example.com/h', { secret_token: 'has space' }).catch((e) => e);
    expect(bad.error_code).toBe(400);
    const form = await fetch(`${fake.apiRoot}/bot${TOKEN}/SENDMESSAGE`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ chat_id: '99', text: 'via form' }),
    });
    expect(((await form.json()) as any).ok).toBe(true);
    const get = (await (await fetch(`${fake.apiRoot}/bot${TOKEN}/getme`)).json()) as any;
    expect(get.result.username).toBe('switchboard_test_bot');
    const unknown = await fetch(`${fake.apiRoot}/bot${TOKEN}/noSuchMethod`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ ok: false, error_code: 404, description: 'Not Found: method not found' });
    expect(fake.messagesTo(99)).toEqual(['via form']);
  });

  it('builds updates in the Bot API shape', () => {
    const u = textUpdate({ updateId: 7, chatId: 2 ** 31 + 5, text: 'hi /help@bot now', firstName: 'Zé', messageId: 3, date: 1735689600 });
    expect(u).toEqual({
      update_id: 7,
      message: {
        message_id: 3, date: 1735689600,
        from: { id: 2 ** 31 + 5, is_bot: false, first_name: 'Zé', language_code: 'en' },
        chat: { id: 2 ** 31 + 5, type: 'private', first_name: 'Zé' },
        text: 'hi /help@bot now',
        entities: [{ type: 'bot_command', offset: 3, length: 9 }],
      },
    });
    const voice = textUpdate({ chatId: -1001, extra: { voice: { file_id: 'f', file_unique_id: 'u', duration: 2 } } });
    expect(voice.message.text).toBeUndefined();
    expect(voice.message.chat.type).toBe('supergroup');
  });
});

describe('fake Telegram webhook delivery', () => {
  let server: Server;
  let hookUrl: string;
  let bot: Bot;
  const handled: number[] = [];

  beforeAll(async () => {
    bot = newBot(TOKEN, { canUseWebhookReply: (m: string) => m === 'sendMessage' });
    bot.on('message:text', async (ctx) => {
      handled.push(ctx.update.update_id);
      if (ctx.message.text === 'inline') await ctx.reply('answered in the webhook response');
      else {
        await ctx.api.sendChatAction(ctx.chat.id, 'typing');
        await ctx.reply(`got ${ctx.message.text}`);
      }
    });
    const cb = webhookCallback(bot, 'http', { secretToken: 'sEcr3t_-x' });
    server = createServer((req, res) => void cb(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/telegram`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('delivers with the secret header, executes webhook replies, replays duplicates and is refused with a wrong secret', async () => {
    handled.length = 0;
    await bot.api.setWebhook(hookUrl, { secret_token: 'sEcr3t_-x' });

    const r1 = await fake.deliver(TOKEN, textUpdate({ chatId: 77, text: 'hello' }));
    expect(r1.status).toBe(200);
    expect(fake.deliveries[0].headers['x-telegram-bot-api-secret-token']).toBe('sEcr3t_-x');
    expect(fake.messagesTo(77)).toEqual(['got hello']);

    const r2 = await fake.deliver(TOKEN, textUpdate({ chatId: 77, text: 'inline' }));
    expect(r2.status).toBe(200);
    expect(JSON.parse(r2.body)).toMatchObject({ method: 'sendMessage', chat_id: 77 });
    expect(r2.webhookReply?.body.ok).toBe(true);
    expect(fake.messagesTo(77)).toEqual(['got hello', 'answered in the webhook response']);
    expect(fake.journal.at(-1)!.source).toBe('webhookReply');

    const dup = await fake.replay(0);
    expect(dup.status).toBe(200);
    expect(fake.deliveries[2].rawBody.equals(fake.deliveries[0].rawBody)).toBe(true);
    expect(handled[2]).toBe(handled[0]); // same update_id twice: the app must dedupe

    const wrong = await fake.deliver(TOKEN, textUpdate({ chatId: 77, text: 'evil' }), { secret: 'nope' });
    expect(wrong.status).toBe(401);
    const none = await fake.deliver(TOKEN, textUpdate({ chatId: 77, text: 'evil' }), { secret: null });
    expect(none.status).toBe(401);
    expect(handled).toHaveLength(3);
  });
});

describe('fake Telegram files and media (PROTOCOLS.md §7), via grammY', () => {
  it('answers getFile with the file_path, serves the download for the bot token, and refuses unknown ids', async () => {
    const bytes = Buffer.from('OggS fake voice note');
    const { fileId, voice, photo } = fake.addFile(bytes, { mimeType: 'audio/ogg', duration: 3 });
    expect(voice).toMatchObject({ file_id: fileId, duration: 3, mime_type: 'audio/ogg', file_size: bytes.length });
    expect(photo.at(-1).file_id).toBe(fileId); // the largest size is last
    const file = await newBot().api.getFile(fileId);
    expect(file).toMatchObject({ file_id: fileId, file_size: bytes.length, file_path: expect.stringMatching(/^voice\/file_\d+\.oga$/) });
    const res = await fetch(`${fake.apiRoot}/file/bot${TOKEN}/${file.file_path}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await fetch(`${fake.apiRoot}/file/bot${OTHER}/${file.file_path}`)).status).toBe(404);
    expect((await fetch(`${fake.apiRoot}/file/bot${TOKEN}/voice/nothing.oga`)).status).toBe(404);
    const err = await newBot().api.getFile('no-such-file').catch((e) => e);
    expect(err).toBeInstanceOf(GrammyError);
    expect(err.description).toBe('Bad Request: invalid file_id');
  });

  it('refuses getFile for a file over 20 MB, as the cloud Bot API does', async () => {
    const { fileId } = fake.addFile(Buffer.alloc(20 * 1024 * 1024 + 1));
    const err = await newBot().api.getFile(fileId).catch((e) => e);
    expect(err.description).toBe('Bad Request: file is too big');
  });

  it('accepts sendVoice as a multipart upload and records it', async () => {
    const { InputFile } = await import('grammy');
    const ogg = Buffer.from('OggS a spoken reply');
    const msg = await newBot().api.sendVoice(42, new InputFile(ogg, 'reply.ogg'), { caption: 'Your order ships today.' });
    expect(msg).toMatchObject({ message_id: 1, chat: { id: 42 }, voice: { mime_type: expect.any(String), file_size: ogg.length }, caption: 'Your order ships today.' });
    expect(fake.sentMedia).toHaveLength(1);
    const sent = fake.sentMedia[0]!;
    expect(sent).toMatchObject({ method: 'sendvoice', chatId: 42, caption: 'Your order ships today.' });
    expect(typeof sent.file === 'object' && sent.file.filename).toBe('reply.ogg');
    expect(typeof sent.file === 'object' && sent.file.bytes.equals(ogg)).toBe(true);
    const err = await newBot().api.sendVoice(42, 'not-a-file-id').catch((e) => e);
    expect(err.description).toBe('Bad Request: wrong file identifier/HTTP URL specified');
  });
});
