const usd = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 4,
});
const usdTiny = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumSignificantDigits: 2 });
const int = new Intl.NumberFormat('en-US');

/** USD with up to four decimals: $0.0012, $3.50; amounts under a tenth of a cent keep two significant digits ($0.000031). */
export function formatUsd(n: number | null | undefined): string {
  const v = n ?? 0;
  return v !== 0 && Math.abs(v) < 0.001 ? usdTiny.format(v) : usd.format(v);
}

export function formatInt(n: number | null | undefined): string {
  return int.format(n ?? 0);
}

/** Price per million tokens, e.g. "$0.15 / 1M". */
export function formatPerM(n: number | null | undefined): string {
  return n == null ? '—' : `${usd.format(n)}`;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A moment as the clock reads in `timeZone` (an IANA name), naming the zone: "Mar 9, 2026, 9:00 AM GMT+1 (Europe/Berlin)". */
export function formatDateTimeIn(iso: string | null | undefined, timeZone: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return `${d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone })} (${timeZone})`;
  } catch {
    return formatDateTime(iso);
  }
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** `YYYY-MM-DD` in UTC, `days` ago (0 = today). */
export function utcDate(daysAgo = 0): string {
  const d = new Date(Date.now() - daysAgo * 86_400_000);
  return d.toISOString().slice(0, 10);
}

/** A time span: "Mar 3, 2026, 10:02 – 10:15" on one day, both dates and times otherwise. */
export function formatSpan(fromIso: string | null | undefined, toIso: string | null | undefined): string {
  if (!fromIso) return formatDateTime(toIso);
  if (!toIso) return formatDateTime(fromIso);
  const a = new Date(fromIso);
  const b = new Date(toIso);
  if (Number.isNaN(a.getTime()) || Number.isNaN(b.getTime())) return `${fromIso} – ${toIso}`;
  if (a.toDateString() === b.toDateString()) {
    return `${formatDateTime(fromIso)} – ${b.toLocaleTimeString(undefined, { timeStyle: 'short' })}`;
  }
  return `${formatDateTime(fromIso)} – ${formatDateTime(toIso)}`;
}

/** "1.2 KB": a file size in bytes, for lists. */
export function formatBytes(n: number | null | undefined): string {
  const v = n ?? 0;
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KB`;
  return `${(v / 1024 / 1024).toFixed(1)} MB`;
}

/** "45 minutes", "1 day 2 hours": a number of minutes in words. */
export function formatMinutes(minutes: number | null | undefined): string {
  const total = Math.round(minutes ?? 0);
  if (!Number.isFinite(total) || total <= 0) return '';
  const d = Math.floor(total / 1440);
  const h = Math.floor((total % 1440) / 60);
  const m = total % 60;
  const part = (n: number, unit: string) => (n ? [`${n} ${unit}${n === 1 ? '' : 's'}`] : []);
  return [...part(d, 'day'), ...part(h, 'hour'), ...part(m, 'minute')].join(' ');
}

/** A wait as people say it: "40 seconds", "a minute", "15 minutes" (never "886 seconds"). */
export function waitInWords(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  if (m === 1) return 'a minute';
  if (m < 120) return `${m} minutes`;
  return `${Math.ceil(m / 60)} hours`;
}
