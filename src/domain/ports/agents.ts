/** Agents: their rows, workspace files, and the provisioning pipeline's record. */
import type { Agent, AgentStatus, Persona, Provisioning } from '../types.js';

export type AgentInput = Omit<Agent, 'id' | 'version' | 'createdAt' | 'updatedAt'>;
export type AgentPatch = Partial<Omit<Agent, 'id' | 'ownerId' | 'version' | 'createdAt' | 'updatedAt' | 'persona'>> & { persona?: Partial<Persona> };
export interface AgentRepo {
  insert(a: AgentInput): Promise<Agent>;
  byId(id: string): Promise<Agent | undefined>;
  bySlug(slug: string): Promise<Agent | undefined>;
  slugExists(slug: string): Promise<boolean>;
  list(filter: { ownerId?: string; listed?: boolean; status?: AgentStatus }): Promise<Agent[]>;
  /** Applies the patch when `expectedVersion` matches (or is undefined); returns undefined on a version mismatch. */
  update(id: string, patch: AgentPatch, expectedVersion?: number): Promise<Agent | undefined>;
  delete(id: string): Promise<boolean>;
}

export interface WorkspaceRepo {
  list(agentId: string): Promise<{ path: string; size: number; updatedAt: string }[]>;
  get(agentId: string, path: string): Promise<{ path: string; content: string; updatedAt: string } | undefined>;
  /** Several files in one read (those that exist), e.g. the notes a prompt is composed of. */
  getMany(agentId: string, paths: string[]): Promise<{ path: string; content: string; updatedAt: string }[]>;
  put(agentId: string, path: string, content: string): Promise<{ path: string; content: string; updatedAt: string }>;
  /** Writes only if the file is still as the writer saw it (`base` = its updatedAt, or null: absent); undefined otherwise. */
  putIf(agentId: string, path: string, content: string, base: string | null): Promise<{ path: string; content: string; updatedAt: string } | undefined>;
  /** Appends text atomically (creating the file), refusing to grow it past `maxLength`; returns false when full. */
  append(agentId: string, path: string, text: string, maxLength: number): Promise<boolean>;
  delete(agentId: string, path: string): Promise<boolean>;
}

/** The provisioning pipeline of each customer agent (one row per agent; a retry updates it). */
export interface ProvisioningRepo {
  get(agentId: string): Promise<Provisioning | undefined>;
  /** Creates the record, or replaces it. */
  put(p: Provisioning): Promise<void>;
  update(agentId: string, patch: Partial<Omit<Provisioning, 'agentId' | 'startedAt'>>): Promise<void>;
}

/** Notes the model wrote in one person's conversations with an agent (MEMORY.md, memory/YYYY-MM-DD.md); only that person's prompts read them. */
export interface PersonNotesRepo {
  get(agentId: string, personId: string, path: string): Promise<{ path: string; content: string; updatedAt: string } | undefined>;
  /** Several of the person's notes in one read (those that exist). */
  getMany(agentId: string, personId: string, paths: string[]): Promise<{ path: string; content: string; updatedAt: string }[]>;
  /** The agent's workspace files and the person's notes at the same paths, in one read (every model call's prompt). */
  withAgentFiles(agentId: string, personId: string, paths: string[]): Promise<{ shared: { path: string; content: string; updatedAt: string }[]; own: { path: string; content: string; updatedAt: string }[] }>;
  /** Appends text atomically (creating the note), refusing to grow it past `maxLength`; returns false when full. */
  append(agentId: string, personId: string, path: string, text: string, maxLength: number): Promise<boolean>;
}
