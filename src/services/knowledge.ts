/**
 * An agent's knowledge base (issue 18): sources (an uploaded file, a web page, a whole site), synced by the
 * durable `knowledge_sync` job into documents and chunks, searched with the database's full-text search,
 * and offered to the agent as the `knowledge_search` tool.
 *
 * - Adding a source queues its first sync; a site re-syncs every `syncEveryHours` (default 24; files never)
 *   through a job keyed by the source and its slot, so one sync per source and slot runs however many
 *   processes there are.
 * - A sync re-indexes only documents whose content hash changed, removes vanished pages, and records per
 *   source its status, counts, last sync and what changed.
 * - Every read is scoped to one agent; the agent is checked against the caller (a customer sees only their
 *   own agents'); deleting a source (or the agent) deletes its documents and chunks.
 */
import { z } from 'zod';
import type { Clock, KnowledgeChanges, KnowledgeHit, KnowledgeSource, ModelTool, Store } from '../domain/ports.js';
import type { Actor, Agent } from '../domain/types.js';
import type { SafeFetcher } from '../domain/fetcher.js';
import { FetchRefused } from '../domain/fetcher.js';
import { AppError, errors } from '../domain/errors.js';
import { defineJob, type Job, type JobQueue } from '../jobs/index.js';
import type { Logger } from '../infra/logger.js';
import { canRead, requireWrite } from './access.js';
import { recordAudit } from './audit.js';
import { chunkText, contentHash, extractText, KNOWLEDGE_FILE_TYPES, sniffKnowledgeFile } from './knowledge-text.js';
import { crawl, normalizeUrl } from './knowledge-crawl.js';

export type KnowledgeLimits = {
  /** One uploaded file. */
  fileBytes: number;
  /** All files of one agent. */
  agentBytes: number;
  /** The most pages a site source may have (its maxPages is capped here). */
  maxPages: number;
  /** Polite crawling: delay between one worker's requests, and workers per site. */
  crawlDelayMs: number;
  crawlConcurrency: number;
};
export const DEFAULT_KNOWLEDGE_LIMITS: KnowledgeLimits = { fileBytes: 20 * 1024 * 1024, agentBytes: 100 * 1024 * 1024, maxPages: 1000, crawlDelayMs: 500, crawlConcurrency: 2 };

const SyncPayload = z.object({ sourceId: z.string().min(1).max(100), slot: z.string().max(40).optional() });
const MAX_SKIPPED = 50;

export type SourceView = {
  id: string; type: KnowledgeSource['type']; title: string; url?: string; status: KnowledgeSource['status']; pages: number; chunks: number;
  lastSyncedAt: string | null; error?: string; nextSyncAt: string | null; syncEveryHours: number; maxPages: number; bytes: number;
  changes: KnowledgeChanges | null; createdAt: string;
};
const view = (s: KnowledgeSource): SourceView => ({
  id: s.id, type: s.type, title: s.title, ...(s.url ? { url: s.url } : {}), status: s.status, pages: s.pages, chunks: s.chunks, lastSyncedAt: s.lastSyncedAt,
  ...(s.error ? { error: s.error } : {}), nextSyncAt: s.nextSyncAt, syncEveryHours: s.syncEveryHours, maxPages: s.maxPages, bytes: s.bytes, changes: s.changes, createdAt: s.createdAt,
});

