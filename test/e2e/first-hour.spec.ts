// A new operator's first hour (issue 14.6, 14.7, 14.8, 14.10, 14.11, 14.12), on a fresh server of its own:
// the setup page's password rule inline, a sidebar without the customer platform until it is switched
// on, icons drawn as SVG and agent avatars as initials on a machine without any emoji font, one error
// per field in words, template descriptions without placeholders, agent tabs that fit a phone, and
// sign-in failures counted down. Screenshots (1280 and 390 px, light and dark) go to E2E_SHOTS_DIR
// (default /tmp/shots/first-hour) for a person to look at.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test as base, expect, type Browser, type Page } from '@playwright/test';
import { isolatedApp, owner } from './helpers.js';

/** Fontconfig with only the text fonts (DejaVu, Liberation): whatever this machine has, no emoji font. */
function fontsWithoutEmoji(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-fonts-'));
  const file = join(dir, 'fonts.conf');
  writeFileSync(file, `<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>
  <dir>/usr/share/fonts/truetype/dejavu</dir><dir>/usr/share/fonts/truetype/liberation</dir>
  <cachedir>${dir}/cache</cachedir></fontconfig>`);
  return file;
}

const test = base.extend({
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => use(await isolatedApp('first-hour')),
});
// The project's launch options (system Chromium, its flags), with a font setup that has no emoji font.
test.use({
  launchOptions: {
    executablePath: process.env.E2E_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    env: { ...process.env, FONTCONFIG_FILE: fontsWithoutEmoji() },
  },
});
test.describe.configure({ mode: 'serial' });
test.setTimeout(120_000);

const shots = process.env.E2E_SHOTS_DIR ?? '/tmp/shots/first-hour';
mkdirSync(shots, { recursive: true });
const variants = [
  { name: 'desktop-light', width: 1280, height: 800, dark: false },
  { name: 'desktop-dark', width: 1280, height: 800, dark: true },
  { name: 'mobile-light', width: 390, height: 844, dark: false },
  { name: 'mobile-dark', width: 390, height: 844, dark: true },
] as const;
type Variant = (typeof variants)[number];

async function open(browser: Browser, baseURL: string, v: Variant): Promise<Page> {
  const context = await browser.newContext({ baseURL, viewport: { width: v.width, height: v.height }, colorScheme: v.dark ? 'dark' : 'light', deviceScaleFactor: 1 });
  return context.newPage();
}
async function shoot(page: Page, name: string, v: Variant, fullPage = true): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: `${shots}/${name}-${v.name}.png`, fullPage });
}
async function signIn(page: Page): Promise<void> {
  const res = await page.request.post('/api/auth/login', { data: owner });
  expect(res.ok(), await res.text()).toBeTruthy();
}
/** On a phone the sidebar is behind the menu button. */
async function nav(page: Page, v: Variant) {
  if (v.width < 1024) await page.getByRole('button', { name: 'Menu' }).click();
  return page.getByRole('navigation', { name: 'Dashboard' }).locator('visible=true').first();
}

test('setup shows its password rule beside the field, once', async ({ page }) => {
  await page.goto('/setup');
  await expect(page.getByTestId('setup-form')).toBeVisible();
  await expect(page.getByTestId('password-rule')).toHaveText(/At least 8 characters/);
  await page.getByLabel('Email').fill(owner.email);
  await page.getByLabel('Password', { exact: true }).fill('short');
  await expect(page.getByTestId('password-rule')).toHaveText(/3 more/);
  await page.getByLabel('Confirm password').fill('short');
  await page.getByTestId('setup-submit').click();
  await expect(page.getByTestId('password-rule')).toHaveText('The password needs at least 8 characters (3 more)');
  await expect(page.locator('.field-error')).toHaveCount(1);
  await expect(page.getByTestId('form-error')).toHaveCount(0);
  await expect(page.getByLabel('Password', { exact: true })).toBeFocused();
  for (const v of variants) {
    await page.setViewportSize({ width: v.width, height: v.height });
    await page.emulateMedia({ colorScheme: v.dark ? 'dark' : 'light' });
    await shoot(page, 'setup-password-rule', v);
  }
  await page.getByLabel('Password', { exact: true }).fill(owner.password);
  await page.getByLabel('Confirm password').fill(owner.password);
  await page.getByTestId('setup-submit').click();
  await expect(page).toHaveURL(/\/dashboard$/);
});

