/**
 * Media: the voice notes and images people send, kept once and safely (issue 16).
 *
 * - **Intake** sniffs what the bytes are (file-type; the Content-Type a client claims is never
 *   believed), accepts only the listed audio and image formats, checks the limits (audio 25 MB and
 *   10 minutes, read with music-metadata; images 10 MB, their size read with sharp), then stores the
 *   bytes (MediaStorage, content-addressed) and the record (MediaRepo). A refusal stores nothing.
 * - **Access**: a file is served to whoever may see its conversation — operators, the customer who
 *   owns the agent — and to the visitor (cookie) or API caller who sent it; to anyone else it does not exist.
 *   A peer that cannot sign in (Twilio fetching a spoken reply's `MediaUrl`) gets a **signed link**:
 *   `/api/media/:id?exp=…&sig=…`, an HMAC of that one id and its expiry (unix seconds) keyed by the
 *   instance secret, good for an hour; a wrong or expired signature is refused with 403.
 * - **For a model**, an image larger than 4096×4096 is downscaled to fit and a GIF gives its first frame.
 * - **Retention**: every record expires after SWITCHBOARD_MEDIA_RETENTION_DAYS; the durable
 *   `media_retention` job deletes expired records and their files, hourly.
 * - **Erasure**: deleting a person's data or purging an agent deletes their records in that
 *   transaction (MediaRepo.eraseByPerson / eraseByAgent) and, after commit, the files no record
 *   refers to any more (`dropFiles`).
 *
 * sharp, music-metadata and file-type load with the first upload, not at start.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Clock, IdGenerator, MediaStorage, Store } from '../domain/ports.js';
import type { Actor, MediaItem, MediaKind } from '../domain/types.js';
import { AppError, errors } from '../domain/errors.js';
import { defineJob, type JobQueue } from '../jobs/index.js';
import { sha256 } from '../infra/system.js';
import type { Logger } from '../infra/logger.js';
import type { Metering, ModelGateway } from '../llm/model-gateway.js';
import { authorize, canSeeAllAgents } from './access.js';
import { findPublicAgent } from './conversations.js';

export const MEDIA_LIMITS = {
  audioBytes: 25 * 1024 * 1024,
  audioSeconds: 600,
  imageBytes: 10 * 1024 * 1024,
  /** The longest side an image may have when it is sent to a model; larger ones are downscaled to fit. */
  modelImageSide: 4096,
  /**
   * The most an image sent to a model may weigh: Anthropic's Messages API refuses a base64 image over
   * 5 MB (OpenAI takes 20 MB), so a heavier one is re-encoded as JPEG, smaller until it fits.
   */
  modelImageBytes: 5 * 1024 * 1024,
} as const;
/** A recording whose length cannot be read is bounded by its size at this rate (128 kbit/s, above what browsers record voice at). */
const WEBM_BYTES_PER_SECOND = 16_000;
/** The most an upload route reads before refusing (the largest kind's limit). */
export const UPLOAD_MAX_BYTES = Math.max(MEDIA_LIMITS.audioBytes, MEDIA_LIMITS.imageBytes);

/** What file-type may say about the bytes → the kind and the MIME type we store and serve. */
const ALLOWED: Record<string, { kind: MediaKind; mimeType: string; maybeVideo?: boolean }> = {
  opus: { kind: 'audio', mimeType: 'audio/ogg' },
  ogg: { kind: 'audio', mimeType: 'audio/ogg' },
  oga: { kind: 'audio', mimeType: 'audio/ogg' },
  webm: { kind: 'audio', mimeType: 'audio/webm', maybeVideo: true },
  mp3: { kind: 'audio', mimeType: 'audio/mpeg' },
  m4a: { kind: 'audio', mimeType: 'audio/mp4' },
  mp4: { kind: 'audio', mimeType: 'audio/mp4', maybeVideo: true },
  wav: { kind: 'audio', mimeType: 'audio/wav' },
  jpg: { kind: 'image', mimeType: 'image/jpeg' },
  png: { kind: 'image', mimeType: 'image/png' },
  webp: { kind: 'image', mimeType: 'image/webp' },
  gif: { kind: 'image', mimeType: 'image/gif' },
};
/** How long a signed media link works (Twilio fetches a MediaUrl within seconds of the send). */
export const MEDIA_LINK_TTL_MS = 3_600_000;

