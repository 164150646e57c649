import { embedMany, streamText, stepCountIs, tool, zodSchema, AISDKError, APICallError, experimental_transcribe, experimental_generateSpeech, NoTranscriptGeneratedError, type EmbeddingModel, type ModelMessage as SdkMessage, type LanguageModel, type ToolSet } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ProviderError, messageText, type ChatModelPort, type EmbeddingPort, type ModelRequest, type ModelStreamEvent, type ModelTool, type SpeechPort } from '../domain/ports.js';
import type { ProviderConfig } from '../domain/types.js';
import { nodeFetch } from '../infra/node-fetch.js';

/**
 * Builds the AI SDK model for a provider config. OpenAI goes through /chat/completions. The provider
 * packages send their requests through `nodeFetch` (node:http with keep-alive, infra/node-fetch.ts)
 * rather than undici's fetch.
 */
function buildLanguageModel(p: ProviderConfig, model: string): LanguageModel {
  switch (p.kind) {
    case 'openai':
      return createOpenAI({ apiKey: p.apiKey ?? 'not-needed', ...(p.baseUrl ? { baseURL: p.baseUrl } : {}), fetch: nodeFetch }).chat(model);
    case 'anthropic':
      return createAnthropic({ apiKey: p.apiKey ?? '', ...(p.baseUrl ? { baseURL: p.baseUrl } : {}), fetch: nodeFetch })(model);
    case 'openai-compatible':
      return createOpenAICompatible({ name: p.name, baseURL: p.baseUrl ?? '', apiKey: p.apiKey ?? undefined, includeUsage: true, fetch: nodeFetch }).chatModel(model);
  }
}

/**
 * Provider clients are built once per provider settings and model, not on every call (building one
 * allocates the client, its headers and its URL helpers). The key holds everything a client is made
 * of — kind, name, address and key — so a changed provider gets a new client; the map is bounded.
 */
const MODEL_CACHE_MAX = 200;
const models = new Map<string, LanguageModel>();
function languageModel(p: ProviderConfig, model: string): LanguageModel {
  const key = JSON.stringify([p.kind, p.name, p.baseUrl, p.apiKey, model]);
  let m = models.get(key);
  if (!m) {
    m = buildLanguageModel(p, model);
    if (models.size >= MODEL_CACHE_MAX) models.delete(models.keys().next().value!);
    models.set(key, m);
  }
  return m;
}

/** A failure of the connection itself (refused, reset, cut mid-body), as Node and undici report it. */
function isNetworkFailure(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code ?? (e as { cause?: { code?: unknown } })?.cause?.code;
  if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return true;
  return e instanceof TypeError && /^(fetch failed|terminated|other side closed)$/i.test(e.message);
}

/**
 * The provider's failure as a ProviderError: what it answered (api), the connection (network), or
 * its silence (timeout). Anything else is ours — a bug in our code or a tool — and is passed on
 * unchanged, never relabelled as the provider's (grammY's lesson).
 */
function toProviderError(err: unknown, provider: string): unknown {
  if (err instanceof ProviderError) return err;
  const e = (err as { lastError?: unknown })?.lastError ?? err; // RetryError wraps the last failure
  if (APICallError.isInstance(e)) {
    const status = e.statusCode;
    return new ProviderError(status ? 'api' : 'network', `${provider} answered ${status ?? 'no status'}: ${e.message}`, provider, status);
  }
  const name = (e as Error)?.name;
  if (name === 'AbortError' || name === 'TimeoutError') return new ProviderError('timeout', `${provider} did not answer in time`, provider);
  if (isNetworkFailure(e)) return new ProviderError('network', `${provider} call failed: ${(e as Error).message}`, provider);
  // The SDK could not read what the provider sent (malformed JSON, an invalid stream part): the provider's doing.
  if (AISDKError.isInstance(e)) return new ProviderError('api', `${provider} sent a response that could not be read: ${e.message}`, provider);
  return err;
}

