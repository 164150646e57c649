import type { ChannelSender, Clock, InboundMessage, InboxItem, InboxRoute, OutboxItem, Store } from '../domain/ports.js';
import { SendError, inboundMedia } from '../domain/ports.js';
import type { Agent } from '../domain/types.js';
import type { MediaService } from './media.js';
import { UPLOAD_MAX_BYTES } from './media.js';
import { AppError } from '../domain/errors.js';
import { CHANNEL_IDENTITY, type Channel } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import type { ChatService } from './chat.js';
import { POLITE_FAILURE } from './chat.js';
import { CUT_BY_TAKEOVER } from './takeover.js';
import { splitMessage } from '../channels/split.js';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export type InboxOptions = {
  concurrency?: number; leaseMs?: number; pollMs?: number; maxSendAttempts?: number; typingEveryMs?: number; baseBackoffMs?: number; settleMs?: number;
  /**
   * Webhooks first: while messages are being accepted (and for `ingressQuietMs` after the last one)
   * an idle worker waits before it picks its next message, at most `ingressYieldMs` each time, so a
   * burst of webhooks is acknowledged before the worker takes the CPU, and the worker never starves.
   */
  ingressQuietMs?: number; ingressYieldMs?: number;
};

/** Decides which agent a message goes to, and may answer by itself (routing questions, commands). */
export type Router = (item: InboxItem) => Promise<InboxRoute>;


/** Channels whose reply is delivered by storing it in the conversation (the browser reads it there), not by sending. */
const STORED_ONLY = new Set(['web', 'api']);

/** The answer to a file we do not read (video, document, sticker…): said, never silence. */
export const UNSUPPORTED_MEDIA = 'Sorry — I can read text, voice notes and photos, but not this kind of file. Could you send it as one of those?';
/**
 * An outbox part that is a spoken reply, not text: this prefix and the media id. The prefix is a
 * private-use character stripped from every text part, so no model output can pose as one.
 */
const VOICE_PART = '\uE000voice:';
const voicePart = (text: string) => (text.startsWith(VOICE_PART) ? text.slice(VOICE_PART.length) : undefined);

/** How long the worker waits for a file a person sent to download. */
const DOWNLOAD_TIMEOUT_MS = 60_000;

/** A message answered in the request that brought it: the web chat, the message API. */
/** `mediaIds`: files uploaded before and sent with the message, kept in the inbox row (`payload.mediaIds`) so a worker finishing the reply after a crash sends them too. */
export type InlineMessage = { channel: 'web' | 'api'; agentId: string; sender: string; text: string; mediaIds?: string[] };

/**
 * The durable inbox: channels write inbound messages here before they acknowledge the webhook,
 * and a worker answers them — in order per conversation, in parallel across conversations,
 * surviving restarts. Replies are stored as outbox parts before sending, so a crash resends at
 * most the one part that was in flight.
 */
