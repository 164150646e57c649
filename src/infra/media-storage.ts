/**
 * The MediaStorage adapters: files on disk under DATA_DIR/media (the default), an S3-compatible bucket
 * (SWITCHBOARD_MEDIA_S3_*), or memory (tests with DATA_DIR=':memory:'). Keys are the sha256 of the
 * bytes, so the same file sent twice is stored once; who may see a file is the media records' business
 * (services/media.ts), never the storage's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MediaStorage } from '../domain/ports.js';

const KEY = /^[0-9a-f]{64}$/;
export const contentKey = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** A key this storage could have issued; anything else (a path, a traversal) is refused before it reaches a file name or URL. */
function checked(key: string): string {
  if (!KEY.test(key)) throw new Error('not a media storage key');
  return key;
}

/** Files under `dir`, in two levels of sub-folders by the key's first characters; files 0600, folders 0700, written atomically. */
export function diskMediaStorage(dir: string): MediaStorage {
  const pathOf = (key: string) => join(dir, key.slice(0, 2), key.slice(2, 4), checked(key));
  return {
    kind: 'disk',
    async put(bytes) {
      const key = contentKey(bytes);
      const file = pathOf(key);
      const folder = join(dir, key.slice(0, 2), key.slice(2, 4));
      await mkdir(folder, { recursive: true, mode: 0o700 });
      // A temporary name in the same folder, then rename: a reader never sees half a file.
      const tmp = join(folder, `.${key}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        await writeFile(tmp, bytes, { mode: 0o600 });
        await chmod(tmp, 0o600); // the umask cannot widen it, but an existing file's mode is not changed by writeFile
        await rename(tmp, file);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      return key;
    },
    async get(key) {
      try { return new Uint8Array(await readFile(pathOf(key))); } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async delete(key) { await rm(pathOf(key), { force: true }); },
  };
}

/** In memory, for tests (DATA_DIR=':memory:'). */
export function memoryMediaStorage(): MediaStorage & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    kind: 'memory',
    files,
    async put(bytes) { const key = contentKey(bytes); files.set(key, new Uint8Array(bytes)); return key; },
    async get(key) { return files.get(checked(key)); },
    async delete(key) { files.delete(checked(key)); },
  };
}

export type S3Options = {
  bucket: string;
  /** e.g. https://s3.eu-central-1.amazonaws.com, https://<account>.r2.cloudflarestorage.com, http://minio:9000 */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style addressing (`<endpoint>/<bucket>/<key>`), which MinIO and most self-hosted servers need; else virtual-hosted (`<bucket>.<host>`). */
  pathStyle: boolean;
  /** Objects are stored under this prefix (default `media/`). */
  prefix?: string;
  timeoutMs?: number;
};

/** Where an object lives: `<endpoint>/<bucket>/<prefix><key>` (path-style) or `<bucket>.<endpoint host>/<prefix><key>`. */
export function s3ObjectUrl(o: Pick<S3Options, 'endpoint' | 'bucket' | 'pathStyle' | 'prefix'>, key: string): string {
  const base = new URL(o.endpoint.replace(/\/+$/, '') + '/');
  const object = (o.prefix ?? 'media/') + checked(key);
  if (o.pathStyle) return new URL(`${encodeURIComponent(o.bucket)}/${object}`, base).toString();
  const u = new URL(object, base);
  u.hostname = `${o.bucket}.${u.hostname}`;
  return u.toString();
}

/** An S3-compatible bucket, signed with SigV4 (aws4fetch, loaded on first use). Errors name the operation and status, never the keys. */
export function s3MediaStorage(o: S3Options): MediaStorage {
  type Client = { fetch(url: string, init?: RequestInit): Promise<Response> };
  let client: Promise<Client> | undefined;
  const signer = () => (client ??= import('aws4fetch').then(({ AwsClient }) => new AwsClient({
    accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey, region: o.region, service: 's3',
  })));
  const urlOf = (key: string) => s3ObjectUrl(o, key);
  async function call(key: string, init: RequestInit = {}): Promise<Response> {
    const c = await signer();
    return c.fetch(urlOf(key), { ...init, signal: AbortSignal.timeout(o.timeoutMs ?? 30_000) });
  }
  const failed = async (op: string, res: Response) => {
    const text = (await res.text().catch(() => '')).match(/<Code>([^<]{1,64})<\/Code>/)?.[1];
    return new Error(`S3 ${op} failed: ${res.status}${text ? ` ${text}` : ''}`);
  };
  return {
    kind: 's3',
    async put(bytes) {
      const key = contentKey(bytes);
      const res = await call(key, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
      if (!res.ok) throw await failed('put', res);
      await res.body?.cancel();
      return key;
    },
    async get(key) {
      const res = await call(key);
      if (res.status === 404) { await res.body?.cancel(); return undefined; }
      if (!res.ok) throw await failed('get', res);
      return new Uint8Array(await res.arrayBuffer());
    },
    async delete(key) {
      const res = await call(key, { method: 'DELETE' });
      if (!res.ok && res.status !== 404) throw await failed('delete', res);
      await res.body?.cancel();
    },
  };
}
