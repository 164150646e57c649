import type { AuditListFilter, Store } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';
import { authorize } from './access.js';

/**
 * Who an entry names: a signed-in actor (user id and the role they acted with), `system` (the
 * server's own work: billing events, provisioning), or a user acting on their own account before
 * they hold a session (sign-up, e-mail links): `{ userId, role }`.
 */
export type AuditActor = Actor | 'system' | { userId: string; role: string };
export type AuditTarget = { type: string; id: string };

/** What `changedFields` found: the names of the fields that changed, and small non-secret values before and after. */
export type FieldChanges = { fields: string[]; changes: Record<string, { from: unknown; to: unknown }> };

/** Values longer than this (as JSON) are named, not copied: persona files, prompts, long lists. */
const SMALL = 200;

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const small = (v: unknown) => (JSON.stringify(v ?? null) ?? '').length <= SMALL;

/**
 * The fields whose value differs between `before` and `after`, looking only at the keys of `after`
 * (a patch: keys it leaves out did not change). Nested objects are compared by value and reported
 * by path (`persona.soul`) when `nested` names them. Secrets (`secret` names, and any key that looks
 * like one) are reported by name only; other values are copied when they are small.
 */
export function changedFields(
  before: Record<string, unknown> | null | undefined,
  after: Record<string, unknown>,
  opts: { secret?: string[]; nested?: string[]; ignore?: string[] } = {},
): FieldChanges {
  const out: FieldChanges = { fields: [], changes: {} };
  const secret = new Set(opts.secret ?? []);
  const visit = (path: string, key: string, from: unknown, to: unknown) => {
    if (to === undefined || same(from, to)) return;
    if (opts.nested?.includes(path) && isRecord(to)) {
      const f = isRecord(from) ? from : {};
      for (const k of Object.keys(to)) visit(`${path}.${k}`, k, f[k], to[k]);
      return;
    }
    out.fields.push(path);
    if (!secret.has(path) && !secret.has(key) && !looksSecret(key) && small(from) && small(to)) out.changes[path] = { from: from ?? null, to: to ?? null };
  };
  for (const k of Object.keys(after)) if (!opts.ignore?.includes(k)) visit(k, k, before?.[k], after[k]);
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Names that hold secrets by convention: never copy their values, whatever the caller said. */
export const looksSecret = (key: string) => /(secret|password|token|apikey|api_key|key$|authorization|credential|hash)/i.test(key) && !/^(tokens?|maxOutputTokens|contextTokenBudget)$/i.test(key);

/**
 * Writes one audit entry with the store it is given: pass the transaction's store (`tx`), so the
 * entry commits with the change, and a failed write rolls the change back.
 */
export async function recordAudit(
  store: Pick<Store, 'audit'>, actor: AuditActor, action: string, target: AuditTarget, detail: Record<string, unknown> = {},
): Promise<void> {
  const who = actor === 'system' ? { actorId: null, actorRole: 'system' }
    : 'user' in actor ? { actorId: actor.user.id, actorRole: actor.user.role }
      : { actorId: actor.userId, actorRole: actor.role };
  await store.audit.add({ ...who, action, targetType: target.type, targetId: target.id, detail });
}

/** Reading the audit log: operators and auditors only (it names every account and client address). */
export function auditService(deps: { store: Pick<Store, 'audit'> }) {
  return {
    async list(actor: Actor, f: { limit?: number } & AuditListFilter) {
      authorize(actor, 'audit.read');
      const { limit, ...filter } = f;
      return deps.store.audit.list(limit ?? 100, filter);
    },
  };
}
export type AuditService = ReturnType<typeof auditService>;
