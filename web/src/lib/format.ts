const usd = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 4,
});
const int = new Intl.NumberFormat('en-US');

/** USD with up to four decimals: $0.0012, $3.50. */
export function formatUsd(n: number | null | undefined): string {
  return usd.format(n ?? 0);
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
