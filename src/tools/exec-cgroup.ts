/**
 * cgroup v2 for the exec sandbox, where the service has a delegated cgroup (systemd `Delegate=yes`,
 * see deploy/switchboard.service): each command runs in its own child cgroup whose memory.max and
 * pids.max bound the command as a whole, whatever it forks, and cgroup.kill ends it. Without a
 * writable delegated cgroup v2 the sandbox falls back to per-process limits (see exec.ts).
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync, accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export type CgroupProbe = { ok: true; dir: string } | { ok: false; reason: string };

/** Whether this process may create child cgroups with the memory and pids controllers; where. */
export function detectCgroup(o: { procSelfCgroup?: string; root?: string } = {}): CgroupProbe {
  const root = o.root ?? '/sys/fs/cgroup';
  let self: string;
  try { self = o.procSelfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'); } catch { return { ok: false, reason: 'no /proc/self/cgroup' }; }
  const lines = self.split('\n').filter(Boolean);
  const unified = lines.find((l) => l.startsWith('0::'));
  if (!unified || lines.length > 1) return { ok: false, reason: 'cgroup v2 is not the only hierarchy here (cgroup v1 or hybrid)' };
  const dir = join(root, unified.slice(3));
  try {
    const available = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (!available.includes('memory') || !available.includes('pids')) return { ok: false, reason: 'the service\'s cgroup has no memory and pids controllers (set Delegate=yes in the systemd unit)' };
    accessSync(dir, constants.W_OK);
    accessSync(join(dir, 'cgroup.procs'), constants.W_OK);
    accessSync(join(dir, 'cgroup.subtree_control'), constants.W_OK);
  } catch {
    return { ok: false, reason: 'the service\'s cgroup is not delegated to it (set Delegate=yes in the systemd unit)' };
  }
  return { ok: true, dir };
}

/**
 * Prepares the delegated cgroup once: the service's own processes move to a leaf ("service"),
 * because a cgroup that hands controllers to its children may hold no processes itself; then the
 * memory and pids controllers are enabled for the command cgroups.
 */
export function enableCgroup(dir: string, pids: number[] = [process.pid]) {
  const leaf = join(dir, 'service');
  mkdirSync(leaf, { recursive: true });
  for (const pid of pids) writeFileSync(join(leaf, 'cgroup.procs'), String(pid));
  // Any other process still here (a worker the service started) must follow before controllers can be enabled.
  for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
    try { writeFileSync(join(leaf, 'cgroup.procs'), pid); } catch { /* gone meanwhile */ }
  }
  writeFileSync(join(dir, 'cgroup.subtree_control'), '+memory +pids');
}

/** One command's cgroup: its limits, the process put in it, what happened, and its removal. */
export function commandCgroup(dir: string, name: string, limits: { memoryBytes: number; processes: number }) {
  const path = join(dir, name);
  mkdirSync(path);
  writeFileSync(join(path, 'memory.max'), String(limits.memoryBytes));
  if (existsSync(join(path, 'memory.swap.max'))) writeFileSync(join(path, 'memory.swap.max'), '0');
  writeFileSync(join(path, 'pids.max'), String(limits.processes));
  // Out of memory, the whole command goes, not just its largest process.
  if (existsSync(join(path, 'memory.oom.group'))) writeFileSync(join(path, 'memory.oom.group'), '1');
  const events = () => {
    try { return Object.fromEntries(readFileSync(join(path, 'memory.events'), 'utf8').split('\n').filter(Boolean).map((l) => { const [k, v] = l.split(' '); return [k!, Number(v)]; })); } catch { return {} as Record<string, number>; }
  };
  return {
    add(pid: number) { writeFileSync(join(path, 'cgroup.procs'), String(pid)); },
    /** Whether the kernel killed a process of the command for memory. */
    oomKilled: () => (events().oom_kill ?? 0) > 0,
    /** Current memory of the whole command, in bytes. */
    memory: () => { try { return Number(readFileSync(join(path, 'memory.current'), 'utf8')); } catch { return 0; } },
    kill() {
      try { writeFileSync(join(path, 'cgroup.kill'), '1'); } catch {
        for (const pid of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
      }
    },
    async remove() {
      for (let i = 0; i < 50; i++) {
        try { rmdirSync(path); return; } catch { await new Promise((r) => setTimeout(r, 20)); }
      }
    },
  };
}
