import type { Db } from '../db.js';
import type { AgentRepo, Clock, IdGenerator, AgentPatch } from '../../domain/ports.js';
import { HANDOFF_DEFAULTS, KNOWLEDGE_DEFAULTS, SITE_DEFAULTS, VOICE_DEFAULTS, PERSONA_FILES, type Agent, type AgentStatus, type Persona, type PersonaKey } from '../../domain/types.js';
import type { Database } from '../schema.js';
import { prepared, preparedShapes } from '../prepared.js';
import { errors } from '../../domain/errors.js';

/** A unique-constraint failure, on either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
const slugTaken = (err: unknown) => {
  if (isUniqueViolation(err)) throw errors.conflict('slug_taken', 'Another agent already uses this slug; choose another.');
  throw err;
};

type AgentRow = Database['agents'];
const personaKeys = Object.keys(PERSONA_FILES) as PersonaKey[];

/** Runs fn inside a transaction unless db already is one. */
export async function inTx<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

/**
 * The agents' rows with their persona files, in one statement: each file is a correlated subquery
 * on agent_files' primary key (agent_id, path). It used to be a second query per read, and every
 * model call reads its agent (bench/proxy.ts counts the statements).
 */
const agentsWithPersona = (db: Db) => db.selectFrom('agents').selectAll('agents').select((eb) => personaKeys.map((key) =>
  eb.selectFrom('agent_files').select('content').whereRef('agent_files.agent_id', '=', 'agents.id').where('agent_files.path', '=', PERSONA_FILES[key]).as(`persona_${key}`)));
type Row = AgentRow & { [K in PersonaKey as `persona_${K}`]: string | null };
/** One agent by id or by slug: every model call reads its agent (prepared: built once). */
const agentById = prepared((db, p: { id: string }) => agentsWithPersona(db).where('agents.id', '=', p.id));
const agentBySlug = prepared((db, p: { slug: string }) => agentsWithPersona(db).where('agents.slug', '=', p.slug));
/** Agents by owner, listing and status (the shared WhatsApp number lists its agents for every message): one statement per set of filters given. */
const agentList = preparedShapes((filters: string) => (db, p: { ownerId: string; listed: number; status: string }) => {
  let q = agentsWithPersona(db);
  if (filters.includes('o')) q = q.where('agents.owner_id', '=', p.ownerId);
  if (filters.includes('l')) q = q.where('agents.listed', '=', p.listed);
  if (filters.includes('s')) q = q.where('agents.status', '=', p.status);
  return q.orderBy('agents.created_at').orderBy('agents.name');
});

