import type { Persona } from '../domain/types.js';

/** A rough token estimate (≈4 characters a token) for previews and budgets before a call. */
export const estimateTokens = (s: string) => Math.ceil(s.length / 4);

/**
 * The system prompt an agent runs with: who it is, then its persona files in a fixed order,
 * then the operator's custom instructions. Empty parts are left out.
 */
export function composeSystemPrompt(a: { name: string; description?: string; persona: Persona }): string {
  const parts = [
    `You are ${a.name}.${a.description ? ` ${a.description}` : ''}`,
    a.persona.soul, a.persona.agents, a.persona.tools, a.persona.user,
    a.persona.instructions.trim() ? `## Custom instructions\n\n${a.persona.instructions.trim()}` : '',
  ];
  return parts.map((p) => p.trim()).filter(Boolean).join('\n\n');
}

/** `{snake_case}` names a placeholder; `{{name}}` is left alone as literal text. */
export const PLACEHOLDER = /(?<!\{)\{([a-z][a-z0-9_]*)\}(?!\})/g;

export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

export function fillPlaceholders(text: string, vars: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => (name in vars ? vars[name]! : whole));
}
