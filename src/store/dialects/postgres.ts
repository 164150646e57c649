import type pgTypes from 'pg';
import { PostgresDialect } from 'kysely';
import { lazyDefault } from '../../infra/lazy.js';

/** Loaded only when DATABASE_URL is set: SQLite installs never pay for it. */
const pg = lazyDefault<typeof pgTypes>('pg');

/**
 * PostgreSQL through `pg`. `schema` (used by tests) isolates a run in its own schema
 * by setting the search_path of every pooled connection.
 */
export function postgresDialect(connectionString: string, schema?: string): PostgresDialect {
  const pool = new (pg().Pool)({
    connectionString,
    max: 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  return new PostgresDialect({ pool });
}