/**
 * Each tool's input schema as the AI SDK's Schema, made once per zod schema: the SDK turns it into
 * JSON Schema on first use and keeps that, so a tool whose schema is a module constant (the memory
 * and workspace tools) is not converted again on every call (it was, per message, in the inbound
 * bench's profile). Schemas built per call (plugins) are simply not found again and are collected.
 */
const schemas = new WeakMap<object, ReturnType<typeof zodSchema>>();
function inputSchema(input: ModelTool['input']) {
  let s = schemas.get(input);
  if (!s) { s = zodSchema(input as Parameters<typeof zodSchema>[0]); schemas.set(input, s); }
  return s;
}

/** A tool as the provider model is told of it (what streamText builds from a tool set). */
type ToolDef = { type: 'function'; name: string; description: string; inputSchema: Awaited<ReturnType<typeof zodSchema>['jsonSchema']> };
async function toolDefs(tools: ModelTool[]): Promise<ToolDef[]> {
  return Promise.all(tools.map(async (t) => ({ type: 'function' as const, name: t.name, description: t.description, inputSchema: await inputSchema(t.input).jsonSchema })));
}

/**
 * Runs the tool calls of a first step made without streamText, as streamText would: input parsed and
 * checked against the tool's schema, a tool that throws answers "Tool failed: …", a tool the model was
 * not offered is refused (`req.refuse`). Returns what the model is told of each.
 */
async function runToolCalls(req: ModelRequest, calls: { toolCallId: string; toolName: string; input: string }[]) {
  const out: { toolCallId: string; toolName: string; input: unknown; output: string; error: boolean }[] = [];
  for (const c of calls) {
    let input: unknown;
    try { input = c.input.trim() ? JSON.parse(c.input) : {}; } catch { input = c.input; }
    const t = req.tools?.find((x) => x.name === c.toolName);
    if (!t) {
      out.push({ ...c, input, output: req.refuse ? await req.refuse(c.toolName, input) : `Error: there is no tool named "${c.toolName}".`, error: true });
      continue;
    }
    const checked = t.input.safeParse(input);
    if (!checked.success) {
      out.push({ ...c, input, output: `Invalid input for tool ${t.name}: ${checked.error.message}`, error: true });
      continue;
    }
    let output: string;
    try { output = await t.execute(checked.data); } catch (e) { output = `Tool failed: ${(e as Error)?.message ?? String(e)}`; }
    out.push({ ...c, input: checked.data, output, error: false });
  }
  return out;
}

/** Our tools as AI SDK tools; a tool that throws answers the model with the error instead of ending the turn. */
function toolSet(tools: ModelTool[]): ToolSet {
  return Object.fromEntries(tools.map((t) => [t.name, tool({
    description: t.description,
    inputSchema: inputSchema(t.input),
    execute: async (input: unknown) => {
      try { return await t.execute(input); } catch (e) { return `Tool failed: ${(e as Error)?.message ?? String(e)}`; }
    },
  })]));
}

/** GET <base>/models on OpenAI-style and Anthropic APIs (every page of Anthropic's); undefined when the provider cannot say. */
function modelLister() {
  // Not cached here: services/model-catalog.ts keeps each provider's answer and forgets it when the provider changes.
  return async (p: ProviderConfig): Promise<string[] | undefined> => {
    const base = (p.baseUrl ?? (p.kind === 'anthropic' ? 'https://api.anthropic.com/v1' : 'https://api.openai.com/v1')).replace(/\/+$/, '');
    const headers: Record<string, string> = p.kind === 'anthropic'
      ? { 'x-api-key': p.apiKey ?? '', 'anthropic-version': '2023-06-01' }
      : p.apiKey ? { authorization: `Bearer ${p.apiKey}` } : {};
    let models: string[] | undefined;
    try {
      // Anthropic's models API pages (20 by default, up to 1,000 a page, `has_more` + `last_id`); OpenAI's answers at once.
      const all: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 10; page++) {
        const query = p.kind === 'anthropic' ? `?limit=1000${after ? `&after_id=${encodeURIComponent(after)}` : ''}` : '';
        const res = await fetch(`${base}/models${query}`, { headers, signal: AbortSignal.timeout(3000) });
        if (!res.ok) { models = undefined; break; }
        const body = (await res.json()) as { data?: { id?: unknown }[]; has_more?: unknown; last_id?: unknown };
        if (!Array.isArray(body.data)) { models = undefined; break; }
        all.push(...body.data.map((m) => String(m.id)));
        models = all;
        if (p.kind !== 'anthropic' || body.has_more !== true || typeof body.last_id !== 'string') break;
        after = body.last_id;
      }
    } catch { models = undefined; }
    return models;
  };
}