test('a fresh install: the sidebar in groups, no customer platform, SVG icons without an emoji font', async ({ browser, baseURL }) => {
  for (const v of variants) {
    const page = await open(browser, baseURL!, v);
    await signIn(page);
    await page.goto('/dashboard');
    const sidebar = await nav(page, v);
    await expect(sidebar.getByRole('link', { name: 'Agents' })).toBeVisible();
    await expect(sidebar.getByRole('link', { name: 'Settings', exact: true })).toBeVisible();
    await expect(sidebar.getByRole('link', { name: 'Customers' })).toHaveCount(0);
    await expect(sidebar.getByRole('link', { name: 'Plans' })).toHaveCount(0);
    await expect(sidebar.getByText('Customer platform')).toHaveCount(0);
    // Every link's icon is an SVG drawn by us, not a character a font must have.
    const links = sidebar.getByRole('link');
    const n = await links.count();
    expect(n).toBeGreaterThan(6);
    for (let i = 0; i < n; i++) await expect(links.nth(i).locator('svg').first()).toBeVisible();
    await expect(page.getByTestId('agents-empty').locator('svg')).toBeVisible();
    await shoot(page, 'sidebar-before-signup', v, false);
    await page.context().close();
  }
});

test('templates: plain descriptions, avatars as initials without an emoji font, one error per field in words', async ({ browser, baseURL }) => {
  for (const v of variants) {
    const page = await open(browser, baseURL!, v);
    await signIn(page);
    await page.goto('/dashboard/agents/new');
    const cards = page.getByTestId('template-card');
    await expect(cards.first()).toBeVisible();
    for (const text of await page.getByTestId('template-description').allTextContents()) {
      expect(text).not.toMatch(/\{[a-z_]+\}|\[[a-z ]+\]/);
    }
    // No emoji font here: 📐, 🍲 and 🧭 have no glyph and show initials instead of a box (✍️ has a
    // plain-text glyph in DejaVu Sans, so it is drawn as it is).
    for (const [id, letters] of [['maths-tutor', 'MT'], ['recipe-helper', 'RH'], ['website-product-manager', 'WP']]) {
      const icon = page.locator(`[data-template="${id}"]`).getByTestId('agent-icon');
      await expect(icon).toHaveAttribute('data-fallback', 'initials');
      await expect(icon).toHaveText(letters!);
    }
    await shoot(page, 'template-gallery', v);

    await page.locator('[data-template="recipe-helper"]').click();
    await expect(page.getByText('{cuisine}')).toHaveCount(0);
    await page.getByTestId('agent-name-input').fill('   ');
    await page.getByTestId('create-agent').click();
    const form = page.getByTestId('new-agent-form');
    await expect(form.locator('.field-error')).toHaveText(['Give the agent a name']);
    await expect(form.getByTestId('form-error')).toHaveCount(0);
    await expect(form.getByText('is required')).toHaveCount(0);
    await expect(page.getByTestId('agent-name-input')).toBeFocused();
    await shoot(page, 'agent-name-error', v);
    await page.context().close();
  }
});

