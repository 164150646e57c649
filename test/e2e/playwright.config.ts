import { defineConfig, devices } from '@playwright/test';

// Browser tests against the real server (src/server.ts) with a fake OpenAI upstream,
// started by serve.ts. Chromium comes from the system (`/usr/bin/chromium`).
const port = Number(process.env.E2E_PORT ?? 3917);
const controlPort = Number(process.env.E2E_CONTROL_PORT ?? port + 1);
// Tests and serve.ts both read these.
process.env.E2E_PORT = String(port);
process.env.E2E_CONTROL_PORT = String(controlPort);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts$/,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 7_000 },
  forbidOnly: !!process.env.CI,
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  outputDir: '../../test-results/e2e',
  use: {
    baseURL,
    headless: true,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: process.env.E2E_CHROMIUM ?? '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            // voice.spec.ts: a fake microphone (a tone) that needs no permission prompt.
            '--use-fake-device-for-media-stream',
            '--use-fake-ui-for-media-stream',
            '--autoplay-policy=no-user-gesture-required',
          ],
        },
      },
    },
  ],
  webServer: {
    command: 'npx tsx test/e2e/serve.ts',
    cwd: '../..',
    url: `${baseURL}/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: { E2E_PORT: String(port), E2E_CONTROL_PORT: String(controlPort) },
  },
});
