// Chart specifications for uPlot (https://github.com/leeoniya/uPlot): small builders that turn
// API numbers into uPlot options and data. Chart.svelte draws them, follows the theme and resizes.
// Days are UTC everywhere, so the time axis is told to show UTC too.
import uPlot from 'uplot';

export interface Palette {
  dark: boolean;
  text: string;
  muted: string;
  grid: string;
  indigo: string;
  emerald: string;
  amber: string;
  rose: string;
  sky: string;
  violet: string;
  zinc: string;
  /** A translucent version of a colour, for area fills and stacked bars. */
  alpha(color: string, a: number): string;
}

const hexAlpha = (hex: string, a: number) =>
  hex + Math.round(Math.max(0, Math.min(1, a)) * 255).toString(16).padStart(2, '0');

/** Tailwind's 500 shades on white, 400 shades on zinc-900: the same colours the rest of the UI uses. */
export function palette(dark: boolean): Palette {
  return dark
    ? {
        dark,
        text: '#d4d4d8',
        muted: '#a1a1aa',
        grid: '#27272a',
        indigo: '#818cf8',
        emerald: '#34d399',
        amber: '#fbbf24',
        rose: '#fb7185',
        sky: '#38bdf8',
        violet: '#a78bfa',
        zinc: '#71717a',
        alpha: hexAlpha,
      }
    : {
        dark,
        text: '#3f3f46',
        muted: '#71717a',
        grid: '#e4e4e7',
        indigo: '#6366f1',
        emerald: '#10b981',
        amber: '#f59e0b',
        rose: '#f43f5e',
        sky: '#0ea5e9',
        violet: '#8b5cf6',
        zinc: '#a1a1aa',
        alpha: hexAlpha,
      };
}

/** Series colours by name, so a chart can be described before the theme is known. */
export type ColorName = 'indigo' | 'emerald' | 'amber' | 'rose' | 'sky' | 'violet' | 'zinc' | 'text';

/** What Chart.svelte needs: uPlot options without a size, and the data. */
export interface ChartSpec {
  opts: Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
}
export type ChartBuilder = (p: Palette) => ChartSpec;

// ---------- number formats ----------

const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const int = new Intl.NumberFormat('en-US');

/** Axis and label money: $1.2k, $12.50, $0.0031 — enough digits for fractions of a cent. */
export function usdShort(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a === 0) return '$0';
  if (a >= 1000) return '$' + compact.format(v);
  if (a >= 1) return '$' + v.toFixed(2).replace(/\.00$/, '');
  return '$' + Number(v.toPrecision(2)).toString();
}
export const countShort = (v: number | null | undefined) => (v == null ? '—' : v >= 10000 ? compact.format(v) : int.format(v));
export const msShort = (v: number | null | undefined) =>
  v == null ? '—' : v >= 10000 ? `${(v / 1000).toFixed(0)} s` : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;

// ---------- shared pieces ----------

