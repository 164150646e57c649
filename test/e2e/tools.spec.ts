// Tools, plugins and approvals in a real browser (issue 7): a tool policy set on the agent's Tools
// tab and the effective tools it yields; an HTTP plugin refused for an unbound placeholder (shown
// at the URL field), fixed with "Add parameter", saved, its secret shown only as "set"; a `write`
// that needs approval held in a chat, approved on the Approvals page, and then seen in the
// transcript (between the messages) and in the Workspace tab; an auditor seeing it all read-only.
//
// The e2e model (serve.ts) calls a tool when told "CALL <tool> <json>" and answers "Tool said: …".
// Runs on its own Switchboard, so its approvals never show up in the other specs' overview.
import { expect, test as base, type Page } from '@playwright/test';
import { isolatedApp, signIn } from './helpers.js';

const test = base.extend({
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => use(await isolatedApp('tools')),
});
test.describe.configure({ mode: 'serial' });

const SLUG = 'tool-bot';
const SECRET = 'wx-e2e-very-secret-value';
const PLAN = '# Plan\n\n1. Ship it <img src=x onerror="window.__pwned=1">';
let agentId = '';

/** One message through the public chat; answers the conversation id and the streamed reply. */
async function chat(page: Page, text: string): Promise<{ conversationId: string; reply: string }> {
  const res = await page.request.post(`/api/public/agents/${SLUG}/chat`, { data: { text } });
  expect(res.status(), await res.text()).toBe(200);
  const body = await res.text();
  const start = /event: start\ndata: (.*)\n/.exec(body);
  const reply = [...body.matchAll(/event: delta\ndata: (.*)\n/g)].map((m) => (JSON.parse(m[1]!) as { text: string }).text).join('');
  return { conversationId: start ? (JSON.parse(start[1]!) as { conversationId: string }).conversationId : '', reply };
}

const names = (page: Page, testid: string) =>
  page.getByTestId(testid).evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.name));

