import type { Db } from '../db.js';
import type { Clock, MediaRepo } from '../../domain/ports.js';
import type { MediaItem } from '../../domain/types.js';
import type { Database } from '../schema.js';
import { preparedIn } from '../prepared.js';

/** The media of a conversation's messages (its images are shown to the model again; every chat turn asks): prepared per 1, 2, 4 … 64 ids. */
const mediaOfMessages = preparedIn([1, 2, 4, 8, 16, 32, 64], (db, ids) => db.selectFrom('media').selectAll()
  .where('message_id', 'in', ids).orderBy('created_at').orderBy('id'));
type Row = Database['media'];
const toMedia = (r: Row): MediaItem => ({
  id: r.id, agentId: r.agent_id, personId: r.person_id, conversationId: r.conversation_id, messageId: r.message_id,
  kind: r.kind as MediaItem['kind'], mimeType: r.mime_type, bytes: Number(r.bytes), storageKey: r.storage_key, sha256: r.sha256,
  durationSeconds: r.duration_seconds === null ? null : Number(r.duration_seconds), width: r.width === null ? null : Number(r.width),
  height: r.height === null ? null : Number(r.height), transcript: r.transcript, createdAt: r.created_at, expiresAt: r.expires_at,
});

/** Media records; the files themselves are the MediaStorage's (services/media.ts deletes them after the rows are gone). */
export function mediaRepo(db: Db, clock: Clock): MediaRepo {
  /** Deletes the rows a query selects, in one statement after reading their keys (inside the caller's transaction, if any). */
  async function eraseWhere(select: (q: Db) => any): Promise<string[]> {
    const run = async (tx: Db) => {
      const rows: { id: string; storage_key: string }[] = await select(tx).select(['id', 'storage_key']).execute();
      if (!rows.length) return [];
      for (let i = 0; i < rows.length; i += 500) await tx.deleteFrom('media').where('id', 'in', rows.slice(i, i + 500).map((r) => r.id)).execute();
      return [...new Set(rows.map((r) => r.storage_key))];
    };
    return db.isTransaction ? run(db) : db.transaction().execute(run);
  }
  return {
    async insert(m) {
      const createdAt = clock.now().toISOString();
      await db.insertInto('media').values({
        id: m.id, agent_id: m.agentId, person_id: m.personId, conversation_id: m.conversationId, message_id: m.messageId, kind: m.kind,
        mime_type: m.mimeType, bytes: m.bytes, storage_key: m.storageKey, sha256: m.sha256, duration_seconds: m.durationSeconds,
        width: m.width, height: m.height, transcript: m.transcript, created_at: createdAt, expires_at: m.expiresAt,
      }).execute();
      return { ...m, createdAt };
    },
    async byId(id) {
      const r = await db.selectFrom('media').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toMedia(r) : undefined;
    },
    async update(id, p) {
      const set: Partial<Row> = {};
      if (p.conversationId !== undefined) set.conversation_id = p.conversationId;
      if (p.messageId !== undefined) set.message_id = p.messageId;
      if (p.transcript !== undefined) set.transcript = p.transcript;
      if (Object.keys(set).length) await db.updateTable('media').set(set).where('id', '=', id).execute();
    },
    async forMessages(messageIds) {
      if (!messageIds.length) return [];
      return (await mediaOfMessages(db, messageIds, {})).map(toMedia);
    },
    eraseByPerson(personId, agentIds) {
      return eraseWhere((tx) => {
        let q = tx.selectFrom('media').where('person_id', '=', personId);
        if (agentIds) q = q.where('agent_id', 'in', agentIds.length ? agentIds : ['']);
        return q;
      });
    },
    eraseByAgent(agentId) {
      return eraseWhere((tx) => tx.selectFrom('media').where('agent_id', '=', agentId));
    },
    eraseExpired(now, limit) {
      return eraseWhere((tx) => tx.selectFrom('media').where('expires_at', '<=', now).orderBy('expires_at').limit(limit));
    },
    async isReferenced(key) {
      return !!(await db.selectFrom('media').select('id').where('storage_key', '=', key).limit(1).executeTakeFirst());
    },
  };
}
