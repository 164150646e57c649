/**
 * The exec tool's sandbox, attacked: network, host files, /proc, symlinks read back through `read`,
 * another agent's files, fork bombs, memory hogs, output floods and endless loops. Runs the real
 * bubblewrap sandbox; `.ci/run` installs it (without it, exec must say it is unavailable).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { contentText, type ChatRequest } from '../fakes/openai-server.js';
import { execProvider, execSlots, runSandboxed, sandboxMode, sandboxStatus } from '../../src/tools/exec.js';

function toolModel(req: ChatRequest) {
  const last = req.messages?.at(-1);
  if (last?.role === 'tool') return `Tool said: ${contentText(last.content)}`;
  const m = /^CALL (\S+) (.*)$/s.exec(contentText(last?.content));
  if (m) return { kind: 'tool_calls' as const, calls: [{ name: m[1]!, arguments: m[2]! }] };
  return `Echo: ${contentText(last?.content)}`;
}

const status = sandboxStatus();

describe('exec sandbox', () => {
  let app: TestApp;
  let token: string;
  let agent: { id: string };
  let other: { id: string };
  const exec = async (command: string) => {
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: `CALL exec ${JSON.stringify({ command })}`, userId: 'exec-user' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.reply as string;
  };
  const run = (command: string, limits = {}) => runSandboxed({ store: app.server.services.store, agentId: agent.id, command, limits });

  beforeAll(async () => {
    app = await startTestApp();
    app.fake.setDefault(toolModel);
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Sandboxed' } })).body;
    other = (await app.api('/api/agents', { token, body: { name: 'Victim' } })).body;
    await app.api(`/api/agents/${other.id}/file?path=secret.md`, { method: 'PUT', token, body: { content: 'victim-secret-42' } });
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { tools: { allow: ['group:fs', 'group:runtime'], deny: [] } } });
  });
  afterAll(() => app?.close());

  it('is offered only when the sandbox works, and says why otherwise', async () => {
    const a = (await app.api(`/api/agents/${agent.id}`, { token })).body;
    if (status.ok) expect(a.tools.effective).toContain('exec');
    else expect(a.tools.unavailable).toContainEqual({ name: 'exec', reason: status.reason });
  });

  describe.runIf(status.ok)(`with bubblewrap${status.ok ? '' : ` (skipped: ${status.reason})`}`, () => {
    it('runs a command over the workspace and saves what it writes', async () => {
      await app.api(`/api/agents/${agent.id}/file?path=notes.md`, { method: 'PUT', token, body: { content: 'one two three\n' } });
      const reply = await exec('wc -w < notes.md; mkdir -p out && echo generated > out/report.txt; id -u');
      expect(reply).toContain('Exit code 0.');
      expect(reply).toMatch(/\b3\b/);
      expect(reply).toContain('Saved to the workspace: out/report.txt');
      expect(reply).not.toMatch(/^0$/m); // never root inside
      const saved = await app.api(`/api/agents/${agent.id}/file?path=out/report.txt`, { token });
      expect(saved.body.content).toBe('generated\n');
      const conv = (await app.api(`/api/agents/${agent.id}/conversations`, { token })).body.conversations[0];
      const calls = (await app.api(`/api/conversations/${conv.id}`, { token })).body.toolCalls;
      expect(calls.at(-1)).toMatchObject({ tool: 'exec', outcome: 'ok' });
    });

    it('has no network', async () => {
      const r = await run('(curl -sS -m 3 http://127.0.0.1:1/ 2>&1 || true); (python3 -c "import socket; s=socket.socket(); s.settimeout(2); s.connect((\'1.1.1.1\', 80)); print(\'CONNECTED\')" 2>&1 || true); cat /sys/class/net/*/address 2>&1; ls /sys/class/net 2>&1');
      expect(r.output).not.toContain('CONNECTED');
      expect(r.output).not.toMatch(/eth0|ens\d|wlan/);
      const ping = await run(`${process.execPath} -e "require('net').connect(80,'1.1.1.1').on('connect',()=>console.log('CONNECTED')).on('error',e=>console.log('refused',e.code))" 2>&1 || true`);
      expect(ping.output).not.toContain('CONNECTED');
    });

    it('cannot read host secrets, the host /proc or other agents', async () => {
      const r = await run(`cat /etc/shadow 2>&1; cat /etc/passwd 2>&1; ls /root 2>&1; ls /home 2>&1; ls ${app.dataDir} 2>&1; echo ROOT $(ls /); ls /proc | grep -c "^[0-9]"; grep -rs victim-secret-42 /workspace /tmp | head -3`);
      expect(r.output).toContain('No such file');
      expect(r.output).not.toContain('root:');
      expect(r.output).not.toContain('switchboard.db');
      expect(/^ROOT (.*)$/m.exec(r.output)![1]!.split(' ').sort()).toEqual(expect.arrayContaining(['dev', 'proc', 'tmp', 'usr', 'workspace']));
      expect(r.output).not.toMatch(/^ROOT .*\b(etc|root|home|var|data)\b/m);
      expect(r.output).not.toContain('victim-secret-42');
      const procs = Number(/^(\d+)$/m.exec(r.output.split('\n').filter((l) => /^\d+$/.test(l)).at(-1) ?? '999')?.[1]);
      expect(procs).toBeLessThan(10); // its own pid namespace: only its own processes
    });

    it('does not let a symlink made by exec reach the host through read', async () => {
      const reply = await exec('ln -s /etc/shadow shadow.txt; ln -s /proc/1/environ env.txt; echo ok');
      expect(reply).toMatch(/Not saved: .*shadow\.txt \(a link\)/);
      const read = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'CALL read {"path":"shadow.txt"}', userId: 'exec-user' } });
      expect(read.body.reply).toMatch(/^Tool said: Error: no file "shadow.txt"/);
    });

    it('stops fork bombs, memory hogs, floods and endless loops', async () => {
      const t0 = Date.now();
      const bomb = await run('bomb() { bomb | bomb & }; bomb; sleep 1; echo survived', { timeoutMs: 5000 });
      expect(Date.now() - t0).toBeLessThan(10_000); // limited by processes and time, then everything is killed
      expect(bomb.output).not.toContain('survived\nsurvived');
      expect((await run('echo still fine')).output).toBe('still fine\n'); // and the machine is fine
      const hog = await run(`${process.execPath} -e "const a=[];for(;;)a.push(Buffer.alloc(64<<20,1))" 2>&1; echo "exit $?"`, { memoryBytes: 256 * 1024 * 1024 });
      expect(hog.output).toMatch(/exit [1-9]/);
      const flood = await run('yes flood', { outputBytes: 4096 });
      expect(flood.truncated).toBe(true);
      expect(flood.output.length).toBeLessThanOrEqual(4096);
      const loop = await run('while :; do :; done', { timeoutMs: 1500, cpuSeconds: 30 });
      expect(loop.timedOut).toBe(true);
      const started = Date.now();
      const cpu = await run('while :; do :; done', { timeoutMs: 10_000, cpuSeconds: 1 });
      expect(cpu.signal ?? String(cpu.exitCode)).toBeTruthy();
      expect(Date.now() - started).toBeLessThan(8000);
    }, 40_000);

    describe('bounds the command as a whole, whatever it forks (issue 12.3)', () => {
      const healthy = async () => {
        expect((await fetch(`${app.url}/health`)).status).toBe(200);
        expect((await run('echo still fine')).output).toBe('still fine\n');
      };

      it('sizes /tmp: many files each under the per-file limit cannot fill the disk', async () => {
        const r = await run('for i in $(seq 1 20); do head -c 15000000 /dev/zero > /tmp/f$i 2>/dev/null || break; done; du -sm /tmp | cut -f1', { tmpBytes: 32 << 20 });
        expect(Number(r.output.trim().split('\n').at(-1))).toBeLessThanOrEqual(32);
        await healthy();
      }, 30_000);

      it('sizes the workspace copy the same way', async () => {
        const r = await run('mkdir -p flood; for i in $(seq 1 20); do head -c 15000000 /dev/zero > flood/f$i 2>/dev/null || break; done; du -sm /workspace | cut -f1', { workspaceBytes: 32 << 20 });
        expect(Number(r.output.trim().split('\n').at(-1))).toBeLessThanOrEqual(32);
        expect(r.changed.filter((p) => p.startsWith('flood/'))).toEqual([]);
        await healthy();
      }, 30_000);

      // python3 fills its memory for real (a bytearray of copies), under the per-process limit each.
      it.runIf(existsSync('/usr/bin/python3'))(`stops several processes that together pass the memory limit${existsSync('/usr/bin/python3') ? '' : ' (skipped: python3 not installed)'}`, async () => {
        const t0 = Date.now();
        const hog = "python3 -c \"import time; a = bytearray(b'x') * (200 << 20); time.sleep(20)\"";
        const r = await run(`for i in 1 2 3; do ${hog} & done; wait; echo all-done`, { memoryBytes: 400 << 20, timeoutMs: 30_000 });
        expect(r.memoryExceeded).toBe(true);
        expect(r.timedOut).toBe(false);
        expect(r.output).not.toContain('all-done');
        expect(Date.now() - t0).toBeLessThan(18_000); // stopped, not left to sleep
        await healthy();
      }, 60_000);

      it('keeps a fork bomb in one slot from starving a command in another', async () => {
        // The bomb lasts 15 s: on a loaded machine (three test workers on two cores) the neighbour once took over 7 s.
        // Its sleep starts before the bomb, since once the bomb has every process slot the shell cannot
        // fork one; `wait` is a builtin. Its "Cannot fork" lines go nowhere: enough of them would end the
        // command at the output limit (the command ended after 0.7 s on a fast machine, twice).
        const bomb = run('exec 2>/dev/null; sleep 14 & s=$!; bomb() { bomb | bomb & }; bomb; wait $s', { timeoutMs: 15_000, processes: 64 }).then((r) => ({ r, at: Date.now() }));
        await new Promise((r) => setTimeout(r, 700)); // the bomb has used up its processes by now
        const neighbour = await runSandboxed({ store: app.server.services.store, agentId: other.id, command: 'sh -c "echo from-the-neighbour"; echo $(( 6 * 7 ))', slot: 1 });
        const neighbourAt = Date.now();
        const bombed = await bomb;
        expect(neighbour.output).toBe('from-the-neighbour\n42\n'); // it could still fork
        // While the bomb was still running (how it ended, if it ended first).
        expect(neighbourAt, JSON.stringify({ ...bombed.r, output: bombed.r.output.slice(-300) })).toBeLessThan(bombed.at);
        await healthy();
      }, 30_000);

      it('ends an output flood from several processes at once, without waiting for the timeout', async () => {
        const t0 = Date.now();
        const r = await run('(yes a &); (yes b &); yes c', { outputBytes: 4096, timeoutMs: 20_000 });
        expect(r.truncated).toBe(true);
        expect(r.output.length).toBeLessThanOrEqual(4096);
        expect(Date.now() - t0).toBeLessThan(8000);
        await healthy();
      }, 30_000);

      it('saves what the command wrote even when it was stopped for time', async () => {
        const r = await run('echo kept > kept.txt; sleep 30', { timeoutMs: 1500 });
        expect(r.timedOut).toBe(true);
        expect(r.changed).toContain('kept.txt');
        expect((await app.api(`/api/agents/${agent.id}/file?path=kept.txt`, { token })).body.content).toBe('kept\n');
      }, 30_000);

      it('runs at most the configured number of commands at once; others wait, then are told politely', async () => {
        const provider = execProvider({ store: app.server.services.store, log: app.server.services.log, concurrency: 1, limits: { queueMs: 300 } });
        const [tool] = await provider.build({ agent: { id: agent.id } as never, personId: 'p', conversationId: 'c' });
        const first = tool!.execute({ command: 'sleep 2; echo first' } as never);
        await new Promise((r) => setTimeout(r, 100));
        const second = await tool!.execute({ command: 'echo second' } as never);
        expect(second).toMatch(/^Error: the server is already running 1 commands; nothing was run/);
        expect(await first).toContain('first');
        expect(await tool!.execute({ command: 'echo third' } as never)).toContain('third'); // the slot is free again
      }, 30_000);

      it('says in the tool catalog which kind of limits are in force', async () => {
        const a = (await app.api(`/api/agents/${agent.id}`, { token })).body;
        const entry = a.tools.catalog.find((t: { name: string }) => t.name === 'exec');
        expect(entry.mode).toMatch(sandboxMode().kind === 'cgroup' ? /^cgroup/ : /^per-process limits/);
      });
    });
  });
});

describe('exec slots', () => {
  it('hands a freed slot to the longest waiter, and lets a waiter give up', async () => {
    const slots = execSlots(1);
    expect(await slots.acquire(10)).toBe(0);
    const gaveUp = slots.acquire(20);
    const waits = slots.acquire(5000);
    expect(await gaveUp).toBeUndefined();
    slots.release(0);
    expect(await waits).toBe(0);
  });
});
