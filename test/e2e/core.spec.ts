// The core journey in a real browser: first-run setup, creating an agent from a
// template, finding it on the home page, chatting with a streamed reply, history
// surviving a reload, the switch warning, and hostile text rendered harmlessly.
// One server serves the whole file, so the tests run in order and build on each other.
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { controlUrl, owner, signIn } from './helpers.js';

test.describe.configure({ mode: 'serial' });

const SWITCH_WARNING = 'Switching will reset context — continue?';

let recipeSlug = '';
const second = { name: 'Second Opinion', slug: 'second-opinion' };

// One anonymous visitor (one sb_visitor cookie) across the chat tests, so history carries over.
let visitor: BrowserContext;
test.beforeAll(async ({ browser }) => {
  visitor = await browser.newContext();
});
test.afterAll(async () => {
  await visitor?.close();
});

/** Collects every text the last assistant bubble shows while a reply streams in. */
async function recordAssistantText(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __snapshots: string[] };
    w.__snapshots = [];
    const log = document.querySelector('[data-testid="chat-log"]')!;
    new MutationObserver(() => {
      const replies = log.querySelectorAll('[data-role="assistant"] [data-testid="message-content"]');
      const last = replies[replies.length - 1];
      const text = last?.textContent ?? '';
      if (text && w.__snapshots[w.__snapshots.length - 1] !== text) w.__snapshots.push(text);
    }).observe(log, { subtree: true, childList: true, characterData: true });
  });
}

test('first-run setup creates the owner and lands on the dashboard', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/setup$/);

  await page.getByLabel('Email').fill(owner.email);
  await page.getByLabel('Password', { exact: true }).fill(owner.password);
  await page.getByLabel('Confirm password').fill(owner.password);
  await page.getByTestId('setup-submit').click();

  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId('page-title')).toHaveText('Overview');
  await expect(page.getByTestId('current-user')).toHaveText(owner.email);

  // Setup is one-time: the page now sends people to the login form.
  await page.goto('/setup');
  await expect(page).toHaveURL(/\/login$/);
});

test('login shows the server error and then signs in', async ({ page }) => {
  await page.goto('/dashboard');
  await expect(page).toHaveURL(/\/login$/);

  await page.getByLabel('Email').fill(owner.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('form-error')).toBeVisible();

  await page.getByLabel('Password').fill(owner.password);
  await page.getByTestId('login-submit').click();
  await expect(page).toHaveURL(/\/dashboard$/);
});

test('an agent created from the Recipe Helper template is listed', async ({ page }) => {
  await signIn(page);
  await page.goto('/dashboard/agents/new');
  await page.locator('[data-testid="template-card"][data-template="recipe-helper"]').click();

  const form = page.getByTestId('new-agent-form');
  await expect(form).toBeVisible();
  await form.getByLabel('Name').fill('Recipe Helper');
  // Fill whatever the template requires that has no default.
  for (const input of await form.getByTestId('template-var').all()) {
    if ((await input.getAttribute('required')) !== null && !(await input.inputValue())) {
      await input.fill('home cooking');
    }
  }
  await page.getByTestId('create-agent').click();

  await expect(page).toHaveURL(/\/dashboard\/agents\/[^/]+$/);
  await expect(page.getByTestId('page-title')).toHaveText('Recipe Helper');
  recipeSlug = await page.getByTestId('slug-input').inputValue();
  expect(recipeSlug).not.toBe('');

  // Make sure it is listed (and stays so after a save).
  const listed = page.getByTestId('listed-toggle');
  if (!(await listed.isChecked())) {
    await listed.check({ force: true });
    await page.getByTestId('save-agent').click();
    await expect(page.getByTestId('save-status')).toBeVisible();
  }
  await expect(listed).toBeChecked();

  // The composed system prompt is previewed live.
  await expect(page.getByTestId('prompt-preview')).not.toContainText('Composing');
  await expect(page.getByTestId('preview-tokens')).toBeVisible();
});

