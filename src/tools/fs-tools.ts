/**
 * read, write, edit, list: the agent's own workspace, which lives in the database. Paths are
 * normalized and confined to it; nothing here ever touches the host file system.
 */
import { z } from 'zod';
import type { ModelTool, Store } from '../domain/ports.js';
import { PERSONA_FILES } from '../domain/types.js';
import { WorkspaceFull, isSharedNotesPath } from '../domain/workspace.js';

export { FILE_MAX_CHARS, WORKSPACE_MAX_CHARS, WORKSPACE_MAX_FILES } from '../domain/workspace.js';
const SEGMENT = /^[\p{L}\p{N}_ .@+-]+$/u;
const PERSONA_PATHS = new Set<string>(Object.values(PERSONA_FILES));

/** A workspace path, normalized, or the reason it is refused (said to the model as is). */
export function workspacePath(raw: string): { path: string } | { error: string } {
  if (typeof raw !== 'string' || raw.length === 0) return { error: 'the path is empty' };
  if (raw.includes('\0')) return { error: 'the path contains a NUL byte' };
  if (raw.length > 255) return { error: 'the path is longer than 255 characters' };
  if (raw.includes('\\')) return { error: 'use "/" between folders, not "\\"' };
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || raw.startsWith('~')) return { error: 'absolute paths are not allowed; paths are relative to your workspace' };
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) return { error: '".." is not allowed: you can only reach files inside your workspace' };
  if (segments.length === 0) return { error: 'the path names no file' };
  if (segments.length > 8) return { error: 'folders may be at most 8 deep' };
  const bad = segments.find((s) => !SEGMENT.test(s) || s.trim() !== s);
  if (bad !== undefined) return { error: `"${bad}" is not a valid file or folder name (letters, digits, space, . _ - @ + only)` };
  return { path: segments.join('/') };
}

const err = (m: string) => `Error: ${m}`;

/** The tools' input schemas, built once (the model adapter converts each to JSON Schema once, not per call). */
const READ_INPUT = z.object({ path: z.string().describe('Path inside your workspace') });
const WRITE_INPUT = z.object({ path: z.string(), content: z.string() });
const EDIT_INPUT = z.object({ path: z.string(), oldText: z.string().min(1), newText: z.string() });
const LIST_INPUT = z.object({ path: z.string().optional().describe('A folder inside your workspace; omit for all files') });

export function fsTools(deps: { store: Store; agentId: string; notesWritable?: boolean }): ModelTool[] {
  const { store, agentId } = deps;
  const notesRefused = (path: string) => !deps.notesWritable && isSharedNotesPath(path)
    ? err(`${path} holds notes everyone who talks with you sees; use memory_write for a note about this person`) : undefined;
  const resolve = (raw: string) => workspacePath(raw);

  /** The repository checks the workspace caps on every write; here its refusal becomes the model's error. */
  async function saving<T>(write: () => Promise<T>): Promise<T | { full: string }> {
    try {
      return await write();
    } catch (e) {
      if (e instanceof WorkspaceFull) return { full: e.message };
      throw e;
    }
  }

  const read: ModelTool<z.ZodObject<{ path: z.ZodString }>> = {
    name: 'read',
    description: 'Read a file from your workspace (paths are relative to it, e.g. "notes/ideas.md").',
    input: READ_INPUT,
    async execute({ path: raw }) {
      const p = resolve(raw);
      if ('error' in p) return err(p.error);
      const f = await store.workspace.get(agentId, p.path);
      return f ? f.content : err(`no file "${p.path}" in your workspace`);
    },
  };
  const write: ModelTool<z.ZodObject<{ path: z.ZodString; content: z.ZodString }>> = {
    name: 'write',
    description: 'Create or replace a file in your workspace.',
    input: WRITE_INPUT,
    async execute({ path: raw, content }) {
      const p = resolve(raw);
      if ('error' in p) return err(p.error);
      if (PERSONA_PATHS.has(p.path)) return err(`${p.path} is part of your persona; only the operator edits it`);
      const refused = notesRefused(p.path);
      if (refused) return refused;
      const saved = await saving(() => store.workspace.put(agentId, p.path, content));
      if ('full' in saved) return err(saved.full);
      return `Wrote ${p.path} (${content.length} characters).`;
    },
  };
  const edit: ModelTool<z.ZodObject<{ path: z.ZodString; oldText: z.ZodString; newText: z.ZodString }>> = {
    name: 'edit',
    description: 'Replace one exact occurrence of oldText with newText in a workspace file.',
    input: EDIT_INPUT,
    async execute({ path: raw, oldText, newText }) {
      const p = resolve(raw);
      if ('error' in p) return err(p.error);
      if (PERSONA_PATHS.has(p.path)) return err(`${p.path} is part of your persona; only the operator edits it`);
      const refused = notesRefused(p.path);
      if (refused) return refused;
      const f = await store.workspace.get(agentId, p.path);
      if (!f) return err(`no file "${p.path}" in your workspace`);
      const at = f.content.indexOf(oldText);
      if (at < 0) return err(`oldText was not found in ${p.path}; read the file and copy the text exactly`);
      if (f.content.indexOf(oldText, at + 1) >= 0) return err(`oldText occurs more than once in ${p.path}; include more surrounding text so it is unique`);
      const next = f.content.slice(0, at) + newText + f.content.slice(at + oldText.length);
      // Compare-and-set, so an edit never silently undoes a change made meanwhile.
      const saved = await saving(() => store.workspace.putIf(agentId, p.path, next, f.updatedAt));
      if (saved && 'full' in saved) return err(saved.full);
      if (!saved) return err(`${p.path} changed while editing; read it again`);
      return `Edited ${p.path}.`;
    },
  };
  const list: ModelTool<z.ZodObject<{ path: z.ZodOptional<z.ZodString> }>> = {
    name: 'list',
    description: 'List the files in your workspace, or under one folder of it.',
    input: LIST_INPUT,
    async execute({ path: raw }) {
      let prefix = '';
      if (raw && raw !== '.' && raw !== '/') {
        const p = resolve(raw);
        if ('error' in p) return err(p.error);
        prefix = `${p.path}/`;
      }
      const files = (await store.workspace.list(agentId)).filter((f) => f.path.startsWith(prefix));
      if (!files.length) return prefix ? `No files under ${prefix}` : 'Your workspace is empty.';
      return files.map((f) => `${f.path}\t${f.size} characters\t${f.updatedAt}`).join('\n');
    },
  };
  return [read, write, edit, list] as unknown as ModelTool[];
}
