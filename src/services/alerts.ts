/**
 * Budget alerts reach the owner three ways: the dashboard (the alerts list), a webhook (JSON, signed
 * with HMAC-SHA256 over the raw body when a secret is set) and e-mail over SMTP. Delivery runs as a
 * durable job, so a failing webhook or mail server is retried without sending twice what succeeded.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { BudgetAlert, Mailer, SecretBox, Store } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';
import { AppError, errors } from '../domain/errors.js';
import { defineJob, type Job } from '../jobs/index.js';
import type { Logger } from '../infra/logger.js';
import { authorize, canSeeAllAgents } from './access.js';
import { asSecret } from '../infra/redact.js';
import { changedFields, recordAudit } from './audit.js';

/** The job that delivers one alert (sent by the budget service when a threshold is crossed). */
export const ALERT_JOB = 'deliver-budget-alert';

/** The settings key; its `email` part is also the SMTP server of all mail when SMTP_URL is unset (infra/mail.ts, through `storedSmtp`). */
export const ALERT_SETTINGS_KEY = 'alerts';
const KEY = ALERT_SETTINGS_KEY;
export type StoredAlertSettings = Stored;
type Stored = {
  webhookUrl: string | null; webhookSecretSealed: string | null;
  email: { host: string; port: number; secure: boolean; user: string | null; passwordSealed: string | null; from: string; to: string[] } | null;
};

/** The SMTP server stored with the alert settings, password opened: what the mailer uses when SMTP_URL is unset. */
export async function storedSmtp(settings: Store['settings'], box: SecretBox) {
  const e = (await settings.get<Stored>(KEY))?.email;
  return e ? { host: e.host, port: e.port, secure: e.secure, user: e.user, pass: e.passwordSealed ? asSecret(box.open(e.passwordSealed)) : null, from: e.from } : undefined;
}

export const alertSettingsSchema = z.strictObject({
  webhookUrl: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2000).nullable().optional(),
  /** Write-only; "" removes it. */
  webhookSecret: z.string().max(200).optional(),
  email: z.strictObject({
    host: z.string().trim().min(1, 'is required').max(255),
    port: z.number().int().min(1).max(65535).default(587),
    /** true: TLS from the start (port 465); false: STARTTLS when the server offers it. */
    secure: z.boolean().default(false),
    user: z.string().max(255).nullable().optional(),
    /** Write-only; omitted keeps the stored one, "" removes it. */
    password: z.string().max(500).optional(),
    from: z.email({ message: 'must be an e-mail address' }),
    to: z.array(z.email({ message: 'must be an e-mail address' })).min(1, 'needs at least one address').max(20),
  }).nullable().optional(),
});
export type AlertSettingsInput = z.infer<typeof alertSettingsSchema>;

