import { describe, expect, it } from 'vitest';
import type { Agent } from '../domain/types.js';
import { AGENT_MEMO_MS, agentMemo } from './agent-memo.js';

describe('agentMemo', () => {
  it('reads once per Agent object, again for another object, after AGENT_MEMO_MS, and after a failed read', async () => {
    let t = 0;
    let reads = 0;
    let fail = false;
    const memo = agentMemo(async (a: Agent) => {
      reads++;
      if (fail) throw new Error('database gone');
      return `${a.id}#${reads}`;
    }, () => t);
    const a = { id: 'a' } as Agent;
    const sameAgentLoadedAgain = { id: 'a' } as Agent;
    expect(await memo.get(a)).toBe('a#1');
    expect(await memo.get(a)).toBe('a#1');
    expect(await memo.get(sameAgentLoadedAgain)).toBe('a#2'); // each request loads its own object
    t += AGENT_MEMO_MS - 1;
    expect(await memo.get(a)).toBe('a#1');
    t += 1;
    expect(await memo.get(a)).toBe('a#3'); // an object that outlived its request reads again
    fail = true;
    t += AGENT_MEMO_MS;
    await expect(memo.get(a)).rejects.toThrow('database gone');
    fail = false;
    expect(await memo.get(a)).toBe('a#5'); // the failure was not remembered
    memo.set(a, Promise.resolve('known'));
    expect(await memo.get(a)).toBe('known');
    expect(reads).toBe(5);
  });
});
