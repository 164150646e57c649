import { describe, expect, it } from 'vitest';
import type { Agent } from '../domain/types.js';
import { AGENT_MEMO_MS, agentIdMemo, agentMemo } from './agent-memo.js';

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

describe('agentIdMemo', () => {
  it('reads once per agent id for AGENT_MEMO_MS, again once forgotten or after a failed read, and keeps at most max agents', async () => {
    let t = 0;
    let reads = 0;
    let fail = false;
    const memo = agentIdMemo(async (id: string) => {
      reads++;
      if (fail) throw new Error('database gone');
      return `${id}#${reads}`;
    }, () => t, 2);
    expect(await memo.get('a')).toBe('a#1');
    expect(await memo.get('a')).toBe('a#1'); // another request for the same agent: not read again
    t += AGENT_MEMO_MS - 1;
    expect(await memo.get('a')).toBe('a#1');
    t += 1;
    expect(await memo.get('a')).toBe('a#2');
    memo.forget('a'); // the service changed it: this process sees it at once
    expect(await memo.get('a')).toBe('a#3');
    fail = true;
    memo.forget('a');
    await expect(memo.get('a')).rejects.toThrow('database gone');
    fail = false;
    expect(await memo.get('a')).toBe('a#5'); // the failure was not remembered
    expect(await memo.get('b')).toBe('b#6');
    expect(await memo.get('c')).toBe('c#7'); // a third agent pushes out the oldest
    expect(await memo.get('b')).toBe('b#6');
    expect(await memo.get('a')).toBe('a#8');
  });
});