/** Our messages as the AI SDK's: a person's images as image parts. */
function sdkMessages(messages: ModelRequest['messages']): SdkMessage[] {
  return messages.map((m): SdkMessage => (m.role === 'assistant' ? { role: 'assistant', content: messageText(m) }
    : { role: 'user', content: typeof m.content === 'string' ? m.content : m.content.map((p) => (p.type === 'text' ? { type: 'text' as const, text: p.text } : { type: 'image' as const, image: p.data, mediaType: p.mimeType })) }));
}

type ModelV3 = Extract<LanguageModel, { specificationVersion: 'v3' }>;
type StreamPartV3 = Awaited<ReturnType<ModelV3['doStream']>>['stream'] extends ReadableStream<infer P> ? P : never;

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason as Error); }, { once: true });
});

/** The provider model's own call options for a reply without tools: our prompt in the AI SDK's (v3) shape. */
function directOptions(req: ModelRequest, signal: AbortSignal) {
  const prompt = [
    ...(req.system ? [{ role: 'system' as const, content: req.system }] : []),
    ...req.messages.map((m) => (m.role === 'assistant'
      ? { role: 'assistant' as const, content: [{ type: 'text' as const, text: messageText(m) }] }
      : {
        role: 'user' as const,
        content: typeof m.content === 'string' ? [{ type: 'text' as const, text: m.content }]
          // Images as file parts: the provider package encodes them (OpenAI: image_url data URLs; Anthropic: base64 image blocks).
          : m.content.map((p) => (p.type === 'text' ? { type: 'text' as const, text: p.text } : { type: 'file' as const, data: p.data, mediaType: p.mimeType })),
      })),
  ];
  return { prompt, temperature: req.temperature, ...(req.maxOutputTokens ? { maxOutputTokens: req.maxOutputTokens } : {}), abortSignal: signal };
}

/** `call` tried again on a retryable API error, as streamText would: up to `maxRetries` more times, waiting 2 s, 4 s… or what the provider asks (under a minute). */
async function withRetries<T>(call: () => PromiseLike<T>, signal: AbortSignal, maxRetries: number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= maxRetries || signal.aborted || !APICallError.isInstance(err) || !err.isRetryable) throw err;
      const h = err.responseHeaders ?? {};
      const hinted = Number(h['retry-after-ms']) || Number(h['retry-after']) * 1000;
      await sleep(hinted > 0 && hinted < 60_000 ? hinted : 2000 * 2 ** attempt, signal);
    }
  }
}

/**
 * A reply's first step goes straight to the provider model's own `doStream`, with the tools offered
 * when there are any: the provider package still builds the request, reads the event stream and
 * reports the provider's errors, while streamText's orchestration — the step and tool loop, teeing
 * the stream for its many consumers, telemetry — is skipped. For a plain reply that orchestration
 * was most of the model call's CPU time (bench/proxy.ts, /work/notes/profile-before.txt; for a
 * channel message with the default tools, web streams were the largest item of bench/inbound.ts's
 * profile). Only a step that calls tools hands the rest of the reply to streamText. Retries as streamText makes them: a
 * retryable API error before the stream starts is tried again up to `maxRetries` times, waiting 2 s,
 * 4 s… (a `retry-after-ms`/`retry-after` header under a minute is honoured instead). A reply wanted in
 * one piece (`whole`, a non-streamed /v1 call) goes to `doGenerate` the same way: one JSON response to
 * read instead of an event stream to decode and parse.
 */
