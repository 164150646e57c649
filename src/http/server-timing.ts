/**
 * Server-Timing (https://www.w3.org/TR/server-timing/) for the model paths: Switchboard's own time
 * apart from the model's, so an operator sees the overhead of every request in the browser's
 * developer tools or any HTTP client.
 *
 *   sb;dur=1.2;desc="switchboard", model;dur=0.4;desc="model"
 *
 * Metrics: `sb` Switchboard's own time (request received → answer, minus the model's); `model` the
 * time inside the provider calls; `sb-pre` Switchboard's time before the model call started;
 * `ttfb-model` the model's time to its first event. Durations in milliseconds, three decimals at most.
 */
import type { CallTiming } from '../llm/model-gateway.js';

export type TimingMetric = { name: string; dur: number; desc: string };

const ms = (x: number) => Math.max(0, Math.round(x * 1000) / 1000);

export function serverTiming(metrics: TimingMetric[]): string {
  return metrics.map((m) => `${m.name};dur=${ms(m.dur)};desc="${m.desc}"`).join(', ');
}

/** A whole answer: Switchboard's time and the model's, from when the request came in until now. */
export function totalTiming(startedAt: number, t: CallTiming, now = performance.now()): string {
  return serverTiming([
    { name: 'sb', dur: now - startedAt - t.modelMs, desc: 'switchboard' },
    { name: 'model', dur: t.modelMs, desc: 'model' },
  ]);
}

/**
 * What is known when a stream's headers go out: Switchboard's time before the model call and, when
 * the model has answered already, its time to the first event.
 */
export function streamStartTiming(startedAt: number, t: CallTiming, now = performance.now()): string {
  const metrics: TimingMetric[] = [{ name: 'sb-pre', dur: (t.modelStartAt ?? now) - startedAt, desc: 'switchboard before the model' }];
  if (t.modelStartAt !== null && t.firstEventAt !== null) metrics.push({ name: 'ttfb-model', dur: t.firstEventAt - t.modelStartAt, desc: 'model to first event' });
  return serverTiming(metrics);
}