test('a tool policy, a plugin with a secret, and a held write approved into the transcript and the workspace', async ({ page }) => {
  await signIn(page);
  const created = await page.request.post('/api/agents', { data: { name: 'Tool Bot', slug: SLUG, listed: false } });
  expect(created.status(), await created.text()).toBe(201);
  agentId = (await created.json()).id;

  // The default: memory tools and handoff.
  await page.goto(`/dashboard/agents/${agentId}?tab=tools`);
  await expect(page.getByTestId('tools-default')).toBeVisible();
  expect(await names(page, 'effective-tool')).toEqual(['memory_search', 'memory_get', 'memory_write', 'handoff', 'knowledge_search']);

  // Allow the workspace files and web_search; writing needs approval.
  await page.locator('[data-testid="policy-allow"][data-name="group:fs"]').check();
  await expect(page.locator('[data-testid="policy-allow"][data-name="write"]')).toBeChecked();
  await expect(page.locator('[data-testid="policy-allow"][data-name="write"]')).toBeDisabled();
  await page.locator('[data-testid="policy-allow"][data-name="web_search"]').check();
  await page.locator('[data-testid="policy-requireApproval"][data-name="write"]').check();
  await expect(page.locator('[data-testid="policy-tool"][data-name="read"]').getByTestId('tool-status')).toHaveText('On after saving');
  await page.getByTestId('tools-save').click();
  await expect(page.getByTestId('tools-saved')).toHaveText('Saved.');
  await expect.poll(() => names(page, 'effective-tool')).toEqual(['read', 'write', 'edit', 'list', 'memory_search', 'memory_get', 'memory_write', 'handoff', 'knowledge_search']);
  await expect(page.locator('[data-testid="effective-tool"][data-name="write"]').getByTestId('effective-approval')).toBeVisible();
  // No search provider in this installation: allowed, but not offered, and why.
  await expect(page.locator('[data-testid="unavailable-tool"][data-name="web_search"]')).toContainText('no search provider is configured');
  await expect(page.getByTestId('tools-default')).toHaveCount(0);
  const agent = await (await page.request.get(`/api/agents/${agentId}`)).json();
  expect(agent.tools).toMatchObject({ allow: ['group:memory', 'group:handoff', 'group:knowledge', 'group:fs', 'web_search'], deny: [], requireApproval: ['write'], default: false });

  // A plugin whose URL uses {city} before any parameter exists: refused, said at the URL field.
  await page.getByTestId('add-plugin').click();
  const editor = page.getByTestId('plugin-editor');
  await editor.getByTestId('plugin-name').fill('weather');
  await editor.getByTestId('plugin-description').fill('Current weather for a city. Use when someone asks about the weather.');
  await editor.getByTestId('plugin-url').fill('https://93.184.215.14/weather/{city}');
  await editor.getByTestId('plugin-add-header').click();
  await editor.getByTestId('plugin-header-key').fill('Authorization');
  await editor.getByTestId('plugin-header-value').fill('Bearer {{secret:WEATHER_KEY}}');
  await editor.getByTestId('plugin-add-secret').click();
  await editor.getByTestId('secret-name').fill('WEATHER_KEY');
  await editor.getByTestId('secret-value').fill(SECRET);
  await editor.getByTestId('plugin-save').click();
  await expect(editor.getByTestId('plugin-url-error')).toContainText('{city}');
  await expect(editor.getByTestId('plugin-url')).toHaveClass(/input-error/);

  // "Add parameter" writes the schema; saved, the secret is "set" and its value is nowhere.
  await editor.getByTestId('param-name').fill('city');
  await editor.getByTestId('param-description').fill('The city, e.g. Lisbon');
  await editor.getByTestId('param-add').click();
  await expect(editor.getByTestId('plugin-parameters')).toHaveValue(/"city": \{\s*"type": "string"/);
  await expect(editor.locator('[data-testid="plugin-param"][data-name="city"]')).toContainText('required');
  await editor.getByTestId('plugin-save').click();
  await expect(page.getByTestId('plugins-saved')).toContainText('Added weather');
  const row = page.locator('[data-testid="plugin-row"][data-name="weather"]');
  await expect(row.getByTestId('plugin-secret-set')).toHaveText('set');
  await row.getByTestId('edit-plugin').click();
  await expect(row.locator('[data-testid="plugin-secret"][data-name="WEATHER_KEY"]').getByTestId('secret-state')).toHaveText('set');
  await expect(row.getByTestId('secret-value')).toHaveCount(0);
  expect(await page.content()).not.toContain(SECRET);
  await row.getByTestId('plugin-cancel').click();
  // The plugin is a tool the policy can name.
  await expect(page.locator('[data-testid="policy-tool"][data-name="weather"]')).toBeVisible();
  const withPlugin = await page.request.get(`/api/agents/${agentId}`);
  expect(await withPlugin.text()).not.toContain(SECRET);
  expect((await withPlugin.json()).plugins).toMatchObject([{ name: 'weather', secrets: ['WEATHER_KEY'], url: 'https://93.184.215.14/weather/{city}' }]);

  // A person asks; the model calls write; the call is held and the model says so.
  const { conversationId, reply } = await chat(page, `CALL write ${JSON.stringify({ path: 'notes/plan.md', content: PLAN })}`);
  expect(reply).toContain('Tool said: Pending approval');

  // The overview and the menu show it waiting; "Review" opens it, marked, on the Approvals page.
  await page.goto('/dashboard');
  await expect(page.getByTestId('nav-approval-count').first()).toHaveText(/^1/);
  const waiting = page.getByTestId('overview-approval');
  await expect(waiting).toHaveCount(1);
  await expect(waiting).toContainText('Tool Bot');
  await waiting.getByTestId('review-approval').click();
  await expect(page).toHaveURL(/\/dashboard\/approvals\?id=/);
  const card = page.locator('[data-testid="approval"][data-highlighted="true"]');
  await expect(card).toHaveAttribute('data-status', 'pending');
  await expect(card.getByTestId('approval-tool')).toHaveText('write');
  const args = card.getByTestId('approval-args');
  await expect(args.locator('dt')).toHaveText(['path', 'content']);
  await expect(args.locator('dd').first()).toHaveText('notes/plan.md');
  // The model's text is shown as text: the tag is visible, nothing ran.
  await expect(args.locator('dd').nth(1)).toContainText('<img src=x onerror=');
  await expect(card.locator('img')).toHaveCount(0);
  await expect(card.getByTestId('approval-time-left')).toContainText('left');

  // Approve asks first, then runs the write.
  await card.getByTestId('approval-approve').click();
  const dialog = page.getByTestId('confirm-dialog').filter({ hasText: 'Run write for Tool Bot?' });
  await expect(dialog).toBeVisible();
  await dialog.getByTestId('confirm-ok').click();
  const approved = page.locator('[data-testid="approval"][data-status="done"]');
  await expect(approved.getByTestId('approval-result')).toContainText('Wrote notes/plan.md');
  await expect(page.getByTestId('approvals-empty')).toBeVisible();
  await expect(page.getByTestId('nav-approval-count')).toHaveCount(0);
  expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();

  // The transcript: the call between the person's message and the reply, then the result posted.
  await approved.getByTestId('approval-conversation').click();
  await expect(page).toHaveURL(new RegExp(`/dashboard/conversations/${conversationId}$`));
  const call = page.locator('[data-testid="transcript-tool-call"][data-tool="write"]');
  await expect(call).toHaveAttribute('data-outcome', 'approved');
  await expect(call.getByTestId('tool-outcome')).toHaveText('Approved');
  await expect(call.getByTestId('tool-result')).toContainText('Wrote notes/plan.md');
  await expect(call.getByTestId('tool-args')).toBeHidden();
  await call.getByTestId('tool-args-toggle').click();
  await expect(call.getByTestId('tool-args')).toContainText('notes/plan.md');
  const order = await page
    .getByTestId('transcript')
    .locator(':scope > li')
    .evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.testid}:${(e as HTMLElement).dataset.role ?? (e as HTMLElement).dataset.tool}`));
  expect(order).toEqual(['transcript-message:user', 'transcript-tool-call:write', 'transcript-message:assistant', 'transcript-message:assistant']);
  await expect(page.getByTestId('transcript')).toContainText('Approved: "write" ran.');

  // The file is in the agent's workspace, under Files.
  await page.goto(`/dashboard/agents/${agentId}?tab=memory`);
  await expect(page.getByTestId('tab-memory')).toHaveText('Workspace');
  await page.locator('[data-testid="file-row"][data-path="notes/plan.md"]').click();
  await expect(page.getByTestId('editor-path')).toHaveText('notes/plan.md');
  await expect(page.getByTestId('file-content')).toHaveValue(PLAN);
  await expect(page.getByTestId('delete-file')).toBeVisible();
});

test('an auditor sees tools, plugins and approvals read-only; the owner declines a held call', async ({ page, browser, baseURL }) => {
  await signIn(page);
  const auditor = { email: 'tools-auditor@example.com', password: 'tools-auditor-password' };
  expect((await page.request.post('/api/users', { data: { ...auditor, role: 'auditor' } })).status()).toBe(201);
  const { conversationId } = await chat(page, `CALL write ${JSON.stringify({ path: 'notes/second.md', content: 'not yet' })}`);

  const context = await browser.newContext({ baseURL });
  const as = await context.newPage();
  expect((await as.request.post('/api/auth/login', { data: auditor })).ok()).toBeTruthy();
  await as.goto(`/dashboard/agents/${agentId}?tab=tools`);
  await expect(as.locator('[data-testid="effective-tool"][data-name="write"]')).toBeVisible();
  await expect(as.locator('[data-testid="policy-allow"][data-name="group:fs"]')).toBeDisabled();
  await expect(as.getByTestId('tools-save')).toHaveCount(0);
  await expect(as.getByTestId('tools-read-only')).toBeVisible();
  await expect(as.getByTestId('add-plugin')).toHaveCount(0);
  await expect(as.getByTestId('remove-plugin')).toHaveCount(0);
  await as.getByTestId('edit-plugin').click();
  await expect(as.getByTestId('plugin-url')).toBeDisabled();
  await expect(as.getByTestId('plugin-save')).toHaveCount(0);

  await as.goto('/dashboard/approvals');
  const held = as.locator('[data-testid="approval"][data-status="pending"]');
  await expect(held).toHaveCount(1);
  await expect(held).toContainText("Only the agent's owner or an admin can decide.");
  await expect(as.getByTestId('approval-approve')).toHaveCount(0);
  await expect(as.getByTestId('approval-decline')).toHaveCount(0);
  await context.close();

  // The transcript links the held call to its request; declining it there means it never runs.
  await page.goto(`/dashboard/conversations/${conversationId}`);
  const call = page.locator('[data-testid="transcript-tool-call"][data-outcome="pending"]');
  await expect(call.getByTestId('tool-outcome')).toHaveText('Awaiting approval');
  await call.getByTestId('tool-approval-link').click();
  const card = page.locator('[data-testid="approval"][data-highlighted="true"]');
  await expect(card).toHaveAttribute('data-status', 'pending');
  await card.getByTestId('approval-decline').click();
  await expect(page.locator(`[data-testid="approval"][data-status="denied"]`)).toHaveCount(1);
  const files = await (await page.request.get(`/api/agents/${agentId}/files`)).json();
  expect(files.files.map((f: { path: string }) => f.path)).not.toContain('notes/second.md');
  await page.goto(`/dashboard/conversations/${conversationId}`);
  await expect(page.locator('[data-testid="transcript-tool-call"]').last()).toHaveAttribute('data-outcome', 'denied');
});

test('a visitor waiting in the web chat sees the approved result arrive without reloading', async ({ page, browser }) => {
  test.setTimeout(60_000);
  // The visitor asks for a write that needs approval, in the public chat (the agent is listed for it).
  const owner = await browser.newPage();
  await signIn(owner);
  expect((await owner.request.patch(`/api/agents/${agentId}`, { data: { listed: true } })).status()).toBe(200);
  await page.goto(`/chat/${SLUG}`);
  await page.getByTestId('chat-input').fill('CALL write {"path":"notes/visitor.md","content":"From the visitor"}');
  await page.getByTestId('chat-send').click();
  await expect(page.getByTestId('chat-log')).toContainText('Pending approval');

  // The owner approves it elsewhere.
  const list = await owner.request.get('/api/approvals?status=pending');
  const pending = ((await list.json()) as { approvals: { id: string; args: { path?: string } }[] }).approvals.find((a) => a.args.path === 'notes/visitor.md');
  expect(pending).toBeDefined();
  expect((await owner.request.post(`/api/approvals/${pending!.id}/approve`)).status()).toBe(200);
  await owner.close();

  // The open chat picks the result up by itself.
  await expect(page.getByTestId('chat-log')).toContainText('Approved: "write" ran.', { timeout: 25_000 });
});
