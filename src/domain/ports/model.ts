/** Model calls: the chat model and embeddings ports, and `ProviderError`, which tells a provider's failure apart from our bugs. */
import type { z } from 'zod';
import type { ProviderConfig, TokenUsage } from '../types.js';

/** Part of a person's message: text, or an image (its bytes, as the media service prepares them for a model). */
export type ModelContentPart = { type: 'text'; text: string } | { type: 'image'; data: Uint8Array; mimeType: string };
/** A turn of the conversation; a person's turn may carry images (sent only to models that accept them). */
export type ModelMessage = { role: 'user' | 'assistant'; content: string | ModelContentPart[] };
/** The text of a message (its text parts joined; images left out). */
export const messageText = (m: Pick<ModelMessage, 'content'>): string =>
  typeof m.content === 'string' ? m.content : m.content.map((p) => (p.type === 'text' ? p.text : '')).join('\n');
/** What an image is reckoned to cost in prompt tokens before the provider says (a detailed 1024×1024 image is ~765 on OpenAI, ~1,400 on Anthropic). */
export const IMAGE_TOKENS = 1500;
/** How many images a message carries. */
export const messageImages = (m: Pick<ModelMessage, 'content'>): number =>
  typeof m.content === 'string' ? 0 : m.content.filter((p) => p.type === 'image').length;
/** What stands in for a person's turn that was only images, when the model called cannot see them. */
export const UNSEEN_IMAGE = '[The person sent an image here, which you cannot see.]';
/**
 * The turns as a model without vision is sent them: each person's turn with images becomes its text
 * alone (a turn that was only images says so in words, so no turn is left empty).
 */
export const withoutImages = (messages: ModelMessage[]): ModelMessage[] => messages.map((m) => {
  if (typeof m.content === 'string' || messageImages(m) === 0) return m;
  const text = m.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n');
  return { role: m.role, content: text.trim() ? text : UNSEEN_IMAGE };
});
/**
 * A tool the model may call. `execute` runs our code with validated input and returns text for the
 * model; it must never throw for expected failures (return an explanation instead).
 */
export type ModelTool<S extends z.ZodType = z.ZodType> = {
  name: string;
  description: string;
  input: S;
  execute(input: z.infer<S>): Promise<string>;
};
export type ModelRequest = {
  provider: ProviderConfig;
  modelName: string; // the part after "provider:"
  system: string;
  messages: ModelMessage[];
  temperature: number;
  signal?: AbortSignal;
  tools?: ModelTool[];
  /** Answers (and records) a call to a tool the model was not offered; the text starts with "Error:". */
  refuse?: (toolName: string, input: unknown) => Promise<string>;
  maxOutputTokens?: number;
  /** Model round trips allowed when tools are called (default 4). */
  maxSteps?: number;
  /**
   * The caller wants the reply in one piece (a non-streamed `/v1` call): a reply without tools is asked
   * of the provider unstreamed, and arrives as one `text` event then `finish`. Same events, same order.
   */
  whole?: boolean;
};
export type ModelStreamEvent =
  | { type: 'text'; text: string }
  | { type: 'tool'; name: string; input: unknown; output: string }
  | { type: 'finish'; usage: TokenUsage; finishReason: string };

/** Failure of a model provider, kept apart from our own bugs (grammY's lesson). */
export class ProviderError extends Error {
  constructor(
    readonly kind: 'api' | 'network' | 'timeout' | 'not_configured',
    message: string,
    readonly provider: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** Text embeddings, for ranking memory by meaning as well as by words. */
export interface EmbeddingPort {
  embed(req: { provider: ProviderConfig; modelName: string; texts: string[] }): Promise<{ vectors: number[][]; tokens: number }>;
}

export interface ChatModelPort {
  /** Streams a reply; throws ProviderError when the provider fails (before or during the stream). */
  stream(req: ModelRequest): AsyncIterable<ModelStreamEvent>;
  /** The model names a provider offers, or undefined when it cannot be asked (offline, no such endpoint). */
  listModels(provider: ProviderConfig): Promise<string[] | undefined>;
}

/** Speech to text and text to speech (issue 16): one audio file heard, or one text spoken. */
export type TranscribeRequest = { provider: ProviderConfig; modelName: string; audio: Uint8Array; mimeType: string; signal?: AbortSignal };
export type TranscribeResult = { text: string; /** Seconds of audio, when the provider says. */ durationSeconds: number | null; language: string | null };
export type SpeakRequest = { provider: ProviderConfig; modelName: string; text: string; voice?: string; /** e.g. mp3 (default), opus, wav */ format?: 'mp3' | 'opus' | 'wav' | 'aac' | 'flac'; instructions?: string; signal?: AbortSignal };
export type SpeakResult = { audio: Uint8Array; mimeType: string };
export interface SpeechPort {
  /** Throws ProviderError when the provider fails (or offers no such model: `not_configured`). */
  transcribe(req: TranscribeRequest): Promise<TranscribeResult>;
  speak(req: SpeakRequest): Promise<SpeakResult>;
}
