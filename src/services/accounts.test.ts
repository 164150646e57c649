/**
 * Account mails, decided in the request and sent after it: with an in-memory mailer the send is on
 * record the moment the service returns, so "no mail went out" needs no waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountService } from './accounts.js';
import { openTestStore } from '../../test/helpers/test-store.js';
import { manualClock, memoryMailer, plainHasher, sequentialIds, silentLog } from '../../test/helpers/fakes.js';

describe('account mails', () => {
  const clock = manualClock();
  const mail = memoryMailer();
  let opened: Awaited<ReturnType<typeof openTestStore>>;
  let accounts: ReturnType<typeof accountService>;
  const client = (n: number) => ({ ip: `10.0.0.${n}`, baseUrl: 'https://sb.example.com' });
  const linksTo = (to: string, path: string) => mail.sent.filter((m) => m.to === to && m.text.includes(`${path}?token=`));

  beforeAll(async () => {
    opened = await openTestStore(clock);
    accounts = accountService({ store: opened.store, hasher: plainHasher, ids: sequentialIds(), clock, mail, log: silentLog, signupOpen: async () => true });
    await accounts.setupOwner('owner@example.com', 'correct horse battery');
  });
  afterAll(() => opened?.close());

  it('mails a magic link to a known address, and nothing to an unknown one', async () => {
    await accounts.requestMagicLink('owner@example.com', client(1));
    await accounts.requestMagicLink('nobody@example.com', client(1));
    expect(linksTo('owner@example.com', '/login/magic')).toHaveLength(1);
    expect(mail.sent.filter((m) => m.to === 'nobody@example.com')).toEqual([]);
  });

  it('mails a suspended user no sign-in link', async () => {
    const owner = (await accounts.authenticate((await accounts.login('owner@example.com', 'correct horse battery', '10.0.0.2')).token))!;
    const u = await accounts.addUser(owner, { email: 'sus@example.com', password: 'correct horse battery', role: 'customer' });
    await accounts.setSuspended(owner, u.id, true);
    await accounts.requestMagicLink('sus@example.com', client(3));
    expect(linksTo('sus@example.com', '/login/magic')).toEqual([]);
  });

  it('mails one address at most five reset links an hour, then five more after the hour', async () => {
    await accounts.register({ email: 'flood@example.com', password: 'correct horse battery', name: 'Flood' }, client(4));
    for (let i = 0; i < 7; i++) await accounts.requestPasswordReset('flood@example.com', client(10 + i));
    expect(linksTo('flood@example.com', '/reset-password')).toHaveLength(5);
    clock.advance(61 * 60_000);
    await accounts.requestPasswordReset('flood@example.com', client(30));
    expect(linksTo('flood@example.com', '/reset-password')).toHaveLength(6);
  });
});
