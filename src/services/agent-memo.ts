/**
 * Things read about an agent that many questions of one message ask: remembered for at most
 * AGENT_MEMO_MS, and a failed read is not remembered. Two keys: `agentMemo` per Agent object (each
 * request loads its own, so a change — a suspension, a plan — counts from the next request), and
 * `agentIdMemo` per agent id, for facts changed only by a service of ours that forgets them when it does.
 */
import type { Agent } from '../domain/types.js';

export const AGENT_MEMO_MS = 2_000;

type Memo<T> = { at: number; value: Promise<T> };
type Memos<K, T> = { get(key: K): Memo<T> | undefined; set(key: K, memo: Memo<T>): unknown; delete(key: K): unknown };

/** The one mechanism of both: a value for AGENT_MEMO_MS per key, dropped when its read fails. */
function timedMemo<K, T>(memos: Memos<K, T>, read: (key: K) => Promise<T>, now: () => number, beforeSet?: (key: K) => void) {
  const set = (key: K, value: Promise<T>) => {
    beforeSet?.(key);
    memos.set(key, { at: now(), value });
    value.catch(() => { if (memos.get(key)?.value === value) memos.delete(key); });
  };
  const get = (key: K) => {
    const memo = memos.get(key);
    if (memo && now() - memo.at < AGENT_MEMO_MS) return memo.value;
    const value = read(key);
    set(key, value);
    return value;
  };
  return { get, set };
}

export type AgentMemo<T> = {
  get(agent: Agent): Promise<T>;
  /** What the caller already knows for this request (read a moment ago for another purpose). */
  set(agent: Agent, value: Promise<T>): void;
};

/** Remembered against the Agent object the request loaded, for at most AGENT_MEMO_MS in case it outlives its request. */
export function agentMemo<T>(read: (agent: Agent) => Promise<T>, now: () => number = () => performance.now()): AgentMemo<T> {
  return timedMemo(new WeakMap<Agent, Memo<T>>(), read, now);
}

/**
 * Kept per agent id (not per request) for AGENT_MEMO_MS: the service that changes the fact calls
 * `forget` after its change commits, so this process sees it at once and another process within
 * AGENT_MEMO_MS. Only for facts a stale answer cannot turn into a broken guarantee (money and access
 * stay per request). At most `max` agents are kept.
 */
export type AgentIdMemo<T> = { get(agentId: string): Promise<T>; forget(agentId: string): void };

export function agentIdMemo<T>(read: (agentId: string) => Promise<T>, now: () => number = () => performance.now(), max = 10_000): AgentIdMemo<T> {
  const memos = new Map<string, Memo<T>>();
  const { get } = timedMemo(memos, read, now, (agentId) => {
    if (memos.size >= max && !memos.has(agentId)) memos.delete(memos.keys().next().value!);
  });
  return { get, forget: (agentId) => { memos.delete(agentId); } };
}
