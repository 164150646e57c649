import { sql, PostgresAdapter } from 'kysely';
import type { Db } from '../db.js';
import type { Clock, IdGenerator, PersonNotesRepo, SummaryRepo, SummarySearch, WorkspaceRepo } from '../../domain/ports.js';
import type { Channel, Summary } from '../../domain/types.js';
import type { Database } from '../schema.js';
import { WorkspaceFull, workspaceRoom } from '../../domain/workspace.js';
import { ftsToken } from './text-keys.js';
import { preparedIn, preparedShapes } from '../prepared.js';

type SummaryRow = Database['summaries'];
const toSummary = (r: SummaryRow): Summary => ({
  id: r.id, conversationId: r.conversation_id, agentId: r.agent_id, personId: r.person_id, channel: r.channel as Channel,
  summary: r.summary, startedAt: r.started_at, endedAt: r.ended_at, messageCount: Number(r.message_count), model: r.model,
  inputTokens: Number(r.input_tokens), outputTokens: Number(r.output_tokens), costUsd: Number(r.cost_usd), createdAt: r.created_at,
});
const SUMMARY_COLS = [
  's.id', 's.conversation_id', 's.agent_id', 's.person_id', 's.channel', 's.summary', 's.started_at', 's.ended_at',
  's.message_count', 's.model', 's.input_tokens', 's.output_tokens', 's.cost_usd', 's.embedding', 's.created_at',
] as const;

/**
 * An agent's files and a person's notes by path, read before every reply (the persona files, the
 * person's notes): built once per number of paths, up to PREPARED_PATHS; longer lists are built each time.
 */
const PREPARED_PATHS = 8;
type PathValues = Record<`p${number}`, string>;
const pathList = (n: number, p: PathValues) => Array.from({ length: n }, (_, i) => p[`p${i}`]!);
const pathValues = (list: string[]): PathValues => Object.fromEntries(list.map((v, i) => [`p${i}`, v]));
const agentFilesIn = preparedShapes((n: number) => (db, p: { agentId: string } & PathValues) =>
  db.selectFrom('agent_files').select(['path', 'content', 'updated_at']).where('agent_id', '=', p.agentId).where('path', 'in', pathList(n, p)));
const personNotesIn = preparedShapes((n: number) => (db, p: { agentId: string; personId: string } & PathValues) =>
  db.selectFrom('person_notes').select(['path', 'content', 'updated_at']).where('agent_id', '=', p.agentId).where('person_id', '=', p.personId).where('path', 'in', pathList(n, p)));
/** The agent's files and the person's notes at the same paths, in one statement (`own`: 1 for a note of the person's). */
const filesAndNotesIn = preparedShapes((n: number) => (db, p: { agentId: string; personId: string } & PathValues) =>
  db.selectFrom('agent_files').select([sql<number>`0`.as('own'), 'path', 'content', 'updated_at']).where('agent_id', '=', p.agentId).where('path', 'in', pathList(n, p))
    .unionAll(db.selectFrom('person_notes').select([sql<number>`1`.as('own'), 'path', 'content', 'updated_at'])
      .where('agent_id', '=', p.agentId).where('person_id', '=', p.personId).where('path', 'in', pathList(n, p))));
/** How many of a person's most recent matching summaries are ranked (SQLite). */
const RANK_CANDIDATES = 200;
/** An agent's summaries; those matching an FTS5 expression (SQLite). */
const summariesOf = (db: Db, agentId: string) => db.selectFrom('summaries as s').select([...SUMMARY_COLS]).where('s.agent_id', '=', agentId);
const summariesMatching = (db: Db, match: string, agentId: string) => db.selectFrom('summaries_fts as f').innerJoin('summaries as s', 's.id', 'f.summary_id')
  .select([...SUMMARY_COLS]).where(sql<boolean>`summaries_fts match ${match}`).where('s.agent_id', '=', agentId);
/** A person's summaries (theirs and those of the people linked to them), every chat turn: prepared per 1, 2 or 4 people. */
const PEOPLE_SHAPES = [1, 2, 4];
/** Their most recent summaries (the memory a new session starts with). */
const personSummaries = preparedIn(PEOPLE_SHAPES, (db, people, p: { agentId: string; limit: number }) =>
  summariesOf(db, p.agentId).where('s.person_id', 'in', people).orderBy('s.ended_at', 'desc').limit(p.limit));
