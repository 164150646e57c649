/**
 * The agent's owner chat (issue 17): a one-time link (`https://t.me/<bot>?start=<code>`, hashed at rest,
 * short expiry) makes the Telegram chat that opens it the agent's owner chat; `deliver` sends a text
 * (a schedule's output, a site alert, a report) to the owner on the channel asked for and answers
 * what happened instead of throwing.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, Mailer, Store } from '../domain/ports.js';
import type { Actor, Agent } from '../domain/types.js';
import type { InboundMessage } from '../domain/ports.js';
import type { DeliverChannel, DeliveryStatus } from '../domain/ports/schedules.js';
import { errors } from '../domain/errors.js';
import { sha256 } from '../infra/system.js';
import { authorize } from './access.js';
import { recordAudit } from './audit.js';
import type { Logger } from '../infra/logger.js';
import type { SafeFetcher } from '../domain/fetcher.js';

const LINK_TTL_MS = 15 * 60_000;
/** The WhatsApp customer-service window: free-form messages only within 24 hours of the person's last message. */
const WHATSAPP_WINDOW_MS = 24 * 3_600_000;
const START = /^\/start\s+([A-Za-z0-9_-]{16,64})\s*$/;

export type Delivered = { status: DeliveryStatus; error?: string };
type Send = (m: { channel: string; agentId: string | null; to: string; text: string; purpose: 'schedule' | 'owner_link' }) => Promise<unknown>;

export function ownerService(deps: {
  store: Pick<Store, 'agents' | 'schedules' | 'users' | 'audit' | 'transaction'>; clock: Clock; log: Logger;
  send: Send; mail: Mailer; fetcher: SafeFetcher;
  botUsername: (agentId: string) => Promise<string | undefined>;
}) {
  const { store, clock, log } = deps;
  const hash = (code: string) => sha256(`owner-link:${code}`);

  async function ownedAgent(actor: Actor | undefined, agentId: string, action: 'agent.read' | 'agent.write') {
    const agent = await store.agents.byId(agentId);
    if (!agent || agent.status === 'deleted') throw errors.notFound('Agent');
    authorize(actor, action, agent);
    return agent;
  }

  return {
    /** A one-time link for the owner's Telegram chat; the bot must be connected. */
    async createLink(actor: Actor | undefined, agentId: string) {
      const agent = await ownedAgent(actor, agentId, 'agent.write');
      const username = await deps.botUsername(agent.id);
      if (!username) throw errors.conflict('telegram_not_connected', 'Connect a Telegram bot to this agent first (telegramBotToken).');
      const code = randomBytes(18).toString('base64url');
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + LINK_TTL_MS).toISOString();
      await store.transaction(async (tx) => {
        await tx.schedules.addOwnerLink({ codeHash: hash(code), agentId: agent.id, expiresAt, createdAt: now.toISOString() });
        await recordAudit(tx, actor!, 'agent.owner_link_created', { type: 'agent', id: agent.id }, { expiresAt });
      });
      return { url: `https://t.me/${username}?start=${code}`, code, expiresAt };
    },

    /**
     * The Telegram `/start <code>` hook, before the inbox: a valid unused code for this agent's bot makes
     * the chat the owner chat (true: the message is consumed). Anything else goes on to the agent (false).
     */
    async claim(m: InboundMessage): Promise<boolean> {
      if (m.channel !== 'telegram' || !m.agentId) return false;
      const match = START.exec(m.text);
      if (!match) return false;
      const now = clock.now().toISOString();
      const used = await store.transaction(async (tx) => {
        if (!(await tx.schedules.useOwnerLink(hash(match[1]!), m.agentId!, now))) return false;
        await tx.schedules.setOwnerChat({ agentId: m.agentId!, channel: 'telegram', chatId: m.sender, name: m.senderName ?? null, linkedAt: now });
        await recordAudit(tx, 'system', 'agent.owner_chat_linked', { type: 'agent', id: m.agentId! }, { channel: 'telegram', name: m.senderName ?? null });
        return true;
      });
      if (!used) return false;
      const agent = await store.agents.byId(m.agentId);
      await deps.send({ channel: 'telegram', agentId: m.agentId, to: m.sender, text: `This chat is now the owner chat of ${agent?.name ?? 'this agent'}: reports and alerts come here.`, purpose: 'owner_link' })
        .catch((err: unknown) => log.warn('owner link confirmation not sent', { agentId: m.agentId, error: err }));
      return true;
    },

    /** What GET /api/agents/:id shows. */
    async view(agentId: string): Promise<{ channel: 'telegram'; linked: boolean; name?: string }> {
      const c = await store.schedules.ownerChat(agentId);
      return c ? { channel: 'telegram', linked: true, ...(c.name ? { name: c.name } : {}) } : { channel: 'telegram', linked: false };
    },

    /** Sends `text` to the agent's owner; never throws: the outcome is the answer. */
    async deliver(agent: Agent, text: string, opts: { channel?: DeliverChannel; to?: string | null; subject?: string } = {}): Promise<Delivered> {
      const channel = opts.channel ?? 'telegram';
      const to = opts.to ?? null;
      if (!text.trim()) return { status: 'skipped', error: 'empty' };
      try {
        switch (channel) {
          case 'dashboard':
            return { status: 'sent' }; // kept with the run, shown on the dashboard
          case 'telegram': {
            // The linked owner chat; without one, the chat handoff notices go to (the operator set it for this agent).
            const chat = to ?? (await store.schedules.ownerChat(agent.id))?.chatId ?? agent.handoff.notifyTelegramChatId;
            if (!chat) return { status: 'failed', error: 'no_owner_chat' };
            await deps.send({ channel: 'telegram', agentId: agent.id, to: chat, text, purpose: 'schedule' });
            return { status: 'sent' };
          }
          case 'whatsapp': {
            if (!to) return { status: 'failed', error: 'no_recipient' };
            const phone = to.replace(/[^\d]/g, '');
            const last = await store.schedules.lastPersonMessageAt(agent.id, 'phone', phone);
            if (!last || clock.now().getTime() - Date.parse(last) > WHATSAPP_WINDOW_MS) return { status: 'failed', error: 'outside_window' };
            await deps.send({ channel: 'whatsapp', agentId: agent.id, to: phone, text, purpose: 'schedule' });
            return { status: 'sent' };
          }
          case 'email': {
            const address = to ?? (await store.users.byId(agent.ownerId))?.email;
            if (!address) return { status: 'failed', error: 'no_recipient' };
            if (!(await deps.mail.configured())) return { status: 'failed', error: 'mail_not_configured' };
            await deps.mail.send({ to: address, subject: opts.subject ?? `${agent.name}: scheduled task`, text });
            return { status: 'sent' };
          }
          case 'webhook': {
            if (!to) return { status: 'failed', error: 'no_recipient' };
            // The customer chose this URL: vetted by the SSRF guard and connected to the vetted address (no DNS rebinding), no redirects.
            const res = await deps.fetcher.post(to, JSON.stringify({ event: 'schedule.output', agentId: agent.id, agentName: agent.name, text, at: clock.now().toISOString() }), { timeoutMs: 10_000 });
            if (res.status < 200 || res.status > 299) return { status: 'failed', error: `http_${res.status}` };
            return { status: 'sent' };
          }
        }
      } catch (err) {
        return { status: 'failed', error: (err instanceof Error ? err.message : String(err)).slice(0, 300) };
      }
    },
  };
}
export type OwnerService = ReturnType<typeof ownerService>;