test('a visitor finds the agent on the home page and gets a streamed reply', async () => {
  const page = await visitor.newPage();
  await page.goto('/');
  const card = page.locator(`[data-testid="agent-card"][data-slug="${recipeSlug}"]`);
  await expect(card).toContainText('Recipe Helper');
  await card.click();
  await expect(page).toHaveURL(new RegExp(`/chat/${recipeSlug}$`));
  await expect(page.getByTestId('agent-name')).toHaveText('Recipe Helper');

  await recordAssistantText(page);
  const input = page.getByTestId('chat-input');
  await input.fill('What can I cook with three eggs and some spinach');
  await input.press('Enter');

  const reply = page.locator('[data-testid="chat-message"][data-role="assistant"]').last();
  await expect(reply).toContainText('Echo: What can I cook with three eggs and some spinach', { timeout: 15_000 });
  await expect(reply).toHaveAttribute('data-status', 'complete');
  await expect(input).toHaveValue('');

  // The reply grew piece by piece instead of arriving all at once.
  const snapshots = await page.evaluate(() => (window as unknown as { __snapshots: string[] }).__snapshots);
  expect(snapshots.length).toBeGreaterThan(2);
  expect(snapshots[0].length).toBeLessThan(snapshots[snapshots.length - 1].length);

  // Shift+Enter adds a line instead of sending.
  await input.press('Shift+Enter');
  await expect(page.locator('[data-testid="chat-message"]')).toHaveCount(2);
  await input.fill('');

  // History is stored per visitor and survives a reload.
  await page.reload();
  const messages = page.getByTestId('chat-message');
  await expect(messages).toHaveCount(2);
  await expect(messages.nth(0)).toContainText('What can I cook with three eggs and some spinach');
  await expect(messages.nth(1)).toContainText('Echo: What can I cook with three eggs and some spinach');
});

test('switching to another agent warns first; Cancel stays and Continue goes', async ({ request }) => {
  await signIn(request);
  const created = await request.post('/api/agents', {
    data: { name: second.name, slug: second.slug, description: 'A second agent for switching', icon: '🦉', listed: true },
  });
  expect(created.status(), await created.text()).toBe(201);

  const page = await visitor.newPage();
  await page.goto(`/chat/${recipeSlug}`);
  await expect(page.getByTestId('chat-message')).toHaveCount(2); // the conversation from before

  const link = page.locator(`[data-testid="switch-agent"][data-slug="${second.slug}"]`);
  await link.click();
  const dialog = page.getByTestId('confirm-dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('confirm-message')).toHaveText(SWITCH_WARNING);

  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(page).toHaveURL(new RegExp(`/chat/${recipeSlug}$`));
  await expect(page.getByTestId('chat-message')).toHaveCount(2);

  await link.click();
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Continue' }).click();
  await expect(page).toHaveURL(new RegExp(`/chat/${second.slug}$`));
  await expect(page.getByTestId('agent-name')).toHaveText(second.name);
  await expect(page.getByTestId('chat-empty')).toBeVisible();

  // With nothing said yet, switching back needs no confirmation.
  await page.locator(`[data-testid="switch-agent"][data-slug="${recipeSlug}"]`).click();
  await expect(page).toHaveURL(new RegExp(`/chat/${recipeSlug}$`));
  await expect(page.getByTestId('confirm-dialog')).toBeHidden();
  // Continuing reset the context, as warned: the recipe conversation ended (its transcript stays in the dashboard).
  await expect(page.getByTestId('chat-empty')).toBeVisible();
});

test('hostile text renders as text, Markdown renders, nothing is injected', async () => {
  const page = await visitor.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });

  await page.goto(`/chat/${second.slug}`);
  const input = page.getByTestId('chat-input');
  await input.fill('<img src=x onerror=alert(1)> and **bold** <script>alert(2)</script>');
  await input.press('Enter');

  const user = page.locator('[data-testid="chat-message"][data-role="user"]').last();
  const reply = page.locator('[data-testid="chat-message"][data-role="assistant"]').last();
  await expect(reply).toHaveAttribute('data-status', 'complete', { timeout: 15_000 });

  for (const bubble of [user, reply]) {
    await expect(bubble).toContainText('<img src=x onerror=alert(1)>');
    await expect(bubble.locator('strong')).toHaveText('bold');
    await expect(bubble.locator('img, script, [onerror]')).toHaveCount(0);
  }
  await expect(page.getByTestId('chat-log').locator('img, script, iframe')).toHaveCount(0);

  // Still harmless after a reload, when the text comes back from the server.
  await page.reload();
  await expect(page.locator('[data-testid="chat-message"][data-role="user"] strong')).toHaveText('bold');
  await expect(page.getByTestId('chat-log').locator('img, script')).toHaveCount(0);
  expect(dialogs).toEqual([]);

  // "New conversation" clears the view, and the next visit starts empty.
  await page.getByTestId('new-conversation').click();
  await expect(page.getByTestId('chat-empty')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('chat-empty')).toBeVisible();
});

