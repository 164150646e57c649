/**
 * Issue 16 on the messaging channels: voice notes, audio and photos sent on Telegram, WhatsApp (Cloud
 * API) and Twilio are downloaded by the inbox worker (never in the webhook), stored once, heard
 * (transcribed, metered) or seen (an image part for the model), and answered — in text, and as a voice
 * note when the agent's `voice.reply` asks for it. Files we do not read, files too large and formats
 * we refuse are answered politely with nothing stored; a redelivered webhook stores and pays nothing
 * twice. Real server and database over HTTP; the providers are the fakes of test/fakes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { eventually, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeTelegram, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';
import { startFakeWhatsApp, type FakeWhatsApp } from '../fakes/whatsapp-server.js';
import { startFakeTwilio, type FakeTwilio } from '../fakes/twilio-server.js';
import { contentText, fakeSpeechAudio } from '../fakes/openai-server.js';
import { UNSUPPORTED_MEDIA } from '../../src/services/inbox.js';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';
const WA = { token: 'EAAG-voice-token', phoneNumberId: '106540352242922', appSecret: 'app-secret-voice' };
const TW = { accountSid: 'AC' + 'b'.repeat(32), authToken: 'twilio-auth-token-voice', from: 'whatsapp:+14155238886' };
const STT_TTS = { SWITCHBOARD_STT_MODEL: 'openai:whisper-1', SWITCHBOARD_TTS_MODEL: 'openai:gpt-4o-mini-tts' };

/** A voice note as Telegram and WhatsApp carry them: OGG/Opus. */
const voiceNote = () => fakeSpeechAudio('opus', 'a voice note from a person');
const png = () => sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 20, g: 120, b: 220 } } }).png().toBuffer();

/** Every stored file under DATA_DIR/media. */
function mediaFiles(app: TestApp): string[] {
  const dir = join(app.dataDir, 'media');
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => { for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : out.push(join(d, e.name)); };
  walk(dir);
  return out;
}

