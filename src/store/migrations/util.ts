/** Shared by the migration files; changing either changes shipped migrations, so they stay as they are. */
import { PostgresAdapter, type Kysely } from 'kysely';

/** Timestamps are ISO-8601 text on both databases. */
export const ts = 'text';
export const isPostgres = (db: Kysely<any>) => db.getExecutor().adapter instanceof PostgresAdapter;
