import type { Store } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';
import { authorize } from './access.js';

/** Reading the audit log: operators and auditors only (it names every account and client address). */
export function auditService(deps: { store: Pick<Store, 'audit'> }) {
  return {
    async list(actor: Actor, f: { limit?: number; action?: string }) {
      authorize(actor, 'audit.read');
      return deps.store.audit.list(f.limit ?? 100, f.action);
    },
  };
}
export type AuditService = ReturnType<typeof auditService>;
