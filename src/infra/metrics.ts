/**
 * Prometheus metrics (prom-client) in a registry of their own: never the library's global one, so
 * several servers in one process (the tests) each count only their own traffic.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Store } from '../domain/ports.js';
import type { UsageRecord } from '../domain/types.js';
import type { Logger } from './logger.js';

const P = 'switchboard_';

// prom-client's index loads every part, including the default metrics, whose CPU collector pulls in
// @opentelemetry/api (some 50 files). The metric classes are taken from their own files at start; the
// default metrics load with the first scrape (below), so an install nobody scrapes never pays for them.
const require = createRequire(import.meta.url);
const Registry = require('prom-client/lib/registry') as typeof PromClient.Registry;
const Counter = require('prom-client/lib/counter') as typeof PromClient.Counter;
const Gauge = require('prom-client/lib/gauge') as typeof PromClient.Gauge;
const Histogram = require('prom-client/lib/histogram') as typeof PromClient.Histogram;
const collectDefaultMetrics = (o: PromClient.DefaultMetricsCollectorConfiguration<PromClient.RegistryContentType>) =>
  (require('prom-client/lib/defaultMetrics') as typeof PromClient.collectDefaultMetrics)(o);

/** Where the gauges read their values at scrape time. */
export type MetricSources = {
  inbox: () => Promise<Record<string, number>>;
  outbox: () => Promise<Record<string, number>>;
  jobs: () => Promise<Record<string, number>>;
};

/** States every scrape reports (as 0 when empty), so a series does not vanish when its count drops to nothing. */
const KNOWN = {
  inbox: ['queued', 'processing', 'done', 'failed'],
  outbox: ['pending', 'sending', 'sent', 'failed', 'undelivered'],
  jobs: ['queued', 'active', 'completed', 'failed'],
} as const;

export function createMetrics(opts: { log?: Logger; defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  // Node's own metrics (CPU, memory, event loop, GC) join the registry at the first scrape; CPU and memory are totals and
  // current values whenever they are read, the GC and event-loop figures count from that scrape on.
  let defaults = !(opts.defaultMetrics ?? true);
  const registers = [registry];
  let sources: MetricSources | undefined;

  const httpRequests = new Counter({ name: `${P}http_requests_total`, help: 'HTTP requests answered, by method, route pattern and status', labelNames: ['method', 'route', 'status'] as const, registers });
  const httpDuration = new Histogram({
    name: `${P}http_request_duration_seconds`, help: 'Time to answer an HTTP request (until the response starts, for streams)',
    labelNames: ['method', 'route'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
  });
  const modelCalls = new Counter({ name: `${P}model_calls_total`, help: 'Model calls, by provider, model, purpose and outcome', labelNames: ['provider', 'model', 'purpose', 'status'] as const, registers });
  const modelTokens = new Counter({ name: `${P}model_tokens_total`, help: 'Tokens sent to (input) and received from (output) models', labelNames: ['model', 'direction'] as const, registers });
  const modelCost = new Counter({ name: `${P}model_cost_usd_total`, help: 'Cost of model calls in USD, at the configured prices', labelNames: ['model'] as const, registers });
  const modelBuckets = [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120];
  const modelTtft = new Histogram({ name: `${P}model_ttft_seconds`, help: 'Time to the first token of successful model calls', labelNames: ['purpose'] as const, buckets: modelBuckets, registers });
  const modelLatency = new Histogram({ name: `${P}model_latency_seconds`, help: 'Duration of successful model calls', labelNames: ['purpose'] as const, buckets: modelBuckets, registers });
  const sendFailures = new Counter({ name: `${P}send_failures_total`, help: 'Failed sends of reply parts to a channel; final="true" when no retry follows', labelNames: ['channel', 'final'] as const, registers });

  /** A gauge read from the database or the job queue when Prometheus scrapes. */
  const scraped = (name: string, help: string, label: string, known: readonly string[], read: (s: MetricSources) => Promise<Record<string, number>>) =>
    new Gauge({
      name: `${P}${name}`, help, labelNames: [label], registers,
      async collect() {
        this.reset();
        if (!sources) return;
        try {
          const counts = await read(sources);
          for (const k of known) this.set({ [label]: k }, 0);
          for (const [k, v] of Object.entries(counts)) this.set({ [label]: k }, v);
        } catch (err) {
          // Leave the gauge empty rather than fail the whole scrape: the series' absence is the signal.
          opts.log?.warn('metrics gauge failed', { metric: name, error: err });
        }
      },
    });
  scraped('inbox_messages', 'Inbound channel messages in the inbox, by status', 'status', KNOWN.inbox, (s) => s.inbox());
  scraped('outbox_parts', 'Outbound reply parts, by status', 'status', KNOWN.outbox, (s) => s.outbox());
  scraped('jobs', 'Background jobs, by state', 'state', KNOWN.jobs, (s) => s.jobs());

  return {
    registry,
    contentType: registry.contentType,
    /** Connects the scrape-time gauges to the database and job queue. */
    watch(s: MetricSources) { sources = s; },
    http(method: string, route: string, status: number, seconds: number) {
      httpRequests.inc({ method, route, status: String(status) });
      httpDuration.observe({ method, route }, seconds);
    },
    modelCall(u: Pick<UsageRecord, 'provider' | 'model' | 'purpose' | 'status' | 'inputTokens' | 'outputTokens' | 'costUsd' | 'ttftMs' | 'latencyMs'>) {
      modelCalls.inc({ provider: u.provider, model: u.model, purpose: u.purpose, status: u.status });
      if (u.inputTokens > 0) modelTokens.inc({ model: u.model, direction: 'input' }, u.inputTokens);
      if (u.outputTokens > 0) modelTokens.inc({ model: u.model, direction: 'output' }, u.outputTokens);
      if (u.costUsd > 0) modelCost.inc({ model: u.model }, u.costUsd);
      if (u.status !== 'ok') return;
      if (u.ttftMs !== null) modelTtft.observe({ purpose: u.purpose }, u.ttftMs / 1000);
      modelLatency.observe({ purpose: u.purpose }, u.latencyMs / 1000);
    },
    sendFailure(channel: string, final: boolean) {
      sendFailures.inc({ channel, final: String(final) });
    },
    /** The text exposition format. */
    render: () => {
      if (!defaults) { defaults = true; collectDefaultMetrics({ register: registry }); }
      return registry.metrics();
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The store with every usage row also counted in the metrics. Every model call — chat, summaries,
 * routing, embeddings — is recorded through `usage.insert`, so this one decorator sees them all.
 */
export function withUsageMetrics(store: Store, metrics: Metrics): Store {
  const usage: Store['usage'] = {
    ...store.usage,
    async insert(u) {
      const rec = await store.usage.insert(u);
      metrics.modelCall(rec);
      return rec;
    },
  };
  return { ...store, usage, transaction: (fn) => store.transaction((tx) => fn(withUsageMetrics(tx, metrics))) };
}
