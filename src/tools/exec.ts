/**
 * exec: a shell command in a bubblewrap sandbox. The agent's workspace is materialized read-write in
 * a fresh temporary directory; the system's /usr is read-only; there is no network, no /etc, no
 * host paths, no other agent; the command runs as an unprivileged user with CPU, memory, process
 * and file-size limits, a wall-clock timeout and capped output, and every process is killed at the
 * end. Files the command created or changed are written back to the workspace. Without bubblewrap
 * the tool is unavailable — never a silent fallback to running on the host.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { z } from 'zod';
import type { ModelTool, Store } from '../domain/ports.js';
import { PERSONA_FILES } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import { FILE_MAX_CHARS, WORKSPACE_MAX_CHARS, WORKSPACE_MAX_FILES, workspacePath } from './fs-tools.js';
import type { ToolProvider } from './toolbox.js';
import { WorkspaceFull } from '../domain/workspace.js';

export type SandboxLimits = { timeoutMs: number; cpuSeconds: number; memoryBytes: number; processes: number; fileBytes: number; outputBytes: number };
export const DEFAULT_LIMITS: SandboxLimits = {
  timeoutMs: 20_000, cpuSeconds: 10, memoryBytes: 512 * 1024 * 1024, processes: 128, fileBytes: 16 * 1024 * 1024, outputBytes: 32 * 1024,
};
const NOBODY = 65534;
const PERSONA_PATHS = new Set<string>(Object.values(PERSONA_FILES));

/** Whether bubblewrap can build a sandbox here; the reason when it cannot. Checked once. */
let probe: { ok: true } | { ok: false; reason: string } | undefined;
export function sandboxStatus(): { ok: true } | { ok: false; reason: string } {
  if (probe) return probe;
  const which = spawnSync('bwrap', ['--version'], { encoding: 'utf8' });
  if (which.error || which.status !== 0) return (probe = { ok: false, reason: 'bubblewrap (bwrap) is not installed on the server; install the Debian package "bubblewrap"' });
  const r = spawnSync('prlimit', ['--', 'bwrap', ...systemBinds(), '--unshare-all', '--die-with-parent', '/bin/sh', '-c', 'exit 0'], { encoding: 'utf8', timeout: 10_000, ...runAs() });
  if (r.error || r.status !== 0) return (probe = { ok: false, reason: `bubblewrap cannot create a sandbox here: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().slice(0, 200)}` });
  return (probe = { ok: true });
}

/** Root runs the sandbox as nobody; anyone else runs it as themselves (user namespaces do the rest). */
function runAs(): { uid?: number; gid?: number } {
  return process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};
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

export type ExecResult = { exitCode: number | null; signal: string | null; output: string; truncated: boolean; timedOut: boolean; changed: string[]; deleted: string[]; skipped: string[] };

