// A person steps into a web chat (issue 15): while the visitor's page is open, the operator takes the
// conversation over and replies; the reply appears live with the operator's name, as plain text, and
// the agent says nothing to the visitor's next message. Screenshots (1280 px and 390 px, light and
// dark) go to test-results/e2e/takeover/.
import { expect, test, type Browser } from '@playwright/test';
import { signIn } from './helpers.js';

test.describe.configure({ mode: 'serial' });
test.setTimeout(60_000); // signing in (argon2) and a first reply on a shared machine

const variants = [
  { name: 'desktop-light', width: 1280, height: 800, dark: false },
  { name: 'desktop-dark', width: 1280, height: 800, dark: true },
  { name: 'mobile-light', width: 390, height: 844, dark: false },
  { name: 'mobile-dark', width: 390, height: 844, dark: true },
] as const;

async function visitorPage(browser: Browser, v: (typeof variants)[number]) {
  const context = await browser.newContext({ viewport: { width: v.width, height: v.height }, colorScheme: v.dark ? 'dark' : 'light', deviceScaleFactor: 1 });
  return context.newPage();
}

for (const v of variants) {
  test(`a person's reply reaches the open chat page live (${v.name})`, async ({ browser, request }) => {
    await signIn(request);
    const agent = await (await request.post('/api/agents', { data: { name: `Help Desk ${v.name}` } })).json();
    const page = await visitorPage(browser, v);
    await page.goto(`/chat/${agent.slug}`);
    const input = page.getByTestId('chat-input');
    await input.fill('My parcel has not arrived');
    await input.press('Enter');
    await expect(page.locator('[data-role="assistant"][data-status="complete"]')).toHaveCount(1);
    const convo = await (await page.request.get(`/api/public/agents/${agent.slug}/conversation`)).json();

    expect((await request.post(`/api/conversations/${convo.conversationId}/takeover`)).status()).toBe(200);
    const reply = 'Hi, I am checking with the courier <b>now</b>.\nOne moment please.';
    expect((await request.post(`/api/conversations/${convo.conversationId}/reply`, { data: { text: reply } })).status()).toBe(201);
    // Live, without a reload: the name the operator goes by, and the text as text.
    await expect(page.getByTestId('human-author')).toHaveText('owner');
    const bubble = page.locator('[data-role="assistant"]').last().getByTestId('message-content');
    await expect(bubble).toContainText('<b>now</b>');
    await expect(bubble.locator('b')).toHaveCount(0);

    // In human mode the agent stays quiet: the visitor's message is kept and nothing answers it.
    await input.fill('Thank you!');
    await input.press('Enter');
    await expect(page.locator('[data-role="user"]')).toHaveCount(2);
    await page.waitForTimeout(300);
    await expect(page.locator('[data-role="assistant"]')).toHaveCount(2);
    await page.screenshot({ path: `test-results/e2e/takeover/chat-human-reply-${v.name}.png` });

    // A reload shows the reply with the name again (from the history).
    await page.reload();
    await expect(page.getByTestId('human-author')).toHaveText('owner');
    await page.context().close();
  });
}
