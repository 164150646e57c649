import { describe, expect, it } from 'vitest';
import { authorize, RULES, type Action } from './access.js';
import type { Actor, Role } from '../domain/types.js';
import { AppError } from '../domain/errors.js';

const actor = (role: Role, id = `${role}-1`): Actor => ({ user: { id, email: `${id}@example.com`, role, createdAt: '' }, via: 'session', tokenId: 't' });
const outcome = (fn: () => unknown) => { try { fn(); return 'ok'; } catch (e) { return e instanceof AppError ? e.status : 'threw'; } };

/** The specification, written out: what each role gets for an action on its own resource, and on someone else's. */
const SPEC: [Action, Record<Role, number | 'ok'>, Record<Role, number | 'ok'>?][] = [
  ['agent.read', { owner: 'ok', admin: 'ok', auditor: 'ok', customer: 'ok' }, { owner: 'ok', admin: 'ok', auditor: 'ok', customer: 404 }],
  ['agent.write', { owner: 'ok', admin: 'ok', auditor: 403, customer: 'ok' }, { owner: 'ok', admin: 'ok', auditor: 403, customer: 404 }],
  ['agent.create', { owner: 'ok', admin: 'ok', auditor: 403, customer: 'ok' }],
  ['agent.message', { owner: 'ok', admin: 'ok', auditor: 403, customer: 'ok' }, { owner: 'ok', admin: 'ok', auditor: 403, customer: 404 }],
  ['conversation.read', { owner: 'ok', admin: 'ok', auditor: 'ok', customer: 'ok' }, { owner: 'ok', admin: 'ok', auditor: 'ok', customer: 404 }],
  ['approval.decide', { owner: 'ok', admin: 'ok', auditor: 403, customer: 'ok' }, { owner: 'ok', admin: 'ok', auditor: 403, customer: 404 }],
  ['alert.ack', { owner: 'ok', admin: 'ok', auditor: 403, customer: 'ok' }, { owner: 'ok', admin: 'ok', auditor: 403, customer: 404 }],
  ['provider.write', { owner: 'ok', admin: 'ok', auditor: 403, customer: 403 }],
  ['settings.write', { owner: 'ok', admin: 'ok', auditor: 403, customer: 403 }],
  ['user.read', { owner: 'ok', admin: 'ok', auditor: 403, customer: 403 }],
  ['user.write', { owner: 'ok', admin: 'ok', auditor: 403, customer: 403 }],
  ['audit.read', { owner: 'ok', admin: 'ok', auditor: 'ok', customer: 403 }],
  ['customer.read', { owner: 'ok', admin: 'ok', auditor: 'ok', customer: 403 }],
  ['customer.write', { owner: 'ok', admin: 'ok', auditor: 403, customer: 403 }],
  ['alertSettings.read', { owner: 'ok', admin: 'ok', auditor: 'ok', customer: 403 }],
  ['channelAccount.write', { owner: 'ok', admin: 'ok', auditor: 403, customer: 403 }],
  ['usage.read', { owner: 'ok', admin: 'ok', auditor: 'ok', customer: 'ok' }],
  ['session.write', { owner: 'ok', admin: 'ok', auditor: 'ok', customer: 'ok' }],
];
const ROLES: Role[] = ['owner', 'admin', 'auditor', 'customer'];

describe('authorize', () => {
  for (const [action, own, others] of SPEC) {
    it(`${action}: on one's own resource`, () => {
      for (const role of ROLES) {
        const a = actor(role);
        expect(outcome(() => authorize(a, action, { ownerId: a.user.id })), role).toBe(own[role]);
      }
    });
    if (others) {
      it(`${action}: on another customer's resource (not found, never forbidden, for customers)`, () => {
        for (const role of ROLES) expect(outcome(() => authorize(actor(role), action, { ownerId: 'someone-else' })), role).toBe(others[role]);
      });
    }
  }

  it('answers 401 to nobody, for every action', () => {
    for (const action of Object.keys(RULES) as Action[]) expect(outcome(() => authorize(undefined, action)), action).toBe(401);
  });

  it('returns the actor it checked, so a route can go on with it', () => {
    const a = actor('customer');
    expect(authorize(a, 'agent.read')).toBe(a);
  });

  it('names what was not found, and says why a role is refused', () => {
    expect(() => authorize(actor('customer'), 'conversation.read', { ownerId: 'x' }, 'Conversation')).toThrow('Conversation was not found.');
    expect(() => authorize(actor('auditor'), 'agent.write')).toThrow('Auditors have read-only access.');
    expect(() => authorize(actor('customer'), 'audit.read')).toThrow('This needs one of the roles: owner, admin, auditor.');
  });

  it('every action in the table is specified here', () => {
    const specified = new Set(SPEC.map(([a]) => a));
    const unspecified = (Object.keys(RULES) as Action[]).filter((a) => !specified.has(a)
      && !['session.read', 'conversation.write', 'approval.read', 'person.erase', 'alert.read', 'alertSettings.write', 'plan.write', 'channelAccount.read'].includes(a));
    expect(unspecified).toEqual([]);
  });
});
