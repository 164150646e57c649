import { createRoute, z } from '@hono/zod-openapi';
import { router } from '../router.js';
import { authorize } from '../../services/access.js';
import type { AuditService } from '../../services/audit.js';
import { ok, errorResponses } from '../schemas.js';

const EntrySchema = z.object({
  id: z.string(), actorId: z.string().nullable(), actorRole: z.string().nullable().openapi({ description: 'The role the actor acted with, "system" for the server\'s own work, null for an unknown caller' }), action: z.string(), targetType: z.string(), targetId: z.string(),
  detail: z.record(z.string(), z.unknown()), createdAt: z.string(),
}).openapi('AuditEntry');

export function auditRoutes(deps: { audit: AuditService }) {
  const app = router();
  app.openapi(createRoute({ method: 'get', path: '/api/audit', tags: ['Audit'], summary: 'The audit log, newest first (owner, admin, auditor)',
    request: { query: z.object({
      limit: z.coerce.number().int().min(1).max(1000).optional(),
      action: z.string().max(100).optional().openapi({ description: 'Only this action, e.g. auth.login_failed; a trailing * matches a prefix (auth.*)' }),
      targetType: z.string().max(50).optional().openapi({ description: 'Only entries about this kind of target (agent, user, api_key, provider, …)' }),
      targetId: z.string().max(200).optional().openapi({ description: 'Only entries about this target id' }),
    }) },
    responses: { 200: ok(z.object({ entries: z.array(EntrySchema) })), ...errorResponses(400, 401, 403) } }),
  async (c) => c.json({ entries: await deps.audit.list(authorize(c.get('actor'), 'audit.read'), c.req.valid('query')) }, 200));
  return app;
}