export function inboxService(deps: {
  store: Pick<Store, 'agents' | 'channels' | 'inbox' | 'conversations' | 'people'>; chat: ChatService; clock: Clock; log: Logger; senders: Map<string, ChannelSender>; routers?: Map<string, Router>; options?: InboxOptions;
  /** Files people send on channels (voice notes, photos) are checked and stored here; spoken replies are read from it. */
  media?: Pick<MediaService, 'intake' | 'get' | 'bytes'>;
  /** Told of every failed send of a part: `final` when no retry follows (metrics). */
  onSendFailure?: (channel: string, final: boolean) => void;
}) {
  const { store, chat, clock, log } = deps;
  // settleMs: a message waits this long before it is picked, so one sent just before it in the same
  // conversation but delivered a moment later (parallel webhooks) still goes first.
  const o = { concurrency: 8, leaseMs: 60_000, pollMs: 250, maxSendAttempts: 5, typingEveryMs: 4_000, baseBackoffMs: 1_000, settleMs: 150, ingressQuietMs: 5, ingressYieldMs: 100, ...deps.options };
  const iso = (ms = 0) => new Date(clock.now().getTime() + ms).toISOString();
  let running = false;
  const waiters = new Set<() => void>();
  const loops: Promise<void>[] = [];

  /** Wakes one idle loop (a new message needs one worker), or all of them (stop). */
  function notify(all = false) {
    for (const w of [...waiters]) {
      waiters.delete(w);
      w();
      if (!all) return;
    }
  }

  // ---- accepting: group commit ----
  // Webhooks that arrive together are stored together: accept() queues the message, and one
  // transaction per batch stores every message queued since the last one started (the batch closes
  // at the end of the current turn of the event loop, or while the previous commit is running).
  // Each caller's promise settles only after the commit that holds its row, so a webhook is still
  // acknowledged only once its message is stored. Everything that need not precede the ack (the
  // channel's "last message in" time, waking the worker) runs after the commit, once per batch.
  type Pending = { m: InboundMessage; resolve: (r: { id: string; duplicate: boolean }) => void; reject: (e: unknown) => void };
  let batch: Pending[] = [];
  let flushing = false;
  let flushQueued = false;
  /** Webhooks being received and messages being accepted right now, and when the last one ended (performance.now()). */
  let accepting = 0;
  let lastAcceptAt = -Infinity;

  async function flush() {
    flushQueued = false;
    if (flushing || batch.length === 0) return;
    flushing = true;
    const mine = batch;
    batch = [];
    try {
      const at = iso();
      let results: ({ id: string; duplicate: boolean } | { error: unknown })[];
      try {
        results = await store.inbox.acceptMany(mine.map((p) => p.m), at);
      } catch (err) {
        // One bad message (say, for an agent deleted a moment ago) must not fail the others: alone, each.
        if (mine.length === 1) throw err;
        results = [];
        for (const p of mine) results.push(await store.inbox.acceptMany([p.m], at).then((r) => r[0]!, (error: unknown) => ({ error })));
      }
      mine.forEach((p, i) => { const r = results[i]!; if ('error' in r) p.reject(r.error); else p.resolve(r); });
      afterAccept(mine.filter((_, i) => { const r = results[i]!; return !('error' in r) && !r.duplicate; }).map((p) => p.m));
    } catch (err) {
      for (const p of mine) p.reject(err);
    } finally {
      flushing = false;
      if (batch.length) void flush();
    }
  }

  /** After the commit, off the acknowledgement's path: channel health once per agent and channel, and one wake-up. */
  function afterAccept(stored: InboundMessage[]) {
    if (!stored.length) return;
    for (const m of stored) if (m.agentId) touchSoon(m.agentId, m.channel, 'lastInboundAt');
    setTimeout(() => notify(), o.settleMs + 5).unref?.();
  }

  function accept(m: InboundMessage): Promise<{ id: string; duplicate: boolean }> {
    accepting++;
    return new Promise<{ id: string; duplicate: boolean }>((resolve, reject) => {
      batch.push({ m, resolve, reject });
      if (!flushing && !flushQueued) {
        flushQueued = true;
        setImmediate(() => void flush());
      }
    }).finally(() => {
      accepting--;
      lastAcceptAt = performance.now();
    });
  }

  /**
   * A webhook request being received (from before it is verified and its body read, until it is
   * answered): idle worker loops wait while any is, not only while a message is being stored, so a
   * burst of posts is acknowledged before the worker takes the event loop. Call the result once done.
   */
  function receiving(): () => void {
    accepting++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      accepting--;
      lastAcceptAt = performance.now();
    };
  }

  /** Waits (bounded by ingressYieldMs) while webhooks are being received or accepted, so their acks go first. */
  async function yieldToIngress() {
    const until = performance.now() + o.ingressYieldMs;
    while (running && (accepting > 0 || performance.now() - lastAcceptAt < o.ingressQuietMs) && performance.now() < until) {
      await new Promise((res) => setTimeout(res, o.ingressQuietMs));
    }
  }

  /**
   * The channel's health times ("last message in", "last reply out") are for people to read: written
   * at most once a second per agent and channel, not once per message.
   */
  const touchedAt = new Map<string, number>();
  function touchSoon(agentId: string, channel: string, field: 'lastInboundAt' | 'lastOutboundAt') {
    const key = `${agentId}\n${channel}\n${field}`;
    const now = performance.now();
    if (now - (touchedAt.get(key) ?? -Infinity) < 1000) return;
    touchedAt.set(key, now);
    if (touchedAt.size > 10_000) touchedAt.clear();
    void store.channels.touch(agentId, channel, { [field]: iso() }).catch((err: unknown) => log.warn('channel touch failed', { channel, error: err }));
  }

  /**
   * The file of an inbound message, downloaded through its channel and stored once: the media ids are
   * kept in the message's payload, so a message processed again (after a crash or a failed send) uses
   * them instead of downloading, storing and paying again. Throws 413/415 for a file that is refused.
   */
  async function mediaFor(item: InboxItem, agent: Agent, person: { kind: string; externalId: string; displayName: string | null }): Promise<string[]> {
    const payload = (item.payload ?? {}) as { media?: unknown; mediaIds?: string[] };
    if (Array.isArray(payload.mediaIds) && payload.mediaIds.length) return payload.mediaIds;
    const media = inboundMedia(item.payload);
    const sender = deps.senders.get(item.channel);
    if (!media || media.kind === 'unsupported' || !sender?.download || !deps.media) throw new AppError(415, 'unsupported_media', UNSUPPORTED_MEDIA);
    const bytes = await sender.download({ agentId: agent.id, account: item.account, media }, { maxBytes: UPLOAD_MAX_BYTES, timeoutMs: DOWNLOAD_TIMEOUT_MS });
    const p = await store.people.upsert(person.kind, person.externalId, person.displayName);
    const personId = await store.people.canonical(p.id, iso());
    const stored = await deps.media.intake({ bytes, agentId: agent.id, personId });
    await store.inbox.setPayload(item.id, { ...payload, mediaIds: [stored.id] });
    item.payload = { ...payload, mediaIds: [stored.id] };
    return [stored.id];
  }

  async function replyText(item: InboxItem): Promise<{ text: string | null; agentId: string | null; messageId?: string; voice?: { mediaId: string; mimeType: string } }> {
    let agentId = item.agentId;
    let text = item.text;
    const media = inboundMedia(item.payload);
    // A video, a document, a sticker: said plainly, not ignored (no model call, nothing stored).
    if (media?.kind === 'unsupported') return { text: UNSUPPORTED_MEDIA, agentId };
    const router = deps.routers?.get(item.channel);
    let routed: Agent | undefined;
    if (router) {
      const route = item.route ?? await router(item); // routed before a crash: the same way again
      if ('drop' in route) return { text: null, agentId };
      if ('reply' in route) return { text: route.reply, agentId };
      agentId = route.agentId;
      text = route.text ?? text;
      routed = route.agent;
      if (agentId !== item.agentId) await store.inbox.setAgent(item.id, agentId);
    }
    const identity = CHANNEL_IDENTITY[item.channel] ?? { person: item.channel, channel: item.channel as Channel };
    const agent = routed ?? (agentId ? await store.agents.byId(agentId) : undefined);
    if (!agent) return { text: null, agentId };
    const sender = deps.senders.get(item.channel);
    const person = { kind: identity.person, externalId: item.sender, displayName: item.senderName };
    // Files the web chat or the message API sent with the message (uploaded before; ids in the payload).
    const sent = (item.payload as { mediaIds?: unknown } | null)?.mediaIds;
    let mediaIds: string[] | undefined = !media && Array.isArray(sent) && sent.every((x) => typeof x === 'string') ? sent as string[] : undefined;
    if (media) {
      try {
        mediaIds = await mediaFor(item, agent, person);
      } catch (err) {
        // Too large, or not a format we read: the person is told why, and nothing is stored.
        if (err instanceof AppError && (err.status === 413 || err.status === 415)) return { text: err.message, agentId };
        if (err instanceof SendError && !err.retryable) return { text: 'Sorry — I could not download your file. Could you send it again?', agentId };
        throw err;
      }
    }
    // "typing…" once the agent is going to answer (not when a person has taken the conversation over).
    let typing: ReturnType<typeof setInterval> | undefined;
    const startTyping = () => {
      if (!sender?.typing) return;
      typing = setInterval(() => void sender.typing!({ agentId, account: item.account, recipient: item.sender }).catch(() => {}), o.typingEveryMs);
      void sender.typing({ agentId, account: item.account, recipient: item.sender }).catch(() => {});
    };
    try {
      // Spoken replies on a channel that sends voice notes are OGG/Opus, the format Telegram and WhatsApp
      // play as a voice note (whether the person spoke or, with voice.reply "always", typed).
      // A message claimed for the first time (attempts counts claims) has nothing stored under its id yet.
      for await (const ev of chat.send({ agent, person, channel: identity.channel, text, sourceId: item.id, firstAttempt: item.attempts === 1, ...(mediaIds ? { mediaIds } : {}), ...(sender?.sendVoice ? { voiceFormat: 'opus' as const } : {}) })) {
        if (ev.type === 'start' && !ev.human) startTyping();
        if (ev.type === 'done') return { text: ev.reply, agentId, messageId: ev.messageId, ...(ev.voice ? { voice: ev.voice } : {}) };
        if (ev.type === 'error') return { text: ev.message || POLITE_FAILURE, agentId };
      }
      return { text: null, agentId };
    } catch (err) {
      if (err instanceof AppError) return { text: err.message, agentId }; // paused, no model: tell the person plainly
      throw err;
    } finally {
      if (typing) clearInterval(typing);
    }
  }

  /** One stored part: text, or a spoken reply read from the media store. */
  async function sendPart(sender: ChannelSender, item: InboxItem, part: { agentId: string | null; recipient: string; text: string }) {
    const mediaId = voicePart(part.text);
    if (mediaId === undefined) return sender.send({ agentId: part.agentId, account: item.account, recipient: part.recipient, text: part.text });
    const m = deps.media ? await deps.media.get(mediaId) : undefined;
    if (!m || !sender.sendVoice) throw new SendError('the spoken reply is no longer stored', false);
    return sender.sendVoice({ agentId: part.agentId, account: item.account, recipient: part.recipient, mediaId: m.id, bytes: await deps.media!.bytes(m), mimeType: m.mimeType });
  }

  /**
   * Sends the stored parts in order. 'retry': wait and try later; 'lost': another worker took the
   * message over (our lease ran out), so leave it alone; 'done': nothing left to send.
   */
  async function sendParts(item: InboxItem, fresh?: { parts: OutboxItem[]; messageId?: string }): Promise<'done' | 'retry' | 'lost'> {
    const sender = deps.senders.get(item.channel);
    // A part whose send started a lease ago and never finished was cut off by a crash: send it again.
    // One whose send started more recently may still be going out from a worker that lost its lease:
    // wait for it to finish or go stale, rather than skip it (a lost reply) or send later parts first.
    // A reply this worker has just stored is sent from what it stored, without reading it back.
    let first = true;
    for (const part of fresh?.parts ?? await store.inbox.pendingParts(item.id, iso(1))) {
      const cut = first && fresh?.messageId; // nothing of this reply has gone out yet
      // The first part of a reply this worker has just stored was claimed as it was stored (saveReply's
      // claimFirst); stored pending instead, a person holds the conversation and the claim below says so.
      const claimed = first && !!fresh && part.status === 'sending';
      first = false;
      if (!claimed && part.status === 'sending' && part.sentAt && part.sentAt >= iso(-o.leaseMs)) {
        await store.inbox.retryLater(item.id, new Date(Date.parse(part.sentAt) + o.leaseMs + 50).toISOString(), 'waiting for a send in progress elsewhere');
        return 'retry';
      }
      if (!sender) {
        await store.inbox.markPart(part.id, { status: 'failed', lastError: `the ${item.channel} channel is not configured` });
        continue;
      }
      if (!claimed && !(await store.inbox.claimPart(part.id, iso(), iso(-o.leaseMs)))) {
        // Refused because a person took the conversation over: the rest is dropped, nothing more is sent.
        // Taken over (in another process) while the answer was generated: nothing of it was sent, and the
        // transcript shows it was cut.
        if (await store.inbox.heldByHuman(item.id)) {
          await store.inbox.dropPending({ inboxId: item.id }, CUT_BY_TAKEOVER);
          if (cut) await store.conversations.markFailed(cut, CUT_BY_TAKEOVER);
          return 'done';
        }
        return 'lost';
      }
      const attempts = part.attempts + 1;
      try {
        const r = await sendPart(sender, item, part);
        await store.inbox.markPart(part.id, { status: 'sent', attempts, providerMessageId: r.providerMessageId, sentAt: iso(), lastError: null });
        if (part.agentId) touchSoon(part.agentId, item.channel, 'lastOutboundAt');
      } catch (err) {
        const e = err instanceof SendError ? err : new SendError((err as Error)?.message ?? String(err), true);
        if (part.agentId) await store.channels.touch(part.agentId, item.channel, { lastError: e.message, lastErrorAt: iso() });
        // A rate limit is the provider asking us to wait, not a failure: it is waited out without using up an attempt.
        const rateLimited = e.retryable && (e.retryAfterMs !== undefined || e.code === 429);
        if (e.retryable && (rateLimited || attempts < o.maxSendAttempts)) {
          await store.inbox.markPart(part.id, { status: 'pending', attempts: rateLimited ? part.attempts : attempts, lastError: e.message });
          const backoff = e.retryAfterMs ?? Math.min(60_000, o.baseBackoffMs * 2 ** (attempts - 1));
          await store.inbox.retryLater(item.id, iso(backoff), e.message);
          log.warn('send failed; will retry', { channel: item.channel, inboxId: item.id, attempt: attempts, retryInMs: backoff, error: e.message });
          deps.onSendFailure?.(item.channel, false);
          return 'retry';
        }
        // Final: mark this part and every later one, so nothing waits forever and the dashboard shows why.
        const status = e.retryable ? 'failed' : 'undelivered';
        await store.inbox.markPart(part.id, { status, attempts, lastError: e.message });
        for (const rest of await store.inbox.pendingParts(item.id)) {
          await store.inbox.markPart(rest.id, { status, lastError: e.message });
        }
        log.warn('send failed for good', { channel: item.channel, inboxId: item.id, status, error: e.message });
        deps.onSendFailure?.(item.channel, true);
        return 'done';
      }
    }
    return 'done';
  }

  /** Renews a message's lease while this process works on it; clearInterval() the result when done. */
  const holdLease = (id: string) => setInterval(() => void store.inbox.extend(id, iso(o.leaseMs)).catch(() => {}), Math.max(200, o.leaseMs / 3));

  /** Messages this process is working on: a lease that ran out under load must not start a second copy here. */
  const inFlight = new Set<string>();

  async function process(item: InboxItem) {
    if (inFlight.has(item.id)) return;
    inFlight.add(item.id);
    const lease = holdLease(item.id);
    let fresh: { parts: OutboxItem[]; messageId?: string } | undefined;
    try {
      if (!item.replyReady) {
        // The agent it went to (a router may have changed it), without reading the row again.
        const { text, agentId, messageId, voice } = await replyText(item);
        if (text === null || !text.trim() || STORED_ONLY.has(item.channel)) {
          await store.inbox.finish(item.id, 'done', iso());
          return;
        }
        const sender = deps.senders.get(item.channel);
        const clean = text.replace(/\uE000/g, ''); // the voice part's marker is ours alone
        const parts = splitMessage(sender?.render ? sender.render(clean) : clean, sender?.maxLength ?? 4096, { format: sender?.format ?? 'markdown' });
        // A spoken reply follows the text as one more part, sent (and retried, and cut by a takeover) like the others.
        if (voice && sender?.sendVoice) parts.push(VOICE_PART + voice.mediaId);
        // A takeover in another process while the answer was generated is seen when its first part is
        // claimed (the claim refuses it): the reply is then marked cut and nothing is sent. The first
        // part is claimed as it is stored (one statement less a reply).
        const stored = await store.inbox.saveReply(item.id, parts.map((t: string) => ({ channel: item.channel, agentId, recipient: item.sender, text: t })), iso(), { claimFirst: true });
        fresh = stored && { parts: stored, ...(messageId ? { messageId } : {}) };
      }
      const sent = await sendParts(item, fresh);
      if (sent === 'done') await store.inbox.finish(item.id, 'done', iso());
    } catch (err) {
      log.error('inbox message failed', { inboxId: item.id, error: err });
      if (item.attempts >= o.maxSendAttempts) await store.inbox.finish(item.id, 'failed', iso(), (err as Error)?.message ?? String(err));
      else await store.inbox.retryLater(item.id, iso(Math.min(60_000, o.baseBackoffMs * 2 ** item.attempts)), (err as Error)?.message ?? String(err));
    } finally {
      clearInterval(lease);
      inFlight.delete(item.id);
    }
  }

  // ---- claiming: one query for several loops ----
  // A loop that needs work claims for the whole pool at once (up to `concurrency` messages, each of a
  // different conversation, in one query and one update); the others take from `ready` without a
  // query. Items wait there leased, never longer than it takes a loop to free up.
  const ready: InboxItem[] = [];
  let claiming: Promise<void> | undefined;
  /** Whether an idle loop is already polling (the others sleep until notified). */
  let polling = false;

  async function nextItem(): Promise<InboxItem | undefined> {
    if (!ready.length) {
      claiming ??= (async () => {
        try {
          ready.push(...await store.inbox.claimMany(iso(), iso(o.leaseMs), iso(-o.settleMs), o.concurrency));
        } catch (err) {
          log.error('inbox claim failed', { error: err });
        } finally {
          claiming = undefined;
        }
      })();
      await claiming;
    }
    const item = ready.shift();
    for (let i = 0; i < ready.length && waiters.size; i++) notify(); // idle loops: there is work
    return item;
  }

  async function loop() {
    while (running) {
      await yieldToIngress();
      if (!running) break;
      const item = await nextItem();
      if (item) {
        await process(item);
        continue;
      }
      // stop() may have come while this loop was claiming: it woke the loops waiting then, not this one,
      // so this one must not start waiting now (a loop without the poller's timer would wait for ever).
      if (!running) break;
      // Idle: one loop polls (for retries coming due and other processes' messages), the rest wait to be woken.
      const poller = !polling;
      if (poller) polling = true;
      await new Promise<void>((resolve) => {
        const done = () => { if (t) clearTimeout(t); waiters.delete(done); resolve(); };
        const t = poller ? setTimeout(done, o.pollMs) : undefined;
        waiters.add(done);
      });
      if (poller) polling = false;
    }
    // Stopping: what this process already claimed is answered, not left leased.
    for (let item = ready.shift(); item; item = ready.shift()) await process(item);
  }

  /**
   * Answers a message within the request that brought it (the web chat streams the reply). The
   * message is recorded in the inbox first, leased to this process while `run` answers it; if the
   * process dies mid-reply, a worker answers it once the lease runs out (chat.send with the same
   * source id neither stores it twice nor pays twice), and the reply appears in the conversation.
   */
  async function* inline<E extends { type: string }>(m: InlineMessage, run: (sourceId: string, firstAttempt: boolean) => AsyncGenerator<E>): AsyncGenerator<E> {
    const { id, duplicate } = await store.inbox.accept({
      channel: m.channel, account: m.agentId, externalId: randomUUID(), threadKey: `${m.channel}:${m.agentId}:${m.sender}`,
      agentId: m.agentId, sender: m.sender, senderName: null, text: m.text, payload: m.mediaIds?.length ? { mediaIds: m.mediaIds } : null,
    }, iso(), iso(o.leaseMs));
    const lease = holdLease(id);
    // Answered once the reply (or the failure) is stored, which is when `done` or `error` comes out,
    // even if the caller stops reading right there.
    let answered = false;
    let refused: string | undefined;
    try {
      // Stored just now under a new id, nothing can be stored under it yet: chat.send need not look it up.
      for await (const ev of run(id, !duplicate)) {
        if (ev.type === 'done' || ev.type === 'error') answered = true;
        yield ev;
      }
    } catch (err) {
      // Refused before anything was stored (paused, no model, bad input): the caller gets the error; nothing to redo.
      answered = true;
      refused = (err as Error)?.message ?? String(err);
      throw err;
    } finally {
      clearInterval(lease);
      // A caller that stopped before the answer leaves the lease to run out: a worker then finishes the reply.
      if (answered) await store.inbox.finish(id, 'done', iso(), refused).catch((err: unknown) => log.error('inbox finish failed', { inboxId: id, error: err }));
    }
  }

  return {
    accept,
    receiving,
    inline,
    notify,
    start() {
      if (running) return;
      running = true;
      for (let i = 0; i < o.concurrency; i++) loops.push(loop());
    },
    async stop() {
      running = false;
      notify(true);
      await Promise.all(loops.splice(0));
    },
    /** Processes until nothing is claimable (tests and the CLI use this). */
    async drain() {
      for (;;) {
        const item = await store.inbox.claim(iso(), iso(o.leaseMs), iso(-o.settleMs));
        if (!item) return;
        await process(item);
      }
    },
  };
}
export type InboxService = ReturnType<typeof inboxService>;
