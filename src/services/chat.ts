import type { ChatModelPort, Clock, ModelMessage, ModelTool, Store } from '../domain/ports.js';
import { ProviderError } from '../domain/ports.js';
import type { Agent, Channel, ChatMessage, Conversation, TokenUsage } from '../domain/types.js';
import { AppError, errors } from '../domain/errors.js';
import type { ProviderService } from './providers.js';
import type { PriceService } from './prices.js';
import { estimateTokens } from './prompt.js';
import type { MemoryService } from './memory.js';
import { BudgetStop, type BudgetService } from './budget.js';
import type { Toolbox } from '../tools/toolbox.js';
import type { Logger } from '../infra/logger.js';

export type UsageSummary = { inputTokens: number; outputTokens: number; costUsd: number };
export type ChatEvent =
  | { type: 'start'; conversationId: string; userMessageId: string }
  | { type: 'delta'; text: string }
  | { type: 'done'; messageId: string; reply: string; model: string; usage: UsageSummary; downgraded?: boolean; budgetStopped?: boolean }
  | { type: 'error'; code: string; message: string; messageId: string | null };

export const POLITE_FAILURE = 'Sorry — I could not reach my language model just now. Please try again in a moment.';

function providerErrorCode(e: ProviderError): { code: string; status: 502 | 503 | 504 } {
  if (e.kind === 'timeout') return { code: 'provider_timeout', status: 504 };
  if (e.kind === 'not_configured') return { code: 'no_model_configured', status: 503 };
  return { code: 'provider_error', status: 502 };
}

