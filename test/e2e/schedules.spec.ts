// The Schedules tab (issue 17): a cron schedule in a time zone and an every-N-minutes one made through
// the form (a bad cron and a too-small interval named beside their fields), their next run times,
// pause and resume, "Run now" with the run's output and cost in the history (loaded only when opened),
// delete; the owner-link card gives a t.me link; and a customer sets their own time zone in their
// settings. Hostile names and outputs stay text. Screenshots with E2E_SHOTS=1.
import { expect, test as base, type Page } from '@playwright/test';
import { customerFakes, isolatedApp, signIn } from './helpers.js';

const test = base.extend({
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => use(await isolatedApp('schedules', { customers: true })),
});

const HOSTILE = '<img src=x onerror="window.__pwned=1">';

async function shots(page: Page, name: string, ready: () => Promise<void>) {
  if (!process.env.E2E_SHOTS) return;
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.evaluate((s) => localStorage.setItem('sb-theme', s), scheme);
    await page.reload();
    await ready();
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.screenshot({ path: `test-results/shots/${name}-${scheme}-${width}.png`, fullPage: true });
    }
  }
  await page.setViewportSize({ width: 1280, height: 720 });
}

test('schedules through the form, run now with its history, pause, delete, and the owner link', async ({ page }) => {
  test.setTimeout(120_000);
  const fakes = await customerFakes();
  await signIn(page);
  const created = await page.request.post('/api/agents', { data: { name: 'Sched Bot', slug: 'sched-bot', listed: false } });
  expect(created.status(), await created.text()).toBe(201);
  const agentId = (await created.json()).id as string;

  const runRequests: string[] = [];
  page.on('request', (r) => { if (/\/schedules\/[^/]+\/runs/.test(r.url())) runRequests.push(r.url()); });

  await page.goto(`/dashboard/agents/${agentId}?tab=schedules`);
  await expect(page.getByTestId('schedules-empty')).toBeVisible();

  // A cron schedule in Tokyo time; a cron that is none is named beside its field first.
  await page.getByTestId('schedule-new').click();
  await page.getByTestId('schedule-name').fill(`Weekday brief ${HOSTILE}`);
  await page.getByTestId('schedule-cron').fill('every day');
  await page.getByTestId('schedule-instruction').fill(`Summarise the week ${HOSTILE} and list what needs my attention.`);
  await page.getByTestId('schedule-save').click();
  await expect(page.getByTestId('schedule-cron-error')).toBeVisible();
  await expect(page.getByTestId('schedule-cron')).toHaveAttribute('aria-invalid', 'true');
  await page.getByTestId('schedule-cron').fill('0 8 * * 1-5');
  await page.getByTestId('schedule-timezone').selectOption('Asia/Tokyo');
  await page.getByTestId('schedule-save').click();
  await expect(page.getByTestId('schedule-form')).toHaveCount(0);
  const cronRow = page.getByTestId('schedule-row').filter({ hasText: 'Weekday brief' });
  await expect(cronRow).toContainText('0 8 * * 1-5');
  await expect(cronRow).toContainText('Asia/Tokyo');
  await expect(cronRow.getByTestId('schedule-row-name')).toHaveText(`Weekday brief ${HOSTILE}`);
  await expect(cronRow.getByTestId('schedule-next')).not.toHaveText('paused');
  await expect(cronRow.getByTestId('schedule-next')).not.toHaveText('—');
  // The next run reads in the schedule's zone, and says which: 08:00 in Tokyo, whatever the browser's zone.
  await expect(cronRow.getByTestId('schedule-next')).toContainText('(Asia/Tokyo)');
  await expect(cronRow.getByTestId('schedule-next')).toContainText(/\b8:00\b/);

  // Every N minutes: zero is refused beside the field, 90 is taken.
  await page.getByTestId('schedule-new').click();
  await page.getByTestId('schedule-name').fill('Inbox sweep');
  await page.getByTestId('schedule-mode-every').check();
  await page.getByTestId('schedule-every').fill('0');
  await page.getByTestId('schedule-instruction').fill('Look for unanswered questions.');
  await page.getByTestId('schedule-save').click();
  await expect(page.getByTestId('schedule-every-error')).toBeVisible();
  await page.getByTestId('schedule-every').fill('90');
  await page.getByTestId('schedule-save').click();
  await expect(page.getByTestId('schedule-row')).toHaveCount(2);
  const everyRow = page.getByTestId('schedule-row').filter({ hasText: 'Inbox sweep' });
  await expect(everyRow).toContainText('every 90 min');
  await expect(everyRow.getByTestId('schedule-next')).not.toHaveText('paused');

  // Pause and resume.
  await everyRow.getByTestId('schedule-toggle').uncheck();
  await expect(everyRow.getByTestId('schedule-next')).toHaveText('paused');
  await everyRow.getByTestId('schedule-toggle').check();
  await expect(everyRow.getByTestId('schedule-next')).not.toHaveText('paused');

  // The list asked for no run history: it is loaded when a schedule's runs are opened.
  await page.reload();
  await expect(page.getByTestId('schedule-row')).toHaveCount(2);
  expect(runRequests).toEqual([]);
  await everyRow.getByTestId('schedule-history').click();
  await expect(everyRow.getByTestId('schedule-runs')).toContainText('No runs yet.');
  expect(runRequests).toHaveLength(1);
  await everyRow.getByTestId('schedule-history').click();

  // Run now: the run shows up in the history with the fake model's answer and its cost.
  await cronRow.getByTestId('schedule-run').click();
  const run = cronRow.getByTestId('schedule-run-row').first();
  await expect(run.getByTestId('run-status')).toHaveText('ok', { timeout: 30_000 });
  await expect(run).toContainText('run by hand');
  await expect(run).toContainText(/cost \$\d/);
  await expect(run.getByTestId('run-delivery')).toHaveText('sent');
  await expect(run.getByTestId('run-output')).toContainText('Summarise the week');
  await expect(run.getByTestId('run-output')).toContainText(HOSTILE);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

  // The owner link: with the agent's Telegram bot connected, a one-time t.me link.
  await page.getByTestId('owner-link').click();
  await expect(page.getByTestId('owner-chat')).toContainText('Connect a Telegram bot on the Channels tab first.');
  const bot = fakes.spareBots[4]!;
  const patched = await page.request.patch(`/api/agents/${agentId}`, { data: { telegramBotToken: bot.token } });
  expect(patched.status(), await patched.text()).toBe(200);
  await page.reload();
  await expect(page.getByTestId('owner-chat-state')).toHaveText('Not linked.');
  await page.getByTestId('owner-link').click();
  const url = page.getByTestId('owner-link-url');
  await expect(url).toHaveAttribute('href', new RegExp(`^https://t\\.me/${bot.username}\\?start=[A-Za-z0-9_-]+$`));
  const code = await page.getByTestId('owner-link-code').textContent();
  expect(await url.getAttribute('href')).toContain(code!.replace('/start ', ''));

  await cronRow.getByTestId('schedule-history').click();
  await shots(page, 'schedules', async () => {
    await expect(page.getByTestId('schedule-row')).toHaveCount(2);
    await cronRow.getByTestId('schedule-history').click();
    await expect(cronRow.getByTestId('run-output').first()).toBeVisible();
    await page.getByTestId('owner-link').click();
    await expect(page.getByTestId('owner-link-url')).toBeVisible();
  });

  // Delete, after confirming.
  await everyRow.getByTestId('schedule-delete').click();
  const confirm = page.getByTestId('confirm-dialog').filter({ hasText: 'Inbox sweep' });
  await expect(confirm.getByTestId('confirm-message')).toContainText('its run history are deleted');
  await confirm.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('schedule-row')).toHaveCount(1);
  await expect(page.getByTestId('schedule-row')).toContainText('Weekday brief');
  expect((await (await page.request.get(`/api/agents/${agentId}/schedules`)).json()).items).toHaveLength(1);
});

