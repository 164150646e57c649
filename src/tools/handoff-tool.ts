/**
 * The `handoff` tool (issue 15): the agent asks for a person from the team. On by default (the default
 * policy allows `group:handoff`), listed in the agent's tool catalog, and denied like any other tool.
 * What it does lives in services/handoff.ts; this provider binds it to one conversation.
 */
import type { ModelTool } from '../domain/ports.js';
import type { Agent } from '../domain/types.js';
import type { ToolProvider } from './toolbox.js';

export function handoffProvider(deps: { tool: (agent: Agent, conversationId: string) => ModelTool }): ToolProvider {
  return {
    names: ['handoff'],
    build: (ctx) => [deps.tool(ctx.agent, ctx.conversationId)],
  };
}
