import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { templateSchema, type AgentTemplate } from '../domain/schemas.js';

/** Loads the templates shipped in templates/*.json once; a broken file fails start-up loudly. */
export function loadTemplates(dir: string): Map<string, AgentTemplate> {
  const out = new Map<string, AgentTemplate>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
    const parsed = templateSchema.safeParse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    if (!parsed.success) throw new Error(`Template ${f} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const id = parsed.data.id ?? f.replace(/\.json$/, '');
    out.set(id, { ...parsed.data, id });
  }
  return out;
}
