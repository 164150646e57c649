import { sql, PostgresAdapter } from 'kysely';
import type { Db } from '../db.js';
import type { Clock, IdGenerator, KnowledgeChanges, KnowledgeHit, KnowledgeRepo, KnowledgeSource, KnowledgeSourceType, KnowledgeStatus, KnowledgeVectorIndex } from '../../domain/ports.js';
import type { Database } from '../schema.js';
import { searchTerms } from './memory.js';
import { ftsToken } from './text-keys.js';
import { prepared } from '../prepared.js';

type Row = Database['knowledge_sources'];
const SOURCE_COLS = ['id', 'agent_id', 'type', 'title', 'url', 'status', 'error', 'pages', 'chunks', 'bytes', 'max_pages', 'sync_every_hours', 'mime_type', 'changes', 'last_synced_at', 'next_sync_at', 'created_at', 'updated_at'] as const;
const toSource = (r: Omit<Row, 'file_text'>): KnowledgeSource => ({
  id: r.id, agentId: r.agent_id, type: r.type as KnowledgeSourceType, title: r.title, url: r.url, status: r.status as KnowledgeStatus, error: r.error,
  pages: Number(r.pages), chunks: Number(r.chunks), bytes: Number(r.bytes), maxPages: Number(r.max_pages), syncEveryHours: Number(r.sync_every_hours),
  mimeType: r.mime_type, changes: r.changes ? JSON.parse(r.changes) as KnowledgeChanges : null, lastSyncedAt: r.last_synced_at, nextSyncAt: r.next_sync_at,
  createdAt: r.created_at, updatedAt: r.updated_at,
});

/** Vectors read per batch by the exact scan (no vector index): all of the agent's vectors are read, a batch at a time. */
export const VECTOR_SCAN_BATCH = 5_000;
/** The widest vector sqlite-vec's vec0 tables take; wider ones are found by the exact scan. */
export const VEC0_MAX_DIMS = 8_192;
/** Vectors per vec0 chunk: sqlite-vec allocates a whole chunk per partition (agent), so small agents stay small. */
const VEC0_CHUNK_SIZE = 256;

/** sqlite-vec's table for vectors of `dims` dimensions (one per dimension, made when the first such vector is stored). */
const vecTable = (dims: number) => `knowledge_vec_${dims}`;
const VEC_TABLE = /^knowledge_vec_(\d+)$/;

