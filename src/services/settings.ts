import type { Price, PriceService } from './prices.js';
import type { ProviderService } from './providers.js';

/** Instance settings the dashboard edits in one form: the default model and the price of unknown models. */
export function settingsService(deps: {
  providers: Pick<ProviderService, 'defaultModel' | 'setDefaultModel'>;
  prices: Pick<PriceService, 'list' | 'setDefault'>;
  /** Whether SWITCHBOARD_DEFAULT_MODEL is set (it wins over the dashboard's choice). */
  defaultModelFromEnv: boolean;
}) {
  const { providers, prices } = deps;
  async function read() {
    return { defaultModel: await providers.defaultModel(), defaultModelFromEnv: deps.defaultModelFromEnv, defaultPrice: (await prices.list()).defaultPrice };
  }
  return {
    read,
    async update(patch: { defaultModel?: string | null; defaultPrice?: Price }) {
      if (patch.defaultModel !== undefined) await providers.setDefaultModel(patch.defaultModel);
      if (patch.defaultPrice) await prices.setDefault(patch.defaultPrice);
      return read();
    },
  };
}
export type SettingsService = ReturnType<typeof settingsService>;
