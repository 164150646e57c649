/** Accounts: users, sessions and API keys, and the one-time links sent by e-mail. */
import type { Role, User } from '../types.js';

export type NewUser = { email: string; passwordHash: string; role: Role; name?: string | null };
export interface UserRepo {
  count(): Promise<number>;
  countByRole(role: Role): Promise<number>;
  insert(u: NewUser): Promise<User>;
  byId(id: string): Promise<User | undefined>;
  byEmailWithHash(email: string): Promise<(User & { passwordHash: string }) | undefined>;
  list(): Promise<User[]>;
  setBudget(id: string, monthlyBudgetUsd: number | null): Promise<boolean>;
  /** Takes a write lock on the user's row until the transaction ends (serializes per-customer checks). */
  lock(id: string): Promise<void>;
  /** Changes the status; false when it already was that (or no such user). */
  setStatus(id: string, status: 'active' | 'suspended'): Promise<boolean>;
  setPasswordHash(id: string, passwordHash: string): Promise<void>;
  /** Records the first verification of the user's e-mail address; later calls keep the first time. */
  markEmailVerified(id: string, at: string): Promise<void>;
  delete(id: string): Promise<boolean>;
}

export type TokenRow = { id: string; userId: string; kind: 'session' | 'api_key'; name: string; prefix: string; createdAt: string; lastUsedAt: string | null; expiresAt: string | null };
export interface TokenRepo {
  insert(t: { userId: string; kind: 'session' | 'api_key'; name: string; prefix: string; hash: string; expiresAt: string | null }): Promise<TokenRow>;
  byHash(hash: string): Promise<TokenRow | undefined>;
  /** The token and its user, read together (every authenticated request asks). */
  withUser(hash: string): Promise<{ token: TokenRow; user: User } | undefined>;
  touch(id: string, at: string): Promise<void>;
  listKeys(userId: string): Promise<TokenRow[]>;
  delete(id: string, userId?: string): Promise<boolean>;
  /** Ends every session of a user (API keys stay); returns how many. */
  deleteSessions(userId: string): Promise<number>;
}

/** One-time links sent by e-mail. Only the sha256 of the token is stored. */
export type AuthTokenKind = 'verify_email' | 'reset_password' | 'magic_link';
export interface AuthTokenRepo {
  insert(t: { userId: string; kind: AuthTokenKind; tokenHash: string; expiresAt: string }): Promise<void>;
  /** Uses the token if it is of this kind, unused and unexpired at `now`; exactly one caller wins. Answers its user. */
  consume(kind: AuthTokenKind, tokenHash: string, now: string): Promise<{ userId: string } | undefined>;
  /** Tokens of a kind issued to a user since `since` (to limit mails per address). */
  countSince(userId: string, kind: AuthTokenKind, since: string): Promise<number>;
  /** Marks a user's unused tokens of these kinds as used (a new password voids older links). */
  revoke(userId: string, kinds: AuthTokenKind[], now: string): Promise<number>;
  /** Deletes tokens that expired before `before` (long past any rate-limit window). */
  purge(before: string): Promise<number>;
}
