import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeTelegram, telegramErrors, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';
import type { ChatRequest } from '../fakes/openai-server.js';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';
const TOKEN2 = '987654321:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw2';

describe('Telegram, webhook mode (PUBLIC_URL set)', () => {
  let app: TestApp;
  let tg: FakeTelegram;
  let token: string;
  let agent: { id: string; slug: string };

  beforeAll(async () => {
    tg = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'RecipeHelperBot' }, { token: TOKEN2, username: 'OtherBot' }] });
    app = await startTestApp({ publicUrl: true, env: { TELEGRAM_API_ROOT: tg.apiRoot } });
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Recipe Helper', template: 'recipe-helper' } })).body;
  });
  afterAll(async () => { await app?.close(); await tg?.close(); });
  beforeEach(() => { app.fake.reset(); });

  const connect = () => app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: TOKEN } });

  it('refuses a bad token with a clear error and saves nothing', async () => {
    const malformed = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: 'not-a-token', description: 'changed' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.fields[0].path).toBe('telegramBotToken');
    const unknown = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: '111111111:ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ', description: 'changed' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/Telegram rejected this token/);
    const now = (await app.api(`/api/agents/${agent.id}`, { token })).body;
    expect(now.description).not.toBe('changed');
    expect(now.channels.telegram).toBeNull();
  });

  it('checks a token before use, and refuses a bot another agent already uses', async () => {
    const ok = await app.api('/api/telegram/check', { token, body: { token: TOKEN2 } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ username: 'OtherBot', link: 'https://t.me/OtherBot' });
    const bad = await app.api('/api/telegram/check', { token, body: { token: 'nope' } });
    expect(bad.status).toBe(400);
    const other = (await app.api('/api/agents', { token, body: { name: 'Second Bot Agent' } })).body;
    expect((await app.api(`/api/agents/${other.id}`, { method: 'PATCH', token, body: { telegramBotToken: TOKEN2 } })).status).toBe(200);
    const taken = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: TOKEN2 } });
    expect(taken.status).toBe(400);
    expect(taken.body.error.fields[0].message).toMatch(/already connected to another agent/);
    expect((await app.api('/api/telegram/check', { token, body: { token: TOKEN2, agentId: other.id } })).status).toBe(200);
    await app.api(`/api/agents/${other.id}`, { method: 'DELETE', token });
  });

  it('connects a bot: getMe, a webhook with a secret, the @username and t.me link, never the token', async () => {
    const r = await connect();
    expect(r.status).toBe(200);
    expect(r.body.channels.telegram).toMatchObject({ username: 'RecipeHelperBot', link: 'https://t.me/RecipeHelperBot', mode: 'webhook' });
    const bot = tg.bots.get(TOKEN)!;
    expect(bot.webhook!.url).toBe(`${app.url}/webhooks/telegram/${agent.id}`);
    expect(bot.webhook!.secret).toMatch(/^[A-Za-z0-9_-]{20,256}$/);
    const shown = await app.api(`/api/agents/${agent.id}`, { token });
    expect(shown.body.channels.telegram.username).toBe('RecipeHelperBot');
    expect(JSON.stringify(shown.body)).not.toContain(TOKEN.split(':')[1]);
    expect(JSON.stringify((await app.api('/api/agents', { token })).body)).not.toContain(TOKEN.split(':')[1]);
  });

  it('answers a message, with "typing…" while the model works', async () => {
    await connect();
    const res = await tg.deliver(TOKEN, textUpdate({ chatId: 5001, text: 'Pasta tonight?' }));
    expect(res.status).toBe(200);
    const replies = await eventually(() => tg.messagesTo(5001).length && tg.messagesTo(5001), 5000, 'reply');
    expect(replies).toEqual(['Echo: Pasta tonight?']);
    expect(tg.bots.get(TOKEN)!.chatActions.some((a) => String(a.chatId) === '5001' && a.action === 'typing')).toBe(true);
    const hist = (await app.api(`/api/agents/${agent.id}/history`, { token })).body.messages;
    expect(hist.slice(-2).map((m: { channel: string; role: string }) => [m.channel, m.role])).toEqual([['telegram', 'user'], ['telegram', 'assistant']]);
  });

  it('stores and answers a message holding a NUL character, which PostgreSQL text cannot hold', async () => {
    await connect();
    const res = await tg.deliver(TOKEN, textUpdate({ chatId: 5040, firstName: 'N\u0000ul', text: 'before\u0000after' }));
    expect(res.status).toBe(200);
    const replies = await eventually(() => tg.messagesTo(5040).length && tg.messagesTo(5040), 5000, 'reply');
    // SQLite keeps the NUL; PostgreSQL stores U+FFFD in its place (src/store/dialects/postgres.ts).
    expect(replies).toEqual([expect.stringMatching(/^Echo: before[\u0000\uFFFD]after$/)]);
  });

  it('shows a Telegram person by the name Telegram gives, and keeps it current (issue 14.2)', async () => {
    await connect();
    await tg.deliver(TOKEN, textUpdate({ chatId: 5020, firstName: 'Bea', text: 'hi' }));
    await eventually(() => tg.messagesTo(5020).length === 1, 5000, 'reply');
    const people = async () => (await app.api(`/api/agents/${agent.id}/people`, { token })).body.people
      .map((p: { person: { label: string; identities: { externalId: string }[] } }) => p.person)
      .find((p: { identities: { externalId: string }[] }) => p.identities.some((i) => i.externalId === '5020'));
    expect((await people()).label).toBe('Bea');
    await tg.deliver(TOKEN, textUpdate({ chatId: 5020, firstName: 'Beatriz', text: 'renamed' }));
    await eventually(() => tg.messagesTo(5020).length === 2, 5000, 'second reply');
    expect((await people()).label).toBe('Beatriz');
  });

  it('formats Markdown replies as Telegram HTML and escapes anything else', async () => {
    await connect();
    app.fake.setDefault(() => '**Carbonara**: eggs & `guanciale` <script>x</script>\n\n- pasta\n- pecorino');
    await tg.deliver(TOKEN, textUpdate({ chatId: 5010, text: 'format please' }));
    await eventually(() => tg.messagesTo(5010).length === 1, 5000, 'reply');
    const sent = tg.sent.find((m) => String(m.chatId) === '5010')!;
    expect(sent.parseMode).toBe('HTML');
    expect(sent.text).toBe('<b>Carbonara</b>: eggs &amp; <code>guanciale</code> &lt;script&gt;x&lt;/script&gt;\n\n• pasta\n• pecorino');
  });

  it('delivers a reply nested deeper than Markdown can be read, as text', async () => {
    // 3,000 `>` overflowed marked's stack: the reply failed on every attempt and never reached the person.
    await connect();
    const deep = `Quoting you:\n${'>'.repeat(5_000)} <b>`;
    app.fake.setDefault(() => deep);
    await tg.deliver(TOKEN, textUpdate({ chatId: 5011, text: 'quote me, deeply' }));
    await eventually(() => tg.messagesTo(5011).length >= 2, 5000, 'reply');
    const sent = tg.sent.filter((m) => String(m.chatId) === '5011');
    expect(sent.map((m) => m.text).join('')).toContain('&gt;'.repeat(1_000));
    expect(sent.every((m) => m.text.length <= 4096 && !m.text.includes('<b>'))).toBe(true);
  });

  it('refuses requests without the right secret token and processes nothing', async () => {
    await connect();
    const missing = await tg.deliver(TOKEN, textUpdate({ chatId: 5002, text: 'forged' }), { secret: null });
    const wrong = await tg.deliver(TOKEN, textUpdate({ chatId: 5002, text: 'forged' }), { secret: 'wrong-secret-value' });
    expect(missing.status).toBe(401);
    expect(wrong.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(tg.messagesTo(5002)).toEqual([]);
    expect((app.fake.requests() as any[])).toHaveLength(0);
  });

  it('checks the secret before the body: a forged request is 401 whatever it carries, a bad body with the right secret 400', async () => {
    await connect();
    const secret = tg.bots.get(TOKEN)!.webhook!.secret!;
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${app.url}/webhooks/telegram/${agent.id}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then((r) => r.status);
    for (const body of ['not json at all', '[1, 2]', '{"no_update_id": true}', '']) {
      expect(await post(body)).toBe(401);
      expect(await post(body, { 'x-telegram-bot-api-secret-token': 'wrong-secret-value' })).toBe(401);
    }
    expect(await post('not json at all', { 'x-telegram-bot-api-secret-token': secret })).toBe(400);
    expect(await post('{"no_update_id": true}', { 'x-telegram-bot-api-secret-token': secret })).toBe(400);
    expect((app.fake.requests() as any[])).toHaveLength(0);
  });

  it('skips an authentic update whose message has an unexpected shape, with a 200 so Telegram does not redeliver it', async () => {
    await connect();
    const noChat = textUpdate({ chatId: 5041, text: 'no chat' });
    delete noChat.message.chat;
    const badPhoto = textUpdate({ chatId: 5041, extra: { photo: [null], caption: 'pic' } });
    const textObject = textUpdate({ chatId: 5041, text: 'x' });
    textObject.message.text = { evil: true };
    for (const u of [noChat, badPhoto, textObject]) expect((await tg.deliver(TOKEN, u)).status).toBe(200);
    expect((await tg.deliver(TOKEN, textUpdate({ chatId: 5041, text: 'and a good one' }))).status).toBe(200);
    await eventually(() => tg.messagesTo(5041).length, 5000, 'reply');
    await new Promise((r) => setTimeout(r, 200));
    expect(tg.messagesTo(5041)).toEqual(['Echo: and a good one']);
  });

  it('answers a redelivered update once', async () => {
    await connect();
    await tg.deliver(TOKEN, textUpdate({ chatId: 5003, text: 'once please' }));
    const again = await tg.replay(-1);
    expect(again.status).toBe(200);
    await eventually(() => tg.messagesTo(5003).length === 1, 5000, 'reply');
    await new Promise((r) => setTimeout(r, 300));
    expect(tg.messagesTo(5003)).toEqual(['Echo: once please']);
    expect((app.fake.requests() as any[])).toHaveLength(1);
  });

  it('keeps order within a chat while chats run in parallel', async () => {
    await connect();
    const texts = ['one', 'two', 'three', 'four'];
    await Promise.all([
      ...texts.map((t, i) => tg.deliver(TOKEN, textUpdate({ chatId: 6001, text: t, updateId: 700_000 + i }))),
      ...texts.map((t, i) => tg.deliver(TOKEN, textUpdate({ chatId: 6002, text: t, updateId: 710_000 + i }))),
    ]);
    await eventually(() => tg.messagesTo(6001).length === 4 && tg.messagesTo(6002).length === 4, 8000, 'eight replies');
    expect(tg.messagesTo(6001)).toEqual(texts.map((t) => `Echo: ${t}`));
    expect(tg.messagesTo(6002)).toEqual(texts.map((t) => `Echo: ${t}`));
  });

  it('splits long, emoji-heavy replies into messages Telegram accepts', async () => {
    await connect();
    const long = `${'Stir the sauce gently. '.repeat(150)}\n\n${'😀'.repeat(2049)}`;
    app.fake.setDefault(() => long);
    await tg.deliver(TOKEN, textUpdate({ chatId: 5004, text: 'long one' }));
    const parts = (await eventually(() => tg.messagesTo(5004).length >= 3 && tg.messagesTo(5004), 8000, 'split reply')) as string[];
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect(/[\uD800-\uDBFF]$/.test(p)).toBe(false);
    }
    expect(parts.join('').replace(/\s+/g, '')).toBe(long.replace(/\s+/g, ''));
  });

  it('waits out a 429 retry_after and then delivers', async () => {
    await connect();
    tg.enqueue('sendMessage', telegramErrors.tooManyRequests(1));
    const t0 = Date.now();
    await tg.deliver(TOKEN, textUpdate({ chatId: 5005, text: 'rate limited' }));
    await eventually(() => tg.messagesTo(5005).length === 1, 8000, 'reply after 429');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(tg.messagesTo(5005)).toEqual(['Echo: rate limited']);
  });

  it('treats "blocked by the user" as final and shows the error on the agent', async () => {
    await connect();
    tg.enqueue('sendMessage', telegramErrors.blocked());
    await tg.deliver(TOKEN, textUpdate({ chatId: 5006, text: 'are you there' }));
    const a = await eventually(async () => {
      const v = (await app.api(`/api/agents/${agent.id}`, { token })).body;
      return v.channels.telegram.lastError ? v : undefined;
    }, 5000, 'lastError');
    expect(a.channels.telegram.lastError).toMatch(/blocked/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(tg.calls('sendMessage').filter((c) => String(c.params.chat_id) === '5006')).toHaveLength(1);
  });

  it('sends approval notices to the chat the request came from, as Telegram HTML', async () => {
    await connect();
    const { allow, deny, requireApproval } = (await app.api(`/api/agents/${agent.id}`, { token })).body.tools;
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { tools: { allow: ['group:fs'], deny: [], requireApproval: ['write'] } } });
    app.fake.setDefault((req: ChatRequest) => {
      const last = req.messages?.at(-1);
      if (last?.role === 'tool') return 'Waiting for the owner.';
      return { kind: 'tool_calls' as const, calls: [{ name: 'write', arguments: JSON.stringify({ path: 'notes.md', content: 'salt & pepper' }) }] };
    });
    try {
      await tg.deliver(TOKEN, textUpdate({ chatId: 5030, text: 'note the seasoning' }));
      await eventually(() => tg.messagesTo(5030).some((t) => /wants to run "write"/.test(t)), 5000, 'held notice');
      const [req] = (await app.api('/api/approvals?status=pending', { token })).body.approvals;
      expect((await app.api(`/api/approvals/${req.id}/approve`, { method: 'POST', token })).status).toBe(200);
      const done = await eventually(() => tg.messagesTo(5030).find((t) => t.startsWith('✅ Approved')), 5000, 'approved notice');
      expect(done).toContain('Wrote notes.md');
      expect(tg.sent.filter((m) => String(m.chatId) === '5030').every((m) => m.parseMode === 'HTML')).toBe(true);
    } finally {
      await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { tools: { allow, deny, requireApproval } } });
    }
  });

  it('stops on pause, starts on resume, and disconnects with an empty token', async () => {
    await connect();
    await app.api(`/api/agents/${agent.id}/pause`, { method: 'POST', token });
    expect(tg.bots.get(TOKEN)!.webhook).toBeNull();
    await app.api(`/api/agents/${agent.id}/resume`, { method: 'POST', token });
    expect(tg.bots.get(TOKEN)!.webhook?.url).toContain(agent.id);
    const off = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: '' } });
    expect(off.body.channels.telegram).toBeNull();
    expect(tg.bots.get(TOKEN)!.webhook).toBeNull();
    const late = await tg.deliver(TOKEN, textUpdate({ chatId: 5007, text: 'anyone?' }), { url: `${app.url}/webhooks/telegram/${agent.id}`, secret: 'whatever' });
    expect(late.status).toBe(404);
  });
});

