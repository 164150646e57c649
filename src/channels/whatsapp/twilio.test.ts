import { describe, expect, it } from 'vitest';
import { sendTwilioText } from './twilio.js';
import type { TwilioConfig } from './config.js';
import { freePort } from '../../../test/helpers/ports.js';

const AUTH = 'twilio-auth-token-unit-test';

describe('Twilio sends', () => {
  it('reports an unreachable API as a retryable network error, named by its cause only', async () => {
    const port = await freePort();
    const cfg: TwilioConfig = { provider: 'twilio', accountSid: 'AC' + '0123456789abcdef'.repeat(2), authToken: AUTH, from: '+14155238886', apiUrl: `http://127.0.0.1:${port}` };
    const err = await sendTwilioText(cfg, '14155550123', 'hello').then(() => undefined, (e: Error & { retryable?: boolean }) => e);
    expect(err).toMatchObject({ retryable: true, message: 'network error: could not reach Twilio (ECONNREFUSED)' });
    expect(JSON.stringify({ m: err!.message, s: err!.stack })).not.toContain(AUTH);
    expect(err!.message).not.toContain(String(port));
  });
});
