import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aesGcmBox, loadSecretKey } from './secret-box.js';

describe('secret box (AES-256-GCM)', () => {
  const box = aesGcmBox(Buffer.alloc(32, 7));

  it('round-trips and never repeats a ciphertext', () => {
    const a = box.seal('sk-live-123 ✓');
    expect(a).not.toContain('sk-live');
    expect(box.seal('sk-live-123 ✓')).not.toBe(a);
    expect(box.open(a)).toBe('sk-live-123 ✓');
  });

  it('detects tampering and wrong keys', () => {
    const sealed = box.seal('secret');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('xxxxxx').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => aesGcmBox(Buffer.alloc(32, 8)).open(sealed)).toThrow();
  });

  it('generates a key file once with mode 0600, or takes the key from the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-key-'));
    const k1 = loadSecretKey(undefined, dir);
    const k2 = loadSecretKey(undefined, dir);
    expect(k1.equals(k2)).toBe(true);
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'secret.key'), 'utf8').trim()).toHaveLength(64);
    expect(loadSecretKey('ab'.repeat(32), dir).toString('hex')).toBe('ab'.repeat(32));
  });
});
