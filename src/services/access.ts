import type { Actor, Role } from '../domain/types.js';
import { errors } from '../domain/errors.js';

/**
 * Who may do what: one table from action to rule, read by `authorize`. Routes call it before the
 * service (with no resource: the role rules), services call it again with the resource they loaded
 * (an agent, or anything else that names its owner), so a customer never learns that another
 * customer's thing exists: it is not found rather than forbidden.
 */
type Rule = {
  /** Only these roles (otherwise 403); absent: every signed-in user. */
  roles?: readonly Role[];
  /** It changes something: auditors read only (403). */
  write?: boolean;
  /** It names a resource with an owner: customers reach only their own, everyone else anybody's (otherwise 404). */
  owned?: boolean;
};

const OPERATORS = ['owner', 'admin'] as const;
const READERS = ['owner', 'admin', 'auditor'] as const;

export const RULES = {
  /** Anything a signed-in user may read of their own account: templates, providers, models, prices, settings. */
  'session.read': {},
  /** Their own account's things: API keys, billing checkout, sessions. */
  'session.write': {},
  'agent.read': { owned: true },
  'agent.create': { write: true },
  'agent.write': { write: true, owned: true },
  /** Sending a message as someone: it is stored and billed, so it is a write. */
  'agent.message': { write: true, owned: true },
  'conversation.read': { owned: true },
  'conversation.write': { write: true, owned: true },
  'approval.read': { owned: true },
  'approval.decide': { write: true, owned: true },
  'person.erase': { write: true },
  /** Usage, analytics and cost advice: everyone, over the agents they may see. */
  'usage.read': {},
  'alert.read': { owned: true },
  'alert.ack': { write: true, owned: true },
  'alertSettings.read': { roles: READERS },
  'alertSettings.write': { roles: OPERATORS, write: true },
  'provider.write': { roles: OPERATORS, write: true },
  'settings.write': { roles: OPERATORS, write: true },
  'user.read': { roles: OPERATORS },
  'user.write': { roles: OPERATORS, write: true },
  'plan.write': { roles: OPERATORS, write: true },
  'customer.read': { roles: READERS },
  'customer.write': { roles: OPERATORS, write: true },
  'audit.read': { roles: READERS },
  /** The operator's channel accounts (the shared WhatsApp number). */
  'channelAccount.read': { roles: READERS },
  'channelAccount.write': { roles: OPERATORS, write: true },
} as const satisfies Record<string, Rule>;
export type Action = keyof typeof RULES;

/** Something with an owner: an agent, or a row whose agent's owner it carries. */
export type Owned = { ownerId: string | null };

/** Whether the actor sees every agent (operators and auditors) or only their own (customers). */
export const canSeeAllAgents = (actor: Actor) => actor.user.role !== 'customer';

/** Whether `authorize` would let this pass, without throwing. */
export function allows(actor: Actor | undefined, action: Action, resource?: Owned): boolean {
  try { authorize(actor, action, resource); return true; } catch { return false; }
}

/**
 * Checks one action against the table and returns the actor, or throws: 401 without an actor, 404
 * (`notFound` names the thing) for a customer reaching what is not theirs, 403 for a role the rule
 * does not list or an auditor writing.
 */
export function authorize(actor: Actor | undefined, action: Action, resource?: Owned, notFound = 'Agent'): Actor {
  if (!actor) throw errors.unauthorized();
  const rule: Rule = RULES[action];
  if (rule.owned && resource && !canSeeAllAgents(actor) && resource.ownerId !== actor.user.id) throw errors.notFound(notFound);
  if (rule.roles && !rule.roles.includes(actor.user.role)) throw errors.forbidden(`This needs one of the roles: ${rule.roles.join(', ')}.`);
  if (rule.write && actor.user.role === 'auditor') throw errors.forbidden('Auditors have read-only access.');
  return actor;
}

/** A role gate for rules that live beside their data (who may create admins, suspend whom). */
export function requireRole(actor: Actor, ...roles: Role[]): void {
  if (!roles.includes(actor.user.role)) throw errors.forbidden(`This needs one of the roles: ${roles.join(', ')}.`);
}

/** `authorize(actor, 'agent.read', agent)` as a yes/no: for files still being converted. */
export function canRead(actor: Actor, agent: Owned): boolean {
  return allows(actor, 'agent.read', agent);
}

/** `authorize(actor, 'agent.write', agent)`: for files still being converted. */
export function requireWrite(actor: Actor, agent?: Owned): void {
  authorize(actor, 'agent.write', agent);
}
