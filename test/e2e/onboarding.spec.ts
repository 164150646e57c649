// A customer's whole journey in a real browser, against serve.ts's fakes: the landing page, sign-up,
// the onboarding wizard (name and site, BotFather, token, instructions, go live), a token Telegram
// rejects and a site that answers 500 — each fixed from the provisioning view and retried — until the
// steps are all green and the t.me link is shown; the billing page on the trial, with Upgrade going to
// Stripe Checkout; the e-mail verification link; and the operator's side: customers, plans, audit.
//
// Runs on its own Switchboard (serve.ts, {customers: true}): sign-up open, private URLs allowed for the
// local website, fake Stripe and a real SMTP server that keeps what it receives.
import { expect, test as base, type Page } from '@playwright/test';
import { customerFakes, isolatedApp, mailsTo, owner } from './helpers.js';

const test = base.extend({
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => use(await isolatedApp('onboarding', { customers: true })),
});

test.describe.configure({ mode: 'serial' });

const customer = { name: 'Mark Baker', email: `mark.${Date.now()}@example.com`, password: 'bikes and more bikes' };
const REJECTED_TOKEN = '111111111:ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ';

/** The operator exists (so `/` is the landing page, not first-run setup) and can sign in. */
async function ensureOwner(baseURL: string): Promise<void> {
  const { needsSetup } = await (await fetch(`${baseURL}/api/setup`)).json();
  if (needsSetup) {
    const res = await fetch(`${baseURL}/api/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(owner) });
    expect(res.status, await res.text()).toBe(201);
  }
}

async function signInAs(page: Page, who: { email: string; password: string }): Promise<void> {
  const res = await page.request.post('/api/auth/login', { data: { email: who.email, password: who.password } });
  expect(res.ok(), await res.text()).toBeTruthy();
}

const step = (page: Page, name: string) => page.locator(`[data-testid="step"][data-step="${name}"]`);

test('sign up, then the wizard: a rejected token and a broken site are fixed and retried until the agent is live', async ({ page, baseURL }) => {
  await ensureOwner(baseURL!);
  const fakes = await customerFakes();

  // The landing page introduces the product, lists the plans and leads to sign-up.
  await page.goto('/');
  await expect(page.getByTestId('plans').getByTestId('plan-card')).toHaveCount(3);
  await page.getByTestId('create-agent-cta').click();
  await expect(page).toHaveURL(/\/register$/);

  await page.getByLabel('Your name').fill(customer.name);
  await page.getByLabel('Email').fill(customer.email);
  await page.getByLabel('Password').fill(customer.password);
  await page.getByTestId('register-submit').click();

  // A customer's dashboard: unconfirmed address, the trial, no agents yet, and no operator pages.
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId('page-title')).toHaveText('Hello, Mark');
  await expect(page.getByTestId('verify-banner')).toBeVisible();
  await expect(page.getByTestId('plan-name')).toHaveText('Trial');
  const nav = page.getByRole('navigation', { name: 'Dashboard' }).first();
  await expect(nav.getByRole('link', { name: 'Billing' })).toBeVisible();
  for (const operatorOnly of ['Customers', 'Plans', 'Audit log', 'Users', 'Providers', 'Channels']) {
    await expect(nav.getByRole('link', { name: operatorOnly })).toHaveCount(0);
  }
  await page.getByTestId('create-first-agent').click();
  await expect(page).toHaveURL(/\/dashboard\/agents\/new$/);

  // 1. Name and site: both are required.
  const wizard = page.getByTestId('wizard');
  await page.getByTestId('wizard-next').click();
  await expect(wizard).toHaveAttribute('data-step', '1');
  await expect(page.getByTestId('wizard-site-error')).toBeVisible();
  await page.getByTestId('wizard-name').fill("Mark's Site PM");
  await page.getByTestId('wizard-site').fill(`${fakes.siteUrl}/broken`);
  await page.getByTestId('wizard-next').click();

  // 2. How to get a bot from @BotFather.
  await expect(wizard).toHaveAttribute('data-step', '2');
  await expect(page.getByTestId('botfather-link')).toHaveAttribute('href', 'https://t.me/BotFather');
  await expect(page.getByTestId('botfather-steps')).toContainText('/newbot');
  await expect(page.getByTestId('suggested-username')).toHaveText('MarksSitePMBot');
  await page.getByTestId('wizard-next').click();

  // 3. The token: something that is not a token at all is caught at once.
  await expect(wizard).toHaveAttribute('data-step', '3');
  await page.getByTestId('wizard-token').fill('not a token');
  await page.getByTestId('wizard-next').click();
  await expect(page.getByTestId('wizard-token-error')).toContainText('does not look like a BotFather token');
  // A well-formed token Telegram does not know is refused before going live (getMe, asked at once).
  await page.getByTestId('wizard-token').fill(REJECTED_TOKEN);
  await page.getByTestId('wizard-next').click();
  await expect(page.getByTestId('wizard-token-error')).toContainText('Telegram rejected this token');
  await expect(wizard).toHaveAttribute('data-step', '3');
  await page.getByTestId('wizard-token').fill(fakes.botToken);
  await page.getByTestId('wizard-next').click();

  // 4. Optional instructions; 5. the summary names the bot, then go live.
  await expect(wizard).toHaveAttribute('data-step', '4');
  await page.getByTestId('wizard-instructions').fill('Reply in British English.');
  await page.getByTestId('wizard-next').click();
  await expect(page.getByTestId('wizard-summary')).toContainText(`${fakes.siteUrl}/broken`);
  await expect(page.getByTestId('wizard-summary')).toContainText(`@${fakes.botUsername}`);
  await expect(page.getByTestId('wizard-summary')).not.toContainText(fakes.botToken);
  await page.getByTestId('go-live').click();

  // The token is fine: the first step goes green with the bot's name.
  const view = page.getByTestId('provisioning');
  await expect(step(page, 'validate_token')).toHaveAttribute('data-state', 'done');
  await expect(step(page, 'validate_token')).toContainText(`@${fakes.botUsername}`);
  await expect(view).toHaveAttribute('data-status', 'failed');

  // The site answers 500: the next step fails; the address is fixed and the set-up retried.
  await expect(step(page, 'check_site')).toHaveAttribute('data-state', 'failed');
  await expect(page.getByTestId('provisioning-error-text')).toContainText('HTTP 500');
  await expect(page.getByTestId('fix-site-input')).toHaveValue(`${fakes.siteUrl}/broken`);
  await page.getByTestId('fix-site-input').fill(`${fakes.siteUrl}/`);
  await page.getByTestId('fix-site-submit').click();

  // Every step goes green and the bot's link is shown.
  await expect(page.getByTestId('live-panel')).toBeVisible({ timeout: 15_000 });
  for (const name of ['validate_token', 'check_site', 'generate_workspace', 'index_site', 'bind_telegram', 'health_check']) {
    await expect(step(page, name)).toHaveAttribute('data-state', 'done');
  }
  await expect(step(page, 'check_site')).toContainText('WordPress 6.4.2');
  await expect(page.getByTestId('page-title')).toHaveText("Mark's Site PM is live");
  const link = `https://t.me/${fakes.botUsername}`;
  await expect(page.getByTestId('telegram-link')).toHaveAttribute('href', link);
  await expect(page.getByTestId('open-telegram')).toHaveAttribute('href', link);

  // The agent's page: live, its link, its site; its settings keep the instructions from the wizard.
  await page.getByTestId('go-to-agent').click();
  await expect(page.getByTestId('status-badge')).toHaveAttribute('data-status', 'active');
  await expect(page.getByTestId('agent-telegram').getByTestId('telegram-link')).toHaveAttribute('href', link);
  await expect(page.getByTestId('agent-site')).toContainText("Mark's Bikes");
  await page.getByTestId('agent-settings-link').click();
  await expect(page.getByTestId('file-instructions')).toHaveValue('Reply in British English.');
  await page.getByTestId('file-tab-soul').click();
  await expect(page.getByTestId('file-soul')).toHaveValue(/website product manager/);
});

test('billing shows the trial and its limits; Upgrade goes to Stripe Checkout', async ({ page, browser, baseURL }) => {
  const fakes = await customerFakes();
  // The operator gives Starter a Stripe price; Pro has none.
  const ownerCtx = await browser.newContext({ baseURL });
  await signInAs(await ownerCtx.newPage(), owner);
  const put = await ownerCtx.request.put('/api/plans/starter', { data: { stripePriceId: fakes.stripePriceId } });
  expect(put.ok(), await put.text()).toBeTruthy();
  await ownerCtx.close();

  await signInAs(page, customer);
  await page.goto('/dashboard/billing');
  await expect(page.getByTestId('current-plan-name')).toHaveText('Trial');
  await expect(page.getByTestId('trial-ends')).toContainText('14 days');
  await expect(page.getByTestId('bar-agents-used')).toHaveText('1');
  await expect(page.getByTestId('plan-card').filter({ hasText: 'Pro' }).getByTestId('plan-unavailable')).toHaveText('Not available online yet.');
  await expect(page.getByTestId('manage-billing')).toHaveCount(0);

  // Checkout is Stripe's page (answered here, the browser must not leave for the internet).
  await page.route('https://checkout.stripe.com/**', (r) => r.fulfill({ contentType: 'text/html', body: '<h1>Stripe Checkout</h1>' }));
  await page.locator('[data-testid="choose-plan"][data-plan="starter"]').click();
  await page.waitForURL(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_/);
  await expect(page.locator('h1')).toHaveText('Stripe Checkout');
});

test('the link in the verification mail confirms the address', async ({ page }) => {
  const mail = (await mailsTo(customer.email)).find((m) => m.text.includes('/verify-email?token='));
  expect(mail, 'a verification mail').toBeTruthy();
  const path = /\/verify-email\?token=[\w-]+/.exec(mail!.text)![0];

  await signInAs(page, customer);
  await page.goto(path);
  await expect(page.getByTestId('verify-done')).toBeVisible();
  await expect(page).toHaveURL(/\/verify-email$/); // the spent token is out of the address bar
  await page.goto('/dashboard');
  await expect(page.getByTestId('customer-agent')).toHaveCount(1);
  await expect(page.getByTestId('verify-banner')).toHaveCount(0);

  // Used once, the link no longer works.
  await page.goto(path);
  await expect(page.getByTestId('verify-failed')).toBeVisible();
});

test('operators: the customer on the Customers page, a plan set by hand, suspension with confirmation, plans and the audit log', async ({ page, baseURL }) => {
  await signInAs(page, owner);
  await page.goto('/dashboard/customers');
  const row = page.locator(`[data-testid="customer-row"][data-email="${customer.email}"]`);
  await expect(row).toContainText(customer.name);
  await expect(row.getByTestId('customer-plan')).toHaveText('Trial');

  await row.getByTestId('change-plan').click();
  await page.getByTestId('plan-choice').selectOption('starter');
  await page.getByTestId('status-choice').selectOption('active');
  const dialog = page.locator('dialog[open]');
  await dialog.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('customers-notice')).toContainText('Starter');
  await expect(row.getByTestId('customer-plan')).toHaveText('Starter');

  await row.getByTestId('toggle-suspend').click();
  await expect(dialog.getByTestId('confirm-message')).toContainText('cannot sign in');
  await dialog.getByTestId('confirm-ok').click();
  await expect(row).toHaveAttribute('data-status', 'suspended');
  const refused = await fetch(`${baseURL}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: customer.email, password: customer.password }) });
  expect(refused.status).toBe(403);
  await row.getByTestId('toggle-suspend').click();
  await dialog.getByTestId('confirm-ok').click();
  await expect(row).toHaveAttribute('data-status', 'active');

  // Plans: a price change is saved.
  await page.goto('/dashboard/plans');
  const pro = page.locator('[data-testid="plan-form"][data-plan="pro"]');
  await pro.getByTestId('plan-priceUsdMonth').fill('119');
  await pro.getByTestId('save-plan').click();
  await expect(pro.getByTestId('plan-saved')).toBeVisible();
  expect((await (await page.request.get('/api/plans')).json()).plans.find((p: { id: string }) => p.id === 'pro').priceUsdMonth).toBe(119);

  // The audit log, filtered to suspensions.
  await page.goto('/dashboard/audit');
  await expect(page.getByTestId('audit-entry').first()).toBeVisible();
  await page.getByTestId('audit-action').selectOption('user.*');
  await expect(page.getByTestId('audit-entry')).toHaveCount(2);
  await expect(page.getByTestId('audit-entry').first()).toHaveAttribute('data-action', 'user.unsuspend');
  await expect(page.getByTestId('audit-list')).toContainText(customer.email);
});
