import type { Selectable } from 'kysely';
import type { Db } from '../db.js';
import type { Database } from '../schema.js';
import type { IdGenerator } from '../../domain/ports.js';
import type { DeliverChannel, DeliveryStatus, RunStatus, Schedule, ScheduleRepo, ScheduleRun } from '../../domain/ports/schedules.js';

const toSchedule = (r: Selectable<Database['schedules']>): Schedule => ({
  id: r.id, agentId: r.agent_id, kind: r.kind, name: r.name, cron: r.cron, everyMinutes: r.every_minutes, timezone: r.timezone,
  instruction: r.instruction, deliver: { channel: r.deliver_channel as DeliverChannel, to: r.deliver_to }, enabled: !!r.enabled,
  nextRunAt: r.next_run_at, createdAt: r.created_at, updatedAt: r.updated_at,
});
const toRun = (r: Selectable<Database['schedule_runs']>): ScheduleRun => ({
  id: r.id, scheduleId: r.schedule_id, agentId: r.agent_id, scheduledFor: r.scheduled_for, late: !!r.late, status: r.status as RunStatus,
  startedAt: r.started_at, finishedAt: r.finished_at, costUsd: Number(r.cost_usd), output: r.output, error: r.error, conversationId: r.conversation_id,
  delivery: { channel: r.delivery_channel as DeliverChannel, status: r.delivery_status as DeliveryStatus | null, error: r.delivery_error },
});