/** Every message of an agent's conversations, with its media, oldest first. */
async function messagesOf(app: TestApp, token: string, agentId: string) {
  const list = (await app.api(`/api/agents/${agentId}/conversations`, { token })).body.conversations as { id: string }[];
  const all: { role: string; content: string; media: { mediaId: string; kind: string; mimeType: string; transcript?: string }[]; createdAt: string }[] = [];
  for (const c of list) all.push(...(await app.api(`/api/conversations/${c.id}`, { token })).body.messages);
  return all.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** The last user message the model was sent, as text (image parts left out). */
const lastUserText = (app: TestApp) => {
  const req = app.fake.requests().at(-1)!;
  const user = [...(req.messages ?? [])].reverse().find((m: { role: string }) => m.role === 'user');
  return contentText(user?.content);
};

describe('voice notes and photos on Telegram and WhatsApp (Cloud API)', () => {
  let app: TestApp;
  let tg: FakeTelegram;
  let wa: FakeWhatsApp;
  let owner: string;
  let agent: { id: string; slug: string };
  let hook: string;

  beforeAll(async () => {
    tg = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'VoiceBot' }] });
    wa = await startFakeWhatsApp({ token: WA.token, phoneNumberId: WA.phoneNumberId, appSecret: WA.appSecret });
    app = await startTestApp({ publicUrl: true, env: {
      ...STT_TTS, TELEGRAM_API_ROOT: tg.apiRoot,
      WHATSAPP_TOKEN: WA.token, WHATSAPP_PHONE_NUMBER_ID: WA.phoneNumberId, WHATSAPP_APP_SECRET: WA.appSecret, WHATSAPP_GRAPH_URL: wa.graphUrl,
    } });
    owner = await app.owner();
    agent = (await app.api('/api/agents', { token: owner, body: { name: 'Voice Helper', listed: true } })).body;
    expect((await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token: owner, body: { telegramBotToken: TOKEN } })).status).toBe(200);
    hook = `${app.url}/webhooks/whatsapp`;
  });
  afterAll(async () => { await app?.close(); await tg?.close(); await wa?.close(); });
  beforeEach(async () => {
    app.fake.reset();
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token: owner, body: { voice: { reply: 'off', voice: 'alloy' } } });
  });

  const tgTexts = (chatId: number) => tg.messagesTo(chatId, TOKEN);
  const waTexts = (phone: string) => wa.sent.filter((m) => m.to === phone && m.type === 'text').map((m) => m.text);

  it('Telegram: a voice note is downloaded with getFile, transcribed, stored as the text with its audio, and answered in text', async () => {
    const chatId = 5001;
    const f = tg.addFile(voiceNote(), { mimeType: 'audio/ogg', duration: 3 });
    app.fake.enqueueTranscription({ text: 'What can I cook with leeks?' });
    expect((await tg.deliver(TOKEN, textUpdate({ chatId, extra: { voice: f.voice } }))).status).toBe(200);
    await eventually(() => tgTexts(chatId).length === 1, 8000, 'a reply on Telegram');
    // The model saw the transcript as the person's words.
    expect(lastUserText(app)).toContain('What can I cook with leeks?');
    expect(app.fake.transcriptions()).toHaveLength(1);
    expect(tg.calls('getFile').at(-1)!.params.file_id).toBe(f.fileId);
    const user = (await messagesOf(app, owner, agent.id)).filter((m) => m.role === 'user').at(-1)!;
    expect(user.content).toBe('What can I cook with leeks?');
    expect(user.media).toEqual([expect.objectContaining({ kind: 'audio', mimeType: 'audio/ogg', transcript: 'What can I cook with leeks?' })]);
    expect(tg.sentMedia).toHaveLength(0); // voice.reply is off
  });

  it('Telegram: with voice.reply "when-spoken-to" a voice note is answered in text and then with sendVoice (OGG/Opus)', async () => {
    const chatId = 5002;
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token: owner, body: { voice: { reply: 'when-spoken-to', voice: 'nova' } } });
    const f = tg.addFile(voiceNote(), { mimeType: 'audio/ogg' });
    await tg.deliver(TOKEN, textUpdate({ chatId, extra: { voice: f.voice } }));
    await eventually(() => tg.sentMedia.some((m) => m.chatId === chatId), 8000, 'a voice reply');
    const voice = tg.sentMedia.find((m) => m.chatId === chatId)!;
    expect(voice.method).toBe('sendvoice');
    expect(typeof voice.file).not.toBe('string');
    const bytes = (voice.file as { bytes: Buffer }).bytes;
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('OggS');
    expect(tgTexts(chatId)).toHaveLength(1); // the text went first
    expect(app.fake.speeches().at(-1)).toMatchObject({ voice: 'nova', responseFormat: 'opus' });
    // A typed message is answered in text only.
    await tg.deliver(TOKEN, textUpdate({ chatId, text: 'thanks!' }));
    await eventually(() => tgTexts(chatId).length === 2, 8000, 'the text reply');
    await new Promise((r) => setTimeout(r, 300));
    expect(tg.sentMedia.filter((m) => m.chatId === chatId)).toHaveLength(1);
  });

  it('Telegram: a photo (its largest size) reaches the model as an image part with the caption as text', async () => {
    const chatId = 5003;
    const f = tg.addFile(await png(), { mimeType: 'image/jpeg', width: 64, height: 48 });
    await tg.deliver(TOKEN, textUpdate({ chatId, extra: { photo: f.photo, caption: 'What colour is this?' } }));
    await eventually(() => tgTexts(chatId).length === 1, 8000, 'a reply to the photo');
    expect(app.fake.imageParts()).toHaveLength(1);
    expect(lastUserText(app)).toContain('What colour is this?');
    expect(tg.calls('getFile').at(-1)!.params.file_id).toBe(f.photo.at(-1).file_id);
    const user = (await messagesOf(app, owner, agent.id)).filter((m) => m.role === 'user').at(-1)!;
    expect(user.media).toEqual([expect.objectContaining({ kind: 'image', mimeType: 'image/png' })]);
  });

  it('Telegram: a video or a sticker gets a polite reply, a file over the limit is refused before download, and nothing is stored', async () => {
    const chatId = 5004;
    const before = mediaFiles(app).length;
    const getFiles = tg.calls('getFile').length;
    await tg.deliver(TOKEN, textUpdate({ chatId, extra: { video: { file_id: 'BAACAgvideo', file_unique_id: 'v1', width: 640, height: 480, duration: 4 } } }));
    await eventually(() => tgTexts(chatId).length === 1, 8000, 'the polite reply');
    expect(tgTexts(chatId)[0]).toBe(UNSUPPORTED_MEDIA);
    const big = tg.addFile(voiceNote(), { mimeType: 'audio/ogg' });
    await tg.deliver(TOKEN, textUpdate({ chatId, extra: { voice: { ...big.voice, file_size: 30 * 1024 * 1024 } } }));
    await eventually(() => tgTexts(chatId).length === 2, 8000, 'the refusal');
    expect(tgTexts(chatId)[1]).toMatch(/larger than 25 MB/);
    expect(tg.calls('getFile')).toHaveLength(getFiles);
    expect(app.fake.requests()).toHaveLength(0);
    expect(app.fake.transcriptions()).toHaveLength(0);
    expect(mediaFiles(app).length).toBe(before);
  });

  it('WhatsApp: a voice note is looked up and downloaded with the bearer token, transcribed and answered in text', async () => {
    const phone = '5511988880001';
    const { id } = wa.addMedia(voiceNote(), 'audio/ogg; codecs=opus');
    app.fake.enqueueTranscription({ text: 'Is the shop open on Sunday?' });
    expect((await wa.deliverMessage(hook, { from: phone, type: 'audio', extra: { audio: { id, mime_type: 'audio/ogg; codecs=opus', voice: true } } })).status).toBe(200);
    await eventually(() => waTexts(phone).length === 1, 8000, 'a WhatsApp reply');
    expect(lastUserText(app)).toContain('Is the shop open on Sunday?');
    const lookups = wa.journal.filter((e) => e.method === 'GET').slice(-2);
    expect(lookups.map((e) => e.path)).toEqual([expect.stringMatching(new RegExp(`/${id}$`)), expect.stringMatching(/attachments/)]);
    expect(lookups.every((e) => e.headers.authorization === `Bearer ${WA.token}`)).toBe(true);
    expect(wa.sent.filter((m) => m.to === phone && m.type === 'audio')).toHaveLength(0);
  });

  it('WhatsApp: with voice.reply "when-spoken-to" the spoken reply is uploaded and sent as an audio message, plus the text', async () => {
    const phone = '5511988880002';
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token: owner, body: { voice: { reply: 'when-spoken-to', voice: 'alloy' } } });
    const { id } = wa.addMedia(voiceNote(), 'audio/ogg; codecs=opus');
    await wa.deliverMessage(hook, { from: phone, type: 'audio', extra: { audio: { id, mime_type: 'audio/ogg; codecs=opus', voice: true } } });
    await eventually(() => wa.sent.some((m) => m.to === phone && m.type === 'audio'), 8000, 'an audio message');
    const audio = wa.sent.find((m) => m.to === phone && m.type === 'audio')!;
    const uploaded = wa.media.get(audio.body.audio.id)!;
    expect(uploaded.uploaded).toBe(true);
    expect(uploaded.mimeType).toMatch(/^audio\/ogg/);
    expect(uploaded.bytes.subarray(0, 4).toString('latin1')).toBe('OggS');
    expect(waTexts(phone)).toHaveLength(1);
    expect(wa.sent.findIndex((m) => m.to === phone && m.type === 'text')).toBeLessThan(wa.sent.findIndex((m) => m.to === phone && m.type === 'audio'));
  });

  it('WhatsApp: a photo with a caption reaches the model as an image part', async () => {
    const phone = '5511988880003';
    const { id, sha256 } = wa.addMedia(await png(), 'image/png');
    await wa.deliverMessage(hook, { from: phone, type: 'image', extra: { image: { id, mime_type: 'image/png', sha256, caption: 'Is this ripe?' } } });
    await eventually(() => waTexts(phone).length === 1, 8000, 'a reply to the photo');
    expect(app.fake.imageParts()).toHaveLength(1);
    expect(lastUserText(app)).toContain('Is this ripe?');
  });

  it('WhatsApp: a file that is not audio nor an image is refused (415) with the reason, a document politely, and nothing is stored', async () => {
    const phone = '5511988880004';
    const before = mediaFiles(app).length;
    const { id } = wa.addMedia(Buffer.from('%PDF-1.4\n% not a voice note\n'), 'audio/ogg');
    await wa.deliverMessage(hook, { from: phone, type: 'audio', extra: { audio: { id, mime_type: 'audio/ogg' } } });
    await eventually(() => waTexts(phone).length === 1, 8000, 'the refusal');
    expect(waTexts(phone)[0]).toMatch(/not supported|could not be read/);
    await wa.deliverMessage(hook, { from: phone, type: 'document', extra: { document: { id: '999', mime_type: 'application/pdf', filename: 'cv.pdf' } } });
    await eventually(() => waTexts(phone).length === 2, 8000, 'the polite reply');
    expect(waTexts(phone)[1]).toBe(UNSUPPORTED_MEDIA);
    expect(app.fake.requests()).toHaveLength(0);
    expect(app.fake.transcriptions()).toHaveLength(0);
    expect(mediaFiles(app).length).toBe(before);
  });

  it('a redelivered voice note is stored, transcribed and paid for once', async () => {
    const phone = '5511988880005';
    const { id } = wa.addMedia(voiceNote(), 'audio/ogg');
    const usageBefore = (await app.api('/api/usage', { token: owner })).body.requests;
    const downloads = () => wa.journal.filter((e) => e.method === 'GET' && e.path.includes('attachments')).length;
    const downloadsBefore = downloads();
    app.fake.enqueueTranscription({ text: 'Only once, please.' });
    await wa.deliverMessage(hook, { from: phone, type: 'audio', id: 'wamid.voice-dup-1', extra: { audio: { id, mime_type: 'audio/ogg', voice: true } } });
    await wa.replay(-1);
    await eventually(() => waTexts(phone).length === 1, 8000, 'the reply');
    await wa.replay(-1);
    await new Promise((r) => setTimeout(r, 500));
    expect(waTexts(phone)).toHaveLength(1);
    expect(app.fake.transcriptions()).toHaveLength(1);
    expect(app.fake.requests()).toHaveLength(1);
    expect(downloads() - downloadsBefore).toBe(1);
    const users = (await messagesOf(app, owner, agent.id)).filter((m) => m.role === 'user' && m.media.some((x) => x.transcript === 'Only once, please.'));
    expect(users).toHaveLength(1);
    expect((await app.api('/api/usage', { token: owner })).body.requests - usageBefore).toBe(2); // one transcription, one chat
  });
});

