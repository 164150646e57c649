import { createRoute, z } from '@hono/zod-openapi';
import { authorize } from '../../services/access.js';
import type { KnowledgeService } from '../../services/knowledge.js';
import { AppError } from '../../domain/errors.js';
import { router } from '../router.js';
import { readUpload } from '../upload.js';
import { jsonBody, ok, noContent, errorResponses } from '../schemas.js';

const tags = ['Knowledge'];
const AgentParam = z.object({ id: z.string().min(1).max(100) });
const SourceParam = AgentParam.extend({ sourceId: z.string().min(1).max(100) });
const Accepted = z.object({ id: z.string(), status: z.enum(['queued', 'syncing', 'ready', 'failed']) }).openapi('KnowledgeAccepted');
const ChangesSchema = z.object({ added: z.number(), updated: z.number(), removed: z.number(), unchanged: z.number(), skipped: z.array(z.object({ url: z.string(), reason: z.string() })) });
const SourceSchema = z.object({
  id: z.string(), type: z.enum(['file', 'url', 'site']), title: z.string(), url: z.string().optional(), status: z.enum(['queued', 'syncing', 'ready', 'failed']),
  pages: z.number(), chunks: z.number(), lastSyncedAt: z.string().nullable(), error: z.string().optional(),
  nextSyncAt: z.string().nullable(), syncEveryHours: z.number(), maxPages: z.number(), bytes: z.number(),
  changes: ChangesSchema.nullable().openapi({ description: 'What the last sync changed: documents added, updated (content hash changed), removed (vanished), unchanged, and pages skipped with why' }),
  createdAt: z.string(),
}).openapi('KnowledgeSource');

const SearchMode = z.enum(['fulltext', 'hybrid']).openapi({ description: 'How search ranks: full text alone, or hybrid (full text and embeddings fused by reciprocal rank; needs SWITCHBOARD_EMBEDDING_MODEL)' });
const VectorIndex = z.enum(['sqlite-vec', 'pgvector', 'none']).openapi({ description: 'What finds the nearest chunks in hybrid mode: sqlite-vec in SQL, or none (an exact scan in the server)' });

/** The raw-body upload route, exempt from the general body limit and from the form-post refusal (it requires X-Filename). */
export const KNOWLEDGE_UPLOAD_PATH = /^\/api\/agents\/[^/]+\/knowledge\/files$/;

