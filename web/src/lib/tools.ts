// What the dashboard says about an agent's tools: a plain-language line per tool and group,
// how a policy expands (with the server's tool groups from GET /api/meta), and the words for
// tool-call outcomes and approval states.
import type { ApprovalStatus, ToolCallOutcome, ToolPolicy } from './api';
import { meta } from './meta';

/** A line of help per built-in tool; a tool the server adds later is listed without one. */
export const TOOL_HELP: Record<string, string> = {
  read: "Read a file in the agent's own workspace (its notes and files, kept in the database; never the server's disk).",
  write: 'Create or replace a file in its workspace. Persona files are off limits.',
  edit: 'Change one exact passage of a workspace file.',
  list: 'List the files in its workspace.',
  exec: 'Run a shell command in a sandbox: a copy of its workspace, no network, time and memory limits. Files it changes are written back.',
  web_fetch: 'Read a public web page as text. Private and internal addresses are refused.',
  web_search: 'Search the web through the configured provider (SearXNG, Brave or Tavily).',
  memory_search: 'Search the summaries of earlier conversations with the same person.',
  memory_get: 'Read one of those summaries in full.',
  memory_write: "Add a note to today's daily note or to MEMORY.md.",
  handoff: 'Ask a person from the team to join the conversation: it is marked “needs a person”, the person is told, and you are notified.',
  knowledge_search: "Search the agent's knowledge base (its documents and synced web pages, on the Knowledge tab) and cite the sources.",
};

export interface GroupInfo {
  key: string;
  label: string;
  help: string;
}

export const GROUPS: GroupInfo[] = [
  { key: 'group:fs', label: 'Workspace files', help: 'Its own files only: other agents and the server stay out of reach.' },
  { key: 'group:runtime', label: 'Commands', help: 'Needs bubblewrap on the server; without it the tool is unavailable.' },
  { key: 'group:web', label: 'Web', help: 'Outbound requests to public addresses.' },
  { key: 'group:memory', label: 'Memory', help: 'Recall earlier conversations. Also switched by “Memory tools” on the Settings tab.' },
  { key: 'group:knowledge', label: 'Knowledge base', help: 'Search its documents and web pages. On by default; offered to the model once the agent has a source.' },
  { key: 'group:handoff', label: 'Handoff', help: 'Ask for a person from the team. On by default; trigger phrases and messages are on the Settings tab.' },
  { key: 'group:plugins', label: 'HTTP plugins', help: 'The API calls defined below, each a tool of its own.' },
];

/** The tools a group stands for (plugins: the agent's). */
export function groupTools(group: string, plugins: string[]): string[] {
  return group === 'group:plugins' ? plugins : [...(meta().tools.groups[group] ?? [])];
}

/** Names and groups → tool names. */
export function expand(names: Iterable<string>, plugins: string[]): Set<string> {
  const out = new Set<string>();
  for (const n of names) {
    if (n === 'group:plugins') plugins.forEach((p) => out.add(p));
    else if (n in meta().tools.groups) meta().tools.groups[n].forEach((t) => out.add(t));
    else out.add(n);
  }
  return out;
}

/** The tools a policy allows before plans and the installation have their say (deny wins). */
export function allowedBy(policy: ToolPolicy, plugins: string[], memoryTools: boolean): Set<string> {
  const allowed = expand(policy.allow, plugins);
  for (const d of expand(policy.deny, plugins)) allowed.delete(d);
  if (!memoryTools) for (const t of groupTools('group:memory', plugins)) allowed.delete(t);
  return allowed;
}

export const OUTCOMES: Record<ToolCallOutcome, { label: string; badge: string }> = {
  ok: { label: 'OK', badge: 'badge-green' },
  error: { label: 'Error', badge: 'badge-red' },
  refused: { label: 'Refused', badge: 'badge-red' },
  pending: { label: 'Awaiting approval', badge: 'badge-amber' },
  approved: { label: 'Approved', badge: 'badge-green' },
  denied: { label: 'Declined', badge: 'badge-zinc' },
  expired: { label: 'Expired', badge: 'badge-zinc' },
};

export const outcomeOf = (o: string) => OUTCOMES[o as ToolCallOutcome] ?? { label: o, badge: 'badge-zinc' };

export const APPROVAL_STATES: Record<ApprovalStatus, { label: string; badge: string }> = {
  pending: { label: 'Waiting', badge: 'badge-amber' },
  approved: { label: 'Running…', badge: 'badge-indigo' },
  done: { label: 'Approved · ran', badge: 'badge-green' },
  failed: { label: 'Approved · failed', badge: 'badge-red' },
  denied: { label: 'Declined', badge: 'badge-zinc' },
  expired: { label: 'Expired', badge: 'badge-zinc' },
};

/** Arguments as indented JSON (strings stay strings: Svelte escapes them when shown). */
export function prettyArgs(args: unknown): string {
  if (args === undefined || args === null) return '(none)';
  try {
    return JSON.stringify(args, null, 2) ?? String(args);
  } catch {
    return String(args);
  }
}

/** One line for a list: `{"path":"notes/plan.md",…}` cut to `max` characters. */
export function argsLine(args: unknown, max = 120): string {
  let s: string;
  try {
    s = JSON.stringify(args) ?? '';
  } catch {
    s = String(args);
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** "23 h 5 min left", "4 min left", "less than a minute left"; null once past. */
export function timeLeft(expiresAt: string, now: number): string | null {
  const ms = new Date(expiresAt).getTime() - now;
  if (!Number.isFinite(ms) || ms <= 0) return null;
  const min = Math.floor(ms / 60_000);
  if (min < 1) return 'less than a minute left';
  const d = Math.floor(min / 1440);
  const h = Math.floor((min % 1440) / 60);
  const m = min % 60;
  if (d) return `${d} d ${h} h left`;
  if (h) return `${h} h ${m} min left`;
  return `${m} min left`;
}

/** "1.2 s", "35 ms". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
