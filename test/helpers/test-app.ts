/**
 * Starts the real server over real HTTP for integration tests, with fake model providers.
 * With TEST_DATABASE_URL set (npm run test:pg) it runs on PostgreSQL in a fresh schema per app.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startServer, type RunningServer } from '../../src/server.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import type { Clock } from '../../src/domain/ports.js';
import type { Logger } from '../../src/infra/logger.js';
import { freePort } from './ports.js';

export { freePort };

export type TestApp = {
  url: string;
  dataDir: string;
  schema: string | undefined;
  server: RunningServer;
  fake: FakeOpenAI;
  /** fetch against the app; JSON bodies are encoded, and `token` becomes a bearer header. */
  api(path: string, init?: { method?: string; body?: unknown; token?: string; headers?: Record<string, string>; raw?: string }): Promise<{ status: number; body: any; headers: Headers }>;
  /** Sets up the owner and returns its bearer token. */
  owner(): Promise<string>;
  close(): Promise<void>;
};

export const TEST_SECRET = 'a'.repeat(64);
export const isPg = () => !!process.env.TEST_DATABASE_URL;

/** Polls until `check` returns a truthy value, or fails after `ms`. */
export async function eventually<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startTestApp(opts: {
  env?: Record<string, string | undefined>; withModel?: boolean; publicUrl?: boolean;
  /** Run a second process on another app's database: its data dir (SQLite) and schema (PostgreSQL). */
  shareWith?: TestApp;
  /** A clock the test moves by hand (session timeouts). */
  clock?: Clock;
  /** A logger to capture what the server logs (instead of the silent one). */
  log?: Logger;
} = {}): Promise<TestApp> {
  const fake = await startFakeOpenAI();
  const shared = opts.shareWith;
  const dataDir = shared ? shared.dataDir : mkdtempSync(join(tmpdir(), 'sb-test-'));
  let schema: string | undefined = shared?.schema;
  const dbUrl = process.env.TEST_DATABASE_URL;
  if (dbUrl && !shared) {
    schema = `t_${randomBytes(6).toString('hex')}`;
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    await c.query(`create schema ${schema}`);
    await c.end();
  }
  const port = opts.publicUrl ? await freePort() : 0;
  const server = await startServer({
    port, host: '127.0.0.1', pgSchema: schema, clock: opts.clock, log: opts.log,
    env: {
      ...(opts.publicUrl ? { PUBLIC_URL: `http://127.0.0.1:${port}` } : {}),
      DATA_DIR: dataDir, DATABASE_URL: dbUrl, SWITCHBOARD_SECRET_KEY: TEST_SECRET, SWITCHBOARD_LOG_LEVEL: 'silent',
      SWITCHBOARD_MODEL_MAX_RETRIES: '0', SWITCHBOARD_MODEL_TIMEOUT_MS: '3000',
      ...(opts.withModel === false ? {} : { OPENAI_API_KEY: 'test-key', OPENAI_BASE_URL: fake.url, SWITCHBOARD_DEFAULT_MODEL: 'openai:gpt-4o-mini' }),
      ...opts.env,
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  const api: TestApp['api'] = async (path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined || init.raw !== undefined) headers['content-type'] ??= 'application/json';
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const res = await fetch(url + path, { method: init.method ?? (init.body !== undefined || init.raw !== undefined ? 'POST' : 'GET'), headers, body: init.raw ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined) });
    const text = await res.text();
    let body: any = text;
    try { body = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, body, headers: res.headers };
  };
  let ownerToken: string | undefined;
  return {
    url, server, fake, api, dataDir, schema,
    async owner() {
      if (ownerToken) return ownerToken;
      const r = await api('/api/setup', { body: { email: 'owner@example.com', password: 'correct horse battery' } });
      if (r.status !== 201) throw new Error(`setup failed: ${r.status} ${JSON.stringify(r.body)}`);
      return (ownerToken = r.body.token as string);
    },
    async close() {
      await server.close();
      await fake.close();
      if (shared) return; // the first app owns the data
      rmSync(dataDir, { recursive: true, force: true });
      if (dbUrl && schema) {
        const c = new pg.Client({ connectionString: dbUrl });
        await c.connect();
        await c.query(`drop schema ${schema} cascade`);
        await c.query(`drop schema if exists ${schema}_jobs cascade`); // pg-boss's schema, when the job queue ran
        await c.end();
      }
    },
  };
}

/** Reads a text/event-stream response into {event, data} frames. */
export async function readSse(res: Response): Promise<{ event: string; data: any }[]> {
  const text = await res.text();
  return text.split('\n\n').filter((b) => b.trim()).map((block) => {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    const d = data.join('\n');
    let parsed: any = d;
    try { parsed = JSON.parse(d); } catch { /* [DONE] */ }
    return { event, data: parsed };
  });
}

/** A clock that stands still until the test moves it. */
export function manualClock(start = Date.now()): Clock & { advance(ms: number): void; set(at: number): void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => { t += ms; }, set: (at) => { t = at; } };
}
