/**
 * Issue 16, the chat core: voice messages transcribed and answered (web chat and message API),
 * images shown to vision models as image parts, the polite answers without STT or vision, foreign
 * media refused, budgets stopping transcription, spoken replies (voice.reply) and the play button's
 * speech routes, all metered (GET /api/usage byPurpose). Real HTTP and database; the fake model
 * server hears, speaks and records image parts; the audio and images are made here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { readSse, startTestApp, type TestApp } from '../helpers/test-app.js';
import { CANNOT_HEAR, CANNOT_SEE } from '../../src/services/chat.js';

/** A mono 8-bit PCM WAV file of silence, `seconds` long (intake sniffs and measures real bytes). */
function wav(seconds: number, rate = 8000): Buffer {
  const data = Math.round(seconds * rate);
  const b = Buffer.alloc(44 + data, 0x80);
  b.write('RIFF', 0); b.writeUInt32LE(36 + data, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate, 28); b.writeUInt16LE(1, 32); b.writeUInt16LE(8, 34);
  b.write('data', 36); b.writeUInt32LE(data, 40);
  return b;
}

const png = (width = 32, height = 24) => sharp({ create: { width, height, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toBuffer();
const SPEECH = { SWITCHBOARD_STT_MODEL: 'openai:whisper-1', SWITCHBOARD_TTS_MODEL: 'openai:gpt-4o-mini-tts' };

async function upload(app: TestApp, slug: string, body: Uint8Array, type: string, cookie?: string) {
  const res = await fetch(`${app.url}/api/public/agents/${slug}/media`, { method: 'POST', headers: { 'content-type': type, ...(cookie ? { cookie } : {}) }, body });
  const json = await res.json() as any;
  expect(res.status).toBe(201);
  return { mediaId: json.mediaId as string, cookie: cookie ?? res.headers.get('set-cookie')!.split(';')[0]! };
}
async function chat(app: TestApp, slug: string, cookie: string, body: unknown) {
  const res = await fetch(`${app.url}/api/public/agents/${slug}/chat`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(body) });
  if (res.status !== 200) return { status: res.status, body: await res.json() as any, events: [] as { event: string; data: any }[] };
  return { status: 200, body: null, events: await readSse(res) };
}
const ev = (events: { event: string; data: any }[], name: string) => events.find((e) => e.event === name)?.data;

describe('voice and images in the chat (STT, TTS and a vision model)', () => {
  let app: TestApp;
  let owner: string;
  let agent: { id: string; slug: string };

  beforeAll(async () => {
    app = await startTestApp({ env: SPEECH });
    owner = await app.owner();
    agent = (await app.api('/api/agents', { token: owner, body: { name: 'Ears', listed: true } })).body;
  });
  afterAll(async () => { await app.close(); });

  it('answers a web voice message: transcribed (start.transcript), stored as the text with its audio, metered as transcription', async () => {
    app.fake.setDefaultTranscript('What time do you open tomorrow?');
    const up = await upload(app, agent.slug, wav(2), 'audio/wav');
    const r = await chat(app, agent.slug, up.cookie, { mediaIds: [up.mediaId] });
    expect(r.status).toBe(200);
    const start = ev(r.events, 'start');
    expect(start.transcript).toBe('What time do you open tomorrow?');
    const done = ev(r.events, 'done');
    expect(done.reply).toBeTruthy();
    expect(done.voice).toBeUndefined(); // voice.reply is off by default
    expect(app.fake.transcriptions()).toHaveLength(1);
    // The model heard the transcript as the person's words.
    const last = app.fake.requests().at(-1)!;
    expect(JSON.stringify(last.messages!.at(-1))).toContain('What time do you open tomorrow?');
    const conv = (await app.api(`/api/conversations/${start.conversationId}`, { token: owner })).body;
    const user = conv.messages.find((m: any) => m.id === start.userMessageId);
    expect(user.content).toBe('What time do you open tomorrow?');
    expect(user.media).toEqual([{ mediaId: up.mediaId, kind: 'audio', mimeType: 'audio/wav', transcript: 'What time do you open tomorrow?' }]);
    // The visitor's own history (the chat page after a reload) carries the voice note too.
    const mine = await fetch(`${app.url}/api/public/agents/${agent.slug}/conversation`, { headers: { cookie: up.cookie } }).then((x) => x.json()) as any;
    expect(mine.messages.find((m: any) => m.id === start.userMessageId).media).toEqual(user.media);
    const usage = (await app.api(`/api/usage?agentId=${agent.id}`, { token: owner })).body;
    expect(usage.byPurpose.map((p: any) => p.purpose)).toEqual(expect.arrayContaining(['chat', 'transcription']));
  });

  it('answers a voice message over the message API the same way (transcript in the answer)', async () => {
    app.fake.setDefaultTranscript('Do you deliver on Sundays?');
    const up = await app.api(`/api/agents/${agent.id}/media`, { token: owner, raw: wav(1) as any, headers: { 'content-type': 'audio/wav' } });
    expect(up.status).toBe(201);
    const before = app.fake.transcriptions().length;
    const r = await app.api(`/api/agents/${agent.id}/message`, { token: owner, body: { mediaIds: [up.body.mediaId], text: 'Thanks!' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ transcript: 'Do you deliver on Sundays?', reply: expect.any(String), messageId: expect.any(String) });
    expect(app.fake.transcriptions().length).toBe(before + 1);
    // Typed text follows the transcript.
    expect(JSON.stringify(app.fake.requests().at(-1)!.messages!.at(-1))).toContain('Do you deliver on Sundays?\\n\\nThanks!');
  });

  it('sends an image to a vision model as an image part with its caption', async () => {
    const up = await upload(app, agent.slug, await png(40, 30), 'image/png');
    const before = app.fake.imageParts().length;
    const r = await chat(app, agent.slug, up.cookie, { text: 'What colour is this?', mediaIds: [up.mediaId] });
    expect(r.status).toBe(200);
    expect(ev(r.events, 'done').reply).not.toContain(CANNOT_SEE);
    const parts = app.fake.imageParts().slice(before);
    expect(parts).toEqual([expect.objectContaining({ mediaType: 'image/png', bytes: expect.any(Number) })]);
    const lastUser = app.fake.requests().at(-1)!.messages!.at(-1) as any;
    expect(lastUser.content).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'text', text: 'What colour is this?' }), expect.objectContaining({ type: 'image_url' })]));
  });

  it('tells the person the agent cannot see when its model has no vision, and answers the caption alone', async () => {
    // The operator's price override says this model takes no images (the table says it does).
    const put = await app.api(`/api/prices/${encodeURIComponent('openai:gpt-4.1-nano')}`, { method: 'PUT', token: owner, body: { inputPerM: 0.1, outputPerM: 0.4, vision: false } });
    expect(put.status).toBe(200);
    const blind = (await app.api('/api/agents', { token: owner, body: { name: 'Blind', listed: true, model: 'openai:gpt-4.1-nano' } })).body;
    expect(blind.id).toBeTruthy();
    expect((await app.api(`/api/agents/${blind.id}`, { token: owner })).body.capabilities.vision).toBe(false);
    const up = await upload(app, blind.slug, await png(), 'image/png');
    const before = app.fake.imageParts().length;
    const r = await chat(app, blind.slug, up.cookie, { text: 'Is this my receipt?', mediaIds: [up.mediaId] });
    expect(r.status).toBe(200);
    const done = ev(r.events, 'done');
    expect(done.reply.startsWith(CANNOT_SEE)).toBe(true);
    expect(done.reply.length).toBeGreaterThan(CANNOT_SEE.length);
    expect(app.fake.imageParts().length).toBe(before);
    // No caption: just the note, no model call.
    const up2 = await upload(app, blind.slug, await png(), 'image/png', up.cookie);
    const calls = app.fake.requests().length;
    const r2 = await chat(app, blind.slug, up.cookie, { mediaIds: [up2.mediaId] });
    expect(ev(r2.events, 'done').reply).toBe(CANNOT_SEE);
    expect(app.fake.requests().length).toBe(calls);
  });

  it('refuses foreign media with 400 naming mediaIds and stores nothing', async () => {
    const mine = await upload(app, agent.slug, wav(1), 'audio/wav');
    const theirs = await upload(app, agent.slug, wav(1), 'audio/wav'); // another visitor (a new cookie)
    const other = (await app.api('/api/agents', { token: owner, body: { name: 'Other', listed: true } })).body;
    const elsewhere = await upload(app, other.slug, wav(1), 'audio/wav', mine.cookie);
    const history = async () => (await fetch(`${app.url}/api/public/agents/${agent.slug}/conversation`, { headers: { cookie: mine.cookie } }).then((r) => r.json()) as any).messages?.length ?? 0;
    const n = await history();
    for (const ids of [[theirs.mediaId], [elsewhere.mediaId], ['no-such-id'], [mine.mediaId, mine.mediaId]]) {
      const r = await chat(app, agent.slug, mine.cookie, { text: 'hi', mediaIds: ids });
      expect(r.status).toBe(400);
      expect(r.body.error.fields[0].path).toBe('mediaIds');
    }
    // Already attached to a message: refused the second time.
    const ok = await chat(app, agent.slug, mine.cookie, { mediaIds: [mine.mediaId] });
    expect(ok.status).toBe(200);
    const again = await chat(app, agent.slug, mine.cookie, { mediaIds: [mine.mediaId] });
    expect(again.status).toBe(400);
    expect(again.body.error.fields[0].path).toBe('mediaIds');
    expect(await history()).toBe(n + 2);
    expect((await app.server.services.store.media.byId(theirs.mediaId))!.messageId).toBeNull();
  });

  it('speaks replies when voice.reply asks (when-spoken-to, always) and not when off; the play button reuses the audio', async () => {
    const talker = (await app.api('/api/agents', { token: owner, body: { name: 'Talker', listed: true, voice: { reply: 'when-spoken-to' } } })).body;
    expect(talker.voice).toEqual({ reply: 'when-spoken-to', voice: 'alloy' });
    const up = await upload(app, talker.slug, wav(1), 'audio/wav');
    const speeches = app.fake.speeches().length;
    const spoken = await chat(app, talker.slug, up.cookie, { mediaIds: [up.mediaId] });
    const done = ev(spoken.events, 'done');
    expect(done.voice).toEqual({ mediaId: expect.any(String), mimeType: 'audio/mpeg' });
    expect(app.fake.speeches().length).toBe(speeches + 1);
    const file = await fetch(`${app.url}/api/media/${done.voice.mediaId}`, { headers: { cookie: up.cookie } });
    expect(file.status).toBe(200);
    // Typed text to when-spoken-to: no voice.
    const typed = await chat(app, talker.slug, up.cookie, { text: 'And on Monday?' });
    expect(ev(typed.events, 'done').voice).toBeUndefined();
    // always: spoken even when typed.
    const patched = await app.api(`/api/agents/${talker.id}`, { method: 'PATCH', token: owner, body: { voice: { reply: 'always', voice: 'nova' } } });
    expect(patched.body.voice).toEqual({ reply: 'always', voice: 'nova' });
    const always = await chat(app, talker.slug, up.cookie, { text: 'Hello?' });
    expect(ev(always.events, 'done').voice).toBeTruthy();
    expect(app.fake.speeches().at(-1)).toMatchObject({ voice: 'nova' });
    // off: none.
    await app.api(`/api/agents/${talker.id}`, { method: 'PATCH', token: owner, body: { voice: { reply: 'off' } } });
    const off = await chat(app, talker.slug, up.cookie, { text: 'Bye' });
    const offDone = ev(off.events, 'done');
    expect(offDone.voice).toBeUndefined();

    // The play button: the visitor's own reply → 200, a second call the same media and no second speech call.
    const n = app.fake.speeches().length;
    const p1 = await fetch(`${app.url}/api/public/agents/${talker.slug}/messages/${offDone.messageId}/speech`, { method: 'POST', headers: { cookie: up.cookie } });
    expect(p1.status).toBe(200);
    const b1 = await p1.json() as any;
    expect(b1).toEqual({ mediaId: expect.any(String), mimeType: 'audio/mpeg' });
    const p2 = await fetch(`${app.url}/api/public/agents/${talker.slug}/messages/${offDone.messageId}/speech`, { method: 'POST', headers: { cookie: up.cookie } });
    expect(await p2.json()).toEqual(b1);
    expect(app.fake.speeches().length).toBe(n + 1);
    // Another visitor: 404.
    const stranger = await upload(app, talker.slug, wav(1), 'audio/wav');
    const p3 = await fetch(`${app.url}/api/public/agents/${talker.slug}/messages/${offDone.messageId}/speech`, { method: 'POST', headers: { cookie: stranger.cookie } });
    expect(p3.status).toBe(404);
    // The owner through the dashboard route: the same media.
    const p4 = await app.api(`/api/agents/${talker.id}/messages/${offDone.messageId}/speech`, { token: owner, method: 'POST' });
    expect(p4.status).toBe(200);
    expect(p4.body).toEqual(b1);
    const usage = (await app.api('/api/usage', { token: owner })).body;
    expect(usage.byPurpose.map((p: any) => p.purpose)).toEqual(expect.arrayContaining(['chat', 'transcription', 'speech']));
  });

  it('shows capabilities in the public agent info and GET /api/agents/:id', async () => {
    const pub = (await app.api(`/api/public/agents/${agent.slug}`)).body;
    expect(pub.capabilities).toEqual({ transcription: true, speech: true, vision: true });
    expect(pub.voice).toEqual({ reply: 'off' });
    const dash = (await app.api(`/api/agents/${agent.id}`, { token: owner })).body;
    expect(dash.capabilities).toEqual({ transcription: true, speech: true, vision: true });
  });

  it('stops transcription at a spent budget: no transcription call, the polite stop', async () => {
    const capped = (await app.api('/api/agents', { token: owner, body: { name: 'Capped', listed: true, monthlyBudgetUsd: 0, budgetStopMessage: 'Budget used up.' } })).body;
    const up = await upload(app, capped.slug, wav(1), 'audio/wav');
    const n = app.fake.transcriptions().length;
    const r = await chat(app, capped.slug, up.cookie, { mediaIds: [up.mediaId] });
    expect(r.status).toBe(200);
    expect(ev(r.events, 'done')).toMatchObject({ reply: 'Budget used up.', budgetStopped: true });
    expect(app.fake.transcriptions().length).toBe(n);
  });
});

