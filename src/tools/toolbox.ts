/**
 * The tools of one model call: the agent's effective tools, each wrapped so every call is recorded
 * (arguments redacted, result size, duration, outcome); a call to any tool the model was not
 * offered is answered "Error: …" and recorded as refused — a refusal the conversation survives.
 */
import type { ModelTool, Store } from '../domain/ports.js';
import type { Agent } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import { BUILTIN_TOOLS, effectiveTools, expand, type Effective } from './policy.js';
import { fsTools } from './fs-tools.js';

export type ToolContext = { agent: Agent; personId: string; conversationId: string; /** Set by the toolbox: whether the model may write the agent's shared notes in this conversation. */ notesWritable?: boolean };
/** A kind of tool this installation can provide (exec, web_fetch, …), and why it cannot when it cannot. */
export type ToolProvider = {
  names: string[];
  unavailable?(name: string): string | undefined;
  /** How the tool runs here when that matters to an operator (exec: which sandbox limits are in force). */
  mode?(name: string): string | undefined;
  build(ctx: ToolContext): ModelTool[] | Promise<ModelTool[]>;
};

const SECRET_ARG = /pass(word)?|secret|token|api_?key|authorization|cookie/i;
function redact(v: unknown, depth = 0): unknown {
  if (depth > 4 || v === null || typeof v !== 'object') return typeof v === 'string' && v.length > 2000 ? `${v.slice(0, 2000)}…` : v;
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => redact(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, SECRET_ARG.test(k) ? '[redacted]' : redact(x, depth + 1)]));
}

