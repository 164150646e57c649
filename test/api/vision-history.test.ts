/**
 * Issue 16, what a vision model is shown: images of earlier turns sent again (the newest 4, with all
 * of the current message's), nothing to a model that cannot see, and vision decided on the model
 * actually called — a fallback that cannot see gets the text and the person is told, a downgrade
 * model that can see gets the images. And a Claude agent receives an image as an Anthropic image
 * block. Real HTTP and database; the fake OpenAI and Anthropic servers record the image parts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { readSse, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-server.js';
import { CANNOT_SEE } from '../../src/services/chat.js';
import { RESENT_IMAGES } from '../../src/services/memory.js';

/** A PNG of its own size (each test image has different bytes, so the fakes tell them apart by length). */
const png = (width: number, height = 20) => sharp({ create: { width, height, channels: 3, background: { r: (width * 7) % 256, g: 90, b: 30 } } }).png().toBuffer();

async function upload(app: TestApp, slug: string, body: Uint8Array, cookie?: string) {
  const res = await fetch(`${app.url}/api/public/agents/${slug}/media`, { method: 'POST', headers: { 'content-type': 'image/png', ...(cookie ? { cookie } : {}) }, body });
  const json = await res.json() as any;
  expect(res.status).toBe(201);
  return { mediaId: json.mediaId as string, cookie: cookie ?? res.headers.get('set-cookie')!.split(';')[0]! };
}
/** A visitor of an agent: uploads photos and talks in the web chat, keeping the cookie it is given. */
function visitor(app: TestApp, slug: string) {
  let cookie: string | undefined;
  return {
    async send(text: string, images: Buffer[] = []) {
      const mediaIds: string[] = [];
      for (const img of images) {
        const up = await upload(app, slug, img, cookie);
        cookie = up.cookie;
        mediaIds.push(up.mediaId);
      }
      const res = await fetch(`${app.url}/api/public/agents/${slug}/chat`, {
        method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
        body: JSON.stringify({ ...(text ? { text } : {}), ...(mediaIds.length ? { mediaIds } : {}) }),
      });
      expect(res.status).toBe(200);
      cookie ??= res.headers.get('set-cookie')!.split(';')[0]!;
      const events = await readSse(res);
      const done = events.find((e) => e.event === 'done')?.data;
      expect(done, JSON.stringify(events)).toBeTruthy();
      return done as { reply: string; model: string };
    },
  };
}

