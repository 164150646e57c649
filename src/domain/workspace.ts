/**
 * The caps on an agent's workspace, and the error every writer gets when a write would pass them.
 * The workspace repository checks them on every write (the agent's tools, exec's write-back, notes
 * and the file API all go through it), so no writer can fill a workspace past what the others obey.
 */
import { AppError } from './errors.js';

export const FILE_MAX_CHARS = 65_536;

/**
 * The agent's notes (`MEMORY.md`, `memory/…`) enter the prompt of everyone who talks with it, so the
 * model may write them only where shared notes are allowed (the owner's own conversations, or an agent
 * an operator opened to shared notes); every other writer the model steers is refused these paths.
 */
export const isSharedNotesPath = (path: string) => path === 'MEMORY.md' || path.startsWith('memory/');
export const WORKSPACE_MAX_CHARS = 4 * 1024 * 1024;
export const WORKSPACE_MAX_FILES = 1000;

/** Why a write would not fit: a file that is too long, too many files, or too much in all. */
export function workspaceRoom(a: { files: number; total: number; existing: number | null; newLength: number }): string | undefined {
  if (a.newLength > FILE_MAX_CHARS) return `the file would be ${a.newLength} characters; the limit is ${FILE_MAX_CHARS}`;
  if (a.existing === null && a.files >= WORKSPACE_MAX_FILES) return `the workspace already holds ${WORKSPACE_MAX_FILES} files`;
  if (a.total - (a.existing ?? 0) + a.newLength > WORKSPACE_MAX_CHARS) return `the workspace would exceed ${WORKSPACE_MAX_CHARS} characters`;
  return undefined;
}

export class WorkspaceFull extends AppError {
  constructor(reason: string) {
    super(413, 'workspace_full', `Not saved: ${reason}.`);
  }
}