test('the agent page: tabs fit a phone, a blank name said once in words, Set a budget focuses the field', async ({ browser, baseURL }) => {
  const setup = await open(browser, baseURL!, variants[0]);
  await signIn(setup);
  const created = await setup.request.post('/api/agents', { data: { name: 'Recipe Helper', template: 'recipe-helper' } });
  expect(created.ok(), await created.text()).toBeTruthy();
  const agent = await created.json();
  await setup.context().close();
  for (const v of variants) {
    const page = await open(browser, baseURL!, v);
    await signIn(page);
    await page.goto(`/dashboard/agents/${agent.id}`);
    const tabs = page.getByRole('tablist', { name: 'Agent sections' }).getByRole('tab');
    await expect(tabs.first()).toBeVisible();
    // Every tab is whole inside the viewport (none cut like "Summarie").
    for (const tab of await tabs.all()) {
      const box = (await tab.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(v.width);
    }
    await shoot(page, 'agent-tabs', v, false);

    await page.getByRole('button', { name: 'Set a budget' }).click();
    await expect(page.getByTestId('budget-input')).toBeFocused();

    await page.locator('#f-name').fill('   ');
    await page.getByTestId('agent-form').getByRole('button', { name: /^Save/ }).first().click();
    await expect(page.locator('#f-name ~ .field-error')).toHaveText('Give the agent a name');
    await expect(page.locator('.field-error', { hasText: 'Give the agent a name' })).toHaveCount(1);
    await expect(page.getByTestId('form-error')).toHaveCount(0);
    await expect(page.getByText('name: is required')).toHaveCount(0);
    await shoot(page, 'agent-name-error-editor', v, false);
    await page.context().close();
  }
});

test('the customer platform switch brings Customers and Plans into the sidebar', async ({ browser, baseURL }) => {
  const page = await open(browser, baseURL!, variants[0]);
  await signIn(page);
  await page.goto('/dashboard/settings');
  const sw = page.getByTestId('customer-platform-switch');
  await expect(sw).toHaveAttribute('aria-checked', 'false');
  await shoot(page, 'settings-platform-off', variants[0]);
  await sw.click();
  await expect(sw).toHaveAttribute('aria-checked', 'true');
  const sidebar = page.getByRole('navigation', { name: 'Dashboard' }).first();
  await expect(sidebar.getByRole('link', { name: 'Customers' })).toBeVisible();
  await expect(sidebar.getByRole('link', { name: 'Plans' })).toBeVisible();
  await page.context().close();
  for (const v of variants) {
    const p = await open(browser, baseURL!, v);
    await signIn(p);
    await p.goto('/dashboard/settings');
    const s = await nav(p, v);
    await expect(s.getByRole('link', { name: 'Customers' })).toBeVisible();
    await shoot(p, 'sidebar-after-signup', v, false);
    await p.context().close();
  }
  // Back off for the sign-in test: the login page offers no sign-up.
  const off = await open(browser, baseURL!, variants[0]);
  await signIn(off);
  expect((await off.request.patch('/api/settings', { data: { signup: false } })).ok()).toBeTruthy();
  await off.context().close();
});

test('sign-in counts down the tries left, then says the next are slowed', async ({ browser, baseURL }) => {
  const v = variants[0];
  const page = await open(browser, baseURL!, v);
  await page.goto('/login');
  await page.getByLabel('Email').fill('nobody@example.com');
  await page.getByLabel('Password').fill('wrong password');
  for (let i = 0; i < 3; i++) {
    await page.getByTestId('login-submit').click();
    await expect(page.getByTestId('form-error')).toBeVisible();
    await expect(page.getByTestId('login-submit')).toBeEnabled();
  }
  await expect(page.getByTestId('login-attempts-left')).toHaveText('2 tries left before sign-in is slowed down.');
  for (const x of variants) {
    await page.setViewportSize({ width: x.width, height: x.height });
    await page.emulateMedia({ colorScheme: x.dark ? 'dark' : 'light' });
    await shoot(page, 'login-tries-left', x);
  }
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('login-attempts-left')).toHaveText('1 try left before sign-in is slowed down.');
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('login-attempts-left')).toHaveText('The next wrong tries will be slowed down.');
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('login-wait')).toHaveText(/^Try again in \d+ seconds?\.$/);
  await page.context().close();
});
