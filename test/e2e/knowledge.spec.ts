// The Knowledge tab (issue 18): a file uploaded with X-Filename shows up ready with its counts, the
// test-search box finds its passage, and the search mode is shown. Screenshots with E2E_SHOTS=1.
import { expect, test as base } from '@playwright/test';
import { isolatedApp, signIn } from './helpers.js';

const test = base.extend({
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => use(await isolatedApp('knowledge')),
});

test('a file source, its status and a test search on the Knowledge tab', async ({ page }) => {
  await signIn(page);
  const created = await page.request.post('/api/agents', { data: { name: 'Know Bot', slug: 'know-bot', listed: false } });
  expect(created.status(), await created.text()).toBe(201);
  const agentId = (await created.json()).id as string;
  const up = await page.request.post(`/api/agents/${agentId}/knowledge/files`, {
    headers: { 'content-type': 'text/plain', 'x-filename': 'hours.md' }, data: Buffer.from('# Opening hours\nWe open at nine on Saturdays. <img src=x onerror="window.__pwned=1">'),
  });
  expect(up.status(), await up.text()).toBe(202);
  await page.goto(`/dashboard/agents/${agentId}?tab=knowledge`);
  await expect(page.getByTestId('knowledge-status')).toHaveText('ready', { timeout: 15_000 });
  await expect(page.getByTestId('knowledge-mode')).toHaveText('full text');
  await page.getByTestId('knowledge-search').fill('saturday opening');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByTestId('knowledge-results')).toContainText('We open at nine on Saturdays.');
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  if (process.env.E2E_SHOTS) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 900 });
        await page.screenshot({ path: `test-results/shots/knowledge-${scheme}-${width}.png`, fullPage: true });
      }
    }
  }
});
