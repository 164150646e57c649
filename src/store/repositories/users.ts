import type { Db } from '../db.js';
import { prepared } from '../prepared.js';
import type { IdGenerator, Clock, UserRepo, NewUser } from '../../domain/ports.js';
import type { Role, User } from '../../domain/types.js';

export const toUser = (r: { id: string; email: string; role: string; created_at: string; monthly_budget_usd?: number | null; name?: string | null; status?: string; email_verified_at?: string | null; timezone?: string | null }): User => ({
  timezone: r.timezone ?? null,
  id: r.id, email: r.email, role: r.role as Role, createdAt: r.created_at, monthlyBudgetUsd: r.monthly_budget_usd == null ? null : Number(r.monthly_budget_usd),
  name: r.name ?? null, status: (r.status ?? 'active') as User['status'], emailVerifiedAt: r.email_verified_at ?? null,
});

/** A user by id: read for every message (the agent's owner, at admission), so built once. */
const userById = prepared((db, p: { id: string }) => db.selectFrom('users').selectAll().where('id', '=', p.id));

export function userRepo(db: Db, ids: IdGenerator, clock: Clock): UserRepo {
  return {
    async count() {
      const r = await db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async countByRole(role) {
      const r = await db.selectFrom('users').where('role', '=', role).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async insert(u: NewUser) {
      const row = {
        id: ids.id(), email: u.email.toLowerCase(), password_hash: u.passwordHash, role: u.role, created_at: clock.now().toISOString(), monthly_budget_usd: null,
        name: u.name ?? null, email_verified_at: null, status: 'active', plan_id: null, plan_status: 'none', trial_ends_at: null, current_period_end: null,
        past_due_since: null, stripe_customer_id: null, stripe_subscription_id: null,
      };
      await db.insertInto('users').values(row).execute();
      return toUser(row);
    },
    async byId(id) {
      const r = await userById.first(db, { id });
      return r && toUser(r);
    },
    async byEmailWithHash(email) {
      const r = await db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
      return r && { ...toUser(r), passwordHash: r.password_hash };
    },
    async list() {
      return (await db.selectFrom('users').selectAll().orderBy('created_at').execute()).map(toUser);
    },
    async lock(id) {
      await db.updateTable('users').set((eb) => ({ id: eb.ref('id') })).where('id', '=', id).execute();
    },
    async setBudget(id, usd) {
      const r = await db.updateTable('users').set({ monthly_budget_usd: usd }).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async setStatus(id, status) {
      const r = await db.updateTable('users').set({ status }).where('id', '=', id).where('status', '!=', status).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async setPasswordHash(id, passwordHash) {
      await db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).execute();
    },
    async markEmailVerified(id, at) {
      await db.updateTable('users').set({ email_verified_at: at }).where('id', '=', id).where('email_verified_at', 'is', null).execute();
    },
    async delete(id) {
      const r = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}
