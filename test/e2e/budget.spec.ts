// Cost control in a real browser (issue 5): a budget set on an agent's Settings tab and its status
// card; chatting past the fallback threshold and then the stop; the alerts and the cheaper-model
// advice on the overview (applying it); the analytics charts drawn on their canvases and a table
// exported as CSV; where alerts go (a webhook that cannot be reached, and the test saying so);
// a customer's monthly cap; and an auditor seeing all of it read-only.
//
// Runs on its own Switchboard (serve.ts starts it), so its owner, prices and alerts stay out of
// core.spec.ts's first-run setup.
import { readFile } from 'node:fs/promises';
import { expect, test as base, type Page } from '@playwright/test';
import { isolatedApp, signIn } from './helpers.js';

const test = base.extend({
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => use(await isolatedApp('budget')),
});
test.describe.configure({ mode: 'serial' });

const MAIN = 'openai:gpt-4o-mini';
const FALLBACK = 'openai:gpt-4.1-nano';
const STOP_MESSAGE = 'Budget Bot is resting until next month.';
let agentId = '';

/** One message through the public chat API; answers the text of the `done` event's reply. */
async function chat(page: Page, text: string): Promise<string> {
  const res = await page.request.post('/api/public/agents/budget-bot/chat', { data: { text } });
  expect(res.status(), await res.text()).toBe(200);
  const done = /event: done\ndata: (.*)\n/.exec(await res.text());
  return done ? (JSON.parse(done[1]!) as { reply: string }).reply : '';
}

/** Non-transparent pixels drawn on the canvas inside the element with this test id. */
async function inkedPixels(page: Page, testid: string): Promise<number> {
  return page.getByTestId(testid).first().locator('canvas').evaluate((c: HTMLCanvasElement) => {
    const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return n;
  });
}

test('a budget set on the agent shows on its status card, then the agent downgrades and stops', async ({ page }) => {
  await signIn(page);
  // Make the main model dear (and the fallback less so), so a few replies cross the thresholds.
  for (const [model, price] of [[MAIN, { inputPerM: 50, outputPerM: 150 }], [FALLBACK, { inputPerM: 20, outputPerM: 60 }]] as const) {
    const res = await page.request.put(`/api/prices/${encodeURIComponent(model)}`, { data: price });
    expect(res.ok(), await res.text()).toBeTruthy();
  }
  const created = await page.request.post('/api/agents', { data: { name: 'Budget Bot', slug: 'budget-bot', model: MAIN } });
  expect(created.status(), await created.text()).toBe(201);
  agentId = (await created.json()).id;

  await page.goto(`/dashboard/agents/${agentId}`);
  const card = page.getByTestId('budget-card');
  await expect(card).toContainText('no monthly budget');

  // A model with no known price is flagged where it is typed.
  await page.getByTestId('model-input').fill('openai:no-such-model');
  await expect(page.getByTestId('unpriced-model').first()).toBeVisible();
  await page.getByTestId('model-input').fill(MAIN);
  await expect(page.getByTestId('unpriced-model')).toHaveCount(0);

  const budget = page.getByTestId('budget-settings');
  await budget.getByTestId('budget-input').fill('0.04');
  await budget.getByTestId('fallback-input').fill(FALLBACK);
  await expect(budget.getByTestId('stop-message-input')).toHaveAttribute('placeholder', /Budget Bot has used up its budget/);
  // Thresholds the wrong way round: said at once, and refused by the server naming the field.
  await budget.getByTestId('downgrade-input').fill('90');
  await budget.getByTestId('stop-input').fill('80');
  await expect(budget).toContainText('Must not be above the stop threshold.');
  await page.getByTestId('save-agent').click();
  await expect(budget).toContainText('must not be above stopAtPercent');

  await budget.getByTestId('downgrade-input').fill('30');
  await budget.getByTestId('stop-input').fill('100');
  await budget.getByTestId('stop-message-input').fill(STOP_MESSAGE);
  await budget.getByTestId('person-messages-input').fill('50');
  await budget.getByTestId('max-output-input').fill('256');
  await page.getByTestId('save-agent').click();
  await expect(page.getByTestId('save-status')).toHaveText('Saved.');
  await expect(card.getByTestId('budget-state')).toHaveAttribute('data-state', 'normal');
  await expect(card).toContainText('$0.04');
  await expect(card.getByTestId('budget-marks')).toContainText('Fallback at 30%');

  const saved = await (await page.request.get(`/api/agents/${agentId}`)).json();
  expect(saved).toMatchObject({
    monthlyBudgetUsd: 0.04, fallbackModel: FALLBACK, downgradeAtPercent: 30, stopAtPercent: 100,
    budgetStopMessage: STOP_MESSAGE, personDailyMessages: 50, personDailyCostUsd: null, maxOutputTokens: 256,
  });

  // Chat until the budget is spent: first the fallback model takes over, then the stop message.
  let last = '';
  const states: string[] = [];
  for (let i = 0; i < 14; i++) {
    last = await chat(page, `What can I cook tonight with rice, beans and a lime? Attempt ${i + 1}.`);
    const state = (await (await page.request.get(`/api/agents/${agentId}/budget`)).json()).state as string;
    states.push(state);
    if (state === 'stopped') break;
  }
  expect(states).toContain('downgraded');
  expect(states.at(-1)).toBe('stopped');
  expect(await chat(page, 'Anyone there?')).toBe(STOP_MESSAGE);

  await page.reload();
  await expect(card.getByTestId('budget-state')).toHaveAttribute('data-state', 'stopped');
  await page.getByTestId('tab-conversations').click();
  await expect(page.getByTestId('conversation-downgraded').first()).toBeVisible();
});