const ALLOWED_TEXT = 'audio (OGG/Opus, WebM, MP3, M4A/MP4, WAV) or an image (JPEG, PNG, WebP, GIF)';
const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;

export const tooLarge = (message: string) => new AppError(413, 'media_too_large', message);
const unsupported = (message = `This file type is not supported; send ${ALLOWED_TEXT}.`) => new AppError(415, 'unsupported_media', message);

type Sharp = typeof import('sharp')['default'];
let sharpModule: Promise<Sharp> | undefined;
/** sharp (libvips) loads with the first image, not at start. */
const loadSharp = () => (sharpModule ??= import('sharp').then((m) => m.default));

/** What the bytes are, by their content; undefined when they are none of the allowed formats. */
export async function sniffMedia(bytes: Uint8Array): Promise<{ kind: MediaKind; mimeType: string; maybeVideo: boolean } | undefined> {
  const { fileTypeFromBuffer } = await import('file-type');
  const t = await fileTypeFromBuffer(bytes);
  const a = t && ALLOWED[t.ext];
  return a ? { kind: a.kind, mimeType: a.mimeType, maybeVideo: !!a.maybeVideo } : undefined;
}

export type MediaView = { mediaId: string; kind: MediaKind; mimeType: string; transcript?: string };
/** How a message's media is shown in a transcript (`GET /api/conversations/:id`). */
export const mediaView = (m: MediaItem): MediaView => ({ mediaId: m.id, kind: m.kind, mimeType: m.mimeType, ...(m.transcript !== null ? { transcript: m.transcript } : {}) });

/** Who is asking for a file: a signed-in actor, and/or the visitor id of the browser's cookie. */
export type MediaViewer = { actor?: Actor; visitorId?: string };

