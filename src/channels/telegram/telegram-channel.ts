import type * as Grammy from 'grammy';
import { z } from 'zod';
import type { Update } from 'grammy/types';
import type { ChannelRow, ChannelSender, Clock, IdGenerator, InboundMedia, InboundMessage, SecretBox, Store } from '../../domain/ports.js';
import type { AgentBots, ChannelAdapter, TelegramBotInfo, TelegramView, WebhookRequest } from '../../domain/channels.js';
import { SendError } from '../../domain/ports.js';
import { AppError, errors } from '../../domain/errors.js';
import { safeEqual } from '../../infra/system.js';
import type { Logger } from '../../infra/logger.js';
import { htmlToPlain, toTelegramHtml } from './format.js';
import { apiRefusal, networkFailure } from '../failures.js';
import { maskSecrets, registerSecret } from '../../infra/redact.js';
import { lazyRequire } from '../../infra/lazy.js';
import { boundedDownload, fileTooLarge } from '../media-download.js';

/** grammY loads with the first bot (at start only when bots exist), not for installs without Telegram. */
const grammy = lazyRequire<typeof Grammy>('grammy');

export type { TelegramBotInfo, TelegramView };

const CHANNEL = 'telegram';
/** Bound on the per-process caches of decrypted tokens and clients (one entry per connected bot). */
const CACHE_MAX = 10_000;

/**
 * What we read of an Update's message (PROTOCOLS.md §1); Telegram sends more, and unknown fields pass.
 * The webhook's secret says the post is Telegram's, so a message of another shape is skipped (and
 * logged), never a 500, which Telegram would redeliver, nor a throw that would stall a polling bot.
 */
const tgFile = z.looseObject({ file_id: z.string().min(1).max(512), file_size: z.number().finite().optional() });
const tgMessage = z.looseObject({
  message_id: z.number().int(),
  date: z.number().finite(),
  chat: z.looseObject({ id: z.number().int() }),
  from: z.looseObject({ id: z.number().int(), first_name: z.string().optional(), last_name: z.string().optional(), username: z.string().optional() }).optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
  voice: tgFile.optional(),
  audio: tgFile.optional(),
  photo: z.array(tgFile).optional(),
});
type TgMessage = z.infer<typeof tgMessage>;

/**
 * The file a message carries: a voice note or audio file, a photo (its largest size, listed last),
 * or a kind we do not read (video, document, sticker…), which is answered politely.
 */
export function mediaOf(m: TgMessage): InboundMedia | undefined {
  if (m.voice) return { kind: 'audio', provider: 'telegram', fileId: m.voice.file_id, size: m.voice.file_size };
  if (m.audio) return { kind: 'audio', provider: 'telegram', fileId: m.audio.file_id, size: m.audio.file_size };
  if (m.photo?.length) {
    const largest = m.photo.at(-1)!;
    return { kind: 'image', provider: 'telegram', fileId: largest.file_id, size: largest.file_size };
  }
  const other = m.video ? 'video' : m.video_note ? 'video note' : m.animation ? 'animation' : m.document ? 'document' : m.sticker ? 'sticker' : undefined;
  return other ? { kind: 'unsupported', what: other } : undefined;
}

/**
 * Turns a Bot API error into our SendError, keeping grammY's three kinds apart: the API refused
 * (GrammyError: method, code, description — rate limits and outages retried, refusals final), the
 * network failed (HttpError: described by its cause only, since the request URL carries the token),
 * or something else threw.
 */
function toSendError(err: unknown): SendError {
  if (err instanceof grammy().GrammyError) return apiRefusal(err.description, err.error_code, { retryAfterMs: err.parameters?.retry_after !== undefined ? err.parameters.retry_after * 1000 : undefined });
  if (err instanceof grammy().HttpError) return networkFailure('Telegram', err);
  return new SendError(maskSecrets((err as Error)?.message ?? String(err)), true);
}

/** A Bot API failure as text safe to store, show and log (no URL, so no token). */
function describe(err: unknown): string {
  if (err instanceof grammy().GrammyError) return `${err.error_code} ${err.description}`;
  if (err instanceof grammy().HttpError) return networkFailure('Telegram', err).message;
  return maskSecrets((err as Error)?.message ?? String(err));
}

