/**
 * Authentic channel posts of the wrong shape: a valid WhatsApp Cloud signature or Telegram secret over
 * seeded mutations of real payloads (fields removed, or given hostile values: null, huge, NUL, lone
 * surrogates, objects for strings). The provider redelivers anything but a 2xx/4xx, so none may be
 * a 5xx, and the server must still answer a normal message afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeWhatsApp, type FakeWhatsApp } from '../fakes/whatsapp-server.js';
import { startFakeTelegram, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';

const WA = { token: 'EAAG-test-token', phoneNumberId: '106540352242922', appSecret: 'app-secret-123', verifyToken: 'verify-me' };
const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';
/** A seeded generator: the same mutations every run. */
let seed = 42;
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
const pick = <T,>(a: T[]) => a[Math.floor(rnd() * a.length)]!;
const HOSTILE: unknown[] = [null, '', 'x'.repeat(70000), -1, 1e308, 'nul\u0000', {}, [], [1, 2], true, '<script>alert(1)</script>', '\uD800', 12345678901234567890, { a: { b: { c: {} } } }, '../../etc/passwd'];
function mutate(v: any, depth = 0): any {
  if (v && typeof v === 'object') {
    const copy: any = Array.isArray(v) ? [...v] : { ...v };
    const keys = Object.keys(copy);
    for (const k of keys) {
      const r = rnd();
      if (r < 0.08) delete copy[k];
      else if (r < 0.18) copy[k] = pick(HOSTILE);
      else copy[k] = mutate(copy[k], depth + 1);
    }
    return copy;
  }
  return v;
}
describe('channel webhooks: authentic posts of the wrong shape', () => {
  let app: TestApp; let wa: FakeWhatsApp; let tg: FakeTelegram; let token: string; let agent: { id: string };
  beforeAll(async () => {
    wa = await startFakeWhatsApp({ token: WA.token, phoneNumberId: WA.phoneNumberId, appSecret: WA.appSecret });
    tg = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'FuzzBot' }] });
    app = await startTestApp({ publicUrl: true, env: { WHATSAPP_TOKEN: WA.token, WHATSAPP_PHONE_NUMBER_ID: WA.phoneNumberId, WHATSAPP_APP_SECRET: WA.appSecret, WHATSAPP_VERIFY_TOKEN: WA.verifyToken, WHATSAPP_GRAPH_URL: wa.graphUrl, TELEGRAM_API_ROOT: tg.apiRoot } });
    token = await app.owner();
    wa.config.statusWebhookUrl = `${app.url}/webhooks/whatsapp`;
    agent = (await app.api('/api/agents', { token, body: { name: 'Fuzz', template: 'recipe-helper' } })).body;
    expect((await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: TOKEN } })).status).toBe(200);
  });
  afterAll(async () => { await app?.close(); await wa?.close(); await tg?.close(); });
  it('never answers 5xx, and the channel still answers afterwards', async () => {
    const hook = `${app.url}/webhooks/whatsapp`;
    const media = wa.addMedia(Buffer.from('GIF89a'), 'image/gif');
    const waBases = [
      wa.envelope({ messaging_product: 'whatsapp', metadata: { display_phone_number: '1555', phone_number_id: WA.phoneNumberId }, contacts: [{ profile: { name: 'A' }, wa_id: '4915100000001' }], messages: [{ from: '4915100000001', id: 'wamid.X1', timestamp: '1700000000', type: 'text', text: { body: 'hi' } }] }),
      wa.envelope({ messaging_product: 'whatsapp', metadata: { display_phone_number: '1555', phone_number_id: WA.phoneNumberId }, contacts: [{ profile: { name: 'A' }, wa_id: '4915100000002' }], messages: [{ from: '4915100000002', id: 'wamid.X2', timestamp: '1700000000', type: 'image', image: { id: media.id, sha256: media.sha256, mime_type: 'image/gif', caption: 'look' } }] }),
      wa.envelope({ messaging_product: 'whatsapp', metadata: { display_phone_number: '1555', phone_number_id: WA.phoneNumberId }, contacts: [{ profile: { name: 'A' }, wa_id: '4915100000003' }], messages: [{ from: '4915100000003', id: 'wamid.X3', timestamp: '1700000000', type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'b1', title: 'Yes' } } }] }),
      wa.envelope({ messaging_product: 'whatsapp', metadata: { display_phone_number: '1555', phone_number_id: WA.phoneNumberId }, statuses: [{ id: 'wamid.S1', status: 'failed', timestamp: '1700000000', recipient_id: '4915100000001', errors: [{ code: 131047, title: 'Re-engagement' }] }] }),
      wa.envelope({ messaging_product: 'whatsapp', metadata: { display_phone_number: '1555', phone_number_id: WA.phoneNumberId }, contacts: [{ profile: { name: 'A' }, wa_id: '4915100000004' }], messages: [{ from: '4915100000004', id: 'wamid.X4', timestamp: '1700000000', type: 'audio', audio: { id: media.id, mime_type: 'audio/ogg; codecs=opus', voice: true } }] }),
    ];
    const tgBases = [
      textUpdate({ chatId: 7001, text: 'hello' }),
      textUpdate({ chatId: 7002, extra: { photo: [{ file_id: 'f1', file_unique_id: 'u1', width: 10, height: 10, file_size: 100 }], caption: 'pic' } }),
      textUpdate({ chatId: 7003, extra: { voice: { file_id: 'v1', file_unique_id: 'uv1', duration: 2, mime_type: 'audio/ogg', file_size: 100 } } }),
      { update_id: 99, callback_query: { id: 'cq1', from: { id: 7004, is_bot: false, first_name: 'C' }, message: { message_id: 5, date: 1700000000, chat: { id: 7004, type: 'private' } }, data: 'approve:x' } },
      { update_id: 98, edited_message: { message_id: 6, date: 1700000000, edit_date: 1700000001, chat: { id: 7005, type: 'private' }, from: { id: 7005, is_bot: false, first_name: 'E' }, text: 'edited' } },
    ];
    const bad: string[] = [];
    for (let i = 0; i < 400; i++) {
      const w = mutate(pick(waBases));
      if (w?.entry?.[0]?.changes?.[0]?.value?.messages?.[0] && typeof w.entry[0].changes[0].value.messages[0] === 'object') w.entry[0].changes[0].value.messages[0].id = `wamid.F${i}`;
      const r1 = await wa.deliverRaw(hook, w);
      if (r1.status >= 500) bad.push(`wa ${r1.status} ${JSON.stringify(w).slice(0, 300)}`);
      const t = mutate(pick(tgBases));
      if (t && typeof t === 'object') t.update_id = 10000 + i;
      const r2 = await tg.deliver(TOKEN, t);
      if (r2.status >= 500) bad.push(`tg ${r2.status} ${JSON.stringify(t).slice(0, 300)}`);
    }
    // The channel still answers.
    const ok = await tg.deliver(TOKEN, textUpdate({ chatId: 7999, text: 'still there?' }));
    expect(ok.status).toBe(200);
    await eventually(() => tg.messagesTo(7999).length, 15000, 'reply after fuzz');
    expect(bad).toEqual([]);
  }, 300_000);
});
