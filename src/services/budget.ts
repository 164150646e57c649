/**
 * Budgets that are enforced, not charted: before every model call (chat, summary, routing) the
 * agent's month, its customer's month and the person's day are checked and an estimate reserved
 * atomically; after the call the real cost settles. Past the downgrade threshold the fallback model
 * answers; at the stop threshold no model is called and people get the agent's stop message.
 */
import { agentMemo } from './agent-memo.js';
import type { Clock, IdGenerator, SpendKey, Store } from '../domain/ports.js';
import type { Actor, Agent, UsageRecord, User } from '../domain/types.js';
import { AppError, errors } from '../domain/errors.js';
import type { JobQueue } from '../jobs/index.js';
import { ALERT_JOB } from './alerts.js';
import type { Logger } from '../infra/logger.js';
import type { MediaUsage, PriceService } from './prices.js';
import type { ProviderService } from './providers.js';
import { canRead, canSeeAllAgents } from './access.js';

/** A reservation not settled within this long belonged to a call that died; it is released. */
const HOLD_MS = 15 * 60_000;
/** How long a call waits for others' reservations to settle before it is refused. */
const RESERVE_WAIT_MS = 10_000;

export type BudgetState = 'normal' | 'downgraded' | 'stopped';

/** Thrown instead of calling a model: the budget (or a person's cap) is spent. Carries what to tell people. */
export class BudgetStop extends AppError {
  constructor(readonly reply: string, readonly scope: SpendKey['scope'] | 'person_messages') {
    super(429, 'budget_exhausted', reply);
    this.name = 'BudgetStop';
  }
}

export const defaultStopMessage = (agent: Pick<Agent, 'name'>) =>
  `Sorry — ${agent.name} has used up its budget for this month and cannot answer right now. Please try again later.`;
const personCapMessage = (agent: Agent) =>
  `You have reached today's limit for messages with ${agent.name}. Please come back tomorrow.`;

/** A call's reservation: the scopes it counts against, and those of them that held an amount (they have a limit). */
export type Hold = { id: string; keys: SpendKey[]; held?: SpendKey['scope'][] };

/** What a customer's plan allows (null: unlimited); from the billing service. */
export type OwnerLimits = { monthlyMessages: number | null; monthlyCostUsd: number | null; tools: string[] | null; blocked: null | 'trial_expired' | 'canceled' };
const NO_LIMITS: OwnerLimits = { monthlyMessages: null, monthlyCostUsd: null, tools: null, blocked: null };
const unavailableMessage = (agent: Agent) => `Sorry — ${agent.name} is not available right now.`;

/** An attempt's usage row, written in the transaction that settles its reservation. */
export type UsageRow = Omit<UsageRecord, 'id' | 'createdAt'>;

