import { createRoute, z } from '@hono/zod-openapi';
import { router } from '../router.js';
import { authorize } from '../../services/access.js';
import type { HandoffService } from '../../services/handoff.js';
import { ok, errorResponses } from '../schemas.js';

/** Handoff (issue 15): how many conversations wait for a person (the dashboard's badge). */
export function handoffRoutes(deps: { handoff: HandoffService }) {
  const { handoff } = deps;
  const app = router();

  app.openapi(createRoute({ method: 'get', path: '/api/conversations/needs-human/count', tags: ['Conversations'],
    summary: 'How many conversations wait for a person (asked for by the `handoff` tool or a trigger phrase) that nobody has taken over: all of them for operators and auditors, their own agents\' for a customer',
    responses: { 200: ok(z.object({ count: z.number().int() })), ...errorResponses(401) } }),
  async (c) => c.json({ count: await handoff.count(authorize(c.get('actor'), 'conversation.read')) }, 200));

  return app;
}
