// The live inbox in a real browser (issue 15): a Telegram message arrives through the fake Bot API
// and appears in the open Inbox page without a reload (server-sent events, no polling), opening it
// shows the live transcript with the person and the actions, and an auditor sees no actions.
// Screenshots of the list and a conversation at 1280 and 390 px, light and dark, go to
// E2E_SHOTS_DIR (default /tmp/shots/inbox).
import { mkdirSync } from 'node:fs';
import { expect, test as base, type Browser, type Page } from '@playwright/test';
import { controlUrl, isolatedApp, owner, signIn } from './helpers.js';

const test = base.extend({
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => use(await isolatedApp('inbox')),
});
test.describe.configure({ mode: 'serial' });

/** serve.ts's bot for this spec. */
const BOT = '555000120:AAFk3mZq8vWcRtY2uNpLxE7sJdHgB4aQ9i0';
const shots = process.env.E2E_SHOTS_DIR ?? '/tmp/shots/inbox';

async function setUp(page: Page): Promise<{ id: string }> {
  await signIn(page);
  const { agents } = await (await page.request.get('/api/agents')).json();
  let agent = agents.find((a: { slug: string }) => a.slug === 'front-desk');
  if (!agent) {
    const res = await page.request.post('/api/agents', { data: { name: 'Front Desk', slug: 'front-desk', listed: false } });
    expect(res.status(), await res.text()).toBe(201);
    agent = await res.json();
    const connect = await page.request.patch(`/api/agents/${agent.id}`, { data: { telegramBotToken: BOT } });
    expect(connect.ok(), await connect.text()).toBeTruthy();
    // An earlier conversation over the API, so the list is not empty before Telegram speaks.
    const r = await page.request.post(`/api/agents/${agent.id}/message`, { data: { text: 'Do you deliver on weekends?', userId: 'api-caller-1' } });
    expect(r.ok(), await r.text()).toBeTruthy();
  }
  return agent;
}

const telegram = (page: Page, chatId: number, text: string) =>
  page.request.post(`${controlUrl}/telegram/update`, { data: { chatId, text, token: BOT } }).then((r) => expect(r.status()).toBe(204));

test('a Telegram message appears live in the open inbox, and in the open conversation', async ({ page }) => {
  await setUp(page);
  // Count the list requests: after the first load, updates come over the event stream, not by asking again.
  const listCalls: string[] = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/conversations') listCalls.push(r.url()); });

  await page.goto('/dashboard/inbox');
  await expect(page.getByRole('link', { name: 'Inbox' })).toHaveAttribute('href', '/dashboard/inbox');
  await expect(page.getByTestId('inbox-live')).toHaveAttribute('data-live', 'true');
  await expect(page.getByTestId('inbox-item').first()).toContainText('Do you deliver on weekends?');
  await page.waitForTimeout(1500);
  const settled = listCalls.length;

  // A new person writes on Telegram: their conversation appears at the top, no reload.
  await telegram(page, 880_001, 'Hello <b>inbox</b>, is my order on its way?');
  const top = page.getByTestId('inbox-item').first();
  await expect(top).toContainText('Hello <b>inbox</b>, is my order on its way?', { timeout: 15_000 }); // shown as text, not markup
  await expect(top.getByTestId('channel-badge')).toHaveAttribute('data-channel', 'telegram');
  await expect(top).toContainText('Front Desk');
  // The agent answers; the preview follows live.
  await expect(top.getByTestId('inbox-preview')).toContainText('Echo', { timeout: 15_000 });
  await page.waitForTimeout(2500);
  // One reload of the first page for the new conversation (at most one per burst of events); no polling loop.
  expect(listCalls.length - settled).toBeLessThanOrEqual(2);

  // Filters: the unanswered filter leaves it out once answered; the telegram channel shows it alone.
  await page.getByTestId('inbox-channel').selectOption('telegram');
  await expect(page.getByTestId('inbox-item')).toHaveCount(1);
  await page.getByTestId('inbox-channel').selectOption('');
  await page.getByTestId('inbox-search').fill('weekends');
  await expect(page.getByTestId('inbox-item')).toHaveCount(1);
  await expect(page.getByTestId('inbox-item')).toContainText('Do you deliver on weekends?');
  await page.getByTestId('inbox-search').fill('');
  await expect(page.getByTestId('inbox-item')).toHaveCount(2);

  // Open it: the transcript, the person with their Telegram identity, the actions.
  await page.getByTestId('inbox-item').first().getByRole('link').click();
  await expect(page).toHaveURL(/\/dashboard\/inbox\/[^/]+$/);
  await expect(page.getByTestId('conversation-live')).toHaveAttribute('data-live', 'true');
  const transcript = page.getByTestId('inbox-transcript');
  await expect(transcript.getByTestId('inbox-message').first()).toContainText('Hello <b>inbox</b>');
  await expect(transcript.getByTestId('inbox-message').first().getByTestId('inbox-message-author')).toHaveText('Person');
  await expect(transcript.getByTestId('inbox-message').nth(1).getByTestId('inbox-message-author')).toHaveText('Front Desk');
  await expect(page.getByTestId('inbox-person-card').getByTestId('person-identities')).toContainText('880001');
  await expect(page.getByTestId('conversation-mode')).toHaveAttribute('data-mode', 'agent');
  await expect(page.getByTestId('inbox-take-over')).toBeVisible();
  await expect(page.getByTestId('inbox-reply-text')).toBeVisible();
  await expect(page.getByTestId('conversation-extra-actions')).toBeAttached();

  // The person writes again: it appears in the open transcript, then the agent's answer.
  await telegram(page, 880_001, 'Second question, please');
  await expect(transcript.getByTestId('inbox-message').filter({ hasText: 'Second question, please' })).toHaveCount(1, { timeout: 15_000 });
  await expect(transcript.getByTestId('inbox-message')).toHaveCount(4, { timeout: 15_000 });
});