test('a failed reply is shown politely, and the next message works', async ({ request }) => {
  const page = await visitor.newPage();
  await page.goto(`/chat/${second.slug}`);
  await expect(page.getByTestId('chat-empty')).toBeVisible();

  const scripted = await request.post(`${controlUrl}/enqueue`, {
    data: [{ kind: 'error', status: 500 }, { kind: 'error', status: 500 }],
  });
  expect(scripted.status()).toBe(204);
  const input = page.getByTestId('chat-input');
  await input.fill('Are you there?');
  await input.press('Enter');
  const failed = page.getByTestId('chat-error');
  await expect(failed).toBeVisible({ timeout: 15_000 });
  await expect(failed).toContainText("didn't come through");
  await expect(input).toBeEnabled();

  await request.post(`${controlUrl}/reset`);
  await input.fill('Second try');
  await input.press('Enter');
  const reply = page.locator('[data-testid="chat-message"][data-role="assistant"]').last();
  await expect(reply).toContainText('Echo: Second try', { timeout: 15_000 });

  // The failure is stored and still shown as one after a reload.
  await page.reload();
  await expect(page.getByTestId('chat-message')).toHaveCount(4);
  await expect(page.getByTestId('chat-error')).toHaveCount(1);
});

test('a reply nested deeper than Markdown can be read shows as text, in the chat and in the transcript', async ({ request, page }) => {
  // 3,000 `>` overflowed marked's stack: the message could not be drawn, on the visitor's page or in the operator's transcript.
  const chat = await visitor.newPage();
  const errors: string[] = [];
  chat.on('pageerror', (e) => errors.push(e.message));
  await chat.goto(`/chat/${second.slug}`);
  const deep = `Quoting you:\n${'>'.repeat(40_000)} the end`;
  expect((await request.post(`${controlUrl}/enqueue`, { data: [{ kind: 'text', text: deep }] })).status()).toBe(204);
  const input = chat.getByTestId('chat-input');
  await input.fill('Quote me, deeply');
  await input.press('Enter');
  const reply = chat.locator('[data-testid="chat-message"][data-role="assistant"]').last();
  await expect(reply).toContainText(`${'>'.repeat(100)}`, { timeout: 15_000 });
  await expect(reply).toContainText('the end', { timeout: 15_000 });
  await input.fill('Still there?');
  await input.press('Enter');
  await expect(chat.locator('[data-testid="chat-message"][data-role="assistant"]').last()).toContainText('Echo: Still there?', { timeout: 15_000 });
  expect(errors).toEqual([]);
  await chat.close();

  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page);
  const agents = (await (await page.request.get('/api/agents')).json()).agents as { id: string; slug: string }[];
  const { conversations } = await (await page.request.get(`/api/agents/${agents.find((a) => a.slug === second.slug)!.id}/conversations`)).json();
  let id = '';
  for (const c of conversations as { id: string }[]) {
    const full = await (await page.request.get(`/api/conversations/${c.id}`)).json();
    if (full.messages.some((m: { content: string }) => m.content === deep)) id = c.id;
  }
  expect(id).not.toBe('');
  await page.goto(`/dashboard/conversations/${id}`);
  const shown = page.getByTestId('transcript-message').filter({ hasText: 'the end' });
  await expect(shown).toHaveCount(1);
  await expect(shown).toContainText('>'.repeat(100));
  expect(errors).toEqual([]);
});

test('the dashboard shows the conversation transcript and analytics', async ({ page }) => {
  await signIn(page);
  await page.goto('/dashboard');
  const row = page.locator(`[data-testid="overview-agent-row"][data-slug="${recipeSlug}"]`);
  await expect(row).toBeVisible();
  await row.getByRole('link').first().click();

  await page.getByTestId('tab-conversations').click();
  await page.getByTestId('open-conversation').first().click();
  await expect(page).toHaveURL(/\/dashboard\/conversations\/[^/]+$/);
  const transcript = page.getByTestId('transcript-message');
  await expect(transcript).toHaveCount(2);
  await expect(transcript.nth(1)).toContainText('Echo: What can I cook');

  // The failed reply is marked in its transcript.
  const agents = (await (await page.request.get('/api/agents')).json()).agents as { id: string; slug: string }[];
  const secondId = agents.find((a) => a.slug === second.slug)!.id;
  const { conversations } = await (await page.request.get(`/api/agents/${secondId}/conversations`)).json();
  let failedId = '';
  for (const c of conversations as { id: string }[]) {
    const full = await (await page.request.get(`/api/conversations/${c.id}`)).json();
    if (full.messages.some((m: { status: string }) => m.status === 'error')) failedId = c.id;
  }
  expect(failedId).not.toBe('');
  await page.goto(`/dashboard/conversations/${failedId}`);
  await expect(page.locator('[data-testid="transcript-message"][data-status="error"]')).toContainText('Error');

  // Usage became Analytics; the old address still leads there.
  await page.goto('/dashboard/usage');
  await expect(page).toHaveURL(/\/dashboard\/analytics/);
  await expect(page.getByTestId('analytics-by-agent')).toContainText('Recipe Helper');
});
