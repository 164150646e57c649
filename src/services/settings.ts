import type { SettingsRepo } from '../domain/ports.js';
import type { Price, PriceService } from './prices.js';
import type { ProviderService } from './providers.js';

/** The settings key of the message-length limit (characters); absent: the environment's default. */
const MAX_MESSAGE_CHARS = 'maxMessageChars';

/**
 * Instance settings the dashboard edits in one form: the default model, the price of unknown
 * models and the longest message a person may send (on every way in; see services/admission.ts).
 */
export function settingsService(deps: {
  providers: Pick<ProviderService, 'defaultModel' | 'setDefaultModel'>;
  prices: Pick<PriceService, 'list' | 'setDefault'>;
  repo: Pick<SettingsRepo, 'get' | 'set' | 'delete'>;
  /** Whether SWITCHBOARD_DEFAULT_MODEL is set (it wins over the dashboard's choice). */
  defaultModelFromEnv: boolean;
  /** SWITCHBOARD_MAX_MESSAGE_CHARS: the limit until the dashboard sets one. */
  maxMessageCharsDefault: number;
}) {
  const { providers, prices, repo } = deps;
  // Read on every message: kept in memory, refreshed when this process changes it (one process per installation).
  let stored: Promise<number | undefined> | undefined;
  const storedLimit = () => (stored ??= repo.get<number>(MAX_MESSAGE_CHARS).catch((err: unknown) => { stored = undefined; throw err; }));

  /** Characters one person message may have, on every way in. */
  async function maxMessageChars(): Promise<number> {
    return (await storedLimit()) ?? deps.maxMessageCharsDefault;
  }

  async function read() {
    const own = await storedLimit();
    return {
      defaultModel: await providers.defaultModel(), defaultModelFromEnv: deps.defaultModelFromEnv, defaultPrice: (await prices.list()).defaultPrice,
      maxMessageChars: own ?? deps.maxMessageCharsDefault, maxMessageCharsSource: own === undefined ? 'default' as const : 'settings' as const,
      maxMessageCharsDefault: deps.maxMessageCharsDefault,
    };
  }
  return {
    read,
    maxMessageChars,
    /** `maxMessageChars: null` goes back to the environment's default. */
    async update(patch: { defaultModel?: string | null; defaultPrice?: Price; maxMessageChars?: number | null }) {
      if (patch.defaultModel !== undefined) await providers.setDefaultModel(patch.defaultModel);
      if (patch.defaultPrice) await prices.setDefault(patch.defaultPrice);
      if (patch.maxMessageChars !== undefined) {
        if (patch.maxMessageChars === null) await repo.delete(MAX_MESSAGE_CHARS);
        else await repo.set(MAX_MESSAGE_CHARS, patch.maxMessageChars);
        stored = undefined;
      }
      return read();
    },
  };
}
export type SettingsService = ReturnType<typeof settingsService>;
