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

  it('marks cookies Secure behind an https PUBLIC_URL', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://bots.example.com/' })).toMatchObject({ PUBLIC_URL: 'https://bots.example.com', secureCookies: true });
  });
});
