/**
 * The admission step: whether a message may be answered at all, asked once by every way in — the
 * web chat, the message API, Telegram and WhatsApp (all through chat.send), `/v1/chat/completions`
 * (services/completions.ts), and later schedules and previews — before any model call, and counted
 * the same way. In order: the agent is active; its owner is in good standing (not suspended, trial
 * not ended, plan not canceled); the plan's spend, the agent's and customer's budgets and the
 * person's daily cost cap are not spent; then the message is counted against the plan's monthly
 * messages and the person's daily messages, and refused past either.
 *
 * A refusal is an AppError: `agent_paused`/`agent_not_ready`/`not_found` for the agent's status
 * (nothing is stored), or a BudgetStop (`budget_exhausted`, carrying the polite reply the channels
 * send instead of a model's answer).
 */
import { AppError, errors } from '../domain/errors.js';
import type { Agent } from '../domain/types.js';
import type { BudgetService } from './budget.js';

/** Why an agent that is not active does not answer (null: it is active). */
export function notAnswering(agent: Agent): AppError | null {
  switch (agent.status) {
    case 'active': return null;
    case 'provisioning': return new AppError(409, 'agent_not_ready', `${agent.name} is still being set up and will answer once it is ready.`);
    case 'failed': return new AppError(409, 'agent_not_ready', `${agent.name} could not be set up yet; its owner can fix the problem and retry.`);
    case 'deleted': return errors.notFound('Agent');
    default: return new AppError(503, 'agent_paused', `${agent.name} is paused and is not answering right now.`);
  }
}

export function admissionService(deps: { budget: Pick<BudgetService, 'plan' | 'admit'> }) {
  const { budget } = deps;
  return {
    notAnswering,

    /** The agent's status alone (before anything is stored for the message). */
    assertActive(agent: Agent): void {
      const why = notAnswering(agent);
      if (why) throw why;
    },

    /**
     * Admits one message from one person (null: no person, e.g. a caller without one) or throws.
     * `repeat`: the same message processed again after a crash — checked, not counted twice.
     */
    async admit(a: { agent: Agent; personId: string | null; repeat?: boolean }): Promise<void> {
      this.assertActive(a.agent);
      const standing = await budget.plan(a.agent, a.personId ?? undefined);
      if (standing.stop) throw standing.stop;
      if (!a.repeat) await budget.admit(a.agent, a.personId);
    },
  };
}
export type AdmissionService = ReturnType<typeof admissionService>;
