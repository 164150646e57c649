/**
 * The weekly site report of a website agent (issue 17): a `site_report` schedule kind. Code computes
 * every figure — uptime and response time (p50/p95) over the week, the latest audit against the one
 * before (score deltas, new and fixed findings), the pages added, removed or changed between the two
 * crawls (by content hash) — and the agent writes only the three most valuable next steps from those
 * facts. The report (figures + the agent's steps) is the run's output: delivered to the owner's chat by
 * the schedule, kept in the agent's workspace as `reports/YYYY-MM-DD.md` (the date in the account's time
 * zone), and posted to the operator's alert webhook as a signed `site.report` event.
 */
import type { SiteAudit, SiteCheck, SiteEvent, SiteFinding, Store } from '../domain/ports.js';
import type { Actor, Agent } from '../domain/types.js';
import type { ScheduleRun } from '../domain/ports/schedules.js';
import { errors } from '../domain/errors.js';
import type { Logger } from '../infra/logger.js';
import type { AlertService } from './alerts.js';
import { authorize } from './access.js';
import type { ScheduleKind, ScheduleService } from './schedules.js';
import { defineJob, type JobQueue } from '../jobs/index.js';
import { z } from 'zod';

export const SITE_REPORT_KIND = 'site_report';
/** Monday 09:00 (in the schedule's or the account's time zone). */
export const SITE_REPORT_CRON = '0 9 * * 1';
export const REPORTS_DIR = 'reports/';
const WEEK = 7 * 86_400_000;
const REPORT_FILE = /^reports\/(\d{4}-\d{2}-\d{2})\.md$/;

export const SITE_REPORT_INSTRUCTION = 'Write the weekly site report: from the facts given, the three most valuable next steps.';

type Delta = { name: 'seo' | 'performance' | 'accessibility'; now: number; before: number | null };
export type WeekFacts = {
  url: string | null; from: string; to: string;
  checks: { total: number; ok: number; uptime: number | null; p50Ms: number | null; p95Ms: number | null; certDaysLeft: number | null };
  events: Pick<SiteEvent, 'kind' | 'at'>[];
  audit: null | {
    at: string; scores: Delta[]; previousAt: string | null;
    newFindings: SiteFinding[]; fixedFindings: SiteFinding[]; open: SiteFinding[];
  };
  pages: null | { crawled: number; added: string[]; removed: string[]; changed: string[] };
};

