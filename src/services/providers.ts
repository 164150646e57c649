import type { ProviderRepo, SecretBox, SettingsRepo, Store } from '../domain/ports.js';
import type { Actor, ProviderConfig, ProviderKind } from '../domain/types.js';
import { errors, AppError } from '../domain/errors.js';
import type { PriceService } from './prices.js';
import { asSecret } from '../infra/redact.js';
import { changedFields, recordAudit } from './audit.js';

export type ProviderEnv = {
  OPENAI_API_KEY?: string; OPENAI_BASE_URL?: string;
  ANTHROPIC_API_KEY?: string; ANTHROPIC_BASE_URL?: string;
  SWITCHBOARD_DEFAULT_MODEL?: string;
};

export type PublicProvider = Omit<ProviderConfig, 'apiKey'> & { hasKey: boolean };
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
export function providerService(deps: {
  env: ProviderEnv; repo: ProviderRepo; settings: SettingsRepo; box: SecretBox; prices: PriceService; listModels: (p: ProviderConfig) => Promise<string[] | undefined>;
  /** Changes are written with their audit entry in one transaction. */
  store: Pick<Store, 'transaction'>;
}) {
  const { env, repo, box, prices } = deps;
  const envProviders: ProviderConfig[] = [];
  if (env.OPENAI_API_KEY || env.OPENAI_BASE_URL) {
    envProviders.push({ name: 'openai', kind: 'openai', baseUrl: env.OPENAI_BASE_URL ?? null, apiKey: env.OPENAI_API_KEY ?? null, models: [], source: 'env' });
  }
  if (env.ANTHROPIC_API_KEY) {
    envProviders.push({ name: 'anthropic', kind: 'anthropic', baseUrl: env.ANTHROPIC_BASE_URL ?? null, apiKey: env.ANTHROPIC_API_KEY, models: [], source: 'env' });
  }

  // Read on every chat; cached briefly (other processes' changes show within two seconds).
  let cached: { at: number; value: Promise<ProviderConfig[]> } | undefined;
  const invalidate = () => { cached = undefined; };
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

  async function defaultModel(list?: ProviderConfig[]): Promise<string | null> {
    if (env.SWITCHBOARD_DEFAULT_MODEL) return env.SWITCHBOARD_DEFAULT_MODEL;
    const fromSettings = await deps.settings.get<string>('defaultModel');
    if (fromSettings) return fromSettings;
    const ps = list ?? (await all());
    const first = ps[0];
    if (!first) return null;
    if (first.models[0]) return `${first.name}:${first.models[0]}`;
    if (first.kind === 'openai') return `${first.name}:gpt-4o-mini`;
    if (first.kind === 'anthropic') return `${first.name}:claude-3-5-haiku-latest`;
    return null;
  }

  /** Models offered in pickers: the price table for built-in kinds plus every model a provider declares. */
  async function models() {
    const ps = await all();
    const out = new Map<string, { id: string; provider: string; model: string; available: boolean }>();
    for (const id of prices.catalog()) {
      const s = splitModel(id)!;
      out.set(id, { id, provider: s.provider, model: s.name, available: ps.some((p) => p.name === s.provider) });
    }
    for (const p of ps) for (const m of p.models) out.set(`${p.name}:${m}`, { id: `${p.name}:${m}`, provider: p.name, model: m, available: true });
    const rows = [];
    for (const m of out.values()) {
      const { price, priced } = await prices.lookup(m.id);
      rows.push({ ...m, priced, inputPerM: price.inputPerM, outputPerM: price.outputPerM });
    }
    return { defaultModel: await defaultModel(ps), models: rows.sort((a, b) => a.id.localeCompare(b.id)) };
  }

  return {
    /**
     * The providers as the actor may see them: operators get the address and whether a key is set;
     * a customer only each provider's name, kind and models (an internal base URL is the operator's business).
     */
    async list(actor: Actor): Promise<{ configured: boolean; defaultModel: string | null; providers: (PublicProvider | CustomerProvider)[] }> {
      const ps = await all();
      const customer = actor.user.role === 'customer';
      return {
        configured: ps.length > 0, defaultModel: ps.length ? await defaultModel(ps) : null,
        providers: ps.map((p) => (customer ? { name: p.name, kind: p.kind, models: p.models } : present(p))),
      };
    },
    models,
    defaultModel,
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
      if (prices.catalog().includes(model) || p.models.includes(s.name) || (await prices.isPriced(model))) return undefined;
      // Ask the provider what it serves; a self-hosted server that cannot be asked gets the benefit of the doubt.
      const offered = await deps.listModels(p);
      if (offered?.includes(s.name)) return undefined;
      if (!offered && (p.kind === 'openai-compatible' || p.baseUrl)) return undefined;
      const known = offered ?? prices.catalog().filter((m) => m.startsWith(s.provider + ':')).map((m) => m.slice(s.provider.length + 1));
      return `unknown model "${model}"; ${s.provider} offers: ${known.slice(0, 30).join(', ') || 'nothing listed'}`;
    },

    /** The provider config that serves `model`; throws a 503 the user can act on when none does. */
    async resolve(model: string | null): Promise<{ provider: ProviderConfig; modelName: string; model: string }> {
      const ps = await all();
      const m = model ?? (await defaultModel(ps));
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
      invalidate();
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
      invalidate();
      return present((await all()).find((p) => p.name === name)!);
    },
    async remove(actor: Actor, name: string) {
      if (envProviders.some((e) => e.name === name)) throw errors.conflict('provider_from_env', `The provider "${name}" is set by the environment; unset its variables instead.`);
      await deps.store.transaction(async (tx) => {
        const row = await tx.providers.get(name);
        if (!row || !(await tx.providers.delete(name))) throw errors.notFound(`Provider "${name}"`);
        await recordAudit(tx, actor, 'provider.deleted', { type: 'provider', id: name }, { kind: row.kind, baseUrl: row.baseUrl });
      });
      invalidate();
    },
  };
}
export type ProviderService = ReturnType<typeof providerService>;
