import type { Clock, Store } from '../domain/ports.js';
import { ProviderError } from '../domain/ports.js';
import type { Agent, Channel, ChatMessage, Conversation, MediaItem } from '../domain/types.js';
import { AppError, appError, errors, providerFailureCode, type ErrorCode } from '../domain/errors.js';
import type { ProviderService } from './providers.js';
import type { MemoryService } from './memory.js';
import { BudgetStop } from './budget.js';
import type { AdmissionService } from './admission.js';
import { newCallTiming, type CallTiming, type ModelGateway } from '../llm/model-gateway.js';
import type { Toolbox } from '../tools/toolbox.js';
import type { Logger } from '../infra/logger.js';
import { CUT_BY_TAKEOVER, type InFlightReplies } from './takeover.js';
import type { HandoffService } from './handoff.js';
import type { MediaService } from './media.js';
import type { PriceService } from './prices.js';
import type { VoiceFormat, VoiceService } from './voice.js';
import type { KnowledgeService } from './knowledge.js';

export type UsageSummary = { inputTokens: number; outputTokens: number; costUsd: number };
export type ChatEvent =
  /** `human`: a person holds the conversation; `done` follows at once with no reply. */
  /** `transcript`: what was heard in the person's voice message (it is the stored message's text). */
  | { type: 'start'; conversationId: string; userMessageId: string; human?: true; transcript?: string }
  | { type: 'delta'; text: string }
  /** `timing`: the model's share of the call (for Server-Timing; absent when no model was called). */
  | { type: 'done'; messageId: string; reply: string; model: string; usage: UsageSummary; downgraded?: boolean; budgetStopped?: boolean; timing?: CallTiming;
    /** A person holds the conversation (taken over, or taken over mid-answer): the agent says nothing; `reply` is empty. */
    human?: true;
    /** The reply spoken (the agent's voice.reply asked for it and a TTS model is configured), attached to the reply. */
    voice?: { mediaId: string; mimeType: string } }
  /** `code` is a code of the error table (domain/errors.ts): the HTTP layer answers it with that code's status. */
  | { type: 'error'; code: ErrorCode; message: string; messageId: string | null };

export const POLITE_FAILURE = 'Sorry — I could not reach my language model just now. Please try again in a moment.';
/** Our own failure is not blamed on the model provider. */
export const INTERNAL_FAILURE = 'Sorry — something went wrong on our side. Please try again in a moment.';
/** The reply to a voice message when no speech-to-text model is configured (no model call). */
export const CANNOT_HEAR = 'Sorry — I can only read text for now. Could you type your message?';
/** Said before the answer when an image was sent to an agent whose model cannot look at images. */
export const CANNOT_SEE = "Sorry — I can't look at images, so I only read the text that came with it.";
/** The reply to a voice message in which nothing was heard (no model call). */
export const HEARD_NOTHING = "Sorry — I couldn't make out anything in that voice message. Could you say it again or type it?";
/** At most this many files in one message. */
export const MAX_MEDIA_PER_MESSAGE = 10;