export function budgetService(deps: {
  store: Pick<Store, 'agents' | 'budget' | 'users' | 'usage' | 'transaction'>; prices: PriceService; providers: ProviderService; clock: Clock; ids: IdGenerator; log: Logger; queue: JobQueue;
  /** What a customer's plan allows (billing's planLimits); none: unlimited. */
  limitsFor?: (userId: string) => Promise<OwnerLimits>;
}) {
  const { store, clock, log } = deps;
  const month = () => clock.now().toISOString().slice(0, 7);
  const today = () => clock.now().toISOString().slice(0, 10);
  const agentKey = (a: Agent): SpendKey => ({ scope: 'agent', scopeId: a.id, period: month() });
  const customerKey = (a: Agent): SpendKey => ({ scope: 'customer', scopeId: a.ownerId, period: month() });
  const personKey = (a: Agent, personId: string): SpendKey => ({ scope: 'person', scopeId: `${a.id}:${personId}`, period: today() });

  const percentOf = (spent: number, budget: number | null | undefined) => (budget ? (spent / budget) * 100 : budget === 0 ? Infinity : 0);
  const stateFor = (pct: number, a: { downgradeAtPercent: number; stopAtPercent: number }): BudgetState =>
    pct >= a.stopAtPercent ? 'stopped' : pct >= a.downgradeAtPercent ? 'downgraded' : 'normal';

  type Standing = OwnerLimits & { suspended: boolean; capUsd: number | null };
  /** The owner's standing, read once per request (services/agent-memo.ts). */
  const standings = agentMemo((a) => readOwner(a));
  const owner = (a: Agent): Promise<Standing> => standings.get(a);
  /**
   * The owner's standing from their row just read by the caller, in this request (the /v1 caller is
   * usually the agent's owner, read when their key was checked): not read again.
   */
  function knownOwner(a: Agent, user: User): void {
    if (user.id === a.ownerId) standings.set(a, standingOf(user));
  }
  /** The owner's standing when the owner is a customer: suspension, plan limits, their own cap. */
  async function readOwner(a: Agent): Promise<Standing> {
    return standingOf(await store.users.byId(a.ownerId));
  }
  async function standingOf(user: User | undefined): Promise<Standing> {
    if (user?.role !== 'customer') return { ...NO_LIMITS, suspended: false, capUsd: null };
    const limits = (await deps.limitsFor?.(user.id)) ?? NO_LIMITS;
    const caps = [user.monthlyBudgetUsd ?? null, limits.monthlyCostUsd].filter((c): c is number => c !== null);
    return { ...limits, suspended: user.status === 'suspended', capUsd: caps.length ? Math.min(...caps) : null };
  }
  async function customerBudget(a: Agent): Promise<number | null> {
    return (await owner(a)).capUsd;
  }

  /**
   * Where an agent stands this month. Money promised to calls in flight counts toward the downgrade
   * (the next call takes the cheaper model), but only money *spent* stops the agent here: whether a
   * call fits beside the ones in flight is the reservation's to decide (`reserve`), which waits for
   * them to settle, usually for less than they held. Counting holds as spent here would tell people
   * under a burst that a budget is used up while most of it is not.
   */
  async function plan(agent: Agent, personId?: string): Promise<{ state: BudgetState; stop?: BudgetStop }> {
    const o = await owner(agent);
    // A suspended customer, an ended trial or a canceled plan: the agent stays silent, politely.
    if (o.suspended || o.blocked) return { state: 'stopped', stop: new BudgetStop(unavailableMessage(agent), 'customer') };
    let state = 'normal' as BudgetState;
    const worst = (s: BudgetState) => { if (s === 'stopped' || (s === 'downgraded' && state === 'normal')) state = s; };
    const standing = (t: { spentUsd: number; reservedUsd: number }, budget: number, at: { downgradeAtPercent: number; stopAtPercent: number }): BudgetState => {
      const promised = stateFor(percentOf(t.spentUsd + t.reservedUsd, budget), at);
      return promised === 'stopped' && stateFor(percentOf(t.spentUsd, budget), at) !== 'stopped' ? 'downgraded' : promised;
    };
    if (agent.monthlyBudgetUsd !== null) worst(standing(await store.budget.get(agentKey(agent)), agent.monthlyBudgetUsd, agent));
    const cap = o.capUsd;
    if (cap !== null) worst(standing(await store.budget.get(customerKey(agent)), cap, { downgradeAtPercent: agent.downgradeAtPercent, stopAtPercent: 100 }));
    if (state === 'stopped') return { state, stop: new BudgetStop(agent.budgetStopMessage || defaultStopMessage(agent), 'agent') };
    if (personId && agent.personDailyCostUsd !== null) {
      const t = await store.budget.get(personKey(agent, personId));
      if (t.spentUsd >= agent.personDailyCostUsd) return { state, stop: new BudgetStop(personCapMessage(agent), 'person') };
    }
    return { state };
  }

  /** `known`: scopes' spent totals just returned by settle (not read again). */
  async function raiseAlerts(agent: Agent, known: { key: SpendKey; spentUsd: number }[] = []) {
    const checks: { key: SpendKey; budget: number | null; downgradeAt: number; stopAt: number; label: string; ownerId: string }[] = [
      { key: agentKey(agent), budget: agent.monthlyBudgetUsd, downgradeAt: agent.downgradeAtPercent, stopAt: agent.stopAtPercent, label: agent.name, ownerId: agent.ownerId },
    ];
    const cap = await customerBudget(agent);
    if (cap !== null) checks.push({ key: customerKey(agent), budget: cap, downgradeAt: 80, stopAt: 100, label: 'your agents together', ownerId: agent.ownerId });
    for (const c of checks) {
      if (c.budget === null) continue;
      const spent = known.find((k) => k.key.scope === c.key.scope && k.key.scopeId === c.key.scopeId && k.key.period === c.key.period)?.spentUsd;
      const t = spent !== undefined ? { spentUsd: spent } : await store.budget.get(c.key);
      const pct = percentOf(t.spentUsd, c.budget);
      for (const [kind, at] of [['downgrade', c.downgradeAt], ['stop', c.stopAt]] as const) {
        if (pct < at) continue;
        const message = kind === 'stop'
          ? `${c.label} reached ${Math.round(pct)}% of its ${usd(c.budget)} monthly budget (${usd(t.spentUsd)} spent): it has stopped answering until next month or a higher budget.`
          : `${c.label} reached ${Math.round(pct)}% of its ${usd(c.budget)} monthly budget (${usd(t.spentUsd)} spent): ${c.key.scope === 'agent' && agent.fallbackModel ? `replies now come from the cheaper ${agent.fallbackModel}.` : 'it will stop at the limit.'}`;
        const id = await store.budget.addAlert({ scope: c.key.scope, scopeId: c.key.scopeId, period: c.key.period, kind, ownerId: c.ownerId, percent: Math.round(pct * 10) / 10, spentUsd: t.spentUsd, budgetUsd: c.budget, message });
        if (id) {
          log.warn('budget threshold crossed', { scope: c.key.scope, scopeId: c.key.scopeId, kind, percent: pct });
          await deps.queue.send(ALERT_JOB, { alertId: id }, { singletonKey: id });
        }
      }
    }
  }

  return {
    plan,
    knownOwner,
    BudgetStop,

    /**
     * Counts a message against the owner's plan (messages per month) and the person's daily message
     * cap; throws BudgetStop past either. Called only by the admission step (services/admission.ts).
     */
    async admit(agent: Agent, personId: string | null): Promise<void> {
      const o = await owner(agent);
      if (o.monthlyMessages !== null && !(await store.budget.countMessage(customerKey(agent), o.monthlyMessages))) {
        throw new BudgetStop(agent.budgetStopMessage || defaultStopMessage(agent), 'customer');
      }
      if (agent.personDailyMessages === null || personId === null) return;
      if (!(await store.budget.countMessage(personKey(agent, personId), agent.personDailyMessages))) throw new BudgetStop(personCapMessage(agent), 'person_messages');
    },

    /** Tools the agent's owner may give it (null: any). */
    async toolsAllowed(agent: Agent): Promise<string[] | null> {
      return (await owner(agent)).tools;
    },

    /** Reserves the most a call may cost (its input estimate and its longest reply) or throws BudgetStop. */
    async reserve(a: { agent: Agent | null; personId?: string; model: string; inputTokens: number; maxOutputTokens: number; /** Speech: the audio heard or characters spoken. */ media?: MediaUsage }): Promise<Hold | undefined> {
      if (!a.agent) return undefined;
      const agent = a.agent;
      const { costUsd } = await deps.prices.cost(a.model, { inputTokens: a.inputTokens, outputTokens: a.maxOutputTokens }, a.media);
      const items: { key: SpendKey; amountUsd: number; limitUsd: number | null }[] = [
        { key: agentKey(agent), amountUsd: costUsd, limitUsd: agent.monthlyBudgetUsd === null ? null : (agent.monthlyBudgetUsd * agent.stopAtPercent) / 100 },
        { key: customerKey(agent), amountUsd: costUsd, limitUsd: await customerBudget(agent) },
      ];
      if (a.personId) items.push({ key: personKey(agent, a.personId), amountUsd: costUsd, limitUsd: agent.personDailyCostUsd });
      const id = deps.ids.id();
      const attempt = () => store.budget.reserve(id, items, new Date(clock.now().getTime() + HOLD_MS).toISOString());
      let r = await attempt();
      // Refused only because calls in flight hold reservations? Those usually settle for less than they
      // held, so wait for them (briefly) instead of telling someone the budget is spent when it is not.
      // The refusal stands once what is *spent* reaches the limit (spent only grows within a period).
      // Asking whether anything is still held instead would race: the holders may settle between the
      // refused attempt and that question, leaving nothing held and the budget not spent.
      const deadline = Date.now() + RESERVE_WAIT_MS;
      while (!r.ok && Date.now() < deadline) {
        const refused = r.refused;
        const limit = items.find((i) => i.key.scope === refused.scope)?.limitUsd;
        const now = await store.budget.get(refused);
        if (limit == null || now.spentUsd >= limit) break;
        // Still held: wait for the holders. Nothing held: try again almost at once (they just settled).
        await new Promise((res) => setTimeout(res, now.reservedUsd > 0 ? 50 + Math.random() * 100 : 5));
        r = await attempt();
      }
      if (!r.ok) {
        await raiseAlerts(agent).catch((err) => log.error('budget alert failed', { error: err }));
        throw r.refused.scope === 'person' ? new BudgetStop(personCapMessage(agent), 'person') : new BudgetStop(agent.budgetStopMessage || defaultStopMessage(agent), r.refused.scope);
      }
      return { id, keys: items.map((i) => i.key), held: items.filter((i) => i.limitUsd !== null).map((i) => i.key.scope) };
    },

    /**
     * Settles a reservation with what the call really cost and writes the attempt's usage row, in one
     * transaction (the spend first: a scope's first row starts from the usage table without this
     * attempt), then raises any threshold it crossed.
     */
    async settle(hold: Hold | undefined, agent: Agent | null, actualUsd: number, usage?: UsageRow): Promise<void> {
      const items = hold && agent ? hold.keys.map((key) => ({ key, actualUsd, held: hold.held ? hold.held.includes(key.scope) : true })) : [];
      let totals: { key: SpendKey; spentUsd: number }[] = [];
      if (usage) {
        try {
          totals = await store.transaction(async (tx) => {
            const t = items.length ? await tx.budget.settle(hold!.id, items) : [];
            await tx.usage.insert(usage);
            return t;
          });
        } catch (err) {
          // The usage row could not be written: still release the reservation, then report the failure.
          if (items.length) await store.budget.settle(hold!.id, items).catch((e: unknown) => log.error('budget settle failed', { error: e }));
          throw err;
        }
      } else if (items.length) totals = await store.budget.settle(hold!.id, items);
      if (!items.length) return;
      await raiseAlerts(agent!, totals).catch((err) => log.error('budget alert failed', { error: err })); // skips scopes without a budget
    },

    expireHolds: () => store.budget.expireHolds(clock.now().toISOString()),

    /** GET /api/agents/:id/budget */
    async status(actor: Actor, agentId: string) {
      const agent = await store.agents.byId(agentId);
      if (!agent || !canRead(actor, agent)) throw errors.notFound('Agent');
      const t = await store.budget.get(agentKey(agent));
      const pct = percentOf(t.spentUsd, agent.monthlyBudgetUsd);
      const now = clock.now();
      const daysInMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();
      let cumulative = 0;
      const byDay = new Map((await store.budget.dailySpend(agent.id, month())).map((d) => [d.day, d.costUsd]));
      const series = Array.from({ length: daysInMonth }, (_, i) => {
        const day = `${month()}-${String(i + 1).padStart(2, '0')}`;
        if (day > today()) return { date: day, spentUsd: null as number | null };
        cumulative += byDay.get(day) ?? 0;
        return { date: day, spentUsd: Math.round(cumulative * 1e6) / 1e6 };
      });
      const dayOfMonth = now.getUTCDate();
      const projectedUsd = dayOfMonth ? (t.spentUsd / dayOfMonth) * daysInMonth : t.spentUsd;
      const customerCap = await customerBudget(agent);
      const customer = customerCap === null ? null : { monthlyBudgetUsd: customerCap, spentUsd: (await store.budget.get(customerKey(agent))).spentUsd };
      return {
        agentId: agent.id, period: month(), monthlyBudgetUsd: agent.monthlyBudgetUsd, spentUsd: Math.round(t.spentUsd * 1e8) / 1e8,
        reservedUsd: Math.round(t.reservedUsd * 1e8) / 1e8, percent: agent.monthlyBudgetUsd === null ? null : Math.round(pct * 10) / 10,
        state: agent.monthlyBudgetUsd === null ? 'normal' as BudgetState : stateFor(pct, agent),
        downgradeAtPercent: agent.downgradeAtPercent, stopAtPercent: agent.stopAtPercent, fallbackModel: agent.fallbackModel,
        projectedUsd: Math.round(projectedUsd * 1e6) / 1e6, series, customer,
      };
    },

    /** What each visible agent would have cost over the last 30 days on each cheaper configured model. */
    async recommendations(actor: Actor) {
      const agents = await store.agents.list(canSeeAllAgents(actor) ? {} : { ownerId: actor.user.id });
      const { models } = await deps.providers.models();
      const candidates = models.filter((m) => m.available && m.priced);
      const from = new Date(clock.now().getTime() - 30 * 86_400_000).toISOString().slice(0, 10);
      const defaultModel = await deps.providers.defaultModel();
      const items = [];
      for (const agent of agents) {
        const usage = await store.budget.usageByModel(agent.id, from);
        const actual = usage.reduce((n, u) => n + u.costUsd, 0);
        if (!usage.length || actual <= 0) continue;
        const current = agent.model ?? defaultModel;
        const suggestions = [];
        for (const m of candidates) {
          if (m.id === current) continue;
          let usd = 0;
          for (const u of usage) usd += (u.inputTokens * m.inputPerM + u.outputTokens * m.outputPerM) / 1e6;
          const savings = actual - usd;
          if (savings <= 0 || savings / actual < 0.1) continue;
          suggestions.push({ model: m.id, estimatedUsd: round(usd), savingsUsd: round(savings), savingsPercent: Math.round((savings / actual) * 100) });
        }
        suggestions.sort((x, y) => y.savingsUsd - x.savingsUsd);
        const best = suggestions[0];
        items.push({
          agentId: agent.id, agentName: agent.name, currentModel: current, last30DaysUsd: round(actual), requests: usage.reduce((n, u) => n + u.requests, 0),
          suggestions: suggestions.slice(0, 5),
          message: best ? `Switch ${agent.name} to ${best.model}: about ${best.savingsPercent}% less, ${usd(best.estimatedUsd)}/month` : null,
        });
      }
      return { windowDays: 30, items };
    },
  };
}
const round = (n: number) => Math.round(n * 1e6) / 1e6;
/** Dollars for people: cents, or two significant digits below a cent (never a misleading $0.00). */
export function usd(n: number): string {
  if (n === 0) return '$0.00';
  if (Math.abs(n) >= 0.01) return `$${n.toFixed(2)}`;
  return `$${Number(n.toPrecision(2)).toString()}`;
}

export type BudgetService = ReturnType<typeof budgetService>;
