/**
 * The OpenAI-compatible endpoint's work (`POST /v1/chat/completions`): find the agent named by
 * `model`, build its prompt (the agent's persona first, the client's system and developer messages
 * after it as instructions), map the client's messages, admit the message like every other way in,
 * and start a metered model call through the gateway. No conversation is stored, only usage rows
 * (channel `openai`) and the message's entry in the log analytics counts (channel `openai`). The caller is the person `api` / `user:<id>`, the same person the message
 * API speaks as by default, so person caps hold here too.
 */
import { z } from 'zod';
import type { Clock, ModelMessage, Store } from '../domain/ports.js';
import { messageText } from '../domain/ports.js';
import type { Actor, Agent } from '../domain/types.js';
import { AppError, appError, errors } from '../domain/errors.js';
import { newCallTiming, type CallTiming, type ModelDelta, type ModelGateway, type ModelResult } from '../llm/model-gateway.js';
import type { AdmissionService } from './admission.js';
import type { ProviderService } from './providers.js';
import { allows } from './access.js';
import { composeSystemPrompt } from './prompt.js';

const Content = z.union([z.string(), z.array(z.object({ type: z.string(), text: z.string().optional() }).loose()), z.null()]);
/** Lenient on purpose: OpenAI clients send many optional fields; the ones we do not use are ignored. */
export const CompletionRequest = z.object({
  model: z.string().min(1).max(200),
  messages: z.array(z.object({ role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']), content: Content.optional() }).loose()).min(1).max(500),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
}).loose();
export type CompletionRequest = z.infer<typeof CompletionRequest>;

/**
 * OpenAI parameters Switchboard cannot honour, refused rather than silently dropped (a client asking
 * for two choices, its own tools or log probabilities would otherwise get a different answer than it
 * asked for). Each names the parameter, as OpenAI's `param`. Parameters that only tune the sampling
 * or label the call (top_p, penalties, stop, seed, user, metadata, max_tokens…) are accepted and
 * ignored: the agent's own settings apply. docs/api.md lists both.
 */
export function unsupportedParameter(body: Record<string, unknown>): { param: string; message: string } | undefined {
  const set = (v: unknown) => v !== undefined && v !== null;
  const nonEmpty = (v: unknown) => Array.isArray(v) ? v.length > 0 : set(v);
  if (set(body.n) && body.n !== 1) return { param: 'n', message: 'Only one choice is generated: n must be 1.' };
  for (const param of ['tools', 'functions'] as const) {
    if (nonEmpty(body[param])) return { param, message: `The agent's tools are set on the server; ${param} from the client are not supported.` };
  }
  for (const param of ['tool_choice', 'function_call'] as const) {
    if (set(body[param]) && body[param] !== 'none' && body[param] !== 'auto') return { param, message: `${param} is not supported: the agent's tools are set on the server.` };
  }
  if (body.logprobs === true) return { param: 'logprobs', message: 'Log probabilities are not supported.' };
  if (set(body.top_logprobs) && body.top_logprobs !== 0) return { param: 'top_logprobs', message: 'Log probabilities are not supported.' };
  const format = body.response_format as { type?: unknown } | null | undefined;
  if (set(format) && format?.type !== 'text') return { param: 'response_format', message: 'Only text responses are supported (response_format type "text").' };
  if (set(body.audio) || (Array.isArray(body.modalities) && body.modalities.some((m) => m !== 'text'))) return { param: set(body.audio) ? 'audio' : 'modalities', message: 'Only text output is supported.' };
  return undefined;
}

const text = (c: z.infer<typeof Content> | undefined) =>
  typeof c === 'string' ? c : Array.isArray(c) ? c.filter((p) => p.type === 'text').map((p) => p.text ?? '').join('') : '';

/** The agent's prompt with the client's own instructions after it, and the turns a model expects. */
export function completionPrompt(agent: Agent, body: CompletionRequest): { system: string; messages: ModelMessage[] } {
  const extra = body.messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => text(m.content)).filter(Boolean);
  const system = composeSystemPrompt(agent) + (extra.length ? `\n\n## Instructions from the client\n\n${extra.join('\n\n')}` : '');
  const messages: ModelMessage[] = body.messages
    .filter((m) => m.role === 'user' || m.role === 'assistant')
    .map((m) => ({ role: m.role as 'user' | 'assistant', content: text(m.content) }))
    .filter((m) => m.content !== '');
  if (!messages.length || messages[messages.length - 1]!.role !== 'user') throw errors.validation([{ path: 'messages', message: 'must end with a user message' }]);
  return { system, messages };
}

/** A started completion: the first model event already in hand, the rest to read. */
export type Completion = {
  agent: Agent;
  first: IteratorResult<ModelDelta, ModelResult>;
  rest: AsyncGenerator<ModelDelta, ModelResult>;
  /** Where the model's time went so far (filled in until the last event): Server-Timing. */
  timing: CallTiming;
};

export function completionService(deps: {
  agents: Pick<Store['agents'], 'bySlug'>; people: Pick<Store['people'], 'resolve'>; clock: Clock;
  gateway: Pick<ModelGateway, 'stream'>; admission: AdmissionService; providers: Pick<ProviderService, 'resolve'>;
}) {
  const { gateway, admission } = deps;
  return {
    /**
     * Admits the message and runs the model call up to its first event, so a failure before any
     * text (refused by admission, upstream error, timeout, spent budget) is thrown — an HTTP error —
     * rather than a stream that fails.
     */
    async start(actor: Actor, body: CompletionRequest): Promise<Completion> {
      const unsupported = unsupportedParameter(body);
      if (unsupported) throw appError('unsupported_parameter', unsupported.message, { fields: [{ path: unsupported.param, message: unsupported.message }] });
      const agent = await deps.agents.bySlug(body.model);
      if (!agent || agent.status === 'deleted' || !allows(actor, 'agent.message', agent)) throw new AppError(404, 'model_not_found', `No agent with the slug "${body.model}". GET /v1/models lists them.`);
      admission.assertActive(agent); // before anything is counted
      const prompt = completionPrompt(agent, body);
      // The installation's message-length limit, as on every way in (400 message_too_long, param "messages").
      for (const m of prompt.messages) if (m.role === 'user') await admission.checkLength(messageText(m), 'messages');
      await deps.providers.resolve(agent.model); // "no model configured" before the message is counted
      const personId = (await deps.people.resolve('api', `user:${actor.user.id}`, undefined, deps.clock.now().toISOString())).id;
      await admission.admit({ agent, personId, channel: 'openai', caller: actor.user });
      const timing = newCallTiming();
      const rest = gateway.stream({
        agent, model: agent.model, fallbackModel: agent.fallbackModel, system: prompt.system, messages: prompt.messages,
        temperature: body.temperature ?? agent.temperature, channel: 'openai', conversationId: null, personId, purpose: 'chat', timing,
        // A non-streamed call is asked of the provider unstreamed too: one response to read instead of an event stream.
        whole: !body.stream,
      });
      return { agent, first: await rest.next(), rest, timing };
    },
  };
}
export type CompletionService = ReturnType<typeof completionService>;