/** Schedules, their runs (one per slot, by the unique (schedule_id, scheduled_for) index), owner links and owner chats. */
export function scheduleRepo(db: Db, ids: IdGenerator): ScheduleRepo {
  const repo: ScheduleRepo = {
    async create(s) {
      const id = ids.id();
      const now = new Date().toISOString();
      const createdAt = s.nextRunAt && s.nextRunAt < now ? s.nextRunAt : now;
      await db.insertInto('schedules').values({
        id, agent_id: s.agentId, kind: s.kind, name: s.name, cron: s.cron, every_minutes: s.everyMinutes, timezone: s.timezone, instruction: s.instruction,
        deliver_channel: s.deliver.channel, deliver_to: s.deliver.to, enabled: s.enabled ? 1 : 0, next_run_at: s.nextRunAt, created_at: createdAt, updated_at: createdAt,
      }).execute();
      return (await repo.byId(id))!;
    },
    async byId(id) {
      const r = await db.selectFrom('schedules').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toSchedule(r) : undefined;
    },
    async list(agentId) {
      return (await db.selectFrom('schedules').selectAll().where('agent_id', '=', agentId).orderBy('created_at').orderBy('id').execute()).map(toSchedule);
    },
    async count(agentIds, opts = {}) {
      if (!agentIds.length) return 0;
      let q = db.selectFrom('schedules').where('agent_id', 'in', agentIds);
      if (opts.kind) q = q.where('kind', '=', opts.kind);
      const r = await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async update(id, p) {
      const v: Record<string, unknown> = {};
      if (p.name !== undefined) v.name = p.name;
      if (p.cron !== undefined) v.cron = p.cron;
      if (p.everyMinutes !== undefined) v.every_minutes = p.everyMinutes;
      if (p.timezone !== undefined) v.timezone = p.timezone;
      if (p.instruction !== undefined) v.instruction = p.instruction;
      if (p.deliver !== undefined) { v.deliver_channel = p.deliver.channel; v.deliver_to = p.deliver.to; }
      if (p.enabled !== undefined) v.enabled = p.enabled ? 1 : 0;
      if (p.nextRunAt !== undefined) v.next_run_at = p.nextRunAt;
      v.updated_at = new Date().toISOString();
      await db.updateTable('schedules').set(v).where('id', '=', id).execute();
      return repo.byId(id);
    },
    async remove(id) {
      await db.deleteFrom('schedule_runs').where('schedule_id', '=', id).execute();
      await db.deleteFrom('schedules').where('id', '=', id).execute();
    },
    async due(now, limit) {
      return (await db.selectFrom('schedules').selectAll().where('enabled', '=', 1).where('next_run_at', 'is not', null).where('next_run_at', '<=', now)
        .orderBy('next_run_at').limit(limit).execute()).map(toSchedule);
    },
    async advance(id, from, to) {
      const r = await db.updateTable('schedules').set({ next_run_at: to }).where('id', '=', id).where('next_run_at', '=', from).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async claimRun(r) {
      const id = ids.id();
      await db.insertInto('schedule_runs').values({
        id, schedule_id: r.scheduleId, agent_id: r.agentId, scheduled_for: r.scheduledFor, late: r.late ? 1 : 0, status: 'running', started_at: r.startedAt,
        finished_at: null, cost_usd: 0, output: null, error: null, conversation_id: null, delivery_channel: r.deliveryChannel, delivery_status: null, delivery_error: null,
      }).onConflict((oc) => oc.columns(['schedule_id', 'scheduled_for']).doNothing()).execute();
      return repo.run(id);
    },
    async finishRun(id, r) {
      await db.updateTable('schedule_runs').set({
        status: r.status, finished_at: r.finishedAt,
        ...(r.costUsd !== undefined ? { cost_usd: r.costUsd } : {}),
        ...(r.output !== undefined ? { output: r.output } : {}),
        ...(r.error !== undefined ? { error: r.error } : {}),
        ...(r.conversationId !== undefined ? { conversation_id: r.conversationId } : {}),
        ...(r.delivery ? { delivery_status: r.delivery.status, delivery_error: r.delivery.error ?? null } : {}),
      }).where('id', '=', id).execute();
    },
    async failStale(startedBefore, finishedAt, error) {
      const r = await db.updateTable('schedule_runs').set({ status: 'failed', finished_at: finishedAt, error, delivery_status: 'skipped', delivery_error: 'failed' })
        .where('status', '=', 'running').where('finished_at', 'is', null).where('started_at', '<', startedBefore).executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async run(id) {
      const r = await db.selectFrom('schedule_runs').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toRun(r) : undefined;
    },
    async runs(scheduleId, limit) {
      return (await db.selectFrom('schedule_runs').selectAll().where('schedule_id', '=', scheduleId).orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute()).map(toRun);
    },
    async addOwnerLink(l) {
      await db.insertInto('owner_links').values({ code_hash: l.codeHash, agent_id: l.agentId, expires_at: l.expiresAt, used_at: null, created_at: l.createdAt }).execute();
    },
    async useOwnerLink(codeHash, agentId, now) {
      const r = await db.updateTable('owner_links').set({ used_at: now })
        .where('code_hash', '=', codeHash).where('agent_id', '=', agentId).where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async setOwnerChat(c) {
      await db.insertInto('owner_chats').values({ agent_id: c.agentId, channel: c.channel, chat_id: c.chatId, name: c.name, linked_at: c.linkedAt })
        .onConflict((oc) => oc.column('agent_id').doUpdateSet({ channel: c.channel, chat_id: c.chatId, name: c.name, linked_at: c.linkedAt })).execute();
    },
    async ownerChat(agentId) {
      const r = await db.selectFrom('owner_chats').selectAll().where('agent_id', '=', agentId).executeTakeFirst();
      return r ? { agentId: r.agent_id, channel: 'telegram', chatId: r.chat_id, name: r.name, linkedAt: r.linked_at } : undefined;
    },
    async setAccountTimezone(userId, timezone) {
      await db.updateTable('users').set({ timezone }).where('id', '=', userId).execute();
    },
    async lastPersonMessageAt(agentId, personKind, externalId) {
      const r = await db.selectFrom('conversations').innerJoin('people', 'people.id', 'conversations.person_id')
        .where('conversations.agent_id', '=', agentId).where('people.kind', '=', personKind).where('people.external_id', '=', externalId)
        .select((eb) => eb.fn.max('conversations.last_person_message_at').as('at')).executeTakeFirst();
      return (r?.at as string | null | undefined) ?? null;
    },
  };
  return repo;
}
