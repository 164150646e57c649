/**
 * The site watch (issue 17): uptime checks of an agent's site, audits (SEO basics, broken links by a
 * bounded same-site crawl, page weight, Lighthouse in the system Chromium), and the alerts when the
 * site goes down or comes back. Every fetch of the site goes through the SSRF-safe fetcher.
 *
 * Uptime: one durable job per agent and slot (`site_uptime`, singleton key agent + slot start) queues
 * the next slot's job when it runs, like the media retention job; the check row is unique per
 * (agent, slot), so two processes running the same slot store one result. Up/down changes only on two
 * consecutive results against the current state, by compare-and-set on the state row, so a change
 * alerts once: a dashboard event, the operator's alert webhook (`site.down` / `site.up`, signed like the
 * budget alerts), the owner's Telegram chat, and a line in the agent's MEMORY.md so it can speak about it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { startGuardProxy, type Vet } from '../infra/guard-proxy.js';
import { z } from 'zod';
import type { Clock, IdGenerator, ModelTool, SiteAudit, SiteCheck, SiteFinding, Store } from '../domain/ports.js';
import type { Actor, Agent } from '../domain/types.js';
import { FetchRefused, type SafeFetcher } from '../domain/fetcher.js';
import { AppError, errors } from '../domain/errors.js';
import { defineJob, type JobQueue } from '../jobs/index.js';
import type { Logger } from '../infra/logger.js';
import type { AlertService } from './alerts.js';
import { authorize } from './access.js';
import { attrOf, tagsOf, textOf, titleOf } from './site-check.js';
import { readRobotsOrNothing, ROBOTS_MAX_BYTES } from '../infra/document-reader.js';
import { recordAudit } from './audit.js';

const DAY = 86_400_000;
/** Check rows are kept this long (the month view plus a margin). */
export const SITE_CHECK_RETENTION_DAYS = 35;
/** At most this many audits per agent per hour, and one queued or running at a time. */
export const SITE_AUDITS_PER_HOUR = 6;

export type SiteWatchDeps = {
  store: Store; queue: JobQueue; clock: Clock; ids: IdGenerator; fetcher: SafeFetcher; alerts: Pick<AlertService, 'notify'>; log: Logger;
  /** The owner's linked chat (schedules' owner link); its outcome, never a throw. */
  deliverOwner?: (agent: Agent, text: string) => Promise<{ status: 'sent' | 'failed' | 'skipped'; error?: string }>;
  /** The owner's plan minimum between checks, if any: a lower interval (the default of 5 included) is raised to it. */
  minIntervalFor?: (ownerId: string) => Promise<number | null | undefined>;
  /** The system browser for Lighthouse (default /usr/bin/chromium); absent: that part is skipped with a note. */
  chromePath?: string;
  lighthouseTimeoutMs?: number;
  checkTimeoutMs?: number;
  maxPages?: number;
};

// ---------- HTML helpers ----------

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
/** At most this many links are taken from one page (a 2 MB page can hold 150,000). */
const LINKS_PER_PAGE = 5_000;

