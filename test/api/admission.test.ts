/**
 * One admission step for every way in. Each entry point that exists — the web chat, the message API,
 * /v1/chat/completions, Telegram and WhatsApp — is tried against an agent whose plan's monthly
 * messages are spent, that is paused, whose owner is suspended, and whose budget is spent; each is
 * refused with the same refusal (the same words, and on the HTTP ways in the same code and status)
 * and no model is called. Then each entry point's message is counted once against the plan.
 * Real server over real HTTP, fake upstreams; runs on PostgreSQL too (TEST_DATABASE_URL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, readSse, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeTelegram, textUpdate, type FakeTelegram } from '../fakes/telegram-server.js';
import { startFakeWhatsApp, type FakeWhatsApp } from '../fakes/whatsapp-server.js';

const BOTS = ['311111111:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDadm1', '322222222:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDadm2', '333333333:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDadm3', '344444444:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDadm4', '355555555:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDadm5'];
const WA = { token: 'EAAG-admission', phoneNumberId: '106540352242777', appSecret: 'admission-secret' };
const STOP = 'This month is used up — back on the 1st.';
const NO_ASSISTANT = 'No assistants are available on this number right now. Please try again later.';

/** What one way in answered: the words a person sees, and for HTTP ways in the status and code. */
type Seen = { text: string; status?: number; code?: string };
type Agent = { id: string; slug: string; name: string };
const ENTRY_POINTS = ['web chat', 'message API', '/v1/chat/completions', 'Telegram', 'WhatsApp'] as const;
type EntryPoint = (typeof ENTRY_POINTS)[number];

