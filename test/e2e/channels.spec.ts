// Messaging channels in a real browser: connecting an agent's Telegram bot (refused tokens
// show the server's reason under the input), a Telegram message arriving through the fake
// Bot API and showing up with its channel, disconnecting; the Channels settings page with
// WhatsApp (Twilio) settings that come back without their secrets, and read-only access.
// serve.ts starts the fake Telegram with this bot; without PUBLIC_URL the app long-polls it.
// With E2E_SHOTS=1 the last test also writes screenshots to E2E_SHOTS_DIR (default /tmp/shots).
//
// These tests talk to a second Switchboard that serve.ts starts on request, with its own data
// folder: signing in creates the owner, and core.spec.ts needs a server nobody has set up yet.
import { expect, test as base, type Browser, type Page } from '@playwright/test';
import { controlUrl, isolatedApp, owner, signIn } from './helpers.js';

const test = base.extend({
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => use(await isolatedApp('channels')),
});

const BOT = { token: '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1', username: 'E2EBot' };
const TWILIO = { accountSid: 'AC' + '0123456789abcdef'.repeat(2), authToken: 'twilio-secret-auth-token-e2e', from: '+14155238886' };

test.describe.configure({ mode: 'serial' });

async function createAgent(page: Page, name: string, slug: string): Promise<{ id: string; slug: string }> {
  const res = await page.request.post('/api/agents', { data: { name, slug, listed: false } });
  if (res.status() === 409) {
    const { agents } = await (await page.request.get('/api/agents')).json();
    return agents.find((a: { slug: string }) => a.slug === slug);
  }
  expect(res.status(), await res.text()).toBe(201);
  return res.json();
}

