/**
 * A query built and compiled once, then run with new values: for the few statements every model
 * call runs (the key and its user, the agent, the person, the message log, the usage row, the
 * settle). Building a Kysely query — its immutable operation tree, then the compiler's walk over it —
 * cost more CPU than SQLite took to run it (bench/proxy.ts profile: `select`, `parseSelectArg`,
 * `compileQuery` above the statement itself); the SQL text and its parameter positions do not
 * change from call to call, only the values do.
 *
 *   const byHash = prepared((db, p: { hash: string }) => db.selectFrom('tokens').selectAll().where('hash', '=', p.hash));
 *   const rows = (await byHash.execute(db, { hash })).rows;
 *
 * `build` is called once per SQL dialect, with stand-ins for the values: each `p.<name>` may only be
 * handed to Kysely as a value (never inspected, sliced or compared in JavaScript), and the query's
 * shape must not depend on the values (no `in` lists of varying length). Runs inside a transaction
 * when `db` is one; plugins, if any were configured, still see every result.
 */
import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import type BetterSqlite from 'better-sqlite3';
import type { Db } from './db.js';
import { sqliteHandles } from './dialects/sqlite.js';

const NAME = Symbol('prepared value');
type StandIn = { readonly [NAME]: string };
const isStandIn = (v: unknown): v is StandIn => typeof v === 'object' && v !== null && NAME in v;

export type Prepared<P, R> = {
  execute(db: Db, values: P): Promise<QueryResult<R>>;
  /** The first row, or undefined (executeTakeFirst). */
  first(db: Db, values: P): Promise<R | undefined>;
  /** The SQL it runs on this database (tests ask SQLite for its query plan). */
  sql(db: Db): string;
};

export function prepared<P extends Record<string, unknown>, R>(build: (db: Db, p: P) => Compilable<R>): Prepared<P, R> {
  // Per dialect (the adapter's class): the same process may hold a SQLite and a PostgreSQL database (tests).
  const compiled = new Map<unknown, { query: CompiledQuery<R>; slots: (string | undefined)[] }>();
  function compile(db: Db) {
    const dialect = db.getExecutor().adapter.constructor;
    let c = compiled.get(dialect);
    if (!c) {
      const p = new Proxy({}, { get: (_, name) => ({ [NAME]: String(name) }) }) as P;
      const query = build(db, p).compile();
      c = { query, slots: query.parameters.map((v) => (isStandIn(v) ? v[NAME] : undefined)) };
      compiled.set(dialect, c);
    }
    return c;
  }
  // SQLite: the statement object per database handle (tests open many).
  const statements = new WeakMap<BetterSqlite.Database, BetterSqlite.Statement>();
  async function execute(db: Db, values: P): Promise<QueryResult<R>> {
    const { query, slots } = compile(db);
    // A value left undefined is bound as NULL (the column is in the statement either way).
    const parameters = query.parameters.map((v, i) => (slots[i] === undefined ? v : values[slots[i]!] ?? null));
    const raw = sqliteHandles.get(db.getExecutor().adapter);
    // SQLite has one connection, which Kysely lends out under a mutex (a transaction holds it across
    // its awaits). better-sqlite3 runs a statement synchronously, so it can run here at once —
    // without the mutex's and the executor's promise hops — when the caller holds the connection
    // (`db` is its transaction) or when no transaction is open on it (nobody is between statements
    // that must not see ours). Otherwise it waits its turn through Kysely as before.
    if (raw && (db.isTransaction || !raw.inTransaction)) {
      let stmt = statements.get(raw);
      if (!stmt) statements.set(raw, (stmt = raw.prepare(query.sql)));
      if (stmt.reader) return { rows: stmt.all(parameters) as R[] };
      const { changes, lastInsertRowid } = stmt.run(parameters);
      return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
    }
    return db.executeQuery<R>({ ...query, parameters });
  }
  return { execute, first: async (db, values) => (await execute(db, values)).rows[0], sql: (db) => compile(db).query.sql };
}

/**
 * Splits `items` into runs of the given sizes, largest first (sizes descending and ending in 1), for a
 * multi-row statement prepared per size: 37 items in sizes [32, …, 1] are runs of 32, 4 and 1, each
 * with the index of its first item.
 */
export function sizedRuns<T>(items: T[], sizes: readonly number[]): { start: number; run: T[] }[] {
  const out: { start: number; run: T[] }[] = [];
  for (let i = 0; i < items.length;) {
    const n = sizes.find((size) => size <= items.length - i)!;
    out.push({ start: i, run: items.slice(i, i + n) });
    i += n;
  }
  return out;
}

/**
 * One prepared query per shape, for a statement with a few variants (which columns an update sets,
 * how many rows an insert has): `shape` names the variant, and each is built on first use, then
 * kept. The shape must come from a small fixed set, never from a value.
 *
 *   const touch = preparedShapes((withPreview: boolean) => (db, p: { id: string; at: string }) => ...);
 *   await touch(!!text).execute(db, { id, at });
 */
export function preparedShapes<S extends string | number | boolean, P extends Record<string, unknown>, R>(
  build: (shape: S) => (db: Db, p: P) => Compilable<R>,
): (shape: S) => Prepared<P, R> {
  const byShape = new Map<S, Prepared<P, R>>();
  return (shape) => {
    let q = byShape.get(shape);
    if (!q) byShape.set(shape, (q = prepared(build(shape))));
    return q;
  };
}

/**
 * For a statement over a list of ids (`in (…)`), prepared once per list length in `sizes` (ascending):
 * the smallest length that holds `list`, and the values to run it with — the list padded with its last
 * id (an id repeated in an `in` list changes nothing). Undefined for an empty list or one longer than
 * every size (build that one as usual). In the statement, `listed(n, p, prefix)` is the list.
 */
export function paddedList<K extends string>(list: string[], sizes: readonly number[], prefix: K): { n: number; values: ListValues<K> } | undefined {
  const n = list.length ? sizes.find((size) => size >= list.length) : undefined;
  if (n === undefined) return undefined;
  return { n, values: Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, list[Math.min(i, list.length - 1)]!])) as ListValues<K> };
}
export type ListValues<K extends string> = Record<`${K}${number}`, string>;
export const listed = <K extends string>(n: number, p: ListValues<K>, prefix: K) => Array.from({ length: n }, (_, i) => p[`${prefix}${i}`]!);

/**
 * A query over a list of ids (`in (…)`) that a hot path runs: prepared once per list length in `sizes`
 * (ascending; the list padded as `paddedList` does), built as usual for a longer one. `build` gets the
 * ids and the other values, and follows `prepared`'s rules for both (values only handed to Kysely). The
 * list must not be empty.
 *
 *   const channelsOf = preparedIn([1, 2, 4, 8], (db, ids) => db.selectFrom('agent_channels').selectAll().where('agent_id', 'in', ids));
 *   const rows = await channelsOf(db, agentIds, {});
 */
export function preparedIn<P extends Record<string, unknown>, R>(
  sizes: readonly number[], build: (db: Db, ids: string[], p: P) => Compilable<R> & { execute(): Promise<R[]> },
): (db: Db, ids: string[], p: P) => Promise<R[]> {
  const shapes = preparedShapes((n: number) => (db: Db, p: P & ListValues<'id'>) => build(db, listed(n, p, 'id'), p));
  return async (db, ids, p) => {
    const few = paddedList(ids, sizes, 'id');
    return few ? (await shapes(few.n).execute(db, { ...p, ...few.values })).rows : build(db, ids, p).execute();
  };
}