export function chatService(deps: { store: Pick<Store, 'conversations' | 'people' | 'usage'>; gateway: ModelGateway; providers: ProviderService; clock: Clock; log: Logger; memory: MemoryService; admission: AdmissionService; toolbox: Toolbox;
  /** Answers being generated, so a takeover can cut them (services/takeover.ts). */
  replies?: InFlightReplies;
  handoff?: Pick<HandoffService, 'onPersonMessage' | 'quietFor'>;
  /** Voice notes and images (issue 16): checked, attached, transcribed, shown to vision models. */
  media?: Pick<MediaService, 'get' | 'attach' | 'transcribe' | 'canTranscribe' | 'forModel' | 'forMessages'>;
  /** Whether a model accepts images (the price table's `vision`), for the capabilities shown. */
  prices?: Pick<PriceService, 'acceptsImages'>;
  /** Spoken replies (the agent's voice.reply). */
  voice?: Pick<VoiceService, 'replyVoice'>;
  /** The knowledge base's passages for the message when the agent's knowledge.autoContext is on (issue 18). */
  knowledge?: Pick<KnowledgeService, 'autoContext'> }) {
  const { store, gateway, providers, clock, log, memory, admission, toolbox, handoff, media } = deps;

  /**
   * The files a message carries: each must exist, belong to this agent and this (canonical) person,
   * and not be attached to a message yet; otherwise 400 naming `mediaIds`, before anything is stored.
   */
  async function checkMedia(agent: Agent, pid: string, ids: string[]): Promise<MediaItem[]> {
    if (!ids.length) return [];
    const bad = (message: string) => errors.validation([{ path: 'mediaIds', message }]);
    if (ids.length > MAX_MEDIA_PER_MESSAGE) throw bad(`at most ${MAX_MEDIA_PER_MESSAGE} files in one message`);
    if (new Set(ids).size !== ids.length) throw bad('lists a file twice');
    if (!media) throw bad('files are not accepted here');
    const now = clock.now().toISOString();
    const items: MediaItem[] = [];
    for (const id of ids) {
      const item = await media.get(id);
      const owner = item && item.agentId === agent.id ? await store.people.canonical(item.personId, now) : undefined;
      if (!item || owner !== pid) throw bad(`no file ${JSON.stringify(id.slice(0, 64))} uploaded by you to this agent`);
      if (item.messageId !== null) throw bad(`file ${id} is already part of a message`);
      items.push(item);
    }
    return items;
  }

  /** The person a channel identity stands for: itself, or the phone it is linked to (`created`: stored just now). */
  function resolvePerson(p: { kind: string; externalId: string; displayName?: string | null }): Promise<{ id: string; created: boolean }> {
    return store.people.resolve(p.kind, p.externalId, p.displayName, clock.now().toISOString());
  }
  async function personId(p: { kind: string; externalId: string; displayName?: string | null }): Promise<string> {
    return (await resolvePerson(p)).id;
  }

  return {

    /** What this installation can do for the agent: hear voice messages, speak replies, look at images. */
    async capabilities(agent: Agent): Promise<{ transcription: boolean; speech: boolean; vision: boolean }> {
      const model = await providers.resolve(agent.model).then((t) => t.model, () => null);
      return {
        transcription: !!media?.canTranscribe(), speech: gateway.canSpeak(),
        vision: !!model && !!(await deps.prices?.acceptsImages(model)),
      };
    },

    /** Whether an agent can answer now, and if not, why (shown on the public chat page). */
    async availability(agent: Agent): Promise<{ available: boolean; notice: string | null }> {
      const why = admission.notAnswering(agent);
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
    async *send(a: { agent: Agent; person: { kind: string; externalId: string; displayName?: string | null }; channel: Channel; text: string; signal?: AbortSignal; sourceId?: string;
      /** The caller knows `sourceId` was never worked on before (an inbox message on its first claim): nothing to look up. */
      firstAttempt?: boolean;
      /** Uploaded voice notes and images (at most 10) the message carries; `text` may then be empty. */
      mediaIds?: string[];
      /** The format of a spoken reply: opus for Telegram and WhatsApp voice notes, mp3 (default) for the web. */
      voiceFormat?: VoiceFormat }): AsyncGenerator<ChatEvent> {
      const { agent } = a;
      // Reprocessing an inbound message (after a crash) must not store it twice nor pay for a second answer.
      const seen = a.sourceId && !a.firstAttempt ? await store.conversations.bySource(a.sourceId) : undefined;
      if (seen?.reply?.status === 'complete') {
        yield { type: 'start', conversationId: seen.message.conversationId, userMessageId: seen.message.id };
        yield { type: 'done', messageId: seen.reply.id, reply: seen.reply.content, model: agent.model ?? '', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } };
        return;
      }
      admission.assertActive(agent); // before anything is stored: a paused agent is an HTTP error, not a stream
      const mediaIds = a.mediaIds ?? [];
      // A message processed again (after a crash) is the stored one: its text may be empty when it was only files.
      if (!seen && !a.text.trim() && !mediaIds.length) throw errors.validation([{ path: 'text', message: mediaIds.length ? 'must not be empty' : 'must not be empty (or send mediaIds)' }]);
      // The installation's one length limit, before anything is stored: refused whole, never cut (Telegram
      // and WhatsApp send the person this error's message; the web chat and message API answer 400).
      if (!seen && a.text.trim()) await admission.checkLength(a.text);
      await providers.resolve(agent.model); // fail fast with "no model configured", before storing anything
      const seenConv = seen ? (await store.conversations.byId(seen.message.conversationId))! : undefined;
      const who = seenConv ? { id: seenConv.personId, created: false } : await resolvePerson(a.person);
      const pid = who.id;
      // A message processed again already has its files attached (and its transcript as its text).
      const items = seen ? [] : await checkMedia(agent, pid, mediaIds);
      const audio = items.filter((m) => m.kind === 'audio');
      const images = items.filter((m) => m.kind === 'image');
      const conv: Conversation = seenConv ?? await memory.session(agent, pid, a.channel, a.text, who.created ? a.person : undefined);
      const storeMessage = async (content: string) => {
        const m = await store.conversations.addMessage({ conversationId: conv.id, role: 'user', content, status: 'complete', sourceId: a.sourceId, channel: a.channel });
        if (items.length) await media!.attach(items.map((i) => i.id), { conversationId: conv.id, messageId: m.id });
        return m;
      };
      const storeUserMessage = () => storeMessage(a.text);
      /** A fixed answer, no model call (the person's voice message could not be heard, an image alone to a model without vision). */
      const fixedReply = async function* (userMsg: ChatMessage, reply: string, transcript?: string): AsyncGenerator<ChatEvent> {
        yield { type: 'start', conversationId: conv.id, userMessageId: userMsg.id, ...(transcript !== undefined ? { transcript } : {}) };
        const msg = await store.conversations.addMessage({ conversationId: conv.id, role: 'assistant', content: reply, status: 'complete', channel: a.channel });
        yield { type: 'delta', text: reply };
        yield { type: 'done', messageId: msg.id, reply, model: '', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } };
      };
      if (conv.mode === 'human') {
        // A person took this conversation over: the message is stored (the inbox shows it live), nobody
        // else answers, and it counts for nothing (no admission, no budget, no model call).
        const userMsg = seen?.message ?? await storeUserMessage();
        yield { type: 'start', conversationId: conv.id, userMessageId: userMsg.id, human: true };
        yield { type: 'done', messageId: '', reply: '', model: '', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }, human: true };
        return;
      }
      // Waiting for a person with the agent set to stay quiet (handoff.pauseWhileWaiting): the message is
      // kept, and nothing else happens — no model call, nothing counted, no reply.
      const quiet = await handoff?.quietFor(agent, pid);
      if (quiet) {
        const kept = seen?.message ?? await store.conversations.addMessage({ conversationId: quiet.id, role: 'user', content: a.text, status: 'complete', sourceId: a.sourceId, channel: a.channel });
        if (!seen && items.length) await media!.attach(items.map((i) => i.id), { conversationId: quiet.id, messageId: kept.id });
        yield { type: 'start', conversationId: quiet.id, userMessageId: kept.id };
        yield { type: 'done', messageId: kept.id, reply: '', model: '', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } };
        return;
      }
      // The admission step, once per message (a message processed again is checked, not counted twice).
      // A refusal by budget or plan is stored and answered below with the agent's polite stop message.
      // A voice message with nobody to hear it: kept with its audio, answered politely, no model call.
      if (audio.length && !media!.canTranscribe()) {
        yield* fixedReply(await storeUserMessage(), CANNOT_HEAR);
        return;
      }
      let refused = await admission.admit({ agent, personId: pid, channel: a.channel, repeat: !!seen })
        .then(() => undefined, (err: unknown) => { if (err instanceof BudgetStop) return err; throw err; });
      // What was said in the voice messages becomes the message's text (typed text follows it); metered
      // as `transcription` and stopped by the budget like any model call.
      let transcript: string | undefined;
      let heardFailure: unknown;
      if (audio.length && !refused) {
        const heard: string[] = [];
        try {
          for (const m of audio) heard.push((await media!.transcribe(m.id, { agent, personId: pid, channel: a.channel, conversationId: conv.id })).trim());
          transcript = heard.filter(Boolean).join('\n\n');
        } catch (err) {
          if (err instanceof BudgetStop) refused = err;
          else heardFailure = err;
        }
      }
      const content = [transcript ?? '', a.text.trim() ? a.text : ''].filter(Boolean).join('\n\n');
      const userMsg: ChatMessage = seen?.message ?? await storeMessage(content);
      const text = seen ? seen.message.content : content;
      const convId = conv.id;
      if (transcript !== undefined && !refused && !heardFailure && !text.trim() && !images.length) {
        yield* fixedReply(userMsg, HEARD_NOTHING, transcript);
        return;
      }
      // Whether the model called first (the agent's, or its downgrade model past the budget's threshold)
      // can look at images; asked once, and only when this message or an earlier turn has an image.
      let vision: Promise<boolean> | undefined;
      const sees = () => (vision ??= gateway.seesImages({ agent, personId: pid, model: agent.model, fallbackModel: agent.fallbackModel }));
      // An image for a model that cannot look at it: the person is told, and the caption alone is answered.
      const blind = images.length > 0 && !(await sees());
      if (blind && !text.trim() && !refused && !heardFailure) {
        yield* fixedReply(userMsg, CANNOT_SEE, transcript);
        return;
      }
      yield { type: 'start', conversationId: convId, userMessageId: userMsg.id, ...(transcript !== undefined ? { transcript } : {}) };
      // A trigger phrase asks for a person: this turn's answer is the agent's handoff message, not the model's.
      const handedOff = !seen?.reply && !refused && !heardFailure ? await handoff?.onPersonMessage(agent, conv, text) : undefined;
      if (handedOff) {
        const msg = await store.conversations.addMessage({ conversationId: convId, role: 'assistant', content: handedOff.reply, status: 'complete', channel: a.channel });
        yield { type: 'delta', text: handedOff.reply };
        yield { type: 'done', messageId: msg.id, reply: handedOff.reply, model: '', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } };
        return;
      }

      // A takeover while this answer is being generated cuts it (nothing more is sent after it).
      const inFlight = deps.replies?.track(convId);
      const signal = inFlight ? (a.signal ? AbortSignal.any([a.signal, inFlight.signal]) : inFlight.signal) : a.signal;

      let streamed = '';
      try {
        if (refused) throw refused;
        if (heardFailure) throw heardFailure;
        // The history with its images (this message's, and the newest of earlier turns) when the model sees.
        const prompt = await memory.context(agent, conv, media ? { source: media, sees, current: userMsg.id,
          ...(seen ? {} : { currentFiles: items.map((i) => ({ mediaId: i.id, kind: i.kind })) }) } : undefined);
        const known = await deps.knowledge?.autoContext(agent, text);
        if (known) prompt.system += `\n\n${known}`;
        // The person is told once when this message's images are not looked at: the model called first
        // cannot see (said now), or a fallback that cannot see answers in its place (said before its text).
        let told = blind;
        let unseen = false;
        if (blind) {
          streamed += CANNOT_SEE + '\n\n';
          yield { type: 'delta', text: CANNOT_SEE + '\n\n' };
        }
        const timing = newCallTiming();
        const gen = gateway.stream({
          timing,
          agent, model: agent.model, fallbackModel: agent.fallbackModel, system: prompt.system,
          messages: prompt.messages, temperature: agent.temperature, channel: a.channel, conversationId: convId, signal,
          ...(await toolbox.forCall({ agent, personId: conv.personId, conversationId: convId })),
          personId: conv.personId, purpose: 'chat',
          onImagesDropped: () => { if (images.length) unseen = true; },
        });
        let step = await gen.next();
        while (!step.done) {
          if (inFlight?.signal.aborted) throw inFlight.signal.reason;
          if (unseen && !told) {
            told = true;
            streamed += CANNOT_SEE + '\n\n';
            yield { type: 'delta', text: CANNOT_SEE + '\n\n' };
          }
          streamed += step.value.text;
          yield step.value;
          step = await gen.next();
        }
        const r = step.value;
        if (r.downgraded && !conv.downgraded) await store.conversations.markDowngraded(convId);
        const reply = blind || unseen ? `${CANNOT_SEE}\n\n${r.text}` : r.text;
        const msg = await store.conversations.addMessage({ conversationId: convId, role: 'assistant', content: reply, status: 'complete', channel: a.channel });
        const voice = await deps.voice?.replyVoice(agent, msg, conv.personId, a.channel, audio.length > 0, a.voiceFormat ?? 'mp3');
        yield { type: 'done', messageId: msg.id, reply, model: r.model, usage: { inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens, costUsd: r.costUsd }, downgraded: r.downgraded, timing, ...(voice ? { voice } : {}) };
      } catch (err) {
        if (inFlight?.signal.aborted) {
          // Taken over mid-answer: the partial reply is kept for the transcript, marked cut, and not delivered.
          const msg = await store.conversations.addMessage({ conversationId: convId, role: 'assistant', content: streamed, status: 'error', channel: a.channel, error: CUT_BY_TAKEOVER });
          yield { type: 'done', messageId: msg.id, reply: '', model: '', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }, human: true };
          return;
        }
        if (err instanceof BudgetStop && !streamed) {
          // No model call: the agent's polite stop message is the reply, on every channel.
          const msg = await store.conversations.addMessage({ conversationId: convId, role: 'assistant', content: err.reply, status: 'complete', channel: a.channel });
          yield { type: 'done', messageId: msg.id, reply: err.reply, model: '', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }, budgetStopped: true };
          return;
        }
        if (!(err instanceof ProviderError) && !(err instanceof AppError)) log.error('chat failed', { error: err, agentId: agent.id });
        const code: ErrorCode = err instanceof ProviderError ? providerFailureCode(err.kind) : err instanceof AppError ? err.code : 'internal_error';
        const msg = await store.conversations.addMessage({
          conversationId: convId, role: 'assistant', content: streamed, status: 'error', channel: a.channel,
          error: err instanceof Error ? err.message : String(err),
        });
        yield { type: 'error', code, message: err instanceof AppError ? err.message : code === 'internal_error' ? INTERNAL_FAILURE : POLITE_FAILURE, messageId: msg.id };
      } finally {
        inFlight?.done();
      }
    },

    /** Collects a whole reply (for the API and channels without streaming). Throws on failure. */
    async reply(a: { agent: Agent; person: { kind: string; externalId: string }; channel: Channel; text: string; sourceId?: string; mediaIds?: string[] }) {
      return collectReply(this.send(a));
    },
  };
}
export type ChatService = ReturnType<typeof chatService>;

/** The whole reply from a chat's events (for the API and channels without streaming). Throws on failure. */
export async function collectReply(events: AsyncIterable<ChatEvent>) {
  let conversationId = '';
  let transcript: string | undefined;
  for await (const ev of events) {
    if (ev.type === 'start') { conversationId = ev.conversationId; transcript = ev.transcript; }
    if (ev.type === 'done') return { reply: ev.reply, conversationId, usage: ev.usage, messageId: ev.messageId, ...(transcript !== undefined ? { transcript } : {}), ...(ev.voice ? { voice: ev.voice } : {}) };
    if (ev.type === 'error') throw appError(ev.code, ev.message); // the status is the code's, from the table
  }
  throw new Error('chat ended without a result');
}
