import type { Db } from '../db.js';
import type { ProvisioningRepo } from '../../domain/ports.js';
import type { Provisioning, ProvisioningStep } from '../../domain/types.js';
import type { Database } from '../schema.js';
import { maskStored } from '../../infra/redact.js';

const toProvisioning = (r: Database['provisioning']): Provisioning => ({
  agentId: r.agent_id, status: r.status as Provisioning['status'], steps: JSON.parse(r.steps) as ProvisioningStep[], error: r.error,
  attempts: Number(r.attempts), tokenSealed: r.token_sealed, startedAt: r.started_at, finishedAt: r.finished_at,
});

/** One row per agent: the steps as JSON, written after every change so the status page is live. */
export function provisioningRepo(db: Db): ProvisioningRepo {
  return {
    async get(agentId) {
      const r = await db.selectFrom('provisioning').selectAll().where('agent_id', '=', agentId).executeTakeFirst();
      return r && toProvisioning(r);
    },
    async put(p) {
      const row = {
        status: p.status, steps: maskStored(JSON.stringify(p.steps)), error: maskStored(p.error), attempts: p.attempts, token_sealed: p.tokenSealed,
        started_at: p.startedAt, finished_at: p.finishedAt,
      };
      await db.insertInto('provisioning').values({ agent_id: p.agentId, ...row })
        .onConflict((oc) => oc.column('agent_id').doUpdateSet(row)).execute();
    },
    async update(agentId, patch) {
      const set: Partial<Database['provisioning']> = {};
      if (patch.status !== undefined) set.status = patch.status;
      if (patch.steps !== undefined) set.steps = maskStored(JSON.stringify(patch.steps));
      if (patch.error !== undefined) set.error = maskStored(patch.error);
      if (patch.attempts !== undefined) set.attempts = patch.attempts;
      if (patch.tokenSealed !== undefined) set.token_sealed = patch.tokenSealed;
      if (patch.finishedAt !== undefined) set.finished_at = patch.finishedAt;
      if (Object.keys(set).length) await db.updateTable('provisioning').set(set).where('agent_id', '=', agentId).execute();
    },
  };
}
