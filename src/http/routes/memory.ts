import { createRoute, z } from '@hono/zod-openapi';
import { authorize } from '../../services/access.js';
import type { MemoryService } from '../../services/memory.js';
import type { ConversationService } from '../../services/conversations.js';
import { router } from '../router.js';
import { toCsv } from '../csv.js';
import { jsonBody, ok, noContent, errorResponses, IdParam, MessageSchema, PersonSchema, SummarySchema } from '../schemas.js';

const tags = ['Memory'];
const FileSchema = z.object({ path: z.string(), kind: z.enum(['persona', 'memory', 'daily', 'file']), content: z.string(), updatedAt: z.string() }).openapi('WorkspaceFile');
const PathQuery = z.object({ path: z.string().min(1).max(200).openapi({ example: 'MEMORY.md' }) });
const ConversationSchema = z.object({
  id: z.string(), agentId: z.string(), channel: z.string(), personId: z.string(), userId: z.string(), person: PersonSchema, createdAt: z.string(), lastMessageAt: z.string(),
  status: z.enum(['open', 'closed']), closedAt: z.string().nullable(),
  mode: z.enum(['agent', 'human']).openapi({ description: '`human`: a person took it over and the agent does not answer it on any channel' }),
  takenOverBy: z.string().nullable().openapi({ description: 'The user who took it over (null in agent mode)' }),
  takenOverAt: z.string().nullable(),
  closedReason: z.enum(['timeout', 'new_conversation', 'switched_agent', 'closed_by_operator']).nullable(),
  summaryStatus: z.enum(['none', 'pending', 'ready', 'failed']),
  needsHuman: z.boolean().openapi({ description: 'A person was asked for (by the `handoff` tool or a trigger phrase) and nobody has taken it over yet' }),
  handoffReason: z.string().nullable().openapi({ description: 'Why a person was asked for' }),
  summary: z.union([SummarySchema.extend({ person: PersonSchema }), z.null()]),
  messages: z.array(MessageSchema.extend({ error: z.string().nullable() })),
  toolCalls: z.array(z.object({
    id: z.string(), tool: z.string(), args: z.unknown(), outcome: z.string(), resultPreview: z.string().nullable(),
    resultBytes: z.number(), durationMs: z.number(), createdAt: z.string(),
  })).openapi({ description: 'Every tool call the agent made in this conversation, arguments with secrets redacted' }),
}).openapi('Conversation');
export { ConversationSchema };

