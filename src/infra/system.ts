import { randomBytes, randomUUID, createHash, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';
import type { Clock, IdGenerator, PasswordHasher } from '../domain/ports.js';

export const systemClock: Clock = { now: () => new Date() };

export const randomIds: IdGenerator = {
  id: () => randomUUID(),
  token: (bytes = 32) => randomBytes(bytes).toString('base64url'),
};

/** argon2id with the library's defaults (m=64 MiB, t=3, p=4). */
export const argon2Hasher: PasswordHasher = {
  hash: (password) => argon2.hash(password, { type: argon2.argon2id }),
  verify: async (hash, password) => {
    try { return await argon2.verify(hash, password); } catch { return false; }
  },
};

export const sha256 = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
