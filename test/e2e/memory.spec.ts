// Conversation memory in a real browser (issue 4): the agent's memory settings, closing a
// conversation and seeing its summary written, searching and exporting summaries, editing
// MEMORY.md, deleting everything stored about a person, and an auditor seeing it all read-only.
// The fake upstream answers the summary request too (with its echo), which is all a card needs.
import { readFile } from 'node:fs/promises';
import { expect, test, type APIRequestContext } from '@playwright/test';
import { signIn } from './helpers.js';

test.describe.configure({ mode: 'serial' });

const slug = 'memory-agent';
let agentId = '';

interface SummaryItem {
  id: string;
  conversationId: string;
  channel: string;
  userId: string | null;
  summary: string;
}

async function summaries(request: APIRequestContext, id: string): Promise<SummaryItem[]> {
  const res = await request.get(`/api/agents/${id}/summaries`);
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()).items;
}

/** A word of `text` (4+ letters) that `other` lacks, so a search for it tells the two apart. */
function distinctWord(text: string, other: string): string | null {
  const theirs = new Set(other.toLowerCase().match(/\p{L}{4,}/gu) ?? []);
  return (text.toLowerCase().match(/\p{L}{4,}/gu) ?? []).find((w) => !theirs.has(w)) ?? null;
}

test('memory settings, closing a conversation, summaries, export, MEMORY.md and deleting a person', async ({ page, browser }) => {
  test.setTimeout(60_000);
  await signIn(page);
  const created = await page.request.post('/api/agents', { data: { name: 'Memory Agent', slug, description: 'Remembers things' } });
  expect(created.status(), await created.text()).toBe(201);
  agentId = (await created.json()).id;

  // The three memory settings are saved with the rest of the agent.
  await page.goto(`/dashboard/agents/${agentId}`);
  const settings = page.getByTestId('memory-settings');
  await expect(settings).toBeVisible();
  await settings.getByLabel('Session timeout (minutes)').fill('45');
  await expect(settings).toContainText('After 45 minutes without a message');
  await settings.getByLabel('Context budget (tokens)').fill('12000');
  await page.getByTestId('memory-tools-toggle').setChecked(false, { force: true });
  await page.getByTestId('save-agent').click();
  await expect(page.getByTestId('save-status')).toHaveText('Saved.');
  const saved = await (await page.request.get(`/api/agents/${agentId}`)).json();
  expect(saved).toMatchObject({ sessionTimeoutMinutes: 45, contextTokenBudget: 12000, memoryTools: false });
  await page.reload();
  await expect(page.getByTestId('session-timeout-input')).toHaveValue('45');
  await expect(page.getByTestId('memory-tools-toggle')).not.toBeChecked();

  // Two people talk with it: a web visitor in the browser, and "bob-runner" through the API.
  const visitor = await browser.newContext();
  const chat = await visitor.newPage();
  await chat.goto(`/chat/${slug}`);
  await chat.getByTestId('chat-input').fill('I bake sourdough bread every Sunday morning');
  await chat.getByTestId('chat-input').press('Enter');
  await expect(chat.locator('[data-testid="chat-message"][data-role="assistant"]').last()).toHaveAttribute('data-status', 'complete', {
    timeout: 15_000,
  });
  await visitor.close();
  const api = await page.request.post(`/api/agents/${agentId}/message`, {
    data: { text: 'Plan my marathon training with interval runs', userId: 'bob-runner' },
  });
  expect(api.status(), await api.text()).toBe(200);
  const bobConversation = (await api.json()).conversationId as string;

  // The operator closes the web conversation from its page and watches the summary arrive.
  await page.goto(`/dashboard/agents/${agentId}?tab=conversations`);
  await page.locator('[data-testid="conversation-row"][data-channel="web"]').getByTestId('open-conversation').click();
  await expect(page).toHaveURL(/\/dashboard\/conversations\/[^/]+$/);
  await expect(page.getByTestId('conversation-status')).toHaveText('Open');
  await page.getByTestId('close-conversation').click();
  await expect(page.getByTestId('conversation-status')).toHaveText('Closed');
  await expect(page.getByTestId('closed-info')).toContainText('closed from the dashboard');
  await expect(page.getByTestId('close-conversation')).toHaveCount(0);
  const card = page.getByTestId('conversation-summary').getByTestId('summary-card');
  await expect(card).toBeVisible({ timeout: 20_000 });
  await expect(card.getByTestId('summary-text')).not.toBeEmpty();

  // Bob's conversation is closed through the API; wait until both summaries exist.
  const closed = await page.request.post(`/api/conversations/${bobConversation}/close`);
  expect(closed.status(), await closed.text()).toBe(200);
  await expect.poll(async () => (await summaries(page.request, agentId)).length, { timeout: 20_000 }).toBe(2);
  const all = await summaries(page.request, agentId);
  const web = all.find((s) => s.channel === 'web')!;
  const bob = all.find((s) => s.conversationId === bobConversation)!;
  expect(bob.userId).toBe('bob-runner');

  // Summaries tab: the list, a search, a person filter.
  await page.goto(`/dashboard/agents/${agentId}?tab=summaries`);
  const list = page.getByTestId('summary-list').getByTestId('summary-card');
  await expect(list).toHaveCount(2);
  const word = distinctWord(web.summary, bob.summary);
  if (word) {
    await page.getByTestId('summary-q').fill(word);
    await page.getByTestId('summary-q').press('Enter');
    await expect(page.getByTestId('summaries-count')).toContainText('best match first');
    await expect(list.first().getByTestId('summary-conversation')).toHaveAttribute('href', `/dashboard/conversations/${web.conversationId}`);
  }
  await page.getByTestId('summary-q').fill('xylophonezebra');
  await page.getByTestId('summary-q').press('Enter');
  await expect(page.getByTestId('summaries-empty')).toContainText('No summaries match “xylophonezebra”');
  await page.getByRole('button', { name: 'Clear the search' }).click();
  await expect(list).toHaveCount(2);
  const bobRow = page.locator('[data-testid="person-row"][data-external-id="bob-runner"]');
  await bobRow.getByTestId('person-filter').click();
  await expect(list).toHaveCount(1);
  // One label per person (issue 14.2): an API caller without a display name gets a short stable label, never its raw id.
  await expect(list.first().getByTestId('summary-person')).toHaveText(/^API caller [0-9A-Z]{4}\s*$/);

  // Export CSV downloads a file with the filtered summaries.
  const downloading = page.waitForEvent('download');
  await page.getByTestId('export-summaries-csv').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/\.csv$/);
  const csv = await readFile((await download.path())!, 'utf8');
  expect(csv.split(/\r?\n/)[0]).toMatch(/summary/i);
  expect(csv).toContain(bobConversation);

  // Memory tab: MEMORY.md is written, saved, and still there after a reload.
  await page.getByTestId('tab-memory').click();
  const editor = page.getByTestId('file-editor');
  await expect(editor).toHaveAttribute('data-path', 'MEMORY.md');
  await page.getByTestId('file-content').fill('# Memory\n\n- Regulars like **sourdough** on Sundays');
  await expect(page.getByTestId('file-preview').locator('strong')).toHaveText('sourdough');
  await page.getByTestId('save-file').click();
  await expect(page.getByTestId('file-save-status')).toHaveText('Saved.');
  await page.reload();
  await expect(page.getByTestId('file-content')).toHaveValue('# Memory\n\n- Regulars like **sourdough** on Sundays');
  await expect(page.locator('[data-testid="persona-file"][data-path="SOUL.md"]')).toBeVisible();

  // Deleting a person asks first, then reports what went.
  await page.getByTestId('tab-summaries').click();
  await bobRow.getByTestId('delete-person').click();
  const dialog = page.getByTestId('confirm-dialog').filter({ hasText: /API caller [0-9A-Z]{4}/ });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('delete-person-details')).toContainText('1 conversation and 1 summary');
  await dialog.getByTestId('confirm-cancel').click();
  await expect(bobRow).toBeVisible();
  await bobRow.getByTestId('delete-person').click();
  await dialog.getByRole('button', { name: 'Delete permanently' }).click();
  await expect(page.getByTestId('person-deleted')).toContainText('1 conversation');
  await expect(page.getByTestId('deleted-counts')).toContainText('1 summary');
  await expect(bobRow).toHaveCount(0);
  await expect(list).toHaveCount(1);
  expect((await summaries(page.request, agentId)).map((s) => s.id)).toEqual([web.id]);
});

