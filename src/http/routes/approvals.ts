import { createRoute, z } from '@hono/zod-openapi';
import { router } from '../router.js';
import { authorize } from '../../services/access.js';
import type { ApprovalService } from '../../services/approvals.js';
import { ok, errorResponses, IdParam } from '../schemas.js';

const tags = ['Tools'];
const ApprovalSchema = z.object({
  id: z.string(), agentId: z.string(), agentName: z.string(), conversationId: z.string().nullable(), toolCallId: z.string(), tool: z.string(),
  args: z.unknown().openapi({ description: 'The call arguments, secrets redacted' }),
  status: z.enum(['pending', 'approved', 'denied', 'expired', 'done', 'failed']), result: z.string().nullable(),
  decidedBy: z.string().nullable(), createdAt: z.string(), expiresAt: z.string(), decidedAt: z.string().nullable(),
}).openapi('Approval');

export function approvalRoutes(deps: { approvals: ApprovalService }) {
  const { approvals } = deps;
  const app = router();

  app.openapi(createRoute({ method: 'get', path: '/api/approvals', tags, summary: 'Tool calls held for approval (newest first)',
    request: { query: z.object({ status: z.enum(['pending', 'approved', 'denied', 'expired', 'done', 'failed']).optional() }) },
    responses: { 200: ok(z.object({ approvals: z.array(ApprovalSchema) })), ...errorResponses(401) } }),
  async (c) => c.json({ approvals: await approvals.list(authorize(c.get('actor'), 'approval.read'), c.req.valid('query')) }, 200));

  app.openapi(createRoute({ method: 'get', path: '/api/approvals/{id}', tags, summary: 'One approval request',
    request: { params: IdParam }, responses: { 200: ok(ApprovalSchema), ...errorResponses(401, 404) } }),
  async (c) => c.json(await approvals.get(authorize(c.get('actor'), 'approval.read'), c.req.valid('param').id), 200));

  for (const decision of ['approve', 'deny'] as const) {
    app.openapi(createRoute({ method: 'post', path: `/api/approvals/{id}/${decision}`, tags,
      summary: decision === 'approve' ? 'Approve: the held call runs now and its result goes into the conversation' : 'Decline: the held call never runs',
      request: { params: IdParam }, responses: { 200: ok(ApprovalSchema), ...errorResponses(401, 403, 404, 409) } }),
    async (c) => c.json(await approvals.decide(authorize(c.get('actor'), 'approval.decide'), c.req.valid('param').id, decision), 200));
  }
  return app;
}
