/**
 * Handoff requested by the person or the agent (issue 15): the `handoff` tool and the agent's trigger
 * phrases both mark a conversation `needsHuman` here — once, atomically — tell the person the agent's
 * `handoff.requestedMessage`, announce `conversation.updated`, and notify the owner (the dashboard's
 * count, a signed webhook `conversation.needs_human` and e-mail through the alert routes, each a
 * durable job with retries). A notification that fails never fails the person's message.
 */
import { z } from 'zod';
import type { Clock, EventBus, ModelTool, Store } from '../domain/ports.js';
import type { AgentBots, DirectPurpose } from '../domain/channels.js';
import type { Actor, Agent, Conversation } from '../domain/types.js';
import { defineJob, type Job, type JobQueue } from '../jobs/index.js';
import type { Logger } from '../infra/logger.js';
import type { AlertService } from './alerts.js';
import { canSeeAllAgents } from './access.js';

/** The job that tells the owner, one way per job (a retry repeats only the way that failed). */
export const NEEDS_HUMAN_JOB = 'notify-needs-human';
export const NEEDS_HUMAN_EVENT = 'conversation.needs_human';
/** The longest reason kept (the tool's parameter, and what the webhook and e-mail carry). */
export const HANDOFF_REASON_MAX = 500;
/** The handoff tool's input, built once (not per model call). */
const HandoffInput = z.object({ reason: z.string().trim().min(1).max(HANDOFF_REASON_MAX).describe('Why a person is needed, in one short sentence') });

const NotifyJob = z.object({
  conversationId: z.string().min(1),
  via: z.enum(['webhook', 'email', 'telegram']),
  reason: z.string().max(HANDOFF_REASON_MAX + 100),
  at: z.string().min(1),
});
type NotifyJob = z.infer<typeof NotifyJob>;

// Scripts written without spaces between words: a phrase in them matches inside a sentence.
// (Script_Extensions, so marks shared by scripts count: the Japanese long-vowel mark "ー".)
const UNSPACED = /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}]/u;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The first trigger phrase the text contains as whole words (case-insensitive, any script; "human"
 * is not found in "humane"), or null. Spaces inside a phrase match any run of white space.
 */
export function matchTrigger(text: string, triggers: readonly string[]): string | null {
  const hay = text.normalize('NFC');
  for (const raw of triggers) {
    const phrase = raw.normalize('NFC').trim();
    if (!phrase) continue;
    const body = phrase.split(/\s+/).map(escape).join('\\s+');
    const before = UNSPACED.test(phrase[0]!) ? '' : '(?<![\\p{L}\\p{N}\\p{M}_])';
    const after = UNSPACED.test(phrase.at(-1)!) ? '' : '(?![\\p{L}\\p{N}\\p{M}_])';
    if (new RegExp(`${before}${body}${after}`, 'iu').test(hay)) return raw.trim();
  }
  return null;
}

