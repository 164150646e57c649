/**
 * Outgoing e-mail over SMTP: the `Mailer` port's adapter. The server comes from `SMTP_URL` (with
 * `SMTP_FROM`) when set, otherwise from `stored()` (the SMTP settings an operator keeps with the alert
 * settings in the dashboard). One connection per mail: account and alert mail are few, and a stale
 * pooled connection is one more way to fail.
 */
import type nodemailerTypes from 'nodemailer';
import type { Mailer } from '../domain/ports.js';
import { registerSecret } from './redact.js';
import { lazyRequire } from './lazy.js';

/** Loaded with the first mail, not at start (most installs send none, or few). */
const nodemailer = lazyRequire<typeof nodemailerTypes>('nodemailer');

export type Smtp = { host: string; port: number; secure: boolean; user: string | null; pass: string | null; from: string };

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

export function smtpMailer(deps: { smtpUrl?: string; from?: string; publicUrl?: string; stored: () => Promise<Smtp | undefined> }): Mailer {
  const fromEnv: Smtp | undefined = deps.smtpUrl ? (() => {
    const s = parseSmtpUrl(deps.smtpUrl!);
    const domain = deps.publicUrl ? new URL(deps.publicUrl).hostname : s.host;
    return { ...s, from: deps.from ?? `Switchboard <noreply@${domain}>` };
  })() : undefined;

  async function resolve(): Promise<Smtp | undefined> {
    const s = fromEnv ?? (await deps.stored());
    registerSecret(s?.pass); // an SMTP client's error could quote it
    return s;
  }

  return {
    async configured() { return !!(await resolve()); },
    async send(m) {
      const s = await resolve();
      if (!s) throw new Error('no SMTP server is configured');
      const transport = nodemailer().createTransport({
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
