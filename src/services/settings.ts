import type { SettingsRepo, Store, UserRepo } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';
import { errors } from '../domain/errors.js';
import type { Price, PriceService } from './prices.js';
import type { ProviderService } from './providers.js';
import { changedFields, recordAudit } from './audit.js';

/** The settings key of the message-length limit (characters); absent: the environment's default. */
const MAX_MESSAGE_CHARS = 'maxMessageChars';

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

/** Instance settings the dashboard edits in one form: the default model, the price of unknown models and self sign-up; and price overrides. Each change is recorded in the audit log, in its transaction. */
export function settingsService(deps: {
  providers: Pick<ProviderService, 'defaultModel' | 'setDefaultModel' | 'checkModel'>;
  prices: Pick<PriceService, 'list' | 'setDefault' | 'setOverride' | 'clearOverride'>;
  store: Pick<Store, 'transaction' | 'settings'>;
  /** Whether SWITCHBOARD_DEFAULT_MODEL is set (it wins over the dashboard's choice). */
  defaultModelFromEnv: boolean;
  users: Pick<UserRepo, 'countByRole'>;
  signup: SignupSwitch;
  /** SWITCHBOARD_MAX_MESSAGE_CHARS: the limit until the dashboard sets one. */
  maxMessageCharsDefault: number;
}) {
  const { providers, prices, signup, store } = deps;
  // Read on every message: kept in memory, refreshed when this process changes it (one process per installation).
  let stored: Promise<number | undefined> | undefined;
  const storedLimit = () => (stored ??= store.settings.get<number>(MAX_MESSAGE_CHARS).catch((err: unknown) => { stored = undefined; throw err; }));

  /** Characters one person message may have, on every way in. */
  async function maxMessageChars(): Promise<number> {
    return (await storedLimit()) ?? deps.maxMessageCharsDefault;
  }

  async function read() {
    const signupOpen = await signup.open();
    const own = await storedLimit();
    return {
      defaultModel: await providers.defaultModel(), defaultModelFromEnv: deps.defaultModelFromEnv, defaultPrice: (await prices.list()).defaultPrice,
      signup: signupOpen, signupFromEnv: signup.fromEnv,
      // The customer pages (Customers, Plans) matter once people can sign up or someone already has.
      customerPlatform: signupOpen || (await deps.users.countByRole('customer')) > 0,
      maxMessageChars: own ?? deps.maxMessageCharsDefault, maxMessageCharsSource: own === undefined ? 'default' as const : 'settings' as const,
      maxMessageCharsDefault: deps.maxMessageCharsDefault,
    };
  }
  return {
    read,
    maxMessageChars,
    /** `maxMessageChars: null` goes back to the environment's default. */
    async update(actor: Actor, patch: { defaultModel?: string | null; defaultPrice?: Price; signup?: boolean; maxMessageChars?: number | null }) {
      if (patch.defaultModel) {
        const why = await providers.checkModel(patch.defaultModel);
        if (why) throw errors.validation([{ path: 'defaultModel', message: why }]);
      }
      const before = { defaultModel: (await store.settings.get<string>('defaultModel')) ?? null, defaultPrice: (await prices.list()).defaultPrice, signup: (await store.settings.get<boolean>('signup')) === true, maxMessageChars: (await storedLimit()) ?? null };
      const diff = changedFields(before, patch);
      if (diff.fields.length) {
        await store.transaction(async (tx) => {
          if (patch.defaultModel !== undefined) await providers.setDefaultModel(patch.defaultModel, tx.settings);
          if (patch.defaultPrice) await prices.setDefault(patch.defaultPrice, tx.settings);
          // Stored even while SWITCHBOARD_SIGNUP decides: it takes over once the variable is removed.
          if (patch.signup !== undefined) await tx.settings.set('signup', patch.signup);
          if (patch.maxMessageChars !== undefined) {
            if (patch.maxMessageChars === null) await tx.settings.delete(MAX_MESSAGE_CHARS);
            else await tx.settings.set(MAX_MESSAGE_CHARS, patch.maxMessageChars);
          }
          await recordAudit(tx, actor, 'settings.updated', { type: 'settings', id: 'instance' }, diff);
        });
        stored = undefined;
      }
      return read();
    },
    /** PUT /api/prices/{model}. */
    async setPrice(actor: Actor, model: string, p: Price) {
      const before = (await prices.list()).prices.find((r) => r.model === model && r.source === 'override');
      return store.transaction(async (tx) => {
        const row = await prices.setOverride(model, p, tx.settings);
        await recordAudit(tx, actor, 'price.updated', { type: 'price', id: model }, {
          fields: ['price'], changes: { price: { from: before ? { inputPerM: before.inputPerM, outputPerM: before.outputPerM, cachedInputPerM: before.cachedInputPerM } : null, to: p } },
        });
        return row;
      });
    },
    /** DELETE /api/prices/{model}; an override that was not there is no change. */
    async clearPrice(actor: Actor, model: string) {
      await store.transaction(async (tx) => {
        if (await prices.clearOverride(model, tx.settings)) await recordAudit(tx, actor, 'price.deleted', { type: 'price', id: model }, {});
      });
    },
  };
}
export type SettingsService = ReturnType<typeof settingsService>;