export function chatService(deps: { store: Pick<Store, 'conversations' | 'people' | 'usage'>; llm: ChatModelPort; providers: ProviderService; prices: PriceService; clock: Clock; log: Logger; memory: MemoryService; budget: BudgetService; toolbox: Toolbox }) {
  const { store, llm, providers, prices, clock, log, memory, budget, toolbox } = deps;

  /**
   * One model call with usage and budget accounting. Checks the agent's budget first (a spent budget
   * throws BudgetStop and calls nothing; past the downgrade threshold the fallback model answers),
   * reserves the most the call may cost, then tries the agent's model and its fallback model when the
   * first fails before producing any text. Every attempt, failed or not, leaves a usage row.
   */
  async function* callModel(a: {
    agent: Agent | null; agentModel: string | null; fallbackModel: string | null; system: string; messages: ModelMessage[];
    temperature: number; channel: Channel; conversationId: string | null; signal?: AbortSignal;
    purpose?: 'chat' | 'summary' | 'routing'; tools?: ModelTool[]; refuse?: (toolName: string, input: unknown) => Promise<string>; personId?: string;
  }): AsyncGenerator<{ type: 'delta'; text: string }, { text: string; usage: TokenUsage; costUsd: number; model: string; downgraded: boolean }> {
    let agentModel = a.agentModel;
    let fallbackModel = a.fallbackModel;
    let downgraded = false;
    if (a.agent) {
      const plan = await budget.plan(a.agent, a.personId);
      if (plan.stop) throw plan.stop;
      if (plan.state === 'downgraded' && a.agent.fallbackModel && agentModel !== a.agent.fallbackModel) {
        agentModel = a.agent.fallbackModel;
        fallbackModel = null;
        downgraded = true;
      }
    }
    const primary = await providers.resolve(agentModel);
    const candidates = [primary];
    if (fallbackModel && fallbackModel !== primary.model) {
      const fb = await providers.resolve(fallbackModel).catch(() => undefined);
      if (fb) candidates.push(fb);
    }
    const maxOutputTokens = a.agent?.maxOutputTokens;
    const promptTokens = estimateTokens(a.system + a.messages.map((m) => m.content).join('')) * (a.tools?.length ? 2 : 1) + 16;
    let lastError: unknown;
    for (const target of candidates) {
      // Reserve the most this attempt may cost; a budget another call just spent refuses it here.
      const hold = await budget.reserve({ agent: a.agent, personId: a.personId, model: target.model, inputTokens: promptTokens, maxOutputTokens: maxOutputTokens ?? 1024 });
      let settled = false;
      const settle = async (usd: number) => { if (!settled) { settled = true; await budget.settle(hold, a.agent, usd); } };
      const started = performance.now();
      let ttft: number | null = null;
      let text = '';
      let usage: TokenUsage | undefined;
      const record = async (status: 'ok' | 'error', u: TokenUsage, error: string | null) => {
        const { costUsd } = await prices.cost(target.model, u);
        await store.usage.insert({
          agentId: a.agent?.id ?? null, conversationId: a.conversationId, messageId: null, channel: a.channel, purpose: a.purpose ?? 'chat',
          provider: target.provider.name, model: target.model, inputTokens: u.inputTokens, outputTokens: u.outputTokens, costUsd,
          ttftMs: ttft === null ? null : Math.round(ttft), latencyMs: Math.round(performance.now() - started), status, error,
        });
        await settle(costUsd);
        return costUsd;
      };
      try {
        for await (const ev of llm.stream({ provider: target.provider, modelName: target.modelName, system: a.system, messages: a.messages, temperature: a.temperature, signal: a.signal, tools: a.tools, refuse: a.refuse, maxOutputTokens })) {
          if (ev.type === 'text') {
            if (ttft === null) ttft = performance.now() - started;
            text += ev.text;
            yield { type: 'delta', text: ev.text };
          } else if (ev.type === 'tool') {
            log.debug('tool called', { tool: ev.name, agentId: a.agent?.id, conversationId: a.conversationId });
          } else usage = ev.usage;
        }
        // A stream cut before its usage chunk still costs money: estimate rather than record zero.
        const u = usage && (usage.inputTokens || usage.outputTokens) ? usage : {
          inputTokens: estimateTokens(a.system + a.messages.map((m) => m.content).join('')), outputTokens: estimateTokens(text),
        };
        const costUsd = await record('ok', u, usage ? null : 'usage estimated: provider reported none');
        return { text, usage: u, costUsd, model: target.model, downgraded };
      } catch (err) {
        lastError = err;
        const pe = err instanceof ProviderError ? err : new ProviderError('network', String((err as Error)?.message ?? err), target.provider.name);
        const partial = text ? { inputTokens: estimateTokens(a.system + a.messages.map((m) => m.content).join('')), outputTokens: estimateTokens(text) } : { inputTokens: 0, outputTokens: 0 };
        await record('error', partial, pe.message);
        log.warn('model call failed', { provider: target.provider.name, model: target.model, kind: pe.kind, status: pe.status, error: pe.message, agentId: a.agent?.id });
        if (text) break; // text already reached the user; do not splice a second model's answer onto it
      }
    }
    throw lastError;
  }

  /** The person a channel identity stands for: itself, or the phone it is linked to. */
  async function personId(p: { kind: string; externalId: string }): Promise<string> {
    const person = await store.people.upsert(p.kind, p.externalId);
    return store.people.canonical(person.id, clock.now().toISOString());
  }

  /** Why an agent that is not active does not answer (null: it is active). */
  function notAnswering(agent: Agent): AppError | null {
    switch (agent.status) {
      case 'active': return null;
      case 'provisioning': return new AppError(409, 'agent_not_ready', `${agent.name} is still being set up and will answer once it is ready.`);
      case 'failed': return new AppError(409, 'agent_not_ready', `${agent.name} could not be set up yet; its owner can fix the problem and retry.`);
      case 'deleted': return errors.notFound('Agent');
      default: return new AppError(503, 'agent_paused', `${agent.name} is paused and is not answering right now.`);
    }
  }
  function assertActive(agent: Agent) {
    const why = notAnswering(agent);
    if (why) throw why;
  }

  return {
    callModel,

    /** Whether an agent can answer now, and if not, why (shown on the public chat page). */
    async availability(agent: Agent): Promise<{ available: boolean; notice: string | null }> {
      const why = notAnswering(agent);
      if (why) return { available: false, notice: why.message };
      try {
        await providers.resolve(agent.model);
        return { available: true, notice: null };
      } catch (e) {
        return { available: false, notice: (e as Error).message };
      }
    },

    async history(agent: Agent, person: { kind: string; externalId: string }) {
      const c = await store.conversations.open(agent.id, await personId(person));
      return { conversationId: c?.id ?? null, messages: c ? await store.conversations.messages(c.id, 200) : [] };
    },

    /** Ends the person's current conversation with the agent; the next message opens a new one. */
    async newConversation(agent: Agent, person: { kind: string; externalId: string }, reason: 'new_conversation' | 'switched_agent' = 'new_conversation') {
      await memory.end(agent.id, await personId(person), reason);
    },

    /**
     * A person sends a message to an agent. Yields start → delta* → done, or error in place of done.
     * The user message is stored before the call and the reply (or the failure) after it, so the
     * conversation is always consistent; a failed reply is never fed back to the model.
     */
    async *send(a: { agent: Agent; person: { kind: string; externalId: string }; channel: Channel; text: string; signal?: AbortSignal; sourceId?: string }): AsyncGenerator<ChatEvent> {
      const { agent } = a;
      // Reprocessing an inbound message (after a crash) must not store it twice nor pay for a second answer.
      const seen = a.sourceId ? await store.conversations.bySource(a.sourceId) : undefined;
      if (seen?.reply?.status === 'complete') {
        yield { type: 'start', conversationId: seen.message.conversationId, userMessageId: seen.message.id };
        yield { type: 'done', messageId: seen.reply.id, reply: seen.reply.content, model: agent.model ?? '', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } };
        return;
      }
      assertActive(agent);
      if (!a.text.trim()) throw errors.validation([{ path: 'text', message: 'must not be empty' }]);
      await providers.resolve(agent.model); // fail fast with "no model configured", before storing anything
      let conv: Conversation;
      let userMsg: ChatMessage;
      let admitted: BudgetStop | undefined;
      if (seen) {
        conv = (await store.conversations.byId(seen.message.conversationId))!;
        userMsg = seen.message;
      } else {
        conv = await memory.session(agent, await personId(a.person), a.channel, a.text);
        // Counted against the caps before it is stored (so counters never include it twice); a refusal is answered below.
        admitted = await budget.admit(agent, conv.personId).then(() => undefined, (err: unknown) => { if (err instanceof BudgetStop) return err; throw err; });
        userMsg = await store.conversations.addMessage({ conversationId: conv.id, role: 'user', content: a.text, status: 'complete', sourceId: a.sourceId, channel: a.channel });
      }
      const convId = conv.id;
      yield { type: 'start', conversationId: convId, userMessageId: userMsg.id };

      let streamed = '';
      try {
        if (admitted) throw admitted;
        const prompt = await memory.context(agent, conv);
        const gen = callModel({
          agent, agentModel: agent.model, fallbackModel: agent.fallbackModel, system: prompt.system,
          messages: prompt.messages, temperature: agent.temperature, channel: a.channel, conversationId: convId, signal: a.signal,
          ...(await toolbox.forCall({ agent, personId: conv.personId, conversationId: convId })),
          personId: conv.personId,
        });
        let step = await gen.next();
        while (!step.done) {
          streamed += step.value.text;
          yield step.value;
          step = await gen.next();
        }
        const r = step.value;
        if (r.downgraded && !conv.downgraded) await store.conversations.markDowngraded(convId);
        const msg = await store.conversations.addMessage({ conversationId: convId, role: 'assistant', content: r.text, status: 'complete', channel: a.channel });
        yield { type: 'done', messageId: msg.id, reply: r.text, model: r.model, usage: { inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens, costUsd: r.costUsd }, downgraded: r.downgraded };
      } catch (err) {
        if (err instanceof BudgetStop && !streamed) {
          // No model call: the agent's polite stop message is the reply, on every channel.
          const msg = await store.conversations.addMessage({ conversationId: convId, role: 'assistant', content: err.reply, status: 'complete', channel: a.channel });
          yield { type: 'done', messageId: msg.id, reply: err.reply, model: '', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }, budgetStopped: true };
          return;
        }
        if (!(err instanceof ProviderError) && !(err instanceof AppError)) log.error('chat failed', { error: err, agentId: agent.id });
        const code = err instanceof ProviderError ? providerErrorCode(err).code : err instanceof AppError ? err.code : 'internal_error';
        const msg = await store.conversations.addMessage({
          conversationId: convId, role: 'assistant', content: streamed, status: 'error', channel: a.channel,
          error: err instanceof Error ? err.message : String(err),
        });
        yield { type: 'error', code, message: err instanceof AppError ? err.message : POLITE_FAILURE, messageId: msg.id };
      }
    },

    /** Collects a whole reply (for the API and channels without streaming). Throws on failure. */
    async reply(a: { agent: Agent; person: { kind: string; externalId: string }; channel: Channel; text: string; sourceId?: string }) {
      return collectReply(this.send(a));
    },

    providerErrorCode,
  };
}
export type ChatService = ReturnType<typeof chatService>;

/** The whole reply from a chat's events (for the API and channels without streaming). Throws on failure. */
export async function collectReply(events: AsyncIterable<ChatEvent>) {
  let conversationId = '';
  for await (const ev of events) {
    if (ev.type === 'start') conversationId = ev.conversationId;
    if (ev.type === 'done') return { reply: ev.reply, conversationId, usage: ev.usage };
    if (ev.type === 'error') {
      const status = ev.code === 'provider_timeout' ? 504 : ev.code === 'no_model_configured' ? 503 : 502;
      throw new AppError(status, ev.code, ev.message);
    }
  }
  throw new Error('chat ended without a result');
}
