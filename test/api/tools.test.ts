/**
 * Tool policy and the workspace tools over real HTTP: only effective tools are offered, a call to
 * any other is refused with "Error: …" and the conversation goes on, paths stay inside the
 * workspace, and every call is on record with its conversation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { contentText, type ChatRequest } from '../fakes/openai-server.js';

/** "CALL tool {json}" makes the fake model call that tool; a tool result is read back. */
function toolModel(req: ChatRequest) {
  const last = req.messages?.at(-1);
  if (last?.role === 'tool') return `Tool said: ${contentText(last.content)}`;
  const m = /^CALL (\S+) (.*)$/s.exec(contentText(last?.content));
  if (m) return { kind: 'tool_calls' as const, calls: [{ name: m[1]!, arguments: m[2]! }] };
  return `Echo: ${contentText(last?.content)}`;
}

describe('agent tools', () => {
  let app: TestApp;
  let token: string;
  let agent: { id: string };
  const say = async (text: string) => {
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text, userId: 'tools-user' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as { reply: string; conversationId: string };
  };
  const offered = () => (app.fake.requests().at(-1)?.tools ?? []).map((t: any) => t.function?.name);

  beforeAll(async () => {
    app = await startTestApp();
    app.fake.setDefault(toolModel);
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Toolsmith' } })).body;
  });
  afterAll(() => app?.close());

  it('starts with the memory tools and handoff, and shows the effective set', async () => {
    const a = (await app.api(`/api/agents/${agent.id}`, { token })).body;
    expect(a.tools).toMatchObject({ default: true, effective: ['memory_search', 'memory_get', 'memory_write', 'handoff', 'knowledge_search'] });
    await say('hello');
    expect(offered().sort()).toEqual(['handoff', 'memory_get', 'memory_search', 'memory_write']);
  });

  it('takes allow and deny lists with groups, deny winning, and names unknown tools', async () => {
    const r = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { tools: { allow: ['group:fs', 'group:memory'], deny: ['write', 'memory_write'] } } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.tools.effective).toEqual(['read', 'edit', 'list', 'memory_search', 'memory_get']);
    const bad = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { tools: { allow: ['group:fs', 'rm_rf'], deny: [] } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe('tools.allow.1');
    await say('hi');
    expect(offered().sort()).toEqual(['edit', 'list', 'memory_get', 'memory_search', 'read']);
  });

  it('refuses a denied or unknown tool with "Error:" and goes on', async () => {
    const denied = await say('CALL write {"path":"x.md","content":"hi"}');
    expect(denied.reply).toMatch(/^Tool said: Error: the tool "write" is not enabled for this agent/);
    const unknown = await say('CALL launch_rockets {"target":"moon"}');
    expect(unknown.reply).toMatch(/^Tool said: Error: there is no tool named "launch_rockets"/);
    expect((await say('still there?')).reply).toBe('Echo: still there?');
    const conv = await app.api(`/api/conversations/${denied.conversationId}`, { token });
    const outcomes = conv.body.toolCalls.map((t: any) => [t.tool, t.outcome]);
    expect(outcomes).toEqual(expect.arrayContaining([['write', 'refused'], ['launch_rockets', 'refused']]));
  });

  it('reads, writes, edits and lists only inside the workspace', async () => {
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { tools: { allow: ['group:fs'], deny: [] } } });
    expect((await say('CALL write {"path":"notes/plan.md","content":"Step one. Step two."}')).reply).toBe('Tool said: Wrote notes/plan.md (19 characters).');
    expect((await say('CALL read {"path":"./notes//plan.md"}')).reply).toBe('Tool said: Step one. Step two.');
    expect((await say('CALL edit {"path":"notes/plan.md","oldText":"Step two.","newText":"Step 2."}')).reply).toBe('Tool said: Edited notes/plan.md.');
    expect((await say('CALL edit {"path":"notes/plan.md","oldText":"Step","newText":"X"}')).reply).toMatch(/more than once/);
    expect((await say('CALL list {}')).reply).toContain('notes/plan.md');
    expect((await say('CALL write {"path":"SOUL.md","content":"I am evil now"}')).reply).toMatch(/^Tool said: Error: SOUL.md is part of your persona/);
    for (const path of ['../other/SOUL.md', '/etc/passwd', 'notes/../../x', 'a\\u0000b', 'C:\\\\x', '~/x', 'notes/../../../etc/shadow']) {
      const r = await say(`CALL read {"path":"${path}"}`);
      expect(r.reply, path).toMatch(/^Tool said: Error: /);
    }
    const file = await app.api(`/api/agents/${agent.id}/file?path=${encodeURIComponent('notes/plan.md')}`, { token });
    expect(file.status).toBe(200);
    expect(file.body.content).toBe('Step one. Step 2.');
  });

  it("cannot reach another agent's workspace", async () => {
    const other = (await app.api('/api/agents', { token, body: { name: 'Neighbour' } })).body;
    await app.api(`/api/agents/${other.id}/file?path=MEMORY.md`, { method: 'PUT', token, body: { content: 'neighbour secret' } });
    const r = await say('CALL read {"path":"MEMORY.md"}');
    expect(r.reply).not.toContain('neighbour secret');
    const r2 = await say(`CALL read {"path":"../${other.id}/MEMORY.md"}`);
    expect(r2.reply).toMatch(/^Tool said: Error: /);
  });
});