/** The q-quantile (nearest rank) of sorted numbers. */
export function quantile(sorted: number[], q: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The facts of the week ending at `to`, from stored checks, events and the two newest finished audits. */
export function weekFacts(url: string | null, to: Date, checks: SiteCheck[], events: SiteEvent[], audits: SiteAudit[]): WeekFacts {
  const from = new Date(to.getTime() - WEEK).toISOString();
  const inWeek = checks.filter((c) => c.at >= from && c.at <= to.toISOString());
  const ok = inWeek.filter((c) => c.ok);
  const times = ok.map((c) => c.totalMs).filter((n): n is number => n !== null).sort((a, b) => a - b);
  const certs = inWeek.map((c) => c.certDaysLeft).filter((n): n is number => n !== null);
  const done = audits.filter((a) => a.status === 'done').sort((a, b) => (a.at < b.at ? 1 : -1));
  const [latest, previous] = done;
  let audit: WeekFacts['audit'] = null;
  let pages: WeekFacts['pages'] = null;
  if (latest) {
    const ls = latest.scores ?? { seo: 0 };
    const ps = previous?.scores ?? null;
    const scores: Delta[] = (['seo', 'performance', 'accessibility'] as const)
      .filter((k) => ls[k] !== undefined)
      .map((k) => ({ name: k, now: ls[k]!, before: ps?.[k] ?? null }));
    const key = (f: SiteFinding) => `${f.id}|${f.url ?? ''}`;
    const prevKeys = new Set((previous?.findings ?? []).map(key));
    const nowKeys = new Set(latest.findings.map(key));
    audit = {
      at: latest.at, scores, previousAt: previous?.at ?? null,
      newFindings: previous ? latest.findings.filter((f) => !prevKeys.has(key(f))) : [],
      fixedFindings: previous ? previous.findings.filter((f) => !nowKeys.has(key(f))) : [],
      open: latest.findings,
    };
    const before = previous?.pages;
    if (before && Object.keys(before).length && Object.keys(latest.pages).length) {
      const now = latest.pages;
      pages = {
        crawled: Object.keys(now).length,
        added: Object.keys(now).filter((p) => !(p in before)).sort(),
        removed: Object.keys(before).filter((p) => !(p in now)).sort(),
        changed: Object.keys(now).filter((p) => p in before && before[p] !== now[p]).sort(),
      };
    }
  }
  return {
    url, from, to: to.toISOString(),
    checks: {
      total: inWeek.length, ok: ok.length, uptime: inWeek.length ? ok.length / inWeek.length : null,
      p50Ms: quantile(times, 0.5), p95Ms: quantile(times, 0.95), certDaysLeft: certs.length ? Math.min(...certs) : null,
    },
    events: events.filter((e) => e.at >= from && e.at <= to.toISOString()).map((e) => ({ kind: e.kind, at: e.at })).sort((a, b) => (a.at < b.at ? -1 : 1)),
    audit, pages,
  };
}

const pct = (r: number) => `${(Math.floor(r * 10_000) / 100).toFixed(2)} %`;
const ms = (n: number | null) => (n === null ? 'n/a' : `${Math.round(n)} ms`);
const signed = (n: number) => (n > 0 ? `+${n}` : n < 0 ? `−${-n}` : '±0');
const pathOf = (u: string) => { try { const x = new URL(u); return `${x.pathname}${x.search}`; } catch { return u; } };
const list = (items: string[], max = 10) => items.slice(0, max).join(', ') + (items.length > max ? ` and ${items.length - max} more` : '');

/** The figures as Markdown: what the report says whatever the agent adds. */
export function renderFacts(f: WeekFacts): string {
  const out: string[] = [];
  const c = f.checks;
  out.push('## Uptime and speed');
  if (!c.total) out.push('- No uptime checks this week.');
  else {
    out.push(`- Uptime: ${pct(c.uptime!)} (${c.ok} of ${c.total} checks answered)`);
    out.push(`- Response time: p50 ${ms(c.p50Ms)}, p95 ${ms(c.p95Ms)}`);
    if (c.certDaysLeft !== null) out.push(`- TLS certificate: expires in ${c.certDaysLeft} days`);
  }
  const downs = f.events.filter((e) => e.kind === 'down');
  out.push(downs.length ? `- Outages: ${downs.length} (down at ${list(downs.map((e) => `${e.at.slice(0, 16).replace('T', ' ')} UTC`))})` : '- Outages: none');
  out.push('', '## Audit');
  if (!f.audit) out.push('- No audit has finished yet.');
  else {
    const a = f.audit;
    out.push(`- Latest audit: ${a.at.slice(0, 10)}${a.previousAt ? `, compared with ${a.previousAt.slice(0, 10)}` : ' (the first one: nothing to compare with)'}`);
    out.push(`- Scores: ${a.scores.map((s) => `${s.name} ${s.now}${s.before !== null ? ` (${signed(s.now - s.before)})` : ''}`).join(', ')}`);
    if (a.previousAt) {
      out.push(`- New findings: ${a.newFindings.length ? a.newFindings.map((x) => `[${x.severity}] ${x.title}`).slice(0, 10).join('; ') : 'none'}`);
      out.push(`- Fixed since then: ${a.fixedFindings.length ? a.fixedFindings.map((x) => x.title).slice(0, 10).join('; ') : 'none'}`);
    }
    out.push(`- Open findings: ${a.open.length} (${(['high', 'medium', 'low'] as const).map((s) => `${a.open.filter((x) => x.severity === s).length} ${s}`).join(', ')})`);
  }
  out.push('', '## What changed on the site');
  if (!f.pages) out.push('- Not known yet: it takes two crawls (audits) to compare.');
  else {
    const p = f.pages;
    out.push(`- ${p.added.length} page(s) added, ${p.removed.length} removed, ${p.changed.length} changed (of ${p.crawled} crawled)`);
    if (p.added.length) out.push(`- Added: ${list(p.added.map(pathOf))}`);
    if (p.removed.length) out.push(`- Removed: ${list(p.removed.map(pathOf))}`);
    if (p.changed.length) out.push(`- Changed: ${list(p.changed.map(pathOf))}`);
  }
  return out.join('\n');
}

/** The date (YYYY-MM-DD) of an instant in a time zone. */
export function localDate(at: Date, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

export function siteReportService(deps: {
  store: Pick<Store, 'agents' | 'siteWatch' | 'workspace' | 'schedules' | 'users'>; log: Logger;
  alerts: Pick<AlertService, 'notify'>; queue: Pick<JobQueue, 'send'>;
}) {
  const { store } = deps;
  const urlOf = (a: Agent) => a.site.url ?? a.siteUrl;
  const tzOf = async (a: Agent) => (await store.users.byId(a.ownerId))?.timezone ?? 'UTC';
  const runAt = (run: ScheduleRun) => new Date(run.scheduledFor ?? run.startedAt);

  async function facts(agent: Agent, to: Date): Promise<WeekFacts> {
    const from = new Date(to.getTime() - WEEK).toISOString();
    const [checks, events, audits] = await Promise.all([
      store.siteWatch.checks(agent.id, from, to.toISOString(), 20_000),
      store.siteWatch.events(agent.id, 200),
      store.siteWatch.audits(agent.id, 20),
    ]);
    return weekFacts(urlOf(agent), to, checks, events, audits.filter((a) => a.at <= to.toISOString()));
  }

  const kind: ScheduleKind = {
    async prepare(agent, run, own) {
      const at = runAt(run);
      const f = await facts(agent, at);
      const date = localDate(at, await tzOf(agent));
      const figures = renderFacts(f);
      const instruction = [
        `It is time for the weekly report on ${f.url ?? 'the site'} (week ending ${date}). These figures were measured by the site watch; they are exact:`,
        '', figures, '',
        'Open audit findings, ranked by impact:',
        ...(f.audit?.open.slice(0, 15).map((x, i) => `${i + 1}. [${x.severity}] ${x.title}${x.url ? ` (${x.url})` : ''} — ${x.detail}`) ?? ['(none)']),
        '',
        'Reply with exactly the three most valuable next steps for the owner, as a numbered list (1., 2., 3.): each one sentence saying what to do, and one saying why it matters, using the figures above.',
        'Do not repeat the figures, add a greeting, or write anything else: your list is appended to the figures and sent to the owner.',
        // The owner may have edited the task's instruction (e.g. "focus on the shop pages"): it shapes the steps.
        ...(own.trim() && own.trim() !== SITE_REPORT_INSTRUCTION ? ['', `The owner's own instruction for this report (follow it within the format above): ${own.trim()}`] : []),
      ].join('\n');
      return {
        instruction,
        compose: (reply) => `# Weekly site report: ${f.url ?? agent.name} — ${date}\n\n${figures}\n\n## Next steps\n${reply.trim()}\n`,
      };
    },

    async after(agent, run, output) {
      const date = localDate(runAt(run), await tzOf(agent));
      await store.workspace.put(agent.id, `${REPORTS_DIR}${date}.md`, output);
      // The operator's alert route: a signed `site.report` event, as a durable job retried on failure (the report stands either way).
      await deps.queue.send(webhookJob, { agentId: agent.id, date, runId: run.id }, { singletonKey: `site_report_webhook:${run.id}` });
    },
  };

  const webhookJob = defineJob({
    name: 'site_report_webhook',
    schema: z.object({ agentId: z.string().min(1), date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), runId: z.string().min(1) }),
    retry: { limit: 6, backoff: true }, // the queue's delay (SWITCHBOARD_JOB_RETRY_SECONDS), doubling: ~30 min of tries by default
    async perform(job) {
      const { agentId, date, runId } = job.data;
      const agent = await store.agents.byId(agentId);
      const file = agent && (await store.workspace.get(agent.id, `${REPORTS_DIR}${date}.md`));
      if (!agent || !file) return; // the agent or its report is gone: nothing to announce
      await deps.alerts.notify('webhook', {
        event: 'site.report', ownerId: agent.ownerId, subject: `[Switchboard] ${agent.name}: weekly site report`, text: file.content,
        payload: { type: 'site.report', report: { agentId: agent.id, agentName: agent.name, url: urlOf(agent), date, path: `${REPORTS_DIR}${date}.md`, runId, text: file.content } },
      });
    },
  });

  async function visible(actor: Actor, agentId: string): Promise<Agent> {
    const a = await store.agents.byId(agentId);
    if (!a || a.status === 'deleted') throw errors.notFound('Agent');
    authorize(actor, 'agent.read', a);
    return a;
  }

  const excerptOf = (content: string) => {
    const steps = content.split('## Next steps')[1] ?? content;
    const line = steps.split('\n').map((l) => l.trim()).find((l) => l && !l.startsWith('#')) ?? '';
    return line.length > 200 ? `${line.slice(0, 199).trimEnd()}…` : line;
  };

  return {
    kind,
    facts,
    jobs: [webhookJob],

    /**
     * Adds the weekly report task to a website agent (Mondays 09:00 in the account's time zone, to the
     * owner's Telegram chat) unless it has one; answers a sentence for the provisioning step.
     */
    async ensure(schedules: Pick<ScheduleService, 'create'>, agent: Agent): Promise<string> {
      const have = (await store.schedules.list(agent.id)).find((s) => s.kind === SITE_REPORT_KIND);
      const tz = await tzOf(agent);
      if (have) return `The weekly site report is already scheduled (${have.enabled ? `next ${have.nextRunAt?.slice(0, 16).replace('T', ' ') ?? 'never'} UTC` : 'paused'}).`;
      const s = await schedules.create(agent.id, { name: 'Weekly site report', cron: SITE_REPORT_CRON, instruction: SITE_REPORT_INSTRUCTION, deliver: { channel: 'telegram' } }, { kind: SITE_REPORT_KIND });
      return `Added the weekly site report: Mondays at 09:00 (${tz}) to the owner's Telegram chat, kept under reports/ (first ${s.nextRunAt?.slice(0, 10) ?? 'never'}).`;
    },

    /** The reports in the agent's workspace, newest first. */
    async list(actor: Actor, agentId: string) {
      const agent = await visible(actor, agentId);
      const files = (await store.workspace.list(agent.id)).filter((f) => REPORT_FILE.test(f.path)).sort((a, b) => (a.path < b.path ? 1 : -1)).slice(0, 200);
      const items = [];
      for (const f of files) {
        const file = await store.workspace.get(agent.id, f.path);
        items.push({ date: REPORT_FILE.exec(f.path)![1]!, path: f.path, excerpt: file ? excerptOf(file.content) : '', updatedAt: f.updatedAt });
      }
      return { items };
    },

    /** One report by its date. */
    async read(actor: Actor, agentId: string, date: string) {
      const agent = await visible(actor, agentId);
      const path = `${REPORTS_DIR}${date}.md`;
      const file = REPORT_FILE.test(path) ? await store.workspace.get(agent.id, path) : undefined;
      if (!file) throw errors.notFound('Report');
      return { date, path, content: file.content, updatedAt: file.updatedAt };
    },
  };
}
export type SiteReportService = ReturnType<typeof siteReportService>;
