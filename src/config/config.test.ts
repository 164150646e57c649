import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  it('has defaults that run the product with nothing set', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 3000, HOST: '0.0.0.0', DATA_DIR: './data', secureCookies: false });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('lists every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'abc', OPENAI_BASE_URL: 'http://localhost:11434', SWITCHBOARD_DEFAULT_MODEL: 'gpt-4o', DATABASE_URL: 'mysql://x' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const text = (e as ConfigError).message;
      for (const v of ['PORT', 'OPENAI_BASE_URL', 'SWITCHBOARD_DEFAULT_MODEL', 'DATABASE_URL']) expect(text).toContain(v);
    }
  });

  it('treats empty strings as unset and wants the admin email and password together', () => {
    expect(loadConfig({ OPENAI_API_KEY: '' }).OPENAI_API_KEY).toBeUndefined();
    expect(() => loadConfig({ SWITCHBOARD_ADMIN_EMAIL: 'a@b.co' })).toThrow(/together/);
  });

  it('keeps sign-up closed unless asked, and checks the SMTP settings without echoing them', () => {
    expect(loadConfig({}).SWITCHBOARD_SIGNUP).toBeUndefined(); // the dashboard's switch decides
    expect(loadConfig({ SWITCHBOARD_SIGNUP: 'open', SMTP_URL: 'smtps://u:p@mail.example.com:465', SMTP_FROM: 'Switchboard <noreply@example.com>' }))
      .toMatchObject({ SWITCHBOARD_SIGNUP: 'open', SMTP_URL: 'smtps://u:p@mail.example.com:465' });
    try {
      loadConfig({ SWITCHBOARD_SIGNUP: 'yes', SMTP_URL: 'http://u:hunter2@mail.example.com', SMTP_FROM: 'nobody' });
      expect.unreachable();
    } catch (e) {
      const text = (e as ConfigError).message;
      for (const v of ['SWITCHBOARD_SIGNUP', 'SMTP_URL', 'SMTP_FROM']) expect(text).toContain(v);
      expect(text).not.toContain('hunter2');
    }
  });

  it('wants the Stripe keys together, checks their shape without echoing them, and defaults the grace period', () => {
    expect(loadConfig({})).toMatchObject({ STRIPE_SECRET_KEY: undefined, STRIPE_API_URL: 'https://api.stripe.com', SWITCHBOARD_BILLING_GRACE_DAYS: 7 });
    expect(loadConfig({ STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc', STRIPE_API_URL: 'http://127.0.0.1:12111/', SWITCHBOARD_BILLING_GRACE_DAYS: '3' }))
      .toMatchObject({ STRIPE_API_URL: 'http://127.0.0.1:12111', SWITCHBOARD_BILLING_GRACE_DAYS: 3 });
    expect(() => loadConfig({ STRIPE_SECRET_KEY: 'sk_test_abc' })).toThrow(/STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET must be set together/);
    try {
      loadConfig({ STRIPE_SECRET_KEY: 'pk_live_hunter2', STRIPE_WEBHOOK_SECRET: 'hunter3' });
      expect.unreachable();
    } catch (e) {
      const text = (e as ConfigError).message;
      for (const v of ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET']) expect(text).toContain(v);
      expect(text).not.toMatch(/hunter/);
    }
  });

  it('marks cookies Secure behind an https PUBLIC_URL', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://bots.example.com/' })).toMatchObject({ PUBLIC_URL: 'https://bots.example.com', secureCookies: true });
  });

  it('reads the media settings, and wants the S3 bucket, endpoint and keys together', () => {
    const base = { DATA_DIR: '/tmp/x' };
    const c = loadConfig(base);
    expect(c.SWITCHBOARD_MEDIA_RETENTION_DAYS).toBe(90);
    expect(c.SWITCHBOARD_MEDIA_S3_PATH_STYLE).toBe(false);
    expect(() => loadConfig({ ...base, SWITCHBOARD_MEDIA_S3_BUCKET: 'media' })).toThrow(/must be set together/);
    const s3 = loadConfig({ ...base, SWITCHBOARD_MEDIA_S3_BUCKET: 'media', SWITCHBOARD_MEDIA_S3_ENDPOINT: 'http://minio:9000/', SWITCHBOARD_MEDIA_S3_ACCESS_KEY_ID: 'id', SWITCHBOARD_MEDIA_S3_SECRET_ACCESS_KEY: 'secret', SWITCHBOARD_MEDIA_S3_PATH_STYLE: 'true', SWITCHBOARD_STT_MODEL: 'openai:whisper-1', SWITCHBOARD_TTS_MODEL: 'openai:gpt-4o-mini-tts' });
    expect(s3).toMatchObject({ SWITCHBOARD_MEDIA_S3_ENDPOINT: 'http://minio:9000', SWITCHBOARD_MEDIA_S3_PATH_STYLE: true, SWITCHBOARD_STT_MODEL: 'openai:whisper-1' });
    expect(() => loadConfig({ ...base, SWITCHBOARD_STT_MODEL: 'whisper-1' })).toThrow(/SWITCHBOARD_STT_MODEL: must look like provider:model/);
  });
});
