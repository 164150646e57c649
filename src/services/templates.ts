import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { templateSchema, type AgentTemplate } from '../domain/schemas.js';
import { fillPlaceholders, placeholdersIn } from './prompt.js';

/**
 * What the gallery shows of a template: its `summary`, else its description with placeholders
 * filled by their defaults. Null when a placeholder would still show ("for {site_url}"): the
 * operator fills those in the form, the gallery never shows them.
 */
export function templateSummary(t: Pick<AgentTemplate, 'summary' | 'description' | 'placeholders'>): string | null {
  const text = t.summary ?? fillPlaceholders(t.description, Object.fromEntries(
    Object.entries(t.placeholders).flatMap(([k, p]) => (p.default === undefined ? [] : [[k, p.default]]))));
  return placeholdersIn(text).length > 0 ? null : text;
}

/** Loads the templates shipped in templates/*.json once; a broken file fails start-up loudly. */
export function loadTemplates(dir: string): Map<string, AgentTemplate> {
  const out = new Map<string, AgentTemplate>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
    const parsed = templateSchema.safeParse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    if (!parsed.success) throw new Error(`Template ${f} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const summary = templateSummary(parsed.data);
    if (summary === null) throw new Error(`Template ${f} is invalid: summary: the description has a placeholder without a default; give the gallery a "summary" in plain words`);
    const id = parsed.data.id ?? f.replace(/\.json$/, '');
    out.set(id, { ...parsed.data, id, summary });
  }
  return out;
}
