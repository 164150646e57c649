/**
 * exec: a shell command in a bubblewrap sandbox. The agent's workspace is materialized read-write in
 * a fresh temporary directory; the system's /usr is read-only; there is no network, no /etc, no
 * host paths, no other agent; the command runs as an unprivileged user with CPU, memory, process
 * and file-size limits, a wall-clock timeout and capped output, and every process is killed at the
 * end. Files the command created or changed are written back to the workspace. Without bubblewrap
 * the tool is unavailable — never a silent fallback to running on the host.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { ModelTool, Store } from '../domain/ports.js';
import { PERSONA_FILES } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import { FILE_MAX_CHARS, WORKSPACE_MAX_CHARS, WORKSPACE_MAX_FILES, workspacePath } from './fs-tools.js';
import type { ToolProvider } from './toolbox.js';
import { WorkspaceFull, isSharedNotesPath } from '../domain/workspace.js';
import { commandCgroup, detectCgroup, enableCgroup } from './exec-cgroup.js';

export type SandboxLimits = {
  timeoutMs: number; cpuSeconds: number; memoryBytes: number; processes: number; fileBytes: number; outputBytes: number;
  /** Size of the command's /tmp and of its copy of the workspace (each a tmpfs of this size). */
  tmpBytes: number; workspaceBytes: number;
  /** How long a call waits for a free sandbox slot before it is told to try again. */
  queueMs: number;
};
export const DEFAULT_LIMITS: SandboxLimits = {
  timeoutMs: 20_000, cpuSeconds: 10, memoryBytes: 512 * 1024 * 1024, processes: 128, fileBytes: 16 * 1024 * 1024, outputBytes: 32 * 1024,
  tmpBytes: 64 * 1024 * 1024, workspaceBytes: 64 * 1024 * 1024, queueMs: 30_000,
};
const NOBODY = 65534;
/** Run as root, slot n's commands run as uid/gid SLOT_UID_BASE + n, so RLIMIT_NPROC (counted per uid) is per slot. */
export const SLOT_UID_BASE = 2_147_000_000;
const PERSONA_PATHS = new Set<string>(Object.values(PERSONA_FILES));
/** How long the sandbox gets, after being told to stop, to hand back the workspace before it is killed. */
const HAND_BACK_MS = 5_000;
const WATCH_MS = 100;

/** Whether bubblewrap can build a sandbox here; the reason when it cannot. Checked once. */
let probe: { ok: true } | { ok: false; reason: string } | undefined;
export function sandboxStatus(): { ok: true } | { ok: false; reason: string } {
  if (probe) return probe;
  const which = spawnSync('bwrap', ['--version'], { encoding: 'utf8' });
  if (which.error || which.status !== 0) return (probe = { ok: false, reason: 'bubblewrap (bwrap) is not installed on the server; install the Debian package "bubblewrap"' });
  const r = spawnSync('prlimit', ['--', 'bwrap', ...systemBinds(), '--size', '1048576', '--tmpfs', '/tmp', '--unshare-all', '--die-with-parent', '--as-pid-1', '/bin/sh', '-c', 'exit 0'], { encoding: 'utf8', timeout: 10_000, ...runAs() });
  if (r.error || r.status !== 0) return (probe = { ok: false, reason: `bubblewrap cannot create a sandbox here: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().slice(0, 200)}` });
  return (probe = { ok: true });
}

/**
 * How a command as a whole is bounded here: in its own cgroup v2 (memory and process count enforced
 * by the kernel for everything it forks) when the service has a delegated cgroup, otherwise by
 * per-process limits plus a watchdog that sums the resident memory of all its processes.
 */
export type SandboxMode = { kind: 'cgroup'; dir: string } | { kind: 'rlimit'; why: string };
let mode: SandboxMode | undefined;
export function sandboxMode(): SandboxMode {
  if (mode) return mode;
  const cg = detectCgroup();
  if (!cg.ok) return (mode = { kind: 'rlimit', why: cg.reason });
  try {
    enableCgroup(cg.dir);
    return (mode = { kind: 'cgroup', dir: cg.dir });
  } catch (err) {
    return (mode = { kind: 'rlimit', why: `the delegated cgroup could not be prepared: ${(err as Error).message}` });
  }
}
export function describeMode(m: SandboxMode): string {
  return m.kind === 'cgroup'
    ? 'cgroup: memory and processes are limited for each command as a whole by the kernel'
    : `per-process limits: memory is watched across each command's processes, processes are limited per sandbox slot (${m.why})`;
}