describe('voice notes and photos on WhatsApp through Twilio, without a speech-to-text model', () => {
  let app: TestApp;
  let tw: FakeTwilio;
  let owner: string;
  let agent: { id: string };
  let hook: string;

  beforeAll(async () => {
    tw = await startFakeTwilio({ accountSid: TW.accountSid, authToken: TW.authToken });
    app = await startTestApp({ publicUrl: true, env: {
      SWITCHBOARD_TTS_MODEL: STT_TTS.SWITCHBOARD_TTS_MODEL,
      TWILIO_ACCOUNT_SID: TW.accountSid, TWILIO_AUTH_TOKEN: TW.authToken, TWILIO_WHATSAPP_FROM: TW.from, TWILIO_API_URL: tw.apiUrl,
    } });
    tw.config.publicUrl = app.url;
    owner = await app.owner();
    agent = (await app.api('/api/agents', { token: owner, body: { name: 'Twilio Helper', listed: true } })).body;
    hook = `${app.url}/webhooks/twilio`;
  });
  afterAll(async () => { await app?.close(); await tw?.close(); });
  beforeEach(async () => {
    app.fake.reset();
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token: owner, body: { voice: { reply: 'off', voice: 'alloy' } } });
  });

  const replies = (phone: string) => tw.sent.filter((m) => m.to === `whatsapp:+${phone}` && !m.mediaUrls.length).map((m) => m.body);

  it('with voice.reply "always" sends the text, then the spoken reply as a MediaUrl: a signed link to that one file, expiring in an hour (expiry itself: services/media.test.ts)', async () => {
    const phone = '15551230004';
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token: owner, body: { voice: { reply: 'always', voice: 'nova' } } });
    await tw.deliver(hook, { From: `whatsapp:+${phone}`, Body: 'Read me the opening hours, please.' });
    const mine = () => tw.sent.filter((m) => m.to === `whatsapp:+${phone}`);
    await eventually(() => mine().length === 2, 8000, 'the text and the audio');
    const [text, audio] = mine();
    expect(text!.body).not.toBe('');
    expect(text!.mediaUrls).toEqual([]);
    expect(audio!.body).toBe('');
    expect(audio!.mediaUrls).toHaveLength(1);
    expect(app.fake.speeches().at(-1)).toMatchObject({ voice: 'nova', responseFormat: 'opus' });

    // Twilio fetches the URL with no credentials: the file is served, and it is the reply's audio.
    const url = new URL(audio!.mediaUrls[0]!);
    expect(url.origin).toBe(app.url);
    expect(url.pathname).toMatch(/^\/api\/media\/[^/]+$/);
    const exp = Number(url.searchParams.get('exp'));
    expect(exp * 1000 - Date.now()).toBeGreaterThan(55 * 60_000);
    expect(exp * 1000 - Date.now()).toBeLessThanOrEqual(60 * 60_000);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/ogg');
    expect(Buffer.from(await res.arrayBuffer()).subarray(0, 4).toString('latin1')).toBe('OggS');
    const reply = (await messagesOf(app, owner, agent.id)).filter((m) => m.role === 'assistant').at(-1)!;
    expect(reply.media).toEqual([{ mediaId: url.pathname.split('/').at(-1), kind: 'audio', mimeType: 'audio/ogg' }]);

    // Only that one file, only with our signature, only until it expires.
    const tampered = new URL(url); tampered.searchParams.set('sig', url.searchParams.get('sig')!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')));
    expect((await fetch(tampered)).status).toBe(403);
    const later = new URL(url); later.searchParams.set('exp', String(exp + 3600));
    expect((await fetch(later)).status).toBe(403);
    const other = await (await fetch(`${app.url}/api/agents/${agent.id}/media`, { method: 'POST', headers: { authorization: `Bearer ${owner}`, 'content-type': 'image/png' }, body: await png() })).json() as { mediaId: string };
    const elsewhere = new URL(url); elsewhere.pathname = `/api/media/${other.mediaId}`;
    expect((await fetch(elsewhere)).status).toBe(403);
    expect((await fetch(`${app.url}${url.pathname}`)).status).toBe(404); // no link, no session: it does not exist
    const past = new URL(url); past.searchParams.set('exp', String(Math.floor(Date.now() / 1000) - 1));
    const expired = await fetch(past);
    expect(expired.status).toBe(403);
    expect((await expired.json() as { error: { code: string } }).error.code).toBe('forbidden');
  });

  it('downloads MediaUrl0 with basic auth (following the redirect without it), keeps the audio, and says it cannot hear yet', async () => {
    const phone = '15551230001';
    const media = tw.addMedia(voiceNote(), 'audio/ogg');
    const r = await tw.deliver(hook, { From: `whatsapp:+${phone}`, NumMedia: '1', MediaUrl0: media.url, MediaContentType0: media.contentType, MessageType: 'audio' });
    expect(r.status).toBe(200);
    await eventually(() => replies(phone).length === 1, 8000, 'the reply');
    expect(replies(phone)[0]).toBe('Sorry — I can only read text for now. Could you type your message?');
    expect(app.fake.requests()).toHaveLength(0);
    const gets = tw.journal.filter((e) => e.method === 'GET');
    expect(gets[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`${TW.accountSid}:${TW.authToken}`).toString('base64')}`);
    expect(gets[1]!.path).toMatch(/^\/cdn\//);
    expect(gets[1]!.headers.authorization).toBeUndefined();
    const user = (await messagesOf(app, owner, agent.id)).filter((m) => m.role === 'user').at(-1)!;
    expect(user.media).toEqual([expect.objectContaining({ kind: 'audio', mimeType: 'audio/ogg' })]);
  });

  it('a photo through Twilio reaches the model as an image part with the body as its caption', async () => {
    const phone = '15551230002';
    const media = tw.addMedia(await png(), 'image/png');
    await tw.deliver(hook, { From: `whatsapp:+${phone}`, Body: 'Which plant is this?', NumMedia: '1', MediaUrl0: media.url, MediaContentType0: 'image/png', MessageType: 'image' });
    await eventually(() => replies(phone).length === 1, 8000, 'the reply');
    expect(app.fake.imageParts()).toHaveLength(1);
    expect(lastUserText(app)).toContain('Which plant is this?');
  });

  it('refuses to send the account credentials to a media URL on another host', async () => {
    const phone = '15551230003';
    await tw.deliver(hook, { From: `whatsapp:+${phone}`, NumMedia: '1', MediaUrl0: 'http://127.0.0.1:9/steal', MediaContentType0: 'audio/ogg', MessageType: 'audio' });
    await eventually(() => replies(phone).length === 1, 8000, 'the reply');
    expect(replies(phone)[0]).toMatch(/could not download your file/);
    expect(app.fake.requests()).toHaveLength(0);
  });
});