describe('Telegram, after PUBLIC_URL changes', () => {
  it('a bot connected while polling takes webhooks once the server restarts with PUBLIC_URL', async () => {
    const tg = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'MovingBot' }], maxPollWaitMs: 200 });
    const first = await startTestApp({ env: { TELEGRAM_API_ROOT: tg.apiRoot, SWITCHBOARD_TELEGRAM_POLL_TIMEOUT_S: '1' } });
    let second: TestApp | undefined;
    try {
      const token = await first.owner();
      const agent = (await first.api('/api/agents', { token, body: { name: 'Mover' } })).body;
      const r = await first.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: TOKEN } });
      expect(r.body.channels.telegram.mode).toBe('polling');
      // The old process stops receiving and answering; a new one starts on the same data with PUBLIC_URL.
      first.server.services.telegram.stopAll();
      await first.server.services.inbox.stop();
      second = await startTestApp({ publicUrl: true, shareWith: first, env: { TELEGRAM_API_ROOT: tg.apiRoot } });
      expect(tg.bots.get(TOKEN)!.webhook?.url).toBe(`${second.url}/webhooks/telegram/${agent.id}`);
      expect((await second.api(`/api/agents/${agent.id}`, { token })).body.channels.telegram.mode).toBe('webhook');
      const res = await tg.deliver(TOKEN, textUpdate({ chatId: 4242, text: 'still there?' }));
      expect(res.status).toBe(200);
      await eventually(() => tg.messagesTo(4242).length === 1, 5000, 'reply after the restart');
      expect(tg.messagesTo(4242)).toEqual(['Echo: still there?']);
    } finally {
      await second?.close();
      await first.close();
      await tg.close();
    }
  });
});