export function toolbox(deps: {
  store: Store; log: Logger;
  /** memory_search / memory_get / memory_write for one person with one agent. */
  memoryTools: (agent: Agent, personId: string) => ModelTool[];
  /** Whether what the model writes in this person's conversation may go to the notes everyone's prompt reads. */
  notesWritable?: (agent: Agent, personId: string) => Promise<boolean>;
  /** Plan caps of the agent's owner (null: none). */
  planTools: (agent: Agent) => Promise<string[] | null>;
  providers?: ToolProvider[];
  /** Holds a call that needs the owner's approval; returns what the model is told (late-bound). */
  hold?: () => ((a: { agent: Agent; conversationId: string; tool: string; input: unknown; toolCallId: string }) => Promise<string>) | undefined;
}) {
  const { store, log } = deps;
  const providers = () => deps.providers ?? [];

  function unavailable(name: string, agent?: Agent): string | undefined {
    if (agent?.plugins.some((p) => p.name === name)) return undefined;
    for (const p of providers()) if (p.names.includes(name)) return p.unavailable?.(name);
    if (['read', 'write', 'edit', 'list', 'memory_search', 'memory_get', 'memory_write'].includes(name)) return undefined;
    return 'not available on this installation';
  }

  function modeOf(name: string): string | null {
    for (const p of providers()) if (p.names.includes(name)) return p.mode?.(name) ?? null;
    return null;
  }

  /** The agent's effective tools, without the catalog (what a model call needs). */
  async function effectiveFor(agent: Agent, planTools?: string[] | null): Promise<Effective> {
    const plugins = agent.plugins.map((p) => p.name);
    return effectiveTools({ policy: agent.toolPolicy, memoryTools: agent.memoryTools, plugins, planTools: planTools === undefined ? await deps.planTools(agent) : planTools, unavailable: (n) => unavailable(n, agent) });
  }

  async function describe(agent: Agent): Promise<Effective & { catalog: { name: string; available: boolean; reason: string | null; mode: string | null }[] }> {
    const planTools = await deps.planTools(agent);
    const plugins = agent.plugins.map((p) => p.name);
    const e = await effectiveFor(agent, planTools);
    // Every tool, allowed or not, with whether it could run for this agent here (so a UI can say so before it is allowed).
    const everything = effectiveTools({ policy: { allow: [...BUILTIN_TOOLS, ...plugins], deny: [] }, memoryTools: true, plugins, planTools, unavailable: (n) => unavailable(n, agent) });
    const why = new Map(everything.unavailable.map((u) => [u.name, u.reason]));
    const catalog = [...BUILTIN_TOOLS, ...plugins].map((name) => ({ name, available: !why.has(name), reason: why.get(name) ?? null, mode: why.has(name) ? null : modeOf(name) }));
    return { ...e, catalog };
  }

  function recorded(tool: ModelTool, ctx: ToolContext, needsApproval: boolean): ModelTool {
    return {
      ...tool,
      async execute(input: unknown) {
        const hold = deps.hold?.();
        if (needsApproval && hold) {
          const rec = await store.toolCalls.insert({
            agentId: ctx.agent.id, conversationId: ctx.conversationId, tool: tool.name, args: redact(input), outcome: 'pending',
            resultPreview: null, resultBytes: 0, durationMs: 0,
          });
          return hold({ agent: ctx.agent, conversationId: ctx.conversationId, tool: tool.name, input, toolCallId: rec.id });
        }
        const started = performance.now();
        let result: string;
        try {
          result = await tool.execute(input as never);
        } catch (err) {
          log.warn('tool failed', { tool: tool.name, agentId: ctx.agent.id, error: (err as Error).message });
          result = `Error: ${tool.name} failed: ${(err as Error).message}`;
        }
        const outcome = result.startsWith('Error:') ? 'error' : result.startsWith('Pending approval') ? 'pending' : 'ok';
        await store.toolCalls.insert({
          agentId: ctx.agent.id, conversationId: ctx.conversationId, tool: tool.name, args: redact(input), outcome,
          resultPreview: result.slice(0, 500), resultBytes: Buffer.byteLength(result), durationMs: Math.round(performance.now() - started),
        }).catch((err) => log.error('tool call not recorded', { error: err }));
        return result;
      },
    };
  }

  /** The answer to a call of a tool the model was not offered: why, recorded and logged. */
  function refuser(ctx: ToolContext, reasons: Map<string, string>) {
    return async (name: string, input: unknown): Promise<string> => {
      const known = (BUILTIN_TOOLS as readonly string[]).includes(name) || ctx.agent.plugins.some((p) => p.name === name);
      const why = known
        ? `the tool "${name}" is not enabled for this agent${reasons.has(name) ? ` (${reasons.get(name)})` : ''}.`
        : `there is no tool named "${name.slice(0, 80)}"; use only the tools you were given.`;
      log.warn('refused a tool call the agent may not make', { tool: name.slice(0, 80), agentId: ctx.agent.id, known });
      await store.toolCalls.insert({
        agentId: ctx.agent.id, conversationId: ctx.conversationId, tool: name.slice(0, 80), args: redact(input), outcome: 'refused',
        resultPreview: why, resultBytes: 0, durationMs: 0,
      }).catch(() => {});
      return `Error: ${why}`;
    };
  }

  return {
    describe,

    /** One effective tool, unwrapped: what an approved call runs. */
    async resolve(ctx: ToolContext, name: string): Promise<ModelTool | undefined> {
      const { effective } = await effectiveFor(ctx.agent);
      if (!effective.includes(name)) return undefined;
      return (await build(ctx, effective)).find((t) => t.name === name);
    },

    /**
     * The agent's effective tools, built but not wrapped (nothing recorded, nothing held for approval):
     * for the editor's preview (services/preview.ts), which has no conversation to record them in and
     * decides itself which of them may run.
     */
    async unrecorded(ctx: ToolContext): Promise<{ tools: ModelTool[]; requireApproval: Set<string> }> {
      const { effective } = await effectiveFor(ctx.agent);
      return { tools: await build(ctx, effective), requireApproval: expand(ctx.agent.toolPolicy?.requireApproval ?? [], ctx.agent.plugins.map((p) => p.name)) };
    },

    /** The tools offered in this call (the effective ones, each recorded), and how any other call is refused. */
    async forCall(ctx: ToolContext): Promise<{ tools: ModelTool[]; refuse: (toolName: string, input: unknown) => Promise<string> }> {
      // The effective tools only: the catalog of every tool (for the dashboard) is not built per call.
      const { effective, unavailable: missing } = await effectiveFor(ctx.agent);
      const approval = expand(ctx.agent.toolPolicy?.requireApproval ?? [], ctx.agent.plugins.map((p) => p.name));
      const tools = (await build(ctx, effective)).map((t) => recorded(t, ctx, approval.has(t.name)));
      return { tools, refuse: refuser(ctx, new Map(missing.map((m) => [m.name, m.reason]))) };
    },
  };

  async function build(call: ToolContext, effective: string[]): Promise<ModelTool[]> {
    const built: ModelTool[] = [];
    const ctx: ToolContext = { ...call, notesWritable: (await deps.notesWritable?.(call.agent, call.personId)) ?? false };
    if (effective.some((t) => t.startsWith('memory_'))) built.push(...deps.memoryTools(ctx.agent, ctx.personId));
    if (effective.some((t) => ['read', 'write', 'edit', 'list'].includes(t))) built.push(...fsTools({ store, agentId: ctx.agent.id, notesWritable: ctx.notesWritable ?? false }));
    const pluginNames = ctx.agent.plugins.map((p) => p.name);
    for (const p of providers()) {
      // A provider with no fixed names (plugins) builds the agent's own tools.
      const names = p.names.length ? p.names : pluginNames;
      if (names.some((n) => effective.includes(n))) built.push(...(await p.build(ctx)));
    }
    return built.filter((t) => effective.includes(t.name));
  }
}
export type Toolbox = ReturnType<typeof toolbox>;