/** The links of a page, resolved against its URL, without fragments. */
function linksOf(html: string, base: string): string[] {
  const out = new Set<string>();
  for (const t of tagsOf(html, 'a')) {
    if (out.size >= LINKS_PER_PAGE) break;
    const href = attrOf(t, 'href');
    if (!href || /^(mailto:|tel:|javascript:|#)/i.test(href.trim())) continue;
    try { const u = new URL(href.trim(), base); u.hash = ''; if (u.protocol === 'http:' || u.protocol === 'https:') out.add(u.toString()); } catch { /* not a URL */ }
  }
  return [...out];
}

const WEIGHT: Record<SiteFinding['severity'], number> = { high: 15, medium: 7, low: 3 };
const RANK: Record<SiteFinding['severity'], number> = { high: 0, medium: 1, low: 2 };

/** The SEO basics of one page, as findings (each says why it matters). */
export function seoFindings(html: string, url: string): SiteFinding[] {
  const f: SiteFinding[] = [];
  const add = (id: string, severity: SiteFinding['severity'], title: string, detail: string) => f.push({ id, severity, title, detail, url });
  const title = titleOf(html);
  const t = title ? textOf(title) : '';
  if (!t) add('title-missing', 'high', 'The page has no title', 'Search engines show the title as the headline of the result; without one they make one up, and fewer people click.');
  else if (t.length < 10 || t.length > 60) add('title-length', 'medium', `The title is ${t.length} characters long`, 'Titles of about 10–60 characters show in full in search results; longer ones are cut, very short ones say too little.');
  const metas = tagsOf(html, 'meta');
  const desc = metas.find((m) => attrOf(m, 'name')?.toLowerCase() === 'description');
  const d = desc ? (attrOf(desc, 'content') ?? '').trim() : '';
  if (!d) add('description-missing', 'high', 'The page has no meta description', 'The description is the snippet under the result; without it search engines pick a random sentence.');
  else if (d.length < 50 || d.length > 160) add('description-length', 'low', `The meta description is ${d.length} characters long`, 'About 50–160 characters show in full; the rest is cut off.');
  const h1 = tagsOf(html, 'h1').length;
  if (h1 === 0) add('h1-missing', 'high', 'The page has no h1 heading', 'The h1 tells readers and search engines what the page is about.');
  else if (h1 > 1) add('h1-multiple', 'medium', `The page has ${h1} h1 headings`, 'One h1 per page keeps its main topic clear to search engines and screen readers.');
  const levels = [...html.matchAll(/<h([1-6])\b/gi)].map((m) => Number(m[1]));
  for (let i = 1; i < levels.length; i++) {
    if (levels[i]! > levels[i - 1]! + 1) {
      add('heading-order', 'low', `A heading jumps from h${levels[i - 1]} to h${levels[i]}`, 'Skipped heading levels confuse screen-reader users, who navigate by the outline.');
      break;
    }
  }
  const noAlt = tagsOf(html, 'img').filter((i) => attrOf(i, 'alt') === undefined);
  if (noAlt.length) add('img-alt', 'medium', `${noAlt.length} image${noAlt.length > 1 ? 's have' : ' has'} no alt text`, 'Alt text is what blind visitors hear and what image search reads.');
  const links = tagsOf(html, 'link');
  if (!links.some((l) => attrOf(l, 'rel')?.toLowerCase() === 'canonical')) add('canonical-missing', 'low', 'The page names no canonical URL', 'A canonical link tells search engines which address to rank when the page is reachable under several.');
  const htmlTag = tagsOf(html, 'html')[0];
  if (!htmlTag || !attrOf(htmlTag, 'lang')) add('lang-missing', 'medium', 'The page does not say its language', 'The lang attribute lets screen readers pronounce the text and search engines serve the page to the right audience.');
  const og = metas.filter((m) => /^og:/i.test(attrOf(m, 'property') ?? ''));
  if (!og.some((m) => attrOf(m, 'property')?.toLowerCase() === 'og:title') || !og.some((m) => attrOf(m, 'property')?.toLowerCase() === 'og:image')) {
    add('open-graph', 'low', 'Open Graph tags are missing', 'Without og:title and og:image a shared link shows up plain on social networks and chat apps.');
  }
  return f;
}

export const rankFindings = (f: SiteFinding[]) => [...f].sort((a, b) => RANK[a.severity] - RANK[b.severity]);
export const seoScore = (f: SiteFinding[]) => Math.max(0, 100 - f.reduce((s, x) => s + WEIGHT[x.severity], 0));

// ---------- Lighthouse (one run at a time per process) ----------

let lighthouseBusy: Promise<unknown> = Promise.resolve();

async function runLighthouse(url: string, chromePath: string, timeoutMs: number, vet: Vet): Promise<{ performance: number; accessibility: number; refused: number }> {
  const run = async () => {
    const { launch } = await import('chrome-launcher');
    const lighthouse = (await import('lighthouse')).default;
    // Every request the browser makes (the page, its subresources, redirects) goes through the SSRF guard: a public page
    // embedding a private address cannot make Chromium fetch it. `<-loopback>` stops Chromium bypassing the proxy for
    // localhost; WebRTC may not send UDP around it.
    const proxy = await startGuardProxy(vet);
    const chrome = await launch({
      chromePath,
      chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
        `--proxy-server=${proxy.url}`, '--proxy-bypass-list=<-loopback>', '--force-webrtc-ip-handling-policy=disable_non_proxied_udp'],
    }).catch(async (err: unknown) => { await proxy.close(); throw err; });
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        lighthouse(url, { port: chrome.port, output: 'json', logLevel: 'error', onlyCategories: ['performance', 'accessibility'] }),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`Lighthouse did not finish within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs); }),
      ]);
      const c = result?.lhr.categories;
      if (!c) throw new Error('Lighthouse returned no result');
      return { performance: Math.round((c.performance?.score ?? 0) * 100), accessibility: Math.round((c.accessibility?.score ?? 0) * 100), refused: proxy.stats.refused };
    } finally {
      clearTimeout(timer);
      chrome.kill();
      await proxy.close();
    }
  };
  const next = lighthouseBusy.then(run, run);
  lighthouseBusy = next.catch(() => undefined);
  return next;
}

// ---------- the service ----------

export function siteWatchService(deps: SiteWatchDeps) {
  const { store, queue, clock, ids, fetcher, log } = deps;
  const chromePath = deps.chromePath ?? '/usr/bin/chromium';
  const checkTimeoutMs = deps.checkTimeoutMs ?? 10_000;
  const maxPages = deps.maxPages ?? 50;

  const watchedUrl = (a: Agent) => a.site.url ?? a.siteUrl;
  const watched = (a: Agent) => !!watchedUrl(a) && a.status === 'active';
  /** Minutes between checks: the agent's setting, raised to its owner's plan minimum. */
  const intervalOf = async (a: Agent) => Math.max(1, a.site.checkIntervalMinutes, (await deps.minIntervalFor?.(a.ownerId)) ?? 0);
  const slotOf = (minutes: number, at: Date) => {
    const ms = minutes * 60_000;
    return new Date(Math.floor(at.getTime() / ms) * ms);
  };
  const jobKey = (agentId: string, slot: Date) => `site_uptime:${agentId}:${slot.toISOString()}`;

  const uptimeJob = defineJob({
    name: 'site_uptime',
    schema: z.object({ agentId: z.string().min(1), slot: z.string().min(1) }),
    retry: { limit: 1, delaySeconds: 30 },
    async perform(job) {
      const agent = await store.agents.byId(job.data.agentId);
      if (!agent || !watched(agent)) return; // not watched any more: the chain ends here
      await checkSlot(agent, new Date(job.data.slot));
      const minutes = await intervalOf(agent);
      const next = new Date(slotOf(minutes, clock.now()).getTime() + minutes * 60_000);
      await queue.send(uptimeJob, { agentId: agent.id, slot: next.toISOString() }, { singletonKey: jobKey(agent.id, next), startAfter: next });
    },
  });

  const alertJob = defineJob({
    name: 'site_alert',
    schema: z.object({ eventId: z.string().min(1), agentId: z.string().min(1), via: z.enum(['webhook', 'telegram']) }),
    retry: { limit: 5, delaySeconds: 30 },
    async perform(job) {
      const { agentId, eventId, via } = job.data;
      const [agent, event] = await Promise.all([store.agents.byId(agentId), store.siteWatch.events(agentId, 50).then((es) => es.find((e) => e.id === eventId))]);
      if (!agent || !event) return;
      const url = watchedUrl(agent) ?? '';
      if (via === 'webhook') {
        const type = event.kind === 'down' ? 'site.down' : 'site.up';
        await deps.alerts.notify('webhook', {
          event: type, ownerId: agent.ownerId, subject: `[Switchboard] ${agent.name}: site ${event.kind}`, text: event.detail,
          payload: { type, event: { id: event.id, agentId: agent.id, agentName: agent.name, url, at: event.at, detail: event.detail } },
        });
      } else {
        // The owner's linked chat; without one, the chat handoff notices go to (owner.deliver decides); neither: nobody to tell there.
        const d = deps.deliverOwner ? await deps.deliverOwner(agent, event.detail) : { status: 'failed' as const, error: 'no_owner_chat' };
        if (d.status === 'failed' && d.error !== 'no_owner_chat') throw new Error(`owner chat: ${d.error}`);
      }
    },
  });

  /** One check of a URL: status, time to first byte, total time, days until the TLS certificate expires. */
  async function probe(url: string) {
    try {
      const r = await fetcher.fetch(url, { timeoutMs: checkTimeoutMs, maxBytes: 2 * 1024 * 1024 });
      const certDaysLeft = r.certValidTo ? Math.floor((Date.parse(r.certValidTo) - clock.now().getTime()) / DAY) : null;
      const ok = r.status >= 200 && r.status < 400;
      return { ok, status: r.status, ttfbMs: r.ttfbMs ?? null, totalMs: r.totalMs ?? null, certDaysLeft, error: ok ? null : `HTTP ${r.status}` };
    } catch (err) {
      return { ok: false, status: 0, ttfbMs: null, totalMs: null, certDaysLeft: null, error: err instanceof FetchRefused ? err.message : (err as Error).message };
    }
  }

  /** Checks one slot (once per agent and slot) and moves the up/down state when two results in a row say so. */
  async function checkSlot(agent: Agent, slot: Date): Promise<SiteCheck | undefined> {
    const url = watchedUrl(agent);
    if (!url) return undefined;
    // A slot already checked (a redelivered job, a chain restarted by a settings change) is not fetched again.
    if ((await store.siteWatch.lastChecks(agent.id, 1))[0]?.slot === slot.toISOString()) return undefined;
    const r = await probe(url);
    const check: SiteCheck = { id: ids.id(), agentId: agent.id, slot: slot.toISOString(), at: clock.now().toISOString(), ...r };
    if (!(await store.siteWatch.insertCheck(check))) return undefined; // another process checked this slot
    await store.siteWatch.prune(new Date(clock.now().getTime() - SITE_CHECK_RETENTION_DAYS * DAY).toISOString());
    await decide(agent, url);
    return check;
  }

  async function decide(agent: Agent, url: string) {
    const now = clock.now().toISOString();
    let state = await store.siteWatch.state(agent.id);
    if (!state) {
      await store.siteWatch.changeState(agent.id, undefined, { agentId: agent.id, state: 'up', since: now, reason: null });
      state = await store.siteWatch.state(agent.id);
      if (!state) return;
    }
    const last = await store.siteWatch.lastChecks(agent.id, 2);
    if (last.length < 2) return;
    const goingDown = state.state === 'up' && last.every((c) => !c.ok);
    const comingUp = state.state === 'down' && last.every((c) => c.ok);
    if (!goingDown && !comingUp) return;
    const to = goingDown ? 'down' : 'up';
    const reason = goingDown ? last[0]!.error ?? 'no answer' : null;
    if (!(await store.siteWatch.changeState(agent.id, state.state, { agentId: agent.id, state: to, since: now, reason }))) return; // another process won
    const detail = goingDown
      ? `${agent.name}: ${url} is down since ${last[1]!.at} (two checks in a row failed: ${reason}).`
      : `${agent.name}: ${url} is back up (two checks in a row answered; it was down since ${state.since}).`;
    const eventId = ids.id();
    await store.siteWatch.insertEvent({ id: eventId, agentId: agent.id, kind: to, at: now, detail });
    // Remembered so the agent can speak about it: its long-term notes are in every prompt.
    await store.workspace.append(agent.id, 'MEMORY.md', `\n- ${now.slice(0, 16).replace('T', ' ')} UTC — site watch: ${detail}\n`, 200_000).catch(() => false);
    if (agent.site.alerts) {
      for (const via of ['webhook', 'telegram'] as const) await queue.send(alertJob, { eventId, agentId: agent.id, via }, { singletonKey: `${eventId}:${via}` });
    }
    log.info('site state changed', { agentId: agent.id, state: to });
  }

  async function visibleAgent(actor: Actor, id: string): Promise<Agent> {
    const a = await store.agents.byId(id);
    if (!a) throw errors.notFound('Agent');
    authorize(actor, 'agent.read', a);
    return a;
  }

  // ---------- audits ----------

  /** Runs an audit of a site: SEO basics, a bounded same-site crawl for broken links, page weight, Lighthouse. */
  async function audit(url: string, o: { lighthouse: boolean; previousPages?: Record<string, string> }) {
    const findings: SiteFinding[] = [];
    const notes: string[] = [];
    const start = await fetcher.fetch(url, { timeoutMs: checkTimeoutMs, maxBytes: 2 * 1024 * 1024 });
    const origin = new URL(start.url).origin;
    const robotsUrl = `${origin}/robots.txt`;
    let robotsText = '';
    try {
      const r = await fetcher.fetch(robotsUrl, { timeoutMs: checkTimeoutMs, maxBytes: ROBOTS_MAX_BYTES });
      if (r.status === 200) robotsText = r.body;
      else findings.push({ id: 'robots-missing', severity: 'low', title: 'There is no robots.txt', detail: 'robots.txt tells crawlers what to skip and where the sitemap is; without it they guess.', url: robotsUrl });
    } catch { findings.push({ id: 'robots-missing', severity: 'low', title: 'robots.txt could not be read', detail: 'Crawlers read robots.txt first; an unreachable one can slow indexing.', url: robotsUrl }); }
    // Asked in a reader thread, a batch of links at a time (infra/document-reader.ts); one it cannot read allows nothing.
    const robots = (urls: string[]) => readRobotsOrNothing(robotsUrl, robotsText, 'SwitchboardSiteCheck', urls);
    const sitemapUrl = (await robots([])).sitemaps[0] ?? `${origin}/sitemap.xml`;
    try {
      const s = await fetcher.fetch(sitemapUrl, { timeoutMs: checkTimeoutMs, maxBytes: 1024 * 1024 });
      if (s.status !== 200 || !/<(urlset|sitemapindex)\b/i.test(s.body)) throw new Error('none');
    } catch { findings.push({ id: 'sitemap-missing', severity: 'medium', title: 'There is no sitemap.xml', detail: 'A sitemap lists every page for search engines, so new and deep pages are found sooner.', url: sitemapUrl }); }

    if (start.status >= 400) findings.push({ id: 'start-error', severity: 'high', title: `The page answers HTTP ${start.status}`, detail: 'Visitors and search engines get an error instead of the page.', url: start.url });
    findings.push(...seoFindings(start.body, start.url));

    // Page weight and requests of the start page: its own bytes plus same-site resources (fetched, bounded), others counted.
    const resources = [...tagsOf(start.body, 'img').map((t) => attrOf(t, 'src')), ...tagsOf(start.body, 'script').map((t) => attrOf(t, 'src')),
      ...tagsOf(start.body, 'link').filter((t) => /stylesheet|icon|preload/i.test(attrOf(t, 'rel') ?? '')).map((t) => attrOf(t, 'href'))]
      .filter((s): s is string => !!s).map((s) => { try { return new URL(s, start.url).toString(); } catch { return null; } }).filter((s): s is string => !!s);
    let weight = start.bytes;
    for (const r of resources.filter((u) => u.startsWith(origin)).slice(0, 30)) {
      try { weight += (await fetcher.fetch(r, { timeoutMs: checkTimeoutMs, maxBytes: 5 * 1024 * 1024 })).bytes; } catch { /* counted, not weighed */ }
    }
    const requests = 1 + resources.length;
    notes.push(`The start page weighs ${(weight / 1024).toFixed(0)} KiB over ${requests} requests (same-site resources weighed, ${resources.filter((u) => !u.startsWith(origin)).length} from other sites counted only).`);
    if (weight > 3 * 1024 * 1024) findings.push({ id: 'page-weight', severity: 'medium', title: `The start page weighs ${(weight / 1048576).toFixed(1)} MiB`, detail: 'Heavy pages load slowly on phones, and visitors leave before they see them.', url: start.url });
    if (requests > 80) findings.push({ id: 'request-count', severity: 'low', title: `The start page makes ${requests} requests`, detail: 'Every request adds a round trip; fewer, bundled files load faster.', url: start.url });

    // The crawl: same origin only, robots.txt obeyed, at most maxPages pages.
    const pages: Record<string, string> = {};
    const seen = new Set<string>([start.url]);
    const queue: { url: string; from: string | null }[] = [];
    // The queue keeps the first pages found that robots.txt allows, a few times what can be crawled.
    const enqueue = async (links: string[], from: string) => {
      const fresh = links.filter((l) => (l.startsWith(`${origin}/`) || l === origin) && !seen.has(l)).slice(0, maxPages * 10 - queue.length);
      if (!fresh.length) return;
      for (const l of fresh) seen.add(l);
      const { allowed } = await robots(fresh);
      fresh.forEach((url, i) => { if (allowed[i]) queue.push({ url, from }); });
    };
    pages[start.url] = hash(textOf(start.body));
    await enqueue(linksOf(start.body, start.url), start.url);
    let crawled = 1;
    const broken: SiteFinding[] = [];
    while (queue.length && crawled < maxPages) {
      const { url: u, from } = queue.shift()!;
      crawled++;
      try {
        const r = await fetcher.fetch(u, { timeoutMs: checkTimeoutMs, maxBytes: 2 * 1024 * 1024 });
        if (r.status >= 400) {
          broken.push({ id: `broken-link:${u}`, severity: 'high', title: `Broken link: ${new URL(u).pathname} answers HTTP ${r.status}`, detail: `Linked from ${from}. Visitors who follow it hit a dead end, and search engines lower the trust in the site.`, url: u });
          continue;
        }
        if (/html/i.test(r.headers['content-type'] ?? '') || /^\s*</.test(r.body)) {
          pages[r.url] = hash(textOf(r.body));
          await enqueue(linksOf(r.body, r.url), r.url);
        }
      } catch (err) {
        broken.push({ id: `broken-link:${u}`, severity: 'high', title: `Broken link: ${new URL(u).pathname} cannot be fetched`, detail: `Linked from ${from}: ${(err as Error).message}`, url: u });
      }
    }
    findings.push(...broken);
    notes.push(`Crawled ${crawled} page${crawled > 1 ? 's' : ''} of the site (at most ${maxPages}, robots.txt obeyed).`);
    if (o.previousPages) {
      const prev = o.previousPages;
      const added = Object.keys(pages).filter((p) => !(p in prev)).length;
      const removed = Object.keys(prev).filter((p) => !(p in pages)).length;
      const changed = Object.keys(pages).filter((p) => p in prev && prev[p] !== pages[p]).length;
      notes.push(`Since the last crawl: ${added} page(s) added, ${removed} removed, ${changed} changed.`);
    }

    let lh: { performance: number; accessibility: number } | undefined;
    if (!o.lighthouse) notes.push('Lighthouse was not run for this audit (run one from the dashboard for performance and accessibility scores).');
    else if (!existsSync(chromePath)) notes.push(`Lighthouse was skipped: no Chromium at ${chromePath} on this server.`);
    else {
      try {
        const r = await runLighthouse(start.url, chromePath, deps.lighthouseTimeoutMs ?? 90_000, (u) => fetcher.vet(u));
        lh = { performance: r.performance, accessibility: r.accessibility };
        if (r.refused) notes.push(`Lighthouse's browser was refused ${r.refused} request(s) to addresses that cannot be fetched (private or reserved); the scores are without them.`);
      } catch (err) { notes.push(`Lighthouse was skipped: ${(err as Error).message}.`); }
    }
    if (lh && lh.performance < 50) findings.push({ id: 'performance', severity: 'high', title: `Lighthouse performance score ${lh.performance}`, detail: 'Slow pages lose visitors and rank lower in search.', url: start.url });
    if (lh && lh.accessibility < 80) findings.push({ id: 'accessibility', severity: 'medium', title: `Lighthouse accessibility score ${lh.accessibility}`, detail: 'Some visitors cannot use the page with a screen reader or keyboard.', url: start.url });
    const seoOnly = findings.filter((f) => !f.id.startsWith('broken-link') && f.id !== 'performance' && f.id !== 'accessibility' && f.id !== 'page-weight' && f.id !== 'request-count');
    return { findings: rankFindings(findings), scores: { seo: seoScore(seoOnly), ...(lh ?? {}) }, pages, notes };
  }

  /** Runs a stored audit: marks it running, then done with its findings, or failed with the reason. */
  async function perform(auditId: string, lighthouse: boolean): Promise<SiteAudit | undefined> {
    const a = await store.siteWatch.audit(auditId);
    if (!a || a.status === 'done' || a.status === 'failed') return a;
    await store.siteWatch.updateAudit(a.id, { status: 'running' });
    const previous = (await store.siteWatch.audits(a.agentId, 10)).find((x) => x.id !== a.id && x.status === 'done' && Object.keys(x.pages).length);
    try {
      const r = await audit(a.url, { lighthouse, previousPages: previous?.pages });
      await store.siteWatch.updateAudit(a.id, { status: 'done', finishedAt: clock.now().toISOString(), ...r });
    } catch (err) {
      const reason = err instanceof FetchRefused ? err.message : `The audit failed: ${(err as Error).message}`;
      await store.siteWatch.updateAudit(a.id, { status: 'failed', finishedAt: clock.now().toISOString(), error: reason });
    }
    return store.siteWatch.audit(a.id);
  }

  const auditJob = defineJob({
    name: 'site_audit',
    schema: z.object({ auditId: z.string().min(1) }),
    retry: { limit: 0 },
    concurrency: 1,
    async perform(job) { await perform(job.data.auditId, true); },
    async onFinalFailure(job, error) {
      await store.siteWatch.updateAudit(job.data.auditId, { status: 'failed', finishedAt: clock.now().toISOString(), error: (error as Error).message });
    },
  });

  /** Frequency and concurrency caps per agent: one audit at a time, SITE_AUDITS_PER_HOUR an hour. */
  async function admitAudit(agentId: string) {
    const c = await store.siteWatch.auditCounts(agentId, new Date(clock.now().getTime() - 3_600_000).toISOString());
    if (c.open > 0) throw errors.conflict('audit_running', 'An audit of this site is already running; wait for it to finish.');
    if (c.recent >= SITE_AUDITS_PER_HOUR) throw new AppError(429, 'audit_rate_limited', `At most ${SITE_AUDITS_PER_HOUR} audits an hour per agent; try again later.`);
  }

  const view = (a: SiteAudit) => ({
    id: a.id, at: a.at, url: a.url, source: a.source, status: a.status, finishedAt: a.finishedAt,
    scores: a.scores ?? { seo: 0 }, findings: a.findings, notes: a.notes, error: a.error,
  });

  return {
    jobs: [uptimeJob, alertJob, auditJob],

    /** Starts (or restarts after a settings change) the agent's chain of uptime checks; the slot key keeps it one per slot. */
    async watch(agent: Agent): Promise<void> {
      if (!watched(agent)) return;
      const slot = slotOf(await intervalOf(agent), clock.now());
      await queue.send(uptimeJob, { agentId: agent.id, slot: slot.toISOString() }, { singletonKey: jobKey(agent.id, slot) });
    },

    /** At start: every watched agent's chain (a missed slot is checked once, now). */
    async start(): Promise<void> {
      for (const a of await store.agents.list({ status: 'active' })) if (watched(a)) await this.watch(a);
    },

    /** Checks the current slot now (what the job does; tests and "check now" call it). */
    async checkNow(agentId: string): Promise<SiteCheck | undefined> {
      const agent = await store.agents.byId(agentId);
      if (!agent || !watchedUrl(agent)) return undefined;
      return checkSlot(agent, slotOf(await intervalOf(agent), clock.now()));
    },

    /** Checks site settings before they are saved: the URL passes the SSRF guard, the interval the plan's minimum. */
    async checkSettings(_actor: Actor, _agent: Agent, next: Agent['site'], input: Partial<Agent['site']>, minMinutes?: number): Promise<void> {
      if (input.url) {
        try { await fetcher.vet(input.url); } catch (err) {
          throw errors.validation([{ path: 'site.url', message: err instanceof FetchRefused ? err.message : 'cannot be checked' }]);
        }
      }
      // The owner's plan caps how often their site is checked, whoever sets it (an operator who wants more often changes the
      // plan); an interval saved before the plan changed is raised to the minimum when checks are scheduled (intervalOf).
      if (minMinutes && input.checkIntervalMinutes !== undefined && next.checkIntervalMinutes < minMinutes) {
        throw errors.validation([{ path: 'site.checkIntervalMinutes', message: `must be at least ${minMinutes} minutes on your plan` }]);
      }
    },

    async checks(actor: Actor, agentId: string, q: { from?: string; to?: string }) {
      const agent = await visibleAgent(actor, agentId);
      const now = clock.now();
      const to = q.to ?? now.toISOString();
      const from = q.from ?? new Date(now.getTime() - DAY).toISOString();
      const items = await store.siteWatch.checks(agent.id, from, to, 5000);
      const ratio = async (ms: number) => {
        const u = await store.siteWatch.uptime(agent.id, new Date(now.getTime() - ms).toISOString(), now.toISOString());
        return u.total ? u.ok / u.total : null;
      };
      const state = await store.siteWatch.state(agent.id);
      return {
        url: watchedUrl(agent), state: state ? { state: state.state, since: state.since, reason: state.reason } : null,
        items: items.map((c) => ({ at: c.at, ok: c.ok, status: c.status, ttfbMs: c.ttfbMs, totalMs: c.totalMs, ...(c.certDaysLeft !== null ? { certDaysLeft: c.certDaysLeft } : {}), ...(c.error ? { error: c.error } : {}) })),
        uptime: { day: await ratio(DAY), week: await ratio(7 * DAY), month: await ratio(30 * DAY) },
        events: (await store.siteWatch.events(agent.id, 50)).map((e) => ({ id: e.id, kind: e.kind, at: e.at, detail: e.detail })),
      };
    },

    async audits(actor: Actor, agentId: string) {
      const agent = await visibleAgent(actor, agentId);
      return { items: (await store.siteWatch.audits(agent.id, 100)).map(view) };
    },

    /** "Run audit now": stored as queued, audited, then run as a durable job. */
    async requestAudit(actor: Actor, agentId: string, input: { url?: string }) {
      const agent = await visibleAgent(actor, agentId);
      authorize(actor, 'agent.write', agent);
      const url = input.url ?? watchedUrl(agent);
      if (!url) throw errors.validation([{ path: 'url', message: 'is required: this agent has no site URL' }]);
      try { await fetcher.vet(url); } catch (err) {
        throw errors.validation([{ path: 'url', message: err instanceof FetchRefused ? err.message : 'cannot be fetched' }]);
      }
      await admitAudit(agent.id);
      const a: SiteAudit = { id: ids.id(), agentId: agent.id, at: clock.now().toISOString(), url, source: 'api', status: 'queued', finishedAt: null, scores: null, findings: [], pages: {}, notes: [], error: null };
      await store.transaction(async (tx) => {
        await tx.siteWatch.insertAudit(a);
        await recordAudit(tx, actor, 'site_audit.requested', { type: 'agent', id: agent.id }, { fields: ['url'], auditId: a.id });
      });
      await queue.send(auditJob, { auditId: a.id });
      return { auditId: a.id };
    },

    /** The `site_audit` tool for one agent: runs an audit now (no Lighthouse: it would hold the chat), stores it, and tells the findings. */
    tool(agent: Agent): ModelTool {
      const t: ModelTool<z.ZodObject<{ url: z.ZodString }>> = {
        name: 'site_audit',
        description: "Audit a website: SEO basics (title, description, headings, alt text, canonical, robots.txt, sitemap, lang, Open Graph), broken links on a same-site crawl, and page weight. Answers the findings ranked by impact with the reason. Private and internal addresses are refused.",
        input: z.object({ url: z.string().min(1).max(2000).describe('The page to start from, e.g. https://example.com/') }),
        async execute({ url }) {
          try { await fetcher.vet(url); } catch (err) { return `Error: ${err instanceof FetchRefused ? err.message : 'the URL cannot be fetched'}`; }
          try { await admitAudit(agent.id); } catch (err) { return `Error: ${(err as Error).message}`; }
          const a: SiteAudit = { id: ids.id(), agentId: agent.id, at: clock.now().toISOString(), url, source: 'tool', status: 'queued', finishedAt: null, scores: null, findings: [], pages: {}, notes: [], error: null };
          await store.siteWatch.insertAudit(a);
          const done = await perform(a.id, false);
          if (!done || done.status !== 'done') return `Error: ${done?.error ?? 'the audit did not finish'}`;
          const lines = done.findings.slice(0, 25).map((f, i) => `${i + 1}. [${f.severity}] ${f.title}${f.url ? ` (${f.url})` : ''} — ${f.detail}`);
          return [`Audit of ${url}: SEO score ${done.scores?.seo ?? 0}/100, ${done.findings.length} finding(s).`, ...lines, ...done.notes].join('\n');
        },
      };
      return t as unknown as ModelTool;
    },
  };
}
export type SiteWatchService = ReturnType<typeof siteWatchService>;
