/** Instance settings and the dashboard's model providers. */
import type { ProviderConfig, ProviderKind } from '../types.js';

export type ProviderRow = Omit<ProviderConfig, 'source' | 'apiKey'> & { apiKeySealed: string | null };
export interface ProviderRepo {
  list(): Promise<ProviderRow[]>;
  get(name: string): Promise<ProviderRow | undefined>;
  upsert(p: ProviderRow): Promise<void>;
  delete(name: string): Promise<boolean>;
}
export type { ProviderKind };

export interface SettingsRepo {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
}