test('an auditor sees memory read-only: no close, delete or save', async ({ page, browser }) => {
  await signIn(page);
  const auditor = { email: 'memory-auditor@example.com', password: 'memory-auditor-password' };
  const made = await page.request.post('/api/users', { data: { ...auditor, role: 'auditor' } });
  expect([201, 200, 409]).toContain(made.status());
  const { conversations } = await (await page.request.get(`/api/agents/${agentId}/conversations`)).json();
  const conversationId = conversations[0].id as string;

  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  expect((await p.request.post('/api/auth/login', { data: auditor })).ok()).toBeTruthy();

  await p.goto(`/dashboard/conversations/${conversationId}`);
  await expect(p.getByTestId('transcript')).toBeVisible();
  await expect(p.getByTestId('close-conversation')).toHaveCount(0);

  await p.goto(`/dashboard/agents/${agentId}?tab=summaries`);
  await expect(p.getByTestId('person-row').first()).toBeVisible();
  await expect(p.getByTestId('delete-person')).toHaveCount(0);

  await p.goto(`/dashboard/agents/${agentId}?tab=memory`);
  await expect(p.getByTestId('file-content')).toHaveValue(/sourdough/);
  await expect(p.getByTestId('file-content')).toHaveAttribute('readonly', '');
  await expect(p.getByTestId('save-file')).toHaveCount(0);
  await expect(p.getByTestId('new-daily-note')).toHaveCount(0);
  await ctx.close();
});