/** Root runs the sandbox as an unprivileged uid (one per slot); anyone else runs it as themselves (user namespaces do the rest). */
function runAs(slot?: number): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = slot === undefined ? NOBODY : SLOT_UID_BASE + slot;
  return { uid: id, gid: id };
}

/** /usr read-only, and /bin, /lib… as the symlinks or directories they are on this system. */
function systemBinds(): string[] {
  const out = ['--ro-bind', '/usr', '/usr'];
  for (const d of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const p = `/${d}`;
    if (!existsSync(p)) continue;
    if (lstatSync(p).isSymbolicLink()) out.push('--symlink', `usr/${d}`, p);
    else out.push('--ro-bind', p, p);
  }
  return out;
}

/**
 * At most `size` commands run at once in this process; each holds a slot (and, run as root, the
 * slot's own uid) while it runs. Others wait in order, up to their `queueMs`.
 */
export function execSlots(size: number) {
  const free = Array.from({ length: size }, (_, i) => i);
  const waiting: { resolve: (slot: number) => void; timer: NodeJS.Timeout }[] = [];
  return {
    size,
    acquire(waitMs: number): Promise<number | undefined> {
      const slot = free.shift();
      if (slot !== undefined) return Promise.resolve(slot);
      return new Promise((resolve) => {
        const w = { resolve, timer: setTimeout(() => { waiting.splice(waiting.indexOf(w), 1); resolve(undefined); }, waitMs) };
        waiting.push(w);
      });
    },
    release(slot: number) {
      const next = waiting.shift();
      if (!next) { free.push(slot); return; }
      clearTimeout(next.timer);
      next.resolve(slot);
    },
  };
}
export type ExecSlots = ReturnType<typeof execSlots>;

/**
 * Runs as the sandbox's pid 1, which nothing inside may kill: copies the workspace into the sized
 * tmpfs, runs the command, and on its end (or SIGUSR1 from the server: time, memory or output is up)
 * kills every process left and hands the workspace back as a tar stream on fd 3, after its exit code.
 */
const WRAPPER = `trap : USR1
cp -a /seed/. /workspace/ 2>/dev/null
cd /workspace || exit 126
/bin/sh -c "$1" </dev/null 3>&- &
wait $!
code=$?
trap '' USR1
kill -KILL -1 2>/dev/null
printf 'exit %s\\n' "$code" >&3
exec tar -C /workspace --format=gnu -cf - . >&3 2>/dev/null`;

export type ExecResult = {
  exitCode: number | null; signal: string | null; output: string; truncated: boolean; timedOut: boolean;
  /** Its processes together used more memory than allowed, and the command was stopped. */
  memoryExceeded: boolean;
  changed: string[]; deleted: string[]; skipped: string[];
};

