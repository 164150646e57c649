import type { Config } from '../../config/config.js';
import type { SecretBox, SettingsRepo } from '../../domain/ports.js';
import { registerSecret } from '../../infra/redact.js';

export type CloudConfig = { provider: 'cloud'; token: string; phoneNumberId: string; appSecret: string; verifyToken: string | null; graphUrl: string };
export type TwilioConfig = { provider: 'twilio'; accountSid: string; authToken: string; from: string; apiUrl: string };
export type WhatsAppConfig = (CloudConfig | TwilioConfig) & { source: 'env' | 'settings' };

/** Every credential is registered as a secret when it is loaded, so no stored or logged text can carry it. */
function registered<T extends CloudConfig | TwilioConfig>(c: T): T {
  if (c.provider === 'cloud') for (const v of [c.token, c.appSecret, c.verifyToken]) registerSecret(v);
  else registerSecret(c.authToken);
  return c;
}

type Stored = { provider: 'cloud' | 'twilio'; sealed: string };
const KEY = 'channels.whatsapp';

/**
 * Where WhatsApp credentials come from: the environment when set (read-only), otherwise the
 * dashboard's settings, sealed with the secret box as one JSON document.
 */
export function whatsappConfigStore(config: Config, settings: SettingsRepo, box: SecretBox) {
  function fromEnv(): WhatsAppConfig | undefined {
    if (config.WHATSAPP_TOKEN && config.WHATSAPP_PHONE_NUMBER_ID && config.WHATSAPP_APP_SECRET) {
      return { provider: 'cloud', source: 'env', token: config.WHATSAPP_TOKEN, phoneNumberId: config.WHATSAPP_PHONE_NUMBER_ID, appSecret: config.WHATSAPP_APP_SECRET, verifyToken: config.WHATSAPP_VERIFY_TOKEN ?? null, graphUrl: config.WHATSAPP_GRAPH_URL };
    }
    if (config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN && config.TWILIO_WHATSAPP_FROM) {
      return { provider: 'twilio', source: 'env', accountSid: config.TWILIO_ACCOUNT_SID, authToken: config.TWILIO_AUTH_TOKEN, from: config.TWILIO_WHATSAPP_FROM.replace(/^(whatsapp:)?/, 'whatsapp:'), apiUrl: config.TWILIO_API_URL };
    }
    return undefined;
  }
  let cache: { at: number; value: WhatsAppConfig | undefined } | undefined;
  return {
    fromEnv,
    /** Said at start when the environment configures both providers: only one number can answer, and it is the Cloud API. */
    envConflict(): string | undefined {
      const twilio = config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN && config.TWILIO_WHATSAPP_FROM;
      if (fromEnv()?.provider !== 'cloud' || !twilio) return undefined;
      return 'WhatsApp: both the Cloud API (WHATSAPP_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET) and Twilio (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM) are set; using the Cloud API, which wins when both are complete. /webhooks/twilio answers 404 and Twilio is not used: unset one of them.';
    },
    async get(): Promise<WhatsAppConfig | undefined> {
      const env = fromEnv();
      if (env) return registered(env);
      if (cache && Date.now() - cache.at < 2000) return cache.value;
      const stored = await settings.get<Stored>(KEY);
      const value = stored ? registered({ ...(JSON.parse(box.open(stored.sealed)) as CloudConfig | TwilioConfig), source: 'settings' } as WhatsAppConfig) : undefined;
      cache = { at: Date.now(), value };
      return value;
    },
    /** `s`: the transaction's settings, when the caller records the change with it. */
    async set(c: CloudConfig | TwilioConfig | null, s: SettingsRepo = settings) {
      cache = undefined;
      if (!c) return s.delete(KEY);
      registered(c);
      await s.set(KEY, { provider: c.provider, sealed: box.seal(JSON.stringify(c)) } satisfies Stored);
    },
  };
}
export type WhatsAppConfigStore = ReturnType<typeof whatsappConfigStore>;
