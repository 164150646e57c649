/** An agent's knowledge base (issue 18): sources, the documents they yielded, and searchable chunks. */
export type KnowledgeSourceType = 'file' | 'url' | 'site';
export type KnowledgeStatus = 'queued' | 'syncing' | 'ready' | 'failed';
export type KnowledgeChanges = { added: number; updated: number; removed: number; unchanged: number; skipped: { url: string; reason: string }[] };

export type KnowledgeSource = {
  id: string; agentId: string; type: KnowledgeSourceType; title: string; url: string | null; status: KnowledgeStatus; error: string | null;
  pages: number; chunks: number; bytes: number; maxPages: number; syncEveryHours: number; mimeType: string | null;
  changes: KnowledgeChanges | null; lastSyncedAt: string | null; nextSyncAt: string | null; createdAt: string; updatedAt: string;
};
export type KnowledgeDocument = { id: string; sourceId: string; url: string; title: string; contentHash: string; chunks: number };
export type KnowledgeChunkInput = { title: string; heading: string; url: string | null; page: number | null; text: string };
export type KnowledgeHit = { chunkId: string; sourceId: string; title: string; heading: string; url: string | null; text: string; score: number };

export interface KnowledgeRepo {
  createSource(s: { agentId: string; type: KnowledgeSourceType; title: string; url: string | null; maxPages: number; syncEveryHours: number; fileText?: string; mimeType?: string; bytes?: number }): Promise<KnowledgeSource>;
  source(agentId: string, id: string): Promise<KnowledgeSource | undefined>;
  sourceById(id: string): Promise<KnowledgeSource | undefined>;
  fileText(id: string): Promise<string | null>;
  list(agentId: string): Promise<KnowledgeSource[]>;
  /** Whether the agent has any source (asked for every message: one indexed row, not the list). */
  any(agentId: string): Promise<boolean>;
  /** Bytes of files this agent already holds. */
  fileBytes(agentId: string): Promise<number>;
  updateSource(id: string, patch: Partial<Pick<KnowledgeSource, 'status' | 'error' | 'pages' | 'chunks' | 'changes' | 'lastSyncedAt' | 'nextSyncAt' | 'title' | 'maxPages' | 'syncEveryHours'>>): Promise<void>;
  deleteSource(agentId: string, id: string): Promise<boolean>;
  documents(sourceId: string): Promise<KnowledgeDocument[]>;
  /** Replaces a document's chunks (inserting the document if new), in one transaction. */
  putDocument(d: { sourceId: string; agentId: string; url: string; title: string; contentHash: string; chunks: KnowledgeChunkInput[] }): Promise<void>;
  deleteDocument(sourceId: string, url: string): Promise<void>;
  /** Full-text search over one agent's chunks, best first (score: higher is better). */
  search(agentId: string, q: string, limit: number): Promise<KnowledgeHit[]>;
  chunkCount(agentId: string): Promise<number>;
  /** Up to `limit` chunks of a source with no vector from `model` yet (new or changed, or embedded by another model). */
  chunksToEmbed(sourceId: string, model: string, limit: number): Promise<{ id: string; text: string }[]>;
  /** Stores each chunk's vector (normalized to unit length) and the model that made it. */
  setVectors(model: string, rows: { id: string; vector: number[] }[]): Promise<void>;
  /** The `limit` chunks of one agent nearest to `vector` among those embedded by `model` (score: cosine similarity). */
  vectorSearch(agentId: string, model: string, vector: number[], limit: number): Promise<KnowledgeHit[]>;
  /** How nearest chunks are found: sqlite-vec's vec0 KNN (one table per dimension, the agent its partition), or (none) an exact scan in JavaScript over all of the agent's vectors, in batches. */
  vectorIndex(): Promise<KnowledgeVectorIndex>;
}
export type KnowledgeVectorIndex = 'sqlite-vec' | 'pgvector' | 'none';
