import type { ProviderRepo, SecretBox, SettingsRepo, Store } from '../domain/ports.js';
import type { Actor, ProviderConfig, ProviderKind } from '../domain/types.js';
import { errors, AppError } from '../domain/errors.js';
import type { PriceService } from './prices.js';
import { asSecret } from '../infra/redact.js';
import { modelCatalog } from './model-catalog.js';
import type { Clock } from '../domain/ports.js';
import { changedFields, recordAudit } from './audit.js';

export type ProviderEnv = {
  OPENAI_API_KEY?: string; OPENAI_BASE_URL?: string;
  ANTHROPIC_API_KEY?: string; ANTHROPIC_BASE_URL?: string;
  SWITCHBOARD_DEFAULT_MODEL?: string;
};

/** Where a setting's value comes from: the server's environment, the dashboard (stored settings), or Switchboard's built-in default. */
export type SettingSource = 'env' | 'dashboard' | 'default';
/** Where a provider's model list comes from: the provider's own answer, the operator's list, or the price table (the provider could not be asked). */
export type ModelsSource = 'provider' | 'dashboard' | 'default';
export type ProviderSources = { baseUrl: SettingSource; apiKey: 'env' | 'dashboard' | 'none'; models: ModelsSource };
export type PublicProvider = Omit<ProviderConfig, 'apiKey'> & {
  hasKey: boolean;
  /** The address calls go to (the built-in one when baseUrl is null). */
  effectiveBaseUrl?: string;
  /** The models the provider said it serves, or null when it could not be asked. */
  servedModels?: string[] | null;
  sources?: ProviderSources;
};
/** What a customer may know of a provider: its name, its kind and the models it serves (never its address, nor anything about its key). */
export type CustomerProvider = Pick<ProviderConfig, 'name' | 'kind' | 'models'>;

export const NO_MODEL_NOTICE =
  'No model is configured yet. An administrator can add one in Dashboard → Providers, or set OPENAI_API_KEY (or OPENAI_BASE_URL for Ollama, vLLM, LM Studio), or ANTHROPIC_API_KEY, and restart.';

export function splitModel(model: string): { provider: string; name: string } | undefined {
  const i = model.indexOf(':');
  if (i <= 0 || i === model.length - 1) return undefined;
  return { provider: model.slice(0, i), name: model.slice(i + 1) };
}

/** Knows which model providers exist (environment + dashboard) and turns `provider:model` into a callable config. */
/** The address a provider of a built-in kind is called at when no base URL is set. */
export const BUILT_IN_BASE_URL: Record<ProviderKind, string | null> = {
  openai: 'https://api.openai.com/v1', anthropic: 'https://api.anthropic.com/v1', 'openai-compatible': null,
};
/** The model Switchboard guesses for a provider when nothing else says which to use (and the provider serves it). */
const BUILT_IN_MODEL: Record<ProviderKind, string | null> = { openai: 'gpt-4o-mini', anthropic: 'claude-3-5-haiku-latest', 'openai-compatible': null };

