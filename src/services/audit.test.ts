import { describe, expect, it } from 'vitest';
import { auditService, changedFields, recordAudit } from './audit.js';
import { manualClock, memoryAuditRepo } from '../../test/helpers/fakes.js';
import type { Actor, Role } from '../domain/types.js';

const actor = (role: Role): Actor => ({ user: { id: `${role}-1`, email: `${role}@example.com`, role, createdAt: '' }, via: 'session', tokenId: 't' });

describe('audit service', () => {
  const clock = manualClock();
  const audit = memoryAuditRepo(clock);
  const service = auditService({ store: { audit } });

  it('shows operators and auditors the log, newest first, filtered by action or prefix', async () => {
    await audit.add({ actorId: null, action: 'auth.login_failed', targetType: 'user', targetId: 'a', detail: {} });
    clock.advance(1000);
    await audit.add({ actorId: 'owner-1', action: 'agent.config_updated', targetType: 'agent', targetId: 'g', detail: {} });
    clock.advance(1000);
    await audit.add({ actorId: 'u', action: 'auth.login', targetType: 'user', targetId: 'a', detail: {} });
    expect((await service.list(actor('auditor'), {})).map((e) => e.action)).toEqual(['auth.login', 'agent.config_updated', 'auth.login_failed']);
    expect((await service.list(actor('owner'), { action: 'auth.*' })).map((e) => e.action)).toEqual(['auth.login', 'auth.login_failed']);
    expect((await service.list(actor('admin'), { action: 'auth.login' })).map((e) => e.action)).toEqual(['auth.login']);
    expect((await service.list(actor('admin'), { targetType: 'agent', targetId: 'g' })).map((e) => e.action)).toEqual(['agent.config_updated']);
    expect(await service.list(actor('owner'), { limit: 1 })).toHaveLength(1);
  });

  it('refuses customers, who would see every account and address', async () => {
    await expect(service.list(actor('customer'), {})).rejects.toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('records the actor with the role they acted with, or system', async () => {
    const repo = memoryAuditRepo(clock);
    await recordAudit({ audit: repo }, actor('admin'), 'agent.updated', { type: 'agent', id: 'g' }, { fields: ['name'] });
    await recordAudit({ audit: repo }, 'system', 'billing.event', { type: 'user', id: 'c' });
    await recordAudit({ audit: repo }, { userId: 'c', role: 'customer' }, 'auth.signup', { type: 'user', id: 'c' });
    expect(repo.entries.map((e) => [e.actorId, e.actorRole, e.action, e.targetType, e.targetId])).toEqual([
      ['admin-1', 'admin', 'agent.updated', 'agent', 'g'], [null, 'system', 'billing.event', 'user', 'c'], ['c', 'customer', 'auth.signup', 'user', 'c'],
    ]);
  });
});

describe('changedFields', () => {
  const agent = { name: 'Helper', description: 'Helps', monthlyBudgetUsd: null, persona: { soul: 'S', agents: 'A', tools: '', user: '', instructions: 'x'.repeat(500) } };

  it('names only the fields whose value changed, with small values before and after', () => {
    expect(changedFields(agent, { name: 'Helper', description: 'Helps more', monthlyBudgetUsd: 5 })).toEqual({
      fields: ['description', 'monthlyBudgetUsd'],
      changes: { description: { from: 'Helps', to: 'Helps more' }, monthlyBudgetUsd: { from: null, to: 5 } },
    });
  });

  it('ignores keys left out of the patch, and undefined values; null against a missing value is no change', () => {
    expect(changedFields(agent, { description: undefined })).toEqual({ fields: [], changes: {} });
    expect(changedFields({ cap: undefined }, { cap: null })).toEqual({ fields: [], changes: {} });
  });

  it('reports nested objects by path when asked, and compares the rest whole', () => {
    const persona = { ...agent.persona, soul: 'New soul' };
    expect(changedFields(agent, { persona }, { nested: ['persona'] }).fields).toEqual(['persona.soul']);
    expect(changedFields(agent, { persona }).fields).toEqual(['persona']);
    expect(changedFields(agent, { persona: { ...agent.persona } }, { nested: ['persona'] }).fields).toEqual([]);
    expect(changedFields({ tags: ['a', 'b'] }, { tags: ['a', 'b'] }).fields).toEqual([]);
    expect(changedFields({ tags: ['a'] }, { tags: ['a', 'b'] })).toEqual({ fields: ['tags'], changes: { tags: { from: ['a'], to: ['a', 'b'] } } });
  });

  it('names large values without copying them', () => {
    const d = changedFields(agent.persona, { instructions: 'y'.repeat(500) });
    expect(d).toEqual({ fields: ['instructions'], changes: {} });
  });

  it('never copies a secret: named ones, and keys that look like secrets', () => {
    const before = { apiKey: 'sk-old-secret', webhookSecret: 'whsec-1', password: 'hunter2', authToken: 'tok-1', smtp: 'a', maxOutputTokens: 100 };
    const after = { apiKey: 'sk-new-secret', webhookSecret: 'whsec-2', password: 'hunter3', authToken: 'tok-2', smtp: 'b', maxOutputTokens: 200 };
    const d = changedFields(before, after, { secret: ['smtp'] });
    expect(d.fields).toEqual(['apiKey', 'webhookSecret', 'password', 'authToken', 'smtp', 'maxOutputTokens']);
    expect(d.changes).toEqual({ maxOutputTokens: { from: 100, to: 200 } });
    expect(JSON.stringify(d)).not.toMatch(/sk-|whsec|hunter|tok-/);
  });
});
