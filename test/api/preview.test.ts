/**
 * The agent editor's preview over real HTTP: chatting with an unsaved draft (nothing stored, billed as
 * usage with purpose "preview" and counted in budgets), the prompt preview, impersonating a person
 * read-only, and who may do which.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, readSse, startTestApp, type TestApp } from '../helpers/test-app.js';

const PASSWORD = 'correct horse battery';

describe('agent preview: chat with the unsaved agent, the prompt preview, impersonation', () => {
  let app: TestApp;
  let token: string;
  let agent: { id: string; slug: string; name: string };

  /** POSTs a preview message as `who` and reads the whole event stream. */
  const preview = async (agentId: string, body: unknown, who = token) => {
    const res = await fetch(`${app.url}/api/agents/${agentId}/preview`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${who}` }, body: JSON.stringify(body),
    });
    if (!res.headers.get('content-type')?.includes('text/event-stream')) return { status: res.status, body: await res.json() as any, frames: [] };
    return { status: res.status, body: null, frames: await readSse(res) };
  };
  const user = async (email: string, role: 'customer' | 'auditor') => {
    await app.api('/api/users', { token, body: { email, password: PASSWORD, role } });
    return (await app.api('/api/auth/login', { body: { email, password: PASSWORD } })).body.token as string;
  };
  const sent = () => app.fake.requests() as any[];
  const usageByChannel = async (agentId: string) => {
    const to = new Date(Date.now() + 86_400_000).toISOString();
    return app.server.services.store.analytics.usageByChannel({ agentIds: [agentId], from: '2000-01-01T00:00:00.000Z', to });
  };

  beforeAll(async () => {
    app = await startTestApp();
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Garden Helper', persona: { soul: 'You love plants.' } } })).body;
  });
  afterAll(async () => { await app?.close(); });
  beforeEach(() => app.fake.reset());

  it('answers with the draft persona, model settings and history, streamed like the chat, and stores nothing', async () => {
    const before = (await app.api(`/api/agents/${agent.id}`, { token })).body;
    const r = await preview(agent.id, {
      text: 'What should I plant?',
      draft: { persona: { soul: 'DRAFT: you only talk about cacti.' }, temperature: 1.3 },
      history: [{ role: 'user', content: 'Hi there' }, { role: 'assistant', content: 'Hello! Ask me about plants.' }],
    });
    expect(r.status).toBe(200);
    expect(r.frames.map((f) => f.event)[0]).toBe('start');
    expect(r.frames.filter((f) => f.event === 'delta').map((f) => f.data.text).join('')).toBe('Echo: What should I plant?');
    const done = r.frames.at(-1)!;
    expect(done.event).toBe('done');
    expect(done.data.reply).toBe('Echo: What should I plant?');
    expect(done.data.usage.costUsd).toBeGreaterThan(0);

    // The model got the draft, not the stored persona, and the turns the editor sent back.
    const call = sent()[0]!;
    expect(call.messages[0].role).toBe('system');
    expect(call.messages[0].content).toContain('DRAFT: you only talk about cacti.');
    expect(call.messages[0].content).not.toContain('You love plants.');
    expect(call.temperature).toBeCloseTo(1.3);
    expect(call.messages.slice(1).map((m: { role: string; content: string }) => [m.role, m.content])).toEqual([
      ['user', 'Hi there'], ['assistant', 'Hello! Ask me about plants.'], ['user', 'What should I plant?'],
    ]);

    // The agent is as it was, and no conversation or message was stored.
    const after = (await app.api(`/api/agents/${agent.id}`, { token })).body;
    expect(after.persona.soul).toBe('You love plants.');
    expect(after.temperature).toBe(before.temperature);
    expect(after.version).toBe(before.version);
    expect((await app.api(`/api/agents/${agent.id}/conversations`, { token })).body.conversations).toEqual([]);
    expect((await app.api(`/api/agents/${agent.id}/people`, { token })).body.people).toEqual([]);
  });

  it('records the call as usage on the preview channel with purpose preview, and counts it in the agent budget', async () => {
    const spentBefore = (await app.api(`/api/agents/${agent.id}/budget`, { token })).body.spentUsd;
    const r = await preview(agent.id, { text: 'Count me' });
    expect(r.frames.at(-1)!.event).toBe('done');
    const budget = (await app.api(`/api/agents/${agent.id}/budget`, { token })).body;
    expect(budget.spentUsd).toBeGreaterThan(spentBefore);
    expect((await usageByChannel(agent.id)).find((b) => b.key === 'preview')?.requests).toBeGreaterThanOrEqual(1);
    const metrics = await fetch(`${app.url}/metrics`).then((x) => x.text());
    expect(metrics).toMatch(/model_calls_total\{[^}]*purpose="preview"[^}]*\} [1-9]/);
  });

  it('cuts the model call when the editor goes away (the attempt is still billed as an error row)', async () => {
    const quiet = (await app.api('/api/agents', { token, body: { name: 'Hanging Bot' } })).body;
    app.fake.enqueue({ kind: 'hang' });
    const ctl = new AbortController();
    const res = await fetch(`${app.url}/api/agents/${quiet.id}/preview`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ text: 'Are you there?' }), signal: ctl.signal,
    });
    expect(res.status).toBe(200);
    await eventually(() => sent().length === 1, 5000, 'the model call');
    ctl.abort();
    const row = await eventually(async () => (await usageByChannel(quiet.id)).find((b) => b.key === 'preview'), 2000, 'the usage row of the cut call (sooner than the 3 s model timeout)');
    expect(row!.requests).toBe(1);
  });

  it('refuses a preview the way chat is refused once the budget is spent: the stop message, no model call', async () => {
    const spent = (await app.api('/api/agents', { token, body: { name: 'Broke Bot', monthlyBudgetUsd: 0, budgetStopMessage: 'Budget is used up.' } })).body;
    const r = await preview(spent.id, { text: 'Hello?' });
    expect(r.status).toBe(200);
    const done = r.frames.at(-1)!;
    expect(done.event).toBe('done');
    expect(done.data).toMatchObject({ reply: 'Budget is used up.', budgetStopped: true });
    const chat = await app.api(`/api/agents/${spent.id}/message`, { token, body: { text: 'Hello?', userId: 'p' } });
    expect(chat.body.reply).toBe(done.data.reply);
    expect(sent()).toEqual([]);
  });

  it('lets the owner preview a paused agent (that is when a persona gets fixed)', async () => {
    const paused = (await app.api('/api/agents', { token, body: { name: 'Sleepy' } })).body;
    await app.api(`/api/agents/${paused.id}/pause`, { method: 'POST', token });
    const r = await preview(paused.id, { text: 'Awake?' });
    expect(r.frames.at(-1)!.data.reply).toBe('Echo: Awake?');
  });

  it('shows the exact system prompt and its token estimate, for the stored agent (GET) and for a draft (POST)', async () => {
    const stored = await app.api(`/api/agents/${agent.id}/prompt-preview`, { token });
    expect(stored.status).toBe(200);
    expect(stored.body.system).toContain('You are Garden Helper.');
    expect(stored.body.system).toContain('You love plants.');
    expect(stored.body.tokens).toBe(Math.ceil(stored.body.system.length / 4));

    const drafted = await app.api(`/api/agents/${agent.id}/prompt-preview`, { token, body: { draft: { persona: { instructions: 'Always answer in haiku. '.repeat(20) } } } });
    expect(drafted.status).toBe(200);
    expect(drafted.body.system).toContain('## Custom instructions');
    expect(drafted.body.system).toContain('Always answer in haiku.');
    expect(drafted.body.tokens).toBeGreaterThan(stored.body.tokens);

    // It is the prompt the preview chat then sends.
    await preview(agent.id, { text: 'Hi', draft: { persona: { instructions: 'Always answer in haiku. '.repeat(20) } } });
    expect(sent()[0]!.messages[0].content).toBe(drafted.body.system);
  });

  it('names the field of a bad draft or body', async () => {
    const hot = await preview(agent.id, { text: 'Hi', draft: { temperature: 5 } });
    expect(hot.status).toBe(400);
    expect(hot.body.error.fields.map((f: { path: string }) => f.path)).toContain('draft.temperature');
    const tool = await preview(agent.id, { text: 'Hi', draft: { tools: { allow: ['teleport'], deny: [], requireApproval: [] } } });
    expect(tool.status).toBe(400);
    expect(tool.body.error.fields[0].path).toBe('draft.tools.allow.0');
    const model = await app.api(`/api/agents/${agent.id}/prompt-preview`, { token, body: { draft: { model: 'nope:nothing' } } });
    expect(model.status).toBe(400);
    expect(model.body.error.fields[0].path).toBe('draft.model');
    const long = await preview(agent.id, { text: 'Hi', history: Array.from({ length: 51 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'x' })) });
    expect(long.status).toBe(400);
    expect(long.body.error.fields[0].path).toBe('history');
    const big = await preview(agent.id, { text: 'Hi', history: [{ role: 'user', content: 'y'.repeat(16_001) }] });
    expect(big.status).toBe(400);
    expect(big.body.error).toMatchObject({ code: 'message_too_long' });
    expect(big.body.error.fields[0].path).toBe('history.0.content');
    expect(sent()).toEqual([]);
  });

  describe('impersonation: open as this person', () => {
    let personId: string;
    const NOTE = '- prefers succulents over ferns';

    beforeAll(async () => {
      await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { tools: { allow: ['group:memory'], deny: [], requireApproval: [] } } });
      const chat = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'My balcony faces north and gets little sun', userId: 'alice' } });
      await app.api(`/api/conversations/${chat.body.conversationId}/close`, { method: 'POST', token });
      await app.server.services.queue.drain();
      personId = (await app.api(`/api/agents/${agent.id}/people`, { token })).body.people[0].id;
      await app.server.services.store.notes.append(agent.id, personId, 'MEMORY.md', `${NOTE}\n`, 65_536);
    });

    const snapshot = async () => ({
      conversations: (await app.api(`/api/agents/${agent.id}/conversations`, { token })).body.conversations.length,
      summaries: (await app.api(`/api/agents/${agent.id}/summaries`, { token })).body.items.map((s: { id: string }) => s.id),
      note: (await app.server.services.store.notes.get(agent.id, personId, 'MEMORY.md'))?.content,
      shared: (await app.server.services.store.workspace.get(agent.id, 'MEMORY.md'))?.content,
      daily: (await app.server.services.store.notes.get(agent.id, personId, `memory/${new Date().toISOString().slice(0, 10)}.md`))?.content,
    });

    it("puts the person's summaries and notes in the prompt preview", async () => {
      const r = await app.api(`/api/agents/${agent.id}/prompt-preview?personId=${encodeURIComponent(personId)}`, { token });
      expect(r.status).toBe(200);
      expect(r.body.system).toContain('## What you remember about this person');
      expect(r.body.system).toContain('balcony faces north');
      expect(r.body.system).toContain(NOTE);
      // Without impersonation the preview person has no memory.
      const plain = await app.api(`/api/agents/${agent.id}/prompt-preview`, { token });
      expect(plain.body.system).not.toContain(NOTE);
      expect(plain.body.system).not.toContain('balcony faces north');
    });

    it('chats with their memory and writes nothing: memory_write does not run, nothing is stored for them', async () => {
      const before = await snapshot();
      app.fake.enqueue({ kind: 'tool_calls', calls: [{ name: 'memory_write', arguments: JSON.stringify({ note: 'PREVIEW WROTE THIS', file: 'memory' }) }] });
      const r = await preview(agent.id, { text: 'What grows on my balcony?', personId });
      expect(r.frames.at(-1)!.event).toBe('done');
      const [first, second] = sent();
      expect(first!.messages[0].content).toContain(NOTE);
      expect(first!.messages[0].content).toContain('balcony faces north');
      // The model was told the tool did not run.
      const toolResult = second!.messages.find((m: { role: string }) => m.role === 'tool');
      expect(toolResult.content).toMatch(/not run.*preview changes nothing/);
      expect(await snapshot()).toEqual(before);
      expect(JSON.stringify(await snapshot())).not.toContain('PREVIEW WROTE THIS');
    });

    it('refuses a person who never talked with this agent', async () => {
      const other = (await app.api('/api/agents', { token, body: { name: 'Other Agent' } })).body;
      const r = await preview(other.id, { text: 'Hi', personId });
      expect(r.status).toBe(404);
      expect(r.body.error.fields[0].path).toBe('personId');
      expect((await app.api(`/api/agents/${other.id}/prompt-preview?personId=nobody`, { token })).status).toBe(404);
      expect(sent()).toEqual([]);
    });
  });

  describe('who may preview', () => {
    let mine: { id: string };
    let customer: string;
    let stranger: string;
    let auditor: string;

    beforeAll(async () => {
      customer = await user('cust-a@example.com', 'customer');
      stranger = await user('cust-b@example.com', 'customer');
      auditor = await user('audit@example.com', 'auditor');
      mine = (await app.api('/api/agents', { token: customer, body: { name: 'Customer Bot' } })).body;
    });

    it('lets a customer preview their own agent', async () => {
      const r = await preview(mine.id, { text: 'Mine', draft: { persona: { soul: 'Draft soul' } } }, customer);
      expect(r.frames.at(-1)!.data.reply).toBe('Echo: Mine');
      expect((await app.api(`/api/agents/${mine.id}/prompt-preview`, { token: customer, body: { draft: { persona: { soul: 'Draft soul' } } } })).body.system).toContain('Draft soul');
    });

    it("answers 404 to another customer, for the chat and the prompt, and for the operator's agents", async () => {
      expect((await preview(mine.id, { text: 'Intrude' }, stranger)).status).toBe(404);
      expect((await app.api(`/api/agents/${mine.id}/prompt-preview`, { token: stranger })).status).toBe(404);
      expect((await app.api(`/api/agents/${mine.id}/prompt-preview`, { token: stranger, body: {} })).status).toBe(404);
      expect((await preview(agent.id, { text: 'Intrude' }, customer)).status).toBe(404);
      expect(sent()).toEqual([]);
    });

    it('lets an auditor read the prompt preview but not chat (403)', async () => {
      expect((await preview(mine.id, { text: 'Audit' }, auditor)).status).toBe(403);
      const r = await app.api(`/api/agents/${mine.id}/prompt-preview`, { token: auditor });
      expect(r.status).toBe(200);
      expect(r.body.system).toContain('You are Customer Bot.');
      expect(sent()).toEqual([]);
    });

    it('lets the owner see any agent', async () => {
      expect((await preview(mine.id, { text: 'Owner here' })).frames.at(-1)!.data.reply).toBe('Echo: Owner here');
    });
  });
});
