import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { SqliteDialect } from 'kysely';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Something about the data directory an operator should fix (logged at start-up). */
export type DataDirWarning = { message: string; path: string; mode: string };

/**
 * SQLite tuned the PocketBase way: WAL, a busy timeout, foreign keys on. The database holds every
 * conversation and sealed secret, so its folder is created 0700 and its files 0600 (SQLite gives
 * the -wal and -shm files the database file's mode); a folder or file that is already wider is
 * reported through `warn`, and the database's own files are narrowed to 0600.
 */
export function sqliteDialect(file: string, o: { warn?: (w: DataDirWarning) => void } = {}): SqliteDialect {
  let db: Database.Database;
  if (file === ':memory:') db = new Database(file);
  else {
    const dir = dirname(file);
    for (const w of dataDirWarnings(dir)) o.warn?.(w);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const previous = process.umask(0o077); // nothing created while opening is readable by others
    try {
      db = new Database(file);
      db.pragma('journal_mode = WAL');
    } finally {
      process.umask(previous);
    }
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  }
  db.pragma('journal_mode = WAL'); // again for :memory:; a no-op for a file already in WAL mode
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  // The knowledge base's vector index (issue 18); without it the store scans vectors in JavaScript.
  try { sqliteVec.load(db); } catch { withoutVectorIndex(db); }
  return new DirectSqliteDialect(db);
}

/**
 * The raw better-sqlite3 handle behind a Kysely instance's adapter (shared by its transactions), for
 * `store/prepared.ts`, which runs its statements on it synchronously when no other caller's
 * transaction is open on the connection (see there).
 */
export const sqliteHandles = new WeakMap<object, Database.Database>();

class DirectSqliteDialect extends SqliteDialect {
  readonly #raw: Database.Database;
  constructor(raw: Database.Database) {
    super({ database: withStatementCache(raw) });
    this.#raw = raw;
  }
  override createAdapter() {
    const adapter = super.createAdapter();
    sqliteHandles.set(adapter, this.#raw);
    return adapter;
  }
}

/**
 * sqlite-vec did not load (no build for this platform): the fallback is exact, only slower. The triggers that keep
 * its vec0 tables in step with knowledge_chunks (repositories/knowledge.ts) would now fail every write to a chunk,
 * so they go; the repository rebuilds a table that lacks them on the next start with sqlite-vec.
 */
export function withoutVectorIndex(db: Database.Database): void {
  const triggers = db.prepare(`select name from sqlite_master where type = 'trigger' and name glob 'knowledge_vec_*'`).all() as { name: string }[];
  for (const t of triggers) db.exec(`drop trigger if exists "${t.name.replace(/"/g, '""')}"`);
}

/** The data folder and the files in it that group or others may read or write (none when the folder does not exist yet). */
export function dataDirWarnings(dir: string): DataDirWarning[] {
  if (!existsSync(dir)) return [];
  const out: DataDirWarning[] = [];
  const wide = (path: string, allowed: number) => {
    const mode = statSync(path).mode & 0o777;
    if (mode & ~allowed) out.push({ path, mode: mode.toString(8).padStart(4, '0'), message: `${path} is readable by other users (mode ${mode.toString(8).padStart(4, '0')}); it should be ${allowed.toString(8).padStart(4, '0')}` });
  };
  wide(dir, 0o700);
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isFile()) wide(join(dir, e.name), 0o600);
  return out;
}

/**
 * Kysely prepares every query anew; compiling the same SQL over and over was a third of the
 * database time in the inbound benchmark. Statements are reusable, so keep the recent ones.
 */
function withStatementCache(db: Database.Database, max = 500) {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql); // refresh its place in the LRU order
      } else {
        stmt = db.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  } as unknown as Database.Database;
}
