import { describe, expect, it } from 'vitest';
import { composeSystemPrompt, fillPlaceholders, placeholdersIn } from './prompt.js';
import { slugify } from './agents.js';

describe('system prompt and placeholders', () => {
  it('composes identity, persona files in order, then custom instructions, skipping empty parts', () => {
    const p = composeSystemPrompt({ name: 'Ada', description: 'Helps.', persona: { soul: '# S', agents: '', tools: '  ', user: '# U', instructions: ' Be kind. ' } });
    expect(p).toBe('You are Ada. Helps.\n\n# S\n\n# U\n\n## Custom instructions\n\nBe kind.');
  });

  it('finds and fills {snake_case} placeholders but leaves {{escaped}} and JSON alone', () => {
    const t = 'Hi {customer_name} at {site_url}; {{literal}} {"json": 1} {Not}';
    expect(placeholdersIn(t)).toEqual(['customer_name', 'site_url']);
    expect(fillPlaceholders(t, { customer_name: 'Mark' })).toBe('Hi Mark at {site_url}; {{literal}} {"json": 1} {Not}');
  });

  it('makes readable slugs', () => {
    expect(slugify("Mark's Site PM")).toBe('mark-s-site-pm');
    expect(slugify('Crème Brûlée Bot')).toBe('creme-brulee-bot');
    expect(slugify('日本語')).toBe('agent');
  });
});