test('a customer finds their time zone in their own settings and sets it', async ({ page }) => {
  const email = 'tz-customer@example.com';
  const password = 'correct horse battery';
  const registered = await page.request.post('/api/auth/register', { data: { email, password, name: 'Tess Zone' } });
  if (registered.status() === 409) expect((await page.request.post('/api/auth/login', { data: { email, password } })).ok()).toBeTruthy();
  else expect(registered.ok(), await registered.text()).toBeTruthy();

  await page.goto('/dashboard');
  await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Settings', exact: true }).filter({ visible: true }).click();
  await expect(page).toHaveURL(/\/dashboard\/settings$/);
  // Their own settings only: not the installation's.
  await expect(page.getByTestId('customer-platform')).toHaveCount(0);
  await expect(page.getByTestId('timezone-setting')).toBeVisible();
  await page.getByTestId('timezone-select').selectOption('America/Sao_Paulo');
  await page.getByTestId('timezone-save').click();
  await expect(page.getByTestId('timezone-saved')).toHaveText('Saved: America/Sao_Paulo.');
  expect((await (await page.request.get('/api/auth/me')).json()).user.timezone).toBe('America/Sao_Paulo');
  await page.reload();
  await expect(page.getByTestId('timezone-select')).toHaveValue('America/Sao_Paulo');

  await shots(page, 'settings-customer-timezone', async () => {
    await expect(page.getByTestId('timezone-setting')).toBeVisible();
  });
});
