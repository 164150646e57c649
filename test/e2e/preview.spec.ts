// The agent editor's Preview in a real browser: chat with the unsaved persona (streamed, nothing
// saved), the system prompt following the edits, and "Open as this person" from a conversation.
import { expect, test, type Page } from '@playwright/test';
import { signIn } from './helpers.js';

test.describe.configure({ mode: 'serial' });

const shots = 'test-results/preview-shots';

async function newAgent(page: Page, name: string) {
  const res = await page.request.post('/api/agents', { data: { name, listed: false, persona: { soul: 'You are the saved persona.' } } });
  expect(res.status(), await res.text()).toBe(201);
  return (await res.json()) as { id: string; slug: string };
}

test('the preview chats with the persona being edited, streams the reply, and saves nothing', async ({ page }) => {
  await signIn(page);
  const agent = await newAgent(page, 'Preview Agent');
  await page.goto(`/dashboard/agents/${agent.id}`);
  await page.getByTestId('persona-tab-soul').click();
  await page.getByTestId('persona-soul').fill('You are the DRAFT persona, unsaved.');
  // The system prompt follows the edit, with its size.
  await expect(page.getByTestId('prompt-preview')).toContainText('You are the DRAFT persona, unsaved.');
  await expect(page.getByTestId('preview-tokens')).toBeVisible();

  const preview = page.getByTestId('agent-preview');
  await expect(preview.getByTestId('preview-note')).toContainText('Nothing is saved');
  await preview.getByTestId('preview-input').fill('Hello from the preview');
  await preview.getByTestId('preview-send').click();
  const reply = preview.locator('[data-testid="chat-message"][data-role="assistant"]').last();
  // The reply grows while it streams, then settles.
  await expect(reply).toHaveAttribute('data-status', 'streaming');
  await expect(reply).toHaveAttribute('data-status', 'complete');
  await expect(reply.getByTestId('message-content')).toContainText('Hello from the preview');

  // The model was sent the draft, not the saved persona: what the prompt preview showed.
  const prompt = await (await page.request.post(`/api/agents/${agent.id}/prompt-preview`, { data: { draft: { persona: { soul: 'You are the DRAFT persona, unsaved.' } } } })).json();
  expect(prompt.system).toContain('DRAFT persona');

  // Reset empties the preview.
  await preview.getByTestId('preview-reset').click();
  await expect(preview.getByTestId('chat-message')).toHaveCount(0);

  // Reloading shows the persona as saved: the preview stored nothing, and no conversation exists.
  await page.reload();
  await page.getByTestId('persona-tab-soul').click();
  await expect(page.getByTestId('persona-soul')).toHaveValue('You are the saved persona.');
  const saved = await (await page.request.get(`/api/agents/${agent.id}`)).json();
  expect(saved.persona.soul).toBe('You are the saved persona.');
  const convs = await (await page.request.get(`/api/agents/${agent.id}/conversations`)).json();
  expect(convs.conversations).toEqual([]);
});

test('"Open as this person" opens the preview with their memory', async ({ page }) => {
  await signIn(page);
  const agent = await newAgent(page, 'Impersonated Agent');
  const chat = await page.request.post(`/api/agents/${agent.id}/message`, { data: { text: 'I grow tomatoes on my balcony', userId: 'grower' } });
  expect(chat.status(), await chat.text()).toBe(200);
  const { conversationId } = await chat.json();

  await page.goto(`/dashboard/conversations/${conversationId}`);
  await page.getByTestId('open-as-person').click();
  await expect(page).toHaveURL(new RegExp(`/dashboard/agents/${agent.id}\\?as=`));
  const preview = page.getByTestId('agent-preview');
  await expect(preview.getByTestId('preview-as')).toContainText('with their summaries and notes, read-only');
  await preview.getByTestId('preview-input').fill('What do I grow?');
  await preview.getByTestId('preview-input').press('Enter');
  const reply = preview.locator('[data-testid="chat-message"][data-role="assistant"]').last();
  await expect(reply).toHaveAttribute('data-status', 'complete');
  await expect(reply.getByTestId('message-content')).toContainText('What do I grow?');
  // Nothing was added to their conversation.
  const after = await (await page.request.get(`/api/conversations/${conversationId}`)).json();
  expect(after.messages).toHaveLength(2);
  await preview.screenshot({ path: `${shots}/preview-as-person.png` });
});

test('screenshots of the preview at 1280 and 390 px, light and dark', async ({ browser, baseURL }) => {
  test.setTimeout(150_000);
  for (const v of [{ name: 'desktop-light', width: 1280, dark: false }, { name: 'desktop-dark', width: 1280, dark: true }, { name: 'phone-light', width: 390, dark: false }, { name: 'phone-dark', width: 390, dark: true }]) {
    const ctx = await browser.newContext({ baseURL, viewport: { width: v.width, height: 900 }, colorScheme: v.dark ? 'dark' : 'light' });
    const page = await ctx.newPage();
    await signIn(page);
    const agent = await newAgent(page, `Shot ${v.name}`);
    await page.goto(`/dashboard/agents/${agent.id}`);
    await page.getByTestId('persona-soul').fill('You answer **briefly**.');
    const preview = page.getByTestId('agent-preview');
    await preview.getByTestId('preview-input').fill('Hi! What can you do?');
    await preview.getByTestId('preview-send').click();
    await expect(preview.locator('[data-testid="chat-message"][data-role="assistant"]').last()).toHaveAttribute('data-status', 'complete');
    await expect(page.getByTestId('prompt-preview')).toContainText('briefly');
    // At 390 px the panel sits below the editor, as wide as the screen.
    const box = (await preview.boundingBox())!;
    expect(box.width).toBeLessThanOrEqual(v.width);
    await preview.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${shots}/preview-${v.name}.png` });
    await preview.screenshot({ path: `${shots}/preview-panel-${v.name}.png` });
    await ctx.close();
  }
});
