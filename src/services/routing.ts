import type { Clock, InboxRoute, Store } from '../domain/ports.js';
import type { Agent } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import type { ModelGateway } from '../llm/model-gateway.js';
import type { Router } from './inbox.js';

/** "Yes" in the languages people most often answer in. */
const YES = /^\s*(yes|y|yeah|yep|yup|sure|ok|okay|sim|s|sí|si|oui|ouais|ja|jawohl|da|да|так|tak|ano|igen|kyllä|ja|ναι|evet|はい|是|是的|好|네|예|نعم|כן|haan|हाँ|ha)\s*[.!]*\s*$/i;

export const isYes = (text: string) => YES.test(text);

function listAgents(agents: Agent[], current?: Agent) {
  return ['Assistants on this number:', ...agents.map((a) => `• ${a.name}${a.id === current?.id ? ' (current)' : ''}${a.description ? ` — ${a.description}` : ''}`), '', 'Send /use <name> to switch.'].join('\n');
}

function findAgent(agents: Agent[], query: string): Agent | undefined {
  const q = query.trim().toLowerCase();
  return agents.find((a) => a.slug === q || a.name.toLowerCase() === q)
    ?? agents.find((a) => a.name.toLowerCase().startsWith(q) || a.slug.startsWith(q))
    ?? agents.find((a) => a.name.toLowerCase().includes(q));
}

/**
 * Routes messages on the one WhatsApp number to the listed agents: each person has a current
 * agent; a cheap model call reads the intent, and a different agent is only switched to after
 * the person answers YES. /agents lists, /use <name> switches. Conversations stay per person per
 * agent, so switching back resumes where they were.
 */
export function whatsappRouter(deps: {
  store: Pick<Store, 'agents' | 'people' | 'personState' | 'transaction'>; gateway: Pick<ModelGateway, 'generate'>; clock: Clock; log: Logger; routerModel?: string;
  /** Called when a person leaves an agent for another (its session ends there). */
  onSwitch?: (personId: string, fromAgentId: string) => Promise<void>;
}): Router {
  const { store, gateway } = deps;

  async function classify(text: string, agents: Agent[], current: Agent | undefined): Promise<Agent | undefined> {
    const system = [
      'You route a message to the assistant best suited to answer it. The assistants:',
      ...agents.map((a) => `- ${a.slug}: ${a.name}${a.description ? ` — ${a.description}` : ''}`),
      current ? `The person is currently talking to "${current.slug}". Keep it for greetings, thanks, follow-ups and anything it can handle.` : '',
      'Answer with the slug only.',
    ].filter(Boolean).join('\n');
    try {
      // Reading intent is a small job: SWITCHBOARD_ROUTER_MODEL, else the current agent's cheaper fallback, else the default.
      const r = await gateway.generate({ agent: current ?? null, model: deps.routerModel ?? current?.fallbackModel ?? null, fallbackModel: null, system, messages: [{ role: 'user', content: text.slice(0, 2000) }], temperature: 0, channel: 'whatsapp', conversationId: null, purpose: 'routing' });
      const answer = r.text.toLowerCase();
      return [...agents].sort((a, b) => b.slug.length - a.slug.length).find((a) => answer.includes(a.slug));
    } catch (err) {
      deps.log.warn('routing call failed; staying with the current agent', { error: (err as Error).message });
      return undefined;
    }
  }

  return async (item) => {
    const now = deps.clock.now().toISOString();
    const person = await store.people.upsert('phone', item.sender);
    const agents = await store.agents.list({ listed: true, status: 'active' });
    if (!agents.length) return { reply: 'No assistants are available on this number right now. Please try again later.' };
    const state = (await store.personState.get(person.id)) ?? { personId: person.id, currentAgentId: null, pendingAgentId: null, pendingText: null };
    const current = agents.find((a) => a.id === state.currentAgentId);
    /** The person's new state and the decision, in one transaction: reprocessing after a crash repeats the decision. */
    const decide = async (next: typeof state, route: InboxRoute): Promise<InboxRoute> => {
      if (state.currentAgentId && next.currentAgentId !== state.currentAgentId) await deps.onSwitch?.(person.id, state.currentAgentId);
      await store.transaction(async (tx) => {
        await tx.personState.set(next, now);
        await tx.inbox.setRoute(item.id, route);
      });
      return route;
    };
    const text = item.text.trim();

    if (/^\/(agents|help|start)\b/i.test(text)) return { reply: listAgents(agents, current) };
    const use = text.match(/^\/use\s+(.+)$/i);
    if (use) {
      const target = findAgent(agents, use[1]!);
      if (!target) return { reply: `There is no assistant called "${use[1]!.trim()}". Send /agents to see them.` };
      return decide({ ...state, currentAgentId: target.id, pendingAgentId: null, pendingText: null },
        { reply: `You are now talking to ${target.name}.${target.description ? ` ${target.description}` : ''}` });
    }
    if (agents.length === 1) {
      if (state.currentAgentId !== agents[0]!.id) return decide({ ...state, currentAgentId: agents[0]!.id, pendingAgentId: null, pendingText: null }, { agentId: agents[0]!.id });
      return { agentId: agents[0]!.id };
    }
    if (state.pendingAgentId) {
      const target = agents.find((a) => a.id === state.pendingAgentId);
      const cleared = { ...state, pendingAgentId: null, pendingText: null };
      // On YES the new agent answers the message that prompted the question.
      if (isYes(text) && target) return decide({ ...cleared, currentAgentId: target.id }, { agentId: target.id, text: state.pendingText ?? text });
      if (current) return decide(cleared, { agentId: current.id });
      await store.personState.set(cleared, now); // the question's agent is gone: the message is routed afresh below
    }
    const guess = await classify(text, agents, current);
    if (!current) {
      const chosen = guess ?? agents[0]!;
      return decide({ ...state, currentAgentId: chosen.id, pendingAgentId: null, pendingText: null }, { agentId: chosen.id });
    }
    if (guess && guess.id !== current.id) {
      return decide({ ...state, pendingAgentId: guess.id, pendingText: item.text }, { reply: `Switch to ${guess.name}? Reply YES.` });
    }
    return { agentId: current.id };
  };
}