/**
 * One Telegram bot per agent: validates tokens with getMe, registers a webhook when PUBLIC_URL is
 * set and long-polls getUpdates otherwise, writes updates into the durable inbox, and sends replies.
 * `adapter` is its part of the channel registry (webhook verify and parse, sender); the rest is the
 * `AgentBots` port services use to connect, start and stop an agent's bot.
 */
export function telegramChannel(deps: {
  store: Store; box: SecretBox; ids: IdGenerator; clock: Clock; log: Logger;
  apiRoot: string; publicUrl?: string; pollTimeoutSeconds: number;
  accept: (m: InboundMessage) => Promise<{ duplicate: boolean }>;
}) {
  const { store, box, log } = deps;
  const pollers = new Map<string, AbortController>();
  /**
   * One grammY client per bot token, kept while the token is in use (a token is immutable: a new bot
   * or a rotated token is another key). Building one per send was a visible share of a reply's CPU.
   */
  const clients = new Map<string, Grammy.Api>();
  const api = (token: string): Grammy.Api => {
    let c = clients.get(token);
    if (!c) {
      if (clients.size >= CACHE_MAX) clients.clear();
      c = new (grammy().Api)(token, { apiRoot: deps.apiRoot, timeoutSeconds: Math.max(30, deps.pollTimeoutSeconds + 10) } as never);
      clients.set(token, c);
    }
    return c;
  };

  /**
   * The bot token of an agent, read from its channel row on every call (so a disconnected bot or a
   * rotated token takes effect at once, in every process) but decrypted once per sealed value: the
   * sealed text is the cache key, and sealing a new token always gives a new one (random nonce).
   */
  async function tokenFor(agentId: string): Promise<string | undefined> {
    const row = await channelRow(agentId);
    return row ? openToken(row.secretSealed) : undefined;
  }

  /**
   * The bot rows that webhooks and sends ask for at the same moment, read together: one query per
   * turn of the event loop for every agent asked about, so a burst of 200 posts to one bot is one
   * read, not 200. Read every time, never kept: a new webhook secret, a rotated token or a removed
   * bot counts for the next request, whichever process changed it.
   */
  type Waiter = { resolve: (row: ChannelRow | undefined) => void; reject: (err: unknown) => void };
  let wanted: Map<string, Waiter[]> | undefined;
  function channelRow(agentId: string): Promise<ChannelRow | undefined> {
    return new Promise((resolve, reject) => {
      if (!wanted) {
        wanted = new Map();
        setImmediate(() => void readWanted());
      }
      const waiters = wanted.get(agentId);
      if (waiters) waiters.push({ resolve, reject });
      else wanted.set(agentId, [{ resolve, reject }]);
    });
  }
  async function readWanted() {
    const batch = wanted!;
    wanted = undefined;
    try {
      const rows = await store.channels.forAgents([...batch.keys()]);
      for (const [agentId, waiters] of batch) {
        const row = rows.find((r) => r.agentId === agentId && r.channel === CHANNEL);
        for (const w of waiters) w.resolve(row);
      }
    } catch (err) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
    }
  }

  const opened = new Map<string, string>();
  /** Every bot token is registered as a secret the moment it is known, so no text that is stored or logged can carry it. */
  function openToken(sealed: string): string {
    let token = opened.get(sealed);
    if (token === undefined) {
      token = box.open(sealed);
      registerSecret(token);
      if (opened.size >= CACHE_MAX) opened.clear();
      opened.set(sealed, token);
    }
    return token;
  }

  function toInbound(agentId: string, u: Update): InboundMessage | undefined {
    if (u.message === undefined) return undefined; // edits, callbacks, channel posts: nothing to answer
    const parsed = tgMessage.safeParse(u.message);
    if (!parsed.success) {
      log.warn('telegram update skipped: its message has an unexpected shape', { agentId, updateId: u.update_id, field: parsed.error.issues[0]?.path.join('.') });
      return undefined;
    }
    const m = parsed.data;
    if (!m.from) return undefined;
    const media = mediaOf(m);
    const text = m.text ?? m.caption ?? '';
    if (!text && !media) return undefined; // locations, contacts, service messages: nothing to answer
    return {
      channel: CHANNEL, account: agentId, externalId: String(u.update_id), threadKey: `${CHANNEL}:${agentId}:${m.chat.id}`,
      agentId, sender: String(m.chat.id), senderName: [m.from.first_name, m.from.last_name].filter(Boolean).join(' ') || m.from.username || null,
      text, payload: { updateId: u.update_id, messageId: m.message_id, chatId: m.chat.id, fromId: m.from.id, date: m.date, ...(media ? { media } : {}) },
      orderKey: String(u.update_id).padStart(20, '0'),
    };
  }

  async function acceptUpdate(agentId: string, u: Update) {
    const m = toInbound(agentId, u);
    if (m) await deps.accept(m);
  }

  async function poll(agentId: string, token: string, signal: AbortSignal) {
    const bot = api(token);
    let offset = (await store.channels.get(agentId, CHANNEL))?.pollOffset ?? undefined;
    let backoff = 1000;
    await bot.deleteWebhook({}, signal as never).catch(() => {}); // getUpdates refuses to run while a webhook is set
    while (!signal.aborted) {
      try {
        const updates = await bot.getUpdates({ offset, timeout: deps.pollTimeoutSeconds, allowed_updates: ['message'] }, signal as never);
        for (const u of updates) {
          await acceptUpdate(agentId, u);
          offset = u.update_id + 1;
        }
        if (updates.length) await store.channels.touch(agentId, CHANNEL, { pollOffset: offset });
        backoff = 1000;
      } catch (err) {
        if (signal.aborted) break;
        const msg = describe(err);
        await store.channels.touch(agentId, CHANNEL, { lastError: `polling: ${msg}`, lastErrorAt: deps.clock.now().toISOString() }).catch(() => {});
        if (err instanceof grammy().GrammyError && err.error_code === 401) {
          log.warn('telegram token no longer valid; polling stopped', { agentId });
          break;
        }
        log.warn('telegram polling failed', { agentId, error: msg, retryInMs: backoff });
        const wait = err instanceof grammy().GrammyError && err.parameters?.retry_after ? err.parameters.retry_after * 1000 : backoff;
        await new Promise((r) => setTimeout(r, wait));
        backoff = Math.min(30_000, backoff * 2);
      }
    }
  }

  function stopPolling(agentId: string) {
    pollers.get(agentId)?.abort();
    pollers.delete(agentId);
  }

  /**
   * Starts receiving for a connected agent that is active, or being provisioned (binding the bot is a
   * provisioning step, so a webhook Telegram refuses fails the pipeline rather than a later resume).
   */
  async function activate(agentId: string) {
    const row = await store.channels.get(agentId, CHANNEL);
    const agent = await store.agents.byId(agentId);
    if (!row || !agent || (agent.status !== 'active' && agent.status !== 'provisioning')) return;
    const token = openToken(row.secretSealed);
    registerSecret(row.webhookSecret);
    // The mode follows PUBLIC_URL as it is now, not as it was at connect: record the one in use, so
    // the webhook is accepted (and the dashboard tells the truth) after PUBLIC_URL is set or removed.
    const mode = deps.publicUrl ? 'webhook' : 'polling';
    const webhookSecret = row.webhookSecret ?? deps.ids.token(32);
    if (deps.publicUrl) {
      await api(token).setWebhook(`${deps.publicUrl}/webhooks/telegram/${agentId}`, { secret_token: webhookSecret, allowed_updates: ['message'] });
    }
    if (row.mode !== mode || row.webhookSecret !== webhookSecret) {
      await store.channels.upsert({ agentId, channel: CHANNEL, secretSealed: row.secretSealed, info: row.info, webhookSecret, mode });
    }
    if (!deps.publicUrl && !pollers.has(agentId)) {
      const ctl = new AbortController();
      pollers.set(agentId, ctl);
      void poll(agentId, token, ctl.signal).finally(() => { if (pollers.get(agentId) === ctl) pollers.delete(agentId); });
    }
  }

  /** Stops receiving (pause, delete, disconnect). Telegram keeps undelivered updates for a day. */
  async function deactivate(agentId: string) {
    stopPolling(agentId);
    const row = await store.channels.get(agentId, CHANNEL);
    if (row && row.mode === 'webhook') {
      await api(openToken(row.secretSealed)).deleteWebhook().catch((err) => log.warn('telegram deleteWebhook failed', { agentId, error: describe(err) }));
    }
  }

  const sender: ChannelSender = {
    channel: CHANNEL,
    maxLength: 4096,
    render: toTelegramHtml,
    format: 'html',
    async send(m) {
      const token = m.agentId ? await tokenFor(m.agentId) : undefined;
      if (!token) throw new SendError('this agent has no Telegram bot connected any more', false);
      const bot = api(token);
      try {
        const sent = await bot.sendMessage(m.recipient, m.text, { parse_mode: 'HTML', link_preview_options: { is_disabled: true } });
        return { providerMessageId: String(sent.message_id) };
      } catch (err) {
        // Should our HTML ever be refused, the words still get through, as plain text.
        if (err instanceof grammy().GrammyError && err.error_code === 400 && /can't parse entities/i.test(err.description)) {
          try {
            const sent = await bot.sendMessage(m.recipient, htmlToPlain(m.text), { link_preview_options: { is_disabled: true } });
            return { providerMessageId: String(sent.message_id) };
          } catch (again) {
            throw toSendError(again);
          }
        }
        throw toSendError(err);
      }
    },
    /** getFile names the file's path; the download URL carries the token, so no error ever names it. */
    async download(m, limits) {
      if (m.media.kind === 'unsupported' || m.media.provider !== 'telegram') throw new SendError('not a Telegram file', false);
      const token = m.agentId ? await tokenFor(m.agentId) : undefined;
      if (!token) throw new SendError('this agent has no Telegram bot connected any more', false);
      if (m.media.size !== undefined && m.media.size > limits.maxBytes) throw fileTooLarge(limits.maxBytes);
      let path: string | undefined;
      try {
        path = (await api(token).getFile(m.media.fileId)).file_path;
      } catch (err) {
        // The cloud Bot API serves files up to 20 MB and says "file is too big" beyond.
        if (err instanceof grammy().GrammyError && /too big/i.test(err.description)) throw fileTooLarge(limits.maxBytes);
        throw toSendError(err);
      }
      if (!path) throw new SendError('Telegram gave no path for the file', false);
      return boundedDownload('Telegram', `${deps.apiRoot}/file/bot${token}/${path.split('/').map(encodeURIComponent).join('/')}`, limits);
    },
    /** A voice note: OGG/Opus uploaded as multipart (grammY switches to multipart for an InputFile). */
    async sendVoice(m) {
      const token = m.agentId ? await tokenFor(m.agentId) : undefined;
      if (!token) throw new SendError('this agent has no Telegram bot connected any more', false);
      try {
        const sent = await api(token).sendVoice(m.recipient, new (grammy().InputFile)(Buffer.from(m.bytes), 'reply.ogg'));
        return { providerMessageId: String(sent.message_id) };
      } catch (err) {
        throw toSendError(err);
      }
    },
    async typing(m) {
      const token = m.agentId ? await tokenFor(m.agentId) : undefined;
      if (token) await api(token).sendChatAction(m.recipient, 'typing');
    },
  };

  /** The webhook: the secret header must match before the body is even read; the update is stored before we answer. */
  const adapter: ChannelAdapter = {
    channel: CHANNEL,
    conversationChannel: CHANNEL,
    enabled: async () => true, // needs no site-wide setting: each agent's bot brings its own token
    async verify(req: WebhookRequest) {
      const agentId = req.params.agentId ?? '';
      const row = await channelRow(agentId);
      if (!row || row.mode !== 'webhook' || !row.webhookSecret) throw errors.notFound('Telegram bot');
      registerSecret(row.webhookSecret);
      const secretHeader = req.header('x-telegram-bot-api-secret-token');
      if (!secretHeader || !safeEqual(secretHeader, row.webhookSecret)) throw new AppError(401, 'invalid_signature', 'The X-Telegram-Bot-Api-Secret-Token header is missing or wrong.');
    },
    async parse(req: WebhookRequest) {
      let update: unknown;
      try { update = JSON.parse(Buffer.from(await req.body()).toString('utf8')); } catch { throw errors.badRequest('invalid_json', 'The body is not valid JSON.'); }
      if (!update || typeof update !== 'object' || typeof (update as Update).update_id !== 'number') throw errors.badRequest('invalid_update', 'The body is not a Telegram Update.');
      const m = toInbound(req.params.agentId ?? '', update as Update);
      return { messages: m ? [m] : [], receipts: [] };
    },
    sender,
  };

  const bots = {
    activate,
    deactivate,

    /**
     * Checks a BotFather token with getMe, and that no other agent already uses this bot (two would
     * fight over its updates). `forAgentId`: the agent it is for, which may keep its own bot.
     */
    async validate(token: string, forAgentId?: string): Promise<TelegramBotInfo> {
      registerSecret(token);
      if (!/^\d{3,20}:[A-Za-z0-9_-]{20,100}$/.test(token)) {
        throw errors.validation([{ path: 'telegramBotToken', message: 'does not look like a BotFather token (digits, a colon, then letters)' }]);
      }
      let me: Awaited<ReturnType<ReturnType<typeof api>['getMe']>>;
      try {
        me = await api(token).getMe();
      } catch (err) {
        if (err instanceof grammy().GrammyError && (err.error_code === 401 || err.error_code === 404)) {
          throw errors.validation([{ path: 'telegramBotToken', message: 'Telegram rejected this token (getMe answered Unauthorized); copy it again from @BotFather' }]);
        }
        throw new AppError(502, 'telegram_unreachable', `Could not reach Telegram to check the token: ${err instanceof grammy().GrammyError ? err.description : describe(err)}`);
      }
      const taken = (await store.channels.all(CHANNEL)).find((r) => Number(r.info.botId) === me.id && r.agentId !== forAgentId);
      if (taken) {
        throw errors.validation([{ path: 'telegramBotToken', message: `@${me.username} is already connected to another agent; create a new bot with @BotFather for this one` }]);
      }
      return { id: me.id, username: me.username, firstName: me.first_name };
    },

    async connect(agentId: string, token: string, me: TelegramBotInfo) {
      await deactivate(agentId); // a previous bot stops first
      await store.channels.upsert({
        agentId, channel: CHANNEL, secretSealed: box.seal(token), info: { username: me.username, botId: me.id, firstName: me.firstName },
        webhookSecret: deps.ids.token(32), mode: deps.publicUrl ? 'webhook' : 'polling',
      });
      try {
        await activate(agentId);
      } catch (err) {
        await store.channels.delete(agentId, CHANNEL);
        throw new AppError(502, 'telegram_webhook_failed', `Telegram refused the webhook: ${err instanceof grammy().GrammyError ? err.description : describe(err)}`);
      }
    },

    async disconnect(agentId: string) {
      await deactivate(agentId);
      await store.channels.delete(agentId, CHANNEL);
    },

    async views(agentIds: string[]): Promise<Map<string, TelegramView>> {
      const rows = await store.channels.forAgents(agentIds);
      return new Map(rows.filter((r) => r.channel === CHANNEL).map((r) => {
        const username = String(r.info.username ?? '');
        return [r.agentId, { username, link: `https://t.me/${username}`, mode: r.mode, lastInboundAt: r.lastInboundAt, lastOutboundAt: r.lastOutboundAt, lastError: r.lastError, lastErrorAt: r.lastErrorAt, connectedAt: r.createdAt }];
      }));
    },

  } satisfies AgentBots;

  return {
    adapter,
    ...bots,
    async startAll() {
      for (const row of await store.channels.all(CHANNEL)) {
        await activate(row.agentId).catch((err) => log.warn('telegram bot could not start', { agentId: row.agentId, error: describe(err) }));
      }
    },
    stopAll() {
      for (const id of [...pollers.keys()]) stopPolling(id);
    },
  };
}
export type TelegramChannel = ReturnType<typeof telegramChannel>;
