import type { Store } from '../domain/ports.js';
import type { Actor, Agent, Persona, PluginDef } from '../domain/types.js';
import { DEFAULT_POLICY, knownNames } from '../tools/policy.js';
import { AppError, errors, type FieldProblem } from '../domain/errors.js';
import { AGENT_DEFAULTS, type PluginInput,
  templateSchema, zodProblems, type AgentTemplate, type ConfigPatchInput, type CreateAgentInput, type PatchAgentInput,
} from '../domain/schemas.js';
import { WEBSITE_TEMPLATE, type ProvisioningService } from './provisioning.js';
import type { ProviderService } from './providers.js';
import { fitTemplateModels } from './templates.js';
import { authorize, canSeeAllAgents } from './access.js';
import { changedFields, recordAudit } from './audit.js';
import { composeSystemPrompt, estimateTokens, fillPlaceholders, placeholdersIn } from './prompt.js';
import type { AgentBots, TelegramView } from '../domain/channels.js';

export type ToolsView = {
  allow: string[]; deny: string[]; requireApproval: string[]; effective: string[]; unavailable: { name: string; reason: string }[]; default: boolean;
  catalog: { name: string; available: boolean; reason: string | null; mode: string | null }[];
};
export type PluginView = Omit<PluginDef, 'secretsSealed'> & { secrets: string[] };
export type AgentView = Omit<Agent, 'toolPolicy' | 'plugins'> & { channels: { telegram: TelegramView | null }; tools: ToolsView; plugins: PluginView[] };

const PERSONA_KEYS = ['soul', 'agents', 'tools', 'user', 'instructions'] as const;
const emptyPersona = (): Persona => ({ soul: '', agents: '', tools: '', user: '', instructions: '' });

export function slugify(name: string): string {
  const s = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 56).replace(/-+$/, '');
  return s || 'agent';
}

/**
 * The one rule for the operator's public surfaces — the home page (`GET /api/public/agents`), the
 * chat page `/chat/<slug>` and the shared WhatsApp number: an agent is there only when it is listed
 * and not deleted. Only an owner or admin can list a customer's agent (a customer's own `listed:
 * true` is refused), so a customer's agent never joins the operator's page or number on its own.
 */
export function publiclyListed(a: Agent): boolean {
  return a.listed && a.status !== 'deleted';
}

/** The agents the operator's public surfaces offer right now: publicly listed and able to answer. */
export async function publicAgents(store: Pick<Store, 'agents'>): Promise<Agent[]> {
  return (await store.agents.list({ listed: true, status: 'active' })).filter(publiclyListed);
}

/**
 * Settings only an owner or admin may turn on: `listed` (the operator's public page and shared
 * number) and `sharedNotes` (notes shared by every person). A customer may turn either off.
 */
function checkOperatorSettings(actor: Actor, input: { listed?: boolean; sharedNotes?: boolean }, current?: Pick<Agent, 'listed' | 'sharedNotes'>) {
  if (actor.user.role !== 'customer') return;
  if (input.listed === true && !current?.listed) throw errors.forbidden("Only the operator can list an agent on this site's public page and shared number.");
  if (input.sharedNotes === true && !current?.sharedNotes) throw errors.forbidden('Only the operator can turn on shared notes for an agent.');
}

type Draft = Omit<Agent, 'id' | 'version' | 'createdAt' | 'updatedAt' | 'ownerId' | 'slug'> & { slug?: string };

