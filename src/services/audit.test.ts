import { describe, expect, it } from 'vitest';
import { auditService } from './audit.js';
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
    expect(await service.list(actor('owner'), { limit: 1 })).toHaveLength(1);
  });

  it('refuses customers, who would see every account and address', async () => {
    await expect(service.list(actor('customer'), {})).rejects.toMatchObject({ status: 403, code: 'forbidden' });
  });
});