describe('without speech models', () => {
  let app: TestApp;
  let owner: string;
  let agent: { id: string; slug: string };
  beforeAll(async () => {
    app = await startTestApp({});
    owner = await app.owner();
    agent = (await app.api('/api/agents', { token: owner, body: { name: 'Deaf', listed: true } })).body;
  });
  afterAll(async () => { await app.close(); });

  it('keeps a voice message and answers CANNOT_HEAR with no model call', async () => {
    const up = await upload(app, agent.slug, wav(1), 'audio/wav');
    const calls = app.fake.requests().length;
    const r = await chat(app, agent.slug, up.cookie, { mediaIds: [up.mediaId] });
    expect(r.status).toBe(200);
    expect(ev(r.events, 'done').reply).toBe(CANNOT_HEAR);
    expect(app.fake.requests().length).toBe(calls);
    expect(app.fake.transcriptions()).toHaveLength(0);
    expect((await app.server.services.store.media.byId(up.mediaId))!.messageId).toBe(ev(r.events, 'start').userMessageId);
    const pub = (await app.api(`/api/public/agents/${agent.slug}`)).body;
    expect(pub.capabilities).toMatchObject({ transcription: false, speech: false });
  });

  it('answers the play button with 501 not_configured', async () => {
    const r0 = await fetch(`${app.url}/api/public/agents/${agent.slug}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hello' }) });
    const cookie = r0.headers.get('set-cookie')!.split(';')[0]!;
    const done = (await readSse(r0)).find((e) => e.event === 'done')!.data;
    const r = await fetch(`${app.url}/api/public/agents/${agent.slug}/messages/${done.messageId}/speech`, { method: 'POST', headers: { cookie } });
    expect(r.status).toBe(501);
    expect((await r.json() as any).error.code).toBe('not_configured');
  });
});