describe('every way in passes the same admission step', () => {
  let app: TestApp;
  let tg: FakeTelegram;
  let wa: FakeWhatsApp;
  let owner: string;
  let bot = 0;
  let phone = 0;
  let chatId = 8000;

  beforeAll(async () => {
    tg = await startFakeTelegram({ bots: BOTS.map((token, i) => ({ token, username: `AdmissionBot${i}` })) });
    wa = await startFakeWhatsApp({ token: WA.token, phoneNumberId: WA.phoneNumberId, appSecret: WA.appSecret });
    app = await startTestApp({ publicUrl: true, env: {
      TELEGRAM_API_ROOT: tg.apiRoot, WHATSAPP_TOKEN: WA.token, WHATSAPP_PHONE_NUMBER_ID: WA.phoneNumberId, WHATSAPP_APP_SECRET: WA.appSecret, WHATSAPP_GRAPH_URL: wa.graphUrl,
    } });
    owner = await app.owner();
    const plan = await app.api('/api/plans/metered', { method: 'PUT', token: owner, body: { name: 'Metered', description: 'For tests', priceUsdMonth: 1, maxAgents: 5, monthlyMessages: 0, monthlyCostUsd: null, tools: [], trialDays: 0, sort: 9 } });
    expect([200, 201]).toContain(plan.status);
    const five = await app.api('/api/plans/five', { method: 'PUT', token: owner, body: { name: 'Five', description: 'For tests', priceUsdMonth: 1, maxAgents: 5, monthlyMessages: 5, monthlyCostUsd: null, tools: [], trialDays: 0, sort: 10 } });
    expect([200, 201]).toContain(five.status);
  }, 30_000);
  afterAll(async () => { await app?.close(); await tg?.close(); await wa?.close(); });

  /** A customer with one agent that is listed (by the owner), on Telegram, and the only agent on the WhatsApp number. */
  async function customerAgent(name: string): Promise<{ customerId: string; agent: Agent; botToken: string; secret: string }> {
    const email = `${name.toLowerCase().replace(/\W+/g, '-')}@example.com`;
    const u = await app.api('/api/users', { token: owner, body: { email, password: 'correct horse battery', role: 'customer' } });
    expect(u.status, JSON.stringify(u.body)).toBe(201);
    const login = await app.api('/api/auth/login', { body: { email, password: 'correct horse battery' } });
    const agent = (await app.api('/api/agents', { token: login.body.token, body: { name, budgetStopMessage: STOP } })).body as Agent;
    for (const a of (await app.api('/api/agents', { token: owner })).body.agents) {
      if (a.listed) await app.api(`/api/agents/${a.id}`, { method: 'PATCH', token: owner, body: { listed: false } });
    }
    const botToken = BOTS[bot++]!;
    const r = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token: owner, body: { listed: true, telegramBotToken: botToken } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return { customerId: u.body.id, agent, botToken, secret: tg.bots.get(botToken)!.webhook!.secret! };
  }

  /** Sends one message through a way in and reports what came back. */
  async function send(entry: EntryPoint, x: { agent: Agent; botToken: string; secret: string }, text: string): Promise<Seen> {
    switch (entry) {
      case 'web chat': {
        const res = await fetch(`${app.url}/api/public/agents/${x.agent.slug}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
        if (res.status !== 200) {
          const body = (await res.json()) as { error: { code: string; message: string } };
          return { status: res.status, code: body.error.code, text: body.error.message };
        }
        const end = (await readSse(res)).find((f) => f.event === 'done' || f.event === 'error')!;
        return end.event === 'done' ? { status: 200, text: end.data.reply } : { status: 200, code: end.data.code, text: end.data.message };
      }
      case 'message API': {
        const r = await app.api(`/api/agents/${x.agent.id}/message`, { token: owner, body: { text } });
        return r.status === 200 ? { status: 200, text: r.body.reply } : { status: r.status, code: r.body.error.code, text: r.body.error.message };
      }
      case '/v1/chat/completions': {
        const r = await app.api('/v1/chat/completions', { token: owner, body: { model: x.agent.slug, messages: [{ role: 'user', content: text }] } });
        return r.status === 200 ? { status: 200, text: r.body.choices[0].message.content } : { status: r.status, code: r.body.error.code, text: r.body.error.message };
      }
      case 'Telegram': {
        const chat = chatId++;
        // Sent to the webhook with its secret: an update Telegram delivers as the agent is paused arrives just like this.
        const d = await tg.deliver(x.botToken, textUpdate({ chatId: chat, text }), { url: `${app.url}/webhooks/telegram/${x.agent.id}`, secret: x.secret });
        expect(d.status).toBe(200);
        return { text: (await eventually(() => tg.messagesTo(chat)[0], 5000, 'telegram reply'))! };
      }
      case 'WhatsApp': {
        const from = `55119700${String(phone++).padStart(5, '0')}`;
        await wa.deliverMessage(`${app.url}/webhooks/whatsapp`, { from, text });
        const m = await eventually(() => wa.sent.find((s) => s.to === from), 5000, 'whatsapp reply');
        return { text: m!.text ?? m!.body?.text?.body };
      }
    }
  }

  /** How each way in presents one refusal: the same words everywhere; on HTTP the code's status from the error table. */
  const refusal = (text: string, code: string, status: number, refusedInReply: boolean): Record<EntryPoint, Seen> => ({
    // The chat ways in answer a budget or plan refusal as the agent's reply (200), an agent that is not answering as an HTTP error.
    'web chat': refusedInReply ? { status: 200, text } : { status, code, text },
    'message API': refusedInReply ? { status: 200, text } : { status, code, text },
    '/v1/chat/completions': { status, code, text },
    Telegram: { text },
    WhatsApp: { text },
  });

  const conditions: { name: string; apply: (x: { customerId: string; agent: Agent }) => Promise<unknown>; expected: (agent: Agent) => Record<EntryPoint, Seen> }[] = [
    {
      name: "the plan's monthly messages are spent",
      apply: (x) => app.api(`/api/customers/${x.customerId}/plan`, { method: 'PUT', token: owner, body: { planId: 'metered', status: 'active' } }),
      expected: () => refusal(STOP, 'budget_exhausted', 429, true),
    },
    {
      name: 'the agent is paused',
      apply: (x) => app.api(`/api/agents/${x.agent.id}/pause`, { method: 'POST', token: owner }),
      expected: (agent) => ({
        ...refusal(`${agent.name} is paused and is not answering right now.`, 'agent_paused', 503, false),
        // On the shared number a paused agent is not a candidate at all: the number itself answers.
        WhatsApp: { text: NO_ASSISTANT },
      }),
    },
    {
      name: 'the owner is suspended',
      apply: (x) => app.api(`/api/users/${x.customerId}/suspend`, { method: 'POST', token: owner }),
      expected: (agent) => refusal(`Sorry — ${agent.name} is not available right now.`, 'budget_exhausted', 429, true),
    },
    {
      name: "the agent's budget is spent",
      apply: (x) => app.api(`/api/agents/${x.agent.id}`, { method: 'PATCH', token: owner, body: { monthlyBudgetUsd: 0 } }),
      expected: () => refusal(STOP, 'budget_exhausted', 429, true),
    },
  ];

  for (const [i, c] of conditions.entries()) {
    it(`refuses every way in identically, without a model call, when ${c.name}`, async () => {
      const x = await customerAgent(`Admission ${i}`);
      const applied = (await c.apply(x)) as { status: number };
      expect(applied.status).toBe(200);
      const calls = app.fake.requests().length;
      const seen = {} as Record<EntryPoint, Seen>;
      for (const entry of ENTRY_POINTS) seen[entry] = await send(entry, x, `hello through ${entry}`);
      expect(seen).toEqual(c.expected(x.agent));
      expect(app.fake.requests().length).toBe(calls);
    }, 30_000);
  }

  it("counts one message per way in against the plan, and refuses the next on every one of them", async () => {
    const x = await customerAgent('Admission Count');
    expect((await app.api(`/api/customers/${x.customerId}/plan`, { method: 'PUT', token: owner, body: { planId: 'five', status: 'active' } })).status).toBe(200);
    for (const entry of ENTRY_POINTS) expect((await send(entry, x, `one via ${entry}`)).text).toBe(`Echo: one via ${entry}`);
    const calls = app.fake.requests().length;
    const seen = {} as Record<EntryPoint, Seen>;
    for (const entry of ENTRY_POINTS) seen[entry] = await send(entry, x, `more via ${entry}`);
    expect(seen).toEqual(refusal(STOP, 'budget_exhausted', 429, true));
    expect(app.fake.requests().length).toBe(calls);
    const billing = await app.api('/api/billing', { token: (await app.api('/api/auth/login', { body: { email: 'admission-count@example.com', password: 'correct horse battery' } })).body.token });
    expect(billing.body.usage.messages).toBeGreaterThanOrEqual(5);
  }, 30_000);
});
