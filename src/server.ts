import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { loadConfig } from './config/config.js';
import { createServices } from './deps.js';
import { createApp } from './app.js';
import type { Clock } from './domain/ports.js';
import type { Logger } from './infra/logger.js';

/** `log`: a logger to use instead of one built from the configuration (tests capture what is logged). */
export type StartOptions = { env?: Record<string, string | undefined>; port?: number; host?: string; pgSchema?: string; clock?: Clock; log?: Logger };
export type RunningServer = { url: string; port: number; close(): Promise<void>; services: Awaited<ReturnType<typeof createServices>>['services'] };

/** Loads config, migrates, creates the owner from the environment if asked, and listens. */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const config = loadConfig(opts.env ?? process.env);
  const { services, dialect, warmModels, ownerPasswordHash } = await createServices(config, { pgSchema: opts.pgSchema, clock: opts.clock, log: opts.log });
  if (await services.accounts.ensureOwnerFromEnv(config.SWITCHBOARD_ADMIN_EMAIL, config.SWITCHBOARD_ADMIN_PASSWORD, await ownerPasswordHash)) {
    services.log.info('owner account created from SWITCHBOARD_ADMIN_EMAIL', { email: config.SWITCHBOARD_ADMIN_EMAIL });
  }
  const app = createApp(services);
  // Listen first, then start the background work: GET /health (and every request) is answered while the
  // workers, sweeps and schedules start, which is a good part of start-to-ready (issue 13). A request that
  // arrives meanwhile is handled as usual: what it queues is stored and picked up once the workers run.
  const host = opts.host ?? config.HOST;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? config.PORT, hostname: host }, () => resolve(s));
    s.once('error', reject);
    // Idle connections stay open longer than a reverse proxy keeps its upstream ones (see the setting);
    // the time allowed for a request's headers stays above it, as Node asks.
    const http = s as { keepAliveTimeout?: number; headersTimeout?: number };
    http.keepAliveTimeout = config.SWITCHBOARD_KEEPALIVE_SECONDS * 1000;
    http.headersTimeout = Math.max(60_000, http.keepAliveTimeout + 1000);
  });

  let sweeper: ReturnType<typeof setInterval> | undefined;
  try {
    // Background work: the inbox worker, and Telegram bots (webhooks registered or polling started).
    if (config.SWITCHBOARD_WORKER_CONCURRENCY > 0) services.inbox.start();
    await services.queue.start();
    // Expired media (SWITCHBOARD_MEDIA_RETENTION_DAYS) are deleted by a durable job that queues its next run each hour.
    await services.media.scheduleRetention().catch((err) => services.log.error('media retention could not be scheduled', { error: err }));
    // Each watched site's chain of uptime checks (one job per agent and slot across processes).
    await services.siteWatch.start().catch((err) => services.log.error('site watch could not be started', { error: err }));
    // Sessions idle past their agent's timeout are closed and summarized even if nobody writes again.
    const sweep = async () => {
      await services.memory.sweep().catch((err) => services.log.error('session sweep failed', { error: err }));
      await services.budget.expireHolds().catch((err) => services.log.error('budget hold expiry failed', { error: err }));
      await services.approvals.expire().catch((err) => services.log.error('approval expiry failed', { error: err }));
      await services.store.authTokens.purge(new Date(Date.now() - 7 * 86_400_000).toISOString()).catch((err) => services.log.error('auth token purge failed', { error: err }));
      await services.store.inbox.foldCounts().catch((err) => services.log.error('folding the inbox and outbox counts failed', { error: err }));
      await services.billing.enforceGrace().catch((err) => services.log.error('billing grace enforcement failed', { error: err }));
      await services.takeover.sweep().catch((err) => services.log.error('automatic hand-back failed', { error: err }));
    };
    sweeper = setInterval(sweep, config.SWITCHBOARD_SESSION_SWEEP_SECONDS * 1000);
    sweeper.unref();
    await services.telegram.startAll();
    // Schedules: each process ticks; a due slot runs once across processes; missed slots run once now, marked late.
    services.schedules.start();
  } catch (err) {
    // Not started after all: stop sweeping and listening, so a failed start leaves nothing behind.
    clearInterval(sweeper);
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    server.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  const url = `http://${shownHost}:${port}`;
  const modelConfigured = await services.providers.isConfigured();
  services.log.info('switchboard listening', { url, database: dialect, dataDir: dialect === 'sqlite' ? config.DATA_DIR : undefined, modelConfigured });
  // With a model configured, the AI SDK loads now, after the server answers, so the first chat after a
  // restart does not wait for it (and hold its budget reservation meanwhile); without one it loads with the first call.
  if (modelConfigured) setImmediate(() => void warmModels().catch((err) => services.log.error('loading the AI SDK failed', { error: err })));
  return {
    url, port, services,
    close: async () => {
      services.telegram.stopAll();
      services.schedules.stop();
      clearInterval(sweeper);
      await services.inbox.stop();
      await services.queue.stop();
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      await services.events.close?.();
      await services.store.close();
    },
  };
}