export function handoffService(deps: {
  store: Pick<Store, 'conversations' | 'agents' | 'people'>;
  events: EventBus; clock: Clock; log: Logger; queue: JobQueue;
  alerts: Pick<AlertService, 'notify'>;
  /** Sends a message outside a reply on a messaging channel (the channel registry's `send`; late-bound). */
  send: (m: { channel: string; agentId: string | null; to: string; text: string; purpose: DirectPurpose }) => Promise<unknown>;
  publicUrl?: string;
  /** Which agents have a Telegram bot connected (the owner is told through the agent's own bot). */
  bots?: Pick<AgentBots, 'views'>;
}) {
  const { store, events, clock, log, queue, alerts } = deps;

  const notifyJob = defineJob({
    name: NEEDS_HUMAN_JOB, schema: NotifyJob, retry: { limit: 5 }, concurrency: 2,
    perform: (job: Job<NotifyJob>) => notify(job.data),
    onFinalFailure: async (job, error) => {
      log.warn('needs-a-person notice not delivered', { conversationId: job.data.conversationId, via: job.data.via, error: (error as Error)?.message });
    },
  });

  async function notify(n: NotifyJob): Promise<void> {
    const conv = await store.conversations.byId(n.conversationId);
    const agent = conv && (await store.agents.byId(conv.agentId));
    if (!conv || !agent) return; // erased since: nothing to tell
    const payload = {
      type: NEEDS_HUMAN_EVENT, conversationId: conv.id, agentId: agent.id, agentName: agent.name,
      personId: conv.personId, channel: conv.channel, reason: n.reason, at: n.at,
    };
    const link = deps.publicUrl ? `\n\nOpen it: ${deps.publicUrl.replace(/\/$/, '')}/dashboard/conversations/${conv.id}` : '';
    if (n.via === 'telegram') {
      const chat = agent.handoff.notifyTelegramChatId;
      if (!chat || !(await deps.bots?.views([agent.id]))?.get(agent.id)) return; // no chat set, or no bot to send it with
      await deps.send({ channel: 'telegram', agentId: agent.id, to: chat, purpose: 'handoff',
        text: `A ${conv.channel} conversation with ${agent.name} needs a person.\n\nReason: ${n.reason}${link}` });
      return;
    }
    await alerts.notify(n.via, {
      event: NEEDS_HUMAN_EVENT, payload, ownerId: agent.ownerId,
      subject: `[Switchboard] ${agent.name}: a conversation needs a person`,
      text: `A ${conv.channel} conversation with ${agent.name} is waiting for a person.\n\nReason: ${n.reason}\nSince: ${n.at}${link}\n`,
    });
  }

  /** Tells the person the agent's requested-message outside a reply: stored in the conversation, and sent on a messaging channel. */
  async function tellPerson(agent: Agent, conv: Conversation): Promise<void> {
    const text = agent.handoff.requestedMessage;
    try {
      if (conv.channel === 'telegram' || conv.channel === 'whatsapp') {
        const person = await store.people.byId(conv.personId);
        if (person) await deps.send({ channel: conv.channel, agentId: agent.id, to: person.externalId, text, purpose: 'handoff' });
      }
      await store.conversations.addMessage({ conversationId: conv.id, role: 'assistant', content: text, status: 'complete', channel: conv.channel });
    } catch (err) {
      log.warn('the person was not told a person was asked for', { conversationId: conv.id, error: (err as Error).message });
    }
  }

  /**
   * Marks the conversation as waiting for a person, unless it already is or a person has it. Returns the
   * conversation when this call marked it (then the owner is being notified), undefined otherwise.
   */
  async function request(a: { agent: Agent; conversationId: string; reason: string; tellPerson: boolean }): Promise<Conversation | undefined> {
    const at = clock.now().toISOString();
    const reason = a.reason.trim().slice(0, HANDOFF_REASON_MAX) || 'no reason given';
    const conv = await store.conversations.markNeedsHuman(a.conversationId, reason, at);
    if (!conv) return undefined;
    events.publish({ type: 'conversation.updated', agentId: conv.agentId, conversationId: conv.id, conversation: conv });
    if (a.tellPerson) await tellPerson(a.agent, conv);
    for (const via of ['webhook', 'email', ...(a.agent.handoff.notifyTelegramChatId ? ['telegram' as const] : [])] as const) {
      await queue.send(notifyJob, { conversationId: conv.id, via, reason, at }, { singletonKey: `${conv.id}:${at}:${via}` })
        .catch((err: unknown) => log.error('needs-a-person notice not queued', { conversationId: conv.id, via, error: err }));
    }
    return conv;
  }

  return {
    jobs: [notifyJob],
    request,

    /**
     * A person's message, stored, before the model is called: a trigger phrase marks the conversation.
     * Returns what this turn answers instead of the model (the agent's requested-message), or undefined.
     */
    async onPersonMessage(agent: Agent, conv: Conversation, text: string): Promise<{ reply: string } | undefined> {
      if (conv.needsHuman || conv.mode !== 'agent') return undefined;
      const phrase = matchTrigger(text, agent.handoff.triggers);
      if (!phrase) return undefined;
      const marked = await request({ agent, conversationId: conv.id, reason: `the person asked: "${phrase}"`, tellPerson: false })
        .catch((err: unknown) => { log.error('handoff by trigger failed', { conversationId: conv.id, error: err }); return undefined; });
      return marked ? { reply: agent.handoff.requestedMessage } : undefined;
    },

    /**
     * The person's open conversation when it waits for a person, nobody took it over and the agent is
     * set to stay quiet meanwhile (`handoff.pauseWhileWaiting`); undefined when the agent answers.
     */
    async quietFor(agent: Agent, personId: string): Promise<Conversation | undefined> {
      if (!agent.handoff.pauseWhileWaiting) return undefined;
      const conv = await store.conversations.open(agent.id, personId);
      if (!conv || !conv.needsHuman || conv.mode !== 'agent') return undefined;
      // A session past its timeout ends with this message (memory.session): the new one starts with the agent.
      if (Date.parse(conv.lastMessageAt) < clock.now().getTime() - agent.sessionTimeoutMinutes * 60_000) return undefined;
      return conv;
    },

    /** The `handoff` tool of one conversation. */
    tool(agent: Agent, conversationId: string): ModelTool {
      return {
        name: 'handoff',
        description: 'Ask a person from the team to join this conversation: when the person wants a human, when you cannot help them, or when it needs a person\'s judgment. Give a short reason. The team is notified and will reply here; tell the person so.',
        input: HandoffInput,
        async execute(input: { reason: string }) {
          const marked = await request({ agent, conversationId, reason: input.reason, tellPerson: true });
          return marked
            ? `A person from the team has been asked to join and will reply in this conversation. The person was told: "${agent.handoff.requestedMessage}". Reassure them briefly; do not promise a time.`
            : 'A person from the team has already been asked to join this conversation and will reply here.';
        },
      };
    },

    /** Conversations waiting for a person that the actor may see (an operator or auditor: all; a customer: their agents'). */
    async count(actor: Actor): Promise<number> {
      return store.conversations.needsHumanCount(canSeeAllAgents(actor) ? undefined : actor.user.id);
    },
  };
}
export type HandoffService = ReturnType<typeof handoffService>;