/** Transcripts, summaries, people and the agent's workspace files. */
export function memoryRoutes(deps: { memory: MemoryService; conversations: ConversationService }) {
  const { memory, conversations } = deps;
  const app = router();

  app.openapi(createRoute({ method: 'get', path: '/api/conversations/{id}', tags: ['Conversations'],
    summary: 'A conversation: transcript, whether the session is open, and its summary once written',
    request: { params: IdParam }, responses: { 200: ok(ConversationSchema), ...errorResponses(401, 404) } }),
  async (c) => c.json(await conversations.view(authorize(c.get('actor'), 'conversation.read'), c.req.valid('param').id), 200));

  app.openapi(createRoute({ method: 'post', path: '/api/conversations/{id}/close', tags: ['Conversations'],
    summary: 'End this session now and queue its summary',
    request: { params: IdParam }, responses: { 200: ok(ConversationSchema), ...errorResponses(401, 403, 404) } }),
  async (c) => c.json(await conversations.close(authorize(c.get('actor'), 'conversation.write'), c.req.valid('param').id), 200));

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/summaries', tags,
    summary: "Summaries of an agent's finished sessions: best match first with `q`, newest first without. `format=csv|json` downloads them.",
    request: { params: IdParam, query: z.object({
      q: z.string().max(500).optional(), userId: z.string().max(200).optional(), personId: z.string().max(100).optional(),
      limit: z.coerce.number().int().min(1).max(1000).optional(), format: z.enum(['csv', 'json']).optional(),
    }) },
    responses: { 200: ok(z.object({ items: z.array(SummarySchema.extend({ person: PersonSchema })) })), ...errorResponses(400, 401, 404) } }),
  async (c) => {
    const actor = authorize(c.get('actor'), 'agent.read');
    const { format, ...f } = c.req.valid('query');
    const items = await conversations.summaries(actor, c.req.valid('param').id, f);
    if (format) c.header('Content-Disposition', `attachment; filename="summaries-${c.req.valid('param').id}.${format}"`);
    if (format === 'csv') {
      const cols = ['id', 'conversationId', 'personLabel', 'userId', 'personId', 'agentId', 'channel', 'startedAt', 'endedAt', 'messageCount', 'model', 'inputTokens', 'outputTokens', 'costUsd', 'summary'];
      return c.body(toCsv(items.map((s) => ({ ...s, personLabel: s.person.label })), cols), 200, { 'Content-Type': 'text/csv; charset=utf-8' }) as never;
    }
    return c.json({ items }, 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/summaries/{id}', tags, summary: 'One summary',
    request: { params: IdParam }, responses: { 200: ok(SummarySchema.extend({ person: PersonSchema })), ...errorResponses(401, 404) } }),
  async (c) => c.json(await conversations.summary(authorize(c.get('actor'), 'conversation.read'), c.req.valid('param').id), 200));

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/people', tags, summary: 'People who talked with an agent',
    request: { params: IdParam, query: z.object({ q: z.string().max(200).optional() }) },
    responses: { 200: ok(z.object({ people: z.array(z.object({ id: z.string(), kind: z.string(), externalId: z.string(), person: PersonSchema, createdAt: z.string(), conversations: z.number(), summaries: z.number(), lastMessageAt: z.string() })) })), ...errorResponses(401, 404) } }),
  async (c) => c.json({ people: await conversations.people(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id, c.req.valid('query').q) }, 200));

  app.openapi(createRoute({ method: 'delete', path: '/api/people/{id}', tags,
    summary: "Delete a person's data: messages, summaries, identity links and media files (customers: only with their own agents). `id` is `person.id` as every list shows it (their external identity — userId, phone — also works). Logged.",
    request: { params: IdParam },
    responses: { 200: ok(z.object({ deleted: z.object({ conversations: z.number(), messages: z.number(), summaries: z.number(), links: z.number(), media: z.number() }) })), ...errorResponses(401, 403, 404) } }),
  async (c) => c.json({ deleted: await memory.erasePerson(authorize(c.get('actor'), 'person.erase'), c.req.valid('param').id) }, 200));

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/files', tags, summary: "The agent's workspace files (persona, MEMORY.md, daily notes)",
    request: { params: IdParam },
    responses: { 200: ok(z.object({ files: z.array(z.object({ path: z.string(), kind: z.enum(['persona', 'memory', 'daily', 'file']), size: z.number(), updatedAt: z.string() })) })), ...errorResponses(401, 404) } }),
  async (c) => c.json({ files: await memory.files(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id) }, 200));

  app.openapi(createRoute({ method: 'get', path: '/api/agents/{id}/file', tags, summary: 'One workspace file',
    request: { params: IdParam, query: PathQuery }, responses: { 200: ok(FileSchema), ...errorResponses(400, 401, 404) } }),
  async (c) => c.json(await memory.file(authorize(c.get('actor'), 'agent.read'), c.req.valid('param').id, c.req.valid('query').path), 200));

  app.openapi(createRoute({ method: 'put', path: '/api/agents/{id}/file', tags,
    summary: 'Write a workspace file (persona files update the agent). With `baseUpdatedAt` (the updatedAt you read, or null for a new file) a file changed meanwhile is refused with 409 file_changed.',
    request: { params: IdParam, query: PathQuery, ...jsonBody(z.strictObject({ content: z.string(), baseUpdatedAt: z.string().max(40).nullable().optional() })) },
    responses: { 200: ok(FileSchema), ...errorResponses(400, 401, 403, 404, 409) } }),
  async (c) => c.json(await memory.putFile(authorize(c.get('actor'), 'agent.write'), c.req.valid('param').id, c.req.valid('query').path, c.req.valid('json').content, c.req.valid('json').baseUpdatedAt), 200));

  app.openapi(createRoute({ method: 'delete', path: '/api/agents/{id}/file', tags, summary: 'Delete a memory file (MEMORY.md or a daily note)',
    request: { params: IdParam, query: PathQuery }, responses: { ...noContent, ...errorResponses(400, 401, 403, 404) } }),
  async (c) => {
    await memory.deleteFile(authorize(c.get('actor'), 'agent.write'), c.req.valid('param').id, c.req.valid('query').path);
    return c.body(null, 204);
  });

  return app;
}
