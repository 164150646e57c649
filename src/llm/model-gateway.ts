/**
 * The model gateway: every model call Switchboard makes — a chat reply, a summary, a compaction, a
 * routing decision, an OpenAI-compatible completion, an embedding, a transcription, a spoken
 * reply — goes through here, and each is handled the same way:
 *
 *   admitted  the agent's budget and its owner's standing are checked first (a spent budget throws
 *             BudgetStop and calls nothing; past the downgrade threshold the fallback model answers);
 *   reserved  the most the attempt may cost is reserved against the agent, customer and person;
 *   metered   the real cost is computed from the provider's token counts (estimated when it sends none);
 *   recorded  every attempt, failed or not, leaves exactly one usage row, and its reservation settles.
 *
 * Whether a *message* may be answered at all (agent status, plan messages, person caps) is the
 * admission step's question (services/admission.ts), asked once per entry point before this.
 */
import type { ChatModelPort, EmbeddingPort, ModelMessage, ModelTool, SpeechPort } from '../domain/ports.js';
import { IMAGE_TOKENS, ProviderError, messageImages, messageText, withoutImages } from '../domain/ports.js';
import type { Agent, Channel, ProviderConfig, TokenUsage, UsageRecord } from '../domain/types.js';
import type { BudgetService, Hold } from '../services/budget.js';
import type { MediaUsage, PriceService } from '../services/prices.js';
import type { ProviderService } from '../services/providers.js';
import { estimateTokens } from '../services/prompt.js';
import { maskSecrets } from '../infra/redact.js';
import type { Logger } from '../infra/logger.js';

export type ModelPurpose = UsageRecord['purpose'];

/** Who a call is for and how it is booked: the same for every kind of model call. */
export type Metering = {
  agent: Agent | null;
  /** The person whose daily cost cap the call counts against (none for summaries, routing without one). */
  personId?: string;
  channel: Channel;
  conversationId: string | null;
  purpose: ModelPurpose;
  /** Filled in as the call goes, for the Server-Timing header: where the model's time starts and ends. */
  timing?: CallTiming;
};

/**
 * The model's share of a call, as performance.now() instants and a sum: `modelStartAt` when the
 * first attempt's request is built, `firstEventAt` when the provider's first event arrived, and
 * `modelMs` the time spent inside the provider calls (every attempt, fallback included). Everything
 * else between request and answer is Switchboard's own time.
 */
export type CallTiming = { modelStartAt: number | null; firstEventAt: number | null; modelMs: number };
export const newCallTiming = (): CallTiming => ({ modelStartAt: null, firstEventAt: null, modelMs: 0 });

/** A text call: a reply streamed, or generated whole. */
export type TextCall = Metering & {
  /** The model to use (null: the default model) and the one tried when it fails before any text. */
  model: string | null;
  fallbackModel: string | null;
  system: string;
  messages: ModelMessage[];
  temperature: number;
  signal?: AbortSignal;
  tools?: ModelTool[];
  refuse?: (toolName: string, input: unknown) => Promise<string>;
  /**
   * Called before an attempt whose model cannot look at images (the price table's `vision`): that
   * attempt is sent the turns without their images (withoutImages). Vision is decided per attempt,
   * on the model actually called — the downgrade model or the fallback may see when the main model
   * does not, or the other way round.
   */
  onImagesDropped?: (model: string) => void;
  /** Asked for in one piece (ModelRequest.whole): a non-streamed `/v1` call. */
  whole?: boolean;
};

export type ModelResult = { text: string; usage: TokenUsage; costUsd: number; model: string; downgraded: boolean };
export type ModelDelta = { type: 'delta'; text: string };

type Target = { provider: ProviderConfig; modelName: string; model: string };