export function mediaService(deps: {
  store: Pick<Store, 'media' | 'agents' | 'people'>;
  storage: MediaStorage;
  clock: Clock;
  ids: IdGenerator;
  queue: Pick<JobQueue, 'send'>;
  log: Logger;
  /** SWITCHBOARD_MEDIA_RETENTION_DAYS */
  retentionDays: number;
  /** How often the retention job runs (default hourly). */
  sweepEveryMs?: number;
  /** Speech to text, metered (for `transcribe`). */
  gateway?: Pick<ModelGateway, 'transcribe' | 'canTranscribe'>;
  /** The key signed media links are made with (derived from the instance secret); without it there are none. */
  linkKey?: Buffer;
}) {
  const { store, storage, clock, ids, log } = deps;
  const sweepEveryMs = deps.sweepEveryMs ?? 3_600_000;

  /** Deletes the files of erased records that no remaining record refers to (the same bytes may belong to someone else too). */
  async function dropFiles(keys: string[]): Promise<number> {
    let dropped = 0;
    for (const key of new Set(keys)) {
      try {
        if (await store.media.isReferenced(key)) continue;
        await storage.delete(key);
        dropped++;
      } catch (err) {
        // The record is gone already; a file left behind is found again by nothing, so say so loudly.
        log.error('could not delete a media file', { error: (err as Error).message });
      }
    }
    return dropped;
  }

  /** Deletes expired records (in batches) and then their unreferenced files; answers how many records went. */
  async function sweepExpired(): Promise<number> {
    const now = clock.now().toISOString();
    let total = 0;
    for (;;) {
      const keys = await store.media.eraseExpired(now, 500);
      if (!keys.length) break;
      total += keys.length;
      await dropFiles(keys);
      if (keys.length < 500) break;
    }
    if (total) log.info('expired media deleted', { records: total });
    return total;
  }

  const hourKey = (at: Date) => `media_retention:${at.toISOString().slice(0, 13)}`;
  const retentionJob = defineJob({
    name: 'media_retention',
    schema: z.object({}),
    retry: { limit: 3 },
    concurrency: 1,
    async perform() {
      await sweepExpired();
      // The next run; one per hour slot across processes (the singleton key names the slot).
      const next = new Date(clock.now().getTime() + sweepEveryMs);
      await deps.queue.send(retentionJob, {}, { singletonKey: hourKey(next), startAfter: next });
    },
  });

  /** Checks and stores one file for an agent and a person; throws 413/415 (storing nothing) when it is refused. */
  async function intake(m: { bytes: Uint8Array; claimedType?: string | null; agentId: string; personId: string; conversationId?: string | null }): Promise<MediaItem> {
    const { bytes } = m;
    if (bytes.length > UPLOAD_MAX_BYTES) throw tooLarge(`The file is ${mb(bytes.length)}; audio may be at most ${mb(MEDIA_LIMITS.audioBytes)} and images ${mb(MEDIA_LIMITS.imageBytes)}.`);
    if (!bytes.length) throw unsupported('The file is empty.');
    const sniffed = await sniffMedia(bytes);
    if (!sniffed) throw unsupported();
    let durationSeconds: number | null = null;
    let width: number | null = null;
    let height: number | null = null;
    if (sniffed.kind === 'audio') {
      if (bytes.length > MEDIA_LIMITS.audioBytes) throw tooLarge(`Audio may be at most ${mb(MEDIA_LIMITS.audioBytes)}.`);
      const { parseBuffer } = await import('music-metadata');
      let format: Awaited<ReturnType<typeof parseBuffer>>['format'] | undefined;
      try {
        format = (await parseBuffer(bytes, { mimeType: sniffed.mimeType, size: bytes.length }, { duration: true, skipCovers: true })).format;
      } catch {
        // A browser's MediaRecorder writes WebM as a live stream (elements of unknown size), which the
        // parser cannot walk: the bytes are WebM all the same (sniffed above), so the recording is kept
        // with its length unknown — bounded instead by its size at a generous 128 kbit/s.
        if (sniffed.mimeType !== 'audio/webm') throw unsupported('The audio could not be read; send OGG/Opus, WebM, MP3, M4A/MP4 or WAV.');
        if (bytes.length > MEDIA_LIMITS.audioSeconds * WEBM_BYTES_PER_SECOND) throw tooLarge(`Audio may be at most ${MEDIA_LIMITS.audioSeconds / 60} minutes long.`);
      }
      if (sniffed.maybeVideo && format?.hasVideo) throw unsupported(`Video is not supported; send ${ALLOWED_TEXT}.`);
      if (typeof format?.duration === 'number' && Number.isFinite(format.duration)) {
        durationSeconds = Math.round(format.duration * 1000) / 1000;
        if (durationSeconds > MEDIA_LIMITS.audioSeconds) throw tooLarge(`Audio may be at most ${MEDIA_LIMITS.audioSeconds / 60} minutes long; this is ${Math.ceil(durationSeconds / 60)} minutes.`);
      }
    } else {
      if (bytes.length > MEDIA_LIMITS.imageBytes) throw tooLarge(`Images may be at most ${mb(MEDIA_LIMITS.imageBytes)}.`);
      const sharp = await loadSharp();
      try {
        const meta = await sharp(bytes, { limitInputPixels: 268_402_689 }).metadata();
        width = meta.width ?? null;
        height = meta.pageHeight ?? meta.height ?? null;
      } catch {
        throw unsupported('The image could not be read; send a JPEG, PNG, WebP or GIF.');
      }
    }
    const storageKey = await storage.put(bytes);
    const now = clock.now();
    try {
      return await store.media.insert({
        id: ids.id(), agentId: m.agentId, personId: m.personId, conversationId: m.conversationId ?? null, messageId: null,
        kind: sniffed.kind, mimeType: sniffed.mimeType, bytes: bytes.length, storageKey, sha256: sha256(bytes),
        durationSeconds, width, height, transcript: null,
        expiresAt: new Date(now.getTime() + deps.retentionDays * 86_400_000).toISOString(),
      });
    } catch (err) {
      await dropFiles([storageKey]); // no record, no file (unless another record shares the bytes)
      throw err;
    }
  }

  /** The record, if this viewer may see it; otherwise 404 (its existence is not revealed). */
  async function visible(viewer: MediaViewer, mediaId: string): Promise<MediaItem> {
    const item = await store.media.byId(mediaId);
    if (item) {
      const { actor, visitorId } = viewer;
      if (actor) {
        if (canSeeAllAgents(actor)) return item;
        const agent = await store.agents.byId(item.agentId);
        if (agent && agent.ownerId === actor.user.id) return item;
        const person = await store.people.byId(item.personId);
        if (person?.kind === 'api' && person.externalId === `user:${actor.user.id}`) return item;
      }
      if (visitorId) {
        const person = await store.people.byId(item.personId);
        if (person?.kind === 'web' && person.externalId === visitorId) return item;
      }
    }
    throw errors.notFound('Media');
  }

  const linkSig = (key: Buffer, mediaId: string, exp: number) =>
    createHmac('sha256', key).update(`media link v1\n${mediaId}\n${exp}`).digest().subarray(0, 24).toString('base64url');

  /** The record a signed link names, if its signature is ours and it has not expired; 403 otherwise, 404 when the file is gone. */
  async function viaLink(mediaId: string, link: { exp: string; sig: string }): Promise<MediaItem> {
    const refused = () => new AppError(403, 'forbidden', 'This media link is not valid or has expired.');
    const exp = /^\d{1,12}$/.test(link.exp) ? Number(link.exp) : NaN;
    if (!deps.linkKey || !Number.isFinite(exp)) throw refused();
    const want = Buffer.from(linkSig(deps.linkKey, mediaId, exp));
    const got = Buffer.from(link.sig);
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw refused();
    if (exp * 1000 <= clock.now().getTime()) throw refused();
    const item = await store.media.byId(mediaId);
    if (!item) throw errors.notFound('Media');
    return item;
  }

  async function bytesOf(item: MediaItem): Promise<Uint8Array> {
    const b = await storage.get(item.storageKey);
    if (!b) throw errors.notFound('Media');
    return b;
  }

  return {
    jobs: [retentionJob],
    intake,
    dropFiles,
    sweepExpired,

    /** Queues the first retention run (at start; once per hour slot across processes). */
    async scheduleRetention(): Promise<void> {
      await deps.queue.send(retentionJob, {}, { singletonKey: hourKey(clock.now()) });
    },

    /** An upload through the API (session or key): the person is `userId`, or the caller (as the message API names them). */
    async uploadForAgent(actor: Actor, agentId: string, input: { bytes: Uint8Array; claimedType?: string | null; userId?: string }) {
      const agent = await store.agents.byId(agentId);
      if (!agent || agent.status === 'deleted') throw errors.notFound('Agent');
      authorize(actor, 'agent.message', agent);
      const person = await store.people.upsert('api', input.userId ?? `user:${actor.user.id}`);
      return intake({ bytes: input.bytes, claimedType: input.claimedType, agentId: agent.id, personId: person.id });
    },

    /**
     * An upload from a visitor of a public agent's chat (the agent as the public pages find it; the visitor
     * resolved only once the agent is found, since resolving may start a cookie and count the request).
     */
    async uploadForVisitor(actor: Actor | undefined, slug: string, visitor: () => { kind: string; externalId: string }, input: { bytes: Uint8Array; claimedType?: string | null }) {
      const agent = await findPublicAgent(store, actor, slug);
      const v = visitor();
      const person = await store.people.upsert(v.kind, v.externalId);
      return intake({ bytes: input.bytes, claimedType: input.claimedType, agentId: agent.id, personId: person.id });
    },

    /** The file and its record, for GET /api/media/:id: by a signed link when one is given, else to whoever may see it. */
    async open(viewer: MediaViewer, mediaId: string, link?: { exp: string; sig: string }): Promise<{ item: MediaItem; bytes: Uint8Array }> {
      const item = link ? await viaLink(mediaId, link) : await visible(viewer, mediaId);
      return { item, bytes: await bytesOf(item) };
    },

    /**
     * A path that serves this one file to anyone holding it until it expires (`ttlMs`, an hour by
     * default): `/api/media/:id?exp=<unix s>&sig=<hmac>`. Undefined without a link key.
     */
    signedPath(mediaId: string, ttlMs: number = MEDIA_LINK_TTL_MS): string | undefined {
      if (!deps.linkKey) return undefined;
      const exp = Math.floor((clock.now().getTime() + ttlMs) / 1000);
      return `/api/media/${encodeURIComponent(mediaId)}?exp=${exp}&sig=${linkSig(deps.linkKey, mediaId, exp)}`;
    },

    /** A record by id (no access check: for services that already know the caller may use it). */
    get: (mediaId: string) => store.media.byId(mediaId),
    /** The stored bytes of a record. */
    bytes: bytesOf,

    /**
     * What a model is sent: audio as stored; an image downscaled to fit 4096×4096 when larger, a
     * GIF's first frame (as PNG), and anything still over 5 MB re-encoded as JPEG until it fits.
     */
    async forModel(mediaId: string): Promise<{ bytes: Uint8Array; mimeType: string; kind: MediaKind }> {
      const item = await store.media.byId(mediaId);
      if (!item) throw errors.notFound('Media');
      const bytes = await bytesOf(item);
      if (item.kind === 'audio') return { bytes, mimeType: item.mimeType, kind: 'audio' };
      const side = MEDIA_LIMITS.modelImageSide;
      const big = (item.width ?? 0) > side || (item.height ?? 0) > side;
      const gif = item.mimeType === 'image/gif';
      let sent = { bytes, mimeType: item.mimeType };
      const sharp = big || gif || bytes.length > MEDIA_LIMITS.modelImageBytes ? await loadSharp() : undefined;
      const fitted = (fit: number) => sharp!(bytes, { pages: 1, limitInputPixels: 268_402_689 }).resize(fit, fit, { fit: 'inside', withoutEnlargement: true });
      if (big || gif) {
        const img = fitted(side);
        const out = gif || item.mimeType === 'image/png' ? { mimeType: 'image/png', img: img.png() }
          : item.mimeType === 'image/webp' ? { mimeType: 'image/webp', img: img.webp() } : { mimeType: 'image/jpeg', img: img.jpeg({ quality: 90 }) };
        sent = { bytes: new Uint8Array(await out.img.toBuffer()), mimeType: out.mimeType };
      }
      if (sent.bytes.length <= MEDIA_LIMITS.modelImageBytes) return { ...sent, kind: 'image' };
      // Too heavy for a provider (a detailed PNG, a noisy photo): JPEG (transparency on white), its side
      // halved until it fits; a model sees no more detail than ~1,600 pixels a side anyway.
      for (let fit: number = side; ; fit = Math.floor(fit / 2)) {
        const jpeg = await fitted(fit).flatten({ background: '#ffffff' }).jpeg({ quality: 85 }).toBuffer();
        if (jpeg.length <= MEDIA_LIMITS.modelImageBytes || fit <= 256) return { bytes: new Uint8Array(jpeg), mimeType: 'image/jpeg', kind: 'image' };
      }
    },

    /** Ties uploaded media to the message that carries it (and its conversation). */
    async attach(mediaIds: string[], to: { conversationId: string; messageId: string }) {
      for (const id of mediaIds) await store.media.update(id, to);
    },
    /**
     * What an audio file says, through the metered gateway (purpose `transcription`, booked to the
     * agent and person of `m`), kept on the record. Throws BudgetStop, or ProviderError
     * (`not_configured` without SWITCHBOARD_STT_MODEL: check `canTranscribe()` first to answer politely).
     */
    async transcribe(mediaId: string, m: Omit<Metering, 'purpose'>): Promise<string> {
      if (!deps.gateway) throw new Error('media service built without a gateway');
      const item = await store.media.byId(mediaId);
      if (!item || item.kind !== 'audio') throw errors.notFound('Audio');
      if (item.transcript !== null) return item.transcript; // heard once; a retried delivery does not pay again
      const audio = await bytesOf(item);
      const r = await deps.gateway.transcribe({ ...m, audio, mimeType: item.mimeType, durationSeconds: item.durationSeconds });
      await store.media.update(item.id, { transcript: r.text });
      return r.text;
    },
    canTranscribe: () => !!deps.gateway?.canTranscribe(),
    /** Keeps what was heard in an audio file. */
    setTranscript: (mediaId: string, transcript: string) => store.media.update(mediaId, { transcript }),
    /** The media of these messages, by message id, as transcripts show them. */
    async forMessages(messageIds: string[]): Promise<Map<string, MediaView[]>> {
      const out = new Map<string, MediaView[]>();
      for (const m of await store.media.forMessages(messageIds)) {
        const list = out.get(m.messageId!) ?? [];
        list.push(mediaView(m));
        out.set(m.messageId!, list);
      }
      return out;
    },
  };
}
export type MediaService = ReturnType<typeof mediaService>;