/** Memory recall on SQLite (before every reply): their most recent summaries matching the words (the MATCH expression is a value). */
const personRecall = preparedIn(PEOPLE_SHAPES, (db, people, p: { match: string; agentId: string; limit: number }) =>
  summariesMatching(db, p.match, p.agentId).where('s.person_id', 'in', people).orderBy('s.ended_at', 'desc').limit(p.limit));

/**
 * BM25 (k1 1.2, b 0.75) of each text for the words, with document frequencies taken over these texts
 * alone: the candidates a full-text MATCH already found for one person. Words are compared after a
 * light suffix strip ('orders' and 'ordered' count for 'order'). A text scores above zero even when
 * the strip misses the stemmer's match, so it still ranks, by recency, after the better ones.
 */
export function rankLocally(texts: string[], terms: string[]): number[] {
  const stem = (w: string) => {
    for (const end of ['ing', 'ed', 'es', 'ly', 's']) {
      if (w.endsWith(end) && w.length - end.length >= 3 && !(end === 's' && w.endsWith('ss'))) return w.slice(0, -end.length);
    }
    return w;
  };
  const words = [...new Set(terms.map((t) => stem(t.toLowerCase())))];
  const docs = texts.map((t) => (t.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).map(stem));
  const avg = docs.reduce((n, d) => n + d.length, 0) / Math.max(1, docs.length) || 1;
  const idf = new Map(words.map((w) => {
    const n = docs.filter((d) => d.includes(w)).length;
    return [w, Math.log(1 + (docs.length - n + 0.5) / (n + 0.5))];
  }));
  return docs.map((d) => {
    let score = 1e-6;
    for (const w of words) {
      const tf = d.reduce((n, x) => n + (x === w ? 1 : 0), 0);
      if (tf) score += idf.get(w)! * (tf * 2.2) / (tf + 1.2 * (0.25 + 0.75 * d.length / avg));
    }
    return score;
  });
}

/** Words of a search, safe to hand to either full-text engine (letters and digits only). */
export function searchTerms(q: string): string[] {
  const words = q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.filter((w) => w.length >= 2 && !STOPWORDS.has(w)))].slice(0, 24);
}
const STOPWORDS = new Set(('a an and are as at be but by did do does for from had has have how i in is it its me my of on or our '
  + 'so that the their them they this to us was we were what when where which who why will with you your about recall remember '
  + 'discuss discussed last chat talk talked tell').split(' '));

