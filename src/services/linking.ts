import { randomInt } from 'node:crypto';
import type { Clock, Store } from '../domain/ports.js';
import { AppError, errors } from '../domain/errors.js';
import { safeEqual, sha256 } from '../infra/system.js';
import { SendError } from '../domain/ports.js';

const CODE_TTL_MS = 10 * 60_000;
const MAX_ATTEMPTS = 5;
const MAX_CODES_PER_HOUR = 3;

const hashCode = (personId: string, code: string) => sha256(`${personId}:${code}`);
export const normalizePhone = (raw: string) => raw.replace(/[^\d]/g, '');
const mask = (digits: string) => `+${digits.slice(0, 2)} •••• ${digits.slice(-4)}`;

/**
 * Web ↔ WhatsApp linking: a browser asks for a code for a phone, the WhatsApp bot sends it, and
 * entering it links the browser to the phone for a while, so the two are one person: the same
 * per-agent conversations on both. Codes are hashed, single-use, expire in 10 minutes, allow five
 * tries, and at most three are sent per browser and per phone in an hour.
 */
export function linkService(deps: { store: Pick<Store, 'conversations' | 'people'>; clock: Clock; sendText: (phone: string, text: string) => Promise<unknown>; linkHours: number }) {
  const { store, clock } = deps;
  const now = () => clock.now();

  async function visitorId(v: { kind: string; externalId: string }) {
    return (await store.people.upsert(v.kind, v.externalId)).id;
  }

  return {
    async start(visitor: { kind: string; externalId: string }, rawPhone: string) {
      const phone = normalizePhone(rawPhone);
      if (phone.length < 8 || phone.length > 15) throw errors.validation([{ path: 'phone', message: 'must be a full international number, e.g. +55 11 99999-0000' }]);
      const pid = await visitorId(visitor);
      const hourAgo = new Date(now().getTime() - 3_600_000).toISOString();
      const [byPerson, byPhone] = await Promise.all([store.people.codesSince({ personId: pid }, hourAgo), store.people.codesSince({ phone }, hourAgo)]);
      if (byPerson >= MAX_CODES_PER_HOUR || byPhone >= MAX_CODES_PER_HOUR) throw errors.rateLimited(3600);
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      try {
        await deps.sendText(phone, `Your Switchboard code is ${code}. It expires in 10 minutes. If you did not ask for it, ignore this message.`);
      } catch (err) {
        if (err instanceof AppError) throw err;
        const reason = err instanceof SendError && !err.retryable && /24-hour/.test(err.message)
          ? 'WhatsApp only lets us write to you after you write to us: send any message to our WhatsApp number, then ask for the code again.'
          : `We could not send the code over WhatsApp: ${(err as Error).message}`;
        throw new AppError(502, 'code_not_sent', reason);
      }
      await store.people.addCode({ personId: pid, phone, codeHash: hashCode(pid, code), expiresAt: new Date(now().getTime() + CODE_TTL_MS).toISOString() }, now().toISOString());
      return { sent: true, phone: mask(phone), expiresInSeconds: CODE_TTL_MS / 1000 };
    },

    async verify(visitor: { kind: string; externalId: string }, code: string) {
      const pid = await visitorId(visitor);
      const at = now().toISOString();
      const live = await store.people.liveCode(pid, at);
      if (!live) throw errors.badRequest('code_expired', 'There is no valid code for this browser; ask for a new one.');
      // Every try is counted before the code is compared, in one conditional UPDATE, so parallel
      // guesses cannot get past the limit between reading the count and writing it.
      if (!(await store.people.countAttempt(live.id, MAX_ATTEMPTS))) throw new AppError(429, 'too_many_attempts', 'Too many wrong codes; ask for a new one.', { retryAfterSeconds: 60 });
      if (!safeEqual(hashCode(pid, code.trim()), live.codeHash)) {
        const left = MAX_ATTEMPTS - live.attempts - 1; // as this request saw it; parallel tries may have used more
        throw errors.badRequest('wrong_code', left > 0 ? `That code is not right; ${left} ${left === 1 ? 'try' : 'tries'} left.` : 'That code is not right, and it is now used up; ask for a new one.');
      }
      if (!(await store.people.useCode(live.id, at))) throw errors.badRequest('code_expired', 'This code was already used; ask for a new one.');
      const phonePerson = await store.people.upsert('phone', live.phone);
      const expiresAt = new Date(now().getTime() + deps.linkHours * 3_600_000).toISOString();
      await store.people.link(pid, phonePerson.id, expiresAt, at);
      // What this browser was in the middle of continues on the phone identity.
      await store.conversations.adoptOpen(pid, phonePerson.id);
      return { linked: true, phone: mask(live.phone), expiresAt };
    },

    async status(visitor: { kind: string; externalId: string }) {
      const pid = await visitorId(visitor);
      const l = await store.people.linkOf(pid, now().toISOString());
      if (!l) return { linked: false, phone: null, expiresAt: null };
      const p = await store.people.byId(l.linkedPersonId);
      return { linked: true, phone: p ? mask(p.externalId) : null, expiresAt: l.expiresAt };
    },

    async unlink(visitor: { kind: string; externalId: string }) {
      await store.people.unlink(await visitorId(visitor));
      return { linked: false, phone: null, expiresAt: null };
    },
  };
}
export type LinkService = ReturnType<typeof linkService>;
