// Dashboard management in a real browser: editing an agent (and losing a race to
// another editor), pause/duplicate/export/delete, importing with and without
// problems, providers and prices, API keys and users.
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { signIn } from './helpers.js';

test.describe.configure({ mode: 'serial' });

test('editing an agent saves, and a stale edit is refused with a way to reload', async ({ page }) => {
  await signIn(page);
  const res = await page.request.post('/api/agents', {
    data: { name: 'Editable Agent', slug: 'editable-agent', description: 'before', listed: false },
  });
  expect(res.status(), await res.text()).toBe(201);
  const agent = await res.json();

  await page.goto(`/dashboard/agents/${agent.id}`);
  await expect(page.getByTestId('page-title')).toHaveText('Editable Agent');
  await page.getByLabel('Description').fill('after');
  await page.getByLabel('Icon (emoji)').fill('🧪');
  await page.getByTestId('persona-tab-soul').click();
  await page.getByTestId('persona-soul').fill('# SOUL\n\nYou test **things** carefully.');
  // The live preview follows the persona.
  await expect(page.getByTestId('prompt-preview')).toContainText('You test things carefully.');
  await page.getByTestId('save-agent').click();
  await expect(page.getByTestId('save-status')).toHaveText('Saved.');

  const saved = await (await page.request.get(`/api/agents/${agent.id}`)).json();
  expect(saved.description).toBe('after');
  expect(saved.icon).toBe('🧪');
  expect(saved.persona.soul).toContain('You test **things** carefully.');

  // Someone else edits meanwhile; our next save must not overwrite theirs.
  const other = await page.request.patch(`/api/agents/${agent.id}`, {
    data: { description: 'changed elsewhere', version: saved.version },
  });
  expect(other.status(), await other.text()).toBe(200);
  await page.getByLabel('Name').fill('My stale name');
  await page.getByTestId('save-agent').click();
  await expect(page.getByTestId('version-conflict')).toBeVisible();
  await page.getByTestId('reload-agent').click();
  await expect(page.getByLabel('Description')).toHaveValue('changed elsewhere');
  await expect(page.getByLabel('Name')).toHaveValue('Editable Agent');
});

test('pause, duplicate, export and delete an agent', async ({ page }) => {
  await signIn(page);
  const agent = await (
    await page.request.post('/api/agents', { data: { name: 'Lifecycle Agent', slug: 'lifecycle-agent' } })
  ).json();
  await page.goto(`/dashboard/agents/${agent.id}`);

  await page.getByTestId('toggle-pause').click();
  await expect(page.getByTestId('toggle-pause')).toHaveText('Resume');
  await expect(page.getByTestId('status-badge')).toContainText('Paused');
  // A paused agent tells visitors so instead of chatting.
  const visitor = await page.context().browser()!.newPage();
  await visitor.goto('/chat/lifecycle-agent');
  await expect(visitor.getByTestId('agent-notice')).toBeVisible();
  await expect(visitor.getByTestId('chat-input')).toBeDisabled();
  await visitor.close();
  await page.getByTestId('toggle-pause').click();
  await expect(page.getByTestId('toggle-pause')).toHaveText('Pause');

  const downloadPromise = page.waitForEvent('download');
  await page.getByTestId('export').click();
  const download = await downloadPromise;
  const doc = JSON.parse(await readFile((await download.path())!, 'utf8'));
  expect(doc.switchboardTemplate).toBe(1);
  expect(doc.name).toBe('Lifecycle Agent');

  await page.getByTestId('duplicate').click();
  await expect(page).not.toHaveURL(new RegExp(`/dashboard/agents/${agent.id}$`));
  await expect(page.getByTestId('page-title')).toContainText('Lifecycle Agent');
  const copyUrl = page.url();

  await page.getByTestId('delete').click();
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Delete agent' }).click();
  await expect(page).toHaveURL(/\/dashboard\/agents$/);
  const copyId = copyUrl.split('/').pop()!;
  expect((await page.request.get(`/api/agents/${copyId}`)).status()).toBe(404);
});

