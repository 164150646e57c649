/**
 * Approval before acting: a tool marked requireApproval is held (it does not run), the owner
 * approves (it runs, and the result joins the conversation), declines (it never runs), or lets it
 * expire; only people who may write to the agent decide.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, startTestApp, type TestApp } from '../helpers/test-app.js';
import { contentText, type ChatRequest } from '../fakes/openai-server.js';

function toolModel(req: ChatRequest) {
  const last = req.messages?.at(-1);
  if (last?.role === 'tool') return `Tool said: ${contentText(last.content)}`;
  const m = /^CALL (\S+) (.*)$/s.exec(contentText(last?.content));
  if (m) return { kind: 'tool_calls' as const, calls: [{ name: m[1]!, arguments: m[2]! }] };
  return `Echo: ${contentText(last?.content)}`;
}

describe('approvals', () => {
  const clock = manualClock(Date.parse('2026-11-25T09:00:00Z'));
  let app: TestApp;
  let token: string;
  let agent: { id: string };
  const write = async (path: string) => {
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: `CALL write ${JSON.stringify({ path, content: `content of ${path}` })}`, userId: 'pm' } });
    expect(r.status).toBe(200);
    return r.body as { reply: string; conversationId: string };
  };
  const file = async (path: string) => (await app.api(`/api/agents/${agent.id}/file?path=${encodeURIComponent(path)}`, { token })).status;
  const pending = async () => (await app.api('/api/approvals?status=pending', { token })).body.approvals as any[];

  beforeAll(async () => {
    app = await startTestApp({ clock, env: { SWITCHBOARD_APPROVAL_HOURS: '1' } });
    app.fake.setDefault(toolModel);
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Careful PM' } })).body;
    const r = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { tools: { allow: ['group:fs'], deny: [], requireApproval: ['write'] } } });
    expect(r.body.tools.requireApproval).toEqual(['write']);
  });
  afterAll(() => app?.close());

  it('holds the call: nothing runs, the model is told, the conversation shows it pending', async () => {
    const r = await write('release-notes.md');
    expect(r.reply).toMatch(/^Tool said: Pending approval: the owner has been asked to approve "write"/);
    expect(await file('release-notes.md')).toBe(404);
    const list = await pending();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ tool: 'write', status: 'pending', agentName: 'Careful PM', args: { path: 'release-notes.md' } });
    const conv = (await app.api(`/api/conversations/${r.conversationId}`, { token })).body;
    expect(conv.toolCalls.at(-1)).toMatchObject({ tool: 'write', outcome: 'pending' });
  });

  it('runs an approved call once and posts the result into the conversation', async () => {
    const [req] = await pending();
    const ok = await app.api(`/api/approvals/${req.id}/approve`, { method: 'POST', token });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'done', result: 'Wrote release-notes.md (27 characters).' });
    expect(await file('release-notes.md')).toBe(200);
    const conv = (await app.api(`/api/conversations/${req.conversationId}`, { token })).body;
    expect(conv.messages.at(-1).content).toMatch(/^✅ Approved: "write" ran\./);
    expect(conv.toolCalls.find((t: any) => t.id === req.toolCallId).outcome).toBe('approved');
    const twice = await app.api(`/api/approvals/${req.id}/approve`, { method: 'POST', token });
    expect(twice.status).toBe(409);
  });

  it('never runs a declined call', async () => {
    await write('risky.md');
    const [req] = await pending();
    const no = await app.api(`/api/approvals/${req.id}/deny`, { method: 'POST', token });
    expect(no.body.status).toBe('denied');
    expect(await file('risky.md')).toBe(404);
    const conv = (await app.api(`/api/conversations/${req.conversationId}`, { token })).body;
    expect(conv.messages.at(-1).content).toContain('declined "write"');
    expect((await app.api(`/api/approvals/${req.id}/approve`, { method: 'POST', token })).status).toBe(409);
  });

  it('expires unanswered requests, which then cannot be approved', async () => {
    await write('late.md');
    const [req] = await pending();
    clock.advance(61 * 60_000);
    expect(await app.server.services.approvals.expire()).toBe(1);
    const late = await app.api(`/api/approvals/${req.id}/approve`, { method: 'POST', token });
    expect(late.status).toBe(409);
    expect(await file('late.md')).toBe(404);
    expect((await app.api(`/api/approvals/${req.id}`, { token })).body.status).toBe('expired');
  });

  it('lets only those who may change the agent decide', async () => {
    await write('audited.md');
    const [req] = await pending();
    await app.api('/api/users', { token, body: { email: 'aud@example.com', password: 'correct horse battery', role: 'auditor' } });
    const aud = (await app.api('/api/auth/login', { body: { email: 'aud@example.com', password: 'correct horse battery' } })).body.token;
    expect((await app.api(`/api/approvals/${req.id}/approve`, { method: 'POST', token: aud })).status).toBe(403);
    await app.api('/api/users', { token, body: { email: 'other@example.com', password: 'correct horse battery', role: 'customer' } });
    const other = (await app.api('/api/auth/login', { body: { email: 'other@example.com', password: 'correct horse battery' } })).body.token;
    expect((await app.api(`/api/approvals/${req.id}/approve`, { method: 'POST', token: other })).status).toBe(404);
    expect((await app.api('/api/approvals', { token: other })).body.approvals).toEqual([]);
    expect(await file('audited.md')).toBe(404);
  });
});
