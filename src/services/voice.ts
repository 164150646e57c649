/**
 * Spoken replies (issue 16): an assistant message read aloud through the metered gateway (purpose
 * `speech`), kept as media attached to that message, so the web chat's play button, Telegram's
 * sendVoice and WhatsApp's audio message all use the same file and a second request pays nothing.
 */
import type { Clock, Store } from '../domain/ports.js';
import type { Actor, Agent, Channel, ChatMessage } from '../domain/types.js';
import { appError, errors } from '../domain/errors.js';
import type { Logger } from '../infra/logger.js';
import type { ModelGateway } from '../llm/model-gateway.js';
import type { MediaService } from './media.js';
import { authorize } from './access.js';
import { findPublicAgent } from './conversations.js';

export type VoiceFormat = 'opus' | 'mp3';
export type SpokenReply = { mediaId: string; mimeType: string };

/** Whether this reply is to be spoken: the agent's `voice.reply`, and whether the person spoke. */
export const wantsVoice = (agent: Agent, personSpoke: boolean) =>
  agent.voice.reply === 'always' || (agent.voice.reply === 'when-spoken-to' && personSpoke);

export function voiceService(deps: {
  store: Pick<Store, 'agents' | 'conversations' | 'people' | 'media'>;
  gateway: Pick<ModelGateway, 'speak' | 'canSpeak'>;
  media: Pick<MediaService, 'intake' | 'attach'>;
  clock: Clock;
  log: Logger;
}) {
  const { store, gateway, media, clock, log } = deps;

  /** Speaks a stored assistant message and attaches the audio to it (throws BudgetStop, ProviderError, 413/415 from intake). */
  async function speakMessage(agent: Agent, msg: ChatMessage, personId: string, channel: Channel, format: VoiceFormat): Promise<SpokenReply> {
    const r = await gateway.speak({ agent, personId, channel, conversationId: msg.conversationId, text: msg.content, voice: agent.voice.voice, format });
    const item = await media.intake({ bytes: r.audio, claimedType: r.mimeType, agentId: agent.id, personId, conversationId: msg.conversationId });
    await media.attach([item.id], { conversationId: msg.conversationId, messageId: msg.id });
    return { mediaId: item.id, mimeType: item.mimeType };
  }

  /** The audio already made for a message, if any (a second request reuses it). */
  async function existing(messageId: string): Promise<SpokenReply | undefined> {
    const audio = (await store.media.forMessages([messageId])).find((m) => m.kind === 'audio');
    return audio && { mediaId: audio.id, mimeType: audio.mimeType };
  }

  /** The play button's request: the message's audio, made once (404 for anything but an assistant message of `agent`; 501 without TTS). */
  async function forMessage(agent: Agent, messageId: string, mayUse: (personId: string) => Promise<boolean>): Promise<SpokenReply> {
    const msg = await store.conversations.messageById(messageId);
    const conv = msg && (await store.conversations.byId(msg.conversationId));
    if (!msg || !conv || conv.agentId !== agent.id || !(await mayUse(conv.personId))) throw errors.notFound('Message');
    if (msg.role !== 'assistant' || msg.status !== 'complete' || !msg.content.trim()) throw errors.validation([{ path: 'messageId', message: 'must be a reply of the agent with text' }]);
    const had = await existing(msg.id);
    if (had) return had;
    if (!gateway.canSpeak()) throw appError('not_configured', 'No text-to-speech model is configured (SWITCHBOARD_TTS_MODEL); use the browser\'s speech synthesis.');
    return speakMessage(agent, msg, conv.personId, conv.channel, 'mp3');
  }

  return {
    canSpeak: () => gateway.canSpeak(),

    /**
     * A reply spoken for the chat's `done` event, when the agent asks for it and TTS is configured.
     * Never throws: a failed spoken reply leaves the text reply as it is (logged).
     */
    async replyVoice(agent: Agent, msg: ChatMessage, personId: string, channel: Channel, personSpoke: boolean, format: VoiceFormat = 'mp3'): Promise<SpokenReply | undefined> {
      if (!wantsVoice(agent, personSpoke) || !gateway.canSpeak() || !msg.content.trim()) return undefined;
      try {
        return await speakMessage(agent, msg, personId, channel, format);
      } catch (err) {
        log.warn('spoken reply failed', { agentId: agent.id, messageId: msg.id, error: (err as Error)?.message ?? String(err) });
        return undefined;
      }
    },

    /** POST /api/public/agents/:slug/messages/:messageId/speech: a message of the visitor's own conversation. */
    async forVisitor(actor: Actor | undefined, slug: string, visitor: () => { kind: string; externalId: string }, messageId: string) {
      const agent = await findPublicAgent(store, actor, slug);
      const v = visitor();
      const person = await store.people.upsert(v.kind, v.externalId);
      const mine = await store.people.canonical(person.id, clock.now().toISOString());
      return forMessage(agent, messageId, async (pid) => pid === mine || pid === person.id);
    },

    /** POST /api/agents/:id/messages/:messageId/speech: whoever may read the agent's conversations. */
    async forActor(actor: Actor, agentId: string, messageId: string) {
      const agent = await store.agents.byId(agentId);
      if (!agent) throw errors.notFound('Agent');
      authorize(actor, 'conversation.read', agent, 'Conversation');
      return forMessage(agent, messageId, async () => true);
    },
  };
}
export type VoiceService = ReturnType<typeof voiceService>;
