// Screenshots of every page, light and dark, desktop and a 390px phone, written to
// /tmp/shots (or E2E_SHOTS_DIR) for a person to look at. Not part of the normal run:
// enable with E2E_SHOTS=1. Runs after core.spec.ts and reuses the data it created.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { signIn } from './helpers.js';

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
