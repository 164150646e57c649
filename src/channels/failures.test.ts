import { describe, expect, it } from 'vitest';
import { HttpError } from 'grammy';
import { apiRefusal, networkFailure } from './failures.js';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';

describe('delivery failures, classified the same way for every channel', () => {
  it('describes a network failure by its cause, never by the client message that names the URL (and the token in it)', () => {
    const cause = Object.assign(new Error(`request to http://127.0.0.1:9/bot${TOKEN}/sendMessage failed, reason: connect ECONNREFUSED 127.0.0.1:9`), { code: 'ECONNREFUSED' });
    const e = networkFailure('Telegram', new HttpError("Network request for 'sendMessage' failed!", cause));
    expect(e.message).toBe('network error: could not reach Telegram (ECONNREFUSED)');
    expect(e.retryable).toBe(true);
    const undici = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }) });
    expect(networkFailure('the WhatsApp Cloud API', undici).message).toMatch(/\(ETIMEDOUT\)$/);
    expect(networkFailure('Twilio', new Error(`GET https://x/${TOKEN}`)).message).not.toContain(TOKEN);
  });

  it('retries rate limits (with their wait) and outages, and gives up on refusals', () => {
    expect(apiRefusal('Too Many Requests', 429, { retryAfterMs: 3000 })).toMatchObject({ retryable: true, retryAfterMs: 3000, code: 429 });
    expect(apiRefusal('Too Many Requests', 429)).toMatchObject({ retryable: true, retryAfterMs: 1000 });
    expect(apiRefusal('Bad Gateway', 502)).toMatchObject({ retryable: true, retryAfterMs: undefined, code: 502 });
    expect(apiRefusal('Forbidden: bot was blocked by the user', 403)).toMatchObject({ retryable: false, code: 403 });
  });
});