test('the overview lists the alerts and advice; acknowledging one and applying the advice', async ({ page }) => {
  await signIn(page);
  await page.goto('/dashboard');
  const alerts = page.getByTestId('overview-alerts');
  await expect(alerts).toBeVisible();
  const items = alerts.getByTestId('alert-item');
  await expect(items).toHaveCount(2);
  await expect(page.getByTestId('nav-alert-count').first()).toHaveText(/2/);
  await expect(alerts.locator('[data-kind="stop"]')).toContainText('Budget Bot');
  await items.first().getByTestId('ack-alert').click();
  await expect(items).toHaveCount(1);
  await expect(page.getByTestId('nav-alert-count').first()).toHaveText(/1/);

  const { items: advice } = await (await page.request.get('/api/recommendations')).json();
  const mine = advice.find((r: { agentId: string }) => r.agentId === agentId);
  expect(mine?.suggestions.length, JSON.stringify(advice)).toBeGreaterThan(0);
  const best = mine.suggestions[0].model as string;

  const row = page.locator(`[data-testid="recommendation"][data-agent-id="${agentId}"]`);
  await expect(row.getByTestId('recommendation-text')).toContainText(`Switch Budget Bot to ${best}: about ${mine.suggestions[0].savingsPercent}% less`);
  await row.getByTestId('apply-recommendation').click();
  const dialog = page.getByTestId('confirm-dialog');
  await expect(dialog.getByTestId('keep-fallback')).not.toBeChecked();
  await dialog.getByRole('button', { name: 'Switch model' }).click();
  await expect(page.getByTestId('apply-done')).toContainText(`Budget Bot now answers with ${best}`);
  const agent = await (await page.request.get(`/api/agents/${agentId}`)).json();
  expect(agent.model).toBe(best);
  expect(agent.fallbackModel).toBe(FALLBACK); // untouched: the box was not ticked
});

test('analytics draws its charts, and a table downloads as CSV', async ({ page }, testInfo) => {
  await signIn(page);
  await page.goto('/dashboard/analytics');
  await expect(page.getByTestId('kpi-messages')).toContainText(/[1-9]/);
  await expect(page.getByTestId('kpi-cost')).toContainText('$');
  for (const id of ['chart-activity', 'chart-tokens', 'chart-latency', 'chart-by-agent', 'chart-by-model', 'chart-burndown']) {
    await expect(page.getByTestId(id).first().locator('canvas')).toBeVisible();
  }
  // Drawn, not just present: bars, lines and axes leave ink on the canvas.
  await expect.poll(() => inkedPixels(page, 'chart-activity')).toBeGreaterThan(1500);
  await expect.poll(() => inkedPixels(page, 'chart-burndown')).toBeGreaterThan(1500);
  await expect(page.getByTestId('analytics-by-agent')).toContainText('Budget Bot');
  await expect(page.getByTestId('analytics-by-model')).toContainText(MAIN);
  await page.screenshot({ path: testInfo.outputPath('analytics.png'), fullPage: true });

  const downloading = page.waitForEvent('download');
  await page.getByTestId('export-byAgent').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^analytics-byAgent-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = await readFile((await download.path())!, 'utf8');
  expect(csv.split(/\r?\n/)[0]).toContain('agentId');
  expect(csv).toContain('Budget Bot');

  // A preset changes the range, and the address keeps it.
  await page.getByTestId('preset-7').click();
  await expect(page.getByTestId('preset-7')).toHaveAttribute('aria-pressed', 'true');
  await expect(page).toHaveURL(/from=\d{4}-\d{2}-\d{2}/);
});

