/**
 * Media storage: on disk (content-addressed, 0600 files in 0700 folders, written whole or not at
 * all) and in an S3-compatible bucket (SigV4-signed requests, checked by the fake against the secret).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contentKey, diskMediaStorage, s3MediaStorage, s3ObjectUrl } from './media-storage.js';
import { startFakeS3, type FakeS3 } from '../../test/fakes/s3-server.js';

const bytes = new TextEncoder().encode('a voice note, pretend');

describe('disk media storage', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'sb-media-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores bytes under their sha256, readable only by this user, and the same bytes once', async () => {
    const s = diskMediaStorage(join(dir, 'media'));
    const key = await s.put(bytes);
    expect(key).toBe(contentKey(bytes));
    expect(await s.put(bytes)).toBe(key);
    const file = join(dir, 'media', key.slice(0, 2), key.slice(2, 4), key);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'media', key.slice(0, 2))).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dir, 'media', key.slice(0, 2), key.slice(2, 4)))).toEqual([key]); // no temporary file left behind
    expect(Buffer.from((await s.get(key))!).toString()).toBe('a voice note, pretend');
    await s.delete(key);
    expect(await s.get(key)).toBeUndefined();
    await s.delete(key); // deleting what is gone is fine
  });

  it('refuses keys it could not have issued (no path traversal)', async () => {
    const s = diskMediaStorage(join(dir, 'media'));
    await expect(s.get('../../etc/passwd')).rejects.toThrow('not a media storage key');
  });
});

describe('S3 media storage', () => {
  const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'eu-central-1', bucket: 'switchboard-media' };
  let s3: FakeS3;
  beforeAll(async () => { s3 = await startFakeS3(creds); });
  afterAll(async () => { await s3.close(); });

  it('puts, gets and deletes objects with signed requests (path-style)', async () => {
    const store = s3MediaStorage({ ...creds, endpoint: s3.url, pathStyle: true });
    const key = await store.put(bytes);
    expect(key).toBe(contentKey(bytes));
    expect(s3.objects.get(`switchboard-media/media/${key}`)?.toString()).toBe('a voice note, pretend');
    expect(Buffer.from((await store.get(key))!).toString()).toBe('a voice note, pretend');
    await store.delete(key);
    expect(await store.get(key)).toBeUndefined();
    expect(s3.journal.every((j) => String(j.headers.authorization).startsWith('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/'))).toBe(true);
  });

  it('uses virtual-hosted addressing unless path-style is asked for', () => {
    const key = contentKey(bytes);
    expect(s3ObjectUrl({ endpoint: 'https://s3.eu-central-1.amazonaws.com', bucket: 'b', pathStyle: false }, key)).toBe(`https://b.s3.eu-central-1.amazonaws.com/media/${key}`);
    expect(s3ObjectUrl({ endpoint: 'http://minio:9000/', bucket: 'b', pathStyle: true }, key)).toBe(`http://minio:9000/b/media/${key}`);
  });

  it('fails clearly when the secret is wrong, without echoing it', async () => {
    const store = s3MediaStorage({ ...creds, secretAccessKey: 'not-the-secret', endpoint: s3.url, pathStyle: true });
    const err = await store.put(bytes).catch((e: Error) => e);
    expect(String(err)).toContain('S3 put failed: 403 SignatureDoesNotMatch');
    expect(String(err)).not.toContain('not-the-secret');
  });
});
