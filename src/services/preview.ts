/**
 * The agent editor's preview: chat with an agent as it is being edited (a draft persona, model,
 * temperature and tool policy over the stored agent, for one call), see the exact system prompt it
 * would get and its size, and — impersonation — do either with one real person's memory.
 *
 * What a preview is and is not:
 * - Nothing is stored: no conversation, no message, no summary, no note, no tool call record. The
 *   client sends the turns so far (`history`); the server keeps nothing between calls.
 * - It is a model call like any other: admitted (`admission.admitPreview`: status, owner standing,
 *   budgets, plan messages), reserved, metered and recorded by the model gateway with channel and
 *   purpose `preview`, so it shows in usage and counts in the agent's and customer's budgets.
 * - Its person is a throwaway one, `preview:<userId>`, with no memory; with `personId` it is that
 *   person (who must have talked with the agent), read-only: their notes and summaries are read, never
 *   written, and their daily caps do not count the preview.
 * - Tools follow the draft's policy. Those that only read (memory_search, memory_get, read, list,
 *   web_fetch, web_search) run; the rest (memory_write, write, edit, exec, plugins) and any tool that
 *   needs approval are offered but not run: the model is told the preview changed nothing.
 */
import type { IdGenerator, ModelMessage, ModelTool, Store } from '../domain/ports.js';
import { ProviderError } from '../domain/ports.js';
import { messageText } from '../domain/ports.js';
import type { Actor, Agent, Persona } from '../domain/types.js';
import { AppError, errors, providerFailureCode, type ErrorCode, type FieldProblem } from '../domain/errors.js';
import { authorize } from './access.js';
import type { AdmissionService } from './admission.js';
import { BudgetStop } from './budget.js';
import { INTERNAL_FAILURE, POLITE_FAILURE, type ChatEvent } from './chat.js';
import type { MemoryService } from './memory.js';
import { estimateTokens } from './prompt.js';
import type { ProviderService } from './providers.js';
import { newCallTiming, type ModelGateway } from '../llm/model-gateway.js';
import { knownNames } from '../tools/policy.js';
import type { Toolbox } from '../tools/toolbox.js';
import type { Logger } from '../infra/logger.js';

/** What a draft may override, for one call: the editor's unsaved state. */
export type PreviewDraft = {
  name?: string;
  description?: string;
  persona?: Partial<Persona>;
  model?: string | null;
  temperature?: number;
  tools?: { allow: string[]; deny: string[]; requireApproval: string[] } | null;
};
export type PreviewTurn = { role: 'user' | 'assistant'; content: string };

/** Tools that only read: they run in a preview. */
export const PREVIEW_READ_ONLY = new Set(['memory_search', 'memory_get', 'read', 'list', 'web_fetch', 'web_search']);
/** The turns a preview may send back (the client keeps the preview's history). */
export const PREVIEW_MAX_TURNS = 50;
/** The person a preview talks as when it impersonates nobody: a new id per user, with no memory. */
export const previewPerson = (userId: string) => `preview:${userId}`;

