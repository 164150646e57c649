import { expect, type APIRequestContext, type Page } from '@playwright/test';

export const owner = { email: 'owner@example.com', password: 'correct horse battery staple' };

/**
 * Signs the page's browser context (or an API request context) in as the owner,
 * creating the owner first when the server is still fresh (a spec run on its own).
 */
export async function signIn(target: Page | APIRequestContext): Promise<void> {
  const req = 'request' in target ? target.request : target;
  const status = await (await req.get('/api/setup')).json();
  const res = status.needsSetup
    ? await req.post('/api/setup', { data: owner })
    : await req.post('/api/auth/login', { data: owner });
  expect(res.ok(), await res.text()).toBeTruthy();
}

/** serve.ts's control channel for the fake upstream (POST /enqueue, POST /reset). */
export const controlUrl = `http://127.0.0.1:${Number(process.env.E2E_CONTROL_PORT ?? Number(process.env.E2E_PORT ?? 3917) + 1)}`;

/**
 * The URL of another Switchboard that serve.ts starts (once per name) on its own data folder,
 * for a spec whose owner account or settings must not touch the main server core.spec.ts sets up.
 */
const otherApps = new Map<string, Promise<string>>();
export function isolatedApp(name: string): Promise<string> {
  let url = otherApps.get(name);
  if (!url) {
    url = (async () => {
      const res = await fetch(`${controlUrl}/apps/${name}`, { method: 'POST' });
      if (!res.ok) throw new Error(`serve.ts could not start the ${name} server: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { url: string }).url;
    })();
    url.catch(() => otherApps.delete(name));
    otherApps.set(name, url);
  }
  return url;
}