test('alert settings: a webhook that cannot be reached, and the test says so', async ({ page }) => {
  await signIn(page);
  await page.goto('/dashboard/alerts');
  await expect(page.getByTestId('alert-list')).toContainText('Budget Bot');
  await expect(page.getByTestId('alert-test-send')).toBeDisabled();

  await page.getByTestId('webhook-url-input').fill('http://127.0.0.1:9/switchboard-hook');
  await page.getByTestId('webhook-secret-input').fill('e2e-signing-secret');
  await page.getByTestId('alert-settings-save').click();
  await expect(page.getByTestId('alert-settings-saved')).toHaveText('Saved.');
  await expect(page.getByTestId('webhook-secret-state')).toHaveText('set');
  await expect(page.getByTestId('webhook-secret-input')).toHaveValue('');
  const view = await (await page.request.get('/api/settings/alerts')).json();
  expect(view).toEqual({ webhookUrl: 'http://127.0.0.1:9/switchboard-hook', hasWebhookSecret: true, email: null });

  await page.getByTestId('alert-test-send').click();
  await expect(page.getByTestId('alert-test-webhook')).toContainText('failed');
  await expect(page.getByTestId('alert-test-email')).toContainText('not configured');
});

test("a customer's monthly cap is set on the Users page", async ({ page }) => {
  await signIn(page);
  const res = await page.request.post('/api/users', { data: { email: 'capped@example.com', password: 'customer-password', role: 'customer' } });
  expect(res.status(), await res.text()).toBe(201);
  const customer = await res.json();
  await page.goto('/dashboard/users');
  const row = page.getByTestId('user-list').locator('tr', { hasText: 'capped@example.com' });
  await row.getByTestId('cap-input').fill('25');
  await row.getByTestId('cap-save').click();
  await expect(row.getByTestId('cap-saved')).toBeVisible();
  const { users } = await (await page.request.get('/api/users')).json();
  expect(users.find((u: { id: string }) => u.id === customer.id).monthlyBudgetUsd).toBe(25);
  // Only customers have one.
  await expect(page.getByTestId('user-list').locator('tr', { hasText: '(you)' }).getByTestId('cap-input')).toHaveCount(0);
});

test('an auditor sees budgets, alerts and advice but can change none of them', async ({ page, browser, baseURL }) => {
  await signIn(page);
  const auditor = { email: 'budget-auditor@example.com', password: 'auditor-password' };
  expect((await page.request.post('/api/users', { data: { ...auditor, role: 'auditor' } })).status()).toBe(201);

  const context = await browser.newContext({ baseURL });
  const as = await context.newPage();
  expect((await as.request.post('/api/auth/login', { data: auditor })).ok()).toBeTruthy();
  await as.goto(`/dashboard/agents/${agentId}`);
  await expect(as.getByTestId('budget-card').getByTestId('budget-state')).toBeVisible();
  await expect(as.getByTestId('budget-input')).toBeDisabled();
  await expect(as.getByTestId('save-agent')).toHaveCount(0);

  await as.goto('/dashboard');
  await expect(as.getByTestId('overview-alerts')).toBeVisible();
  await expect(as.getByTestId('ack-alert')).toHaveCount(0);
  await expect(as.getByTestId('apply-recommendation')).toHaveCount(0);

  await as.goto('/dashboard/alerts');
  await expect(as.getByTestId('read-only-note')).toBeVisible();
  await expect(as.getByTestId('webhook-url-input')).toBeDisabled();
  await expect(as.getByTestId('alert-settings-save')).toHaveCount(0);
  await context.close();
});
