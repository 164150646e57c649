/**
 * The provisioning pipeline of a customer agent: validate the bot token, check the website, write the
 * workspace, bind the Telegram bot, and send a test message through the agent. It runs as a durable job;
 * every step is idempotent and persisted as it changes, so a crashed run resumes at the step it was in
 * and the status page is live. A failure leaves nothing half-made (a bound bot is unbound again) and can
 * be retried from the failed step once the customer has fixed the token or the site. Deprovisioning,
 * the inverse, lives here too.
 */
import type { Clock, SecretBox, Store } from '../domain/ports.js';
import {
  PROVISIONING_STEPS, type Actor, type Agent, type Provisioning, type ProvisioningStep, type ProvisioningStepName, type SiteStack,
} from '../domain/types.js';
import { AppError, errors } from '../domain/errors.js';
import type { AgentTemplate } from '../domain/schemas.js';
import { z } from 'zod';
import { defineJob, type Job, type JobQueue } from '../jobs/index.js';
import type { Logger } from '../infra/logger.js';
import type { AgentBots } from '../domain/channels.js';
import type { ChatService } from './chat.js';
import { authorize } from './access.js';
import { fillPlaceholders } from './prompt.js';
import { checkSite, describeStack, type SiteCheckResult } from './site-check.js';
import { FetchRefused, type SafeFetcher } from '../domain/fetcher.js';
import { asSecret } from '../infra/redact.js';
import { recordAudit } from './audit.js';

export const PROVISION_JOB = 'provision-agent';
/** The template every website agent's workspace is generated from. */
export const WEBSITE_TEMPLATE = 'website-product-manager';
const HEALTH_PERSON = { kind: 'system', externalId: 'healthcheck' } as const;
const HEALTH_TEXT = 'This is an automatic check that you are set up. Reply with one short sentence introducing yourself.';

const RUNNING: Record<ProvisioningStepName, string> = {
  validate_token: 'Asking Telegram about the bot token…',
  check_site: 'Fetching the website…',
  generate_workspace: 'Writing the persona files…',
  index_site: 'Adding the website to the agent\'s knowledge…',
  bind_telegram: 'Connecting the Telegram bot…',
  health_check: 'Sending a test message to the agent…',
};

/** A step failed for a reason the customer can act on; its message is shown as is. */
class StepFailed extends Error {
  constructor(message: string, readonly dropToken = false) { super(message); }
}

type StepOutcome = { state: 'done' | 'skipped'; detail: string; patch?: Partial<Provisioning> };