const FONT = '11px ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const DAY_S = 86_400;
/** `YYYY-MM-DD` → seconds since the epoch at UTC midnight (uPlot's time unit). */
export const dayToTs = (d: string) => Date.parse(`${d}T00:00:00Z`) / 1000;
const utc = (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');
const fmtDay = uPlot.fmtDate('{MMM} {D}');

/** A y axis wide enough for its longest label. */
function yAxis(p: Palette, fmt: (v: number) => string, extra: Partial<uPlot.Axis> = {}): uPlot.Axis {
  return {
    stroke: p.muted,
    font: FONT,
    grid: { stroke: p.grid, width: 1 },
    ticks: { show: false },
    gap: 6,
    values: (_u, splits) => splits.map((v) => fmt(v)),
    size: (_u, values) => (values?.length ? Math.max(...values.map((s) => (s ?? '').length)) * 6.6 + 16 : 40),
    ...extra,
  };
}

function timeAxis(p: Palette): uPlot.Axis {
  return {
    stroke: p.muted,
    font: FONT,
    grid: { show: false },
    ticks: { stroke: p.grid, width: 1, size: 4 },
    gap: 4,
    space: 56,
    values: (_u, splits) => splits.map((ts) => fmtDay(utc(ts))),
  };
}

/** Keeps bars at the ends whole: half a day of room either side of the first and last day. */
const dayRange: uPlot.Scale.Range = (_u, min, max) => [min - DAY_S / 2, max + DAY_S / 2];
/** Never a negative axis; a flat zero series still gets a visible 0–1 range. */
const fromZero: uPlot.Scale.Range = (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1];

// ---------- charts over days ----------

export interface DaySeries {
  label: string;
  values: (number | null)[];
  color: ColorName;
  kind: 'line' | 'bars';
  /** 'right': drawn against a second axis on the right (e.g. cost next to tokens). */
  axis?: 'left' | 'right';
  /** Lines: fill the area under them. */
  fill?: boolean;
  dash?: number[];
  /** Bars with the same stack name are stacked, in the order given (first at the bottom). */
  stack?: string;
  /** What the legend shows when the pointer is not over the chart, e.g. the range total. */
  summary?: string;
  /** Lines: always mark each value (for data with gaps, where single days have no line). */
  points?: boolean;
}

export interface DayChart {
  dates: string[];
  series: DaySeries[];
  left: (v: number) => string;
  right?: (v: number) => string;
  /** Legend value formats; default the axis format. */
  leftValue?: (v: number) => string;
  rightValue?: (v: number) => string;
  /** The x label in the legend while not hovering, e.g. "30-day total". */
  summaryLabel?: string;
}

/** Lines and bars over days, with an optional second axis and stacked bars. */
export function dayChart(c: DayChart): ChartBuilder {
  return (p) => {
    const xs = c.dates.map(dayToTs);
    // Stacks are drawn as running totals, topmost first, so each lower bar paints over the one above.
    const drawn: { s: DaySeries; values: (number | null)[] }[] = [];
    const stacks = new Map<string, DaySeries[]>();
    for (const s of c.series) if (s.stack) stacks.set(s.stack, [...(stacks.get(s.stack) ?? []), s]);
    const done = new Set<string>();
    for (const s of c.series) {
      if (!s.stack) {
        drawn.push({ s, values: s.values });
        continue;
      }
      if (done.has(s.stack)) continue;
      done.add(s.stack);
      const group = stacks.get(s.stack)!;
      const totals = group.map((_, gi) =>
        c.dates.map((_, di) => group.slice(0, gi + 1).reduce((n, g) => n + (g.values[di] ?? 0), 0)),
      );
      for (let gi = group.length - 1; gi >= 0; gi--) drawn.push({ s: group[gi]!, values: totals[gi]! });
    }
    const raw = new Map(drawn.map((d) => [d.s, d.s.values]));
    const bars = uPlot.paths.bars!({ size: [0.7, 28, 2], radius: 0.15, align: 0 });
    const hasRight = c.series.some((s) => s.axis === 'right');

    const series: uPlot.Series[] = [
      {
        label: 'Day',
        value: (_u, v) => (v == null ? (c.summaryLabel ?? 'total') : fmtDay(utc(v))),
      },
      ...drawn.map(({ s }): uPlot.Series => {
        const fmt = s.axis === 'right' ? (c.rightValue ?? c.right ?? c.left) : (c.leftValue ?? c.left);
        const own = raw.get(s)!;
        const color = p[s.color];
        return {
          label: s.label,
          scale: s.axis === 'right' ? 'right' : 'y',
          stroke: color,
          width: s.kind === 'bars' ? 0 : 2,
          fill: s.kind === 'bars' ? color : s.fill ? p.alpha(color, 0.12) : undefined,
          dash: s.dash,
          paths: s.kind === 'bars' ? bars : undefined,
          // Points show when there is room for them (uPlot decides), or always when asked (sparse data).
          points: s.kind === 'bars' ? { show: false } : { ...(s.points ? { show: true } : {}), size: 5, fill: color, stroke: color },
          spanGaps: false,
          value: (_u, _v, _si, idx) => (idx == null ? (s.summary ?? '') : own[idx] == null ? '—' : fmt(own[idx]!)),
        };
      }),
    ];

    return {
      opts: {
        tzDate: utc,
        padding: [12, hasRight ? 4 : 14, 0, 0],
        cursor: { drag: { x: false, y: false }, points: { size: 7 } },
        legend: { live: true },
        scales: {
          x: { time: true, range: dayRange },
          y: { range: fromZero },
          ...(hasRight ? { right: { range: fromZero } } : {}),
        },
        axes: [
          timeAxis(p),
          yAxis(p, c.left),
          ...(hasRight ? [yAxis(p, c.right ?? c.left, { scale: 'right', side: 1, grid: { show: false } })] : []),
        ],
        series,
      },
      data: [xs, ...drawn.map((d) => d.values)] as uPlot.AlignedData,
    };
  };
}

// ---------- horizontal bars by category ----------

export interface CategorySeries {
  label: string;
  values: number[];
  color: ColorName;
}

export interface CategoryChart {
  labels: string[];
  /** More than one series: stacked, in the order given (first at the left). */
  series: CategorySeries[];
  format: (v: number) => string;
  /** Label the end of each bar (one series) or each wide enough segment (stacked). */
  valueLabels?: boolean;
}

/** Rows of horizontal bars, one per category (agent, model, channel), biggest first as given. */
export function categoryChart(c: CategoryChart): ChartBuilder {
  return (p) => {
    const n = c.labels.length;
    const xs = c.labels.map((_, i) => i);
    const running = c.series.map((_, si) => xs.map((i) => c.series.slice(0, si + 1).reduce((t, s) => t + (s.values[i] ?? 0), 0)));
    // Drawn right to left: the running total of the last series first.
    const order = c.series.map((_, si) => si).reverse();
    const bars = uPlot.paths.bars!({ size: [0.62, 26, 6], radius: 0.2 });
    const maxTotal = Math.max(0, ...(running[running.length - 1] ?? []));
    const truncate = (s: string) => (s.length > 22 ? s.slice(0, 21) + '…' : s);

    return {
      opts: {
        padding: [6, 16, 0, 0],
        legend: { show: false },
        cursor: { show: false },
        scales: {
          x: { time: false, ori: 1, dir: -1, range: () => [-0.5, n - 0.5] },
          // Room at the end of the longest bar for its label.
          y: { ori: 0, range: () => [0, maxTotal > 0 ? maxTotal * (c.valueLabels && c.series.length === 1 ? 1.22 : 1.04) : 1] },
        },
        axes: [
          {
            scale: 'x',
            side: 3,
            stroke: p.text,
            font: FONT,
            grid: { show: false },
            ticks: { show: false },
            gap: 6,
            splits: () => xs,
            values: (_u, splits) => splits.map((i) => truncate(c.labels[i] ?? '')),
            size: () => Math.min(150, Math.max(40, Math.max(...c.labels.map((l) => truncate(l).length)) * 6.4 + 12)),
          },
          {
            scale: 'y',
            side: 2,
            stroke: p.muted,
            font: FONT,
            grid: { stroke: p.grid, width: 1 },
            ticks: { show: false },
            space: 60,
            values: (_u, splits) => splits.map((v) => c.format(v)),
          },
        ],
        series: [
          {},
          ...order.map((si) => ({
            label: c.series[si]!.label,
            stroke: p[c.series[si]!.color],
            fill: p[c.series[si]!.color],
            width: 0,
            paths: bars,
            points: { show: false },
          })),
        ],
        hooks: {
          draw: [
            (u) => {
              if (!c.valueLabels) return;
              const ctx = u.ctx;
              const dpr = devicePixelRatio || 1;
              ctx.save();
              ctx.font = FONT.replace('11px', `${Math.round(11 * dpr)}px`);
              ctx.textBaseline = 'middle';
              for (const i of xs) {
                const mid = u.valToPos(i, 'x', true);
                c.series.forEach((s, si) => {
                  const v = s.values[i] ?? 0;
                  if (!v) return;
                  const text = c.format(v);
                  const end = u.valToPos(running[si]![i]!, 'y', true);
                  if (c.series.length === 1) {
                    const tw = ctx.measureText(text).width;
                    const right = u.bbox.left + u.bbox.width;
                    if (end + 6 * dpr + tw <= right) {
                      ctx.fillStyle = p.text;
                      ctx.textAlign = 'left';
                      ctx.fillText(text, end + 6 * dpr, mid);
                    } else {
                      // No room after the bar: inside its end, in the card's colour.
                      ctx.fillStyle = p.dark ? '#18181b' : '#ffffff';
                      ctx.textAlign = 'right';
                      ctx.fillText(text, end - 6 * dpr, mid);
                    }
                    return;
                  }
                  // A stacked segment shows its own part, when it is wide enough for it.
                  const start = u.valToPos(si === 0 ? 0 : running[si - 1]![i]!, 'y', true);
                  if (ctx.measureText(text).width + 8 * dpr > end - start) return;
                  ctx.fillStyle = p.dark ? '#18181b' : '#ffffff';
                  ctx.textAlign = 'center';
                  ctx.fillText(text, (start + end) / 2, mid);
                });
              }
              ctx.restore();
            },
          ],
        },
      },
      data: [xs, ...order.map((si) => running[si]!)] as uPlot.AlignedData,
    };
  };
}

/** Height that fits `n` rows of category bars. */
export const categoryHeight = (n: number) => Math.max(120, Math.min(420, 34 * n + 48));

// ---------- budget burn-down ----------

export interface BurnDownInput {
  /** Cumulative spend per day of the month; null for days still to come. */
  series: { date: string; spentUsd: number | null }[];
  budgetUsd: number;
  downgradeAtPercent: number;
  stopAtPercent: number;
  projectedUsd: number;
}

/** The month so far against the budget: cumulative spend, the pace projected to month end, and the lines that matter. */
export function burnDownChart(b: BurnDownInput): ChartBuilder {
  return (p) => {
    const xs = b.series.map((d) => dayToTs(d.date));
    const spent = b.series.map((d) => d.spentUsd);
    const last = spent.reduce<number>((idx, v, i) => (v == null ? idx : i), -1);
    const projected = spent.map((_, i) =>
      i === last ? spent[last]! : i === spent.length - 1 && last < spent.length - 1 ? b.projectedUsd : null,
    );
    const flat = (v: number) => spent.map(() => v);
    const downgradeAt = (b.budgetUsd * b.downgradeAtPercent) / 100;
    const stopAt = (b.budgetUsd * b.stopAtPercent) / 100;
    const showStop = Math.abs(b.stopAtPercent - 100) > 0.001;
    const top = Math.max(stopAt, b.budgetUsd, b.projectedUsd, spent[last] ?? 0) * 1.1 || 1;

    const line = (label: string, stroke: string, values: (number | null)[], extra: Partial<uPlot.Series> = {}) => ({
      label,
      stroke,
      width: 1.5,
      points: { show: false },
      value: (_u: uPlot, v: number | null, _si: number, idx: number | null) =>
        idx == null ? usdShort(values.find((x) => x != null) ?? null) : v == null ? '—' : usdShort(v),
      ...extra,
    });

    return {
      opts: {
        tzDate: utc,
        padding: [12, 14, 0, 0],
        cursor: { drag: { x: false, y: false }, points: { size: 7 } },
        legend: { live: true },
        scales: { x: { time: true }, y: { range: () => [0, top] } },
        axes: [timeAxis(p), yAxis(p, usdShort)],
        series: [
          { label: 'Day', value: (_u, v) => (v == null ? 'month so far' : fmtDay(utc(v))) },
          {
            label: 'Spent',
            stroke: p.indigo,
            width: 2.5,
            fill: p.alpha(p.indigo, 0.14),
            points: { show: false },
            value: (_u, v, _si, idx) => (idx == null ? usdShort(spent[last] ?? 0) : v == null ? '—' : usdShort(v)),
          },
          line('Projected', p.indigo, projected, {
            dash: [4, 4],
            spanGaps: true,
            width: 1.5,
            value: (_u, v, _si, idx) => (idx == null || idx === spent.length - 1 ? usdShort(b.projectedUsd) : v == null ? '—' : usdShort(v)),
          }),
          line(showStop ? 'Budget' : 'Budget (stop)', p.text, flat(b.budgetUsd), { width: 1.5 }),
          line(`Fallback at ${b.downgradeAtPercent}%`, p.amber, flat(downgradeAt), { dash: [6, 4] }),
          ...(showStop ? [line(`Stop at ${b.stopAtPercent}%`, p.rose, flat(stopAt), { dash: [2, 3] })] : []),
        ],
      },
      data: [xs, spent, projected, flat(b.budgetUsd), flat(downgradeAt), ...(showStop ? [flat(stopAt)] : [])] as uPlot.AlignedData,
    };
  };
}

// ---------- points in time (uptime checks) ----------

export interface TimeSeries {
  label: string;
  values: (number | null)[];
  color: ColorName;
  fill?: boolean;
}

/** Lines over exact moments (seconds since the epoch), e.g. each uptime check's response time. */
export function timeChart(c: {
  times: number[];
  series: TimeSeries[];
  format: (v: number) => string;
  /** The window shown (seconds); without it, the data's own span (a single point would get years). */
  window?: [number, number];
}): ChartBuilder {
  return (p) => {
    const fmtTime = uPlot.fmtDate('{MMM} {D} {HH}:{mm}');
    const series: uPlot.Series[] = [
      { label: 'Time', value: (_u, v) => (v == null ? '' : fmtTime(utc(v)) + ' UTC') },
      ...c.series.map((s): uPlot.Series => {
        const color = p[s.color];
        return {
          label: s.label,
          stroke: color,
          width: 2,
          fill: s.fill ? p.alpha(color, 0.12) : undefined,
          points: { size: 4, fill: color, stroke: color },
          spanGaps: false,
          value: (_u, v) => (v == null ? '—' : c.format(v)),
        };
      }),
    ];
    const hhmm = uPlot.fmtDate('{HH}:{mm}');
    return {
      opts: {
        tzDate: utc,
        padding: [12, 14, 0, 0],
        cursor: { drag: { x: false, y: false }, points: { size: 7 } },
        legend: { live: true },
        scales: {
          x: {
            time: true,
            range: (_u, min, max) =>
              c.window ?? (max - min < 3600 ? [min - 1800, max + 1800] : [min, max]),
          },
          y: { range: fromZero },
        },
        axes: [
          {
            stroke: p.muted,
            font: FONT,
            grid: { show: false },
            ticks: { stroke: p.grid, width: 1, size: 4 },
            gap: 4,
            space: 64,
            values: (u, splits) => {
              const span = (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0);
              return splits.map((ts) => (span > DAY_S * 1.5 ? fmtDay(utc(ts)) : hhmm(utc(ts))));
            },
          },
          yAxis(p, c.format),
        ],
        series,
      },
      data: [c.times, ...c.series.map((s) => s.values)] as uPlot.AlignedData,
    };
  };
}
