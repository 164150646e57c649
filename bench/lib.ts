/** Small helpers shared by the benchmarks (percentiles, environment knobs, results directory). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

export function intEnv(name: string, fallback: number, min: number, max: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return v;
}

export type Stats = { n: number; min: number; p50: number; p95: number; p99: number; max: number; mean: number };

/** Nearest-rank percentiles, rounded to the microsecond. */
export function stats(xs: ArrayLike<number>): Stats {
  const s = Array.from(xs).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return { n: 0, min: NaN, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { n: s.length, min: r(s[0]!), p50: r(q(0.5)), p95: r(q(0.95)), p99: r(q(0.99)), max: r(s[s.length - 1]!), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

/** Fixed-width table cells. */
export const cell = (x: number, width = 9) => (Number.isFinite(x) ? x.toFixed(x >= 1000 ? 0 : 2) : '-').padStart(width);
export const statsRow = (label: string, s: Stats, labelWidth = 48) =>
  `${label.padEnd(labelWidth)}${String(s.n).padStart(6)}${cell(s.p50)}${cell(s.p95)}${cell(s.p99)}${cell(s.max)}`;
export const statsHead = (labelWidth = 48) => `${''.padEnd(labelWidth)}${'n'.padStart(6)}${['p50', 'p95', 'p99', 'max'].map((h) => h.padStart(9)).join('')}`;