export function providerService(deps: {
  env: ProviderEnv; repo: ProviderRepo; settings: SettingsRepo; box: SecretBox; prices: PriceService;
  listModels: (p: ProviderConfig) => Promise<string[] | undefined>;
  clock?: Clock;
  /** How long a provider's model list is kept (default 10 minutes). */
  modelListTtlMs?: number;
  /** Changes are written with their audit entry in one transaction. */
  store: Pick<Store, 'transaction'>;
}) {
  const { env, repo, box, prices } = deps;
  const catalog = modelCatalog({ listModels: deps.listModels, clock: deps.clock, ttlMs: deps.modelListTtlMs });
  const envProviders: ProviderConfig[] = [];
  if (env.OPENAI_API_KEY || env.OPENAI_BASE_URL) {
    envProviders.push({ name: 'openai', kind: 'openai', baseUrl: env.OPENAI_BASE_URL ?? null, apiKey: env.OPENAI_API_KEY ?? null, models: [], source: 'env' });
  }
  if (env.ANTHROPIC_API_KEY) {
    envProviders.push({ name: 'anthropic', kind: 'anthropic', baseUrl: env.ANTHROPIC_BASE_URL ?? null, apiKey: env.ANTHROPIC_API_KEY, models: [], source: 'env' });
  }

  // Read on every chat; cached briefly (other processes' changes show within two seconds).
  let cached: { at: number; value: Promise<ProviderConfig[]> } | undefined;
  // The dashboard's default model, read with the same two-second freshness (every call to an agent without its own model resolves it).
  let cachedDefault: { at: number; value: Promise<string | undefined> } | undefined;
  const invalidate = (name?: string) => { cached = undefined; cachedDefault = undefined; catalog.invalidate(name); };
  function settingsDefault(): Promise<string | undefined> {
    if (!cachedDefault || Date.now() - cachedDefault.at > 2000) {
      const value = deps.settings.get<string>('defaultModel');
      value.catch(() => { if (cachedDefault?.value === value) cachedDefault = undefined; });
      cachedDefault = { at: Date.now(), value };
    }
    return cachedDefault.value;
  }
  function all(): Promise<ProviderConfig[]> {
    if (!cached || Date.now() - cached.at > 2000) {
      const value = load();
      value.catch(() => { if (cached?.value === value) cached = undefined; });
      cached = { at: Date.now(), value };
    }
    return cached.value;
  }
  async function load(): Promise<ProviderConfig[]> {
    const stored = (await repo.list())
      .filter((r) => !envProviders.some((e) => e.name === r.name))
      .map((r): ProviderConfig => ({ name: r.name, kind: r.kind, baseUrl: r.baseUrl, apiKey: r.apiKeySealed ? asSecret(box.open(r.apiKeySealed)) : null, models: r.models, source: 'settings' }));
    return [...envProviders, ...stored];
  }
  const present = (p: ProviderConfig): PublicProvider => {
    const { apiKey, ...rest } = p;
    return { ...rest, hasKey: !!apiKey };
  };

  /**
   * The model agents without one use, and where that choice comes from. The built-in default is the
   * first provider's first declared model, else a model the provider serves (Switchboard's usual pick
   * for its kind when served), else that pick for a built-in kind when the provider cannot be asked.
   * `wait: false` (the chat path) never waits for a model list: it uses what is already known.
   */
  async function defaultModelInfo(list?: ProviderConfig[], wait = true): Promise<{ model: string | null; source: SettingSource | null }> {
    if (env.SWITCHBOARD_DEFAULT_MODEL) return { model: env.SWITCHBOARD_DEFAULT_MODEL, source: 'env' };
    const fromSettings = await settingsDefault();
    if (fromSettings) return { model: fromSettings, source: 'dashboard' };
    const ps = list ?? (await all());
    const first = ps[0];
    if (!first) return { model: null, source: null };
    if (first.models[0]) return { model: `${first.name}:${first.models[0]}`, source: 'default' };
    const guess = BUILT_IN_MODEL[first.kind];
    const served = wait ? await catalog.served(first) : catalog.peek(first);
    if (served?.length) return { model: `${first.name}:${guess && served.includes(guess) ? guess : served[0]}`, source: 'default' };
    if (guess && !served) return { model: `${first.name}:${guess}`, source: 'default' };
    return { model: null, source: null };
  }
  async function defaultModel(list?: ProviderConfig[]): Promise<string | null> {
    return (await defaultModelInfo(list)).model;
  }

  // ----- what each provider serves (model-catalog.ts asks the provider and keeps the answer) -----

  /**
   * A provider's models and where the list came from: the provider's answer when it gave one (plus
   * what the operator declared), else the operator's list, else the price table for a built-in name.
   */
  async function modelsOf(p: ProviderConfig): Promise<{ models: string[]; source: ModelsSource; served: string[] | undefined }> {
    const served = await catalog.served(p);
    if (served) return { models: [...new Set([...served, ...p.models])].sort(), source: 'provider', served };
    if (p.models.length) return { models: p.models, source: 'dashboard', served };
    // A server of its own (OPENAI_BASE_URL at a local server) that cannot be asked: the price table says nothing about it.
    const builtIn = BUILT_IN_BASE_URL[p.kind];
    if (!builtIn || (p.baseUrl && p.baseUrl.replace(/\/+$/, '') !== builtIn)) return { models: [], source: 'default', served };
    const table = prices.catalog().filter((id) => id.startsWith(`${p.name}:`)).map((id) => id.slice(p.name.length + 1));
    return { models: table, source: 'default', served };
  }

  /**
   * Whether `model` (provider:model) is one its provider offers: true or false when the provider
   * answered (or the operator listed it), undefined when nobody can say.
   */
  async function offers(model: string): Promise<boolean | undefined> {
    const s = splitModel(model);
    if (!s) return false;
    const p = (await all()).find((x) => x.name === s.provider);
    if (!p) return false;
    if (p.models.includes(s.name)) return true;
    const served = await catalog.served(p);
    return served ? served.includes(s.name) : undefined;
  }

  /**
   * Models offered in pickers: every model a configured provider serves (asked of the provider; when
   * it cannot answer, its declared models and the price table's), and the price table's models of
   * providers that are not configured, marked unavailable.
   */
  async function models() {
    const ps = await all();
    const out = new Map<string, { id: string; provider: string; model: string; available: boolean; source: ModelsSource }>();
    const answered = new Set<string>();
    for (const p of ps) {
      const m = await modelsOf(p);
      if (m.source === 'provider') answered.add(p.name);
      for (const name of m.models) out.set(`${p.name}:${name}`, { id: `${p.name}:${name}`, provider: p.name, model: name, available: true, source: m.source });
    }
    for (const id of prices.catalog()) {
      const s = splitModel(id)!;
      if (out.has(id) || answered.has(s.provider)) continue; // a provider that answered has said what it serves
      out.set(id, { id, provider: s.provider, model: s.name, available: false, source: 'default' });
    }
    const rows = [];
    for (const m of out.values()) {
      const { price, priced } = await prices.lookup(m.id);
      rows.push({ ...m, priced, inputPerM: price.inputPerM, outputPerM: price.outputPerM });
    }
    const dm = await defaultModelInfo(ps);
    return { defaultModel: dm.model, defaultModelSource: dm.source, models: rows.sort((a, b) => a.id.localeCompare(b.id)) };
  }

  /** Where each of a provider's settings comes from, and what it serves (operators only). */
  async function describe(p: ProviderConfig): Promise<PublicProvider> {
    const m = await modelsOf(p);
    const fromEnv = p.source === 'env';
    return {
      ...present(p),
      effectiveBaseUrl: p.baseUrl ?? BUILT_IN_BASE_URL[p.kind] ?? undefined,
      servedModels: m.served ?? null,
      sources: {
        baseUrl: p.baseUrl ? (fromEnv ? 'env' : 'dashboard') : 'default',
        apiKey: p.apiKey ? (fromEnv ? 'env' : 'dashboard') : 'none',
        models: m.source,
      },
    };
  }

  return {
    /**
     * The providers as the actor may see them: operators get the address and whether a key is set;
     * a customer only each provider's name, kind and models (an internal base URL is the operator's business).
     */
    async list(actor: Actor): Promise<{ configured: boolean; defaultModel: string | null; defaultModelSource: SettingSource | null; providers: (PublicProvider | CustomerProvider)[] }> {
      const ps = await all();
      const customer = actor.user.role === 'customer';
      const dm = ps.length ? await defaultModelInfo(ps) : { model: null, source: null };
      return {
        configured: ps.length > 0, defaultModel: dm.model, defaultModelSource: dm.source,
        providers: await Promise.all(ps.map(async (p) => (customer ? { name: p.name, kind: p.kind, models: p.models } : describe(p)))),
      };
    },
    models,
    defaultModel,
    defaultModelInfo,
    offers,
    async isConfigured() { return (await all()).length > 0; },
    /**
     * Sets the model agents without one use (SWITCHBOARD_DEFAULT_MODEL still wins when set). Check the
     * model first (checkModel); `settings` is the transaction's, when the caller records the change.
     */
    async setDefaultModel(model: string | null, settings: SettingsRepo = deps.settings) {
      if (model) await settings.set('defaultModel', model);
      else await settings.delete('defaultModel');
      invalidate();
    },

    /** Explains why a model name cannot be used, or returns undefined when it can be saved. */
    async checkModel(model: string): Promise<string | undefined> {
      const s = splitModel(model);
      if (!s) return 'must look like provider:model, e.g. openai:gpt-4o-mini';
      const ps = await all();
      const p = ps.find((x) => x.name === s.provider);
      // A model in the price table is still unusable until its provider is configured: every chat would fail with 503.
      if (!p && (s.provider === 'openai' || s.provider === 'anthropic')) {
        return `the ${s.provider} provider is not configured; add it in Dashboard → Providers (POST /api/providers) or set ${s.provider === 'openai' ? 'OPENAI_API_KEY (or OPENAI_BASE_URL)' : 'ANTHROPIC_API_KEY'} and restart`;
      }
      if (!p) return `unknown model provider "${s.provider}"; configured: ${ps.map((x) => x.name).join(', ') || 'none'}`;
      if (p.models.includes(s.name)) return undefined; // the operator listed it for this provider
      // Ask the provider what it serves: when it answers, that is the truth (a model in our price table that this
      // provider does not serve would fail every chat). When it cannot be asked, a priced model is taken on trust,
      // and a self-hosted server gets the benefit of the doubt.
      const offered = await catalog.served(p);
      if (offered?.includes(s.name)) return undefined;
      if (!offered && (prices.catalog().includes(model) || (await prices.isPriced(model)))) return undefined;
      if (!offered && (p.kind === 'openai-compatible' || p.baseUrl)) return undefined;
      const known = offered ?? prices.catalog().filter((m) => m.startsWith(s.provider + ':')).map((m) => m.slice(s.provider.length + 1));
      return `unknown model "${model}"; ${s.provider} offers: ${known.slice(0, 30).join(', ') || 'nothing listed'}`;
    },

    /** The provider config that serves `model`; throws a 503 the user can act on when none does. */
    async resolve(model: string | null): Promise<{ provider: ProviderConfig; modelName: string; model: string }> {
      const ps = await all();
      const m = model ?? (await defaultModelInfo(ps, false)).model;
      if (!m || ps.length === 0) throw new AppError(503, 'no_model_configured', NO_MODEL_NOTICE);
      const s = splitModel(m);
      const provider = s && ps.find((p) => p.name === s.provider);
      if (!s || !provider) throw new AppError(503, 'no_model_configured', `The model "${m}" has no configured provider. ${NO_MODEL_NOTICE}`);
      return { provider, modelName: s.name, model: m };
    },

    async create(actor: Actor, input: { name: string; kind: ProviderKind; baseUrl?: string | null; apiKey?: string | null; models?: string[] }) {
      if (envProviders.some((e) => e.name === input.name)) throw errors.conflict('provider_exists', `The provider "${input.name}" is set by the environment and cannot be changed here.`);
      if (await repo.get(input.name)) throw errors.conflict('provider_exists', `A provider named "${input.name}" already exists.`);
      if (input.kind === 'openai-compatible' && !input.baseUrl) throw errors.validation([{ path: 'baseUrl', message: 'is required for an OpenAI-compatible provider (e.g. http://localhost:11434/v1)' }]);
      if (input.kind !== 'openai-compatible' && !input.apiKey && !input.baseUrl) throw errors.validation([{ path: 'apiKey', message: `is required for ${input.kind}` }]);
      await deps.store.transaction(async (tx) => {
        await tx.providers.upsert({ name: input.name, kind: input.kind, baseUrl: input.baseUrl ?? null, apiKeySealed: input.apiKey ? box.seal(input.apiKey) : null, models: input.models ?? [] });
        await recordAudit(tx, actor, 'provider.created', { type: 'provider', id: input.name }, { kind: input.kind, baseUrl: input.baseUrl ?? null, models: input.models ?? [], apiKey: input.apiKey ? 'set' : 'none' });
      });
      invalidate(input.name);
      return present((await all()).find((p) => p.name === input.name)!);
    },
    async update(actor: Actor, name: string, patch: { baseUrl?: string | null; apiKey?: string | null; models?: string[] }) {
      if (envProviders.some((e) => e.name === name)) throw errors.conflict('provider_from_env', `The provider "${name}" is set by the environment; change its variables instead.`);
      const row = await repo.get(name);
      if (!row) throw errors.notFound(`Provider "${name}"`);
      // The key is compared, never copied: the entry names it (and says set or removed).
      const oldKey = row.apiKeySealed ? box.open(row.apiKeySealed) : null;
      const diff = changedFields({ baseUrl: row.baseUrl, models: row.models }, { baseUrl: patch.baseUrl, models: patch.models });
      if (patch.apiKey !== undefined && (patch.apiKey || null) !== oldKey) diff.fields.push('apiKey');
      await deps.store.transaction(async (tx) => {
        await tx.providers.upsert({
          ...row,
          baseUrl: patch.baseUrl !== undefined ? patch.baseUrl : row.baseUrl,
          apiKeySealed: patch.apiKey !== undefined ? (patch.apiKey ? box.seal(patch.apiKey) : null) : row.apiKeySealed,
          models: patch.models ?? row.models,
        });
        if (diff.fields.length) await recordAudit(tx, actor, 'provider.updated', { type: 'provider', id: name }, diff);
      });
      invalidate(name);
      return present((await all()).find((p) => p.name === name)!);
    },
    async remove(actor: Actor, name: string) {
      if (envProviders.some((e) => e.name === name)) throw errors.conflict('provider_from_env', `The provider "${name}" is set by the environment; unset its variables instead.`);
      await deps.store.transaction(async (tx) => {
        const row = await tx.providers.get(name);
        if (!row || !(await tx.providers.delete(name))) throw errors.notFound(`Provider "${name}"`);
        await recordAudit(tx, actor, 'provider.deleted', { type: 'provider', id: name }, { kind: row.kind, baseUrl: row.baseUrl });
      });
      invalidate(name);
    },
  };
}
export type ProviderService = ReturnType<typeof providerService>;
