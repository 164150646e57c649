// Words and numbers for the customer side — plans, billing standing, provisioning steps, bot tokens and
// site addresses — shared by the customer pages and the operator pages (customers, plans).
import type { Billing, BillingStatus, Plan, PlanTool, ProvisioningStepName } from './api';
import { formatInt, formatUsd } from './format';

const DAY = 86_400_000;

/** Whole days from now until `iso` (0 when it is today or past); null without a date. */
export function daysUntil(iso: string | null | undefined, now = Date.now()): number | null {
  if (!iso) return null;
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return null;
  return Math.max(0, Math.ceil((t - now) / DAY));
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

export const STATUS_LABEL: Record<BillingStatus, string> = {
  none: 'No plan',
  trialing: 'Trial',
  active: 'Active',
  past_due: 'Payment past due',
  canceled: 'Canceled',
};

export const STATUS_BADGE: Record<BillingStatus, string> = {
  none: 'badge-zinc',
  trialing: 'badge-indigo',
  active: 'badge-green',
  past_due: 'badge-amber',
  canceled: 'badge-red',
};

export const TOOL_LABEL: Record<string, string> = {
  memory: 'Memory of past conversations',
  web_fetch: 'Reads web pages',
  web_search: 'Searches the web',
  exec: 'Runs commands in a sandbox',
};

export function priceText(p: Pick<Plan, 'priceUsdMonth'>): string {
  if (!p.priceUsdMonth) return 'Free';
  return `${formatUsd(p.priceUsdMonth).replace(/\.00$/, '')}/month`;
}

/** "300 messages a month" / "Unlimited messages". */
export function messagesText(n: number | null): string {
  return n == null ? 'Unlimited messages' : `${formatInt(n)} messages a month`;
}

export function agentsText(n: number | null): string {
  return n == null ? 'Unlimited agents' : n === 1 ? '1 agent' : `${formatInt(n)} agents`;
}

export function costText(n: number | null): string {
  return n == null ? 'No model spend cap' : `Model spend up to ${formatUsd(n)} a month`;
}

/** The plan's features as short lines, for plan cards. */
export function planFeatures(p: Plan): string[] {
  return [
    agentsText(p.maxAgents),
    messagesText(p.monthlyMessages),
    ...p.tools.map((t) => TOOL_LABEL[t] ?? t),
    ...(p.trialDays ? [`${p.trialDays}-day free trial`] : []),
  ];
}

/** Used as a share of a limit, 0–100 (null: no limit). */
export function percentOf(used: number, limit: number | null): number | null {
  if (limit == null) return null;
  if (limit <= 0) return used > 0 ? 100 : 0;
  return Math.min(100, Math.round((used / limit) * 100));
}

export type StandingNotice = {
  kind: 'info' | 'warning' | 'error';
  id: 'trial_ending' | 'trial_ended' | 'past_due' | 'canceled';
  title: string;
  text: string;
};

/** What a customer should be told about their plan right now, if anything. */
export function standingNotice(b: Billing, now = Date.now()): StandingNotice | null {
  if (b.blocked === 'trial_expired' || b.trialExpired) {
    return {
      kind: 'error',
      id: 'trial_ended',
      title: 'Your free trial has ended',
      text: 'Your agents have stopped answering. Choose a plan to switch them back on.',
    };
  }
  if (b.blocked === 'canceled' || b.status === 'canceled') {
    return {
      kind: 'error',
      id: 'canceled',
      title: 'Your subscription is canceled',
      text: 'Your agents have stopped answering. Choose a plan to switch them back on.',
    };
  }
  if (b.status === 'past_due') {
    const grace = b.graceEndsAt ? formatDate(b.graceEndsAt) : null;
    return {
      kind: 'warning',
      id: 'past_due',
      title: 'Your last payment failed',
      text: grace
        ? `Your agents keep working until ${grace}. Update your card before then so they are not paused.`
        : 'Update your card so your agents are not paused.',
    };
  }
  if (b.status === 'trialing' && b.trialEndsAt) {
    const days = daysUntil(b.trialEndsAt, now);
    if (days !== null && days <= 3) {
      return {
        kind: 'warning',
        id: 'trial_ending',
        title: days === 0 ? 'Your free trial ends today' : `Your free trial ends in ${days} day${days === 1 ? '' : 's'}`,
        text: `After ${formatDate(b.trialEndsAt)} your agents stop answering unless you choose a plan.`,
      };
    }
  }
  return null;
}

/** The provisioning steps in the customer's words. */
export const STEP_LABEL: Record<ProvisioningStepName, string> = {
  validate_token: 'Check the Telegram bot token',
  check_site: 'Visit your website',
  generate_workspace: "Write the agent's persona",
  index_site: "Read the website into the agent's knowledge",
  bind_telegram: 'Connect the bot to Telegram',
  health_check: 'Send a test message',
};

export function stepLabel(name: string): string {
  return STEP_LABEL[name as ProvisioningStepName] ?? name.replaceAll('_', ' ');
}

/** A BotFather token is `<digits>:<35 characters>`; anything else is a paste gone wrong. */
export const BOT_TOKEN_PATTERN = /^\d{5,16}:[A-Za-z0-9_-]{30,}$/;

/** "example.com" → "https://example.com"; leaves anything with a scheme alone. */
export function normalizeSiteUrl(raw: string): string {
  const v = raw.trim();
  if (!v) return v;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `https://${v}`;
}

/** Why a site URL cannot be right, or '' when it looks fine. */
export function siteUrlProblem(raw: string): string {
  const v = normalizeSiteUrl(raw);
  if (!v) return "Enter your website's address.";
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return 'That does not look like a web address, e.g. https://example.com.';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'The address must start with https:// or http://.';
  if (!u.hostname.includes('.') && u.hostname !== 'localhost' && !/^\d+\.\d+\.\d+\.\d+$/.test(u.hostname)) {
    return 'That does not look like a web address, e.g. https://example.com.';
  }
  return '';
}

/** The URL when it is plain http(s), for use in an href; anything else (javascript:, data:) gives null. */
export function safeHref(raw: string | null | undefined): string | null {
  if (!raw) return null;
  try {
    const u = new URL(raw);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

/** Whether a standing badge adds anything next to the plan's name ("Trial" on the Trial plan does not). */
export function showStatusBadge(planName: string | null | undefined, status: BillingStatus): boolean {
  return STATUS_LABEL[status].toLowerCase() !== (planName ?? '').trim().toLowerCase();
}
