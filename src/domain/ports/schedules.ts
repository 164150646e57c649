/** Scheduled tasks of an agent, their runs, and the owner's chat with the agent (issue 17). */
export type DeliverChannel = 'telegram' | 'whatsapp' | 'email' | 'webhook' | 'dashboard';
export const DELIVER_CHANNELS: readonly DeliverChannel[] = ['telegram', 'whatsapp', 'email', 'webhook', 'dashboard'];
export type RunStatus = 'running' | 'ok' | 'failed' | 'skipped';
export type DeliveryStatus = 'sent' | 'failed' | 'skipped';

export type Schedule = {
  id: string; agentId: string; kind: string; name: string; cron: string | null; everyMinutes: number | null; timezone: string | null;
  instruction: string; deliver: { channel: DeliverChannel; to: string | null }; enabled: boolean; nextRunAt: string | null; createdAt: string; updatedAt: string;
};
export type ScheduleRun = {
  id: string; scheduleId: string; agentId: string; scheduledFor: string | null; late: boolean; status: RunStatus; startedAt: string; finishedAt: string | null;
  costUsd: number; output: string | null; error: string | null; conversationId: string | null;
  delivery: { channel: DeliverChannel; status: DeliveryStatus | null; error: string | null };
};
export type NewSchedule = Omit<Schedule, 'id' | 'createdAt' | 'updatedAt'>;
export type SchedulePatch = Partial<Omit<NewSchedule, 'agentId' | 'kind'>>;
export type OwnerChat = { agentId: string; channel: 'telegram'; chatId: string; name: string | null; linkedAt: string };

export interface ScheduleRepo {
  create(s: NewSchedule): Promise<Schedule>;
  byId(id: string): Promise<Schedule | undefined>;
  list(agentId: string): Promise<Schedule[]>;
  /** Schedules of these agents (of one kind when given, e.g. `task`: the owner's own). */
  count(agentIds: string[], opts?: { kind?: string }): Promise<number>;
  update(id: string, patch: SchedulePatch): Promise<Schedule | undefined>;
  remove(id: string): Promise<void>;
  /** Enabled schedules whose next run is due at `now`. */
  due(now: string, limit: number): Promise<Schedule[]>;
  /** Moves next_run_at from `from` to `to`, only if it still is `from` (the one process that wins queues the slot). */
  advance(id: string, from: string, to: string | null): Promise<boolean>;
  /** A run record; undefined when the slot already has one (exactly one run per slot). */
  claimRun(r: { scheduleId: string; agentId: string; scheduledFor: string | null; late: boolean; deliveryChannel: DeliverChannel; startedAt: string }): Promise<ScheduleRun | undefined>;
  finishRun(id: string, r: { status: RunStatus; finishedAt: string; costUsd?: number; output?: string | null; error?: string | null; conversationId?: string | null;
    delivery?: { status: DeliveryStatus; error?: string | null } }): Promise<void>;
  run(id: string): Promise<ScheduleRun | undefined>;
  /** Runs still `running` that started before `startedBefore` (their process died) become failed with `error`; answers how many. */
  failStale(startedBefore: string, finishedAt: string, error: string): Promise<number>;
  runs(scheduleId: string, limit: number): Promise<ScheduleRun[]>;
  addOwnerLink(l: { codeHash: string; agentId: string; expiresAt: string; createdAt: string }): Promise<void>;
  /** Uses a link once: its agent, or undefined when unknown, used, expired or for another agent. */
  useOwnerLink(codeHash: string, agentId: string, now: string): Promise<boolean>;
  setOwnerChat(c: OwnerChat): Promise<void>;
  ownerChat(agentId: string): Promise<OwnerChat | undefined>;
  /** When the person last wrote to the agent on a channel (the WhatsApp 24-hour window). */
  /** The account's time zone (users.timezone; null: UTC). */
  setAccountTimezone(userId: string, timezone: string | null): Promise<void>;
  lastPersonMessageAt(agentId: string, personKind: string, externalId: string): Promise<string | null>;
}
