// The analytics page's vocabulary: the numbers a breakdown card can chart, the delivery outcomes,
// and channel names as people read them.
import { countShort, usdShort, type ColorName } from './charts/charts';

export type Metric = { key: string; label: string; format: (v: number) => string; color: ColorName };
export const COST: Metric = { key: 'costUsd', label: 'Cost', format: usdShort, color: 'emerald' };
export const MESSAGES: Metric = { key: 'messages', label: 'Messages', format: countShort, color: 'indigo' };
export const PEOPLE: Metric = { key: 'people', label: 'People', format: countShort, color: 'sky' };
export const REQUESTS: Metric = { key: 'requests', label: 'Model calls', format: countShort, color: 'violet' };
export const TOKENS: Metric = { key: 'tokens', label: 'Tokens', format: countShort, color: 'sky' };

export function metricOf(row: object, m: Metric): number {
  const r = row as Record<string, unknown>;
  return m.key === 'tokens' ? Number(r.inputTokens ?? 0) + Number(r.outputTokens ?? 0) : Number(r[m.key] ?? 0);
}

/** Rows sorted by the chosen metric, biggest first; at most 12 in a chart (the table has them all). */
export const top = <T extends object>(rows: T[], m: Metric) => [...rows].sort((a, b) => metricOf(b, m) - metricOf(a, m)).slice(0, 12);

export type DeliveryKey = 'read' | 'delivered' | 'sent' | 'pending' | 'undelivered' | 'failed';
export const DELIVERY: { key: DeliveryKey; label: string; color: ColorName; dot: string }[] = [
  { key: 'read', label: 'Read', color: 'emerald', dot: 'bg-emerald-500' },
  { key: 'delivered', label: 'Delivered', color: 'indigo', dot: 'bg-indigo-500' },
  { key: 'sent', label: 'Sent', color: 'sky', dot: 'bg-sky-500' },
  { key: 'pending', label: 'Pending', color: 'zinc', dot: 'bg-zinc-400' },
  { key: 'undelivered', label: 'Undelivered', color: 'amber', dot: 'bg-amber-500' },
  { key: 'failed', label: 'Failed', color: 'rose', dot: 'bg-rose-500' },
];

export const channelName = (c: string) =>
  ({ web: 'Web chat', api: 'API', openai: 'OpenAI endpoint', telegram: 'Telegram', whatsapp: 'WhatsApp' })[c] ?? c;