export function modelGateway(deps: {
  llm: ChatModelPort;
  providers: Pick<ProviderService, 'resolve'>;
  prices: Pick<PriceService, 'cost' | 'acceptsImages'>;
  /** Reserves before each attempt; settles after it and writes its usage row, in one transaction. */
  budget: Pick<BudgetService, 'plan' | 'reserve' | 'settle'>;
  log: Logger;
  /** Embeddings, when SWITCHBOARD_EMBEDDING_MODEL names a model. */
  embeddings?: { port: EmbeddingPort; model: string };
  /** Speech: to text with SWITCHBOARD_STT_MODEL, to audio with SWITCHBOARD_TTS_MODEL (each only when set). */
  speech?: { port: SpeechPort; sttModel?: string; ttsModel?: string };
}) {
  const { llm, providers, prices, budget, log } = deps;

  /** Admitted: a spent budget or a blocked owner refuses the call; past the downgrade threshold the fallback answers. */
  async function admitCall(m: Pick<Metering, 'agent' | 'personId'>, model: string | null, fallbackModel: string | null) {
    if (!m.agent) return { model, fallbackModel, downgraded: false };
    const plan = await budget.plan(m.agent, m.personId);
    if (plan.stop) throw plan.stop;
    return downgradedIf(plan.state === 'downgraded', m.agent, model, fallbackModel);
  }
  function downgradedIf(downgrade: boolean, agent: Agent, model: string | null, fallbackModel: string | null) {
    if (downgrade && agent.fallbackModel && model !== agent.fallbackModel) return { model: agent.fallbackModel, fallbackModel: null, downgraded: true };
    return { model, fallbackModel, downgraded: false };
  }

  /**
   * Reserved, metered, recorded: one attempt against one model. `open` reserves the most the attempt
   * may cost (a budget another call just spent refuses it here); the returned meter writes the
   * attempt's one usage row and settles the reservation with the real cost. Every kind of call —
   * stream, generate, embed, and later transcribe and speak — books its attempts through this.
   */
  async function open(m: Metering, target: Target, estimate: { inputTokens: number; maxOutputTokens: number; media?: MediaUsage }) {
    const hold: Hold | undefined = await budget.reserve({ agent: m.agent, personId: m.personId, model: target.model, ...estimate });
    const started = performance.now();
    let ttft: number | null = null;
    let settled = false;
    return {
      firstOutput() { if (ttft === null) ttft = performance.now() - started; },
      async record(status: 'ok' | 'error', u: TokenUsage, error: string | null, media?: MediaUsage): Promise<number> {
        const { costUsd } = await prices.cost(target.model, u, media);
        // The usage row and the settled reservation in one transaction (budget.settle writes both).
        const row = {
          agentId: m.agent?.id ?? null, conversationId: m.conversationId, messageId: null, channel: m.channel, purpose: m.purpose,
          provider: target.provider.name, model: target.model, inputTokens: u.inputTokens, outputTokens: u.outputTokens, costUsd,
          ttftMs: ttft === null ? null : Math.round(ttft), latencyMs: Math.round(performance.now() - started), status,
          error: error === null ? null : maskSecrets(error),
        };
        // Recorded again after a failed write (the error path retries): the reservation settles once.
        const first = !settled;
        settled = true;
        await budget.settle(first ? hold : undefined, m.agent, costUsd, row);
        return costUsd;
      },
    };
  }

  /** The targets to try: the (possibly downgraded) model, then its fallback when it resolves to another model. */
  async function targets(model: string | null, fallbackModel: string | null): Promise<Target[]> {
    const primary = await providers.resolve(model);
    const list = [primary];
    if (fallbackModel && fallbackModel !== primary.model) {
      const fb = await providers.resolve(fallbackModel).catch(() => undefined);
      if (fb) list.push(fb);
    }
    return list;
  }

  /**
   * Streams a reply. Tries the model and its fallback when the first fails before producing any
   * text; after text has been yielded no other model is spliced on. A provider failure is retried on
   * the fallback; anything else (our own bug, a refused reservation) ends the call as it is, never
   * relabelled as the provider's.
   */
  async function* stream(call: TextCall): AsyncGenerator<ModelDelta, ModelResult> {
    const admitted = await admitCall(call, call.model, call.fallbackModel);
    const candidates = await targets(admitted.model, admitted.fallbackModel);
    const maxOutputTokens = call.agent?.maxOutputTokens;
    const images = call.messages.reduce((n, msg) => n + messageImages(msg), 0);
    let lastError: unknown;
    for (const target of candidates) {
      // Vision is the called model's: one that cannot look at images gets the turns' text alone.
      const sees = images === 0 || await prices.acceptsImages(target.model);
      const messages = sees ? call.messages : withoutImages(call.messages);
      if (!sees) call.onImagesDropped?.(target.model);
      const promptText = call.system + messages.map((msg) => messageText(msg)).join('');
      // Each image sent is reserved at IMAGE_TOKENS, whichever turn of the history it comes from.
      const promptTokens = (estimateTokens(promptText) + (sees ? images : 0) * IMAGE_TOKENS) * (call.tools?.length ? 2 : 1) + 16;
      const meter = await open(call, target, { inputTokens: promptTokens, maxOutputTokens: maxOutputTokens ?? 1024 });
      let text = '';
      let usage: TokenUsage | undefined;
      const timing = call.timing;
      // The model's time: inside the provider's iterator only (not while the caller handles a delta).
      let mark = performance.now();
      if (timing) timing.modelStartAt ??= mark;
      try {
        for await (const ev of llm.stream({ provider: target.provider, modelName: target.modelName, system: call.system, messages, temperature: call.temperature, signal: call.signal, tools: call.tools, refuse: call.refuse, maxOutputTokens, whole: call.whole })) {
          if (timing) { const now = performance.now(); timing.modelMs += now - mark; timing.firstEventAt ??= now; }
          if (ev.type === 'text') {
            meter.firstOutput();
            text += ev.text;
            yield { type: 'delta', text: ev.text };
          } else if (ev.type === 'tool') {
            log.debug('tool called', { tool: ev.name, agentId: call.agent?.id, conversationId: call.conversationId });
          } else usage = ev.usage;
          mark = performance.now();
        }
        if (timing) timing.modelMs += performance.now() - mark;
        // A stream cut before its usage chunk still costs money: estimate rather than record zero.
        const u = usage && (usage.inputTokens || usage.outputTokens) ? usage : { inputTokens: estimateTokens(promptText), outputTokens: estimateTokens(text) };
        const costUsd = await meter.record('ok', u, usage ? null : 'usage estimated: provider reported none');
        return { text, usage: u, costUsd, model: target.model, downgraded: admitted.downgraded };
      } catch (err) {
        if (timing) timing.modelMs += performance.now() - mark;
        const partial = text ? { inputTokens: estimateTokens(promptText), outputTokens: estimateTokens(text) } : { inputTokens: 0, outputTokens: 0 };
        if (!(err instanceof ProviderError)) {
          // Ours, not the provider's: recorded as a failed attempt, and passed on unchanged (no fallback hides it).
          await meter.record('error', partial, `internal: ${(err as Error)?.message ?? String(err)}`);
          throw err;
        }
        lastError = err;
        await meter.record('error', partial, err.message);
        log.warn('model call failed', { provider: target.provider.name, model: target.model, kind: err.kind, status: err.status, error: maskSecrets(err.message), agentId: call.agent?.id });
        if (text) break; // text already reached the user; do not splice a second model's answer onto it
      }
    }
    throw lastError;
  }

  /** A failure of a speech call recorded as its attempt's error (the provider's words masked; ours marked internal). */
  const failure = (err: unknown) => (err instanceof ProviderError ? err.message : `internal: ${(err as Error)?.message ?? String(err)}`);

  return {
    stream,

    /**
     * Whether the model a text call would go to first can look at images: the agent's model, or its
     * fallback once the budget has passed the downgrade threshold (a stopped budget: the model asked
     * for, as the call is refused anyway). Callers use it to skip loading images nobody will see and
     * to tell the person; `stream` still decides per attempt.
     */
    async seesImages(m: Pick<Metering, 'agent' | 'personId'> & { model: string | null; fallbackModel: string | null }): Promise<boolean> {
      const plan = m.agent ? await budget.plan(m.agent, m.personId) : undefined;
      const first = m.agent ? downgradedIf(plan?.state === 'downgraded', m.agent, m.model, m.fallbackModel) : m;
      const target = await providers.resolve(first.model);
      return prices.acceptsImages(target.model);
    },

    /** The whole reply of a text call (summaries, compaction, routing): `stream` drained. */
    async generate(call: TextCall): Promise<ModelResult> {
      const gen = stream(call);
      let step = await gen.next();
      while (!step.done) step = await gen.next();
      return step.value;
    },

    /** Whether embeddings are configured (memory ranks by meaning only then). */
    canEmbed: () => !!deps.embeddings,

    /**
     * Vectors for `texts`, admitted against the agent's budget, reserved, metered and recorded like
     * any other call. Throws BudgetStop or ProviderError; callers decide whether to go on without.
     */
    async embed(m: Omit<Metering, 'purpose'> & { texts: string[] }): Promise<number[][]> {
      if (!deps.embeddings) throw new ProviderError('not_configured', 'No embedding model is configured (SWITCHBOARD_EMBEDDING_MODEL).', 'embeddings');
      if (!m.texts.length) return [];
      const call: Metering = { ...m, purpose: 'embedding' };
      await admitCall(call, null, null);
      const target = await providers.resolve(deps.embeddings.model);
      const meter = await open(call, target, { inputTokens: estimateTokens(m.texts.join('\n')) + 8, maxOutputTokens: 0 });
      try {
        const r = await deps.embeddings.port.embed({ provider: target.provider, modelName: target.modelName, texts: m.texts });
        meter.firstOutput();
        await meter.record('ok', { inputTokens: r.tokens, outputTokens: 0 }, null);
        return r.vectors;
      } catch (err) {
        await meter.record('error', { inputTokens: 0, outputTokens: 0 }, err instanceof ProviderError ? err.message : `internal: ${(err as Error)?.message ?? String(err)}`);
        throw err;
      }
    },

    /** Whether speech to text / text to speech are configured (SWITCHBOARD_STT_MODEL, SWITCHBOARD_TTS_MODEL). */
    canTranscribe: () => !!deps.speech?.sttModel,
    canSpeak: () => !!deps.speech?.ttsModel,

    /**
     * What is said in an audio file (purpose `transcription`): admitted against the budget, reserved
     * for its length (the known duration, else an estimate from its size, at most 10 minutes), priced
     * per minute of audio (the price table's perMinute) and recorded like any call. Throws BudgetStop,
     * or ProviderError (`not_configured` without SWITCHBOARD_STT_MODEL).
     */
    async transcribe(m: Omit<Metering, 'purpose'> & { audio: Uint8Array; mimeType: string; durationSeconds?: number | null; signal?: AbortSignal }): Promise<{ text: string; durationSeconds: number; costUsd: number; model: string }> {
      const model = deps.speech?.sttModel;
      if (!deps.speech || !model) throw new ProviderError('not_configured', 'No speech-to-text model is configured (SWITCHBOARD_STT_MODEL).', 'speech');
      const call: Metering = { ...m, purpose: 'transcription' };
      await admitCall(call, null, null);
      const target = await providers.resolve(model);
      const seconds = m.durationSeconds ?? Math.min(600, Math.max(1, m.audio.length / 4000)); // ~32 kbit/s when the length is unknown
      const meter = await open(call, target, { inputTokens: 0, maxOutputTokens: Math.ceil(seconds * 4), media: { audioSeconds: seconds } });
      try {
        const r = await deps.speech.port.transcribe({ provider: target.provider, modelName: target.modelName, audio: m.audio, mimeType: m.mimeType, signal: m.signal });
        meter.firstOutput();
        const heard = r.durationSeconds ?? seconds;
        const costUsd = await meter.record('ok', { inputTokens: 0, outputTokens: estimateTokens(r.text) }, null, { audioSeconds: heard });
        return { text: r.text, durationSeconds: heard, costUsd, model: target.model };
      } catch (err) {
        await meter.record('error', { inputTokens: 0, outputTokens: 0 }, failure(err));
        throw err;
      }
    },

    /**
     * A text spoken (purpose `speech`): admitted, reserved, priced per character (perMChars) and
     * recorded like any call. `format` opus for Telegram's sendVoice and WhatsApp voice notes.
     */
    async speak(m: Omit<Metering, 'purpose'> & { text: string; voice?: string; format?: 'mp3' | 'opus' | 'wav' | 'aac' | 'flac'; signal?: AbortSignal }): Promise<{ audio: Uint8Array; mimeType: string; costUsd: number; model: string }> {
      const model = deps.speech?.ttsModel;
      if (!deps.speech || !model) throw new ProviderError('not_configured', 'No text-to-speech model is configured (SWITCHBOARD_TTS_MODEL).', 'speech');
      const call: Metering = { ...m, purpose: 'speech' };
      await admitCall(call, null, null);
      const target = await providers.resolve(model);
      const characters = [...m.text].length;
      const inputTokens = estimateTokens(m.text);
      const meter = await open(call, target, { inputTokens, maxOutputTokens: 0, media: { characters } });
      try {
        const r = await deps.speech.port.speak({ provider: target.provider, modelName: target.modelName, text: m.text, voice: m.voice, format: m.format, signal: m.signal });
        meter.firstOutput();
        const costUsd = await meter.record('ok', { inputTokens, outputTokens: 0 }, null, { characters });
        return { audio: r.audio, mimeType: r.mimeType, costUsd, model: target.model };
      } catch (err) {
        await meter.record('error', { inputTokens: 0, outputTokens: 0 }, failure(err));
        throw err;
      }
    },
  };
}

export type ModelGateway = ReturnType<typeof modelGateway>;
