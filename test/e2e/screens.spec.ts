// Screenshots of every page, light and dark, desktop and a 390px phone, written to
// /tmp/shots (or E2E_SHOTS_DIR) for a person to look at. Not part of the normal run:
// enable with E2E_SHOTS=1. Runs after core.spec.ts and reuses the data it created.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { customerFakes, isolatedApp, owner, signIn } from './helpers.js';

const enabled = !!process.env.E2E_SHOTS;
const dir = process.env.E2E_SHOTS_DIR ?? '/tmp/shots';

test.describe.configure({ mode: 'serial' });
test.skip(!enabled, 'set E2E_SHOTS=1 to take screenshots');
test.setTimeout(120_000);

const variants = [
  { name: 'desktop-light', width: 1280, height: 800, dark: false },
  { name: 'desktop-dark', width: 1280, height: 800, dark: true },
  { name: 'mobile-light', width: 390, height: 844, dark: false },
  { name: 'mobile-dark', width: 390, height: 844, dark: true },
] as const;

async function ids(page: Page): Promise<{ agentId: string; slug: string; conversationId: string | null }> {
  const { agents } = await (await page.request.get('/api/agents')).json();
  let agent = agents[0];
  if (!agent) {
    agent = await (await page.request.post('/api/agents', { data: { name: 'Recipe Helper', template: 'recipe-helper' } })).json();
  }
  const { conversations } = await (await page.request.get(`/api/agents/${agent.id}/conversations`)).json();
  return { agentId: agent.id, slug: agent.slug, conversationId: conversations?.[0]?.id ?? null };
}

/** The agent memory.spec.ts made (or the given fallback), and one of its closed conversations. */
async function memoryIds(page: Page, fallback: string): Promise<{ agentId: string; closedConversationId: string | null }> {
  const { agents } = await (await page.request.get('/api/agents')).json();
  const agentId: string = agents.find((a: { slug: string }) => a.slug === 'memory-agent')?.id ?? fallback;
  const { conversations } = await (await page.request.get(`/api/agents/${agentId}/conversations`)).json();
  const closed = (conversations ?? []).find((c: { closedAt?: string | null }) => c.closedAt);
  return { agentId, closedConversationId: closed?.id ?? null };
}

/**
 * Budgets worth looking at (issue 5): an agent whose small budget ran out (so there are alerts,
 * a downgraded conversation and a stopped card) and a budget on `agentId` with room left.
 * Made once; later variants find them.
 */
async function budgets(page: Page, agentId: string): Promise<string> {
  const { agents } = await (await page.request.get('/api/agents')).json();
  let spent = agents.find((a: { slug: string }) => a.slug === 'budget-demo');
  if (!spent) {
    spent = await (
      await page.request.post('/api/agents', {
        data: { name: 'Budget Demo', slug: 'budget-demo', icon: '💸', listed: false, model: 'openai:gpt-4o-mini', fallbackModel: 'openai:gpt-4.1-nano', monthlyBudgetUsd: 0.0003, downgradeAtPercent: 50 },
      })
    ).json();
    for (let i = 0; i < 15; i++) {
      await page.request.post('/api/public/agents/budget-demo/chat', { data: { text: `How much is left? Question ${i + 1}` } });
      if ((await (await page.request.get(`/api/agents/${spent.id}/budget`)).json()).state === 'stopped') break;
    }
  }
  const agent = await (await page.request.get(`/api/agents/${agentId}`)).json();
  const status = await (await page.request.get(`/api/agents/${agentId}/budget`)).json();
  // About 55% used, so the card and the burn-down show a budget with room left.
  const monthlyBudgetUsd = Math.max(0.001, Math.round((status.spentUsd / 0.55) * 1e6) / 1e6);
  await page.request.patch(`/api/agents/${agentId}`, { data: { monthlyBudgetUsd, version: agent.version } });
  return spent.id as string;
}

