import type { Db } from '../db.js';
import type { Clock, ProviderRepo, ProviderRow, SettingsRepo } from '../../domain/ports.js';
import type { ProviderKind } from '../../domain/types.js';

export function settingsRepo(db: Db, clock: Clock): SettingsRepo {
  return {
    async get<T>(key: string) {
      const r = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
      return r ? (JSON.parse(r.value) as T) : undefined;
    },
    async set(key, value) {
      const v = JSON.stringify(value);
      const at = clock.now().toISOString();
      await db.insertInto('settings').values({ key, value: v, updated_at: at })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: v, updated_at: at })).execute();
    },
    async delete(key) {
      await db.deleteFrom('settings').where('key', '=', key).execute();
    },
  };
}

export function providerRepo(db: Db, clock: Clock): ProviderRepo {
  const toRow = (r: { name: string; kind: string; base_url: string | null; api_key_sealed: string | null; models: string }): ProviderRow => ({
    name: r.name, kind: r.kind as ProviderKind, baseUrl: r.base_url, apiKeySealed: r.api_key_sealed, models: JSON.parse(r.models) as string[],
  });
  return {
    async list() {
      return (await db.selectFrom('providers').selectAll().orderBy('name').execute()).map(toRow);
    },
    async get(name) {
      const r = await db.selectFrom('providers').selectAll().where('name', '=', name).executeTakeFirst();
      return r && toRow(r);
    },
    async upsert(p) {
      const at = clock.now().toISOString();
      const values = { kind: p.kind, base_url: p.baseUrl, api_key_sealed: p.apiKeySealed, models: JSON.stringify(p.models), updated_at: at };
      await db.insertInto('providers').values({ name: p.name, ...values, created_at: at })
        .onConflict((oc) => oc.column('name').doUpdateSet(values)).execute();
    },
    async delete(name) {
      const r = await db.deleteFrom('providers').where('name', '=', name).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}