/** A vector as little-endian float32 bytes, scaled to unit length (so cosine similarity is a dot product). */
export function vectorBytes(v: number[]): Buffer {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  const b = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i]! / norm, i * 4);
  return b;
}
/** The float32 values of stored bytes (copied when the bytes are not 4-byte aligned). */
export function bytesVector(b: Uint8Array): Float32Array {
  if (b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
  return new Float32Array(new Uint8Array(b).buffer);
}

/** Whether an agent has knowledge sources, and which: asked before every reply (built once). */
const anySource = prepared((db, p: { agentId: string }) => db.selectFrom('knowledge_sources').select('id').where('agent_id', '=', p.agentId).limit(1));
const sourcesOf = prepared((db, p: { agentId: string }) => db.selectFrom('knowledge_sources').select([...SOURCE_COLS]).where('agent_id', '=', p.agentId).orderBy('created_at').orderBy('id'));

/** Knowledge sources, documents and chunks; every read is scoped by agent (or by a source already scoped). */
export function knowledgeRepo(db: Db, ids: IdGenerator, clock: Clock): KnowledgeRepo {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const now = () => clock.now().toISOString();
  const inTx = <T>(fn: (tx: Db) => Promise<T>) => (db.isTransaction ? fn(db) : db.transaction().execute(fn));
  let index: Promise<KnowledgeVectorIndex> | undefined;
  const repo: KnowledgeRepo = {
    async createSource(s) {
      const id = ids.id();
      const at = now();
      await db.insertInto('knowledge_sources').values({
        id, agent_id: s.agentId, type: s.type, title: s.title, url: s.url, status: 'queued', error: null, pages: 0, chunks: 0, bytes: s.bytes ?? 0,
        max_pages: s.maxPages, sync_every_hours: s.syncEveryHours, file_text: s.fileText ?? null, mime_type: s.mimeType ?? null, changes: null,
        last_synced_at: null, next_sync_at: null, created_at: at, updated_at: at,
      }).execute();
      return (await repo.sourceById(id))!;
    },
    async source(agentId, id) {
      const r = await db.selectFrom('knowledge_sources').select([...SOURCE_COLS]).where('id', '=', id).where('agent_id', '=', agentId).executeTakeFirst();
      return r && toSource(r);
    },
    async sourceById(id) {
      const r = await db.selectFrom('knowledge_sources').select([...SOURCE_COLS]).where('id', '=', id).executeTakeFirst();
      return r && toSource(r);
    },
    async fileText(id) {
      const r = await db.selectFrom('knowledge_sources').select('file_text').where('id', '=', id).executeTakeFirst();
      return r?.file_text ?? null;
    },
    async any(agentId) {
      return !!(await anySource.first(db, { agentId }));
    },
    async list(agentId) {
      return (await sourcesOf.execute(db, { agentId })).rows.map(toSource);
    },
    async fileBytes(agentId) {
      const r = await db.selectFrom('knowledge_sources').select(sql<number>`coalesce(sum(bytes), 0)`.as('b')).where('agent_id', '=', agentId).executeTakeFirstOrThrow();
      return Number(r.b);
    },
    async updateSource(id, p) {
      const set: Partial<Row> = { updated_at: now() };
      if (p.status !== undefined) set.status = p.status;
      if (p.error !== undefined) set.error = p.error;
      if (p.pages !== undefined) set.pages = p.pages;
      if (p.chunks !== undefined) set.chunks = p.chunks;
      if (p.changes !== undefined) set.changes = p.changes ? JSON.stringify(p.changes) : null;
      if (p.lastSyncedAt !== undefined) set.last_synced_at = p.lastSyncedAt;
      if (p.nextSyncAt !== undefined) set.next_sync_at = p.nextSyncAt;
      if (p.title !== undefined) set.title = p.title;
      if (p.maxPages !== undefined) set.max_pages = p.maxPages;
      if (p.syncEveryHours !== undefined) set.sync_every_hours = p.syncEveryHours;
      await db.updateTable('knowledge_sources').set(set).where('id', '=', id).execute();
    },
    async deleteSource(agentId, id) {
      // Chunks and documents go with it (cascade; the FTS5 and sqlite-vec rows by trigger).
      return inTx(async (tx) => {
        await tx.deleteFrom('knowledge_chunks').where('source_id', '=', id).where('agent_id', '=', agentId).execute();
        const r = await tx.deleteFrom('knowledge_sources').where('id', '=', id).where('agent_id', '=', agentId).executeTakeFirst();
        return Number(r.numDeletedRows) > 0;
      });
    },
    async documents(sourceId) {
      const rows = await db.selectFrom('knowledge_documents').select(['id', 'source_id', 'url', 'title', 'content_hash', 'chunks']).where('source_id', '=', sourceId).execute();
      return rows.map((r) => ({ id: r.id, sourceId: r.source_id, url: r.url, title: r.title, contentHash: r.content_hash, chunks: Number(r.chunks) }));
    },
    async putDocument(d) {
      await inTx(async (tx) => {
        const existing = await tx.selectFrom('knowledge_documents').select('id').where('source_id', '=', d.sourceId).where('url', '=', d.url).executeTakeFirst();
        let docId = existing?.id;
        if (docId) {
          await tx.deleteFrom('knowledge_chunks').where('document_id', '=', docId).execute();
          await tx.updateTable('knowledge_documents').set({ title: d.title, content_hash: d.contentHash, chunks: d.chunks.length, indexed_at: now() }).where('id', '=', docId).execute();
        } else {
          docId = ids.id();
          await tx.insertInto('knowledge_documents').values({ id: docId, source_id: d.sourceId, agent_id: d.agentId, url: d.url, title: d.title, content_hash: d.contentHash, chunks: d.chunks.length, indexed_at: now() }).execute();
        }
        for (let i = 0; i < d.chunks.length; i += 200) {
          await tx.insertInto('knowledge_chunks').values(d.chunks.slice(i, i + 200).map((c, j) => ({
            id: ids.id(), document_id: docId!, source_id: d.sourceId, agent_id: d.agentId, seq: i + j, title: c.title, heading: c.heading, url: c.url, page: c.page, text: c.text, embedding: null, vector: null, vector_model: null,
          }))).execute();
        }
      });
    },
    async deleteDocument(sourceId, url) {
      await inTx(async (tx) => {
        const doc = await tx.selectFrom('knowledge_documents').select('id').where('source_id', '=', sourceId).where('url', '=', url).executeTakeFirst();
        if (!doc) return;
        await tx.deleteFrom('knowledge_chunks').where('document_id', '=', doc.id).execute();
        await tx.deleteFrom('knowledge_documents').where('id', '=', doc.id).execute();
      });
    },
    async search(agentId, q, limit) {
      const terms = searchTerms(q);
      if (!terms.length) return [];
      const cols = ['c.id', 'c.source_id', 'c.title', 'c.heading', 'c.url', 'c.text'] as const;
      const hit = (r: { id: string; source_id: string; title: string; heading: string; url: string | null; text: string; rank: number }) => ({
        chunkId: r.id, sourceId: r.source_id, title: r.title, heading: r.heading, url: r.url, text: r.text, score: Number(r.rank),
      });
      if (pg) {
        const query = sql`to_tsquery('english', ${terms.join(' | ')})`;
        const rows = await db.selectFrom('knowledge_chunks as c').select([...cols]).select(sql<number>`ts_rank(c.tsv, ${query})`.as('rank'))
          .where('c.agent_id', '=', agentId).where(sql<boolean>`c.tsv @@ ${query}`).orderBy('rank', 'desc').orderBy('c.id').limit(limit).execute();
        return rows.map(hit);
      }
      // The agent is a column of the FTS5 table: FTS5 alone finds and ranks this agent's matches (bm25 over the body;
      // the agent column weighs 0), and only the best `limit` are read from knowledge_chunks (rows of ~2 KB). The join
      // checks the agent again.
      const match = `agent_id : "${ftsToken('a', agentId)}" AND body : (${terms.map((t) => `"${t}"`).join(' OR ')})`;
      // (The limit is written into the SQL: bound as a parameter, SQLite 3.53 sorted every match, ten times slower at 50k.)
      const top = sql.lit(Math.max(1, Math.min(1000, Math.floor(limit))));
      const rows = await sql<{ id: string; source_id: string; title: string; heading: string; url: string | null; text: string; rank: number }>`
        select c.id, c.source_id, c.title, c.heading, c.url, c.text, f.score as rank from (
          select chunk_id, -bm25(knowledge_fts, 0, 0, 1) as score from knowledge_fts where knowledge_fts match ${match} order by score desc, rowid limit ${top}
        ) f join knowledge_chunks c on c.id = f.chunk_id where c.agent_id = ${agentId} order by f.score desc, c.id`.execute(db);
      return rows.rows.map(hit);
    },
    async chunkCount(agentId) {
      const r = await db.selectFrom('knowledge_chunks').select(sql<number>`count(*)`.as('n')).where('agent_id', '=', agentId).executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async chunksToEmbed(sourceId, model, limit) {
      const rows = await db.selectFrom('knowledge_chunks').select(['id', 'title', 'heading', 'text']).where('source_id', '=', sourceId)
        .where((eb) => eb.or([eb('vector_model', 'is', null), eb('vector_model', '!=', model)])).orderBy('id').limit(limit).execute();
      return rows.map((r) => ({ id: r.id, text: `${r.heading ? `${r.title} › ${r.heading}` : r.title}\n${r.text}` }));
    },
    async setVectors(model, rows) {
      // A vec0 table for each new dimension first: its trigger copies the vectors stored below (and drops a chunk's
      // vector from every other dimension's table, so a change of model leaves nothing behind).
      if (await vecReady()) {
        for (const dims of new Set(rows.map((r) => r.vector.length))) if (dims >= 1 && dims <= VEC0_MAX_DIMS && !vecTables.has(dims)) await makeVecTable(dims);
      }
      await inTx(async (tx) => {
        for (const r of rows) await tx.updateTable('knowledge_chunks').set({ vector: vectorBytes(r.vector), vector_model: model }).where('id', '=', r.id).execute();
      });
    },
    async vectorSearch(agentId, model, vector, limit) {
      const q = vectorBytes(vector);
      let best: { id: string; sim: number }[];
      const dims = vector.length;
      if ((await vecReady()) && !vecTables.has(dims)) {
        ready = undefined; // another repository (a transaction's) may have made that table since: look again
        await vecReady();
        // Still none: vectors stored before there was an index (an install upgraded to 0027) are indexed now, once.
        if (!vecTables.has(dims) && dims >= 1 && dims <= VEC0_MAX_DIMS) await makeVecTable(dims);
      }
      if (vecTables.has(dims)) {
        // sqlite-vec's KNN over the agent's partition of the table of this dimension, in C; cosine distance, so 1 − distance is the similarity.
        const rows = await sql<{ id: string; d: number }>`select chunk_id as id, distance as d from ${sql.table(vecTable(vector.length))}
          where embedding match ${q} and k = ${limit} and agent_id = ${agentId} and model = ${model}`.execute(db);
        best = rows.rows.map((r) => ({ id: r.id, sim: 1 - Number(r.d) }));
      } else {
        best = await exactNearest(agentId, model, q, limit);
      }
      if (!best.length) return [];
      // By id (the primary key), the agent checked on each row: `where agent_id = ? and id in (…)` made SQLite walk the
      // agent index over all 50,000 rows.
      const rows = await db.selectFrom('knowledge_chunks').select(['id', 'agent_id', 'source_id', 'title', 'heading', 'url', 'text']).where('id', 'in', best.map((b) => b.id)).execute();
      const byId = new Map(rows.filter((r) => r.agent_id === agentId).map((r) => [r.id, r]));
      return best.flatMap((b): KnowledgeHit[] => {
        const r = byId.get(b.id);
        return r ? [{ chunkId: r.id, sourceId: r.source_id, title: r.title, heading: r.heading, url: r.url, text: r.text, score: b.sim }] : [];
      });
    },
    vectorIndex() {
      // PostgreSQL: pgvector is not used (the servers this runs on lack it); vectors are bytea, scanned exactly.
      index ??= pg ? Promise.resolve('none' as const)
        : sql<{ v: string }>`select vec_version() as v`.execute(db).then(() => 'sqlite-vec' as const, () => 'none' as const);
      return index;
    },
  };

  /**
   * Whether sqlite-vec is loaded, after checking its tables once per repository: a vec0 table whose triggers are
   * missing (dropped when a start found sqlite-vec unloadable, see dialects/sqlite.ts) missed writes, so it is
   * rebuilt from knowledge_chunks and its triggers made again.
   */
  let ready: Promise<boolean> | undefined;
  const vecTables = new Set<number>();
  function vecReady(): Promise<boolean> {
    ready ??= (async () => {
      if ((await repo.vectorIndex()) !== 'sqlite-vec') return false;
      const r = await sql<{ type: string; name: string }>`select type, name from sqlite_master
        where name glob 'knowledge_vec_*' and (type = 'trigger' or (type = 'table' and sql like '%using vec0%'))`.execute(db);
      const triggers = new Set(r.rows.filter((x) => x.type === 'trigger').map((x) => x.name));
      for (const t of r.rows.filter((x) => x.type === 'table')) {
        const dims = Number(VEC_TABLE.exec(t.name)?.[1]);
        if (!dims) continue;
        if (!triggers.has(`${t.name}_delete`) || !triggers.has(`${t.name}_update`)) await makeVecTable(dims);
        vecTables.add(dims);
      }
      return true;
    })();
    return ready;
  }

  /**
   * The vec0 table for vectors of `dims` dimensions, filled from knowledge_chunks and kept in step by triggers on
   * it: a chunk deleted (a document replaced or removed, a source or an agent deleted, by cascade too) leaves the
   * table; a vector set or changed (another model) replaces the chunk's row, in this table if it has this dimension.
   * The agent is the partition key (a KNN reads only that agent's vectors), the model a metadata column.
   */
  async function makeVecTable(dims: number) {
    const t = vecTable(dims);
    const table = sql.table(t);
    const bytes = dims * 4;
    await inTx(async (tx) => {
      await sql`create virtual table if not exists ${table} using vec0(chunk_id text primary key, agent_id text partition key,
        embedding float[${sql.raw(String(dims))}] distance_metric=cosine, model text, chunk_size=${sql.raw(String(VEC0_CHUNK_SIZE))})`.execute(tx);
      await sql`delete from ${table}`.execute(tx);
      await sql`insert into ${table}(chunk_id, agent_id, embedding, model)
        select id, agent_id, vector, vector_model from knowledge_chunks where vector is not null and length(vector) = ${bytes}`.execute(tx);
      await sql`drop trigger if exists ${sql.id(`${t}_delete`)}`.execute(tx);
      await sql`drop trigger if exists ${sql.id(`${t}_update`)}`.execute(tx);
      await sql`create trigger ${sql.id(`${t}_delete`)} after delete on knowledge_chunks begin delete from ${table} where chunk_id = old.id; end`.execute(tx);
      await sql`create trigger ${sql.id(`${t}_update`)} after update of vector, vector_model on knowledge_chunks begin
        delete from ${table} where chunk_id = old.id;
        insert into ${table}(chunk_id, agent_id, embedding, model) select new.id, new.agent_id, new.vector, new.vector_model
          where new.vector is not null and length(new.vector) = ${sql.raw(String(bytes))};
      end`.execute(tx);
    });
    vecTables.add(dims);
  }

  /** Without a vector index: every vector of the agent from the model, read in batches in id order, keeping the best `limit`. */
  async function exactNearest(agentId: string, model: string, q: Buffer, limit: number) {
    const qv = bytesVector(q);
    const best: { id: string; sim: number }[] = [];
    let after = '';
    for (;;) {
      const rows = await db.selectFrom('knowledge_chunks').select(['id', 'vector']).where('agent_id', '=', agentId).where('vector_model', '=', model)
        .where('vector', 'is not', null).where('id', '>', after).orderBy('id').limit(VECTOR_SCAN_BATCH).execute();
      for (const r of rows) {
        const v = bytesVector(r.vector!);
        if (v.length !== qv.length) continue;
        let sim = 0;
        for (let i = 0; i < v.length; i++) sim += v[i]! * qv[i]!;
        if (best.length < limit || sim > best[best.length - 1]!.sim) {
          let at = best.length;
          while (at > 0 && best[at - 1]!.sim < sim) at--;
          best.splice(at, 0, { id: r.id, sim });
          if (best.length > limit) best.pop();
        }
      }
      if (rows.length < VECTOR_SCAN_BATCH) break;
      after = rows[rows.length - 1]!.id;
    }
    return best;
  }
  return repo;
}