test('connect a Telegram bot: refused tokens explain why, a good one shows the bot; messages carry their channel', async ({ page }) => {
  await signIn(page);
  const agent = await createAgent(page, 'Telegram Agent', 'telegram-agent');

  await page.goto(`/dashboard/agents/${agent.id}`);
  await page.getByTestId('tab-channels').click();
  await expect(page).toHaveURL(/\?tab=channels$/);
  const card = page.getByTestId('telegram-card');
  await expect(card.getByTestId('telegram-status')).toHaveText('Not connected');
  await expect(card.getByTestId('botfather-link')).toHaveAttribute('href', 'https://t.me/BotFather');
  await expect(page.getByTestId('channels-settings-link')).toHaveAttribute('href', '/dashboard/channels');

  const input = page.getByLabel('Bot token');
  await expect(input).toHaveAttribute('type', 'password');

  // Not shaped like a token at all.
  await input.fill('not-a-token');
  await page.getByTestId('telegram-connect').click();
  await expect(page.getByTestId('telegram-token-error')).toContainText('does not look like a BotFather token');
  await expect(input).toHaveAttribute('aria-invalid', 'true');

  // Shaped right, but Telegram (the fake) does not know it.
  await input.fill('987654321:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  await page.getByTestId('telegram-connect').click();
  await expect(page.getByTestId('telegram-token-error')).toContainText('Telegram rejected this token');
  expect((await (await page.request.get(`/api/agents/${agent.id}`)).json()).channels.telegram).toBeNull();

  await input.fill(BOT.token);
  await page.getByTestId('telegram-connect').click();
  const link = card.getByTestId('telegram-link');
  await expect(link).toContainText(`@${BOT.username}`);
  await expect(link).toHaveAttribute('href', `https://t.me/${BOT.username}`);
  await expect(link).toHaveAttribute('target', '_blank');
  await expect(card.getByTestId('telegram-status')).toContainText('Connected');
  await expect(card.getByTestId('telegram-mode')).toHaveAttribute('data-mode', 'polling');
  await expect(card.getByTestId('telegram-mode')).toContainText('PUBLIC_URL');
  await expect(card.getByTestId('telegram-last-inbound')).toHaveText('none yet');

  // Someone writes to the bot; the app polls it up and the agent answers on Telegram.
  const chatId = 770_001;
  const push = await page.request.post(`${controlUrl}/telegram/update`, { data: { chatId, text: 'Hi from Telegram' } });
  expect(push.status()).toBe(204);
  await expect
    .poll(async () => (await (await page.request.get(`${controlUrl}/telegram/sent?chatId=${chatId}`)).json()).texts.join(' '), { timeout: 10_000 })
    .toContain('Echo: Hi from Telegram');

  await page.reload();
  await expect(page.getByTestId('telegram-last-inbound')).not.toHaveText('none yet');
  await expect(page.getByTestId('telegram-last-outbound')).not.toHaveText('none yet');

  await page.getByTestId('tab-conversations').click();
  const row = page.getByTestId('conversation-row').first();
  await expect(row.getByTestId('channel-badge')).toHaveText('telegram');
  const history = page.getByTestId('history-message');
  await expect(history.first()).toHaveAttribute('data-channel', 'telegram');
  await expect(page.getByTestId('history-list')).toContainText('Echo: Hi from Telegram');
  await expect(page.getByTestId('history-list')).toContainText('Hi from Telegram');

  await row.getByTestId('open-conversation').click();
  await expect(page.getByTestId('conversation-meta').getByTestId('channel-badge')).toHaveText('telegram');
  await expect(page.getByTestId('transcript-message')).toHaveCount(2);
  await expect(page.getByTestId('transcript-message').first().getByTestId('channel-badge')).toHaveText('telegram');

  // The Channels page lists the bot and links back to the agent's Channels tab.
  await page.goto('/dashboard/channels');
  const tgRow = page.locator(`[data-testid="telegram-row"][data-agent="${agent.id}"]`);
  await expect(tgRow).toContainText(`@${BOT.username}`);
  await tgRow.getByTestId('telegram-manage').click();
  await expect(page).toHaveURL(new RegExp(`/dashboard/agents/${agent.id}\\?tab=channels$`));

  // Disconnect, after confirming.
  await page.getByTestId('telegram-disconnect').click();
  await expect(page.getByRole('dialog', { name: `Disconnect @${BOT.username}?` })).toBeVisible();
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Disconnect bot' }).click();
  await expect(page.getByTestId('telegram-status')).toHaveText('Not connected');
  await expect(page.getByLabel('Bot token')).toBeVisible();
  expect((await (await page.request.get(`/api/agents/${agent.id}`)).json()).channels.telegram).toBeNull();
});

test('channels page: WhatsApp via Twilio is saved and shown back without secrets; a failing test message shows why', async ({ page }) => {
  await signIn(page);
  await page.goto('/dashboard/channels');
  await expect(page.getByTestId('page-title')).toHaveText('Channels');
  await expect(page.getByRole('link', { name: 'Channels', exact: true }).first()).toHaveAttribute('aria-current', 'page');
  await expect(page.getByTestId('telegram-table')).toBeVisible();

  const section = page.getByTestId('whatsapp-section');
  await expect(section.getByTestId('whatsapp-status')).toHaveText('Not connected');
  // serve.ts sets no PUBLIC_URL, so there is no webhook address to paste anywhere.
  await expect(section.getByTestId('webhook-warning')).toContainText('PUBLIC_URL');

  await page.getByTestId('provider-twilio').check();
  await page.getByLabel('Account SID').fill('not-a-sid');
  await page.getByLabel('Auth token').fill(TWILIO.authToken);
  await page.getByLabel('From number').fill(TWILIO.from);
  await page.getByTestId('whatsapp-save').click();
  // The server names the field; the message sits under it.
  await expect(page.locator('#wa-sid')).toHaveClass(/input-error/);
  await expect(page.getByTestId('whatsapp-save-error')).toBeVisible();

  await page.getByLabel('Account SID').fill(TWILIO.accountSid);
  await page.getByRole('button', { name: 'Advanced' }).click();
  // Nothing listens here, so the test message below fails fast and says so.
  await page.getByLabel('API URL (optional)').fill('http://127.0.0.1:9');
  await page.getByTestId('whatsapp-save').click();
  await expect(page.getByTestId('whatsapp-saved')).toHaveText('Saved.');
  await expect(section.getByTestId('whatsapp-status')).toContainText('Twilio');

  const api = await (await page.request.get('/api/channels/whatsapp')).json();
  expect(api.provider).toBe('twilio');
  expect(api.twilio.hasAuthToken).toBe(true);
  expect(JSON.stringify(api)).not.toContain(TWILIO.authToken);

  await page.reload();
  await expect(page.getByTestId('provider-twilio')).toBeChecked();
  await expect(page.getByLabel('Account SID')).toHaveValue(TWILIO.accountSid);
  await expect(page.getByLabel('From number')).toHaveValue(`whatsapp:${TWILIO.from}`);
  const auth = page.getByLabel('Auth token');
  await expect(auth).toHaveValue('');
  await expect(auth).toHaveAttribute('type', 'password');
  await expect(auth).toHaveAttribute('placeholder', /stored/);
  expect(await page.content()).not.toContain(TWILIO.authToken);

  await page.getByTestId('whatsapp-test-to').fill('+1 415 555 0123');
  await page.getByTestId('whatsapp-test-send').click();
  await expect(page.getByTestId('whatsapp-test-result')).toHaveAttribute('role', 'alert');
  await expect(page.getByTestId('whatsapp-test-result')).not.toBeEmpty();

  // Saving again without retyping the secret keeps it.
  await page.getByTestId('whatsapp-save').click();
  await expect(page.getByTestId('whatsapp-saved')).toHaveText('Saved.');
  expect((await (await page.request.get('/api/channels/whatsapp')).json()).twilio.hasAuthToken).toBe(true);

  await page.getByTestId('whatsapp-disconnect').click();
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Disconnect WhatsApp' }).click();
  await expect(section.getByTestId('whatsapp-status')).toHaveText('Not connected');
  expect((await (await page.request.get('/api/channels/whatsapp')).json()).provider).toBeNull();
});

test('an auditor sees the channels read-only', async ({ page, browser, baseURL }) => {
  await signIn(page);
  const auditor = { email: 'channels-auditor@example.com', password: 'auditor-password-1' };
  const created = await page.request.post('/api/users', { data: { ...auditor, role: 'auditor' } });
  expect([201, 409]).toContain(created.status());
  const agent = await createAgent(page, 'Telegram Agent', 'telegram-agent');

  const context = await browser.newContext({ baseURL });
  const other = await context.newPage();
  const login = await other.request.post('/api/auth/login', { data: auditor });
  expect(login.ok(), await login.text()).toBeTruthy();
  await other.goto('/dashboard/channels');
  await expect(other.getByTestId('read-only-note')).toBeVisible();
  await expect(other.getByTestId('whatsapp-save')).toHaveCount(0);
  await expect(other.getByTestId('provider-twilio')).toBeDisabled();

  await other.goto(`/dashboard/agents/${agent.id}?tab=channels`);
  await expect(other.getByTestId('telegram-card')).toContainText('read-only');
  await expect(other.getByLabel('Bot token')).toHaveCount(0);
  await context.close();
  if (created.status() === 201) await page.request.delete(`/api/users/${(await created.json()).id}`);
});

// ---------- screenshots (E2E_SHOTS=1) ----------

const shotsDir = process.env.E2E_SHOTS_DIR ?? '/tmp/shots';
const variants = [
  { name: 'desktop-light', width: 1280, height: 800, dark: false },
  { name: 'desktop-dark', width: 1280, height: 800, dark: true },
  { name: 'mobile-light', width: 390, height: 844, dark: false },
] as const;

async function openAs(browser: Browser, v: (typeof variants)[number], baseURL: string): Promise<Page> {
  const context = await browser.newContext({
    baseURL,
    viewport: { width: v.width, height: v.height },
    colorScheme: v.dark ? 'dark' : 'light',
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  const res = await page.request.post('/api/auth/login', { data: owner });
  expect(res.ok()).toBeTruthy();
  return page;
}

async function shoot(page: Page, name: string, variant: string) {
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(150);
  await page.screenshot({ path: `${shotsDir}/${name}-${variant}.png`, fullPage: true });
}

test('screenshots of the channel screens', async ({ page, browser, baseURL }) => {
  test.skip(!process.env.E2E_SHOTS, 'set E2E_SHOTS=1 to take screenshots');
  test.setTimeout(120_000);
  await signIn(page);
  const agent = await createAgent(page, 'Telegram Agent', 'telegram-agent');
  const plain = await createAgent(page, 'Support Desk', 'support-desk');
  const connect = await page.request.patch(`/api/agents/${agent.id}`, { data: { telegramBotToken: BOT.token } });
  expect(connect.ok(), await connect.text()).toBeTruthy();
  const { conversations } = await (await page.request.get(`/api/agents/${agent.id}/conversations`)).json();

  for (const v of variants) {
    const p = await openAs(browser, v, baseURL!);
    await p.goto(`/dashboard/agents/${plain.id}?tab=channels`);
    await expect(p.getByTestId('telegram-card')).toBeVisible();
    await shoot(p, 'agent-channels-empty', v.name);
    await p.getByLabel('Bot token').fill('nope');
    await p.getByTestId('telegram-connect').click();
    await expect(p.getByTestId('telegram-token-error')).toBeVisible();
    await shoot(p, 'agent-channels-error', v.name);

    // A connected bot that has also had trouble, and an undelivered reply.
    await p.route(`**/api/agents/${agent.id}`, async (r) => {
      const real = await (await r.fetch()).json();
      real.channels.telegram = {
        ...real.channels.telegram,
        lastError: 'Forbidden: bot was blocked by the user',
        lastErrorAt: new Date(Date.now() - 3 * 60_000).toISOString(),
      };
      await r.fulfill({ json: real });
    });
    await p.route('**/api/channels/undelivered**', (r) =>
      r.fulfill({
        json: {
          messages: [
            { id: 'u1', channel: 'telegram', agentId: agent.id, recipient: '770001', text: 'Here is the recipe you asked for…', status: 'failed', lastError: 'Forbidden: bot was blocked by the user', createdAt: new Date(Date.now() - 3 * 60_000).toISOString() },
            { id: 'u2', channel: 'whatsapp', agentId: plain.id, recipient: '+5511999999999', text: 'Thanks for writing! Our opening hours are…', status: 'undelivered', lastError: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.', createdAt: new Date(Date.now() - 26 * 3600_000).toISOString() },
          ],
        },
      }),
    );
    await p.goto(`/dashboard/agents/${agent.id}?tab=channels`);
    await expect(p.getByTestId('telegram-link')).toBeVisible();
    await shoot(p, 'agent-channels-connected', v.name);

    await p.getByTestId('tab-conversations').click();
    await expect(p.getByTestId('conversation-list').or(p.getByTestId('conversations-empty'))).toBeVisible();
    await shoot(p, 'agent-conversations', v.name);

    if (conversations[0]) {
      await p.goto(`/dashboard/conversations/${conversations[0].id}`);
      await expect(p.getByTestId('transcript')).toBeVisible();
      await shoot(p, 'transcript', v.name);
    }

    await p.goto('/dashboard/channels');
    await expect(p.getByTestId('whatsapp-form')).toBeVisible();
    await shoot(p, 'channels', v.name);

    // As it looks once configured on a server with a PUBLIC_URL.
    await p.route('**/api/channels/whatsapp', (r) =>
      r.fulfill({
        json: {
          provider: 'cloud', source: 'settings',
          cloud: { phoneNumberId: '106540352242922', graphUrl: 'https://graph.facebook.com', hasToken: true, hasAppSecret: true, hasVerifyToken: true },
          twilio: null,
          webhookUrls: { cloud: 'https://switchboard.example.com/webhooks/whatsapp', twilio: 'https://switchboard.example.com/webhooks/twilio' },
          health: { lastInboundAt: new Date(Date.now() - 5 * 60_000).toISOString(), lastOutboundAt: new Date(Date.now() - 4 * 60_000).toISOString(), lastError: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.', lastErrorAt: new Date(Date.now() - 26 * 3600_000).toISOString() },
        },
      }),
    );
    await p.reload();
    await expect(p.getByTestId('webhook-url')).toBeVisible();
    await shoot(p, 'channels-configured', v.name);
    await p.context().close();
  }

  await page.request.patch(`/api/agents/${agent.id}`, { data: { telegramBotToken: '' } });
});
