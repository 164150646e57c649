// The Site tab (issue 17): an agent without a site shows the empty state; a refused URL is named by its
// field; the fake website set as the site is checked (up, uptime, response time); "Run audit now" runs
// an audit whose scores and findings appear. Screenshots with E2E_SHOTS=1.
import { expect, test as base } from '@playwright/test';
import { customerFakes, isolatedApp, signIn } from './helpers.js';

const test = base.extend({
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => use(await isolatedApp('site', { customers: true })),
});

test('site watch settings, uptime and an audit on the Site tab', async ({ page }) => {
  test.setTimeout(120_000);
  const { siteUrl } = await customerFakes();
  await signIn(page);
  const created = await page.request.post('/api/agents', { data: { name: 'Site Bot', slug: 'site-bot', listed: false } });
  expect(created.status(), await created.text()).toBe(201);
  const agentId = (await created.json()).id as string;

  await page.goto(`/dashboard/agents/${agentId}?tab=site`);
  await expect(page.getByTestId('site-empty')).toBeVisible();

  // A URL that is not a web address is refused beside its field.
  await page.getByTestId('site-url').fill('ftp://nowhere');
  await page.getByTestId('site-save').click();
  await expect(page.getByTestId('site-url-error')).toBeVisible();

  await page.getByTestId('site-url').fill(siteUrl);
  await page.getByTestId('site-interval').fill('5');
  await page.getByTestId('site-save').click();
  await expect(page.getByText('Saved.')).toBeVisible();
  await expect(page.getByTestId('site-uptime')).toBeVisible();

  // The first check runs as a job; reload until it is in.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('site-last-check')).toContainText('HTTP 200', { timeout: 2000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByTestId('site-uptime')).toContainText('100.0%');
  await expect(page.getByTestId('site-response-chart')).toBeVisible();

  await page.getByTestId('site-run-audit').click();
  await expect(page.getByTestId('site-latest-audit')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('site-score').first()).not.toHaveText('—');
  await expect(page.getByTestId('site-audit-history')).toBeAttached();

  if (process.env.E2E_SHOTS) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.evaluate((s) => localStorage.setItem('sb-theme', s), scheme);
      await page.reload();
      await expect(page.getByTestId('site-latest-audit')).toBeVisible();
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 900 });
        await page.waitForTimeout(300); // the chart follows its box on the next resize callback
        await page.screenshot({ path: `test-results/shots/site-${scheme}-${width}.png`, fullPage: true });
      }
    }
  }
});

test('a provisioned website agent has the weekly report task, and its report shows under Weekly reports', async ({ page }) => {
  test.setTimeout(120_000);
  const { siteUrl } = await customerFakes();
  await signIn(page);
  // A website agent (a siteUrl, no bot): provisioning adds the weekly report task.
  const created = await page.request.post('/api/agents', { data: { name: 'Report Bot', slug: 'report-bot', listed: false, siteUrl: `${siteUrl}/` } });
  expect(created.status(), await created.text()).toBe(202);
  const agentId = (await created.json()).id as string;
  await expect(async () => {
    const s = await (await page.request.get(`/api/agents/${agentId}/status`)).json();
    expect(s.status).toBe('active');
  }).toPass({ timeout: 60_000 });
  const schedules = (await (await page.request.get(`/api/agents/${agentId}/schedules`)).json()).items;
  const report = schedules.find((s: { kind: string }) => s.kind === 'site_report');
  expect(report, JSON.stringify(schedules)).toBeTruthy();

  await page.goto(`/dashboard/agents/${agentId}?tab=site`);
  await expect(page.getByTestId('site-reports-empty')).toBeVisible();

  // "Run now" writes this week's report (the owner chat is not linked: delivery fails, the report is still kept).
  const run = await page.request.post(`/api/agents/${agentId}/schedules/${report.id}/run`);
  expect(run.status(), await run.text()).toBe(202);
  await expect(async () => {
    const items = (await (await page.request.get(`/api/agents/${agentId}/site/reports`)).json()).items;
    expect(items.length).toBe(1);
  }).toPass({ timeout: 30_000 });
  await page.reload();
  await expect(page.getByTestId('site-report')).toHaveCount(1);
  await page.getByTestId('site-report').getByRole('button').click();
  await expect(page.getByTestId('site-report-content')).toContainText('Weekly site report');
  await expect(page.getByTestId('site-report-content')).toContainText('## Next steps');

  if (process.env.E2E_SHOTS) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.evaluate((s) => localStorage.setItem('sb-theme', s), scheme);
      await page.reload();
      await page.getByTestId('site-report').getByRole('button').click();
      await expect(page.getByTestId('site-report-content')).toBeVisible();
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 900 });
        await page.getByTestId('site-reports').scrollIntoViewIfNeeded();
        await page.screenshot({ path: `test-results/shots/site-reports-${scheme}-${width}.png`, fullPage: false });
      }
    }
  }
});