export function previewService(deps: {
  store: Pick<Store, 'agents' | 'conversations'>;
  gateway: ModelGateway; providers: Pick<ProviderService, 'checkModel' | 'resolve'>;
  admission: Pick<AdmissionService, 'admitPreview' | 'checkLength'>;
  memory: Pick<MemoryService, 'previewContext'>;
  toolbox: Pick<Toolbox, 'unrecorded'>;
  ids: IdGenerator; log: Logger;
}) {
  const { store, gateway, providers, admission, memory, toolbox, ids, log } = deps;

  /**
   * The agent as the draft would make it, and the person the preview talks as. A customer reaches
   * only their own agents (404), an auditor may look but not chat (403, `agent.message`).
   */
  async function prepare(actor: Actor, agentId: string, input: { draft?: PreviewDraft; personId?: string }, action: 'agent.read' | 'agent.message') {
    const stored = await store.agents.byId(agentId);
    if (!stored || stored.status === 'deleted') throw errors.notFound('Agent');
    authorize(actor, action, stored);
    const d = input.draft ?? {};
    const problems: FieldProblem[] = [];
    if (d.model) {
      const why = await providers.checkModel(d.model);
      if (why) problems.push({ path: 'draft.model', message: why });
    }
    if (d.tools) {
      // The same names PATCH /api/agents/{id} accepts in `tools`.
      const known = new Set(knownNames(stored.plugins.map((p) => p.name)));
      for (const key of ['allow', 'deny', 'requireApproval'] as const) {
        d.tools[key].forEach((n, i) => { if (!known.has(n)) problems.push({ path: `draft.tools.${key}.${i}`, message: `"${n}" is not a tool or group; known: ${[...known].join(', ')}` }); });
      }
    }
    if (problems.length) throw errors.validation(problems);
    const agent: Agent = {
      ...stored,
      name: d.name?.trim() || stored.name,
      description: d.description ?? stored.description,
      persona: { ...stored.persona, ...d.persona },
      model: d.model !== undefined ? d.model : stored.model,
      temperature: d.temperature ?? stored.temperature,
      toolPolicy: d.tools !== undefined ? d.tools : stored.toolPolicy,
    };
    let personId: string | null = null;
    if (input.personId) {
      // Only someone who has talked with this agent: their memory with it is what is previewed.
      const talked = (await store.conversations.open(agentId, input.personId)) ?? (await store.conversations.lastClosed(agentId, input.personId));
      if (!talked) throw new AppError(404, 'not_found', 'This person has not talked with this agent.', { fields: [{ path: 'personId', message: 'has no conversation with this agent' }] });
      personId = input.personId;
    }
    return { agent, personId };
  }

  /** The tools of a preview call: read-only ones run; the others answer that a preview changes nothing. */
  async function previewTools(agent: Agent, personId: string): Promise<{ tools: ModelTool[]; refuse: (name: string) => Promise<string> }> {
    const { tools, requireApproval } = await toolbox.unrecorded({ agent, personId, conversationId: '' });
    const wrapped = tools.map((t): ModelTool => PREVIEW_READ_ONLY.has(t.name) && !requireApproval.has(t.name) ? t : {
      ...t,
      async execute(input: unknown) {
        const args = JSON.stringify(input) ?? '';
        return `Preview: ${t.name} was not run${requireApproval.has(t.name) ? ' (it would wait for the owner\'s approval)' : ''} — a preview changes nothing. It would have run with: ${args.length > 500 ? `${args.slice(0, 500)}…` : args}`;
      },
    });
    return { tools: wrapped, refuse: async (name) => `Error: the tool "${name.slice(0, 80)}" is not enabled for this agent.` };
  }

  return {
    /** The exact system prompt a preview call would send, and its size (≈4 characters a token, the context budget's estimate). */
    async prompt(actor: Actor, agentId: string, input: { draft?: PreviewDraft; personId?: string }): Promise<{ system: string; tokens: number }> {
      const { agent, personId } = await prepare(actor, agentId, input, 'agent.read');
      const { system } = await memory.previewContext(agent, { personId, turns: [], firstText: '' });
      return { system, tokens: estimateTokens(system) };
    },

    /**
     * One preview message. Throws (an HTTP error) before the first event when it cannot be answered at
     * all — validation, the agent's status, no model; yields start → delta* → done, or error in place
     * of done; a spent budget answers with the agent's stop message (`done`, `budgetStopped`), as chat does.
     */
    async *chat(actor: Actor, agentId: string, input: { text: string; draft?: PreviewDraft; history?: PreviewTurn[]; personId?: string; signal?: AbortSignal }): AsyncGenerator<ChatEvent> {
      const { agent, personId } = await prepare(actor, agentId, input, 'agent.message');
      if (!input.text.trim()) throw errors.validation([{ path: 'text', message: 'must not be empty' }]);
      await admission.checkLength(input.text);
      const history = input.history ?? [];
      for (const [i, t] of history.entries()) await admission.checkLength(t.content, `history.${i}.content`);
      const refused = await admission.admitPreview(agent).then(() => undefined, (err: unknown) => { if (err instanceof BudgetStop) return err; throw err; });
      if (!refused) await providers.resolve(agent.model); // "no model configured" is an HTTP error, before the stream
      yield { type: 'start', conversationId: 'preview', userMessageId: `preview-${ids.id()}` };
      const messageId = `preview-${ids.id()}`;
      if (refused) {
        yield { type: 'done', messageId, reply: refused.reply, model: '', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }, budgetStopped: true };
        return;
      }
      const turns: ModelMessage[] = [...history, { role: 'user', content: input.text }];
      const first = turns.find((t) => t.role === 'user');
      const firstText = first ? messageText(first) : input.text;
      let streamed = '';
      try {
        const prompt = await memory.previewContext(agent, { personId, turns, firstText });
        const timing = newCallTiming();
        const gen = gateway.stream({
          timing, agent, model: agent.model, fallbackModel: agent.fallbackModel, system: prompt.system, messages: prompt.messages,
          temperature: agent.temperature, channel: 'preview', conversationId: null, signal: input.signal, purpose: 'preview',
          ...(await previewTools(agent, personId ?? previewPerson(actor.user.id))),
        });
        let step = await gen.next();
        while (!step.done) {
          streamed += step.value.text;
          yield step.value;
          step = await gen.next();
        }
        const r = step.value;
        yield { type: 'done', messageId, reply: r.text, model: r.model, usage: { inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens, costUsd: r.costUsd }, downgraded: r.downgraded, timing };
      } catch (err) {
        if (err instanceof BudgetStop && !streamed) {
          yield { type: 'done', messageId, reply: err.reply, model: '', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }, budgetStopped: true };
          return;
        }
        if (input.signal?.aborted) return; // the editor left; nobody is listening
        if (!(err instanceof ProviderError) && !(err instanceof AppError)) log.error('preview failed', { error: err, agentId: agent.id });
        const code: ErrorCode = err instanceof ProviderError ? providerFailureCode(err.kind) : err instanceof AppError ? err.code : 'internal_error';
        yield { type: 'error', code, message: err instanceof AppError ? err.message : code === 'internal_error' ? INTERNAL_FAILURE : POLITE_FAILURE, messageId: null };
      }
    },
  };
}
export type PreviewService = ReturnType<typeof previewService>;