/** Fills a template's placeholders, collecting every problem instead of stopping at the first. */
function instantiate(t: AgentTemplate, vars: Record<string, string>, problems: FieldProblem[], varsPath = 'templateVars'): Draft {
  const values: Record<string, string> = {};
  for (const [name, p] of Object.entries(t.placeholders)) {
    const v = vars[name] ?? p.default;
    if (v === undefined || (p.required && v.trim() === '')) problems.push({ path: `${varsPath}.${name}`, message: `is required by the template${p.description ? ` (${p.description})` : ''}` });
    else values[name] = v;
  }
  for (const name of Object.keys(vars)) {
    if (!(name in t.placeholders)) problems.push({ path: `${varsPath}.${name}`, message: `the template has no placeholder named {${name}}; it has: ${Object.keys(t.placeholders).map((n) => `{${n}}`).join(', ') || 'none'}` });
  }
  const texts: [string, string][] = [['name', t.name], ['description', t.description], ...PERSONA_KEYS.map((k) => [`persona.${k}`, t.persona[k]] as [string, string])];
  for (const [path, text] of texts) {
    for (const name of new Set(placeholdersIn(text))) {
      if (!(name in t.placeholders)) problems.push({ path, message: `uses the unknown placeholder {${name}}; declare it under "placeholders" or write {{${name}}} for literal braces` });
    }
  }
  const fill = (s: string) => fillPlaceholders(s, values);
  return {
    name: fill(t.name).slice(0, 80), description: fill(t.description), icon: t.icon,
    model: t.model ?? null, fallbackModel: t.fallbackModel ?? null, temperature: t.temperature,
    listed: t.listed, status: 'active',
    sessionTimeoutMinutes: t.sessionTimeoutMinutes ?? AGENT_DEFAULTS.sessionTimeoutMinutes,
    contextTokenBudget: t.contextTokenBudget ?? AGENT_DEFAULTS.contextTokenBudget,
    memoryTools: t.memoryTools ?? AGENT_DEFAULTS.memoryTools, sharedNotes: false,
    monthlyBudgetUsd: t.monthlyBudgetUsd ?? null, downgradeAtPercent: t.downgradeAtPercent ?? AGENT_DEFAULTS.downgradeAtPercent,
    stopAtPercent: t.stopAtPercent ?? AGENT_DEFAULTS.stopAtPercent, budgetStopMessage: t.budgetStopMessage ?? null,
    personDailyMessages: t.personDailyMessages ?? null, personDailyCostUsd: t.personDailyCostUsd ?? null,
    maxOutputTokens: t.maxOutputTokens ?? AGENT_DEFAULTS.maxOutputTokens,
    siteUrl: null, stack: null, pausedReason: null, toolPolicy: null, plugins: [], handoff: { ...AGENT_DEFAULTS.handoff }, site: { ...AGENT_DEFAULTS.site }, voice: { ...AGENT_DEFAULTS.voice }, knowledge: { ...AGENT_DEFAULTS.knowledge },
    persona: Object.fromEntries(PERSONA_KEYS.map((k) => [k, fill(t.persona[k])])) as Persona,
  };
}