describe('Telegram, long polling (no PUBLIC_URL)', () => {
  it('polls getUpdates and answers, so a laptop install needs no tunnel', async () => {
    const tg = await startFakeTelegram({ bots: [{ token: TOKEN, username: 'PollBot' }], maxPollWaitMs: 200 });
    const app = await startTestApp({ env: { TELEGRAM_API_ROOT: tg.apiRoot, SWITCHBOARD_TELEGRAM_POLL_TIMEOUT_S: '1' } });
    try {
      const token = await app.owner();
      const agent = (await app.api('/api/agents', { token, body: { name: 'Poller' } })).body;
      const r = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { telegramBotToken: TOKEN } });
      expect(r.body.channels.telegram).toMatchObject({ username: 'PollBot', mode: 'polling' });
      tg.pushUpdate(TOKEN, textUpdate({ chatId: 2 ** 33, text: 'hello from polling' }));
      await eventually(() => tg.messagesTo(2 ** 33).length === 1, 8000, 'polled reply');
      expect(tg.messagesTo(2 ** 33)).toEqual(['Echo: hello from polling']);
      await app.api(`/api/agents/${agent.id}/pause`, { method: 'POST', token });
      tg.pushUpdate(TOKEN, textUpdate({ chatId: 77, text: 'while paused' }));
      await new Promise((r) => setTimeout(r, 600));
      expect(tg.messagesTo(77)).toEqual([]);
    } finally {
      await app.close();
      await tg.close();
    }
  });
});
