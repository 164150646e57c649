// The Knowledge tab (issue 18): a file uploaded with X-Filename shows up ready with its counts, the
// test-search box finds its passage, and the search mode is shown. Screenshots with E2E_SHOTS=1.
import { expect, test as base } from '@playwright/test';
import { controlUrl, isolatedApp, signIn } from './helpers.js';

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
      await page.reload(); // the app reads the theme at load
      await expect(page.getByTestId('knowledge-status')).toHaveText('ready');
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 900 });
        await page.screenshot({ path: `test-results/shots/knowledge-${scheme}-${width}.png`, fullPage: true });
      }
    }
  }
});

test('citations are safe links in the web chat and the dashboard transcript; autoContext is a switch', async ({ page, browser, baseURL }) => {
  await signIn(page);
  const created = await page.request.post('/api/agents', { data: { name: 'Cite Bot', slug: 'cite-bot', listed: true } });
  expect(created.status(), await created.text()).toBe(201);
  const agentId = (await created.json()).id as string;
  const reply = 'Saturday hours are in [Opening hours](https://shop.example/hours), see also https://shop.example/faq. '
    + 'Not [this](javascript:alert(1)) nor [that](/relative) nor <img src=x onerror="window.__pwned=1">.';
  expect((await page.request.post(`${controlUrl}/enqueue?app=knowledge`, { data: { kind: 'text', text: reply } })).status()).toBe(204);

  const visitor = await browser.newPage({ baseURL });
  await visitor.goto('/chat/cite-bot');
  await visitor.getByTestId('chat-input').fill('When do you open?');
  await visitor.getByTestId('chat-input').press('Enter');
  const bubble = visitor.locator('[data-testid="chat-message"][data-role="assistant"]').last();
  await expect(bubble).toHaveAttribute('data-status', 'complete', { timeout: 15_000 });
  const check = async (scope: typeof bubble) => {
    await expect(scope.locator('a[href="https://shop.example/hours"]')).toHaveText('Opening hours');
    await expect(scope.locator('a[href="https://shop.example/hours"]')).toHaveAttribute('rel', /noopener/);
    await expect(scope.locator('a[href="https://shop.example/faq"]')).toHaveCount(1);
    await expect(scope.locator('a[href^="javascript"], a[href="/relative"], img, [onerror]')).toHaveCount(0);
    await expect(scope).toContainText('this');
    await expect(scope).toContainText('<img src=x');
  };
  await check(bubble);
  expect(await visitor.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

  const list = await page.request.get(`/api/conversations?agentId=${agentId}`);
  const conv = ((await list.json()).items as { id: string; agentId: string }[]).find((c) => c.agentId === agentId)!;
  await page.goto(`/dashboard/conversations/${conv.id}`);
  await check(page.getByTestId('transcript-message').last());

  await page.goto(`/dashboard/agents/${agentId}?tab=knowledge`);
  const toggle = page.getByTestId('knowledge-autocontext');
  await expect(toggle).not.toBeChecked();
  await toggle.check();
  await expect.poll(async () => (await (await page.request.get(`/api/agents/${agentId}`)).json()).knowledge.autoContext).toBe(true);
  await page.reload();
  await expect(page.getByTestId('knowledge-autocontext')).toBeChecked();
  await visitor.close();
});
