/**
 * Outgoing e-mail over SMTP. The server comes from `SMTP_URL` (with `SMTP_FROM`) when set, otherwise
 * from the SMTP settings an operator stored with the alert settings in the dashboard. One connection
 * per mail: account and alert mail are few, and a stale pooled connection is one more way to fail.
 */
import nodemailer from 'nodemailer';
import type { Mailer, SecretBox, SettingsRepo } from '../domain/ports.js';
import { ALERT_SETTINGS_KEY, type StoredAlertSettings } from './alerts.js';

type Smtp = { host: string; port: number; secure: boolean; user: string | null; pass: string | null; from: string };

/** smtp://user:pass@host:port (STARTTLS when offered; port 587 by default) or smtps://… (TLS from the start; 465). */
export function parseSmtpUrl(url: string): Omit<Smtp, 'from'> {
  const u = new URL(url);
  const secure = u.protocol === 'smtps:';
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    user: u.username ? decodeURIComponent(u.username) : null,
    pass: u.password ? decodeURIComponent(u.password) : null,
  };
}

export function mailService(deps: { smtpUrl?: string; from?: string; publicUrl?: string; settings: SettingsRepo; box: SecretBox }): Mailer {
  const { settings, box } = deps;
  const fromEnv: Smtp | undefined = deps.smtpUrl ? (() => {
    const s = parseSmtpUrl(deps.smtpUrl!);
    const domain = deps.publicUrl ? new URL(deps.publicUrl).hostname : s.host;
    return { ...s, from: deps.from ?? `Switchboard <noreply@${domain}>` };
  })() : undefined;

  async function resolve(): Promise<Smtp | undefined> {
    if (fromEnv) return fromEnv;
    const e = (await settings.get<StoredAlertSettings>(ALERT_SETTINGS_KEY))?.email;
    return e ? { host: e.host, port: e.port, secure: e.secure, user: e.user, pass: e.passwordSealed ? box.open(e.passwordSealed) : null, from: e.from } : undefined;
  }

  return {
    async configured() { return !!(await resolve()); },
    async send(m) {
      const s = await resolve();
      if (!s) throw new Error('no SMTP server is configured');
      const transport = nodemailer.createTransport({
        host: s.host, port: s.port, secure: s.secure, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000,
        ...(s.user ? { auth: { user: s.user, pass: s.pass ?? '' } } : {}),
      });
      try {
        await transport.sendMail({ from: s.from, to: m.to, subject: m.subject, text: m.text, ...(m.html ? { html: m.html } : {}) });
      } finally {
        transport.close();
      }
    },
  };
}
