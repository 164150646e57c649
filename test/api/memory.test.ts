/**
 * Conversation memory over real HTTP: sessions end (timeout, close, new conversation), a durable job
 * summarizes them once, later sessions remember, recall works through the model's memory_search tool,
 * and nothing crosses between people, agents or customers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, manualClock, type TestApp } from '../helpers/test-app.js';
import { contentText, echoReply, type ChatRequest } from '../fakes/openai-server.js';

const SUMMARY_MARK = 'You write the memory of a conversation';
const COMPACT_MARK = 'You keep a running summary';

/** The fake model: summaries list the person's words; "Recall …" makes it call memory_search; tool results are read back. */
function memoryModel(req: ChatRequest) {
  const msgs = req.messages ?? [];
  const system = contentText(msgs.find((m: any) => m.role === 'system')?.content);
  const last = msgs[msgs.length - 1];
  if (system.includes(SUMMARY_MARK)) {
    const said = [...contentText(last?.content).matchAll(/Person: (.*)/g)].map((m) => m[1]).join('; ');
    return `## Topics\n- ${said}\n## Facts the person shared\n- ${said}`;
  }
  if (system.includes(COMPACT_MARK)) return `Earlier they talked about: ${contentText(last?.content).slice(-200).replace(/\s+/g, ' ')}`;
  if (last?.role === 'tool') return `From memory: ${contentText(last.content)}`;
  const text = contentText(last?.content);
  const recall = /^Recall (.*)$/i.exec(text);
  if (recall && req.tools?.some((t: any) => t.function?.name === 'memory_search')) {
    return { kind: 'tool_calls' as const, calls: [{ name: 'memory_search', arguments: JSON.stringify({ query: recall[1] }) }] };
  }
  const note = /^Note: (.*)$/i.exec(text);
  if (note) return { kind: 'tool_calls' as const, calls: [{ name: 'memory_write', arguments: JSON.stringify({ note: note[1] }) }] };
  return echoReply(req);
}

const systemOf = (req: ChatRequest) => contentText(req.messages?.find((m: any) => m.role === 'system')?.content);

