/** Media: the file storage port (bytes by content) and the repository of media records (who owns which file). */
import type { MediaItem } from '../types.js';

/**
 * Where media bytes live: a directory on disk (DATA_DIR/media) or an S3-compatible bucket. Keys are
 * chosen by the storage (content-addressed: the same bytes get the same key), never by a client.
 */
export interface MediaStorage {
  readonly kind: 'disk' | 's3' | 'memory';
  /** Stores the bytes (idempotent for the same bytes) and answers their key. */
  put(bytes: Uint8Array): Promise<string>;
  /** The bytes under a key, or undefined when there are none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Deletes the bytes under a key; deleting what is not there is not an error. */
  delete(key: string): Promise<void>;
}

export type NewMedia = Omit<MediaItem, 'createdAt'>;

export interface MediaRepo {
  insert(m: NewMedia): Promise<MediaItem>;
  byId(id: string): Promise<MediaItem | undefined>;
  /** Fills in what is learned after the upload (the conversation and message it belongs to, its transcript). */
  update(id: string, patch: Partial<Pick<MediaItem, 'conversationId' | 'messageId' | 'transcript'>>): Promise<void>;
  /** Media of these messages, for transcripts. */
  forMessages(messageIds: string[]): Promise<MediaItem[]>;
  /** Deletes a person's media (only with these agents, when given); answers the storage keys the rows held. */
  eraseByPerson(personId: string, agentIds?: string[]): Promise<string[]>;
  /** Deletes an agent's media; answers the storage keys the rows held. */
  eraseByAgent(agentId: string): Promise<string[]>;
  /** Deletes up to `limit` rows expired at `now`; answers their storage keys. */
  eraseExpired(now: string, limit: number): Promise<string[]>;
  /** Whether any row still refers to this storage key (a file shared by content hash). */
  isReferenced(storageKey: string): Promise<boolean>;
}