export type ProvisioningStatus = {
  agentId: string;
  status: Agent['status'];
  steps: { name: ProvisioningStepName; state: ProvisioningStep['state']; detail: string; updatedAt: string | null }[];
  error?: string;
  failedStep?: ProvisioningStepName;
  telegram?: { username: string; link: string };
  siteUrl: string | null;
  stack: SiteStack | null;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
};

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1).trimEnd()}…` : s);
const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

export function provisioningService(deps: {
  store: Pick<Store, 'agents' | 'audit' | 'channels' | 'conversations' | 'people' | 'provisioning' | 'users' | 'workspace' | 'transaction'>; queue: JobQueue; box: SecretBox; clock: Clock; log: Logger; telegram: AgentBots;
  chat: ChatService; templates: Map<string, AgentTemplate>;
  /** Fetches the site (tests and other installs may pass their own); defaults to the SSRF-guarded check. */
  siteCheck?: (url: string) => Promise<SiteCheckResult>;
  /** The SSRF-safe fetcher the site check goes through. */
  fetcher: SafeFetcher; siteTimeoutMs: number;
  /** Deletes media files no record refers to any more (services/media.ts), after a purge commits. */
  dropMediaFiles?: (storageKeys: string[]) => Promise<unknown>;
  /** Adds the weekly site report task to a website agent unless it has one (services/site-report.ts); answers what it did. */
  addSiteReport?: (agent: Agent) => Promise<string>;
  /** Adds the site as a knowledge source of the agent unless it has it (services/knowledge.ts addSiteSource); its sync is a durable job of its own. */
  addSiteSource?: (agentId: string, url: string) => Promise<{ id: string; status: string; existed?: true }>;
  /** Starts the site watch's uptime checks of an agent that just turned active. */
  watchSite?: (agentId: string) => Promise<void>;
}) {
  const { store, queue, box, clock, log, telegram, chat, templates } = deps;
  const iso = () => clock.now().toISOString();
  const siteCheck = deps.siteCheck ?? ((url: string) => checkSite(deps.fetcher, url, { timeoutMs: deps.siteTimeoutMs }));

  const initialSteps = (): ProvisioningStep[] => PROVISIONING_STEPS.map((name) => ({ name, state: 'pending', detail: 'Not started yet.', updatedAt: null }));

  /** Steps from `from` on go back to pending (a retry, or an input they depend on changed). */
  function resetFrom(steps: ProvisioningStep[], from: ProvisioningStepName, detail: string): ProvisioningStep[] {
    const i = PROVISIONING_STEPS.indexOf(from);
    return steps.map((s) => (PROVISIONING_STEPS.indexOf(s.name) >= i && s.state !== 'pending' ? { ...s, state: 'pending', detail, updatedAt: iso() } : s));
  }

  /**
   * One pipeline run (`attempt` is the run the customer started, not the job's try). Retried only after an
   * unexpected error (a bug, the database away); expected failures end the run at once. When the last retry
   * has crashed too, the run fails at the step it was in.
   */
  const provisionJob = defineJob({
    name: PROVISION_JOB, schema: z.object({ agentId: z.string().min(1), attempt: z.number().int().min(1) }), retry: { limit: 3 },
    perform: (job) => run(job),
    onFinalFailure: (job, error) => crashed(job.data.agentId, job.data.attempt, error),
  });

  async function enqueue(agentId: string, attempt: number) {
    // Keyed by agent and attempt: a retry sent while the previous attempt's job is still being marked finished must not be dropped.
    await queue.send(provisionJob, { agentId, attempt }, { singletonKey: `${agentId}:${attempt}` });
  }

  async function visible(actor: Actor, id: string, action: 'agent.read' | 'agent.write' = 'agent.read'): Promise<Agent> {
    const a = await store.agents.byId(id);
    if (!a) throw errors.notFound('Agent');
    authorize(actor, action, a);
    return a;
  }

  async function save(rec: Provisioning, name: ProvisioningStepName, state: ProvisioningStep['state'], detail: string, patch: Partial<Provisioning> = {}): Promise<Provisioning> {
    const steps = rec.steps.map((s) => (s.name === name ? { ...s, state, detail, updatedAt: iso() } : s));
    const next = { ...rec, ...patch, steps };
    await store.provisioning.update(rec.agentId, { ...patch, steps });
    return next;
  }

  const tokenOf = (rec: Provisioning) => (rec.tokenSealed ? asSecret(box.open(rec.tokenSealed)) : undefined);

  /** Telegram's answer about a token, as a step failure the customer can act on. */
  async function askTelegram(token: string, agentId: string) {
    try {
      return await telegram.validate(token, agentId);
    } catch (err) {
      if (err instanceof AppError && err.code === 'validation_failed') throw new StepFailed(err.extra.fields?.[0]?.message ?? err.message, true);
      if (err instanceof AppError) throw new StepFailed(err.message);
      throw err;
    }
  }

  // ---------- the steps: each idempotent, each re-reads what it needs ----------

  const STEPS: Record<ProvisioningStepName, (agent: Agent, rec: Provisioning) => Promise<StepOutcome>> = {
    async validate_token(agent, rec) {
      const token = tokenOf(rec);
      if (!token) return { state: 'skipped', detail: 'No Telegram bot token was given, so the agent answers on the web and through the API only.' };
      const me = await askTelegram(token, agent.id);
      return { state: 'done', detail: `Telegram knows this bot: @${me.username} (${me.firstName}).` };
    },

    async check_site(agent) {
      if (!agent.siteUrl) return { state: 'skipped', detail: 'No website was given.' };
      let r: SiteCheckResult;
      try {
        r = await siteCheck(agent.siteUrl);
      } catch (err) {
        if (err instanceof FetchRefused) throw new StepFailed(`Could not check ${agent.siteUrl}: ${err.message}`);
        throw err;
      }
      await store.agents.update(agent.id, { stack: r.stack });
      const via = r.redirects ? `, after ${plural(r.redirects, 'redirect')}` : '';
      const title = r.stack.title ? ` Its title is “${cut(r.stack.title, 80)}”.` : '';
      return { state: 'done', detail: `Reached ${r.url} (HTTP ${r.status}${via}). Stack: ${describeStack(r.stack)}.${title}${r.note ? ` ${r.note}` : ''}` };
    },

    async generate_workspace(agent) {
      if (!agent.siteUrl) return { state: 'skipped', detail: 'No website to describe, so the persona stays as it was written.' };
      const t = templates.get(WEBSITE_TEMPLATE);
      if (!t) throw new Error(`the ${WEBSITE_TEMPLATE} template is missing from templates/`);
      const owner = await store.users.byId(agent.ownerId);
      const values: Record<string, string> = {};
      for (const [name, p] of Object.entries(t.placeholders)) if (p.default !== undefined) values[name] = p.default;
      Object.assign(values, {
        agent_name: agent.name, site_url: agent.siteUrl, customer_name: owner?.name?.trim() || owner?.email || 'the site owner',
        tech_stack: describeStack(agent.stack),
      });
      const persona = { soul: fillPlaceholders(t.persona.soul, values), agents: fillPlaceholders(t.persona.agents, values), tools: fillPlaceholders(t.persona.tools, values), user: fillPlaceholders(t.persona.user, values) };
      await store.agents.update(agent.id, { persona });
      // A website PM reports weekly by default (idempotent: a re-run finds the task it added).
      const report = deps.addSiteReport ? ` ${await deps.addSiteReport(agent)}` : '';
      return { state: 'done', detail: `Wrote SOUL.md, AGENTS.md, TOOLS.md and USER.md for ${agent.siteUrl}, owned by ${values.customer_name} (stack: ${values.tech_stack}).${report}` };
    },

    async index_site(agent) {
      if (!agent.siteUrl || !deps.addSiteSource) return { state: 'skipped', detail: 'No website to read into the agent\'s knowledge.' };
      try {
        const source = await deps.addSiteSource(agent.id, agent.siteUrl);
        return { state: 'done', detail: source.existed
          ? `${agent.siteUrl} is already in the agent's knowledge.`
          : `${agent.siteUrl} is being read into the agent's knowledge (page by page, in the background); it re-syncs daily.` };
      } catch (err) {
        // Knowledge is a help, not a condition: a refusal (a plan cap, an address the guard refuses) never fails the agent.
        if (!(err instanceof AppError)) throw err; // our own failure: the job retries the step
        return { state: 'skipped', detail: `The website was not added to the agent's knowledge: ${cut(err.message, 200)} You can add it on the Knowledge tab.` };
      }
    },

    async bind_telegram(agent, rec) {
      const token = tokenOf(rec);
      if (!token) {
        const bound = (await telegram.views([agent.id])).get(agent.id);
        if (!bound) return { state: 'skipped', detail: 'No Telegram bot to connect.' };
        await telegram.activate(agent.id); // bound by an earlier run that stopped before recording it
        return { state: 'done', detail: `@${bound.username} is connected. Link: ${bound.link}` };
      }
      const me = await askTelegram(token, agent.id);
      try {
        await telegram.connect(agent.id, token, me);
      } catch (err) {
        if (err instanceof AppError) throw new StepFailed(err.message);
        throw err;
      }
      const mode = (await telegram.views([agent.id])).get(agent.id)?.mode;
      const how = mode === 'webhook' ? 'Telegram delivers its messages to our webhook' : 'Switchboard polls Telegram for its messages';
      // The token now lives (sealed) with the channel; the pipeline forgets its copy in the same write that records the step.
      return { state: 'done', detail: `Connected @${me.username}: ${how}. Link: https://t.me/${me.username}`, patch: { tokenSealed: null } };
    },

    async health_check(agent) {
      let reply: string | undefined;
      let failure: string | undefined;
      let conversationId = '';
      try {
        for await (const ev of chat.send({ agent: { ...agent, status: 'active' }, person: HEALTH_PERSON, channel: 'api', text: HEALTH_TEXT })) {
          if (ev.type === 'start') conversationId = ev.conversationId;
          else if (ev.type === 'done' && ev.budgetStopped) failure = `The agent's budget is spent, so it answered with its stop message: “${cut(ev.reply, 160)}”`;
          else if (ev.type === 'done') reply = ev.reply;
          else if (ev.type === 'error') {
            // The stored reply keeps the provider's reason; the event carries the polite text visitors see.
            const stored = ev.messageId ? (await store.conversations.messages(conversationId, 5)).find((m) => m.id === ev.messageId) : undefined;
            failure = `The test message got no answer (${ev.code}): ${cut(stored?.error ?? ev.message, 300)}`;
          }
        }
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        failure = `The test message got no answer (${err.code}): ${err.message}`;
      } finally {
        // The probe is not a conversation anyone should see or be billed a summary for.
        const person = await store.people.upsert(HEALTH_PERSON.kind, HEALTH_PERSON.externalId);
        await store.people.erase(person.id, [agent.id]).catch((err) => log.warn('could not erase the health check conversation', { agentId: agent.id, error: (err as Error).message }));
      }
      if (failure) throw new StepFailed(failure);
      if (!reply?.trim()) throw new StepFailed('The model answered the test message with nothing at all.');
      return { state: 'done', detail: `The agent answered: “${cut(reply.trim().replace(/\s+/g, ' '), 160)}”` };
    },
  };

  // ---------- outcomes ----------

  /** Ends a run as failed: unbinds a bot bound in this run (keeping its token for the retry), and tells the customer why. */
  async function fail(rec: Provisioning, step: ProvisioningStepName, reason: string, dropToken: boolean): Promise<void> {
    let steps = rec.steps.map((s) => (s.name === step ? { ...s, state: 'failed' as const, detail: reason, updatedAt: iso() } : s));
    let tokenSealed = dropToken ? null : rec.tokenSealed;
    const row = await store.channels.get(rec.agentId, 'telegram');
    if (row) {
      tokenSealed ??= row.secretSealed; // sealed with the same key: the retry binds it again
      await telegram.disconnect(rec.agentId); // webhook removed or polling stopped, channel row deleted
      steps = steps.map((s) => (s.name === 'bind_telegram' && s.state === 'done' ? { ...s, state: 'pending' as const, detail: 'Disconnected again because a later step failed; it connects again on retry.', updatedAt: iso() } : s));
    }
    await store.transaction(async (tx) => {
      await tx.provisioning.update(rec.agentId, { status: 'failed', steps, error: reason, tokenSealed, finishedAt: iso() });
      const agent = await tx.agents.byId(rec.agentId);
      if (agent?.status === 'provisioning') await tx.agents.update(rec.agentId, { status: 'failed' });
      await tx.audit.add({ actorId: null, actorRole: 'system', action: 'provisioning.failed', targetType: 'agent', targetId: rec.agentId, detail: { step, reason, attempt: rec.attempts } });
    });
    log.info('provisioning failed', { agentId: rec.agentId, step, attempt: rec.attempts });
  }

  async function succeed(rec: Provisioning): Promise<void> {
    // The agent turns active, the record succeeds and the audit entry is written together: whoever sees the
    // agent active sees the rest too.
    const gone = await store.transaction(async (tx) => {
      for (let i = 0; i < 3; i++) {
        const agent = await tx.agents.byId(rec.agentId);
        if (!agent || agent.status !== 'provisioning') return true;
        if (await tx.agents.update(rec.agentId, { status: 'active', pausedReason: null }, agent.version)) break;
      }
      await tx.provisioning.update(rec.agentId, { status: 'succeeded', error: null, tokenSealed: null, finishedAt: iso() });
      await tx.audit.add({ actorId: null, actorRole: 'system', action: 'provisioning.succeeded', targetType: 'agent', targetId: rec.agentId, detail: { attempt: rec.attempts } });
      return false;
    });
    if (gone) return abandon(rec);
    log.info('provisioning succeeded', { agentId: rec.agentId, attempt: rec.attempts });
    await deps.watchSite?.(rec.agentId).catch((err: unknown) => log.error('site watch not started after provisioning', { agentId: rec.agentId, error: err }));
  }

  /** The agent was deleted while the pipeline ran: undo the binding (deletion did the rest). */
  async function abandon(rec: Provisioning): Promise<void> {
    await telegram.disconnect(rec.agentId);
    await store.provisioning.update(rec.agentId, { tokenSealed: null });
  }

  /** The job: runs the steps not yet done, in order. Safe to run again after a crash (at-least-once delivery). */
  async function run(job: Job<{ agentId: string; attempt: number }>): Promise<void> {
    const { agentId, attempt } = job.data;
    let rec = await store.provisioning.get(agentId);
    if (!rec || rec.status !== 'running' || rec.attempts !== attempt) return; // finished, or superseded by a retry
    // A run recorded before a step was added to the pipeline gains it, pending, in its place.
    const have = rec.steps;
    if (PROVISIONING_STEPS.some((n) => !have.some((s) => s.name === n))) {
      rec = { ...rec, steps: PROVISIONING_STEPS.map((n) => have.find((s) => s.name === n) ?? { name: n, state: 'pending' as const, detail: 'Not started yet.', updatedAt: null }) };
    }
    let current: ProvisioningStepName = PROVISIONING_STEPS[0];
    try {
      for (const name of PROVISIONING_STEPS) {
        current = name;
        const step = rec.steps.find((s) => s.name === name)!;
        if (step.state === 'done' || step.state === 'skipped') continue;
        const agent = await store.agents.byId(agentId);
        if (!agent || agent.status !== 'provisioning') return abandon(rec);
        rec = await save(rec, name, 'running', RUNNING[name]);
        let out: StepOutcome;
        try {
          out = await STEPS[name](agent, rec);
        } catch (err) {
          if (err instanceof StepFailed) return fail(rec, name, err.message, err.dropToken);
          throw err;
        }
        rec = await save(rec, name, out.state, out.detail, out.patch);
      }
      await succeed(rec);
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      log.error('provisioning step crashed', { agentId, step: current, attempt: job.attempt, error: err });
      const latest = (await store.provisioning.get(agentId)) ?? rec;
      await save(latest, current, 'running', 'Interrupted by an error on our side; trying again shortly.');
      throw err;
    }
  }

  /** The job's last try crashed too: the run fails at the step it was in (the one left running). */
  async function crashed(agentId: string, attempt: number, error: unknown): Promise<void> {
    const rec = await store.provisioning.get(agentId);
    if (!rec || rec.status !== 'running' || rec.attempts !== attempt) return; // finished, or superseded by a retry
    const step = rec.steps.find((s) => s.state === 'running') ?? rec.steps.find((s) => s.state === 'pending');
    const message = (error as Error)?.message ?? String(error);
    await fail(rec, step?.name ?? PROVISIONING_STEPS[0], `Something went wrong on our side (${cut(message, 200)}). Retry in a while; if it keeps failing, contact the operator.`, false);
  }

  return {
    run,
    jobs: [provisionJob],

    /** Records a new pipeline for a just-created agent (status provisioning) and queues its job (the agent's creation entry in the audit log says it is provisioned). */
    /**
     * The pipeline's record of a new agent, written in the transaction that creates the agent (so there is
     * never an agent "provisioning" without its steps); `launch` then queues the first attempt.
     */
    async record(tx: Pick<Store, 'provisioning'>, agent: Agent, token: string | undefined): Promise<void> {
      await tx.provisioning.put({
        agentId: agent.id, status: 'running', steps: initialSteps(), error: null, attempts: 1,
        tokenSealed: token ? box.seal(token) : null, startedAt: iso(), finishedAt: null,
      });
    },
    async launch(agentId: string): Promise<void> {
      await enqueue(agentId, 1);
    },

    /** Re-runs a failed pipeline from its first unfinished step. */
    async retry(actor: Actor, id: string): Promise<ProvisioningStatus> {
      const agent = await visible(actor, id, 'agent.write');
      if (agent.status === 'deleted') throw errors.conflict('agent_deleted', `${agent.name} was deleted; create a new agent instead.`);
      const rec = await store.provisioning.get(id);
      if (agent.status !== 'failed' || !rec) throw errors.conflict('not_failed', `Only an agent whose setup failed can be retried; ${agent.name} is ${agent.status}.`);
      if (rec.steps.some((s) => s.name === 'validate_token' && s.state === 'failed') && !rec.tokenSealed) {
        throw errors.badRequest('token_required', `Telegram rejected the last bot token. Send a new one first with PATCH /api/agents/${id} {"telegramBotToken": "…"} (or "" to go without Telegram), then retry.`);
      }
      const from = rec.steps.find((s) => s.state !== 'done' && s.state !== 'skipped')?.name ?? 'health_check';
      const next: Provisioning = { ...rec, status: 'running', steps: resetFrom(rec.steps, from, 'Waiting to run again.'), error: null, attempts: rec.attempts + 1, finishedAt: null };
      await store.transaction(async (tx) => {
        if (!(await tx.agents.update(id, { status: 'provisioning' }, agent.version))) throw errors.conflict('version_conflict', `${agent.name} was changed at the same time; reload and retry.`);
        await tx.provisioning.put(next);
        await recordAudit(tx, actor, 'provisioning.started', { type: 'agent', id }, { attempt: next.attempts, from, fields: ['status'], changes: { status: { from: 'failed', to: 'provisioning' } } });
      });
      await enqueue(id, next.attempts);
      return this.status(actor, id);
    },

    /**
     * A failed agent's site URL or bot token changed (PATCH): the steps that depend on them run again on
     * retry. A token is kept only sealed, in the pipeline, until it is bound.
     */
    async inputsChanged(agentId: string, change: { siteUrl?: boolean; token?: string }): Promise<void> {
      const rec = await store.provisioning.get(agentId);
      if (!rec) return;
      let steps = rec.steps;
      const patch: Partial<Provisioning> = {};
      if (change.token !== undefined) {
        patch.tokenSealed = change.token ? box.seal(change.token) : null;
        steps = resetFrom(steps, 'validate_token', change.token ? 'A new bot token was given; it is checked on retry.' : 'The bot token was removed.');
      } else if (change.siteUrl) {
        steps = resetFrom(steps, 'check_site', 'The site URL changed; it is checked again on retry.');
      }
      await store.provisioning.update(agentId, { ...patch, steps });
    },

    /** Checks a new site URL of an agent that is already set up (PATCH); a site that cannot be reached is refused. */
    async checkSiteNow(url: string): Promise<SiteStack> {
      try {
        return (await siteCheck(url)).stack;
      } catch (err) {
        if (err instanceof FetchRefused) throw errors.validation([{ path: 'siteUrl', message: err.message }]);
        throw err;
      }
    },

    /** The pipeline as the customer sees it; deleted agents answer too (status "deleted"). */
    async status(actor: Actor, id: string): Promise<ProvisioningStatus> {
      const agent = await visible(actor, id);
      const rec = await store.provisioning.get(id);
      const tg = agent.status === 'deleted' ? undefined : (await telegram.views([id])).get(id);
      const failed = agent.status === 'failed' ? rec?.steps.find((s) => s.state === 'failed') : undefined;
      return {
        agentId: id, status: agent.status,
        steps: (rec?.steps ?? []).map((s) => ({ name: s.name, state: s.state, detail: s.detail, updatedAt: s.updatedAt })),
        ...(agent.status === 'failed' && rec?.error ? { error: rec.error } : {}),
        ...(failed ? { failedStep: failed.name } : {}),
        ...(tg ? { telegram: { username: tg.username, link: tg.link } } : {}),
        siteUrl: agent.siteUrl, stack: agent.stack, attempts: rec?.attempts ?? 0, startedAt: rec?.startedAt ?? null, finishedAt: rec?.finishedAt ?? null,
      };
    },

    /**
     * Deprovisions: the bot is unbound (webhook removed, polling stopped) and its token forgotten, the
     * slug freed, the agent kept as "deleted" for the record; with `purge` its conversations go too.
     */
    async deprovision(actor: Actor, agent: Agent, opts: { purge: boolean }): Promise<void> {
      await telegram.disconnect(agent.id);
      // What is deleted and its audit entry commit together (the bot was unbound above: that is Telegram's side).
      const mediaKeys: string[] = [];
      await store.transaction(async (tx) => {
        const rec = await tx.provisioning.get(agent.id);
        if (rec) await tx.provisioning.update(agent.id, { tokenSealed: null, ...(rec.status === 'running' ? { status: 'failed', error: 'Deleted while being set up.', finishedAt: iso() } : {}) });
        let erased: { conversations: number; messages: number; summaries: number; notes: number; media: number } | undefined;
        if (opts.purge) {
          const c = await tx.conversations.eraseAgent(agent.id);
          let notes = 0;
          for (const f of await tx.workspace.list(agent.id)) {
            if (f.path === 'MEMORY.md' || f.path.startsWith('memory/')) notes += (await tx.workspace.delete(agent.id, f.path)) ? 1 : 0;
          }
          mediaKeys.push(...(await tx.media.eraseByAgent(agent.id)));
          erased = { ...c, notes, media: mediaKeys.length };
        }
        // Its knowledge goes whether or not conversations are purged: nobody can search it any more, and a site
        // source would go on being crawled on its schedule. Chunks, vectors and full-text rows follow their source.
        const knowledge = await tx.knowledge.list(agent.id);
        for (const s of knowledge) await tx.knowledge.deleteSource(agent.id, s.id);
        if (agent.status !== 'deleted') {
          const slug = `deleted-${agent.id.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`.slice(0, 64).replace(/-+$/, '');
          await tx.agents.update(agent.id, { status: 'deleted', slug, listed: false, pausedReason: null });
        }
        await recordAudit(tx, actor, 'agent.deleted', { type: 'agent', id: agent.id }, { name: agent.name, slug: agent.slug, purge: opts.purge, ...erased, ...(knowledge.length ? { knowledgeSources: knowledge.length } : {}), fields: ['status'], changes: { status: { from: agent.status, to: 'deleted' } } });
      });
      if (mediaKeys.length) await deps.dropMediaFiles?.(mediaKeys);
    },
  };
}
export type ProvisioningService = ReturnType<typeof provisioningService>;