/** Runs one command over a copy of the workspace and writes changes back. */
export async function runSandboxed(a: { store: Store; agentId: string; command: string; /** Whether changes to the shared notes are saved back (else they are skipped). */ notesWritable?: boolean; limits?: Partial<SandboxLimits>; log?: Logger; slot?: number; mode?: SandboxMode }): Promise<ExecResult> {
  const limits = { ...DEFAULT_LIMITS, ...a.limits };
  const m = a.mode ?? sandboxMode();
  const root = await mkdtemp(join(tmpdir(), 'sb-exec-'));
  const seed = join(root, 'seed');
  const owner = runAs(a.slot);
  let cg: ReturnType<typeof commandCgroup> | undefined;
  try {
    await mkdir(seed, { recursive: true });
    const before = new Map<string, string>();
    for (const f of await a.store.workspace.list(a.agentId)) {
      const file = await a.store.workspace.get(a.agentId, f.path);
      if (!file || !('path' in workspacePath(f.path))) continue;
      before.set(f.path, file.content);
      await mkdir(dirname(join(seed, f.path)), { recursive: true });
      await writeFile(join(seed, f.path), file.content);
    }
    if (owner.uid !== undefined) await chownTree(root, owner.uid, owner.gid!);
    else await chmod(root, 0o700);

    const args = [
      `--as=${limits.memoryBytes}`, `--cpu=${limits.cpuSeconds}`, `--nproc=${limits.processes}`, `--fsize=${limits.fileBytes}`, '--nofile=256', '--core=0', '--',
      'bwrap', ...systemBinds(),
      '--proc', '/proc', '--dev', '/dev',
      '--size', String(limits.tmpBytes), '--tmpfs', '/tmp', '--size', String(limits.workspaceBytes), '--tmpfs', '/workspace', '--ro-bind', seed, '/seed',
      '--unshare-all', '--die-with-parent', '--new-session', '--as-pid-1', '--cap-drop', 'ALL', '--clearenv', '--info-fd', '4',
      '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin', '--setenv', 'HOME', '/workspace', '--setenv', 'LANG', 'C.UTF-8', '--setenv', 'TMPDIR', '/tmp',
      '/bin/sh', '-c', WRAPPER, 'sb-exec', a.command,
    ];
    // A gate holds the command until it is in its cgroup, so nothing it forks starts outside.
    const child = spawn('/bin/sh', ['-c', 'read -r _ || exit 1; exec "$@"', 'sb-gate', 'prlimit', ...args], { detached: true, stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'], ...owner });
    const handBack = child.stdio[3] as Readable;
    const info = child.stdio[4] as Readable;
    if (m.kind === 'cgroup' && child.pid) {
      try {
        cg = commandCgroup(m.dir, `exec-${randomUUID()}`, limits);
        cg.add(child.pid);
      } catch (err) {
        child.kill('SIGKILL');
        throw new Error(`the command's cgroup could not be set up: ${(err as Error).message}`);
      }
    }
    child.stdin!.end('go\n');

    let output = '';
    let bytes = 0;
    let truncated = false;
    let timedOut = false;
    let memoryExceeded = false;
    let stopped = false;
    let wrapperPid: number | undefined;
    let infoText = '';
    info.on('data', (c: Buffer) => { infoText += c.toString('utf8'); const pid = /"child-pid":\s*(\d+)/.exec(infoText); if (pid) wrapperPid = Number(pid[1]); });
    const tarParts: Buffer[] = [];
    let tarBytes = 0;
    let tarCut = false;
    const tarMax = limits.workspaceBytes + 4 * 1024 * 1024;
    handBack.on('data', (c: Buffer) => {
      if (tarCut) return;
      tarBytes += c.length;
      if (tarBytes > tarMax) { tarCut = true; return; }
      tarParts.push(c);
    });

    const hardKill = () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ } cg?.kill(); };
    let handBackTimer: NodeJS.Timeout | undefined;
    /** Ends the command: the sandbox's pid 1 kills what is left and hands the workspace back, or everything is killed. */
    const stop = () => {
      if (stopped) return;
      stopped = true;
      if (wrapperPid) { try { process.kill(wrapperPid, 'SIGUSR1'); } catch { /* already gone */ } } else hardKill();
      handBackTimer = setTimeout(hardKill, HAND_BACK_MS);
    };
    const onData = (chunk: Buffer) => {
      if (truncated) return;
      bytes += chunk.length;
      if (bytes > limits.outputBytes) {
        output += chunk.subarray(0, Math.max(0, limits.outputBytes - (bytes - chunk.length))).toString('utf8');
        truncated = true;
        stop(); // an output flood ends the command
        return;
      }
      output += chunk.toString('utf8');
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const timer = setTimeout(() => { timedOut = true; stop(); }, limits.timeoutMs);
    // The command as a whole: with a cgroup the kernel holds the limit and we learn of its kills; without, we add up.
    const watchdog = setInterval(() => {
      if (stopped) return;
      const over = cg ? cg.oomKilled() : child.pid !== undefined && treeMemory(child.pid) > limits.memoryBytes;
      if (over) { memoryExceeded = true; stop(); }
    }, WATCH_MS);
    const [gateCode] = await new Promise<[number | null, string | null]>((resolve) => {
      child.on('error', (err) => { output += `\n${err.message}`; resolve([null, null]); });
      child.on('close', (code, sig) => resolve([code, sig]));
    });
    clearTimeout(timer);
    clearTimeout(handBackTimer);
    clearInterval(watchdog);
    if (cg?.oomKilled()) memoryExceeded = true;
    hardKill(); // anything left goes too

    // The exit code, then the workspace as the command left it (when it was handed back whole).
    const stream = Buffer.concat(tarParts);
    const nl = stream.indexOf(10);
    const head = nl > 0 ? /^exit (\d+)$/.exec(stream.subarray(0, nl).toString('latin1')) : null;
    const entries = head && !tarCut ? untar(stream.subarray(nl + 1)) : undefined;
    const code = head ? Number(head[1]) : gateCode;
    // Stopped by us (time, memory, output): its processes were killed, whatever code pid 1 saw.
    const signal = stopped ? 'SIGKILL' : code !== null && code > 128 ? (Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0] ?? `signal ${code - 128}`) : null;

    const changed: string[] = [];
    const skipped: string[] = [];
    const deleted: string[] = [];
    if (!entries?.complete) {
      skipped.push(`everything (the sandbox ended before it handed the workspace back${tarCut ? `: more than ${limits.workspaceBytes} bytes` : ''})`);
      return { exitCode: signal ? null : code, signal, output, truncated, timedOut, memoryExceeded, changed, deleted, skipped };
    }
    // Write back what changed: regular files only, under the same path rules and caps as the workspace tools.
    const seen = new Set<string>();
    let total = 0;
    for (const e of entries.entries) {
      const rel = e.path.replace(/^\.\//, '').replace(/\/$/, '');
      if (!rel || rel === '.' || e.type === 'dir') continue;
      if (e.type === 'link') { skipped.push(`${rel} (a link)`); continue; }
      if (e.type !== 'file') continue;
      const p = workspacePath(rel);
      if (!('path' in p) || p.path !== rel) { skipped.push(`${rel} (not a valid workspace path)`); continue; }
      seen.add(rel);
      if (e.data.length > FILE_MAX_CHARS * 4) { skipped.push(`${rel} (larger than ${FILE_MAX_CHARS} characters)`); continue; }
      const content = e.data.toString('utf8');
      if (content.length > FILE_MAX_CHARS) { skipped.push(`${rel} (larger than ${FILE_MAX_CHARS} characters)`); continue; }
      if (before.get(rel) === content) { total += content.length; continue; }
      if (PERSONA_PATHS.has(rel)) { skipped.push(`${rel} (persona files are read-only)`); continue; }
      if (!a.notesWritable && isSharedNotesPath(rel)) { skipped.push(`${rel} (shared notes are not writable in this conversation)`); continue; }
      if (total + content.length > WORKSPACE_MAX_CHARS || seen.size > WORKSPACE_MAX_FILES) { skipped.push(`${rel} (the workspace is full)`); continue; }
      try {
        await a.store.workspace.put(a.agentId, rel, content);
      } catch (err) {
        if (!(err instanceof WorkspaceFull)) throw err;
        skipped.push(`${rel} (the workspace is full)`);
        continue;
      }
      total += content.length;
      changed.push(rel);
    }
    for (const path of before.keys()) {
      if (seen.has(path) || PERSONA_PATHS.has(path) || (!a.notesWritable && isSharedNotesPath(path))) continue;
      if (skipped.some((s) => s.startsWith(`${path} `))) continue;
      await a.store.workspace.delete(a.agentId, path);
      deleted.push(path);
    }
    return { exitCode: signal ? null : code, signal, output, truncated, timedOut, memoryExceeded, changed, deleted, skipped };
  } finally {
    await cg?.remove();
    await rm(root, { recursive: true, force: true }).catch((err) => a.log?.warn('sandbox cleanup failed', { error: (err as Error).message }));
  }
}

/** Resident memory of a process and all its descendants, in bytes (from /proc; 0 where unreadable). */
export function treeMemory(rootPid: number): number {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'latin1');
      const pid = Number(name);
      const pp = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      children.set(pp, [...(children.get(pp) ?? []), pid]);
      rss.set(pid, Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024);
    } catch { /* exited meanwhile */ }
  }
  let total = 0;
  const stack = [rootPid];
  const seen = new Set<number>();
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += rss.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

