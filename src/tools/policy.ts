/**
 * Which tools an agent may use: its allow and deny lists (deny wins), expanded from named groups,
 * limited by what its owner's plan includes and by what this installation can run.
 */
export const BUILTIN_TOOLS = ['read', 'write', 'edit', 'list', 'exec', 'web_fetch', 'web_search', 'memory_search', 'memory_get', 'memory_write', 'handoff', 'site_audit', 'knowledge_search'] as const;
export type BuiltinTool = (typeof BUILTIN_TOOLS)[number];

export const TOOL_GROUPS: Record<string, readonly string[]> = {
  'group:fs': ['read', 'write', 'edit', 'list'],
  'group:web': ['web_fetch', 'web_search'],
  'group:memory': ['memory_search', 'memory_get', 'memory_write'],
  'group:runtime': ['exec'],
  'group:handoff': ['handoff'],
  'group:site': ['site_audit'],
  'group:knowledge': ['knowledge_search'],
};

export type ToolPolicy = { allow: string[]; deny: string[] };
/** What an agent gets when nobody chose: recalling its conversations with the person, asking for a person (issue 15), and searching its knowledge base (issue 18; offered only once it has a source). */
export const DEFAULT_POLICY: ToolPolicy = { allow: ['group:memory', 'group:handoff', 'group:knowledge'], deny: [] };

/** The plan vocabulary (plans.tools) for each tool; tools not listed here are not capped by plans. */
export function planCapability(tool: string, plugins: string[]): string | undefined {
  if (tool.startsWith('memory_')) return 'memory';
  if (tool === 'web_fetch' || tool === 'web_search' || tool === 'exec') return tool;
  if (plugins.includes(tool)) return 'plugins';
  return undefined;
}

export function expand(names: string[], plugins: string[]): Set<string> {
  const out = new Set<string>();
  for (const n of names) {
    if (n === 'group:plugins') for (const p of plugins) out.add(p);
    else if (TOOL_GROUPS[n]) for (const t of TOOL_GROUPS[n]!) out.add(t);
    else out.add(n);
  }
  return out;
}

/** Names PATCH may use in allow/deny: tools, groups, and this agent's plugins. */
export function knownNames(plugins: string[]): string[] {
  return [...BUILTIN_TOOLS, ...Object.keys(TOOL_GROUPS), 'group:plugins', ...plugins];
}

export type Effective = { effective: string[]; unavailable: { name: string; reason: string }[] };

/**
 * The tools offered to the model. `available` says why a tool cannot run here (no sandbox, no
 * search provider); `planTools` is the owner's plan (null: no cap).
 */
export function effectiveTools(a: {
  policy: ToolPolicy | null; memoryTools: boolean; plugins: string[]; planTools: string[] | null;
  unavailable: (tool: string) => string | undefined;
}): Effective {
  const policy = a.policy ?? DEFAULT_POLICY;
  const allowed = expand(policy.allow, a.plugins);
  for (const d of expand(policy.deny, a.plugins)) allowed.delete(d);
  if (!a.memoryTools) for (const t of TOOL_GROUPS['group:memory']!) allowed.delete(t);
  const effective: string[] = [];
  const unavailable: { name: string; reason: string }[] = [];
  const order = [...BUILTIN_TOOLS, ...a.plugins];
  for (const t of order) {
    if (!allowed.has(t)) continue;
    const cap = planCapability(t, a.plugins);
    if (cap && a.planTools && !a.planTools.includes(cap)) { unavailable.push({ name: t, reason: `not included in the plan (needs "${cap}")` }); continue; }
    const why = a.unavailable(t);
    if (why) { unavailable.push({ name: t, reason: why }); continue; }
    effective.push(t);
  }
  return { effective, unavailable };
}