async function* directStream(model: ModelV3, req: ModelRequest, signal: AbortSignal, maxRetries: number, tools?: ToolDef[]): AsyncGenerator<StreamPartV3> {
  const options = { ...directOptions(req, signal), ...(tools?.length ? { tools, toolChoice: { type: 'auto' as const } } : {}) };
  const started = await withRetries(() => model.doStream(options), signal, maxRetries);
  const reader = started.stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) { finished = true; return; }
      yield value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

export function aiSdkChatModel(opts: { timeoutMs: number; maxRetries: number }): ChatModelPort {
  return {
    listModels: modelLister(),
    async *stream(req: ModelRequest): AsyncIterable<ModelStreamEvent> {
      // The deadline is for silence, not length: a provider that says nothing for timeoutMs (before the
      // first token or mid-stream) is given up on, while a long reply that keeps streaming is not cut
      // off. Ten times the deadline bounds a whole call, tools included.
      const model = languageModel(req.provider, req.modelName);
      if (req.whole && !req.tools?.length && typeof model === 'object' && model.specificationVersion === 'v3') {
        // In one piece: the provider's unstreamed response (one JSON body to read, no event stream to parse).
        // Nothing arrives before the whole reply, so the silence deadline cannot tell a slow long reply from
        // a dead provider here: only the bound on a whole call (ten times the deadline) applies.
        const bound = AbortSignal.timeout(opts.timeoutMs * 10);
        const bounded = req.signal ? AbortSignal.any([bound, req.signal]) : bound;
        try {
          const r = await withRetries(() => model.doGenerate(directOptions(req, bounded)), bounded, opts.maxRetries);
          const text = r.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
          if (text) yield { type: 'text', text };
          const u = r.usage;
          yield { type: 'finish', finishReason: r.finishReason.unified, usage: { inputTokens: u.inputTokens.total ?? 0, outputTokens: u.outputTokens.total ?? 0, cachedInputTokens: u.inputTokens.cacheRead ?? 0 } };
        } catch (err) {
          if (bounded.aborted && !(err instanceof ProviderError)) throw new ProviderError('timeout', `${req.provider.name} did not answer in time`, req.provider.name);
          throw toProviderError(err, req.provider.name);
        }
        return;
      }
      const idle = new AbortController();
      // Unref'd: a stream its reader abandons mid-step (a closed chat) leaves no timer holding the process open.
      const arm = () => setTimeout(() => idle.abort(), opts.timeoutMs).unref();
      let timer = arm();
      const alive = () => { clearTimeout(timer); timer = arm(); };
      const signal = AbortSignal.any([idle.signal, AbortSignal.timeout(opts.timeoutMs * 10), ...(req.signal ? [req.signal] : [])]);
      // The first step goes straight to the provider model, tools or not: most replies are text alone
      // and end there. Only when the model calls a tool are the calls run here and the remaining steps
      // left to streamText, which is then given the first step in its messages.
      let first: { text: string; calls: { toolCallId: string; toolName: string; input: string }[]; usage: { inputTokens: number; outputTokens: number; cachedInputTokens: number } } | undefined;
      if (typeof model === 'object' && model.specificationVersion === 'v3') {
        const tools = req.tools?.length ? await toolDefs(req.tools) : undefined;
        const step = { text: '', calls: [] as { toolCallId: string; toolName: string; input: string }[], usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 } };
        let finish: ModelStreamEvent | undefined;
        try {
          for await (const part of directStream(model, req, signal, opts.maxRetries, tools)) {
            alive();
            if (part.type === 'text-delta') {
              if (part.delta) { step.text += part.delta; yield { type: 'text', text: part.delta }; }
            } else if (part.type === 'tool-call') {
              step.calls.push({ toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
            } else if (part.type === 'error') {
              if (!(part.error instanceof Error)) throw new ProviderError('api', `${req.provider.name} streamed an error: ${JSON.stringify(part.error)?.slice(0, 500)}`, req.provider.name);
              throw part.error;
            } else if (part.type === 'finish') {
              const u = part.usage;
              step.usage = { inputTokens: u.inputTokens.total ?? 0, outputTokens: u.outputTokens.total ?? 0, cachedInputTokens: u.inputTokens.cacheRead ?? 0 };
              finish = { type: 'finish', finishReason: part.finishReason.unified, usage: step.usage };
            }
          }
        } catch (err) {
          clearTimeout(timer);
          if (signal.aborted && !(err instanceof ProviderError)) throw new ProviderError('timeout', `${req.provider.name} did not answer in time`, req.provider.name);
          throw toProviderError(err, req.provider.name);
        }
        if (!step.calls.length) {
          clearTimeout(timer);
          if (finish) yield finish;
          return;
        }
        first = step;
      }
      // A first step that called tools: they run now, and streamText takes the rest of the steps.
      const ran = first ? await runToolCalls(req, first.calls) : [];
      for (const r of ran) yield { type: 'tool', name: r.toolName, input: r.input, output: r.output };
      const firstMessages: SdkMessage[] = first ? [
        { role: 'assistant', content: [...(first.text ? [{ type: 'text' as const, text: first.text }] : []), ...ran.map((r) => ({ type: 'tool-call' as const, toolCallId: r.toolCallId, toolName: r.toolName, input: r.input }))] },
        { role: 'tool', content: ran.map((r) => ({ type: 'tool-result' as const, toolCallId: r.toolCallId, toolName: r.toolName, output: r.error ? { type: 'error-text' as const, value: r.output } : { type: 'text' as const, value: r.output } })) },
      ] : [];
      const result = streamText({
        model,
        system: req.system,
        messages: [...sdkMessages(req.messages), ...firstMessages],
        temperature: req.temperature,
        ...(req.maxOutputTokens ? { maxOutputTokens: req.maxOutputTokens } : {}),
        ...(req.tools?.length ? {
          tools: toolSet(req.tools),
          stopWhen: stepCountIs(Math.max(1, (req.maxSteps ?? 4) - (first ? 1 : 0))),
          // A call to a tool the model was not offered: the next step hears our refusal ("Error: …") and goes on.
          prepareStep: async ({ steps, messages }) => {
            const fixes = new Map<string, string>();
            for (const part of steps.at(-1)?.content ?? []) {
              if (part.type === 'tool-error' && !req.tools!.some((t) => t.name === part.toolName)) {
                fixes.set(part.toolCallId, req.refuse ? await req.refuse(part.toolName, part.input) : `Error: there is no tool named "${part.toolName}".`);
              }
            }
            if (!fixes.size) return undefined;
            return {
              messages: messages.map((m) => (m.role !== 'tool' ? m : {
                ...m, content: m.content.map((c) => (c.type === 'tool-result' && fixes.has(c.toolCallId) ? { ...c, output: { type: 'error-text' as const, value: fixes.get(c.toolCallId)! } } : c)),
              })),
            };
          },
        } : {}),
        maxRetries: opts.maxRetries,
        abortSignal: signal,
        onError: () => {}, // errors are surfaced through the stream below
      });
      try {
        for await (const part of result.fullStream) {
          alive();
          if (part.type === 'text-delta') {
            if (part.text) yield { type: 'text', text: part.text };
          } else if (part.type === 'tool-result') {
            yield { type: 'tool', name: part.toolName, input: part.input, output: String(part.output) };
          } else if (part.type === 'error') {
            // An error chunk the provider streamed arrives as its plain payload, not an Error: it is the provider's.
            if (!(part.error instanceof Error)) throw new ProviderError('api', `${req.provider.name} streamed an error: ${JSON.stringify(part.error)?.slice(0, 500)}`, req.provider.name);
            throw part.error;
          } else if (part.type === 'abort') {
            throw new ProviderError('timeout', `${req.provider.name} did not answer in time`, req.provider.name);
          } else if (part.type === 'finish') {
            const u = part.totalUsage;
            yield {
              type: 'finish',
              finishReason: part.finishReason,
              // The first step's tokens (made before streamText) count too.
              usage: {
                inputTokens: (u.inputTokens ?? 0) + (first?.usage.inputTokens ?? 0),
                outputTokens: (u.outputTokens ?? 0) + (first?.usage.outputTokens ?? 0),
                cachedInputTokens: (u.inputTokenDetails?.cacheReadTokens ?? 0) + (first?.usage.cachedInputTokens ?? 0),
              },
            };
          }
        }
      } catch (err) {
        if (signal.aborted && !(err instanceof ProviderError)) throw new ProviderError('timeout', `${req.provider.name} did not answer in time`, req.provider.name);
        throw toProviderError(err, req.provider.name);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function embeddingModel(p: ProviderConfig, model: string): EmbeddingModel {
  switch (p.kind) {
    case 'openai':
      return createOpenAI({ apiKey: p.apiKey ?? 'not-needed', ...(p.baseUrl ? { baseURL: p.baseUrl } : {}), fetch: nodeFetch }).embeddingModel(model);
    case 'openai-compatible':
      return createOpenAICompatible({ name: p.name, baseURL: p.baseUrl ?? '', apiKey: p.apiKey ?? undefined, fetch: nodeFetch }).embeddingModel(model);
    case 'anthropic':
      throw new ProviderError('not_configured', 'Anthropic offers no embedding models; choose an OpenAI or OpenAI-compatible one.', p.name);
  }
}

export function aiSdkEmbeddings(opts: { timeoutMs: number; maxRetries: number }): EmbeddingPort {
  return {
    async embed(req) {
      try {
        const r = await embedMany({ model: embeddingModel(req.provider, req.modelName), values: req.texts, maxRetries: opts.maxRetries, abortSignal: AbortSignal.timeout(opts.timeoutMs) });
        return { vectors: r.embeddings, tokens: r.usage?.tokens ?? 0 };
      } catch (err) {
        throw toProviderError(err, req.provider.name);
      }
    },
  };
}

/**
 * Speech through the AI SDK's transcription and speech APIs (`experimental_transcribe`,
 * `experimental_generateSpeech`). OpenAI and any OpenAI-compatible server with /audio/transcriptions
 * and /audio/speech (a local faster-whisper, Kokoro…) go through the OpenAI provider with their base
 * URL; Anthropic has no speech models.
 */
function openAIFor(p: ProviderConfig) {
  if (p.kind === 'anthropic') throw new ProviderError('not_configured', 'Anthropic offers no speech models; choose an OpenAI or OpenAI-compatible one.', p.name);
  return createOpenAI({ apiKey: p.apiKey ?? 'not-needed', ...(p.baseUrl ? { baseURL: p.baseUrl } : {}), name: p.name });
}
const SPEECH_TYPES: Record<string, string> = { mp3: 'audio/mpeg', opus: 'audio/ogg', wav: 'audio/wav', aac: 'audio/aac', flac: 'audio/flac' };

export function aiSdkSpeech(opts: { timeoutMs: number; maxRetries: number }): SpeechPort {
  return {
    async transcribe(req) {
      try {
        const r = await experimental_transcribe({
          model: openAIFor(req.provider).transcription(req.modelName), audio: req.audio, maxRetries: opts.maxRetries,
          abortSignal: AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), ...(req.signal ? [req.signal] : [])]),
        });
        return { text: r.text, durationSeconds: r.durationInSeconds ?? null, language: r.language ?? null };
      } catch (err) {
        if (NoTranscriptGeneratedError.isInstance(err)) return { text: '', durationSeconds: null, language: null };
        throw toProviderError(err, req.provider.name);
      }
    },
    async speak(req) {
      const format = req.format ?? 'mp3';
      try {
        const r = await experimental_generateSpeech({
          model: openAIFor(req.provider).speech(req.modelName), text: req.text, ...(req.voice ? { voice: req.voice } : {}),
          outputFormat: format, ...(req.instructions ? { instructions: req.instructions } : {}), maxRetries: opts.maxRetries,
          abortSignal: AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), ...(req.signal ? [req.signal] : [])]),
        });
        return { audio: r.audio.uint8Array, mimeType: SPEECH_TYPES[format] ?? r.audio.mediaType };
      } catch (err) {
        throw toProviderError(err, req.provider.name);
      }
    },
  };
}