describe('images in earlier turns and vision on the model actually called (OpenAI-compatible)', () => {
  let app: TestApp;
  let owner: string;
  const agent = async (body: Record<string, unknown>) => {
    const r = await app.api('/api/agents', { token: owner, body: { listed: true, memoryTools: false, ...body } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; slug: string };
  };
  const blindModel = async (model: string, price = { inputPerM: 0.1, outputPerM: 0.4 }) => {
    const r = await app.api(`/api/prices/${encodeURIComponent(model)}`, { method: 'PUT', token: owner, body: { ...price, vision: false } });
    expect(r.status).toBe(200);
  };
  /** The image parts of the last chat request, with the user turn each was in. */
  const lastImages = () => {
    const requests = app.fake.requests();
    const last = requests.length - 1;
    return app.fake.imageParts().filter((_, i, all) => i >= all.length - countImages(requests[last]!));
  };
  const countImages = (req: any) => (req.messages as any[]).reduce((n, m) => n + (Array.isArray(m.content) ? m.content.filter((p: any) => p.type === 'image_url').length : 0), 0);

  beforeAll(async () => {
    app = await startTestApp();
    // The fake provider also serves the models these tests mark as unable to see.
    app.fake.setModels(['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-nano', 'gpt-4.1-mini', 'gpt-4.1', 'gpt-5-nano', 'text-embedding-3-small']);
    owner = await app.owner();
  });
  afterAll(async () => { await app.close(); });

  it('sends the photo of an earlier turn again with a later question (an image-only turn too), as an image part of that turn', async () => {
    const a = await agent({ name: 'Car spotter' });
    const v = visitor(app, a.slug);
    const car = await png(60);
    await v.send('Here is my car.', [car]);
    const wheel = await png(61);
    await v.send('', [wheel]); // a photo alone
    const done = await v.send('What colour was the car?');
    expect(done.reply).not.toContain(CANNOT_SEE);
    const req = app.fake.requests().at(-1)!;
    const users = (req.messages as any[]).map((m, i) => ({ ...m, i })).filter((m) => m.role === 'user');
    // The car turn: its text and its photo; the photo-only turn: its photo alone; the question: text.
    expect(users.at(-1)!.content).toBe('What colour was the car?');
    const carTurn = users.find((m) => Array.isArray(m.content) && m.content.some((p: any) => p.text === 'Here is my car.'))!;
    expect(carTurn.content.map((p: any) => p.type)).toEqual(['text', 'image_url']);
    const wheelTurn = users.find((m) => Array.isArray(m.content) && m.content.every((p: any) => p.type === 'image_url'))!;
    expect(wheelTurn.content).toHaveLength(1);
    expect(lastImages()).toEqual([
      expect.objectContaining({ messageIndex: carTurn.i, mediaType: 'image/png', bytes: car.length }),
      expect.objectContaining({ messageIndex: wheelTurn.i, mediaType: 'image/png', bytes: wheel.length }),
    ]);
  });

  it(`resends at most the newest ${RESENT_IMAGES} images of earlier turns, besides every image of the current message`, async () => {
    // A history budget roomy enough for every turn (each image counts ~1,500 tokens in the window).
    const a = await agent({ name: 'Album', contextTokenBudget: 20_000 });
    const v = visitor(app, a.slug);
    const earlier = await Promise.all([70, 71, 72, 73, 74, 75].map((w) => png(w)));
    await v.send('First two.', earlier.slice(0, 2));
    await v.send('Two more.', earlier.slice(2, 4));
    await v.send('And the last two.', earlier.slice(4, 6));
    const now = await Promise.all([80, 81].map((w) => png(w)));
    await v.send('Which of all these is the bluest?', now);
    const sent = lastImages().map((p) => p.bytes);
    expect(sent).toEqual([...earlier.slice(2, 6), ...now].map((b) => b.length));
    // The first turn is still there, as its text alone.
    const req = app.fake.requests().at(-1)!;
    expect((req.messages as any[]).find((m) => m.role === 'user' && (m.content === 'First two.' || m.content?.[0]?.text === 'First two.'))?.content).toBe('First two.');
  });

  it('sends no earlier image to a model that cannot see, and says nothing about images when the question has none', async () => {
    const a = await agent({ name: 'Turned blind' });
    const v = visitor(app, a.slug);
    await v.send('My receipt.', [await png(90)]);
    await blindModel('openai:gpt-4.1-mini');
    expect((await app.api(`/api/agents/${a.id}`, { method: 'PATCH', token: owner, body: { model: 'openai:gpt-4.1-mini' } })).body).toMatchObject({ model: 'openai:gpt-4.1-mini' });
    const done = await v.send('What was the total?');
    expect(done.reply).not.toContain(CANNOT_SEE);
    const req = app.fake.requests().at(-1)!;
    expect(req.model).toBe('gpt-4.1-mini');
    expect(countImages(req)).toBe(0);
    expect((req.messages as any[]).some((m) => m.content === 'My receipt.')).toBe(true);
  });

  it('a fallback that cannot see answers with the text alone and the person is told; no provider error', async () => {
    await blindModel('openai:gpt-5-nano');
    const a = await agent({ name: 'Falls back', model: 'openai:gpt-4o-mini', fallbackModel: 'openai:gpt-5-nano' });
    const v = visitor(app, a.slug);
    app.fake.enqueue({ kind: 'error', status: 500 });
    const before = app.fake.requests().length;
    const done = await v.send('Is this a ripe mango?', [await png(100)]);
    const [main, fallback] = app.fake.requests().slice(before);
    expect(main!.model).toBe('gpt-4o-mini');
    expect(countImages(main)).toBe(1); // the main model sees: the image was sent to it
    expect(fallback!.model).toBe('gpt-5-nano');
    expect(countImages(fallback)).toBe(0);
    expect((fallback!.messages as any[]).at(-1)).toEqual({ role: 'user', content: 'Is this a ripe mango?' });
    expect(done.model).toBe('openai:gpt-5-nano');
    expect(done.reply.startsWith(`${CANNOT_SEE}\n\n`)).toBe(true);
    expect(done.reply.length).toBeGreaterThan(CANNOT_SEE.length + 2);
  });

  it('past the downgrade threshold, a downgrade model that can see is sent the images though the main model cannot', async () => {
    // The main model cannot see and is dear: one answer spends past 1% of the $1 budget.
    await blindModel('openai:gpt-4.1', { inputPerM: 2000, outputPerM: 2000 });
    const a = await agent({ name: 'Downgraded', model: 'openai:gpt-4.1', fallbackModel: 'openai:gpt-4.1-nano', maxOutputTokens: 20, monthlyBudgetUsd: 1, downgradeAtPercent: 1, stopAtPercent: 100 });
    const v = visitor(app, a.slug);
    await v.send('Hello there.');
    expect(app.fake.requests().at(-1)!.model).toBe('gpt-4.1');
    const b = (await app.api(`/api/agents/${a.id}/budget`, { token: owner })).body;
    expect(b.state, JSON.stringify(b)).toBe('downgraded');
    const photo = await png(110);
    const done = await v.send('What is in this picture?', [photo]);
    expect(done.reply).not.toContain(CANNOT_SEE);
    const req = app.fake.requests().at(-1)!;
    expect(req.model).toBe('gpt-4.1-nano');
    expect(lastImages()).toEqual([expect.objectContaining({ mediaType: 'image/png', bytes: photo.length })]);
  });
});

describe('an image reaches a Claude agent as an Anthropic image block', () => {
  let app: TestApp;
  let owner: string;
  let anthropic: FakeAnthropic;
  beforeAll(async () => {
    app = await startTestApp();
    anthropic = await startFakeAnthropic({ apiKey: 'sk-ant-vision' });
    owner = await app.owner();
    const r = await app.api('/api/providers', { token: owner, body: { name: 'anthropic', kind: 'anthropic', apiKey: 'sk-ant-vision', baseUrl: anthropic.url } });
    expect(r.status).toBe(201);
  });
  afterAll(async () => { await app?.close(); await anthropic?.close(); });

  it('sends the photo as {type:"image", source:{type:"base64", media_type, data}} with its caption, and again with a later question', async () => {
    const a = (await app.api('/api/agents', { token: owner, body: { name: 'Claude eyes', listed: true, model: 'anthropic:claude-haiku-4-5', memoryTools: false } })).body;
    const v = visitor(app, a.slug);
    const photo = await png(120, 90);
    const first = await v.send('What colour is this?', [photo]);
    expect(first.model).toBe('anthropic:claude-haiku-4-5');
    expect(first.reply).toContain('What colour is this?'); // the fake echoes the text, the image is no text
    const req = anthropic.requests().at(-1)!;
    const last = req.messages!.at(-1);
    expect(last.role).toBe('user');
    expect(last.content).toEqual([
      { type: 'text', text: 'What colour is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: photo.toString('base64') } },
    ]);
    expect(anthropic.imageParts()).toEqual([{ sourceType: 'base64', mediaType: 'image/png', bytes: photo.length, messageIndex: req.messages!.length - 1, blockIndex: 1 }]);
    await v.send('And is it darker than navy?');
    const again = anthropic.requests().at(-1)!;
    const parts = anthropic.imageParts().slice(1);
    expect(parts).toEqual([expect.objectContaining({ mediaType: 'image/png', bytes: photo.length })]);
    expect(again.messages![parts[0]!.messageIndex].role).toBe('user');
  });
});
