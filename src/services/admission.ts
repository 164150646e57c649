/**
 * The admission step: whether a message may be answered at all, asked once by every way in — the
 * web chat, the message API, Telegram and WhatsApp (all through chat.send), `/v1/chat/completions`
 * (services/completions.ts), the editor's preview (`admitPreview`), and later schedules — before any model call, and counted
 * the same way. In order: the agent is active; its owner is in good standing (not suspended, trial
 * not ended, plan not canceled); the plan's spend, the agent's and customer's budgets and the
 * person's daily cost cap are not spent; then the message is counted against the plan's monthly
 * messages and the person's daily messages, and refused past either.
 *
 * A refusal is an AppError: `agent_paused`/`agent_not_ready`/`not_found` for the agent's status
 * (nothing is stored), or a BudgetStop (`budget_exhausted`, carrying the polite reply the channels
 * send instead of a model's answer).
 *
 * The message length is checked here too (`checkLength`), against the one limit of the installation
 * (Settings; SWITCHBOARD_MAX_MESSAGE_CHARS by default): a longer message is refused whole with
 * `400 message_too_long` before anything is stored or a model is called — never cut. The web chat
 * and the message API answer it as an HTTP error, `/v1` in OpenAI's shape (param `messages`), and
 * Telegram and WhatsApp send the person its message ("Your message is too long (max N characters)…").
 *
 * Every admitted message is logged once (person_messages: agent, person, channel, time) — the one
 * source of the "messages" and "people" figures of analytics (services/analytics.ts).
 */
import { AppError, errors } from '../domain/errors.js';
import type { Clock, IdGenerator, Store } from '../domain/ports.js';
import type { Agent, User } from '../domain/types.js';
import type { BudgetService } from './budget.js';
import type { SettingsService } from './settings.js';

/** What a person is told when their message is over the limit (also the reply on Telegram and WhatsApp). */
export const tooLongMessage = (max: number) =>
  `Your message is too long (max ${max.toLocaleString('en-US')} characters). Please shorten it and send it again.`;

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

export function admissionService(deps: {
  budget: Pick<BudgetService, 'plan' | 'admit' | 'knownOwner'>;
  settings: Pick<SettingsService, 'maxMessageChars'>;
  store: { analytics: Pick<Store['analytics'], 'recordMessage'> };
  clock: Clock; ids: IdGenerator;
}) {
  const { budget, settings } = deps;
  return {
    notAnswering,

    /** The installation's message-length limit, in characters. */
    maxMessageChars: () => settings.maxMessageChars(),

    /**
     * Refuses a message over the installation's limit (`field` names it in the error: `text`, or
     * `messages` on /v1). Characters are counted as people count them (code points, not UTF-16 units).
     */
    async checkLength(text: string, field = 'text'): Promise<void> {
      const max = await settings.maxMessageChars();
      if (text.length <= max) return; // fast path: never more code points than UTF-16 units
      const chars = [...text].length;
      if (chars <= max) return;
      const message = tooLongMessage(max);
      throw new AppError(400, 'message_too_long', message, { fields: [{ path: field, message: `is ${chars.toLocaleString('en-US')} characters; the limit is ${max.toLocaleString('en-US')}` }], details: { maxChars: max } });
    },

    /** The agent's status alone (before anything is stored for the message). */
    assertActive(agent: Agent): void {
      const why = notAnswering(agent);
      if (why) throw why;
    },

    /**
     * Admits one preview message (the agent editor's preview chat, by someone who may edit the agent).
     * Its owner may preview a paused agent (that is when a persona gets fixed) unless it was paused for
     * a payment due; any other status refuses as for a chat. Then the owner's standing and the budgets
     * (a BudgetStop, as for a chat) and the plan's monthly messages. It is no person's message: not
     * logged for analytics, and no person's daily caps count it.
     */
    async admitPreview(agent: Agent): Promise<void> {
      if (!(agent.status === 'paused' && agent.pausedReason !== 'billing')) this.assertActive(agent);
      const standing = await budget.plan(agent);
      if (standing.stop) throw standing.stop;
      await budget.admit(agent, null);
    },

    /**
     * Admits one message from one person (null: no person, e.g. a caller without one) or throws.
     * `repeat`: the same message processed again after a crash — checked, not counted twice.
     * `caller`: the user sending it, read in this request; when they own the agent, their row is
     * its owner's standing (not read again).
     */
    async admit(a: { agent: Agent; personId: string | null; channel: string; repeat?: boolean; caller?: User }): Promise<void> {
      this.assertActive(a.agent);
      if (a.caller) budget.knownOwner(a.agent, a.caller);
      // Received, whether or not a budget lets it be answered: counted as a message once.
      if (!a.repeat) await deps.store.analytics.recordMessage({ id: deps.ids.id(), agentId: a.agent.id, personId: a.personId, channel: a.channel, at: deps.clock.now().toISOString() });
      const standing = await budget.plan(a.agent, a.personId ?? undefined);
      if (standing.stop) throw standing.stop;
      if (!a.repeat) await budget.admit(a.agent, a.personId);
    },
  };
}
export type AdmissionService = ReturnType<typeof admissionService>;