/** Runs one command over a copy of the workspace and writes changes back. */
export async function runSandboxed(a: { store: Store; agentId: string; command: string; limits?: Partial<SandboxLimits>; log?: Logger }): Promise<ExecResult> {
  const limits = { ...DEFAULT_LIMITS, ...a.limits };
  const root = await mkdtemp(join(tmpdir(), 'sb-exec-'));
  const ws = join(root, 'workspace');
  const owner = runAs();
  try {
    await mkdir(ws, { recursive: true });
    const before = new Map<string, string>();
    for (const f of await a.store.workspace.list(a.agentId)) {
      const file = await a.store.workspace.get(a.agentId, f.path);
      if (!file || !('path' in workspacePath(f.path))) continue;
      before.set(f.path, file.content);
      await mkdir(dirname(join(ws, f.path)), { recursive: true });
      await writeFile(join(ws, f.path), file.content);
    }
    if (owner.uid !== undefined) await chownTree(root, owner.uid, owner.gid!);
    else await chmod(root, 0o700);

    const args = [
      `--as=${limits.memoryBytes}`, `--cpu=${limits.cpuSeconds}`, `--nproc=${limits.processes}`, `--fsize=${limits.fileBytes}`, '--nofile=256', '--core=0', '--',
      'bwrap', ...systemBinds(),
      '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--bind', ws, '/workspace', '--chdir', '/workspace',
      '--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--clearenv',
      '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin', '--setenv', 'HOME', '/workspace', '--setenv', 'LANG', 'C.UTF-8', '--setenv', 'TMPDIR', '/tmp',
      '/bin/sh', '-c', a.command,
    ];
    const child = spawn('prlimit', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...owner });
    let output = '';
    let bytes = 0;
    let truncated = false;
    let timedOut = false;
    const kill = () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ } };
    const onData = (chunk: Buffer) => {
      if (truncated) return;
      bytes += chunk.length;
      if (bytes > limits.outputBytes) {
        output += chunk.subarray(0, Math.max(0, limits.outputBytes - (bytes - chunk.length))).toString('utf8');
        truncated = true;
        kill(); // an output flood ends the command
        return;
      }
      output += chunk.toString('utf8');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => { timedOut = true; kill(); }, limits.timeoutMs);
    const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolve) => {
      child.on('error', (err) => { output += `\n${err.message}`; resolve([null, null]); });
      child.on('close', (code, sig) => resolve([code, sig]));
    });
    clearTimeout(timer);
    kill(); // anything left in the process group goes too

    // Write back what changed: regular files only, under the same path rules and caps as the workspace tools.
    const changed: string[] = [];
    const skipped: string[] = [];
    const seen = new Set<string>();
    let total = 0;
    for (const file of await walk(ws)) {
      const rel = relative(ws, file);
      const st = await lstat(file);
      if (st.isSymbolicLink()) { skipped.push(`${rel} (a link)`); continue; }
      if (!st.isFile()) continue;
      const p = workspacePath(rel);
      if (!('path' in p) || p.path !== rel) { skipped.push(`${rel} (not a valid workspace path)`); continue; }
      if (st.size > FILE_MAX_CHARS * 4) { skipped.push(`${rel} (larger than ${FILE_MAX_CHARS} characters)`); continue; }
      const content = await readFile(file, 'utf8');
      seen.add(rel);
      if (content.length > FILE_MAX_CHARS) { skipped.push(`${rel} (larger than ${FILE_MAX_CHARS} characters)`); continue; }
      if (before.get(rel) === content) { total += content.length; continue; }
      if (PERSONA_PATHS.has(rel)) { skipped.push(`${rel} (persona files are read-only)`); continue; }
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
    const deleted: string[] = [];
    for (const path of before.keys()) {
      if (seen.has(path) || PERSONA_PATHS.has(path)) continue;
      if (skipped.some((s) => s.startsWith(`${path} `))) continue;
      await a.store.workspace.delete(a.agentId, path);
      deleted.push(path);
    }
    return { exitCode, signal, output, truncated, timedOut, changed, deleted, skipped };
  } finally {
    await rm(root, { recursive: true, force: true }).catch((err) => a.log?.warn('sandbox cleanup failed', { error: (err as Error).message }));
  }
}

async function walk(dir: string, depth = 0): Promise<string[]> {
  if (depth > 8) return [];
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, depth + 1)));
    else out.push(p);
  }
  return out;
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
  else if (r.signal) lines.push(`The command was killed (${r.signal}; limits: ${limits.cpuSeconds} s CPU, ${Math.round(limits.memoryBytes / 1048576)} MB memory, ${limits.processes} processes).`);
  else lines.push(`Exit code ${r.exitCode}.`);
  lines.push(r.output ? `Output${r.truncated ? ` (cut at ${limits.outputBytes} bytes)` : ''}:\n${r.output}` : 'No output.');
  if (r.changed.length) lines.push(`Saved to the workspace: ${r.changed.join(', ')}`);
  if (r.deleted.length) lines.push(`Deleted from the workspace: ${r.deleted.join(', ')}`);
  if (r.skipped.length) lines.push(`Not saved: ${r.skipped.join('; ')}`);
  return lines.join('\n');
}

export function execProvider(deps: { store: Store; log: Logger; limits?: Partial<SandboxLimits>; status?: () => { ok: true } | { ok: false; reason: string } }): ToolProvider {
  const status = deps.status ?? sandboxStatus;
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  return {
    names: ['exec'],
    unavailable: () => { const s = status(); return s.ok ? undefined : s.reason; },
    build(ctx) {
      const tool: ModelTool<z.ZodObject<{ command: z.ZodString }>> = {
        name: 'exec',
        description: 'Run a shell command (sh -c) in a sandbox over a copy of your workspace, mounted at /workspace: no network, no access outside it, time and memory limits. Files you create or change there are saved back to your workspace.',
        input: z.object({ command: z.string().min(1).max(4000).describe('A shell command line, e.g. "wc -w notes/*.md"') }),
        async execute({ command }) {
          if (command.includes('\0')) return 'Error: the command contains a NUL byte.';
          const r = await runSandboxed({ store: deps.store, agentId: ctx.agent.id, command, limits, log: deps.log });
          return describe(r, limits);
        },
      };
      return [tool as unknown as ModelTool];
    },
  };
}