export function summaryRepo(db: Db, ids: IdGenerator, clock: Clock): SummaryRepo {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const scoped = (f: SummarySearch) => {
    let q = summariesOf(db, f.agentId);
    if (f.personIds) q = q.where('s.person_id', 'in', f.personIds.length ? f.personIds : ['']);
    return q;
  };
  const repo: SummaryRepo = {
    async insert(s) {
      await db.insertInto('summaries').values({
        id: ids.id(), conversation_id: s.conversationId, agent_id: s.agentId, person_id: s.personId, channel: s.channel,
        summary: s.summary, started_at: s.startedAt, ended_at: s.endedAt, message_count: s.messageCount, model: s.model,
        input_tokens: s.inputTokens, output_tokens: s.outputTokens, cost_usd: s.costUsd,
        embedding: s.embedding ? JSON.stringify(s.embedding) : null, created_at: clock.now().toISOString(),
      }).onConflict((oc) => oc.column('conversation_id').doNothing()).execute();
      return (await repo.byConversation(s.conversationId))!;
    },
    async byId(id) {
      const r = await db.selectFrom('summaries as s').select([...SUMMARY_COLS]).where('s.id', '=', id).executeTakeFirst();
      return r && toSummary(r);
    },
    async byConversation(conversationId) {
      const r = await db.selectFrom('summaries as s').select([...SUMMARY_COLS]).where('s.conversation_id', '=', conversationId).executeTakeFirst();
      return r && toSummary(r);
    },
    async list(f) {
      if (f.personIds) return f.personIds.length ? (await personSummaries(db, f.personIds, { agentId: f.agentId, limit: f.limit })).map(toSummary) : [];
      return (await summariesOf(db, f.agentId).orderBy('s.ended_at', 'desc').limit(f.limit).execute()).map(toSummary);
    },
    async search(f) {
      const terms = searchTerms(f.q);
      if (terms.length === 0) return [];
      if (pg) {
        // Any of the words; ts_rank weighs how often and how densely they occur.
        const query = sql`to_tsquery('english', ${terms.join(' | ')})`;
        const rows = await scoped(f).select(sql<number>`ts_rank(s.tsv, ${query})`.as('rank'))
          .where(sql<boolean>`s.tsv @@ ${query}`).orderBy('rank', 'desc').orderBy('s.ended_at', 'desc').limit(f.limit).execute();
        return rows.map((r) => ({ ...toSummary(r), rank: Number(r.rank) }));
      }
      if (f.personIds && f.personIds.length === 0) return [];
      // The agent and the people are tokens of the FTS5 table's `scope` column (migration 0031), so the MATCH
      // itself keeps to their summaries: FTS5 intersects the person's short list with the words' lists instead of
      // finding every matching summary of the installation. The words are searched in the body only.
      const people = f.personIds ? ` AND scope : (${f.personIds.map((id) => `"${ftsToken('p', id)}"`).join(' OR ')})` : '';
      const match = `scope : "${ftsToken('a', f.agentId)}"${people} AND body : (${terms.map((t) => `"${t}"`).join(' OR ')})`;
      if (!f.personIds) {
        // All of an agent's people (the operator's search): FTS5's bm25, over the body alone, negated so higher is
        // better on both dialects. It counts, for each word, every row of the table holding it; fine for a search
        // a person makes now and then, not for the recall before every reply (below).
        const rows = await summariesMatching(db, match, f.agentId).select(sql<number>`-bm25(summaries_fts, 0, 0, 1)`.as('rank')).orderBy('rank', 'desc').orderBy('s.ended_at', 'desc').limit(f.limit).execute();
        return rows.map((r) => ({ ...toSummary(r), rank: Number(r.rank) }));
      }
      // One person's summaries (memory recall, before every reply): ranked here over the candidates
      // (`rankLocally`), since bm25() cost ~2.5 ms a search with 20,000 summaries however few were the person's.
      const limit = Math.max(f.limit, RANK_CANDIDATES);
      const rows = (await personRecall(db, f.personIds, { match, agentId: f.agentId, limit })).map(toSummary);
      const ranks = rankLocally(rows.map((r) => r.summary), terms);
      return rows.map((r, i) => ({ ...r, rank: ranks[i]! }))
        .sort((a, b) => b.rank - a.rank || (a.endedAt < b.endedAt ? 1 : a.endedAt > b.endedAt ? -1 : 0)).slice(0, f.limit);
    },
    async withEmbeddings(f) {
      const rows = await scoped(f).where('s.embedding', 'is not', null).orderBy('s.ended_at', 'desc').limit(f.limit).execute();
      return rows.map((r) => ({ ...toSummary(r), embedding: JSON.parse(r.embedding!) as number[] }));
    },
  };
  return repo;
}

