/**
 * An agent's knowledge base (issue 18): sources (an uploaded file, a web page, a whole site), synced by the
 * durable `knowledge_sync` job into documents and chunks, searched with the database's full-text search,
 * and offered to the agent as the `knowledge_search` tool.
 *
 * - With an embedding model configured, the sync also embeds every new or changed chunk (purpose `embedding`,
 *   admitted, reserved and recorded by the gateway; a spent budget or a failing provider leaves the rest to
 *   the next sync, and search falls back to full text), and search is hybrid: the full-text and the vector
 *   rankings fused by reciprocal rank. Vectors are found by sqlite-vec where it loads, else by an exact scan.
 * - `knowledge.autoContext` (agent setting) puts the best passages for the person's message into the prompt.
 * - A customer's plan caps sources per agent, pages per site and file bytes per agent.
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
import type { Clock, KnowledgeChanges, KnowledgeHit, KnowledgeSource, KnowledgeVectorIndex, ModelTool, Store } from '../domain/ports.js';
import type { Actor, Agent } from '../domain/types.js';
import type { SafeFetcher } from '../domain/fetcher.js';
import { FetchRefused } from '../domain/fetcher.js';
import { AppError, errors } from '../domain/errors.js';
import { estimateTokens } from './prompt.js';
import { defineJob, type Job, type JobQueue } from '../jobs/index.js';
import type { Logger } from '../infra/logger.js';
import { canRead, requireWrite } from './access.js';
import { recordAudit } from './audit.js';
import { chunkText, contentHash, extractText, KNOWLEDGE_FILE_TYPES, sniffKnowledgeFile } from './knowledge-text.js';
import { crawl, normalizeUrl } from './knowledge-crawl.js';
import { agentIdMemo } from './agent-memo.js';

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

/** What a customer's plan allows (null: no cap). */
export type KnowledgeCaps = { maxKnowledgeSources: number | null; maxKnowledgePages: number | null; maxKnowledgeBytes: number | null };
/** Embeddings through the metered gateway (`embed` admits, reserves and records; it throws BudgetStop or ProviderError). */
export type KnowledgeEmbedder = { model: string; embed: (agent: Agent, texts: string[]) => Promise<number[][]> };
export type SearchMode = 'fulltext' | 'hybrid';

/** Chunks embedded per call, and how many candidates each ranking offers the fusion. */
const EMBED_BATCH = 64;
const CANDIDATES = 50;
/** Reciprocal rank fusion's constant (Cormack et al.): a document's score is Σ 1 / (k + rank). */
const RRF_K = 60;
/** What autoContext may add to the prompt. */
export const AUTO_CONTEXT_TOKENS = 1500;

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