test('an auditor reads the inbox but has no actions', async ({ page, browser, baseURL }) => {
  await setUp(page);
  const email = 'auditor-inbox@example.com';
  const add = await page.request.post('/api/users', { data: { email, password: owner.password, role: 'auditor' } });
  expect([201, 409]).toContain(add.status());
  const context = await browser.newContext({ baseURL });
  const p = await context.newPage();
  expect((await p.request.post('/api/auth/login', { data: { email, password: owner.password } })).ok()).toBeTruthy();
  await p.goto('/dashboard/inbox');
  await expect(p.getByTestId('inbox-item').first()).toBeVisible();
  await p.getByTestId('inbox-item').first().getByRole('link').click();
  await expect(p.getByTestId('inbox-transcript')).toBeVisible();
  await expect(p.getByTestId('inbox-read-only')).toBeVisible();
  await expect(p.getByTestId('inbox-actions')).toHaveCount(0);
  await context.close();
});

const variants = [
  { name: 'desktop-light', width: 1280, height: 800, dark: false },
  { name: 'desktop-dark', width: 1280, height: 800, dark: true },
  { name: 'mobile-light', width: 390, height: 844, dark: false },
  { name: 'mobile-dark', width: 390, height: 844, dark: true },
] as const;

async function openAs(browser: Browser, v: (typeof variants)[number], baseURL: string): Promise<Page> {
  const context = await browser.newContext({ baseURL, viewport: { width: v.width, height: v.height }, colorScheme: v.dark ? 'dark' : 'light', deviceScaleFactor: 1 });
  const page = await context.newPage();
  expect((await page.request.post('/api/auth/login', { data: owner })).ok()).toBeTruthy();
  return page;
}

test('screenshots of the inbox and a conversation (1280 and 390 px, light and dark)', async ({ page, browser, baseURL }) => {
  test.setTimeout(90_000);
  mkdirSync(shots, { recursive: true });
  await setUp(page);
  for (const v of variants) {
    const p = await openAs(browser, v, baseURL!);
    await p.goto('/dashboard/inbox');
    // A fresh browser context signs in, loads the app and opens the stream: slow on a loaded CI machine.
    await expect(p.getByTestId('inbox-live')).toHaveAttribute('data-live', 'true', { timeout: 20_000 });
    await expect(p.getByTestId('inbox-item').first()).toBeVisible();
    await p.waitForTimeout(200);
    await p.screenshot({ path: `${shots}/inbox-${v.name}.png`, fullPage: true });
    // No sideways scrolling on a phone.
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(v.width);
    await p.getByTestId('inbox-item').first().getByRole('link').click();
    await expect(p.getByTestId('inbox-transcript')).toBeVisible();
    await p.waitForTimeout(200);
    await p.screenshot({ path: `${shots}/conversation-${v.name}.png`, fullPage: true });
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(v.width);
    await p.context().close();
  }
});
