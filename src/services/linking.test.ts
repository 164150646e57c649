import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore } from '../../test/helpers/test-store.js';
import type { Store } from '../domain/ports.js';
import { AppError } from '../domain/errors.js';
import { linkService } from './linking.js';

describe('link codes: five tries, counted atomically', () => {
  const clock = { now: () => new Date('2026-11-25T09:00:00Z') };
  let opened: Awaited<ReturnType<typeof openTestStore>>;
  beforeAll(async () => { opened = await openTestStore(clock); });
  afterAll(() => opened?.close());

  it('lets no more than five of ten simultaneous wrong guesses through, even when every guess reads the count before any writes it', async () => {
    const { store } = opened;
    // The live code is read a little late, as under load: all ten guesses see "no tries yet".
    const people = { ...store.people, liveCode: async (...a: Parameters<Store['people']['liveCode']>) => {
      const live = await store.people.liveCode(...a);
      await new Promise((r) => setTimeout(r, 30));
      return live;
    } };
    const sent: string[] = [];
    const links = linkService({ store: { ...store, people }, clock, sendText: async (_phone, text) => { sent.push(text); }, linkHours: 24 });
    const visitor = { kind: 'web', externalId: 'visitor-parallel' };
    await links.start(visitor, '+55 11 98888-0201');
    const code = /(\d{6})/.exec(sent.at(-1)!)![1]!;
    const wrong = code === '000000' ? '111111' : '000000';

    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => links.verify(visitor, wrong)));
    const codes = outcomes.map((o) => (o.status === 'rejected' && o.reason instanceof AppError ? o.reason.code : 'unexpected'));
    expect(codes.filter((c) => c === 'wrong_code').length).toBeLessThanOrEqual(5);
    expect(codes.filter((c) => c !== 'wrong_code').every((c) => c === 'too_many_attempts')).toBe(true);
    await expect(links.verify(visitor, code)).rejects.toMatchObject({ code: 'too_many_attempts', status: 429 });
  });
});
