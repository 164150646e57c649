import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandCgroup, detectCgroup, enableCgroup } from './exec-cgroup.js';

/** A directory shaped like /sys/fs/cgroup with the service's own cgroup in it (plain files stand in for cgroupfs). */
function fakeCgroupRoot(controllers = 'cpu memory pids') {
  const root = mkdtempSync(join(tmpdir(), 'sb-cgroup-'));
  const own = join(root, 'system.slice', 'switchboard.service');
  mkdirSync(own, { recursive: true });
  for (const [f, v] of [['cgroup.controllers', controllers], ['cgroup.procs', '4242\n'], ['cgroup.subtree_control', '']]) writeFileSync(join(own, f), v);
  return { root, own };
}

describe('the exec sandbox and cgroup v2', () => {
  const made: string[] = [];
  afterEach(() => { for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true }); });

  it('uses a delegated cgroup v2 with the memory and pids controllers', () => {
    const { root, own } = fakeCgroupRoot();
    made.push(root);
    expect(detectCgroup({ root, procSelfCgroup: '0::/system.slice/switchboard.service\n' })).toEqual({ ok: true, dir: own });
  });

  it('falls back, saying why, on cgroup v1 or hybrid, or without the controllers', () => {
    const { root } = fakeCgroupRoot('cpu');
    made.push(root);
    expect(detectCgroup({ root, procSelfCgroup: '4:memory:/x\n0::/\n' })).toMatchObject({ ok: false, reason: expect.stringMatching(/v1 or hybrid/) });
    expect(detectCgroup({ root, procSelfCgroup: '0::/system.slice/switchboard.service\n' })).toMatchObject({ ok: false, reason: expect.stringMatching(/Delegate=yes/) });
    expect(detectCgroup({ root, procSelfCgroup: '0::/elsewhere\n' })).toMatchObject({ ok: false, reason: expect.stringMatching(/Delegate=yes/) });
  });

  it('moves the service to a leaf, enables the controllers and gives each command its limits', () => {
    const { root, own } = fakeCgroupRoot();
    made.push(root);
    enableCgroup(own, [4242]);
    expect(readFileSync(join(own, 'service', 'cgroup.procs'), 'utf8')).toBe('4242');
    expect(readFileSync(join(own, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +pids');
    const cg = commandCgroup(own, 'exec-1', { memoryBytes: 512 << 20, processes: 128 });
    expect(readFileSync(join(own, 'exec-1', 'memory.max'), 'utf8')).toBe(String(512 << 20));
    expect(readFileSync(join(own, 'exec-1', 'pids.max'), 'utf8')).toBe('128');
    cg.add(777);
    expect(readFileSync(join(own, 'exec-1', 'cgroup.procs'), 'utf8')).toBe('777');
    writeFileSync(join(own, 'exec-1', 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    expect(cg.oomKilled()).toBe(true);
  });
});
