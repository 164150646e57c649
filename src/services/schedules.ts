/**
 * Scheduled tasks of an agent (issue 17). A schedule is a cron expression with a time zone (croner) or
 * every N minutes (slots aligned to the epoch, so every process computes the same ones). Each process
 * ticks (SWITCHBOARD_SCHEDULE_TICK_MS) and queues the due slot as a durable job whose singleton key is
 * the slot; the schedule's next_run_at moves on with a conditional update, and a run record is claimed
 * by the unique (schedule, slot) index — so a slot runs once across processes and restarts. Slots missed
 * while the server was down run once at start (the stored next slot, marked late), not once per slot.
 * A run is a conversation of the agent with its owner on channel `schedule` through chat.send: admitted
 * and budgeted like any message (a spent budget skips the run and says why), with tools and memory.
 */
import { z } from 'zod';
import { Cron } from 'croner';
import type { Clock, Store } from '../domain/ports.js';
import type { Actor, Agent } from '../domain/types.js';
import { AppError, errors, type FieldProblem } from '../domain/errors.js';
import { DELIVER_CHANNELS, type DeliverChannel, type Schedule, type SchedulePatch, type ScheduleRun } from '../domain/ports/schedules.js';
import { defineJob, type JobQueue } from '../jobs/index.js';
import type { Logger } from '../infra/logger.js';
import { authorize } from './access.js';
import { recordAudit } from './audit.js';
import type { ChatService } from './chat.js';
import type { OwnerService } from './owner.js';

export const ScheduleInput = z.object({
  name: z.string().trim().min(1).max(100),
  cron: z.string().trim().min(1).max(120).optional(),
  everyMinutes: z.number().int().min(1).max(525_600).optional(),
  timezone: z.string().trim().min(1).max(64).optional(),
  instruction: z.string().trim().min(1).max(8000),
  deliver: z.object({ channel: z.enum(DELIVER_CHANNELS as [DeliverChannel, ...DeliverChannel[]]), to: z.string().trim().min(1).max(500).optional() }),
  enabled: z.boolean().optional(),
});
export type ScheduleInput = z.infer<typeof ScheduleInput>;
export const SchedulePatchInput = ScheduleInput.partial().extend({ cron: z.string().trim().min(1).max(120).nullable().optional(), everyMinutes: z.number().int().min(1).max(525_600).nullable().optional(), timezone: z.string().trim().min(1).max(64).nullable().optional() });
export type SchedulePatchInput = z.infer<typeof SchedulePatchInput>;

/**
 * A built-in kind (e.g. the site watch's `site_report`) builds the instruction for each run; `compose`,
 * when given, turns the model's reply into the text that is kept and delivered (figures computed by code
 * around the agent's words); `after` acts on that text once the run is recorded.
 */
export type ScheduleKind = {
  /** The run's instruction (and how to compose the delivered text from the reply); `instruction` is the schedule's own, as the owner last saved it. */
  prepare(agent: Agent, run: ScheduleRun, instruction: string): Promise<{ instruction: string; compose?: (reply: string) => string }>;
  after?(agent: Agent, run: ScheduleRun, output: string): Promise<void>;
};

export type ScheduleCaps = { maxSchedules: number | null; minScheduleMinutes: number | null };

export const validTimezone = (tz: string) => {
  try { new Intl.DateTimeFormat('en-US', { timeZone: tz }); return true; } catch { return false; }
};

/** The next slot strictly after `after`, or null when the expression has none. */
export function nextSlot(s: { cron: string | null; everyMinutes: number | null }, tz: string, after: Date): Date | null {
  if (s.cron) return new Cron(s.cron, { timezone: tz, paused: true }).nextRun(after) ?? null;
  if (s.everyMinutes) {
    const p = s.everyMinutes * 60_000;
    return new Date((Math.floor(after.getTime() / p) + 1) * p);
  }
  return null;
}

/** The shortest gap between the next few slots, in minutes (a plan's minimum interval applies to it). */
function shortestGapMinutes(s: { cron: string | null; everyMinutes: number | null }, tz: string, from: Date): number {
  if (s.everyMinutes) return s.everyMinutes;
  let min = Infinity;
  let prev = nextSlot(s, tz, from);
  for (let i = 0; i < 6 && prev; i++) {
    const n = nextSlot(s, tz, prev);
    if (!n) break;
    min = Math.min(min, (n.getTime() - prev.getTime()) / 60_000);
    prev = n;
  }
  return min;
}

const RunJob = z.object({ scheduleId: z.string(), slot: z.string().nullable(), late: z.boolean(), runId: z.string().optional() });