export function knowledgeService(deps: { store: Store; queue: JobQueue; fetcher: SafeFetcher; clock: Clock; log: Logger; limits?: Partial<KnowledgeLimits> }) {
  const { store, queue, fetcher, clock, log } = deps;
  const limits = { ...DEFAULT_KNOWLEDGE_LIMITS, ...deps.limits };

  async function agentFor(actor: Actor, agentId: string, write = false): Promise<Agent> {
    const a = await store.agents.byId(agentId);
    if (!a || !canRead(actor, a) || (write && a.status === 'deleted')) throw errors.notFound('Agent');
    if (write) requireWrite(actor, a);
    return a;
  }
  async function sourceFor(actor: Actor, agentId: string, sourceId: string, write = false) {
    const agent = await agentFor(actor, agentId, write);
    const s = await store.knowledge.source(agent.id, sourceId);
    if (!s) throw errors.notFound('Knowledge source');
    return { agent, source: s };
  }

  const syncJob = defineJob({
    name: 'knowledge_sync',
    schema: SyncPayload,
    retry: { limit: 2, delaySeconds: 30 },
    concurrency: 2,
    perform: (job: Job<z.infer<typeof SyncPayload>>) => sync(job.data.sourceId, job.data.slot),
    onFinalFailure: async (job, error) => {
      await store.knowledge.updateSource(job.data.sourceId, { status: 'failed', error: String((error as Error)?.message ?? error).slice(0, 500) });
    },
  });

  async function enqueue(sourceId: string, slot?: string, startAfter?: Date) {
    await queue.send(syncJob, { sourceId, ...(slot ? { slot } : {}) }, { singletonKey: `${sourceId}:${slot ?? 'now'}`, ...(startAfter ? { startAfter } : {}) });
  }

  /** Indexes what a source holds now; idempotent (a re-run finds the hashes unchanged). */
  async function sync(sourceId: string, slot?: string): Promise<void> {
    const source = await store.knowledge.sourceById(sourceId);
    if (!source) return; // deleted meanwhile
    if (slot && source.nextSyncAt !== slot) return; // a scheduled run superseded by a later schedule
    await store.knowledge.updateSource(source.id, { status: 'syncing', error: null });
    let docs: { url: string; title: string; text: string }[];
    let skipped: KnowledgeChanges['skipped'] = [];
    try {
      if (source.type === 'file') {
        const text = (await store.knowledge.fileText(source.id)) ?? '';
        docs = [{ url: `file:${source.id}`, title: source.title, text }];
      } else {
        const r = await crawl(fetcher, source.url!, source.type, { maxPages: source.maxPages, delayMs: limits.crawlDelayMs, concurrency: limits.crawlConcurrency });
        docs = r.pages;
        skipped = r.skipped.slice(0, MAX_SKIPPED);
        if (!docs.length) {
          throw new Error(r.skipped[0] ? `No page could be read: ${r.skipped[0].url}: ${r.skipped[0].reason}` : 'No page could be read.');
        }
      }
    } catch (err) {
      const message = err instanceof FetchRefused || err instanceof Error ? err.message : String(err);
      await store.knowledge.updateSource(source.id, { status: 'failed', error: message.slice(0, 500), changes: { added: 0, updated: 0, removed: 0, unchanged: 0, skipped } });
      await schedule(source);
      return; // a source that cannot be read is a result, not a job failure (retrying would read it again anyway on schedule)
    }
    const before = new Map((await store.knowledge.documents(source.id)).map((d) => [d.url, d]));
    const changes: KnowledgeChanges = { added: 0, updated: 0, removed: 0, unchanged: 0, skipped };
    const seen = new Set<string>();
    for (const d of docs) {
      if (seen.has(d.url)) continue;
      seen.add(d.url);
      const hash = contentHash(`${d.title}\n${d.text}`);
      const old = before.get(d.url);
      if (old && old.contentHash === hash) { changes.unchanged++; continue; }
      const url = source.type === 'file' ? null : d.url;
      await store.knowledge.putDocument({ sourceId: source.id, agentId: source.agentId, url: d.url, title: d.title, contentHash: hash, chunks: chunkText(d.text, { title: d.title, url }) });
      if (old) changes.updated++; else changes.added++;
    }
    for (const url of before.keys()) {
      if (seen.has(url)) continue;
      await store.knowledge.deleteDocument(source.id, url);
      changes.removed++;
    }
    const after = await store.knowledge.documents(source.id);
    await store.knowledge.updateSource(source.id, {
      status: 'ready', error: null, pages: after.length, chunks: after.reduce((n, d) => n + d.chunks, 0), changes, lastSyncedAt: clock.now().toISOString(),
      ...(source.type !== 'file' && docs[0] && source.type === 'url' ? { title: docs[0].title.slice(0, 300) } : {}),
    });
    log.info('knowledge source synced', { sourceId: source.id, agentId: source.agentId, ...changes, skipped: skipped.length });
    await schedule(source);
  }

  /** The next scheduled sync (sites and pages with syncEveryHours > 0), as a slot-keyed job. */
  async function schedule(source: KnowledgeSource) {
    if (source.type === 'file' || source.syncEveryHours <= 0) return;
    const at = new Date(clock.now().getTime() + source.syncEveryHours * 3_600_000);
    const slot = at.toISOString();
    await store.knowledge.updateSource(source.id, { nextSyncAt: slot });
    await enqueue(source.id, slot, at);
  }

  async function checkUrl(raw: string): Promise<string> {
    const url = normalizeUrl(raw);
    if (!url) throw errors.validation([{ path: 'url', message: 'must be an http(s) URL' }]);
    try { await fetcher.vet(url); } catch (err) {
      if (err instanceof FetchRefused && err.kind !== 'dns') throw errors.validation([{ path: 'url', message: err.message }]);
      // A name that does not resolve now may later; the sync says so.
    }
    return url;
  }

  return {
    jobs: [syncJob],
    limits,

    async list(actor: Actor, agentId: string) {
      const agent = await agentFor(actor, agentId);
      return (await store.knowledge.list(agent.id)).map(view);
    },

    async addUrl(actor: Actor, agentId: string, input: { type: 'url' | 'site'; url: string; maxPages?: number; syncEveryHours?: number }) {
      const agent = await agentFor(actor, agentId, true);
      const url = await checkUrl(input.url);
      if (input.maxPages !== undefined && input.maxPages > limits.maxPages) throw errors.validation([{ path: 'maxPages', message: `at most ${limits.maxPages} pages on this installation` }]);
      const maxPages = input.type === 'url' ? 1 : input.maxPages ?? Math.min(200, limits.maxPages);
      const syncEveryHours = input.syncEveryHours ?? (input.type === 'site' ? 24 : 0);
      const source = await store.transaction(async (tx) => {
        const s = await tx.knowledge.createSource({ agentId: agent.id, type: input.type, title: url, url, maxPages, syncEveryHours });
        await recordAudit(tx, actor, 'knowledge.source_added', { type: 'knowledge_source', id: s.id }, { agentId: agent.id, sourceType: input.type, url, maxPages, syncEveryHours });
        return s;
      });
      await enqueue(source.id);
      return { id: source.id, status: source.status };
    },

    async addFile(actor: Actor, agentId: string, input: { bytes: Uint8Array; claimedType: string | undefined; filename: string }) {
      const agent = await agentFor(actor, agentId, true);
      const filename = input.filename.replace(/[\u0000-\u001f]/g, '').trim().slice(0, 200);
      if (!filename) throw errors.validation([{ path: 'X-Filename', message: 'the X-Filename header (the file name) is required' }]);
      if (input.bytes.length === 0) throw errors.validation([{ path: 'body', message: 'the file is empty' }]);
      if (input.bytes.length > limits.fileBytes) throw new AppError(413, 'media_too_large', `A knowledge file may be at most ${Math.round(limits.fileBytes / 1048576)} MB.`);
      const used = await store.knowledge.fileBytes(agent.id);
      if (used + input.bytes.length > limits.agentBytes) throw new AppError(413, 'media_too_large', `This agent's knowledge files may total at most ${Math.round(limits.agentBytes / 1048576)} MB; delete some first.`);
      const kind = await sniffKnowledgeFile(input.bytes, input.claimedType, filename);
      const { title, text } = await extractText(kind, input.bytes, filename);
      if (!text.trim()) throw errors.validation([{ path: 'body', message: 'no text could be read from the file' }]);
      const source = await store.transaction(async (tx) => {
        const s = await tx.knowledge.createSource({ agentId: agent.id, type: 'file', title: title.slice(0, 300) || filename, url: null, maxPages: 1, syncEveryHours: 0, fileText: text, mimeType: KNOWLEDGE_FILE_TYPES[kind], bytes: input.bytes.length });
        await recordAudit(tx, actor, 'knowledge.source_added', { type: 'knowledge_source', id: s.id }, { agentId: agent.id, sourceType: 'file', filename, mimeType: KNOWLEDGE_FILE_TYPES[kind], bytes: input.bytes.length });
        return s;
      });
      await enqueue(source.id);
      return { id: source.id, status: source.status };
    },

    async syncNow(actor: Actor, agentId: string, sourceId: string) {
      const { source } = await sourceFor(actor, agentId, sourceId, true);
      await store.transaction(async (tx) => {
        await tx.knowledge.updateSource(source.id, { status: 'queued' });
        await recordAudit(tx, actor, 'knowledge.sync_requested', { type: 'knowledge_source', id: source.id }, { agentId: source.agentId });
      });
      await enqueue(source.id);
      return { id: source.id, status: 'queued' as const };
    },

    async remove(actor: Actor, agentId: string, sourceId: string) {
      const { source } = await sourceFor(actor, agentId, sourceId, true);
      await store.transaction(async (tx) => {
        await tx.knowledge.deleteSource(source.agentId, source.id);
        await recordAudit(tx, actor, 'knowledge.source_deleted', { type: 'knowledge_source', id: source.id }, { agentId: source.agentId, sourceType: source.type, title: source.title.slice(0, 200) });
      });
    },

    async search(actor: Actor, agentId: string, q: string, limit = 5) {
      const agent = await agentFor(actor, agentId);
      if (!q.trim()) throw errors.validation([{ path: 'q', message: 'the search text is required' }]);
      return { mode: 'fts' as const, results: (await store.knowledge.search(agent.id, q, limit)).map(present) };
    },

    /** Whether the agent has any source (the system prompt mentions the knowledge base only then). */
    async has(agentId: string) {
      return (await store.knowledge.list(agentId)).length > 0;
    },

    /** The `knowledge_search` tool bound to one agent: its own chunks only. */
    tool(agent: Agent): ModelTool {
      return {
        name: 'knowledge_search',
        description: "Search this agent's knowledge base (uploaded documents and synced web pages). Returns the best passages with their titles and URLs; cite the URL (or title) of what you use.",
        input: z.object({ query: z.string().min(1).max(500).describe('What to look for, in a few words') }),
        async execute({ query }: { query: string }) {
          const hits = await store.knowledge.search(agent.id, query, 5);
          if (!hits.length) return 'No passage in the knowledge base matches that.';
          return hits.map((h, i) => `[${i + 1}] ${h.title}${h.heading ? ` › ${h.heading}` : ''}${h.url ? `\nURL: ${h.url}` : ''}\n${h.text.slice(0, 1500)}`).join('\n\n---\n\n');
        },
      };
    },
  };
}

const present = (h: KnowledgeHit) => ({ sourceId: h.sourceId, title: h.heading ? `${h.title} › ${h.heading}` : h.title, ...(h.url ? { url: h.url } : {}), text: h.text, score: h.score });

export type KnowledgeService = ReturnType<typeof knowledgeService>;
