/**
 * Something read about an agent once per request, not once per question: remembered against the Agent
 * object the request loaded (each request loads its own), and for at most AGENT_MEMO_MS in case an
 * object outlives its request — so a change (a suspension, a plan, a knowledge source added) counts from
 * the next request. A failed read is not remembered.
 */
import type { Agent } from '../domain/types.js';

export const AGENT_MEMO_MS = 2_000;

export type AgentMemo<T> = {
  get(agent: Agent): Promise<T>;
  /** What the caller already knows for this request (read a moment ago for another purpose). */
  set(agent: Agent, value: Promise<T>): void;
};

export function agentMemo<T>(read: (agent: Agent) => Promise<T>, now: () => number = () => performance.now()): AgentMemo<T> {
  const memos = new WeakMap<Agent, { at: number; value: Promise<T> }>();
  const set = (agent: Agent, value: Promise<T>) => {
    memos.set(agent, { at: now(), value });
    value.catch(() => { if (memos.get(agent)?.value === value) memos.delete(agent); });
  };
  return {
    get(agent) {
      const memo = memos.get(agent);
      if (memo && now() - memo.at < AGENT_MEMO_MS) return memo.value;
      const value = read(agent);
      set(agent, value);
      return value;
    },
    set,
  };
}

/**
 * Something read about an agent that changes rarely and only through this installation's own services,
 * kept per agent id (not per request) for AGENT_MEMO_MS: the service that changes it calls `forget`
 * after its change commits, so this process sees it at once and another process within AGENT_MEMO_MS.
 * Only for facts a stale answer cannot turn into a broken guarantee (money and access stay per request).
 * At most `max` agents are kept; a failed read is not remembered.
 */
export type AgentIdMemo<T> = { get(agentId: string): Promise<T>; forget(agentId: string): void };

export function agentIdMemo<T>(read: (agentId: string) => Promise<T>, now: () => number = () => performance.now(), max = 10_000): AgentIdMemo<T> {
  const memos = new Map<string, { at: number; value: Promise<T> }>();
  return {
    get(agentId) {
      const memo = memos.get(agentId);
      if (memo && now() - memo.at < AGENT_MEMO_MS) return memo.value;
      const value = read(agentId);
      if (memos.size >= max && !memos.has(agentId)) memos.delete(memos.keys().next().value!);
      memos.set(agentId, { at: now(), value });
      value.catch(() => { if (memos.get(agentId)?.value === value) memos.delete(agentId); });
      return value;
    },
    forget(agentId) { memos.delete(agentId); },
  };
}
