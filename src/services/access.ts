import type { Actor, Agent, Role } from '../domain/types.js';
import { errors } from '../domain/errors.js';

/** Who may do what. Customers see only their own agents; auditors only read. */
export function requireRole(actor: Actor, ...roles: Role[]): void {
  if (!roles.includes(actor.user.role)) throw errors.forbidden(`This needs one of the roles: ${roles.join(', ')}.`);
}

export const canSeeAllAgents = (actor: Actor) => actor.user.role !== 'customer';

export function canRead(actor: Actor, agent: Agent): boolean {
  return canSeeAllAgents(actor) || agent.ownerId === actor.user.id;
}

export function requireWrite(actor: Actor, agent?: Agent): void {
  if (actor.user.role === 'auditor') throw errors.forbidden('Auditors have read-only access.');
  if (agent && !canRead(actor, agent)) throw errors.notFound('Agent');
}
