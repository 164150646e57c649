/**
 * The `knowledge_search {query}` tool (issue 18): the agent searches its own knowledge base. On by default
 * (the default policy allows `group:knowledge`) but offered to the model only once the agent has a source;
 * denied like any other tool. What it does lives in services/knowledge.ts; this provider binds it to one agent.
 */
import type { ModelTool } from '../domain/ports.js';
import type { Agent } from '../domain/types.js';
import type { ToolProvider } from './toolbox.js';

export function knowledgeProvider(deps: { has: (agent: Agent) => Promise<boolean>; tool: (agent: Agent) => ModelTool }): ToolProvider {
  return {
    names: ['knowledge_search'],
    build: async (ctx) => ((await deps.has(ctx.agent)) ? [deps.tool(ctx.agent)] : []),
  };
}