export function knowledgeService(deps: { store: Store; queue: JobQueue; fetcher: SafeFetcher; clock: Clock; log: Logger; limits?: Partial<KnowledgeLimits>;
  /** Set when an embedding model is configured (SWITCHBOARD_EMBEDDING_MODEL). */
  embedder?: KnowledgeEmbedder;
  /** The caps of the plan of the agent's owner (null: none, e.g. the operator). */
  capsFor?: (userId: string) => Promise<KnowledgeCaps | null>;
}) {
  const { store, queue, fetcher, clock, log } = deps;
  const limits = { ...DEFAULT_KNOWLEDGE_LIMITS, ...deps.limits };
  /**
   * Whether an agent has a knowledge source, asked by every chat message (the prompt mentions it, the
   * tool is offered, auto context searches): kept per agent (services/agent-memo.ts), forgotten when this
   * service adds or removes a source; another process's change counts within AGENT_MEMO_MS.
   */
  const hasSources = agentIdMemo((agentId) => store.knowledge.any(agentId));

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
    await embedChunks(source); // before `ready`: a ready source is searchable both ways (as far as the budget allowed)
    const after = await store.knowledge.documents(source.id);
    await store.knowledge.updateSource(source.id, {
      status: 'ready', error: null, pages: after.length, chunks: after.reduce((n, d) => n + d.chunks, 0), changes, lastSyncedAt: clock.now().toISOString(),
      ...(source.type !== 'file' && docs[0] && source.type === 'url' ? { title: docs[0].title.slice(0, 300) } : {}),
    });
    log.info('knowledge source synced', { sourceId: source.id, agentId: source.agentId, ...changes, skipped: skipped.length });
    await schedule(source);
  }

  /**
   * Vectors for the source's chunks that have none from the configured model (new or changed ones, or all
   * after a change of model), in batches. A spent budget or a failing provider stops here: search ranks those
   * chunks by full text alone, and the next sync tries again.
   */
  async function embedChunks(source: KnowledgeSource) {
    const embedder = deps.embedder;
    if (!embedder) return;
    const agent = await store.agents.byId(source.agentId);
    if (!agent) return;
    let embedded = 0;
    for (;;) {
      const batch = await store.knowledge.chunksToEmbed(source.id, embedder.model, EMBED_BATCH);
      if (!batch.length) break;
      let vectors: number[][];
      try { vectors = await embedder.embed(agent, batch.map((c) => c.text)); } catch (err) {
        log.warn('knowledge embeddings stopped; those chunks are searched by full text until the next sync', { sourceId: source.id, error: (err as Error).message });
        break;
      }
      await store.knowledge.setVectors(embedder.model, batch.map((c, i) => ({ id: c.id, vector: vectors[i] ?? [] })).filter((r) => r.vector.length > 0));
      embedded += batch.length;
      if (batch.length < EMBED_BATCH) break;
    }
    if (embedded) log.info('knowledge chunks embedded', { sourceId: source.id, chunks: embedded });
  }

  /** Full-text and (with embeddings) vector rankings fused by reciprocal rank; full text alone when the query cannot be embedded. */
  async function rank(agent: Agent, q: string, limit: number): Promise<{ hits: KnowledgeHit[]; searchMode: SearchMode }> {
    const embedder = deps.embedder;
    if (!embedder) return { hits: await store.knowledge.search(agent.id, q, limit), searchMode: 'fulltext' };
    const [text, qv] = await Promise.all([
      store.knowledge.search(agent.id, q, CANDIDATES),
      embedder.embed(agent, [q.slice(0, 2000)]).then((v) => v[0], (err: unknown) => {
        log.warn('knowledge query not embedded; full-text search only', { agentId: agent.id, error: (err as Error).message });
        return undefined;
      }),
    ]);
    if (!qv) return { hits: text.slice(0, limit), searchMode: 'fulltext' };
    const near = await store.knowledge.vectorSearch(agent.id, embedder.model, qv, CANDIDATES);
    return { hits: fuse([text, near], limit), searchMode: 'hybrid' };
  }

  async function capsOf(agent: Agent): Promise<KnowledgeCaps | null> {
    return (await deps.capsFor?.(agent.ownerId)) ?? null;
  }
  /** A site's page limit: at most the installation's and the plan's. */
  async function checkMaxPages(agent: Agent, maxPages: number | undefined) {
    if (maxPages === undefined) return;
    if (maxPages > limits.maxPages) throw errors.validation([{ path: 'maxPages', message: `at most ${limits.maxPages} pages on this installation` }]);
    const cap = (await capsOf(agent))?.maxKnowledgePages;
    if (cap != null && maxPages > cap) throw errors.validation([{ path: 'maxPages', message: `at most ${cap} pages on your plan` }]);
  }
  async function checkSourceCount(agent: Agent) {
    const cap = (await capsOf(agent))?.maxKnowledgeSources;
    if (cap == null) return;
    const have = (await store.knowledge.list(agent.id)).length;
    if (have >= cap) throw new AppError(403, 'plan_limit', `Your plan allows ${cap} knowledge source${cap === 1 ? '' : 's'} per agent (maxKnowledgeSources) and this agent has ${have}. Delete one or upgrade your plan to add another.`);
  }
  async function defaultMaxPages(agent: Agent) {
    const cap = (await capsOf(agent))?.maxKnowledgePages;
    return Math.min(200, limits.maxPages, cap ?? Infinity);
  }

  async function createUrlSource(actor: Actor | 'system', agent: Agent, input: { type: 'url' | 'site'; url: string; maxPages?: number; syncEveryHours?: number }) {
    const url = await checkUrl(input.url);
    await checkMaxPages(agent, input.maxPages);
    await checkSourceCount(agent);
    const maxPages = input.type === 'url' ? 1 : input.maxPages ?? await defaultMaxPages(agent);
    const syncEveryHours = input.syncEveryHours ?? (input.type === 'site' ? 24 : 0);
    const source = await store.transaction(async (tx) => {
      const s = await tx.knowledge.createSource({ agentId: agent.id, type: input.type, title: url, url, maxPages, syncEveryHours });
      await recordAudit(tx, actor, 'knowledge.source_added', { type: 'knowledge_source', id: s.id }, { agentId: agent.id, sourceType: input.type, url, maxPages, syncEveryHours });
      return s;
    });
    hasSources.forget(agent.id);
    await enqueue(source.id);
    return { id: source.id, status: source.status };
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
      return createUrlSource(actor, await agentFor(actor, agentId, true), input);
    },

    /**
     * Adds a whole website as a source of an agent, for services acting on their own (provisioning a website
     * agent adds the customer's site): no actor (audited as `system`), the same checks and plan caps as the API.
     * Throws AppError (400 for a URL the guard refuses, 403 plan_limit, 404 for an unknown agent).
     */
    async addSiteSource(agentId: string, url: string, opts: { maxPages?: number; syncEveryHours?: number } = {}) {
      const agent = await store.agents.byId(agentId);
      if (!agent || agent.status === 'deleted') throw errors.notFound('Agent');
      // Idempotent: a pipeline run again after a crash finds the source it added.
      const wanted = normalizeUrl(url);
      const existing = wanted ? (await store.knowledge.list(agentId)).find((s) => s.type === 'site' && s.url === wanted) : undefined;
      if (existing) return { id: existing.id, status: existing.status, existed: true as const };
      return createUrlSource('system', agent, { type: 'site', url, ...opts });
    },

    /** Changes how a site or page source syncs: its page limit (sites) and hours between syncs (files never re-sync). */
    async update(actor: Actor, agentId: string, sourceId: string, input: { maxPages?: number; syncEveryHours?: number }) {
      const { agent, source } = await sourceFor(actor, agentId, sourceId, true);
      if (source.type === 'file' && input.syncEveryHours !== undefined && input.syncEveryHours !== 0) throw errors.validation([{ path: 'syncEveryHours', message: 'a file never re-syncs; upload it again to change it' }]);
      if (source.type !== 'site' && input.maxPages !== undefined && input.maxPages !== source.maxPages) throw errors.validation([{ path: 'maxPages', message: 'only a site source reads more than one page' }]);
      await checkMaxPages(agent, input.maxPages);
      const patch: { maxPages?: number; syncEveryHours?: number; nextSyncAt?: string | null } = {};
      if (input.maxPages !== undefined && input.maxPages !== source.maxPages) patch.maxPages = input.maxPages;
      if (input.syncEveryHours !== undefined && input.syncEveryHours !== source.syncEveryHours) patch.syncEveryHours = input.syncEveryHours;
      if (!Object.keys(patch).length) return view(source);
      let next: string | null = source.nextSyncAt;
      if (patch.syncEveryHours !== undefined) {
        // The schedule restarts from now: a pending slot no longer matches nextSyncAt, so its job does nothing.
        next = patch.syncEveryHours > 0 ? new Date(clock.now().getTime() + patch.syncEveryHours * 3_600_000).toISOString() : null;
        patch.nextSyncAt = next;
      }
      await store.transaction(async (tx) => {
        await tx.knowledge.updateSource(source.id, patch);
        await recordAudit(tx, actor, 'knowledge.source_updated', { type: 'knowledge_source', id: source.id }, {
          agentId: source.agentId, fields: Object.keys(patch).filter((k) => k !== 'nextSyncAt'),
          changes: Object.fromEntries(Object.entries(patch).filter(([k]) => k !== 'nextSyncAt').map(([k, v]) => [k, { from: source[k as 'maxPages' | 'syncEveryHours'], to: v }])),
        });
      });
      if (next && patch.syncEveryHours !== undefined) await enqueue(source.id, next, new Date(next));
      return view((await store.knowledge.sourceById(source.id))!);
    },

    /** How search ranks now: full text alone or hybrid (an embedding model is configured), and which vector index finds neighbours. */
    async mode(): Promise<{ searchMode: SearchMode; vectorIndex: KnowledgeVectorIndex }> {
      return deps.embedder ? { searchMode: 'hybrid', vectorIndex: await store.knowledge.vectorIndex() } : { searchMode: 'fulltext', vectorIndex: 'none' };
    },

    /**
     * With the agent's `knowledge.autoContext` on: the best passages for the person's message, as a system-prompt
     * section within AUTO_CONTEXT_TOKENS, each with its title and URL so the model can cite it; null otherwise.
     */
    async autoContext(agent: Agent, message: string): Promise<string | null> {
      if (!agent.knowledge.autoContext || !message.trim()) return null;
      if (!(await hasSources.get(agent.id))) return null;
      const { hits } = await rank(agent, message.slice(0, 2000), 8);
      const picked: string[] = [];
      let tokens = 0;
      for (const h of hits) {
        const head = `[${picked.length + 1}] ${h.title}${h.heading ? ` › ${h.heading}` : ''}${h.url ? `\nURL: ${h.url}` : ''}\n`;
        const room = AUTO_CONTEXT_TOKENS - tokens - estimateTokens(head);
        if (room < 60) break;
        const text = h.text.length > room * 4 ? `${h.text.slice(0, room * 4 - 1)}…` : h.text;
        picked.push(head + text);
        tokens += estimateTokens(head + text);
      }
      if (!picked.length) return null;
      return `## From your knowledge base\nPassages that may answer the person's latest message (found for it automatically). Answer from them when they do, and cite the URL (or title) of each one you use.\n\n${picked.join('\n\n')}`;
    },

    async addFile(actor: Actor, agentId: string, input: { bytes: Uint8Array; claimedType: string | undefined; filename: string }) {
      const agent = await agentFor(actor, agentId, true);
      const filename = input.filename.replace(/[\u0000-\u001f]/g, '').trim().slice(0, 200);
      if (!filename) throw errors.validation([{ path: 'X-Filename', message: 'the X-Filename header (the file name) is required' }]);
      if (input.bytes.length === 0) throw errors.validation([{ path: 'body', message: 'the file is empty' }]);
      if (input.bytes.length > limits.fileBytes) throw new AppError(413, 'media_too_large', `A knowledge file may be at most ${Math.round(limits.fileBytes / 1048576)} MB.`);
      const used = await store.knowledge.fileBytes(agent.id);
      if (used + input.bytes.length > limits.agentBytes) throw new AppError(413, 'media_too_large', `This agent's knowledge files may total at most ${Math.round(limits.agentBytes / 1048576)} MB; delete some first.`);
      const capBytes = (await capsOf(agent))?.maxKnowledgeBytes;
      if (capBytes != null && used + input.bytes.length > capBytes) {
        throw new AppError(403, 'plan_limit', `Your plan allows ${formatBytes(capBytes)} of knowledge files per agent (maxKnowledgeBytes); this agent holds ${formatBytes(used)} and the file is ${formatBytes(input.bytes.length)}. Delete some or upgrade your plan.`);
      }
      await checkSourceCount(agent);
      const kind = await sniffKnowledgeFile(input.bytes, input.claimedType, filename);
      const { title, text } = await extractText(kind, input.bytes, filename);
      if (!text.trim()) throw errors.validation([{ path: 'body', message: 'no text could be read from the file' }]);
      const source = await store.transaction(async (tx) => {
        const s = await tx.knowledge.createSource({ agentId: agent.id, type: 'file', title: title.slice(0, 300) || filename, url: null, maxPages: 1, syncEveryHours: 0, fileText: text, mimeType: KNOWLEDGE_FILE_TYPES[kind], bytes: input.bytes.length });
        await recordAudit(tx, actor, 'knowledge.source_added', { type: 'knowledge_source', id: s.id }, { agentId: agent.id, sourceType: 'file', filename, mimeType: KNOWLEDGE_FILE_TYPES[kind], bytes: input.bytes.length });
        return s;
      });
      hasSources.forget(agent.id);
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
      hasSources.forget(source.agentId);
    },

    async search(actor: Actor, agentId: string, q: string, limit = 5) {
      const agent = await agentFor(actor, agentId);
      if (!q.trim()) throw errors.validation([{ path: 'q', message: 'the search text is required' }]);
      const r = await rank(agent, q, limit);
      return { searchMode: r.searchMode, results: r.hits.map(present) };
    },

    /**
     * Whether the agent has any source (the system prompt mentions the knowledge base, and the tool is
     * offered, only then): asked for every message, read at most once per AGENT_MEMO_MS per agent.
     */
    has: (agent: Agent) => hasSources.get(agent.id),

    /** The `knowledge_search` tool bound to one agent: its own chunks only. */
    tool(agent: Agent): ModelTool {
      return {
        name: 'knowledge_search',
        description: "Search this agent's knowledge base (uploaded documents and synced web pages). Returns the best passages with their titles and URLs; cite the URL (or title) of what you use.",
        input: z.object({ query: z.string().min(1).max(500).describe('What to look for, in a few words') }),
        async execute({ query }: { query: string }) {
          const { hits } = await rank(agent, query, 5);
          if (!hits.length) return 'No passage in the knowledge base matches that.';
          return hits.map((h, i) => `[${i + 1}] ${h.title}${h.heading ? ` › ${h.heading}` : ''}${h.url ? `\nURL: ${h.url}` : ''}\n${h.text.slice(0, 1500)}`).join('\n\n---\n\n');
        },
      };
    },
  };
}

