// Issue 14.2, 14.3 and 14.9 in the browser: the chat box's counter near the installation's message
// limit and its visible refusal past it (the text kept, never cut); one label per person on the
// Conversations and Summaries tabs; the Analytics glossary and the message-length setting.
// Screenshots (desktop 1280 and a 390 px phone, light and dark) go to /tmp/shots/limits (or E2E_SHOTS_DIR).
import { expect, test, type Browser } from '@playwright/test';
import { signIn } from './helpers.js';

const dir = `${process.env.E2E_SHOTS_DIR ?? '/tmp/shots'}/limits`;
const LIMIT = 200;

test.describe.configure({ mode: 'serial' });
test.setTimeout(120_000);

const variants = [
  { name: 'desktop-light', width: 1280, height: 800, dark: false },
  { name: 'desktop-dark', width: 1280, height: 800, dark: true },
  { name: 'mobile-light', width: 390, height: 844, dark: false },
  { name: 'mobile-dark', width: 390, height: 844, dark: true },
] as const;

async function open(browser: Browser, v: (typeof variants)[number]) {
  const context = await browser.newContext({ viewport: { width: v.width, height: v.height }, colorScheme: v.dark ? 'dark' : 'light', deviceScaleFactor: 1 });
  return context.newPage();
}

let agent: { id: string; slug: string };

test.beforeAll(async ({ request }) => {
  await signIn(request);
  agent = await (await request.post('/api/agents', { data: { name: 'Limits Agent' } })).json();
  expect((await request.patch(`/api/agents/${agent.id}`, { data: { listed: true } })).ok()).toBeTruthy();
  const set = await request.patch('/api/settings', { data: { maxMessageChars: LIMIT } });
  expect(set.ok(), await set.text()).toBeTruthy();
});
test.afterAll(async ({ request }) => {
  await request.patch('/api/settings', { data: { maxMessageChars: null } }); // other specs get the default back
});

for (const v of variants) {
  test(`chat counter and refusal past the limit, ${v.name}`, async ({ browser }) => {
    const page = await open(browser, v);
    await page.goto(`/chat/${agent.slug}`);
    const input = page.getByTestId('chat-input');
    await expect(input).toBeEnabled();
    await expect(input).not.toHaveAttribute('maxlength', /.*/); // no silent cut

    await input.fill('a'.repeat(170));
    await expect(page.getByTestId('chat-counter')).toHaveCount(0); // quiet below 90%
    await input.fill('a'.repeat(185));
    await expect(page.getByTestId('chat-counter')).toHaveText(`185 / ${LIMIT} characters`);
    await page.locator('form').filter({ has: input }).screenshot({ path: `${dir}/chat-counter-near-${v.name}.png` });

    const long = 'b'.repeat(LIMIT + 30);
    await input.fill(long);
    await expect(page.getByTestId('chat-counter')).toContainText(`230 / ${LIMIT} characters — 30 over the limit`);
    await expect(page.getByTestId('chat-send')).toBeDisabled();
    await input.press('Enter');
    await expect(page.getByTestId('chat-error')).toHaveText(`Your message is 230 characters; the limit is ${LIMIT}. Shorten it to send.`);
    await expect(input).toHaveValue(long); // kept whole
    await expect(page.locator('[data-role="user"]')).toHaveCount(0); // nothing was sent
    await page.screenshot({ path: `${dir}/chat-counter-over-${v.name}.png` });

    // Shortened to the limit: it goes, and the counter's warning clears.
    await input.fill('c'.repeat(LIMIT));
    await expect(page.getByTestId('chat-error')).toHaveCount(0);
    await page.getByTestId('chat-send').click();
    await expect(page.locator('[data-role="assistant"]').last()).toHaveAttribute('data-status', 'complete', { timeout: 15_000 });
    await page.context().close();
  });
}

test('one label per person on the Conversations and Summaries tabs; the figures and the setting explained', async ({ browser }) => {
  for (const v of variants) {
    const page = await open(browser, v);
    await signIn(page);
    const conv = (await (await page.request.get(`/api/agents/${agent.id}/conversations`)).json()).conversations[0];
    const label: string = conv.person.label;
    expect(label).toMatch(/^Visitor [0-9A-Z]{4}$/);

    await page.goto(`/dashboard/agents/${agent.id}?tab=conversations`);
    if (v.width >= 768) await expect(page.getByTestId('conversation-list').getByTestId('person-label').first()).toHaveText(label);
    await expect(page.getByTestId('history-list').getByTestId('person-label').first()).toHaveText(label);
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: `${dir}/conversations-${v.name}.png`, fullPage: true });

    await page.goto(`/dashboard/conversations/${conv.id}`);
    await expect(page.getByTestId('conversation-person').getByTestId('person-label')).toContainText(label);
    await expect(page.getByTestId('person-identities')).toContainText('Web visitor');
    await page.screenshot({ path: `${dir}/conversation-${v.name}.png` });

    await page.goto(`/dashboard/agents/${agent.id}?tab=summaries`);
    await expect(page.getByTestId('people-list').getByTestId('person-label').first()).toContainText(label);
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: `${dir}/summaries-${v.name}.png`, fullPage: true });

    await page.goto('/dashboard/analytics');
    await page.getByTestId('analytics-definitions').locator('summary').click();
    await expect(page.getByTestId('analytics-definitions')).toContainText('Model calls:');
    await page.screenshot({ path: `${dir}/analytics-${v.name}.png` });

    await page.goto('/dashboard');
    await expect(page.getByText('Messages today')).toBeVisible();
    await expect(page.getByText('Model calls today')).toBeVisible();
    await page.screenshot({ path: `${dir}/overview-${v.name}.png` });

    await page.goto('/dashboard/settings');
    await expect(page.getByTestId('max-message-chars')).toHaveValue(String(LIMIT));
    await page.getByTestId('message-limit-setting').screenshot({ path: `${dir}/message-limit-setting-${v.name}.png` });
    await page.context().close();
  }
});
