/**
 * Counts the SQL statements better-sqlite3 executes in this process (bench-only): every run/get/all/
 * iterate of a prepared statement is one statement, including BEGIN and COMMIT. Patches the shared
 * Statement prototype, so statements prepared (and cached) before install() are counted too.
 *
 *   const c = installSqlCounter(); c.reset(); ...work...; c.count / c.byText()
 */
import Database from 'better-sqlite3';

export type SqlCounter = { readonly count: number; reset(): void; byText(): [string, number][];
  /** Statement shapes by the time spent executing them (ms, summed), longest first. */
  byTime(): [string, number][];
  /** The median time (ms) of one execution of a statement shape (a mean over few calls is mostly its outliers). */
  median(key: string): number; uninstall(): void };

export function installSqlCounter(o: { texts?: boolean } = {}): SqlCounter {
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('select 1')) as Record<string, (...a: unknown[]) => unknown>;
  probe.close();
  const originals = new Map<string, (...a: unknown[]) => unknown>();
  let count = 0;
  const texts = new Map<string, number>();
  const times = new Map<string, number>();
  const samples = new Map<string, number[]>();
  // The statement's shape, without its literal values: the same query counts as one line. Worked out once
  // per SQL text (normalising it on every statement cost ~0.4 ms of each answered message in the inbound
  // bench's sustained phase, counted in its figure).
  const shapes = new Map<string, string>();
  const shapeOf = (source: string) => {
    let key = shapes.get(source);
    if (key === undefined) shapes.set(source, (key = source.replace(/\s+/g, ' ').replace(/'[^']*'/g, "'?'").slice(0, 160)));
    return key;
  };
  for (const name of ['run', 'get', 'all', 'iterate']) {
    const orig = proto[name]!;
    originals.set(name, orig);
    proto[name] = function (this: { source: string }, ...args: unknown[]) {
      count++;
      if (!o.texts) return orig.apply(this, args);
      const key = shapeOf(this.source);
      texts.set(key, (texts.get(key) ?? 0) + 1);
      const t0 = performance.now();
      try { return orig.apply(this, args); } finally {
        const d = performance.now() - t0;
        times.set(key, (times.get(key) ?? 0) + d);
        let a = samples.get(key); if (!a) samples.set(key, (a = [])); a.push(d);
      }
    };
  }
  return {
    get count() { return count; },
    reset() { count = 0; texts.clear(); times.clear(); samples.clear(); },
    byText: () => [...texts].sort((a, b) => b[1] - a[1]),
    byTime: () => [...times].sort((a, b) => b[1] - a[1]),
    median: (key: string) => { const a = [...(samples.get(key) ?? [])].sort((x, y) => x - y); return a.length ? a[a.length >> 1]! : 0; },
    uninstall() { for (const [name, f] of originals) proto[name] = f; },
  };
}