export function scheduleService(deps: {
  store: Store; clock: Clock; queue: JobQueue; log: Logger; chat: Pick<ChatService, 'send'>; owner: Pick<OwnerService, 'deliver'>;
  /** The plan caps for an agent's owner (null: no caps, e.g. operators). */
  capsFor: (userId: string) => Promise<ScheduleCaps | null>;
  /** The account's time zone (IANA), used when a schedule names none. */
  timezoneOf: (userId: string) => Promise<string | null>;
  tickMs: number; lateMs: number;
  /** A run still `running` this long after it started was left by a crashed process: swept to failed ("interrupted"). */
  staleMs: number;
}) {
  const { store, clock, queue, log } = deps;
  const kinds = new Map<string, ScheduleKind>();
  let ticker: ReturnType<typeof setInterval> | undefined;
  let ticking = false;
  let lastSweep = -Infinity;

  async function tzFor(s: { timezone: string | null }, agent: Pick<Agent, 'ownerId'>): Promise<string> {
    return s.timezone ?? (await deps.timezoneOf(agent.ownerId)) ?? 'UTC';
  }

  async function agentFor(actor: Actor | undefined, agentId: string, action: 'agent.read' | 'agent.write' | 'agent.message') {
    const agent = await store.agents.byId(agentId);
    if (!agent || agent.status === 'deleted') throw errors.notFound('Agent');
    authorize(actor, action, agent);
    return agent;
  }
  async function scheduleFor(actor: Actor | undefined, agentId: string, scheduleId: string, action: 'agent.read' | 'agent.write' | 'agent.message') {
    const agent = await agentFor(actor, agentId, action);
    const s = await store.schedules.byId(scheduleId);
    if (!s || s.agentId !== agent.id) throw errors.notFound('Schedule');
    return { agent, s };
  }

  /** Checks the whole schedule (after a patch too); answers the next slot. Problems name the field. */
  async function check(agent: Agent, s: { cron: string | null; everyMinutes: number | null; timezone: string | null; deliver: { channel: DeliverChannel; to: string | null }; enabled: boolean },
    opts: { enforceCaps: boolean; countExtra: number }): Promise<string | null> {
    const problems: FieldProblem[] = [];
    if (!!s.cron === !!s.everyMinutes) problems.push({ path: s.cron ? 'everyMinutes' : 'cron', message: 'give either cron or everyMinutes (one of the two)' });
    if (s.timezone && !validTimezone(s.timezone)) problems.push({ path: 'timezone', message: 'must be an IANA time zone name, e.g. Europe/Berlin' });
    const tz = s.timezone && validTimezone(s.timezone) ? s.timezone : await tzFor({ timezone: null }, agent);
    if (s.cron && !problems.length) {
      try { new Cron(s.cron, { timezone: tz, paused: true }); } catch (e) { problems.push({ path: 'cron', message: `not a valid cron expression: ${(e as Error).message}`.slice(0, 200) }); }
      // A sixth field is seconds: "* * * * * *" would ask for a run every second, below everyMinutes' floor of one minute.
      if (!problems.length && shortestGapMinutes(s, tz, clock.now()) < 1) problems.push({ path: 'cron', message: 'a schedule runs at most once a minute; this expression fires more often (its first field is seconds)' });
    }
    const to = s.deliver.to;
    if (s.deliver.channel === 'webhook') {
      if (!to || !/^https?:\/\//i.test(to)) problems.push({ path: 'deliver.to', message: 'a webhook needs an http(s) URL' });
      else try { new URL(to); } catch { problems.push({ path: 'deliver.to', message: 'a webhook needs an http(s) URL' }); }
    }
    if (s.deliver.channel === 'telegram' && to && !/^-?\d{1,20}$/.test(to)) problems.push({ path: 'deliver.to', message: 'must be a Telegram chat id (digits)' });
    if (s.deliver.channel === 'whatsapp' && (!to || !/^\+?[\d ()-]{8,20}$/.test(to))) problems.push({ path: 'deliver.to', message: 'WhatsApp delivery needs the phone number' });
    if (s.deliver.channel === 'email' && to && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(to)) problems.push({ path: 'deliver.to', message: 'must be an e-mail address' });
    if (problems.length) throw errors.validation(problems);
    if (opts.enforceCaps) {
      const caps = await deps.capsFor(agent.ownerId);
      if (caps?.minScheduleMinutes != null) {
        const gap = shortestGapMinutes(s, tz, clock.now());
        if (gap < caps.minScheduleMinutes) {
          throw errors.validation([{ path: s.cron ? 'cron' : 'everyMinutes', message: `your plan allows schedules at most every ${caps.minScheduleMinutes} minutes` }]);
        }
      }
      if (caps?.maxSchedules != null && opts.countExtra > 0) {
        const agents = (await store.agents.list({ ownerId: agent.ownerId })).filter((a) => a.status !== 'deleted');
        // Only the owner's own tasks count: a built-in one (the website PM's weekly report) comes with the product.
        const have = await store.schedules.count(agents.map((a) => a.id), { kind: 'task' });
        if (have + opts.countExtra > caps.maxSchedules) {
          throw new AppError(403, 'plan_limit', `Your plan allows ${caps.maxSchedules} schedule${caps.maxSchedules === 1 ? '' : 's'} and you have ${have}. Delete one or upgrade your plan to add another.`);
        }
      }
    }
    if (!s.enabled) return null;
    return nextSlot(s, tz, clock.now())?.toISOString() ?? null;
  }

  const runJob = defineJob({
    name: 'schedule_run',
    schema: RunJob,
    // At most once per slot: a run that started is never started again (no background spend twice).
    retry: { limit: 0 },
    concurrency: 2,
    async perform(job) {
      const { scheduleId, slot, late, runId } = job.data;
      const s = await store.schedules.byId(scheduleId);
      if (!s) return;
      const run = runId
        ? await store.schedules.run(runId)
        : await store.schedules.claimRun({ scheduleId, agentId: s.agentId, scheduledFor: slot, late, deliveryChannel: s.deliver.channel, startedAt: clock.now().toISOString() });
      if (!run || run.status !== 'running' || run.finishedAt) return; // the slot already ran (another process, or a retry)
      await execute(s, run);
    },
    async onFinalFailure(job, error) {
      if (job.data.runId) await store.schedules.finishRun(job.data.runId, { status: 'failed', finishedAt: clock.now().toISOString(), error: String((error as Error)?.message ?? error).slice(0, 500) });
    },
  });

  async function execute(s: Schedule, run: ScheduleRun): Promise<void> {
    const finish = (r: Parameters<Store['schedules']['finishRun']>[1]) => store.schedules.finishRun(run.id, r);
    const agent = await store.agents.byId(s.agentId);
    if (!agent || agent.status === 'deleted') {
      await finish({ status: 'skipped', finishedAt: clock.now().toISOString(), error: 'agent_deleted', delivery: { status: 'skipped' } });
      return;
    }
    let status: 'ok' | 'failed' | 'skipped' = 'ok';
    let error: string | null = null;
    let output: string | null = null;
    let costUsd = 0;
    let conversationId: string | null = null;
    try {
      const kind = kinds.get(s.kind);
      const prepared = kind ? await kind.prepare(agent, run, s.instruction) : { instruction: s.instruction };
      const instruction = prepared.instruction;
      for await (const ev of deps.chat.send({ agent, person: { kind: 'owner', externalId: `owner:${agent.ownerId}`, displayName: 'Owner' }, channel: 'schedule', text: instruction })) {
        if (ev.type === 'start') conversationId = ev.conversationId;
        else if (ev.type === 'done') {
          costUsd = ev.usage.costUsd;
          if (ev.budgetStopped) { status = 'skipped'; error = `budget: ${ev.reply}`; }
          else if (ev.human) { status = 'skipped'; error = 'taken_over: a person holds the owner conversation'; }
          else output = prepared.compose && ev.reply.trim() ? prepared.compose(ev.reply) : ev.reply;
        } else if (ev.type === 'error') { status = 'failed'; error = `${ev.code}: ${ev.message}`; }
      }
    } catch (err) {
      if (err instanceof AppError && (err.code === 'agent_paused' || err.code === 'budget_exhausted')) { status = 'skipped'; error = `${err.code}: ${err.message}`; }
      else { status = 'failed'; error = err instanceof AppError ? `${err.code}: ${err.message}` : 'internal_error'; if (!(err instanceof AppError)) log.error('schedule run failed', { scheduleId: s.id, runId: run.id, error: err }); }
    }
    const delivery = status === 'ok' && output
      ? await deps.owner.deliver(agent, output, { channel: s.deliver.channel, to: s.deliver.to, subject: `${agent.name}: ${s.name}` })
      : { status: 'skipped' as const, error: status === 'ok' ? 'empty' : status };
    // The kind's own keeping (e.g. the report file) is done before the run shows as finished, so whoever sees it finished sees that too.
    if (status === 'ok' && output) {
      const kind = kinds.get(s.kind);
      await kind?.after?.(agent, { ...run, status, output, costUsd }, output).catch((err: unknown) => log.error('schedule kind after-run failed', { scheduleId: s.id, kind: s.kind, error: err }));
    }
    await finish({ status, finishedAt: clock.now().toISOString(), costUsd, output, error, conversationId, delivery });
  }

  /**
   * Runs left `running` by a process that died (no run takes staleMs) become failed with error
   * "interrupted", so the history does not show them running for ever. At most once a minute.
   */
  async function sweep(): Promise<number> {
    const now = clock.now();
    if (now.getTime() - lastSweep < 60_000) return 0;
    lastSweep = now.getTime();
    const n = await store.schedules.failStale(new Date(now.getTime() - deps.staleMs).toISOString(), now.toISOString(), 'interrupted');
    if (n) log.warn('schedule runs interrupted by a crash marked failed', { count: n });
    return n;
  }

  /** Sweeps interrupted runs, queues every due slot (once across processes) and moves each schedule to its next slot. */
  async function tick(): Promise<number> {
    if (ticking) return 0;
    ticking = true;
    let queued = 0;
    try {
      await sweep().catch((err: unknown) => log.error('schedule sweep failed', { error: err }));
      const now = clock.now();
      for (const s of await store.schedules.due(now.toISOString(), 100)) {
        const slot = s.nextRunAt!;
        const agent = await store.agents.byId(s.agentId);
        if (!agent || agent.status === 'deleted') { await store.schedules.advance(s.id, slot, null); continue; }
        const late = now.getTime() - Date.parse(slot) > deps.lateMs;
        const next = nextSlot(s, await tzFor(s, agent), now)?.toISOString() ?? null;
        await queue.send(runJob, { scheduleId: s.id, slot, late }, { singletonKey: `schedule:${s.id}:${slot}` });
        if (await store.schedules.advance(s.id, slot, next)) queued++;
      }
    } catch (err) {
      log.error('schedule tick failed', { error: err });
    } finally {
      ticking = false;
    }
    return queued;
  }

  const present = (s: Schedule) => ({
    id: s.id, name: s.name, kind: s.kind, cron: s.cron, everyMinutes: s.everyMinutes, timezone: s.timezone, instruction: s.instruction,
    deliver: { channel: s.deliver.channel, ...(s.deliver.to ? { to: s.deliver.to } : {}) }, enabled: s.enabled, nextRunAt: s.nextRunAt, createdAt: s.createdAt, updatedAt: s.updatedAt,
  });
  const presentRun = (r: ScheduleRun) => ({
    id: r.id, scheduledFor: r.scheduledFor, startedAt: r.startedAt, finishedAt: r.finishedAt, status: r.status, late: r.late, costUsd: r.costUsd,
    output: r.output, error: r.error, conversationId: r.conversationId,
    delivery: { channel: r.delivery.channel, status: r.delivery.status ?? 'skipped', ...(r.delivery.error ? { error: r.delivery.error } : {}) },
  });

  return {
    jobs: [runJob],
    tick,
    /** Marks runs interrupted by a crash as failed (the tick does it at most once a minute). */
    sweep: () => { lastSweep = -Infinity; return sweep(); },
    /** Ticks every SWITCHBOARD_SCHEDULE_TICK_MS; the first tick at once (sweeps interrupted runs, catches up missed slots). */
    start() {
      if (ticker) return;
      void tick();
      ticker = setInterval(() => void tick(), deps.tickMs);
      ticker.unref();
    },
    stop() { if (ticker) clearInterval(ticker); ticker = undefined; },
    registerKind(kind: string, def: ScheduleKind) {
      if (kinds.has(kind)) throw new Error(`schedule kind "${kind}" is already registered`);
      kinds.set(kind, def);
    },

    /**
     * Creates a schedule from a service (provisioning, sitewatch): no actor, no plan caps; pass `tx` to
     * create it inside the caller's transaction.
     */
    async create(agentId: string, input: ScheduleInput, opts: { kind?: string; tx?: Store; actor?: Actor } = {}) {
      const db = opts.tx ?? store;
      const parsed = ScheduleInput.safeParse(input);
      if (!parsed.success) throw errors.validation(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
      const v = parsed.data;
      const agent = await db.agents.byId(agentId);
      if (!agent || agent.status === 'deleted') throw errors.notFound('Agent');
      const draft = { cron: v.cron ?? null, everyMinutes: v.everyMinutes ?? null, timezone: v.timezone ?? null, deliver: { channel: v.deliver.channel, to: v.deliver.to ?? null }, enabled: v.enabled ?? true };
      const enforceCaps = !!opts.actor && opts.actor.user.role === 'customer';
      const nextRunAt = await check(agent, draft, { enforceCaps, countExtra: 1 });
      const write = async (tx: Store) => {
        const s = await tx.schedules.create({ agentId, kind: opts.kind ?? 'task', name: v.name, instruction: v.instruction, ...draft, nextRunAt });
        if (opts.actor) await recordAudit(tx, opts.actor, 'schedule.created', { type: 'schedule', id: s.id }, { agentId, name: s.name, cron: s.cron, everyMinutes: s.everyMinutes, deliver: s.deliver.channel });
        return s;
      };
      return present(opts.tx ? await write(opts.tx) : await store.transaction(write));
    },

    async createFor(actor: Actor | undefined, agentId: string, input: ScheduleInput) {
      await agentFor(actor, agentId, 'agent.write');
      return this.create(agentId, input, { actor });
    },

    async list(actor: Actor | undefined, agentId: string) {
      await agentFor(actor, agentId, 'agent.read');
      return (await store.schedules.list(agentId)).map(present);
    },

    async update(actor: Actor | undefined, agentId: string, scheduleId: string, patch: SchedulePatchInput) {
      const { agent, s } = await scheduleFor(actor, agentId, scheduleId, 'agent.write');
      const draft = {
        cron: patch.cron !== undefined ? patch.cron : patch.everyMinutes ? null : s.cron,
        everyMinutes: patch.everyMinutes !== undefined ? patch.everyMinutes : patch.cron ? null : s.everyMinutes,
        timezone: patch.timezone !== undefined ? patch.timezone : s.timezone,
        deliver: patch.deliver ? { channel: patch.deliver.channel, to: patch.deliver.to ?? null } : s.deliver,
        enabled: patch.enabled ?? s.enabled,
      };
      const nextRunAt = await check(agent, draft, { enforceCaps: actor?.user.role === 'customer', countExtra: 0 });
      const p: SchedulePatch = { ...draft, nextRunAt, ...(patch.name !== undefined ? { name: patch.name } : {}), ...(patch.instruction !== undefined ? { instruction: patch.instruction } : {}) };
      const updated = await store.transaction(async (tx) => {
        const u = (await tx.schedules.update(s.id, p))!;
        const fields = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
        await recordAudit(tx, actor!, 'schedule.updated', { type: 'schedule', id: s.id }, { agentId, fields });
        return u;
      });
      return present(updated);
    },

    async remove(actor: Actor | undefined, agentId: string, scheduleId: string) {
      const { s } = await scheduleFor(actor, agentId, scheduleId, 'agent.write');
      await store.transaction(async (tx) => {
        await tx.schedules.remove(s.id);
        await recordAudit(tx, actor!, 'schedule.deleted', { type: 'schedule', id: s.id }, { agentId, name: s.name });
      });
    },

    /** Run now (for testing a task): a run without a slot, queued at once; answers its id. */
    async runNow(actor: Actor | undefined, agentId: string, scheduleId: string) {
      const { s } = await scheduleFor(actor, agentId, scheduleId, 'agent.message');
      const run = await store.transaction(async (tx) => {
        const r = (await tx.schedules.claimRun({ scheduleId: s.id, agentId: s.agentId, scheduledFor: null, late: false, deliveryChannel: s.deliver.channel, startedAt: clock.now().toISOString() }))!;
        await recordAudit(tx, actor!, 'schedule.run_requested', { type: 'schedule', id: s.id }, { agentId, runId: r.id });
        return r;
      });
      await queue.send(runJob, { scheduleId: s.id, slot: null, late: false, runId: run.id });
      return { runId: run.id };
    },

    /** The caller's account time zone (IANA; null: UTC), used by schedules and reports that name none. */
    async setTimezone(actor: Actor | undefined, timezone: string | null) {
      if (!actor) throw errors.unauthorized();
      if (timezone !== null && !validTimezone(timezone)) throw errors.validation([{ path: 'timezone', message: 'must be an IANA time zone name, e.g. Europe/Berlin' }]);
      const before = (await store.users.byId(actor.user.id))?.timezone ?? null;
      await store.transaction(async (tx) => {
        await tx.schedules.setAccountTimezone(actor.user.id, timezone);
        await recordAudit(tx, actor, 'account.timezone_updated', { type: 'user', id: actor.user.id }, { fields: ['timezone'], changes: { timezone: { from: before, to: timezone } } });
      });
      return { timezone };
    },

    async runs(actor: Actor | undefined, agentId: string, scheduleId: string, limit = 50) {
      const { s } = await scheduleFor(actor, agentId, scheduleId, 'agent.read');
      return (await store.schedules.runs(s.id, Math.min(Math.max(limit, 1), 200))).map(presentRun);
    },
  };
}
export type ScheduleService = ReturnType<typeof scheduleService>;