type TarEntry = { path: string; type: 'file'; data: Buffer } | { path: string; type: 'dir' | 'link' | 'other' };
/** Reads a GNU tar stream (as `tar --format=gnu` writes it); `complete` is false when it ends early or is malformed. */
export function untar(buf: Buffer): { entries: TarEntry[]; complete: boolean } {
  const entries: TarEntry[] = [];
  let at = 0;
  let longName: string | undefined;
  const str = (o: number, n: number) => { const b = buf.subarray(o, o + n); const z = b.indexOf(0); return (z < 0 ? b : b.subarray(0, z)).toString('utf8'); };
  while (at + 512 <= buf.length) {
    if (buf.subarray(at, at + 512).every((b) => b === 0)) return { entries, complete: true };
    const size = parseInt(str(at + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(buf[at + 156]!);
    if (!Number.isFinite(size) || size < 0 || at + 512 + size > buf.length) return { entries, complete: false };
    const name = longName ?? str(at, 100);
    const data = buf.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') { let end = data.length; while (end > 0 && data[end - 1] === 0) end--; longName = data.subarray(0, end).toString('utf8'); continue; }
    longName = undefined;
    if (type === '0' || type === '\0' || type === '7') entries.push({ path: name, type: 'file', data });
    else if (type === '5') entries.push({ path: name, type: 'dir' });
    else if (type === '1' || type === '2') entries.push({ path: name, type: 'link' });
    else entries.push({ path: name, type: 'other' });
  }
  return { entries, complete: false };
}

async function chownTree(dir: string, uid: number, gid: number) {
  await chown(dir, uid, gid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else await chown(p, uid, gid);
  }
}

function describe(r: ExecResult, limits: SandboxLimits): string {
  const lines: string[] = [];
  if (r.timedOut) lines.push(`Error: the command was stopped after ${limits.timeoutMs / 1000} s.`);
  else if (r.truncated) lines.push(`The command was stopped: its output passed ${limits.outputBytes} bytes.`);
  else if (r.memoryExceeded) lines.push(`Error: the command was stopped: together its processes used more than ${Math.round(limits.memoryBytes / 1048576)} MB of memory.`);
  else if (r.signal) lines.push(`The command was killed (${r.signal}; limits: ${limits.cpuSeconds} s CPU, ${Math.round(limits.memoryBytes / 1048576)} MB memory, ${limits.processes} processes).`);
  else lines.push(`Exit code ${r.exitCode}.`);
  lines.push(r.output ? `Output${r.truncated ? ` (cut at ${limits.outputBytes} bytes)` : ''}:\n${r.output}` : 'No output.');
  if (r.changed.length) lines.push(`Saved to the workspace: ${r.changed.join(', ')}`);
  if (r.deleted.length) lines.push(`Deleted from the workspace: ${r.deleted.join(', ')}`);
  if (r.skipped.length) lines.push(`Not saved: ${r.skipped.join('; ')}`);
  return lines.join('\n');
}

export function execProvider(deps: {
  store: Store; log: Logger; limits?: Partial<SandboxLimits>;
  /** How many exec calls may run at once in this process (SWITCHBOARD_EXEC_CONCURRENCY). */
  concurrency?: number;
  status?: () => { ok: true } | { ok: false; reason: string };
  mode?: () => SandboxMode;
}): ToolProvider {
  const status = deps.status ?? sandboxStatus;
  const currentMode = deps.mode ?? sandboxMode;
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  const slots = execSlots(deps.concurrency ?? 2);
  return {
    names: ['exec'],
    unavailable: () => { const s = status(); return s.ok ? undefined : s.reason; },
    mode: () => (status().ok ? describeMode(currentMode()) : undefined),
    build(ctx) {
      const tool: ModelTool<z.ZodObject<{ command: z.ZodString }>> = {
        name: 'exec',
        description: 'Run a shell command (sh -c) in a sandbox over a copy of your workspace, mounted at /workspace: no network, no access outside it, time and memory limits. Files you create or change there are saved back to your workspace.',
        input: z.object({ command: z.string().min(1).max(4000).describe('A shell command line, e.g. "wc -w notes/*.md"') }),
        async execute({ command }) {
          if (command.includes('\0')) return 'Error: the command contains a NUL byte.';
          const slot = await slots.acquire(limits.queueMs);
          if (slot === undefined) return `Error: the server is already running ${slots.size} commands; nothing was run. Try again in a minute.`;
          try {
            const r = await runSandboxed({ store: deps.store, agentId: ctx.agent.id, notesWritable: ctx.notesWritable ?? false, command, limits, log: deps.log, slot, mode: currentMode() });
            return describe(r, limits);
          } finally {
            slots.release(slot);
          }
        },
      };
      return [tool as unknown as ModelTool];
    },
  };
}
