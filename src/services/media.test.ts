/**
 * The media service over every real service (makeTestServices: in-memory store and media storage,
 * a manual clock): what a model is sent for a large or heavy image or a GIF, refusals that store nothing, and
 * transcription booked against the agent's real budget — stopped at its cap like chat.
 */
import { afterEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { makeTestServices, type TestServices } from '../../test/helpers/test-services.js';
import type { SpeechPort } from '../domain/ports.js';
import { BudgetStop } from './budget.js';
import { MEDIA_LIMITS } from './media.js';
import { randomBytes } from 'node:crypto';
import { memoryMediaStorage } from '../infra/media-storage.js';

let heard = 0;
const speech: SpeechPort = {
  transcribe: async () => { heard++; return { text: 'hello', durationSeconds: null, language: null }; },
  speak: async () => ({ audio: new Uint8Array([0x4f, 0x67, 0x67, 0x53]), mimeType: 'audio/ogg' }),
};

describe('media service', () => {
  let t: TestServices | undefined;
  afterEach(async () => { await t?.close(); t = undefined; });

  async function setup(env: Record<string, string> = {}) {
    const storage = memoryMediaStorage();
    t = await makeTestServices({ speech, mediaStorage: storage, env });
    const { actor } = await t.as('owner');
    const agent = await t.services.agents.create(actor, { name: 'Looker' });
    const person = await t.store.people.upsert('web', 'visitor-1');
    return { t, storage, actor, agent, person };
  }

  it('downscales an image larger than 4096×4096 for a model, keeping the original', async () => {
    const { t, agent, person } = await setup();
    const big = await sharp({ create: { width: 5000, height: 2500, channels: 3, background: '#336699' } }).jpeg().toBuffer();
    const item = await t.services.media.intake({ bytes: big, claimedType: 'image/jpeg', agentId: agent.id, personId: person.id });
    expect(item).toMatchObject({ kind: 'image', mimeType: 'image/jpeg', width: 5000, height: 2500 });
    const sent = await t.services.media.forModel(item.id);
    expect(sent.mimeType).toBe('image/jpeg');
    expect(await sharp(sent.bytes).metadata()).toMatchObject({ width: 4096, height: 2048 });
    expect((await t.services.media.bytes(item)).length).toBe(big.length);
  });

  it("sends a GIF's first frame as a PNG, and a small image as it is", async () => {
    const { t, agent, person } = await setup();
    const frames = await sharp({ create: { width: 20, height: 60, channels: 4, background: '#ff0000' } }).gif().toBuffer();
    const gif = await t.services.media.intake({ bytes: frames, agentId: agent.id, personId: person.id });
    expect(gif.mimeType).toBe('image/gif');
    const sent = await t.services.media.forModel(gif.id);
    expect(sent.mimeType).toBe('image/png');
    expect(await sharp(sent.bytes).metadata()).toMatchObject({ format: 'png', width: 20, height: 60 });
    const small = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#00ff00' } }).webp().toBuffer();
    const s = await t.services.media.intake({ bytes: small, agentId: agent.id, personId: person.id });
    expect(Buffer.from((await t.services.media.forModel(s.id)).bytes).equals(small)).toBe(true);
  });

  it('re-encodes an image over 5 MB as a JPEG under it (the most Anthropic takes), keeping its size', async () => {
    const { t, agent, person } = await setup();
    // Noise does not compress: about 8.7 MB of PNG, under the 10 MB upload limit.
    const noise = await sharp(randomBytes(1700 * 1700 * 3), { raw: { width: 1700, height: 1700, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
    expect(noise.length).toBeGreaterThan(MEDIA_LIMITS.modelImageBytes);
    const item = await t.services.media.intake({ bytes: noise, agentId: agent.id, personId: person.id });
    const sent = await t.services.media.forModel(item.id);
    expect(sent.mimeType).toBe('image/jpeg');
    expect(sent.bytes.length).toBeLessThanOrEqual(MEDIA_LIMITS.modelImageBytes);
    expect(await sharp(sent.bytes).metadata()).toMatchObject({ format: 'jpeg', width: 1700, height: 1700 });
  });

  it('stores nothing when it refuses a file', async () => {
    const { t, storage, agent, person } = await setup();
    await expect(t.services.media.intake({ bytes: new TextEncoder().encode('%PDF-1.7 not a picture'), claimedType: 'image/png', agentId: agent.id, personId: person.id }))
      .rejects.toMatchObject({ status: 415, code: 'unsupported_media' });
    await expect(t.services.media.intake({ bytes: new Uint8Array(0), agentId: agent.id, personId: person.id })).rejects.toMatchObject({ code: 'unsupported_media' });
    expect(storage.files.size).toBe(0);
  });

  it('books transcriptions against the real budget and stops them at its cap', async () => {
    // whisper-1 is $0.006 a minute in the price table; the agent may spend $0.05 a month.
    const { t, actor, agent } = await setup({ SWITCHBOARD_STT_MODEL: 'openai:whisper-1' });
    await t.services.agents.update(actor, agent.id, { monthlyBudgetUsd: 0.05 });
    const capped = (await t.store.agents.byId(agent.id))!;
    const call = { agent: capped, audio: new Uint8Array(100), mimeType: 'audio/ogg', durationSeconds: 300, channel: 'web' as const, conversationId: null };
    // As with chat, calls are admitted while the month's spend is under the cap; the one that crosses it is the last.
    expect((await t.services.gateway.transcribe(call)).costUsd).toBeCloseTo(0.03, 6);
    expect((await t.services.gateway.transcribe(call)).costUsd).toBeCloseTo(0.03, 6);
    await expect(t.services.gateway.transcribe(call)).rejects.toBeInstanceOf(BudgetStop);
    // And a chat message is refused by the same spent budget.
    await expect(t.services.gateway.generate({ agent: capped, model: null, fallbackModel: null, system: '', messages: [{ role: 'user', content: 'hi' }], temperature: 0, channel: 'web', conversationId: null, purpose: 'chat' }))
      .rejects.toBeInstanceOf(BudgetStop);
    const report = await t.services.usage.report(actor, { agentId: agent.id });
    expect(report.byPurpose).toEqual([{ purpose: 'transcription', requests: 2, inputTokens: 0, outputTokens: expect.any(Number), costUsd: expect.closeTo(0.06, 6) }]);
  });

  it('transcribes an uploaded voice note once, keeps the transcript, and says when it cannot', async () => {
    const { t, agent, person } = await setup({ SWITCHBOARD_STT_MODEL: 'openai:whisper-1' });
    const b = Buffer.alloc(44 + 8000, 0x80);
    b.write('RIFF', 0); b.writeUInt32LE(36 + 8000, 4); b.write('WAVE', 8); b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
    b.writeUInt32LE(8000, 24); b.writeUInt32LE(8000, 28); b.writeUInt16LE(1, 32); b.writeUInt16LE(8, 34); b.write('data', 36); b.writeUInt32LE(8000, 40);
    const note = await t.services.media.intake({ bytes: b, agentId: agent.id, personId: person.id });
    expect(note).toMatchObject({ kind: 'audio', mimeType: 'audio/wav', durationSeconds: 1 });
    expect(t.services.media.canTranscribe()).toBe(true);
    const before = heard;
    const m = { agent: (await t.store.agents.byId(agent.id))!, personId: person.id, channel: 'web' as const, conversationId: null };
    expect(await t.services.media.transcribe(note.id, m)).toBe('hello');
    expect(await t.services.media.transcribe(note.id, m)).toBe('hello');
    expect(heard - before).toBe(1);
    expect((await t.services.media.get(note.id))!.transcript).toBe('hello');
    // Priced by the record's duration: one second of whisper-1.
    const { actor } = await t.as('owner');
    expect((await t.services.usage.report(actor, { agentId: agent.id })).byPurpose).toEqual([expect.objectContaining({ purpose: 'transcription', requests: 1, costUsd: expect.closeTo(0.0001, 8) })]);
    const none = await makeTestServices({ speech });
    try { expect(none.services.media.canTranscribe()).toBe(false); } finally { await none.close(); }
  });

  it('serves a file by a signed link until it expires (an hour), and only that file with that signature', async () => {
    const { t, agent, person } = await setup();
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } }).png().toBuffer();
    const a = await t.services.media.intake({ bytes: png, agentId: agent.id, personId: person.id });
    const path = t.services.media.signedPath(a.id)!;
    const link = () => { const u = new URL(path, 'http://x'); return { exp: u.searchParams.get('exp')!, sig: u.searchParams.get('sig')! }; };
    expect(Number(link().exp) * 1000).toBe(Math.floor((t.clock.now().getTime() + 3_600_000) / 1000) * 1000);
    const got = await t.services.media.open({}, a.id, link());
    expect(Buffer.from(got.bytes).equals(png)).toBe(true);
    // Through the route, with no session and no cookie.
    expect((await t.app.request(path)).status).toBe(200);
    expect((await t.app.request(`/api/media/${a.id}`)).status).toBe(404);
    await expect(t.services.media.open({}, a.id, { ...link(), sig: link().sig.slice(1) + 'A' })).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    await expect(t.services.media.open({}, a.id, { ...link(), exp: String(Number(link().exp) + 60) })).rejects.toMatchObject({ status: 403 });
    await expect(t.services.media.open({}, a.id, { exp: 'soon', sig: link().sig })).rejects.toMatchObject({ status: 403 });
    const b = await t.services.media.intake({ bytes: await sharp(png).webp().toBuffer(), agentId: agent.id, personId: person.id });
    await expect(t.services.media.open({}, b.id, link())).rejects.toMatchObject({ status: 403 });
    t.clock.advance(3_599_000 - (t.clock.now().getTime() % 1000));
    expect((await t.app.request(path)).status).toBe(200);
    t.clock.advance(1000);
    const expired = await t.app.request(path);
    expect(expired.status).toBe(403);
    expect((await expired.json() as { error: { code: string } }).error.code).toBe('forbidden');
  });
});