describe('conversation memory', () => {
  let app: TestApp;
  let token: string;
  const clock = manualClock(Date.parse('2026-11-20T10:00:00Z'));
  let recipes: string;
  let maths: string;

  const say = async (agentId: string, userId: string, text: string) => {
    const r = await app.api(`/api/agents/${agentId}/message`, { token, body: { text, userId } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as { reply: string; conversationId: string };
  };
  const summaryOf = (conversationId: string) => eventually(async () => {
    const r = await app.api(`/api/conversations/${conversationId}`, { token });
    return r.body.summary && r.body.summaryStatus === 'ready' ? r.body : undefined;
  }, 8000, `summary of ${conversationId}`);

  beforeAll(async () => {
    app = await startTestApp({ clock, env: { SWITCHBOARD_JOB_RETRY_SECONDS: '1', SWITCHBOARD_SESSION_SWEEP_SECONDS: '3600' } });
    app.fake.setDefault(memoryModel);
    token = await app.owner();
    recipes = (await app.api('/api/agents', { token, body: { name: 'Recipe Helper' } })).body.id;
    maths = (await app.api('/api/agents', { token, body: { name: 'Maths Tutor' } })).body.id;
  });
  afterAll(() => app?.close());

  it('accepts the session settings and refuses nonsense naming the field', async () => {
    const ok = await app.api(`/api/agents/${recipes}`, { method: 'PATCH', token, body: { sessionTimeoutMinutes: 30, contextTokenBudget: 8000 } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ sessionTimeoutMinutes: 30, contextTokenBudget: 8000, memoryTools: true });
    const bad = await app.api(`/api/agents/${recipes}`, { method: 'PATCH', token, body: { sessionTimeoutMinutes: 0, contextTokenBudget: 10 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: any) => f.path).sort()).toEqual(['contextTokenBudget', 'sessionTimeoutMinutes']);
  });

  it('ends a session after inactivity, summarizes it once, and the next session starts knowing it', async () => {
    const first = await say(recipes, 'alice', 'I want a vegan lasagne for six people');
    await say(recipes, 'alice', 'No mushrooms please, my daughter hates them');
    clock.advance(31 * 60_000);
    expect(await app.server.services.memory.sweep()).toBeGreaterThanOrEqual(1);
    const closed = await summaryOf(first.conversationId);
    expect(closed).toMatchObject({ status: 'closed', closedReason: 'timeout', summaryStatus: 'ready' });
    expect(closed.summary.summary).toContain('vegan lasagne');
    expect(closed.summary).toMatchObject({ userId: 'alice', conversationId: first.conversationId });
    expect(closed.summary.inputTokens).toBeGreaterThan(0);

    // The summary call is counted as usage (budgets see it).
    const usage = await app.api('/api/usage?from=2026-11-01&to=2026-12-31', { token });
    expect(usage.status).toBe(200);

    app.fake.reset();
    app.fake.setDefault(memoryModel);
    const second = await say(recipes, 'alice', 'What can I cook tonight?');
    expect(second.conversationId).not.toBe(first.conversationId);
    const sys = systemOf(app.fake.requests().at(-1)!);
    expect(sys).toContain('What you remember about this person');
    expect(sys).toContain('vegan lasagne');
    // …but not the transcript itself.
    expect(app.fake.requests().at(-1)!.messages!.filter((m: any) => m.role !== 'system')).toHaveLength(1);
  });

  it('closes a session on request and on "new conversation", queuing one summary each', async () => {
    const c = await say(maths, 'alice', 'Help me add fractions with different denominators');
    const closed = await app.api(`/api/conversations/${c.conversationId}/close`, { method: 'POST', token });
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ status: 'closed', closedReason: 'closed_by_operator' });
    expect(['pending', 'ready']).toContain(closed.body.summaryStatus);
    const again = await app.api(`/api/conversations/${c.conversationId}/close`, { method: 'POST', token });
    expect(again.status).toBe(200);
    const done = await summaryOf(c.conversationId);
    expect(done.summary.summary).toContain('fractions');
    await app.server.services.queue.drain();
    const list = await app.api(`/api/agents/${maths}/summaries?userId=alice`, { token });
    expect(list.body.items.filter((s: any) => s.conversationId === c.conversationId)).toHaveLength(1);
  });

  it('searches only this person with this agent, best match first, and exports JSON and CSV', async () => {
    const bob = await say(maths, 'bob', 'I keep mixing up fractions and decimals');
    await app.api(`/api/conversations/${bob.conversationId}/close`, { method: 'POST', token });
    await summaryOf(bob.conversationId);
    const other = await say(maths, 'alice', 'Explain long division step by step');
    await app.api(`/api/conversations/${other.conversationId}/close`, { method: 'POST', token });
    await summaryOf(other.conversationId);

    const r = await app.api(`/api/agents/${maths}/summaries?q=${encodeURIComponent('What did we discuss about fractions?')}&userId=alice`, { token });
    expect(r.status).toBe(200);
    expect(r.body.items.length).toBeGreaterThanOrEqual(1);
    expect(r.body.items[0].summary).toContain('fractions');
    expect(r.body.items.every((s: any) => s.userId === 'alice' && s.agentId === maths)).toBe(true);
    for (const k of ['id', 'conversationId', 'userId', 'summary', 'startedAt', 'endedAt']) expect(r.body.items[0]).toHaveProperty(k);

    const all = await app.api(`/api/agents/${maths}/summaries?q=fractions`, { token });
    expect(new Set(all.body.items.map((s: any) => s.userId))).toEqual(new Set(['alice', 'bob']));
    // Another agent's summaries never show up.
    const rec = await app.api(`/api/agents/${recipes}/summaries?q=fractions`, { token });
    expect(rec.body.items).toEqual([]);

    const csv = await fetch(`${app.url}/api/agents/${maths}/summaries?format=csv`, { headers: { authorization: `Bearer ${token}` } });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.headers.get('content-disposition')).toContain('attachment');
    const text = await csv.text();
    expect(text.split('\r\n')[0]).toContain('"conversationId"'.replace(/"/g, ''));
    expect(text).toContain('long division');
    const json = await app.api(`/api/agents/${maths}/summaries?format=json`, { token });
    expect(json.headers.get('content-disposition')).toContain('summaries-');
    expect(json.body.items.length).toBe(3);
  });

  it('recalls through the memory_search tool, and only this person\'s own sessions', async () => {
    const alice = await say(maths, 'alice', 'Recall fractions');
    expect(alice.reply).toContain('From memory:');
    expect(alice.reply).toContain('different denominators');
    expect(alice.reply).not.toContain('decimals'); // that was Bob
    const toolCall = app.fake.requests().find((r) => r.messages?.some((m: any) => m.role === 'tool'));
    expect(toolCall).toBeDefined();

    const carol = await say(maths, 'carol', 'Recall fractions');
    expect(carol.reply).toContain('no earlier conversations');
    expect(carol.reply).not.toContain('denominators');
  });

  it('keeps a customer out of another owner\'s summaries and people', async () => {
    const created = await app.api('/api/users', { token, body: { email: 'cust@example.com', password: 'correct horse battery', role: 'customer' } });
    expect(created.status).toBe(201);
    const login = await app.api('/api/auth/login', { body: { email: 'cust@example.com', password: 'correct horse battery' } });
    const ct = login.body.token as string;
    expect((await app.api(`/api/agents/${maths}/summaries`, { token: ct })).status).toBe(404);
    expect((await app.api(`/api/agents/${maths}/people`, { token: ct })).status).toBe(404);
    const mine = (await app.api('/api/agents', { token: ct, body: { name: 'Customer Bot' } })).body.id;
    expect((await app.api(`/api/agents/${mine}/summaries?q=fractions`, { token: ct })).body.items).toEqual([]);
    const any = (await app.api(`/api/agents/${maths}/summaries`, { token })).body.items[0];
    expect((await app.api(`/api/summaries/${any.id}`, { token: ct })).status).toBe(404);
  });

  it('compacts a long session so the prompt stops growing', async () => {
    const agent = (await app.api('/api/agents', { token, body: { name: 'Chatterbox', contextTokenBudget: 600 } })).body;
    expect(agent.contextTokenBudget).toBe(600);
    app.fake.reset();
    app.fake.setDefault(memoryModel);
    const long = (i: number) => `Message number ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat(6)}`;
    for (let i = 0; i < 30; i++) {
      await say(agent.id, 'dana', long(i));
      await app.server.services.queue.drain();
    }
    const chats = app.fake.requests().filter((r) => !systemOf(r).includes(COMPACT_MARK));
    const prompt = (r: ChatRequest) => (r.messages ?? []).reduce((n: number, m: any) => n + contentText(m.content).length, 0);
    const late = chats.slice(-10).map(prompt);
    // History is bounded by the budget (600 tokens ≈ 2400 characters) plus a bounded system prompt.
    expect(Math.max(...late)).toBeLessThan(2400 + 4000);
    expect(app.fake.requests().some((r) => systemOf(r).includes(COMPACT_MARK))).toBe(true);
    expect(systemOf(chats.at(-1)!)).toContain('Earlier in this conversation');
  });

  it('lets the agent append notes and the operator edit the workspace, and nothing else', async () => {
    // With shared notes on (an operator's choice), what the model notes in anyone's conversation goes to the workspace.
    expect((await app.api(`/api/agents/${recipes}`, { method: 'PATCH', token, body: { sharedNotes: true } })).status).toBe(200);
    const r = await say(recipes, 'erin', 'Note: the shop is closed on Mondays');
    expect(r.reply).toContain('Noted in memory/');
    const files = await app.api(`/api/agents/${recipes}/files`, { token });
    const daily = files.body.files.find((f: any) => f.kind === 'daily');
    expect(daily.path).toBe(`memory/${clock.now().toISOString().slice(0, 10)}.md`);
    const note = await app.api(`/api/agents/${recipes}/file?path=${encodeURIComponent(daily.path)}`, { token });
    expect(note.body.content).toContain('the shop is closed on Mondays');

    const put = await app.api(`/api/agents/${recipes}/file?path=MEMORY.md`, { method: 'PUT', token, body: { content: '# Memory\n- Prefers metric units', baseUpdatedAt: null } });
    expect(put.status).toBe(200);
    // An editor that loaded an older version (or thought the file new) cannot overwrite a note the agent added since.
    const stale = await app.api(`/api/agents/${recipes}/file?path=MEMORY.md`, { method: 'PUT', token, body: { content: 'lost', baseUpdatedAt: null } });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('file_changed');
    const again = await app.api(`/api/agents/${recipes}/file?path=MEMORY.md`, { method: 'PUT', token, body: { content: '# Memory\n- Prefers metric units', baseUpdatedAt: put.body.updatedAt } });
    expect(again.status).toBe(200);
    expect((await app.api(`/api/agents/${recipes}/file?path=MEMORY.md`, { method: 'PUT', token, body: { content: 'lost', baseUpdatedAt: put.body.updatedAt } })).status).toBe(409);
    app.fake.reset();
    app.fake.setDefault(memoryModel);
    await say(recipes, 'erin', 'hello again');
    const sys = systemOf(app.fake.requests().at(-1)!);
    expect(sys).toContain('Prefers metric units');
    expect(sys).toContain('the shop is closed on Mondays');

    for (const path of ['../etc/passwd', 'memory/../../x.md', '/MEMORY.md', 'memory/2026-13-40.md', 'memory/notes.txt', 'a\\b.md']) {
      const bad = await app.api(`/api/agents/${recipes}/file?path=${encodeURIComponent(path)}`, { method: 'PUT', token, body: { content: 'x' } });
      expect(bad.status, path).toBe(400);
      expect(bad.body.error.fields[0].path).toBe('path');
    }
    // A persona file written here is the agent's persona (and bumps its version).
    const before = (await app.api(`/api/agents/${recipes}`, { token })).body.version;
    await app.api(`/api/agents/${recipes}/file?path=SOUL.md`, { method: 'PUT', token, body: { content: 'You love Italian food.' } });
    const after = (await app.api(`/api/agents/${recipes}`, { token })).body;
    expect(after.persona.soul).toBe('You love Italian food.');
    expect(after.version).toBe(before + 1);
    expect((await app.api(`/api/agents/${recipes}/file?path=SOUL.md`, { method: 'DELETE', token })).status).toBe(400);
    expect((await app.api(`/api/agents/${recipes}/file?path=MEMORY.md`, { method: 'DELETE', token })).status).toBe(204);
  });

  it('deletes a person\'s messages, summaries and links, and logs it', async () => {
    const before = await app.api(`/api/agents/${maths}/people`, { token });
    const bob = before.body.people.find((p: any) => p.externalId === 'bob');
    expect(bob).toMatchObject({ conversations: 1, summaries: 1 });
    const inboxBefore = (await app.server.services.store.inbox.counts()).done ?? 0;
    const del = await app.api(`/api/people/${bob.id}`, { method: 'DELETE', token });
    expect(del.status).toBe(200);
    expect(del.body.deleted).toMatchObject({ conversations: 1, summaries: 1 });
    expect(del.body.deleted.messages).toBeGreaterThanOrEqual(2);
    // The inbox kept what bob sent through the message API; that goes too.
    expect((await app.server.services.store.inbox.counts()).done ?? 0).toBeLessThan(inboxBefore);
    expect((await app.api(`/api/agents/${maths}/summaries?userId=bob`, { token })).body.items).toEqual([]);
    expect((await app.api(`/api/agents/${maths}/people`, { token })).body.people.some((p: any) => p.externalId === 'bob')).toBe(false);
    expect((await app.api(`/api/people/${bob.id}`, { method: 'DELETE', token })).status).toBe(404);
    const audit = await app.server.services.store.audit.list(10, { action: 'person.erase' });
    expect(audit[0]).toMatchObject({ action: 'person.erase', targetId: bob.id });
    // By external identity too (what the message API calls userId).
    const byName = await app.api('/api/people/carol', { method: 'DELETE', token });
    expect(byName.status).toBe(200);
  });
});

describe('summary jobs', () => {
  it('retry after a model failure and run once across processes, even after a restart', async () => {
    // A process that accepts messages but runs no jobs: the job waits in the database.
    const a = await startTestApp({ env: { SWITCHBOARD_JOB_CONCURRENCY: '0', SWITCHBOARD_JOB_RETRY_SECONDS: '1' } });
    let b: TestApp | undefined;
    let c: TestApp | undefined;
    try {
      const token = await a.owner();
      const agent = (await a.api('/api/agents', { token, body: { name: 'Durable' } })).body.id;
      const convs: string[] = [];
      for (const who of ['p1', 'p2', 'p3']) {
        const r = await a.api(`/api/agents/${agent}/message`, { token, body: { text: `hello from ${who}`, userId: who } });
        convs.push(r.body.conversationId);
        await a.api(`/api/conversations/${r.body.conversationId}/close`, { method: 'POST', token });
      }
      // Two more processes share the database; each one's model fails the first summary call.
      b = await startTestApp({ shareWith: a, env: { SWITCHBOARD_JOB_RETRY_SECONDS: '1' } });
      c = await startTestApp({ shareWith: a, env: { SWITCHBOARD_JOB_RETRY_SECONDS: '1' } });
      for (const p of [b, c]) {
        p.fake.enqueue({ kind: 'error', status: 500 });
        p.fake.setDefault(memoryModel);
      }
      for (const id of convs) {
        await eventually(async () => (await a.api(`/api/conversations/${id}`, { token })).body.summaryStatus === 'ready', 15_000, 'summary ready');
      }
      const summaryCalls = [...b.fake.requests(), ...c.fake.requests()].filter((r) => systemOf(r).includes(SUMMARY_MARK));
      // Three summaries, plus at most the two failed first attempts: never a second successful run.
      expect(summaryCalls.length).toBeLessThanOrEqual(5);
      const list = await a.api(`/api/agents/${agent}/summaries`, { token });
      expect(list.body.items).toHaveLength(3);
      expect(new Set(list.body.items.map((s: any) => s.conversationId))).toEqual(new Set(convs));
    } finally {
      await c?.close();
      await b?.close();
      await a.close();
    }
  }, 40_000);
});

describe('hybrid search with an embedding model', () => {
  it('embeds each summary and ranks by meaning as well as words, still within one person', async () => {
    const app = await startTestApp({ env: { SWITCHBOARD_EMBEDDING_MODEL: 'openai:text-embedding-3-small' } });
    try {
      app.fake.setDefault(memoryModel);
      const token = await app.owner();
      const agent = (await app.api('/api/agents', { token, body: { name: 'Hybrid' } })).body.id;
      for (const [who, text] of [['ann', 'We planned a trip to Lisbon in May'], ['ann', 'Budget spreadsheet for the kitchen renovation'], ['ben', 'A trip to Lisbon with kids']]) {
        const r = await app.api(`/api/agents/${agent}/message`, { token, body: { text, userId: who } });
        await app.api(`/api/conversations/${r.body.conversationId}/close`, { method: 'POST', token });
        await eventually(async () => (await app.api(`/api/conversations/${r.body.conversationId}`, { token })).body.summaryStatus === 'ready', 8000, 'summary');
      }
      const embedCalls = app.fake.journal.filter((j) => j.path.endsWith('/embeddings'));
      expect(embedCalls.length).toBeGreaterThanOrEqual(3);
      const r = await app.api(`/api/agents/${agent}/summaries?q=Lisbon&userId=ann`, { token });
      expect(r.body.items[0].summary).toContain('Lisbon');
      expect(r.body.items.every((s: any) => s.userId === 'ann')).toBe(true);
      // The query itself was embedded too, and embedding calls are paid for like any other.
      expect(app.fake.journal.filter((j) => j.path.endsWith('/embeddings')).length).toBeGreaterThan(embedCalls.length);
      const usage = await app.server.services.store.usage.totals({ from: '2000-01-01', to: '2100-01-01' });
      expect(usage.requests).toBeGreaterThan(6);
    } finally {
      await app.close();
    }
  });
});