export function agentService(deps: {
  store: Pick<Store, 'agents' | 'plans' | 'audit' | 'transaction'>; providers: ProviderService; templates: Map<string, AgentTemplate>; telegram: AgentBots;
  /** Runs the provisioning pipeline of agents created with a site URL or a bot token, and deprovisions. */
  provisioning: ProvisioningService;
  /** The tools an agent ends up with (policy ∩ plan ∩ what this installation can run). */
  describeTools?: (agent: Agent) => Promise<{ effective: string[]; unavailable: { name: string; reason: string }[]; catalog: ToolsView['catalog'] }>;
  /** The site watch: checks new site settings (throws a validation error) and (re)starts the agent's uptime checks after a change. */
  checkSiteSettings?: (actor: Actor, agent: Agent, next: Agent['site'], input: Partial<Agent['site']>) => Promise<void>;
  siteWatchChanged?: (agent: Agent) => Promise<void>;
  /** Checks HTTP plugins and seals their secrets before they are saved. */
  preparePlugins?: (input: PluginInput[], current: PluginDef[]) => Promise<{ plugins: PluginDef[]; problems: FieldProblem[] }>;
}) {
  const { store, providers, templates, telegram, provisioning } = deps;

  /** Adds what channels each agent is connected to and its effective tools (never secrets). */
  async function views(agents: Agent[]): Promise<AgentView[]> {
    const tg = await telegram.views(agents.map((a) => a.id));
    return Promise.all(agents.map(async ({ toolPolicy, plugins, ...a }) => {
      const d = (await deps.describeTools?.({ ...a, toolPolicy, plugins })) ?? { effective: [], unavailable: [], catalog: [] };
      const policy = toolPolicy ?? { ...DEFAULT_POLICY, requireApproval: [] };
      return {
        ...a, channels: { telegram: tg.get(a.id) ?? null },
        tools: { allow: policy.allow, deny: policy.deny, requireApproval: policy.requireApproval ?? [], effective: d.effective, unavailable: d.unavailable, default: toolPolicy === null, catalog: d.catalog },
        plugins: plugins.map(({ secretsSealed, ...p }) => ({ ...p, secrets: Object.keys(secretsSealed) })),
      };
    }));
  }
  const view = async (a: Agent) => (await views([a]))[0]!;

  /**
   * The preflight every save runs: models must be usable and no placeholder may be left unfilled. A
   * model an edit leaves as it was (`before`) is not re-checked, so an agent whose provider went away
   * can still be paused or have its persona fixed; chat then says plainly that no model is configured.
   */
  async function preflight(d: Pick<Agent, 'model' | 'fallbackModel' | 'persona' | 'name' | 'description' | 'downgradeAtPercent' | 'stopAtPercent'>, problems: FieldProblem[], before?: Pick<Agent, 'model' | 'fallbackModel'>) {
    if (d.downgradeAtPercent > d.stopAtPercent) problems.push({ path: 'downgradeAtPercent', message: `must not be above stopAtPercent (${d.stopAtPercent})` });
    const templateProblems = problems.some((p) => p.path.startsWith('templateVars') || /placeholder/.test(p.message));
    for (const key of ['model', 'fallbackModel'] as const) {
      const m = d[key];
      if (m && m !== before?.[key]) {
        const why = await providers.checkModel(m);
        if (why) problems.push({ path: key, message: why });
      }
    }
    const texts: [string, string][] = [['name', d.name], ['description', d.description], ...PERSONA_KEYS.map((k) => [`persona.${k}`, d.persona[k]] as [string, string])];
    for (const [path, text] of templateProblems ? [] : texts) {
      for (const name of new Set(placeholdersIn(text))) problems.push({ path, message: `has an unfilled placeholder {${name}}; replace it, or write {{${name}}} for literal braces` });
    }
  }

  async function uniqueSlug(base: string): Promise<string> {
    if (!(await store.agents.slugExists(base))) return base;
    for (let i = 2; i < 1000; i++) {
      const s = `${base}-${i}`;
      if (!(await store.agents.slugExists(s))) return s;
    }
    throw errors.conflict('slug_taken', 'Could not find a free slug; choose one.');
  }

  /** Inserts a new agent and its `agent.created` entry (`detail` says how it was made) in one transaction. */
  async function save(actor: Actor, d: Draft, problems: FieldProblem[], detail: Record<string, unknown>, alsoInTx?: (tx: Store, a: Agent) => Promise<void>): Promise<Agent> {
    await preflight(d, problems);
    if (problems.length) throw errors.validation(problems);
    let slug: string;
    if (d.slug) {
      if (await store.agents.slugExists(d.slug)) throw errors.conflict('slug_taken', `The slug "${d.slug}" is already used by another agent.`);
      slug = d.slug;
    } else slug = await uniqueSlug(slugify(d.name));
    return store.transaction(async (tx) => {
      if (actor.user.role === 'customer') {
        // Count and insert under a lock on the customer, so two creates at once cannot both fit the last slot.
        await tx.users.lock(actor.user.id);
        await assertPlanRoom(actor, tx);
      }
      const a = await tx.agents.insert({ ...d, slug, ownerId: actor.user.id });
      await recordAudit(tx, actor, 'agent.created', { type: 'agent', id: a.id }, { name: a.name, slug: a.slug, model: a.model, status: a.status, ...detail });
      await alsoInTx?.(tx, a);
      return a;
    });
  }

  /** An agent the actor may see, deleted ones included (status, history, delete, pause answer for them). */
  async function getRecord(actor: Actor, id: string): Promise<Agent> {
    const a = await store.agents.byId(id);
    if (!a) throw errors.notFound('Agent');
    authorize(actor, 'agent.read', a);
    return a;
  }
  /** An agent the actor may see and act on: a deleted agent is not found. */
  async function getVisible(actor: Actor, id: string): Promise<Agent> {
    const a = await getRecord(actor, id);
    if (a.status === 'deleted') throw errors.notFound('Agent');
    return a;
  }

  /** A customer may have as many agents (not deleted) as their plan allows; no plan, no limit. */
  async function assertPlanRoom(actor: Actor, s: Pick<Store, 'plans' | 'agents'> = store) {
    if (actor.user.role !== 'customer') return;
    const planId = (await s.plans.billing(actor.user.id))?.planId;
    const plan = planId ? await s.plans.get(planId) : undefined;
    if (!plan) return;
    const have = (await s.agents.list({ ownerId: actor.user.id })).filter((a) => a.status !== 'deleted').length;
    if (have >= plan.maxAgents) {
      throw new AppError(403, 'plan_limit', `Your ${plan.name} plan allows ${plan.maxAgents} agent${plan.maxAgents === 1 ? '' : 's'} and you have ${have}. Delete one or upgrade your plan to add another.`);
    }
  }

  const pausedBy = (actor: Actor): Agent['pausedReason'] => (actor.user.role === 'customer' ? 'customer' : 'operator');

  /** Why an agent's status cannot be changed by pause/resume or PATCH (null: it can). */
  function statusLocked(a: Agent): AppError | null {
    if (a.status === 'deleted') return errors.conflict('agent_deleted', `${a.name} was deleted.`);
    if (a.status === 'provisioning') return errors.conflict('provisioning_in_progress', `${a.name} is still being set up; follow GET /api/agents/${a.id}/status.`);
    if (a.status === 'failed') return errors.conflict('provisioning_failed', `${a.name} could not be set up; fix what GET /api/agents/${a.id}/status names and POST /api/agents/${a.id}/retry.`);
    return null;
  }

  const configOf = (a: Agent) => ({ ...a.persona, siteUrl: a.siteUrl, version: a.version });

  function toTemplate(a: Agent): AgentTemplate {
    return {
      switchboardTemplate: 1, id: a.slug, name: a.name, description: a.description, icon: a.icon,
      model: a.model, fallbackModel: a.fallbackModel, temperature: a.temperature, listed: a.listed,
      sessionTimeoutMinutes: a.sessionTimeoutMinutes, contextTokenBudget: a.contextTokenBudget, memoryTools: a.memoryTools,
      monthlyBudgetUsd: a.monthlyBudgetUsd, downgradeAtPercent: a.downgradeAtPercent, stopAtPercent: a.stopAtPercent,
      budgetStopMessage: a.budgetStopMessage, personDailyMessages: a.personDailyMessages, personDailyCostUsd: a.personDailyCostUsd,
      maxOutputTokens: a.maxOutputTokens,
      persona: { ...a.persona }, placeholders: {},
    };
  }

  return {
    // The gallery's words (no placeholders: loadTemplates saw to it); placeholders are filled in the form.
    templates: () => [...templates.values()].map((t) => ({ id: t.id!, name: t.name, description: t.summary ?? t.description, icon: t.icon, model: t.model ?? null, placeholders: t.placeholders })),

    async list(actor: Actor) {
      return views((await store.agents.list(canSeeAllAgents(actor) ? {} : { ownerId: actor.user.id })).filter((a) => a.status !== 'deleted'));
    },
    async get(actor: Actor, id: string) { return view(await getVisible(actor, id)); },

    /** The agent itself, for callers that act on it (chat); no channel details. Deleted agents are not found. */
    getVisible,
    /** Like getVisible, but a deleted agent is found too (its kept history can be read). */
    getRecord,

    /**
     * Creates an agent. With a site URL or a Telegram bot token it is provisioned: saved with status
     * "provisioning" and handed to the pipeline (a durable job); the caller gets it back at once.
     */
    async create(actor: Actor, input: CreateAgentInput): Promise<AgentView & { notes?: string[] }> {
      const notes: string[] = [];
      authorize(actor, 'agent.create');
      checkOperatorSettings(actor, input);
      await assertPlanRoom(actor);
      const problems: FieldProblem[] = [];
      const { siteUrl, telegramBotToken, ...plain } = input;
      const token = telegramBotToken?.trim() || undefined;
      input = plain;
      if (siteUrl) {
        // A website agent's workspace is generated from the site: the template is fixed, the persona files are written by the pipeline.
        if (input.template && input.template !== WEBSITE_TEMPLATE) problems.push({ path: 'template', message: `a website agent (siteUrl) is built from the ${WEBSITE_TEMPLATE} template; leave "template" out` });
        for (const k of ['soul', 'agents', 'tools', 'user'] as const) {
          if (input.persona?.[k] !== undefined) problems.push({ path: `persona.${k}`, message: 'is generated from the website when siteUrl is given; edit it with PATCH /api/agents/{id}/config once the agent is set up' });
        }
        input = { ...input, template: WEBSITE_TEMPLATE, templateVars: { customer_name: actor.user.name?.trim() || actor.user.email, ...input.templateVars, site_url: siteUrl } };
      }
      let d: Draft = { name: input.name, description: '', icon: '🤖', model: null, fallbackModel: null, temperature: 0.7, listed: true, status: 'active', ...AGENT_DEFAULTS, persona: emptyPersona() };
      if (input.template) {
        const t = templates.get(input.template);
        if (!t) throw errors.validation([{ path: 'template', message: `unknown template "${input.template}"; available: ${[...templates.keys()].join(', ')}` }]);
        const vars = { ...input.templateVars };
        if ('agent_name' in t.placeholders && vars.agent_name === undefined) vars.agent_name = input.name;
        d = instantiate(t, vars, problems);
        d.name = input.name;
        // A template's models only stick when their provider is configured and serves them (templates.ts).
        notes.push(...await fitTemplateModels(d, input, { configured: (m) => providers.resolve(m).then(() => true, () => false), offers: providers.offers }));
      } else if (input.templateVars) {
        problems.push({ path: 'templateVars', message: 'only makes sense together with "template"' });
      }
      const { template: _t, templateVars: _v, persona, handoff, site, voice, knowledge, ...fields } = input;
      d = { ...d, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)), persona: { ...d.persona, ...persona }, handoff: { ...d.handoff, ...handoff }, site: { ...d.site, ...site }, voice: { ...d.voice, ...voice }, knowledge: { ...d.knowledge, ...knowledge } };
      if (actor.user.role === 'customer') d.listed = false; // a template's `listed` is the operator's to give
      const provisioned = !!siteUrl || !!token;
      if (provisioned) d = { ...d, status: 'provisioning', siteUrl: siteUrl ?? null, pausedReason: null };
      const agent = await save(actor, d, problems, { via: input.template ? `template:${input.template}` : 'blank', ...(provisioned ? { provisioned: { siteUrl: siteUrl ?? null, telegram: !!token } } : {}) },
        provisioned ? (tx, a) => provisioning.record(tx, a, token) : undefined);
      if (provisioned) await provisioning.launch(agent.id);
      return notes.length ? { ...(await view(agent)), notes } : view(agent);
    },

    async update(actor: Actor, id: string, input: PatchAgentInput, ifMatch?: number): Promise<AgentView> {
      const current = await getVisible(actor, id);
      authorize(actor, 'agent.write', current);
      if (current.status === 'provisioning') throw statusLocked(current)!;
      const { version: bodyVersion, persona, telegramBotToken, tools, siteUrl, plugins, handoff, site, voice, knowledge, ...rest } = input;
      checkOperatorSettings(actor, rest, current);
      if (rest.status !== undefined && rest.status !== current.status && statusLocked(current)) throw statusLocked(current)!;
      const fields: typeof rest & Partial<Pick<Agent, 'toolPolicy' | 'siteUrl' | 'stack' | 'pausedReason' | 'plugins' | 'handoff' | 'site' | 'voice' | 'knowledge'>> = { ...rest };
      if (handoff !== undefined) fields.handoff = { ...current.handoff, ...handoff };
      if (voice !== undefined) fields.voice = { ...current.voice, ...voice };
      if (knowledge !== undefined) fields.knowledge = { ...current.knowledge, ...knowledge };
      if (site !== undefined) {
        fields.site = { ...current.site, ...site };
        // The watched URL is fetched on a schedule: refused now when it points where the guard would refuse it; the plan's minimum interval holds for customers.
        if (deps.checkSiteSettings) await deps.checkSiteSettings(actor, current, fields.site, site);
      }
      let pluginNames = current.plugins.map((p) => p.name);
      if (plugins !== undefined) {
        if (!deps.preparePlugins) throw errors.badRequest('plugins_unavailable', 'Plugins are not available on this installation.');
        const prepared = await deps.preparePlugins(plugins, current.plugins);
        if (prepared.problems.length) throw errors.validation(prepared.problems);
        fields.plugins = prepared.plugins;
        pluginNames = prepared.plugins.map((p) => p.name);
      }
      if (tools !== undefined) {
        const known = new Set(knownNames(pluginNames));
        const bad: FieldProblem[] = [];
        for (const key of ['allow', 'deny', 'requireApproval'] as const) {
          tools?.[key].forEach((n, i) => { if (!known.has(n)) bad.push({ path: `tools.${key}.${i}`, message: `"${n}" is not a tool or group; known: ${[...known].join(', ')}` }); });
        }
        if (bad.length) throw errors.validation(bad);
        fields.toolPolicy = tools;
      } else if (plugins !== undefined && current.toolPolicy) {
        // A removed plugin leaves the policy with it, so the policy never names a tool that is gone.
        const known = new Set(knownNames(pluginNames));
        const p = current.toolPolicy;
        fields.toolPolicy = { allow: p.allow.filter((n) => known.has(n)), deny: p.deny.filter((n) => known.has(n)), requireApproval: (p.requireApproval ?? []).filter((n) => known.has(n)) };
      }
      // Check a new bot token with Telegram first: a bad token saves nothing at all.
      const bot = telegramBotToken ? await telegram.validate(telegramBotToken, id) : undefined;
      const failed = current.status === 'failed';
      const siteChanged = siteUrl !== undefined && siteUrl !== current.siteUrl;
      if (siteChanged) {
        // A failed agent's site is checked again on retry; a working agent's new site is checked now, and refused if unreachable.
        fields.siteUrl = siteUrl;
        if (!failed) fields.stack = await provisioning.checkSiteNow(siteUrl);
      }
      if (fields.status === 'active' && current.status === 'paused' && current.pausedReason === 'billing' && actor.user.role === 'customer') {
        throw errors.conflict('billing_paused', `${current.name} is paused because a payment is due; it resumes once the bill is paid.`);
      }
      if (fields.status !== undefined && fields.status !== current.status) fields.pausedReason = fields.status === 'paused' ? pausedBy(actor) : null;
      const expected = bodyVersion ?? ifMatch;
      if (expected !== undefined && expected !== current.version) {
        throw errors.conflict('version_conflict', `This agent was changed by someone else (version ${current.version}, you edited version ${expected}). Reload and apply your change again.`);
      }
      const next = { ...current, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)), persona: { ...current.persona, ...persona } };
      const problems: FieldProblem[] = [];
      await preflight(next, problems, current);
      if (problems.length) throw errors.validation(problems);
      if (fields.slug && fields.slug !== current.slug && (await store.agents.slugExists(fields.slug))) {
        throw errors.conflict('slug_taken', `The slug "${fields.slug}" is already used by another agent.`);
      }
      // Always compare-and-set on the version we read, so two concurrent saves cannot both win.
      // What actually changed (a field sent with its current value is not a change); plugins by name and
      // endpoint (their secrets by name only), a new bot token by name only.
      const pluginView = (ps: Agent['plugins']) => ps.map((p) => ({ ...p, secretsSealed: Object.keys(p.secretsSealed).sort() }));
      const diff = changedFields(
        { ...current, plugins: pluginView(current.plugins) },
        { ...fields, ...(fields.plugins ? { plugins: pluginView(fields.plugins) } : {}), ...(persona ? { persona } : {}) },
        { nested: ['persona', 'handoff', 'site', 'voice', 'knowledge'], ignore: ['pausedReason', 'stack'] },
      );
      if (telegramBotToken !== undefined && (telegramBotToken !== '' || (await telegram.views([id])).get(id))) diff.fields.push('telegramBotToken');
      const changed = Object.keys(fields).length > 0 || persona !== undefined;
      const updated = await store.transaction(async (tx) => {
        const u = changed ? await tx.agents.update(id, { ...fields, ...(persona ? { persona } : {}) }, current.version) : current;
        if (!u) throw errors.conflict('version_conflict', 'This agent was changed by someone else while you were saving. Reload and apply your change again.');
        if (diff.fields.length) await recordAudit(tx, actor, 'agent.updated', { type: 'agent', id }, { ...diff, version: u.version });
        return u;
      });
      if (failed) {
        // Not bound yet: the pipeline keeps the new token (sealed) and re-runs the steps that depend on what changed.
        if (telegramBotToken !== undefined || siteChanged) await provisioning.inputsChanged(id, { token: telegramBotToken, siteUrl: siteChanged });
      } else if (bot && telegramBotToken) await telegram.connect(id, telegramBotToken, bot);
      else if (telegramBotToken === '') await telegram.disconnect(id);
      if (fields.status && fields.status !== current.status) await (fields.status === 'active' ? telegram.activate(id) : telegram.deactivate(id));
      if ((fields.site || siteChanged || fields.status) && deps.siteWatchChanged) await deps.siteWatchChanged(updated);
      return view(updated);
    },

    /** Pause or resume. Only a set-up agent can be; a customer cannot lift a pause for an unpaid bill. */
    async setStatus(actor: Actor, id: string, status: 'active' | 'paused') {
      const current = await getRecord(actor, id);
      authorize(actor, 'agent.write', current);
      const locked = statusLocked(current);
      if (locked) throw locked;
      if (current.status === status) return view(current);
      if (status === 'active' && current.pausedReason === 'billing' && actor.user.role === 'customer') {
        throw errors.conflict('billing_paused', `${current.name} is paused because a payment is due; it resumes once the bill is paid.`);
      }
      const updated = await store.transaction(async (tx) => {
        const u = (await tx.agents.update(id, { status, pausedReason: status === 'paused' ? pausedBy(actor) : null }))!;
        await recordAudit(tx, actor, status === 'paused' ? 'agent.paused' : 'agent.resumed', { type: 'agent', id }, { fields: ['status'], changes: { status: { from: current.status, to: status } } });
        return u;
      });
      await (status === 'active' ? telegram.activate(id) : telegram.deactivate(id));
      return view(updated);
    },

    /**
     * Deprovisions: the Telegram bot is unbound and its token forgotten, the agent stays as "deleted"
     * (its status still answers) and frees its slug; its conversations are kept unless `purge`.
     */
    async remove(actor: Actor, id: string, opts: { purge?: boolean } = {}) {
      const current = await getRecord(actor, id);
      authorize(actor, 'agent.write', current);
      await provisioning.deprovision(actor, current, { purge: !!opts.purge });
    },

    /** The workspace files (SOUL.md, AGENTS.md, TOOLS.md, USER.md) and custom instructions. */
    async getConfig(actor: Actor, id: string) {
      return configOf(await getVisible(actor, id));
    },

    async updateConfig(actor: Actor, id: string, input: ConfigPatchInput) {
      const current = await getVisible(actor, id);
      authorize(actor, 'agent.write', current);
      if (current.status === 'provisioning') throw statusLocked(current)!;
      const { version, ...persona } = input;
      if (version !== undefined && version !== current.version) {
        throw errors.conflict('version_conflict', `This agent was changed by someone else (version ${current.version}, you edited version ${version}). Reload and apply your change again.`);
      }
      const problems: FieldProblem[] = [];
      await preflight({ ...current, persona: { ...current.persona, ...persona } }, problems, current);
      if (problems.length) throw errors.validation(problems);
      // Only the files whose text differs are changes (the editor sends them all).
      const diff = changedFields(current.persona, persona);
      if (!diff.fields.length) return configOf(current);
      const updated = await store.transaction(async (tx) => {
        const u = await tx.agents.update(id, { persona }, current.version);
        if (!u) throw errors.conflict('version_conflict', 'This agent was changed by someone else while you were saving. Reload and apply your change again.');
        await recordAudit(tx, actor, 'agent.config_updated', { type: 'agent', id }, { ...diff, version: u.version });
        return u;
      });
      return configOf(updated);
    },

    async duplicate(actor: Actor, id: string, name?: string) {
      const src = await getVisible(actor, id);
      authorize(actor, 'agent.write', src);
      await assertPlanRoom(actor);
      const copyName = (name ?? `${src.name} (copy)`).slice(0, 80);
      const { id: _i, version: _v, createdAt: _c, updatedAt: _u, ownerId: _o, slug: _s, ...rest } = src;
      // A copy has no bot and went through no pipeline: it starts as a plain, active agent.
      return view(await save(actor, { ...rest, name: copyName, listed: false, sharedNotes: actor.user.role === 'customer' ? false : rest.sharedNotes, status: 'active', pausedReason: null }, [], { via: 'duplicate', from: src.id }));
    },

    async exportTemplate(actor: Actor, id: string) {
      return toTemplate(await getVisible(actor, id));
    },

    /** Imports a template document; validates everything and creates nothing on any problem. */
    async importTemplate(actor: Actor, body: unknown): Promise<AgentView> {
      authorize(actor, 'agent.create');
      await assertPlanRoom(actor);
      const problems: FieldProblem[] = [];
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.validation([{ path: '', message: 'the body must be a template object' }]);
      const { templateVars, slug, ...doc } = body as Record<string, unknown>;
      const parsed = templateSchema.safeParse(doc);
      if (!parsed.success) {
        problems.push(...zodProblems(parsed.error));
      }
      const varsOk = templateVars === undefined || (typeof templateVars === 'object' && templateVars !== null && Object.values(templateVars).every((v) => typeof v === 'string'));
      if (!varsOk) problems.push({ path: 'templateVars', message: 'must be an object of strings' });
      if (slug !== undefined && (typeof slug !== 'string' || !/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(slug))) problems.push({ path: 'slug', message: 'must be 1–64 lowercase letters, digits or dashes' });
      if (!parsed.success) {
        // Still report what can be checked on the raw document, so one answer lists everything wrong.
        const raw = doc as { placeholders?: unknown; name?: unknown; description?: unknown; persona?: unknown; model?: unknown; fallbackModel?: unknown };
        const declared = raw.placeholders && typeof raw.placeholders === 'object' ? Object.keys(raw.placeholders) : [];
        const persona = raw.persona && typeof raw.persona === 'object' ? (raw.persona as Record<string, unknown>) : {};
        const texts: [string, unknown][] = [['name', raw.name], ['description', raw.description], ...PERSONA_KEYS.map((k) => [`persona.${k}`, persona[k]] as [string, unknown])];
        for (const [path, text] of texts) {
          if (typeof text !== 'string') continue;
          for (const name of new Set(placeholdersIn(text))) {
            if (!declared.includes(name)) problems.push({ path, message: `uses the unknown placeholder {${name}}; declare it under "placeholders" or write {{${name}}} for literal braces` });
          }
        }
        for (const key of ['model', 'fallbackModel'] as const) {
          const m = raw[key];
          const why = typeof m === 'string' && !problems.some((p) => p.path === key) ? await providers.checkModel(m) : undefined;
          if (why) problems.push({ path: key, message: why });
        }
        throw errors.validation(problems);
      }
      const d = instantiate(parsed.data, varsOk ? ((templateVars as Record<string, string>) ?? {}) : {}, problems);
      if (typeof slug === 'string') d.slug = slug;
      if (actor.user.role === 'customer') d.listed = false; // a template's `listed` is the operator's to give
      return view(await save(actor, d, problems, { via: 'import' }));
    },

    previewPrompt(input: { name: string; description?: string; persona?: Partial<Persona> }) {
      const systemPrompt = composeSystemPrompt({ name: input.name, description: input.description, persona: { ...emptyPersona(), ...input.persona } });
      return { systemPrompt, tokens: estimateTokens(systemPrompt) };
    },
  };
}
export type AgentService = ReturnType<typeof agentService>;
