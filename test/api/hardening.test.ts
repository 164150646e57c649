/**
 * Issue 12, items 8, 10 and 11, against the real server: every writer of a workspace obeys the same
 * caps, the database files are private to the service, and no page of ours can be framed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { freePort, isPg, startTestApp, TEST_SECRET, type TestApp } from '../helpers/test-app.js';
import { frameGuard } from '../../src/http/middleware/frame-guard.js';
import { WORKSPACE_MAX_FILES } from '../../src/domain/workspace.js';

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8).padStart(4, '0');

describe('the workspace file API obeys the workspace caps (12.8)', () => {
  let app: TestApp;
  let token: string;
  let agent: { id: string };
  beforeAll(async () => {
    app = await startTestApp();
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Full' } })).body;
  });
  afterAll(() => app?.close());

  it(`refuses a PUT past ${WORKSPACE_MAX_FILES} files, as the agent's own write does`, async () => {
    const have = (await app.api(`/api/agents/${agent.id}/files`, { token })).body.files?.length ?? 0;
    // Fill the workspace to the cap (in parallel batches, each a real PUT).
    const paths = Array.from({ length: WORKSPACE_MAX_FILES - have }, (_, i) => `f/${i}.md`);
    for (let i = 0; i < paths.length; i += 50) {
      const rs = await Promise.all(paths.slice(i, i + 50).map((p) => app.api(`/api/agents/${agent.id}/file?path=${p}`, { method: 'PUT', token, body: { content: 'x' } })));
      expect(rs.every((r) => r.status === 200), JSON.stringify(rs.find((r) => r.status !== 200)?.body)).toBe(true);
    }
    const over = await app.api(`/api/agents/${agent.id}/file?path=one-too-many.md`, { method: 'PUT', token, body: { content: 'x' } });
    expect(over.status).toBe(413);
    expect(over.body.error).toMatchObject({ code: 'workspace_full' });
    expect(over.body.error.message).toContain(`${WORKSPACE_MAX_FILES} files`);
    // Replacing a file that is already there still works; the agent's own write is refused the same way.
    expect((await app.api(`/api/agents/${agent.id}/file?path=f/0.md`, { method: 'PUT', token, body: { content: 'changed' } })).status).toBe(200);
    app.fake.setDefault((req) => {
      const last = req.messages?.at(-1);
      if (last?.role === 'tool') return `Tool said: ${String(last.content)}`;
      return { kind: 'tool_calls' as const, calls: [{ name: 'write', arguments: JSON.stringify({ path: 'by-agent.md', content: 'x' }) }] };
    });
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { tools: { allow: ['group:fs'], deny: [] } } });
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'write a file', userId: 'u' } });
    expect(r.body.reply).toMatch(/Tool said: Error: .*1000 files/);
    expect((await app.api(`/api/agents/${agent.id}/file?path=by-agent.md`, { token })).status).toBe(404);
  }, 120_000);
});

describe.runIf(!isPg())(`the SQLite data directory is private to the service (12.10)${isPg() ? ' (skipped: the run is on PostgreSQL, there is no data file)' : ''}`, () => {
  let root: string;
  beforeAll(() => { root = mkdtempSync(join(tmpdir(), 'sb-perm-')); });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** Starts the real server (the CLI, as an operator does) on DATA_DIR until it listens; returns what it logged. */
  async function serveOnce(dataDir: string, whileUp: () => void = () => {}): Promise<string> {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', SWITCHBOARD_SECRET_KEY: TEST_SECRET, SWITCHBOARD_LOG_LEVEL: 'warn', DATABASE_URL: '', TEST_DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    try {
      const deadline = Date.now() + 100_000; // a loaded machine compiles the server slowly
      for (;;) {
        if (Date.now() > deadline) throw new Error(`the server did not start: ${out}`);
        const up = await fetch(`http://127.0.0.1:${port}/api/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'o@example.com', password: 'correct horse battery' }) }).catch(() => undefined);
        if (up) break; // a first write, so the WAL files exist
        await new Promise((r) => setTimeout(r, 200));
      }
      whileUp();
      return out;
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }

  it('creates DATA_DIR 0700 and the database files 0600', async () => {
    const dataDir = join(root, 'fresh', 'data');
    const previous = process.umask(0o022); // the usual umask, which would make them 0755 and 0644
    const seen: [string, string][] = [];
    try {
      await serveOnce(dataDir, () => {
        for (const f of ['', 'switchboard.db', 'switchboard.db-wal', 'switchboard.db-shm']) seen.push([f, mode(join(dataDir, f))]);
      });
    } finally {
      process.umask(previous);
    }
    expect(seen).toEqual([['', '0700'], ['switchboard.db', '0600'], ['switchboard.db-wal', '0600'], ['switchboard.db-shm', '0600']]);
  }, 150_000);

  it('warns at start-up about a data directory or file others can read, and narrows the database to 0600', async () => {
    const dataDir = join(root, 'old');
    mkdirSync(dataDir, { recursive: true });
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'switchboard.db'), '');
    chmodSync(join(dataDir, 'switchboard.db'), 0o644);
    const log = await serveOnce(dataDir);
    const warnings = log.split('\n').filter((l) => l.includes('readable by other users'));
    expect(warnings.some((l) => l.includes(`"path":"${dataDir}"`) && l.includes('0755')), log).toBe(true);
    expect(warnings.some((l) => l.includes(join(dataDir, 'switchboard.db')) && l.includes('0644')), log).toBe(true);
    expect(mode(join(dataDir, 'switchboard.db'))).toBe('0600');
  }, 150_000);
});

describe('no page of ours can be framed (12.11)', () => {
  let app: TestApp;
  beforeAll(async () => { app = await startTestApp(); });
  afterAll(() => app?.close());

  it('sends frame-ancestors \'none\' and X-Frame-Options: DENY on the dashboard and sign-in pages', async () => {
    for (const path of ['/', '/login', '/agents', '/chat/some-agent']) {
      const res = await fetch(app.url + path);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toMatch(/script-src/); // the SPA's meta policy carries the script hashes; repeating it here would block them
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
    }
  });

  it('lets a page opt in to being embedded only through the explicit hook', async () => {
    const app = new Hono();
    app.use('*', frameGuard({ frameAncestors: (c) => (c.req.path === '/chat/embeddable' ? ['https://shop.example', 'javascript:alert(1)'] : undefined) }));
    app.get('*', (c) => c.html('<p>hi</p>'));
    const open = await app.request('/chat/embeddable');
    expect(open.headers.get('content-security-policy')).toMatch(/^frame-ancestors https:\/\/shop\.example;/);
    expect(open.headers.get('x-frame-options')).toBeNull();
    const closed = await app.request('/chat/other');
    expect(closed.headers.get('content-security-policy')).toMatch(/^frame-ancestors 'none';/);
    expect(closed.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('idle connections outlive a reverse proxy\'s (SWITCHBOARD_KEEPALIVE_SECONDS)', () => {
  let app: TestApp;
  let tuned: TestApp;
  beforeAll(async () => { app = await startTestApp(); tuned = await startTestApp({ env: { SWITCHBOARD_KEEPALIVE_SECONDS: '7' } }); });
  afterAll(async () => { await app?.close(); await tuned?.close(); });

  /** Two requests over one kept-alive connection: the Keep-Alive header of each, and whether the socket was reused. */
  async function twoOnOneConnection(url: string) {
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const get = () => new Promise<string | undefined>((resolve, reject) => {
      const req = http.get(url + '/health', { agent }, (res) => {
        sockets.add(res.socket);
        res.resume();
        res.on('end', () => resolve(res.headers['keep-alive'] as string | undefined));
      });
      req.on('error', reject);
    });
    try {
      return { headers: [await get(), await get()], sockets: sockets.size };
    } finally {
      agent.destroy();
    }
  }

  it('keeps an idle connection 65 s by default, and says so', async () => {
    const r = await twoOnOneConnection(app.url);
    expect(r.headers).toEqual(['timeout=65', 'timeout=65']);
    expect(r.sockets).toBe(1);
  });

  it('takes the operator\'s value', async () => {
    expect((await twoOnOneConnection(tuned.url)).headers[0]).toBe('timeout=7');
  });
});
