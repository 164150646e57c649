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

/**
 * A template's model and fallback model stick only where this installation can serve them: the
 * provider is configured and, when it can say what it serves, serves that model. Otherwise the
 * field is left empty (the instance default answers in the model's place; no downgrade happens in
 * the fallback's) and a note says why. Fields the caller set itself are left alone.
 */
export async function fitTemplateModels(
  d: { model: string | null; fallbackModel: string | null },
  given: { model?: string | null; fallbackModel?: string | null },
  providers: { configured(model: string): Promise<boolean>; offers(model: string): Promise<boolean | undefined> },
): Promise<string[]> {
  const notes: string[] = [];
  for (const key of ['model', 'fallbackModel'] as const) {
    const m = d[key];
    if (!m || given[key] !== undefined) continue;
    const provider = m.slice(0, m.indexOf(':'));
    const what = key === 'model' ? 'model' : 'fallback model';
    if (!(await providers.configured(m))) {
      d[key] = null;
      notes.push(`The template's ${what} ${m} was left empty: no "${provider}" provider is configured.${key === 'model' ? ' The default model answers instead.' : ''}`);
    } else if ((await providers.offers(m)) === false) {
      d[key] = null;
      notes.push(`The template's ${what} ${m} was left empty: the "${provider}" provider does not serve it. ${key === 'model' ? 'The default model answers instead; choose' : 'Choose a cheaper model it serves as the fallback'} in the agent's settings.`);
    }
  }
  return notes;
}
