import { describe, expect, it } from 'vitest';
import { smtpMailer, parseSmtpUrl } from './mail.js';
import { storedSmtp } from '../services/alerts.js';
import type { SecretBox, SettingsRepo } from '../domain/ports.js';

const box: SecretBox = { seal: (s) => `sealed:${s}`, open: (s) => s.replace(/^sealed:/, '') };
const settings = (value: unknown): SettingsRepo => ({ get: async () => value as never, set: async () => {}, delete: async () => {} });
const mailService = (d: { smtpUrl?: string; settings: SettingsRepo; box: SecretBox }) => smtpMailer({ smtpUrl: d.smtpUrl, stored: () => storedSmtp(d.settings, d.box) });

describe('mail settings', () => {
  it('reads SMTP_URL: credentials decoded, default ports, TLS from the start for smtps', () => {
    expect(parseSmtpUrl('smtp://me%40example.com:p%3Ass@mail.example.com:2525')).toEqual({ host: 'mail.example.com', port: 2525, secure: false, user: 'me@example.com', pass: 'p:ss' });
    expect(parseSmtpUrl('smtp://mail.example.com')).toMatchObject({ port: 587, secure: false, user: null, pass: null });
    expect(parseSmtpUrl('smtps://u:p@[::1]')).toMatchObject({ host: '::1', port: 465, secure: true });
  });

  it('is configured by SMTP_URL, or else by the SMTP settings of the alerts', async () => {
    expect(await mailService({ settings: settings(undefined), box }).configured()).toBe(false);
    expect(await mailService({ settings: settings({ email: null }), box }).configured()).toBe(false);
    expect(await mailService({ smtpUrl: 'smtp://localhost:25', settings: settings(undefined), box }).configured()).toBe(true);
    const stored = { email: { host: 'h', port: 25, secure: false, user: null, passwordSealed: null, from: 'a@b.co', to: ['c@d.co'] } };
    expect(await mailService({ settings: settings(stored), box }).configured()).toBe(true);
    await expect(mailService({ settings: settings(undefined), box }).send({ to: 'x@y.z', subject: 's', text: 't' })).rejects.toThrow(/no SMTP server/);
  });
});