/**
 * Tools worth looking at (issue 7): an agent with a policy (one tool denied, two needing approval, two
 * this server cannot run), an HTTP plugin with a secret, and one conversation holding a call of each
 * kind — done, failed, approved, declined and one still waiting. Made once; later variants find it.
 */
async function toolsDemo(page: Page): Promise<{ agentId: string; conversationId: string; pendingId: string }> {
  const { agents } = await (await page.request.get('/api/agents')).json();
  let agent = agents.find((a: { slug: string }) => a.slug === 'site-helper');
  if (!agent) {
    agent = await (await page.request.post('/api/agents', { data: { name: 'Site Helper', slug: 'site-helper', icon: '🛠️', listed: false } })).json();
    const patched = await page.request.patch(`/api/agents/${agent.id}`, {
      data: {
        version: agent.version,
        plugins: [
          {
            name: 'order_status',
            description: 'Look up an order in the shop by its number. Use when a customer asks where their order is.',
            parameters: { type: 'object', properties: { order: { type: 'string', description: 'The order number, e.g. A-1042' } }, required: ['order'] },
            method: 'GET',
            url: 'https://93.184.215.14/api/orders/{order}',
            headers: { Authorization: 'Bearer {{secret:SHOP_KEY}}' },
            body: null,
            responsePath: 'data.status',
            secrets: { SHOP_KEY: 'shop-secret-for-screens' },
          },
        ],
        tools: { allow: ['group:fs', 'group:web', 'exec', 'group:plugins'], deny: ['edit'], requireApproval: ['write', 'order_status'] },
      },
    });
    expect(patched.ok(), await patched.text()).toBeTruthy();
    const say = (text: string) => page.request.post('/api/public/agents/site-helper/chat', { data: { text } });
    const pending = async () => ((await (await page.request.get('/api/approvals?status=pending')).json()).approvals as { id: string; agentId: string }[]).filter((a) => a.agentId === agent.id);
    await say(`CALL write ${JSON.stringify({ path: 'notes/launch-plan.md', content: '# Launch plan\n\n- [ ] Update the pricing page\n- [ ] Tell the newsletter <b>Friday</b>' })}`);
    await page.request.post(`/api/approvals/${(await pending())[0]!.id}/approve`);
    await say('CALL list {}');
    await say(`CALL read ${JSON.stringify({ path: 'notes/missing.md' })}`);
    await say(`CALL write ${JSON.stringify({ path: 'out/report.txt', content: 'Weekly report: 12 orders, 1 refund.' })}`);
    await page.request.post(`/api/approvals/${(await pending())[0]!.id}/deny`);
    await say(`CALL write ${JSON.stringify({ path: 'notes/homepage.md', content: '# New homepage copy\n\n<script>alert(1)</script> Fresh bread, every morning.' })}`);
  }
  const { conversations } = await (await page.request.get(`/api/agents/${agent.id}/conversations`)).json();
  const { approvals } = await (await page.request.get('/api/approvals?status=pending')).json();
  const pendingId = approvals.find((a: { agentId: string }) => a.agentId === agent.id)?.id ?? '';
  return { agentId: agent.id, conversationId: conversations[0].id, pendingId };
}

async function shoot(page: Page, name: string, variant: string): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(150);
  await page.screenshot({ path: `${dir}/${name}-${variant}.png`, fullPage: true });
}

async function open(browser: Browser, v: (typeof variants)[number]): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: v.width, height: v.height },
    colorScheme: v.dark ? 'dark' : 'light',
    deviceScaleFactor: 1,
  });
  return context.newPage();
}

