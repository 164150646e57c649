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
export function isolatedApp(name: string, opts: { customers?: boolean } = {}): Promise<string> {
  let url = otherApps.get(name);
  if (!url) {
    url = (async () => {
      // customers: open sign-up, with serve.ts's fake website, Stripe and mail server (the first call's options win).
      const res = await fetch(`${controlUrl}/apps/${name}`, { method: 'POST', body: JSON.stringify(opts) });
      if (!res.ok) throw new Error(`serve.ts could not start the ${name} server: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { url: string }).url;
    })();
    url.catch(() => otherApps.delete(name));
    otherApps.set(name, url);
  }
  return url;
}

/** What serve.ts's fakes look like for customer journeys (see customerEnv there). */
export type CustomerFakes = {
  /** The customer's website (WordPress-like at /, 500 at /broken, 700 ms at /slow). */
  siteUrl: string;
  /** A bot the fake Telegram knows, for onboarding.spec.ts; spareBots for other specs' agents. */
  botToken: string;
  botUsername: string;
  spareBots: { token: string; username: string }[];
  /** A recurring price the fake Stripe knows. */
  stripePriceId: string;
};
export async function customerFakes(): Promise<CustomerFakes> {
  const res = await fetch(`${controlUrl}/fakes`);
  if (!res.ok) throw new Error(`serve.ts has no fakes: ${res.status}`);
  return res.json() as Promise<CustomerFakes>;
}

/** The mails serve.ts's SMTP server received for one address, oldest first. */
export async function mailsTo(address: string): Promise<{ subject: string; text: string }[]> {
  const res = await fetch(`${controlUrl}/mail?to=${encodeURIComponent(address)}`);
  return ((await res.json()) as { mails: { subject: string; text: string }[] }).mails;
}
