/**
 * The conversation event bus across processes on PostgreSQL: LISTEN/NOTIFY on one dedicated
 * connection. Subscribers of this process hear an event at once (as with the in-process bus); the
 * other processes hear it through the database's notification, whose payload (at most 8000 bytes)
 * carries the event — or, for a long message, only its ids, and the receiving process loads the
 * message itself. The connection is reopened after an error, with backoff; events published while
 * it is down reach this process's subscribers only (logged).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ChatMessage, Conversation } from '../domain/types.js';
import type { ConversationEvent, EventBus } from '../domain/ports.js';
import { localEventBus } from './events.js';
import type { Logger } from './logger.js';

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
const MAX_PAYLOAD = 7900;

/** What travels in a notification: the event, its origin, and whether the message was left out (too long). */
type Wire = { o: string; e: ConversationEvent; partial?: true };

export type PgEventBusOptions = {
  connectionString: string;
  /** The database schema this installation lives in: its channel is its own (several installs, or test schemas, share a database). */
  schema?: string;
  log?: Logger;
  /** Loads what a notification left out (a long message; the conversation). */
  load: { message(conversationId: string, messageId: string): Promise<ChatMessage | undefined>; conversation(id: string): Promise<Conversation | undefined> };
  /** First and longest wait before reconnecting. */
  retryMs?: number; maxRetryMs?: number;
};

/** The channel name for a schema: an identifier PostgreSQL accepts unquoted (LISTEN takes no parameters). */
export function channelFor(schema?: string) {
  const tail = (schema ?? 'public').toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40);
  return `switchboard_events_${tail}`;
}

/** The connection's application_name: `switchboard-events:<schema>` (PostgreSQL keeps 63 bytes). */
export const applicationName = (schema?: string) => `switchboard-events:${schema ?? 'public'}`.slice(0, 63);

export function pgEventBus(o: PgEventBusOptions): EventBus & { start(): Promise<void>; close(): Promise<void>; connected(): boolean } {
  const local = localEventBus(o.log);
  const origin = randomUUID();
  /** How this process's own notifications begin (`o` is the first field encode writes). */
  const ownPrefix = `{"o":"${origin}"`;
  const channel = channelFor(o.schema);
  const retryMs = o.retryMs ?? 500;
  const maxRetryMs = o.maxRetryMs ?? 30_000;
  let client: pg.Client | undefined;
  let ready = false;
  let closed = false;
  let wait = retryMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let connecting: Promise<void> | undefined;

  /** The event as it travels: the conversation without its long text fields; the message left out when it does not fit. */
  function encode(e: ConversationEvent): string {
    let slim: ConversationEvent = e;
    if (e.type === 'conversation.updated' && e.conversation) slim = { ...e, conversation: { ...e.conversation, runningSummary: null, memoryContext: null } };
    const full = JSON.stringify({ o: origin, e: slim } satisfies Wire);
    if (Buffer.byteLength(full) <= MAX_PAYLOAD) return full;
    const ids: ConversationEvent = e.type === 'message.created'
      ? { ...e, message: { id: e.message.id, conversationId: e.conversationId } as ChatMessage }
      : { type: e.type, agentId: e.agentId, conversationId: e.conversationId };
    return JSON.stringify({ o: origin, e: ids, partial: true } satisfies Wire);
  }

  async function receive(payload: string | undefined) {
    if (!payload || payload.startsWith(ownPrefix)) return; // this process delivered it already (not parsed again)
    let w: Wire;
    try { w = JSON.parse(payload) as Wire; } catch { o.log?.warn('unreadable event notification'); return; }
    let e = w.e;
    if (w.partial) {
      if (e.type === 'message.created') {
        const message = await o.load.message(e.conversationId, e.message.id);
        if (!message) return;
        e = { ...e, message };
      } else {
        e = { ...e, conversation: await o.load.conversation(e.conversationId) };
      }
    }
    local.deliver(e);
  }

  function scheduleReconnect() {
    if (closed || timer) return;
    timer = setTimeout(() => { timer = undefined; void connect(); }, wait);
    timer.unref?.();
    wait = Math.min(wait * 2, maxRetryMs);
  }

  function connect(): Promise<void> {
    if (closed) return Promise.resolve();
    return (connecting ??= (async () => {
      // Named, so an operator (and a test) can tell this connection in pg_stat_activity.
      const c = new pg.Client({ connectionString: o.connectionString, application_name: applicationName(o.schema) });
      const lost = (err?: unknown) => {
        if (client !== c) return;
        client = undefined;
        ready = false;
        if (!closed) o.log?.warn('event bus connection lost; reconnecting', { error: err });
        c.end().catch(() => {});
        scheduleReconnect();
      };
      c.on('error', lost);
      c.on('end', () => lost());
      c.on('notification', (n) => { if (n.channel === channel) receive(n.payload).catch((err) => o.log?.warn('event notification failed', { error: err })); });
      try {
        await c.connect();
        await c.query(`LISTEN ${channel}`);
        if (closed) { await c.end(); return; }
        client = c;
        ready = true;
        wait = retryMs;
      } catch (err) {
        o.log?.warn('event bus could not connect; retrying', { error: err });
        c.end().catch(() => {});
        scheduleReconnect();
      }
    })().finally(() => { connecting = undefined; }));
  }

  // Notifications go out on the listening connection, one query at a time (pg queues overlapping calls
  // itself, but that is deprecated and goes away in pg 9), in the order they were published: what is
  // published while one query is out (or in the same turn) goes in the next, as one `pg_notify` per event
  // over an array — one round trip and one commit for many events (two per stored message) instead of each.
  // PostgreSQL delivers a transaction's notifications in the order they were sent.
  let queue: { payload: string; type: string }[] = [];
  let sending: Promise<unknown> = Promise.resolve();
  let inFlight = false;
  let scheduled = false;
  const MAX_PENDING = 10_000;
  const BATCH = 100;

  function pump() {
    scheduled = false;
    if (inFlight || !queue.length) return;
    const c = client;
    if (!c || !ready) {
      for (const b of queue.splice(0)) o.log?.warn('event not sent to other processes: event bus not connected', { type: b.type });
      return;
    }
    const batch = queue.splice(0, BATCH);
    inFlight = true;
    sending = c.query('select pg_notify($1, p) from unnest($2::text[]) as p', [channel, batch.map((b) => b.payload)])
      .catch((err) => o.log?.warn('event notify failed', { error: err, types: [...new Set(batch.map((b) => b.type))] }))
      .finally(() => { inFlight = false; pump(); });
  }

  return {
    publish(e) {
      local.deliver(e);
      if (!client || !ready) { o.log?.warn('event not sent to other processes: event bus not connected', { type: e.type }); return; }
      if (queue.length >= MAX_PENDING) { o.log?.warn('event not sent to other processes: too many notifications waiting', { type: e.type }); return; }
      queue.push({ payload: encode(e), type: e.type });
      // Events published in the same turn (a message's "created" and its conversation's "updated") go together.
      if (!scheduled) { scheduled = true; queueMicrotask(pump); }
    },
    subscribe: (fn) => local.subscribe(fn),
    // Another process may be listening even when nobody here is.
    listening: () => true,
    start: () => connect(),
    connected: () => ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await connecting;
      // The notifications already published go out first.
      while (inFlight || queue.length) { pump(); await sending; }
      const c = client;
      client = undefined;
      ready = false;
      await c?.end().catch(() => {});
    },
  };
}