export function agentRepo(db: Db, ids: IdGenerator, clock: Clock): AgentRepo {
  function hydrate(rows: Row[]): Agent[] {
    return rows.map((r) => ({
      id: r.id, slug: r.slug, name: r.name, description: r.description, icon: r.icon,
      persona: { soul: r.persona_soul ?? '', agents: r.persona_agents ?? '', tools: r.persona_tools ?? '', user: r.persona_user ?? '', instructions: r.instructions },
      model: r.model, fallbackModel: r.fallback_model,
      temperature: Number(r.temperature), status: r.status as AgentStatus, listed: Number(r.listed) === 1,
      monthlyBudgetUsd: r.monthly_budget_usd == null ? null : Number(r.monthly_budget_usd), downgradeAtPercent: Number(r.downgrade_at_percent),
      stopAtPercent: Number(r.stop_at_percent), budgetStopMessage: r.budget_stop_message, personDailyMessages: r.person_daily_messages == null ? null : Number(r.person_daily_messages),
      personDailyCostUsd: r.person_daily_cost_usd == null ? null : Number(r.person_daily_cost_usd), maxOutputTokens: Number(r.max_output_tokens),
      toolPolicy: r.tool_policy ? JSON.parse(r.tool_policy) : null, plugins: r.plugins ? JSON.parse(r.plugins) : [],
      handoff: { ...HANDOFF_DEFAULTS, ...(r.handoff ? JSON.parse(r.handoff) : {}) },
      site: { ...SITE_DEFAULTS, ...(r.site ? JSON.parse(r.site) : {}) },
      voice: { ...VOICE_DEFAULTS, ...(r.voice ? JSON.parse(r.voice) : {}) },
      knowledge: { ...KNOWLEDGE_DEFAULTS, ...(r.knowledge ? JSON.parse(r.knowledge) : {}) },
      siteUrl: r.site_url ?? null, stack: r.stack ? JSON.parse(r.stack) : null, pausedReason: (r.paused_reason ?? null) as Agent['pausedReason'],
      sessionTimeoutMinutes: Number(r.session_timeout_minutes), contextTokenBudget: Number(r.context_token_budget), memoryTools: Number(r.memory_tools) === 1, sharedNotes: Number(r.shared_notes) === 1,
      ownerId: r.owner_id, version: Number(r.version), createdAt: r.created_at, updatedAt: r.updated_at,
    }));
  }

  async function writePersona(tx: Db, agentId: string, persona: Partial<Persona>, at: string) {
    for (const key of personaKeys) {
      const content = persona[key];
      if (content === undefined) continue;
      await tx.insertInto('agent_files').values({ agent_id: agentId, path: PERSONA_FILES[key], content, updated_at: at })
        .onConflict((oc) => oc.columns(['agent_id', 'path']).doUpdateSet({ content, updated_at: at }))
        .execute();
    }
  }

  const repo: AgentRepo = {
    async insert(a) {
      const at = clock.now().toISOString();
      const id = ids.id();
      await inTx(db, async (tx) => {
        await tx.insertInto('agents').values({
          id, owner_id: a.ownerId, slug: a.slug, name: a.name, description: a.description, icon: a.icon,
          instructions: a.persona.instructions, model: a.model, fallback_model: a.fallbackModel,
          temperature: a.temperature, status: a.status, listed: a.listed ? 1 : 0, version: 1,
          monthly_budget_usd: a.monthlyBudgetUsd, downgrade_at_percent: a.downgradeAtPercent, stop_at_percent: a.stopAtPercent,
          budget_stop_message: a.budgetStopMessage, person_daily_messages: a.personDailyMessages, person_daily_cost_usd: a.personDailyCostUsd,
          tool_policy: a.toolPolicy ? JSON.stringify(a.toolPolicy) : null, plugins: a.plugins.length ? JSON.stringify(a.plugins) : null,
          handoff: JSON.stringify(a.handoff), site: JSON.stringify(a.site), voice: JSON.stringify(a.voice), knowledge: JSON.stringify(a.knowledge),
          max_output_tokens: a.maxOutputTokens, site_url: a.siteUrl, stack: a.stack ? JSON.stringify(a.stack) : null, paused_reason: a.pausedReason,
          session_timeout_minutes: a.sessionTimeoutMinutes, context_token_budget: a.contextTokenBudget, memory_tools: a.memoryTools ? 1 : 0, shared_notes: a.sharedNotes ? 1 : 0,
          created_at: at, updated_at: at,
        }).execute();
        await writePersona(tx, id, a.persona, at);
      }).catch(slugTaken);
      return (await repo.byId(id))!;
    },
    async byId(id) {
      return hydrate((await agentById.execute(db, { id })).rows as Row[])[0];
    },
    async bySlug(slug) {
      return hydrate((await agentBySlug.execute(db, { slug })).rows as Row[])[0];
    },
    async slugExists(slug) {
      return !!(await db.selectFrom('agents').select('id').where('slug', '=', slug).executeTakeFirst());
    },
    async list(f) {
      const filters = `${f.ownerId ? 'o' : ''}${f.listed !== undefined ? 'l' : ''}${f.status ? 's' : ''}`;
      const values = { ownerId: f.ownerId ?? '', listed: f.listed ? 1 : 0, status: f.status ?? '' };
      return hydrate((await agentList(filters).execute(db, values)).rows as Row[]);
    },
    async update(id, patch: AgentPatch, expectedVersion) {
      const at = clock.now().toISOString();
      const ok = await inTx(db, async (tx) => {
        const set: Partial<AgentRow> = { updated_at: at };
        if (patch.slug !== undefined) set.slug = patch.slug;
        if (patch.name !== undefined) set.name = patch.name;
        if (patch.description !== undefined) set.description = patch.description;
        if (patch.icon !== undefined) set.icon = patch.icon;
        if (patch.model !== undefined) set.model = patch.model;
        if (patch.fallbackModel !== undefined) set.fallback_model = patch.fallbackModel;
        if (patch.temperature !== undefined) set.temperature = patch.temperature;
        if (patch.status !== undefined) set.status = patch.status;
        if (patch.listed !== undefined) set.listed = patch.listed ? 1 : 0;
        if (patch.sessionTimeoutMinutes !== undefined) set.session_timeout_minutes = patch.sessionTimeoutMinutes;
        if (patch.contextTokenBudget !== undefined) set.context_token_budget = patch.contextTokenBudget;
        if (patch.memoryTools !== undefined) set.memory_tools = patch.memoryTools ? 1 : 0;
        if (patch.sharedNotes !== undefined) set.shared_notes = patch.sharedNotes ? 1 : 0;
        if (patch.monthlyBudgetUsd !== undefined) set.monthly_budget_usd = patch.monthlyBudgetUsd;
        if (patch.downgradeAtPercent !== undefined) set.downgrade_at_percent = patch.downgradeAtPercent;
        if (patch.stopAtPercent !== undefined) set.stop_at_percent = patch.stopAtPercent;
        if (patch.budgetStopMessage !== undefined) set.budget_stop_message = patch.budgetStopMessage;
        if (patch.personDailyMessages !== undefined) set.person_daily_messages = patch.personDailyMessages;
        if (patch.personDailyCostUsd !== undefined) set.person_daily_cost_usd = patch.personDailyCostUsd;
        if (patch.maxOutputTokens !== undefined) set.max_output_tokens = patch.maxOutputTokens;
        if (patch.siteUrl !== undefined) set.site_url = patch.siteUrl;
        if (patch.toolPolicy !== undefined) set.tool_policy = patch.toolPolicy ? JSON.stringify(patch.toolPolicy) : null;
        if (patch.plugins !== undefined) set.plugins = patch.plugins.length ? JSON.stringify(patch.plugins) : null;
        if (patch.handoff !== undefined) set.handoff = JSON.stringify(patch.handoff);
        if (patch.site !== undefined) set.site = JSON.stringify(patch.site);
        if (patch.voice !== undefined) set.voice = JSON.stringify(patch.voice);
        if (patch.knowledge !== undefined) set.knowledge = JSON.stringify(patch.knowledge);
        if (patch.stack !== undefined) set.stack = patch.stack ? JSON.stringify(patch.stack) : null;
        if (patch.pausedReason !== undefined) set.paused_reason = patch.pausedReason;
        if (patch.persona?.instructions !== undefined) set.instructions = patch.persona.instructions;
        let q = tx.updateTable('agents').set((eb) => ({ ...set, version: eb('version', '+', 1) })).where('id', '=', id);
        if (expectedVersion !== undefined) q = q.where('version', '=', expectedVersion);
        const r = await q.executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) return false;
        if (patch.persona) await writePersona(tx, id, patch.persona, at);
        return true;
      }).catch(slugTaken);
      return ok ? repo.byId(id) : undefined;
    },
    async delete(id) {
      const r = await db.deleteFrom('agents').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
  return repo;
}
