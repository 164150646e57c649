import type { SettingsRepo, UserRepo } from '../domain/ports.js';
import type { Price, PriceService } from './prices.js';
import type { ProviderService } from './providers.js';

/**
 * Self sign-up, the switch of the customer platform: SWITCHBOARD_SIGNUP when set (it wins), else the
 * dashboard's choice (settings key `signup`), else closed. Accounts ask it on every sign-up.
 */
export function signupSwitch(deps: { settings: Pick<SettingsRepo, 'get'>; fromEnv?: 'open' | 'closed' }) {
  return {
    fromEnv: deps.fromEnv !== undefined,
    async open(): Promise<boolean> {
      if (deps.fromEnv) return deps.fromEnv === 'open';
      return (await deps.settings.get<boolean>('signup')) === true;
    },
  };
}
export type SignupSwitch = ReturnType<typeof signupSwitch>;

/** Instance settings the dashboard edits in one form: the default model, the price of unknown models and self sign-up. */
export function settingsService(deps: {
  providers: Pick<ProviderService, 'defaultModel' | 'setDefaultModel'>;
  prices: Pick<PriceService, 'list' | 'setDefault'>;
  /** Whether SWITCHBOARD_DEFAULT_MODEL is set (it wins over the dashboard's choice). */
  defaultModelFromEnv: boolean;
  settings: Pick<SettingsRepo, 'set'>;
  users: Pick<UserRepo, 'countByRole'>;
  signup: SignupSwitch;
}) {
  const { providers, prices, signup } = deps;
  async function read() {
    const signupOpen = await signup.open();
    return {
      defaultModel: await providers.defaultModel(), defaultModelFromEnv: deps.defaultModelFromEnv, defaultPrice: (await prices.list()).defaultPrice,
      signup: signupOpen, signupFromEnv: signup.fromEnv,
      // The customer pages (Customers, Plans) matter once people can sign up or someone already has.
      customerPlatform: signupOpen || (await deps.users.countByRole('customer')) > 0,
    };
  }
  return {
    read,
    async update(patch: { defaultModel?: string | null; defaultPrice?: Price; signup?: boolean }) {
      if (patch.defaultModel !== undefined) await providers.setDefaultModel(patch.defaultModel);
      if (patch.defaultPrice) await prices.setDefault(patch.defaultPrice);
      // Stored even while SWITCHBOARD_SIGNUP decides: it takes over once the variable is removed.
      if (patch.signup !== undefined) await deps.settings.set('signup', patch.signup);
      return read();
    },
  };
}
export type SettingsService = ReturnType<typeof settingsService>;