test('import lists every problem and creates nothing, then imports a good document', async ({ page }) => {
  await signIn(page);
  const before = (await (await page.request.get('/api/agents')).json()).agents.length;

  await page.goto('/dashboard/agents/import');
  await page.getByTestId('import-json').fill(
    JSON.stringify({
      switchboardTemplate: 1,
      name: 'Broken import',
      persona: { soul: 'Hello {undeclared_thing}', agents: 'Use {another_unknown}' },
    }),
  );
  await page.getByTestId('import-submit').click();
  const errors = page.getByTestId('field-errors');
  await expect(errors).toBeVisible();
  await expect(errors.locator('li')).toHaveCount(2);
  // In words, named as the operator knows them (lib/field-messages.ts), not as JSON paths.
  await expect(errors).toContainText('SOUL.md uses the unknown placeholder {undeclared_thing}');
  await expect(errors).toContainText('AGENTS.md uses the unknown placeholder {another_unknown}');
  expect((await (await page.request.get('/api/agents')).json()).agents.length).toBe(before);

  await page.getByTestId('import-json').fill(
    JSON.stringify({
      switchboardTemplate: 1,
      name: 'Imported Agent',
      description: 'From a file',
      icon: '📦',
      persona: { soul: 'You help {audience}.' },
      placeholders: { audience: { description: 'Who it helps', required: true } },
    }),
  );
  await page.getByLabel('Who it helps').fill('gardeners');
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('page-title')).toHaveText('Imported Agent');
  await expect(page.getByTestId('persona-soul')).toHaveValue('You help gardeners.');
});

test('providers: add and remove an OpenAI-compatible server, override a price', async ({ page }) => {
  await signIn(page);
  await page.goto('/dashboard/providers');
  await expect(page.getByTestId('default-model')).toHaveText('openai:gpt-4o-mini');
  await expect(page.locator('[data-testid="provider-row"][data-name="openai"]')).toContainText('from environment');

  await page.getByLabel('Kind').selectOption('openai-compatible');
  await page.getByLabel('Name').fill('ollama');
  await page.getByLabel('Base URL').fill('http://127.0.0.1:11434/v1');
  await page.getByLabel('Models (comma-separated)').fill('llama3.1, qwen2.5');
  await page.getByTestId('add-provider').click();
  const row = page.locator('[data-testid="provider-row"][data-name="ollama"]');
  await expect(row).toContainText('llama3.1');
  await expect(row).toContainText('qwen2.5');

  await row.getByTestId('delete-provider').click();
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Delete provider' }).click();
  await expect(row).toHaveCount(0);

  await page.getByLabel('Override a model').fill('openai:gpt-4o-mini');
  await page.getByRole('button', { name: 'Set price' }).click();
  await page.getByLabel('Input', { exact: true }).fill('1.5');
  await page.getByLabel('Output', { exact: true }).fill('2.5');
  await page.getByTestId('price-table').getByRole('button', { name: 'Save', exact: true }).click();
  // The row of that model alone (the table also lists openai:gpt-4o-mini-transcribe and -tts).
  const priceRow = page.getByTestId('price-table').locator('tr').filter({ has: page.locator('td:first-child', { hasText: /^\s*openai:gpt-4o-mini(\s+\S+)?\s*$/ }) });
  await expect(priceRow).toContainText('$1.50');
  await expect(priceRow).toContainText('override');
  await priceRow.getByRole('button', { name: 'Reset' }).click();
  await expect(priceRow).toContainText('table');
});

test('API keys are shown once and can be revoked; users can be added and removed', async ({ page }) => {
  await signIn(page);
  await page.goto('/dashboard/keys');
  await page.getByLabel('Key name').fill('ci key');
  await page.getByTestId('create-key').click();
  const key = await page.getByTestId('new-key').inputValue();
  expect(key).toMatch(/^sbk_/);
  const models = await page.request.get('/v1/models', { headers: { Authorization: `Bearer ${key}` } });
  expect(models.status()).toBe(200);

  const keyRow = page.getByTestId('key-list').locator('tr', { hasText: 'ci key' });
  await keyRow.getByRole('button', { name: 'Revoke' }).click();
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Revoke key' }).click();
  await expect(keyRow).toHaveCount(0);
  const after = await page.request.get('/v1/models', { headers: { Authorization: `Bearer ${key}` } });
  expect(after.status()).toBe(401);

  await page.goto('/dashboard/users');
  await page.getByLabel('Email').fill('auditor@example.com');
  await page.getByLabel('Password').fill('auditor-password');
  await page.getByTestId('role-auditor').check();
  await page.getByRole('button', { name: 'Add user' }).click();
  const userRow = page.getByTestId('user-list').locator('tr', { hasText: 'auditor@example.com' });
  await expect(userRow).toContainText('auditor');
  await userRow.getByRole('button', { name: 'Delete' }).click();
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Delete user' }).click();
  await expect(userRow).toHaveCount(0);
});

test('logging out ends the session', async ({ page }) => {
  await signIn(page);
  await page.goto('/dashboard');
  await page.getByTestId('logout').click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/dashboard');
  await expect(page).toHaveURL(/\/login$/);
});