/** Reciprocal rank fusion: each ranking adds 1 / (RRF_K + rank) to a chunk's score; best first. */
export function fuse(rankings: KnowledgeHit[][], limit: number): KnowledgeHit[] {
  const acc = new Map<string, { hit: KnowledgeHit; score: number }>();
  for (const ranking of rankings) {
    ranking.forEach((h, i) => {
      const e = acc.get(h.chunkId) ?? { hit: h, score: 0 };
      e.score += 1 / (RRF_K + i + 1);
      acc.set(h.chunkId, e);
    });
  }
  return [...acc.values()].sort((a, b) => b.score - a.score || a.hit.chunkId.localeCompare(b.hit.chunkId)).slice(0, limit)
    .map((e) => ({ ...e.hit, score: Math.round(e.score * 1e6) / 1e6 }));
}

const formatBytes = (n: number) => (n >= 1048576 ? `${Math.round((n / 1048576) * 10) / 10} MB` : n >= 1024 ? `${Math.round(n / 1024)} KB` : `${n} bytes`);

const present = (h: KnowledgeHit) => ({ sourceId: h.sourceId, title: h.heading ? `${h.title} › ${h.heading}` : h.title, ...(h.url ? { url: h.url } : {}), text: h.text, score: h.score });

export type KnowledgeService = ReturnType<typeof knowledgeService>;