for (const v of variants) {
  test(`screens ${v.name}`, async ({ browser }) => {
    const page = await open(browser, v);
    await signIn(page);
    const { agentId, slug, conversationId } = await ids(page);

    // Public pages
    await page.goto('/');
    await expect(page.getByTestId('agent-grid')).toBeVisible();
    await shoot(page, 'home', v.name);

    await page.goto(`/chat/${slug}`);
    await expect(page.getByTestId('agent-name')).toBeVisible();
    await shoot(page, 'chat-empty', v.name);

    await page.getByTestId('chat-input').fill(
      'I have **eggs**, spinach and feta. Ideas?\n\n1. quick\n2. vegetarian\n\nSee [this site](https://example.com) and `pan` <b>x</b>',
    );
    await page.getByTestId('chat-input').press('Enter');
    await expect(page.locator('[data-role="assistant"]').last()).toHaveAttribute('data-status', 'complete', { timeout: 15_000 });
    await shoot(page, 'chat', v.name);

    if ((await page.getByTestId('chat-message').count()) > 0) {
      if (v.width < 1024) await page.getByTestId('switch-select').selectOption({ index: 1 });
      else await page.getByTestId('switch-agent').first().click();
      await expect(page.getByTestId('confirm-dialog')).toBeVisible();
      await page.waitForTimeout(150);
      await page.screenshot({ path: `${dir}/chat-switch-${v.name}.png` });
      await page.getByTestId('confirm-cancel').click();
    }

    // Fault views, produced by answering the API differently for one page.
    await page.route('**/api/public/agents', (r) => r.fulfill({ json: { agents: [] } }));
    await page.goto('/');
    await expect(page.getByTestId('empty-state')).toBeVisible();
    await shoot(page, 'home-empty', v.name);
    await page.unroute('**/api/public/agents');

    await page.route(`**/api/public/agents/${slug}`, (r) =>
      r.fulfill({
        json: {
          slug,
          name: 'Recipe Helper',
          description: 'Ideas for dinner',
          icon: '🍳',
          available: false,
          notice:
            'No model is configured yet — an administrator can add one in Dashboard → Providers, or set OPENAI_API_KEY.',
        },
      }),
    );
    await page.goto(`/chat/${slug}`);
    await expect(page.getByTestId('agent-notice')).toBeVisible();
    await shoot(page, 'chat-unavailable', v.name);
    await page.unroute(`**/api/public/agents/${slug}`);

    await page.route('**/api/setup', (r) =>
      r.request().method() === 'GET' ? r.fulfill({ json: { needsSetup: true } }) : r.continue(),
    );
    await page.goto('/setup');
    await expect(page.getByTestId('setup-form')).toBeVisible();
    await shoot(page, 'setup', v.name);
    await page.unroute('**/api/setup');

    // Dashboard
    const budgetDemoId = await budgets(page, agentId);
    const tools = await toolsDemo(page);
    await page.goto('/dashboard');
    await expect(page.getByTestId('page-title')).toHaveText('Overview');
    await shoot(page, 'dashboard', v.name);

    await page.route('**/api/providers', (r) =>
      r.fulfill({ json: { configured: false, defaultModel: null, providers: [] } }),
    );
    await page.goto('/dashboard');
    await expect(page.getByTestId('no-model-notice')).toBeVisible();
    await shoot(page, 'dashboard-no-model', v.name);
    await page.unroute('**/api/providers');

    if (v.width < 1024) {
      await page.getByRole('button', { name: 'Menu' }).click();
      await shoot(page, 'dashboard-menu', v.name);
    }

    await page.goto('/dashboard/agents');
    await expect(page.getByTestId('agent-list')).toBeVisible();
    await shoot(page, 'agents', v.name);

    await page.goto('/dashboard/agents/new');
    await page.locator('[data-testid="template-card"]').first().click();
    await expect(page.getByTestId('new-agent-form')).toBeVisible();
    await shoot(page, 'agent-new', v.name);

    await page.goto(`/dashboard/agents/${agentId}`);
    await expect(page.getByTestId('preview-tokens')).toBeVisible();
    await expect(page.getByTestId('budget-card').getByTestId('budget-state')).toBeVisible();
    await shoot(page, 'agent-edit', v.name);
    await page.getByTestId('budget-card').screenshot({ path: `${dir}/agent-budget-card-${v.name}.png` });
    await page.getByTestId('budget-settings').screenshot({ path: `${dir}/agent-budget-settings-${v.name}.png` });

    await page.getByTestId('tab-conversations').click();
    await page.waitForTimeout(200);
    await shoot(page, 'agent-conversations', v.name);

    // The agent whose budget ran out: stopped card, and a conversation marked downgraded.
    await page.goto(`/dashboard/agents/${budgetDemoId}`);
    await expect(page.getByTestId('budget-card').getByTestId('budget-state')).toHaveAttribute('data-state', 'stopped');
    await page.getByTestId('budget-card').screenshot({ path: `${dir}/agent-budget-card-stopped-${v.name}.png` });
    await page.getByTestId('tab-conversations').click();
    await expect(page.getByTestId('conversation-downgraded').first()).toBeVisible();
    await shoot(page, 'agent-conversations-downgraded', v.name);

    if (conversationId) {
      await page.goto(`/dashboard/conversations/${conversationId}`);
      await expect(page.getByTestId('transcript')).toBeVisible();
      await shoot(page, 'conversation', v.name);
    }

    // Conversation memory: the agent memory.spec.ts filled when it ran first, else the first agent.
    const memory = await memoryIds(page, agentId);
    await page.goto(`/dashboard/agents/${memory.agentId}?tab=summaries`);
    await expect(page.getByTestId('summaries-count').or(page.getByTestId('summaries-empty'))).toBeVisible();
    await expect(page.getByTestId('people-list').or(page.getByTestId('people-empty'))).toBeVisible();
    await shoot(page, 'agent-summaries', v.name);

    await page.getByTestId('tab-memory').click();
    await expect(page.getByTestId('file-editor')).toBeVisible();
    await shoot(page, 'agent-memory', v.name);

    if (memory.closedConversationId) {
      await page.goto(`/dashboard/conversations/${memory.closedConversationId}`);
      await expect(page.getByTestId('conversation-summary')).toBeVisible();
      await shoot(page, 'conversation-summary', v.name);
    }

    // Tools, plugins and approvals.
    await page.goto(`/dashboard/agents/${tools.agentId}?tab=tools`);
    await expect(page.getByTestId('effective-tool').first()).toBeVisible();
    await shoot(page, 'agent-tools', v.name);
    const plugin = page.locator('[data-testid="plugin-row"][data-name="order_status"]');
    await plugin.getByTestId('edit-plugin').click();
    await plugin.getByTestId('plugin-url').fill('https://93.184.215.14/api/orders/{order}?lang={lang}');
    await plugin.getByTestId('plugin-save').click();
    await expect(plugin.getByTestId('plugin-url-error')).toBeVisible();
    await plugin.getByTestId('plugin-editor').screenshot({ path: `${dir}/agent-plugin-editor-${v.name}.png` });
    await plugin.getByTestId('plugin-cancel').click();

    await page.goto('/dashboard/approvals');
    await expect(page.getByTestId('approvals-waiting')).toBeVisible();
    await shoot(page, 'approvals', v.name);
    if (tools.pendingId) {
      await page.goto(`/dashboard/approvals?id=${tools.pendingId}`);
      await expect(page.locator('[data-testid="approval"][data-highlighted="true"]')).toBeVisible();
      await page.waitForTimeout(300);
      await page.screenshot({ path: `${dir}/approvals-linked-${v.name}.png` });
      await page.locator('[data-testid="approval"][data-highlighted="true"]').getByTestId('approval-approve').click();
      await expect(page.getByTestId('confirm-dialog').filter({ hasText: 'Run write' })).toBeVisible();
      await page.waitForTimeout(150);
      await page.screenshot({ path: `${dir}/approvals-confirm-${v.name}.png` });
      await page.getByTestId('confirm-cancel').click();
    }

    await page.goto(`/dashboard/conversations/${tools.conversationId}`);
    await expect(page.getByTestId('transcript-tool-call').first()).toBeVisible();
    await page.getByTestId('tool-args-toggle').first().click();
    await shoot(page, 'conversation-tools', v.name);

    await page.goto(`/dashboard/agents/${tools.agentId}?tab=memory`);
    await expect(page.getByTestId('file-editor')).toBeVisible();
    if (v.width >= 1024) await page.locator('[data-testid="file-row"][data-path="notes/launch-plan.md"]').click();
    else await page.getByTestId('file-select').selectOption('notes/launch-plan.md');
    await expect(page.getByTestId('editor-path')).toHaveText('notes/launch-plan.md');
    await shoot(page, 'agent-workspace-files', v.name);

    await page.goto('/dashboard/agents/import');
    await page.getByTestId('import-json').fill(
      JSON.stringify({ switchboardTemplate: 1, name: 'Broken', persona: { soul: 'Hi {unknown_thing}' } }, null, 2),
    );
    await page.getByTestId('import-submit').click();
    await expect(page.getByTestId('form-error')).toBeVisible();
    await shoot(page, 'import-errors', v.name);

    await page.goto('/dashboard/providers');
    await expect(page.getByTestId('price-table')).toBeVisible();
    await shoot(page, 'providers', v.name);

    await page.goto('/dashboard/analytics');
    await expect(page.getByTestId('analytics-kpis')).toBeVisible();
    await expect(page.getByTestId('chart-burndown').first().locator('canvas')).toBeVisible();
    await shoot(page, 'analytics', v.name);

    await page.route('**/api/analytics?*', async (r) => {
      const real = await (await r.fetch()).json();
      const zero = { messages: 0, replies: 0, people: 0, requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
      await r.fulfill({ json: { ...real, totals: zero, series: real.series.map((d: { date: string }) => ({ ...zero, date: d.date })), byAgent: [], byModel: [], byChannel: [], delivery: { byChannel: [] } } });
    });
    await page.goto('/dashboard/analytics');
    await expect(page.getByTestId('analytics-empty')).toBeVisible();
    await shoot(page, 'analytics-empty', v.name);
    await page.unroute('**/api/analytics?*');

    await page.goto('/dashboard/alerts');
    await expect(page.getByTestId('alert-settings-form')).toBeVisible();
    await shoot(page, 'alerts', v.name);

    await page.goto('/dashboard/keys');
    await page.getByLabel('Key name').fill(`screenshot ${v.name}`);
    await page.getByTestId('create-key').click();
    await expect(page.getByTestId('new-key-panel')).toBeVisible();
    await shoot(page, 'keys', v.name);

    await page.goto('/dashboard/users');
    await expect(page.getByTestId('user-list')).toBeVisible();
    await shoot(page, 'users', v.name);

    await page.goto('/login');
    await shoot(page, 'login', v.name);

    await page.context().close();
  });
}

// ---------- customer sign-up, onboarding, billing, and the operator's customer pages ----------
// On a Switchboard with sign-up open, Stripe and mail (serve.ts {customers: true}); one customer per variant.

async function customerPage(browser: Browser, v: (typeof variants)[number], baseURL: string): Promise<Page> {
  const context = await browser.newContext({
    baseURL,
    viewport: { width: v.width, height: v.height },
    colorScheme: v.dark ? 'dark' : 'light',
    deviceScaleFactor: 1,
  });
  return context.newPage();
}

/** Shows one state of a page by answering one API route with `json` (merged into the real answer). */
async function withApi(page: Page, route: string, patch: Record<string, unknown>, fn: () => Promise<void>): Promise<void> {
  await page.route(route, async (r) => r.fulfill({ json: { ...(await (await r.fetch()).json()), ...patch } }));
  await fn();
  await page.unroute(route);
}

for (const v of variants) {
  test(`customer screens ${v.name}`, async ({ browser }) => {
    const baseURL = await isolatedApp('customer-screens', { customers: true });
    const fakes = await customerFakes();
    const setup = await fetch(`${baseURL}/api/setup`).then((r) => r.json());
    if (setup.needsSetup) await fetch(`${baseURL}/api/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(owner) });
    const page = await customerPage(browser, v, baseURL);

    // Public: the landing page with sign-up open, sign-up, sign-in with mail links, the mailed-link pages.
    await page.goto('/');
    await expect(page.getByTestId('plans')).toBeVisible();
    await shoot(page, 'home-signup', v.name);
    await page.goto('/register');
    await expect(page.getByTestId('register-form')).toBeVisible();
    await shoot(page, 'register', v.name);
    await withApi(page, '**/api/auth/options', { signup: false }, async () => {
      await page.goto('/register');
      await expect(page.getByTestId('signup-closed')).toBeVisible();
      await shoot(page, 'register-closed', v.name);
    });
    await page.goto('/login');
    await expect(page.getByTestId('magic-link')).toBeVisible();
    await shoot(page, 'login-mail', v.name);
    await page.goto('/reset-password');
    await shoot(page, 'reset-request', v.name);
    await page.goto('/reset-password?token=from-the-mail');
    await expect(page.getByTestId('reset-form')).toBeVisible();
    await shoot(page, 'reset-form', v.name);
    await page.goto('/verify-email?token=already-used');
    await expect(page.getByTestId('verify-failed')).toBeVisible();
    await shoot(page, 'verify-failed', v.name);
    await page.goto('/login/magic?token=expired');
    await expect(page.getByTestId('magic-page')).toBeVisible();
    await shoot(page, 'magic-failed', v.name);

    // A new customer and their empty dashboard.
    const email = `screens-${v.name}@example.com`;
    const registered = await page.request.post('/api/auth/register', { data: { email, password: 'correct horse battery', name: 'Mark Baker' } });
    if (registered.status() === 409) await page.request.post('/api/auth/login', { data: { email, password: 'correct horse battery' } });
    await page.goto('/dashboard');
    await expect(page.getByTestId('customer-stats')).toBeVisible();
    if (await page.getByTestId('agents-empty').isVisible()) {
      await shoot(page, 'customer-dashboard-empty', v.name);
      if (v.width < 1024) {
        await page.getByRole('button', { name: 'Menu' }).click();
        await shoot(page, 'customer-menu', v.name);
        await page.getByRole('button', { name: 'Menu' }).click();
      }

      // The wizard, step by step, then a rejected token, a slow site being checked, and live.
      await page.goto('/dashboard/agents/new');
      await page.getByTestId('wizard-name').fill("Mark's Site PM");
      await page.getByTestId('wizard-site').fill(`${fakes.siteUrl}/slow`);
      await shoot(page, 'wizard-1', v.name);
      await page.getByTestId('wizard-next').click();
      await shoot(page, 'wizard-2', v.name);
      await page.getByTestId('wizard-next').click();
      await page.getByTestId('wizard-token').fill('not a token');
      await page.getByTestId('wizard-next').click();
      await expect(page.getByTestId('wizard-token-error')).toBeVisible();
      await shoot(page, 'wizard-3', v.name);
      // A well-formed token Telegram does not know is caught here, before anything is created.
      await page.getByTestId('wizard-token').fill('111111111:ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ');
      await page.getByTestId('wizard-next').click();
      await expect(page.getByTestId('wizard-token-error')).toContainText('Telegram rejected this token');
      await shoot(page, 'wizard-3-rejected', v.name);
      await page.getByTestId('wizard-token').fill(fakes.spareBots[variants.indexOf(v)]!.token);
      await page.getByTestId('wizard-next').click();
      await page.getByTestId('wizard-instructions').fill('Reply in British English. Suggest one improvement at a time.');
      await shoot(page, 'wizard-4', v.name);
      await page.getByTestId('wizard-next').click();
      await shoot(page, 'wizard-5', v.name);
      await page.getByTestId('go-live').click();
      // The slow page keeps the site check running for a moment (polled each second, so it may be missed).
      const running = page.locator('[data-testid="step"][data-step="check_site"][data-state="running"]');
      if (await running.waitFor({ timeout: 3000 }).then(() => true, () => false)) {
        await page.screenshot({ path: `${dir}/provisioning-running-${v.name}.png`, fullPage: true });
      }
      await expect(page.getByTestId('live-panel')).toBeVisible({ timeout: 15_000 });
      await shoot(page, 'provisioning-live', v.name);
    }

    const { agents } = await (await page.request.get('/api/agents')).json();
    const agentId: string = agents[0].id;
    await page.request.post(`/api/agents/${agentId}/message`, { data: { text: 'What should I improve first on my home page?' } });
    await page.goto(`/dashboard/agents/${agentId}`);
    await expect(page.getByTestId('agent-telegram')).toBeVisible();
    await expect(page.getByTestId('history-list')).toBeVisible();
    await shoot(page, 'customer-agent', v.name);
    await page.goto(`/dashboard/agents/${agentId}/settings`);
    await expect(page.getByTestId('persona-form')).toBeVisible();
    await shoot(page, 'customer-agent-settings', v.name);
    await page.getByTestId('delete-agent').click();
    await expect(page.getByTestId('purge-choice')).toBeVisible();
    await page.waitForTimeout(150);
    await page.screenshot({ path: `${dir}/customer-agent-delete-${v.name}.png` });
    await page.getByTestId('confirm-cancel').click();

    await page.goto('/dashboard');
    await expect(page.getByTestId('customer-agent')).toBeVisible();
    await shoot(page, 'customer-dashboard', v.name);
    await withApi(page, '**/api/billing', { status: 'trialing', trialExpired: true, blocked: 'trial_expired' }, async () => {
      await page.goto('/dashboard');
      await expect(page.getByTestId('standing-notice')).toBeVisible();
      await shoot(page, 'customer-dashboard-trial-ended', v.name);
    });

    await page.goto('/dashboard/billing');
    await expect(page.getByTestId('current-plan')).toBeVisible();
    await shoot(page, 'billing', v.name);
    await withApi(
      page,
      '**/api/billing',
      { status: 'past_due', pastDueSince: new Date(Date.now() - 2 * 86_400_000).toISOString(), graceEndsAt: new Date(Date.now() + 5 * 86_400_000).toISOString(), hasBillingAccount: true },
      async () => {
        await page.goto('/dashboard/billing?checkout=success');
        await expect(page.getByTestId('manage-billing')).toBeVisible();
        await shoot(page, 'billing-past-due', v.name);
      },
    );
    await withApi(page, '**/api/billing', { billingConfigured: false }, async () => {
      await page.goto('/dashboard/billing');
      await expect(page.getByTestId('billing-not-configured')).toBeVisible();
      await shoot(page, 'billing-no-stripe', v.name);
    });
    await page.context().close();

    // The operator's side of the same server.
    const op = await customerPage(browser, v, baseURL);
    await signIn(op);
    await op.goto('/dashboard/customers');
    await expect(op.getByTestId(v.width < 768 ? 'customer-card' : 'customer-row').first()).toBeVisible();
    await shoot(op, 'customers', v.name);
    await op.getByTestId(v.width < 768 ? 'customer-card' : 'customer-row').first().getByRole('button', { name: 'Change plan' }).click();
    await op.waitForTimeout(150);
    await op.screenshot({ path: `${dir}/customers-change-plan-${v.name}.png` });
    await op.locator('dialog[open]').getByTestId('confirm-cancel').click();
    await op.goto('/dashboard/plans');
    await expect(op.getByTestId('plan-form').first()).toBeVisible();
    await shoot(op, 'plans', v.name);
    await op.getByTestId('add-plan').click();
    await op.locator('[data-testid="plan-form"][data-plan="new"]').getByTestId('save-plan').click();
    await op.locator('[data-testid="plan-form"][data-plan="new"]').screenshot({ path: `${dir}/plans-new-errors-${v.name}.png` });
    await op.goto('/dashboard/audit');
    await expect(op.getByTestId('audit-entry').first()).toBeVisible();
    await shoot(op, 'audit', v.name);
    await op.context().close();
  });
}