/** An agent's knowledge base: sources (files, pages, sites), their sync, and a test search (issue 18). */
export function knowledgeRoutes(deps: { knowledge: KnowledgeService }) {
  const { knowledge } = deps;
  const app = router();

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/knowledge', tags, summary: "The agent's knowledge sources with their sync status, counts and last changes",
    request: { params: AgentParam },
    responses: { 200: ok(z.object({ sources: z.array(SourceSchema), searchMode: SearchMode, vectorIndex: VectorIndex })), ...errorResponses(401, 404) } }),
  async (c) => c.json({ sources: await knowledge.list(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id), ...(await knowledge.mode()) }, 200));

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/knowledge', tags,
    summary: 'Add a web page (`url`) or a whole website (`site`: its sitemap, else same-site links; robots.txt obeyed) as a source; its first sync is queued',
    request: { params: AgentParam, ...jsonBody(z.strictObject({
      type: z.enum(['url', 'site']), url: z.string().min(1).max(2000),
      maxPages: z.number().int().min(1).max(50_000).optional().openapi({ description: "Sites: the most pages read (default 200, capped by SWITCHBOARD_KNOWLEDGE_MAX_PAGES and the plan's maxKnowledgePages)" }),
      syncEveryHours: z.number().int().min(0).max(24 * 90).optional().openapi({ description: 'Re-sync every so many hours; 0 never (default: 24 for sites, 0 for pages)' }),
    })) },
    responses: { 202: ok(Accepted, 'Queued'), ...errorResponses(400, 401, 403, 404) } }),
  async (c) => c.json(await knowledge.addUrl(authorize(c.get('actor'), 'agent.write'), c.req.valid('param').id, c.req.valid('json')), 202));

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/knowledge/files', tags,
    summary: 'Upload a file as a source: the raw file as the body, its Content-Type, and its name in the `X-Filename` header (required; URL-encoded if not ASCII). PDF, DOCX, Markdown, HTML, plain text or CSV (the type is read from the bytes).',
    request: {
      params: AgentParam,
      body: { required: true, content: Object.fromEntries(['application/pdf', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'text/markdown', 'text/html', 'text/plain', 'text/csv', 'application/octet-stream']
        .map((t) => [t, { schema: z.string().openapi({ type: 'string', format: 'binary' }) }])) },
    },
    responses: { 202: ok(Accepted, 'Queued'), ...errorResponses(400, 401, 403, 404, 413, 415) } }),
  async (c) => {
    const actor = authorize(c.get('actor'), 'agent.write');
    const max = knowledge.limits.fileBytes;
    let bytes: Uint8Array;
    try { bytes = await readUpload(c.req.raw, max); } catch (err) {
      if (err instanceof AppError && err.code === 'media_too_large') throw new AppError(413, 'media_too_large', `A knowledge file may be at most ${Math.round(max / 1048576)} MB.`);
      throw err;
    }
    let filename = c.req.header('x-filename') ?? '';
    try { filename = decodeURIComponent(filename); } catch { /* not encoded */ }
    return c.json(await knowledge.addFile(actor, c.req.valid('param').id, { bytes, claimedType: c.req.header('content-type'), filename }), 202);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/knowledge/search', tags, summary: 'What the agent would retrieve for a question (the test-search box)',
    request: { params: AgentParam, query: z.object({ q: z.string().max(500).optional(), limit: z.coerce.number().int().min(1).max(50).optional() }) },
    responses: { 200: ok(z.object({ results: z.array(z.object({ sourceId: z.string(), title: z.string(), url: z.string().optional(), text: z.string(), score: z.number() })), searchMode: SearchMode.openapi({ description: 'How these results were ranked (fulltext when the query could not be embedded, e.g. the budget is spent)' }) })), ...errorResponses(400, 401, 404) } }),
  async (c) => {
    const { q, limit } = c.req.valid('query');
    return c.json(await knowledge.search(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id, q ?? '', limit ?? 5), 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/api/agents/{id}/knowledge/{sourceId}/sync', tags, summary: 'Sync a source now (only changed pages are re-indexed)',
    request: { params: SourceParam }, responses: { 202: ok(Accepted, 'Queued'), ...errorResponses(401, 403, 404) } }),
  async (c) => { const p = c.req.valid('param'); return c.json(await knowledge.syncNow(authorize(c.get('actor'), 'agent.write'), p.id, p.sourceId), 202); });

  app.openapi(createRoute({ method: 'patch', path: '/api/agents/{id}/knowledge/{sourceId}', tags, summary: 'Change how a source syncs: its page limit (sites) and the hours between syncs (0: never)',
    request: { params: SourceParam, ...jsonBody(z.strictObject({
      maxPages: z.number().int().min(1).max(50_000).optional().openapi({ description: "Sites only: the most pages read (capped by SWITCHBOARD_KNOWLEDGE_MAX_PAGES and the plan's maxKnowledgePages)" }),
      syncEveryHours: z.number().int().min(0).max(24 * 90).optional().openapi({ description: 'Re-sync every so many hours from now on; 0 never (files never re-sync)' }),
    })) },
    responses: { 200: ok(SourceSchema), ...errorResponses(400, 401, 403, 404) } }),
  async (c) => { const p = c.req.valid('param'); return c.json(await knowledge.update(authorize(c.get('actor'), 'agent.write'), p.id, p.sourceId, c.req.valid('json')), 200); });

  app.openapi(createRoute({ method: 'delete', path: '/api/agents/{id}/knowledge/{sourceId}', tags, summary: 'Delete a source with its documents and chunks',
    request: { params: SourceParam }, responses: { ...noContent, ...errorResponses(401, 403, 404) } }),
  async (c) => {
    const p = c.req.valid('param');
    await knowledge.remove(authorize(c.get('actor'), 'agent.write'), p.id, p.sourceId);
    return c.body(null, 204);
  });

  return app;
}
