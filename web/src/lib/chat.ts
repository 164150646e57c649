import type { Message, MessageMedia } from './api';

/** A voice note or image on a message: stored (mediaId) or, just sent, still a local preview (src). */
export interface ChatMedia extends Partial<MessageMedia> {
  kind: 'audio' | 'image';
  /** A blob: URL of the file as recorded or picked, until the stored message replaces it. */
  src?: string;
}

/** A message as the chat view shows it: stored messages plus the reply being streamed. */
export interface ChatItem {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  status: 'complete' | 'error' | 'streaming';
  createdAt?: string;
  /** A reply written by a person of the support side: the name they go by (shown instead of the agent's). */
  authorName?: string;
  /** Voice notes and images attached to the message. */
  media?: ChatMedia[];
  /** The person's voice note is being transcribed (shown until `start.transcript` arrives). */
  transcribing?: boolean;
}

export function toChatItem(m: Message): ChatItem {
  const authorName = m.author?.type === 'human' ? (m.author.name ?? 'Support') : undefined;
  return {
    id: m.id,
    role: m.role,
    content: m.content,
    status: m.status,
    createdAt: m.createdAt,
    ...(authorName ? { authorName } : {}),
    ...(m.media?.length ? { media: m.media } : {}),
  };
}

/**
 * The recording formats to try, best first. MP4 (Chromium 126+, Safari) before WebM: a WebM that
 * MediaRecorder streams has clusters of unknown size, which the server's audio reader refuses today
 * (415); Firefox records WebM/Ogg only.
 */
const RECORDING_TYPES = ['audio/mp4', 'audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus'];

export function recordingType(): string | undefined {
  if (typeof MediaRecorder === 'undefined') return undefined;
  return RECORDING_TYPES.find((t) => MediaRecorder.isTypeSupported(t));
}

/** The browser's SpeechRecognition constructor (Chromium and Safari prefix it), if any. */
export function speechRecognition(): (new () => SpeechRecognitionLike) | undefined {
  if (typeof window === 'undefined') return undefined;
  const w = window as unknown as { SpeechRecognition?: new () => SpeechRecognitionLike; webkitSpeechRecognition?: new () => SpeechRecognitionLike };
  return w.SpeechRecognition ?? w.webkitSpeechRecognition;
}

/** The part of the Web Speech API the chat uses (not in TypeScript's DOM library). */
export interface SpeechRecognitionLike {
  lang: string;
  interimResults: boolean;
  continuous: boolean;
  onresult: ((e: { resultIndex: number; results: ArrayLike<ArrayLike<{ transcript: string }> & { isFinal: boolean }> }) => void) | null;
  onerror: ((e: { error: string }) => void) | null;
  onend: (() => void) | null;
  start(): void;
  stop(): void;
  abort(): void;
}

/** "0:07", "1:23": a recording's elapsed time. */
export function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The accepted image types (the server sniffs the bytes again; anything else is 415). */
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'];
export const MAX_ATTACHMENTS = 10;

const AUTOPLAY_KEY = 'switchboard.voice.autoplay';
/** The auto-play choice as remembered in this browser; null when never chosen. */
export function storedAutoplay(): boolean | null {
  try {
    const v = localStorage.getItem(AUTOPLAY_KEY);
    return v === null ? null : v === '1';
  } catch {
    return null;
  }
}
export function storeAutoplay(on: boolean): void {
  try {
    localStorage.setItem(AUTOPLAY_KEY, on ? '1' : '0');
  } catch {
    /* private mode: the choice lasts for the page */
  }
}