export function alertService(deps: { store: Pick<Store, 'budget' | 'settings' | 'users' | 'audit' | 'transaction'>; box: SecretBox; mail: Mailer; log: Logger; fetch?: typeof fetch }) {
  const { store, box, mail, log } = deps;
  const doFetch = deps.fetch ?? fetch;
  const load = async (): Promise<Stored> => (await store.settings.get<Stored>(KEY)) ?? { webhookUrl: null, webhookSecretSealed: null, email: null };

  function view(s: Stored) {
    return {
      webhookUrl: s.webhookUrl, hasWebhookSecret: !!s.webhookSecretSealed,
      email: s.email ? { host: s.email.host, port: s.email.port, secure: s.email.secure, user: s.email.user, hasPassword: !!s.email.passwordSealed, from: s.email.from, to: s.email.to } : null,
    };
  }

  async function postWebhook(s: Stored, payload: unknown, event = 'budget.threshold'): Promise<void> {
    if (!s.webhookUrl) throw new Error('not configured');
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Switchboard', 'x-switchboard-event': event };
    if (s.webhookSecretSealed) headers['x-switchboard-signature'] = `sha256=${createHmac('sha256', asSecret(box.open(s.webhookSecretSealed))).update(body).digest('hex')}`;
    const res = await doFetch(s.webhookUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000), redirect: 'manual' });
    if (!res.ok) throw new Error(`the webhook answered ${res.status}`);
  }

  /** Through the one mailer: SMTP_URL when set, otherwise the SMTP server stored here. */
  async function sendMail(s: Stored, to: string[], subject: string, text: string): Promise<void> {
    if (!s.email) throw new Error('not configured');
    await mail.send({ to: [...new Set(to)].join(', '), subject, text });
  }

  async function recipients(s: Stored, alert: Pick<BudgetAlert, 'ownerId'>): Promise<string[]> {
    const to = [...(s.email?.to ?? [])];
    // A customer hears about their own agents too.
    const owner = alert.ownerId ? await store.users.byId(alert.ownerId) : undefined;
    if (owner?.role === 'customer') to.push(owner.email);
    return to;
  }

  const subjectOf = (a: Pick<BudgetAlert, 'kind' | 'percent'>) => `[Switchboard] ${a.kind === 'stop' ? 'Budget spent' : 'Budget running low'} (${Math.round(a.percent)}%)`;
  const payloadOf = (a: BudgetAlert) => ({
    type: 'budget.threshold', alert: {
      id: a.id, scope: a.scope, scopeId: a.scopeId, period: a.period, kind: a.kind, percent: a.percent,
      spentUsd: a.spentUsd, budgetUsd: a.budgetUsd, message: a.message, createdAt: a.createdAt,
    },
  });

  /**
   * Delivers one alert by webhook and e-mail, each at most once. When the last retry fails the alert keeps
   * the failure in its webhook and e-mail statuses, which the dashboard shows: nothing more to do.
   */
  const alertJob = defineJob({
    name: ALERT_JOB, schema: z.object({ alertId: z.string().min(1) }), retry: { limit: 5, delaySeconds: 30 }, concurrency: 1,
    perform: (job) => alerts.deliver(job),
  });

  const alerts = {
    async settings(actor: Actor) {
      authorize(actor, 'alertSettings.read');
      return view(await load());
    },

    async update(actor: Actor, input: AlertSettingsInput) {
      authorize(actor, 'alertSettings.write');
      const cur = await load();
      const next: Stored = { ...cur };
      if (input.webhookUrl !== undefined) next.webhookUrl = input.webhookUrl;
      if (input.webhookSecret !== undefined) next.webhookSecretSealed = input.webhookSecret ? box.seal(input.webhookSecret) : null;
      if (input.email === null) next.email = null;
      else if (input.email) {
        const { password, ...rest } = input.email;
        next.email = {
          ...rest, user: rest.user ?? null,
          passwordSealed: password === undefined ? cur.email?.passwordSealed ?? null : password ? box.seal(password) : null,
        };
      }
      // What changed, as the settings page shows it: secrets compared (opened), named, never copied.
      const flat = (x: Stored) => {
        const v = view(x);
        return {
          webhookUrl: v.webhookUrl, webhookSecret: x.webhookSecretSealed ? box.open(x.webhookSecretSealed) : null,
          email: v.email ? { host: v.email.host, port: v.email.port, secure: v.email.secure, user: v.email.user, from: v.email.from, to: v.email.to } : null,
          emailPassword: x.email?.passwordSealed ? box.open(x.email.passwordSealed) : null,
        };
      };
      const diff = changedFields(flat(cur), flat(next), { secret: ['webhookSecret', 'emailPassword'], nested: ['email'] });
      if (diff.fields.length) {
        await store.transaction(async (tx) => {
          await tx.settings.set(KEY, next);
          await recordAudit(tx, actor, 'alert_settings.updated', { type: 'settings', id: 'alerts' }, diff);
        });
      }
      return view(next);
    },

    /** Sends a test alert through each configured way and says how each went. */
    async test(actor: Actor) {
      authorize(actor, 'alertSettings.write');
      const s = await load();
      if (!s.webhookUrl && !s.email) throw new AppError(400, 'alerts_not_configured', 'Set a webhook URL or SMTP settings first.');
      const sample: BudgetAlert = {
        id: 'test', scope: 'agent', scopeId: 'test', period: new Date().toISOString().slice(0, 7), kind: 'downgrade', ownerId: null,
        percent: 80, spentUsd: 8, budgetUsd: 10, message: 'This is a test alert from Switchboard.', createdAt: new Date().toISOString(),
        acknowledgedAt: null, webhookStatus: null, emailStatus: null,
      };
      const attempt = async (fn: () => Promise<void>, configured: boolean) => {
        if (!configured) return 'not configured';
        try { await fn(); return 'sent'; } catch (err) { return `failed: ${(err as Error).message}`; }
      };
      return {
        webhook: await attempt(() => postWebhook(s, payloadOf(sample)), !!s.webhookUrl),
        email: await attempt(() => sendMail(s, s.email!.to, subjectOf(sample), sample.message), !!s.email),
      };
    },

    async list(actor: Actor) {
      return store.budget.alerts({ ownerId: canSeeAllAgents(actor) ? undefined : actor.user.id, limit: 200 });
    },

    async acknowledge(actor: Actor, id: string) {
      const a = await store.budget.alert(id);
      if (!a) throw errors.notFound('Alert');
      authorize(actor, 'alert.ack', a, 'Alert');
      if (!a.acknowledgedAt) {
        await store.transaction(async (tx) => {
          await tx.budget.updateAlert(id, { acknowledgedAt: new Date().toISOString() });
          await recordAudit(tx, actor, 'alert.acknowledged', { type: 'alert', id }, { scope: a.scope, scopeId: a.scopeId, fields: ['acknowledgedAt'] });
        });
      }
      return (await store.budget.alert(id))!;
    },

    /**
     * Another owner notification through the alert routes (a conversation needing a person): one way at a
     * time, so a retry repeats only the way that failed. Throws when that way fails; 'not configured' when unset.
     */
    async notify(via: 'webhook' | 'email', n: { event: string; payload: unknown; ownerId: string | null; subject: string; text: string }): Promise<'sent' | 'not configured'> {
      const s = await load();
      if (via === 'webhook') {
        if (!s.webhookUrl) return 'not configured';
        await postWebhook(s, n.payload, n.event);
        return 'sent';
      }
      const to = await recipients(s, { ownerId: n.ownerId });
      if (!s.email || !to.length) return 'not configured';
      await sendMail(s, to, n.subject, n.text);
      return 'sent';
    },

    /** Job: deliver one alert; what already went out is not sent again on a retry. */
    async deliver(job: Job<{ alertId: string }>): Promise<void> {
      const alert = await store.budget.alert(job.data.alertId);
      if (!alert) return;
      const s = await load();
      const failures: string[] = [];
      if (alert.webhookStatus !== 'sent') {
        if (!s.webhookUrl) await store.budget.updateAlert(alert.id, { webhookStatus: 'not configured' });
        else {
          try {
            await postWebhook(s, payloadOf(alert));
            await store.budget.updateAlert(alert.id, { webhookStatus: 'sent' });
          } catch (err) {
            failures.push(`webhook: ${(err as Error).message}`);
            await store.budget.updateAlert(alert.id, { webhookStatus: `failed: ${(err as Error).message}` });
          }
        }
      }
      if (alert.emailStatus !== 'sent') {
        const to = await recipients(s, alert);
        if (!s.email || !to.length) await store.budget.updateAlert(alert.id, { emailStatus: 'not configured' });
        else {
          try {
            await sendMail(s, to, subjectOf(alert), `${alert.message}\n\nPeriod: ${alert.period}\nSpent: $${alert.spentUsd.toFixed(4)} of $${alert.budgetUsd.toFixed(2)}\n`);
            await store.budget.updateAlert(alert.id, { emailStatus: 'sent' });
          } catch (err) {
            failures.push(`email: ${(err as Error).message}`);
            await store.budget.updateAlert(alert.id, { emailStatus: `failed: ${(err as Error).message}` });
          }
        }
      }
      if (failures.length) {
        log.warn('budget alert delivery failed; will retry', { alertId: alert.id, attempt: job.attempt, failures });
        throw new Error(failures.join('; '));
      }
    },
  };
  return { ...alerts, jobs: [alertJob] };
}
export type AlertService = ReturnType<typeof alertService>;