export function workspaceRepo(db: Db, clock: Clock): WorkspaceRepo {
  /** The one cap check every workspace writer passes (see domain/workspace.ts); throws WorkspaceFull. */
  async function room(agentId: string, path: string, newLength: number) {
    const r = await db.selectFrom('agent_files')
      .select([sql<number>`count(*)`.as('files'), sql<number>`coalesce(sum(length(content)), 0)`.as('total'),
        sql<number | null>`max(case when path = ${path} then length(content) end)`.as('existing')])
      .where('agent_id', '=', agentId).executeTakeFirstOrThrow();
    const why = workspaceRoom({ files: Number(r.files), total: Number(r.total), existing: r.existing === null ? null : Number(r.existing), newLength });
    if (why) throw new WorkspaceFull(why);
  }
  return {
    async list(agentId) {
      const rows = await db.selectFrom('agent_files').select(['path', 'updated_at', sql<number>`length(content)`.as('size')])
        .where('agent_id', '=', agentId).orderBy('path').execute();
      return rows.map((r) => ({ path: r.path, size: Number(r.size), updatedAt: r.updated_at }));
    },
    async get(agentId, path) {
      const r = await db.selectFrom('agent_files').select(['path', 'content', 'updated_at']).where('agent_id', '=', agentId).where('path', '=', path).executeTakeFirst();
      return r && { path: r.path, content: r.content, updatedAt: r.updated_at };
    },
    async getMany(agentId, paths) {
      if (!paths.length) return [];
      const rows = paths.length <= PREPARED_PATHS
        ? (await agentFilesIn(paths.length).execute(db, { agentId, ...pathValues(paths) })).rows
        : await db.selectFrom('agent_files').select(['path', 'content', 'updated_at']).where('agent_id', '=', agentId).where('path', 'in', paths).execute();
      return rows.map((r) => ({ path: r.path, content: r.content, updatedAt: r.updated_at }));
    },
    async put(agentId, path, content) {
      await room(agentId, path, content.length);
      const at = clock.now().toISOString();
      await db.insertInto('agent_files').values({ agent_id: agentId, path, content, updated_at: at })
        .onConflict((oc) => oc.columns(['agent_id', 'path']).doUpdateSet({ content, updated_at: at })).execute();
      return { path, content, updatedAt: at };
    },
    async putIf(agentId, path, content, base) {
      await room(agentId, path, content.length);
      let at = clock.now().toISOString();
      if (at === base) at = new Date(Date.parse(at) + 1).toISOString(); // a new version must look new
      if (base === null) {
        const r = await db.insertInto('agent_files').values({ agent_id: agentId, path, content, updated_at: at })
          .onConflict((oc) => oc.columns(['agent_id', 'path']).doNothing()).executeTakeFirst();
        return Number(r.numInsertedOrUpdatedRows ?? 0) === 1 ? { path, content, updatedAt: at } : undefined;
      }
      const r = await db.updateTable('agent_files').set({ content, updated_at: at })
        .where('agent_id', '=', agentId).where('path', '=', path).where('updated_at', '=', base).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1 ? { path, content, updatedAt: at } : undefined;
    },
    async append(agentId, path, text, maxLength) {
      try {
        const current = await db.selectFrom('agent_files').select(sql<number>`length(content)`.as('size')).where('agent_id', '=', agentId).where('path', '=', path).executeTakeFirst();
        await room(agentId, path, Number(current?.size ?? 0) + text.length);
      } catch (err) {
        if (err instanceof WorkspaceFull) return false;
        throw err;
      }
      const at = clock.now().toISOString();
      // One statement each, so two notes written at once both land.
      await db.insertInto('agent_files').values({ agent_id: agentId, path, content: '', updated_at: at })
        .onConflict((oc) => oc.columns(['agent_id', 'path']).doNothing()).execute();
      const r = await db.updateTable('agent_files').set({ content: sql<string>`content || ${text}`, updated_at: at })
        .where('agent_id', '=', agentId).where('path', '=', path)
        .where(sql<boolean>`length(content) + ${text.length} <= ${maxLength}`).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async delete(agentId, path) {
      const r = await db.deleteFrom('agent_files').where('agent_id', '=', agentId).where('path', '=', path).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}

export function personNotesRepo(db: Db, clock: Clock): PersonNotesRepo {
  const repo: PersonNotesRepo = {
    async get(agentId, personId, path) {
      const r = await db.selectFrom('person_notes').select(['path', 'content', 'updated_at'])
        .where('agent_id', '=', agentId).where('person_id', '=', personId).where('path', '=', path).executeTakeFirst();
      return r && { path: r.path, content: r.content, updatedAt: r.updated_at };
    },
    async getMany(agentId, personId, paths) {
      if (!paths.length) return [];
      const rows = paths.length <= PREPARED_PATHS
        ? (await personNotesIn(paths.length).execute(db, { agentId, personId, ...pathValues(paths) })).rows
        : await db.selectFrom('person_notes').select(['path', 'content', 'updated_at'])
          .where('agent_id', '=', agentId).where('person_id', '=', personId).where('path', 'in', paths).execute();
      return rows.map((r) => ({ path: r.path, content: r.content, updatedAt: r.updated_at }));
    },
    async withAgentFiles(agentId, personId, paths) {
      if (!paths.length || paths.length > PREPARED_PATHS) {
        const [shared, own] = await Promise.all([workspaceRepo(db, clock).getMany(agentId, paths), repo.getMany(agentId, personId, paths)]);
        return { shared, own };
      }
      const rows = (await filesAndNotesIn(paths.length).execute(db, { agentId, personId, ...pathValues(paths) })).rows;
      const file = (r: (typeof rows)[number]) => ({ path: r.path, content: r.content, updatedAt: r.updated_at });
      return { shared: rows.filter((r) => Number(r.own) === 0).map(file), own: rows.filter((r) => Number(r.own) === 1).map(file) };
    },
    async append(agentId, personId, path, text, maxLength) {
      const at = clock.now().toISOString();
      // One statement each, so two notes written at once both land.
      await db.insertInto('person_notes').values({ agent_id: agentId, person_id: personId, path, content: '', updated_at: at })
        .onConflict((oc) => oc.columns(['agent_id', 'person_id', 'path']).doNothing()).execute();
      const r = await db.updateTable('person_notes').set({ content: sql<string>`content || ${text}`, updated_at: at })
        .where('agent_id', '=', agentId).where('person_id', '=', personId).where('path', '=', path)
        .where(sql<boolean>`length(content) + ${text.length} <= ${maxLength}`).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  };
  return repo;
}
