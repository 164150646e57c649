/** prepared(): built once, run with each call's values, inside and outside transactions (SQLite; PostgreSQL under test:pg). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore } from '../../test/helpers/test-store.js';
import type { Db } from './db.js';
import { listed, paddedList, prepared, preparedShapes, sizedRuns } from './prepared.js';

let db: Db;
let close: () => Promise<void>;
beforeAll(async () => { ({ db, close } = await openTestStore({ now: () => new Date('2026-03-01T10:00:00Z') })); });
afterAll(() => close?.());

describe('prepared statements', () => {
  it('builds the query once and runs it with each call\'s values, in the order the SQL wants them', async () => {
    let built = 0;
    const put = prepared((d, p: { key: string; value: string }) => { built++; return d.insertInto('settings').values({ key: p.key, value: p.value, updated_at: '2026-03-01T10:00:00Z' }); });
    const get = prepared((d, p: { key: string }) => d.selectFrom('settings').select(['key', 'value']).where('key', '=', p.key));
    await put.execute(db, { key: 'prep-a', value: '"1"' });
    await put.execute(db, { value: '"2"', key: 'prep-b' });
    expect(built).toBe(1);
    expect(await get.first(db, { key: 'prep-b' })).toEqual({ key: 'prep-b', value: '"2"' });
    expect(await get.first(db, { key: 'prep-a' })).toEqual({ key: 'prep-a', value: '"1"' });
    expect(await get.first(db, { key: 'none' })).toBeUndefined();
  });

  it('builds one query per shape, each once', async () => {
    const built: string[] = [];
    const get = preparedShapes((withValue: boolean) => (d, p: { key: string }) => {
      built.push(String(withValue));
      return d.selectFrom('settings').select(withValue ? ['key', 'value'] : ['key']).where('key', '=', p.key);
    });
    await db.insertInto('settings').values({ key: 'shape-a', value: '"a"', updated_at: '2026-03-01T10:00:00Z' }).execute();
    expect(await get(true).first(db, { key: 'shape-a' })).toEqual({ key: 'shape-a', value: '"a"' });
    expect(await get(false).first(db, { key: 'shape-a' })).toEqual({ key: 'shape-a' });
    expect(await get(true).first(db, { key: 'shape-a' })).toEqual({ key: 'shape-a', value: '"a"' });
    expect(built).toEqual(['true', 'false']);
  });

  it('runs inside a transaction, which can roll it back', async () => {
    const put = prepared((d, p: { key: string }) => d.insertInto('settings').values({ key: p.key, value: '"x"', updated_at: '2026-03-01T10:00:00Z' }));
    const get = prepared((d, p: { key: string }) => d.selectFrom('settings').select('key').where('key', '=', p.key));
    await expect(db.transaction().execute(async (tx) => {
      await put.execute(tx, { key: 'prep-tx' });
      expect(await get.first(tx, { key: 'prep-tx' })).toEqual({ key: 'prep-tx' });
      throw new Error('roll back');
    })).rejects.toThrow('roll back');
    expect(await get.first(db, { key: 'prep-tx' })).toBeUndefined();
  });

  it('outside a transaction, waits while another caller\'s transaction is open, and is not part of it', async () => {
    const put = prepared((d, p: { key: string }) => d.insertInto('settings').values({ key: p.key, value: '"x"', updated_at: '2026-03-01T10:00:00Z' }));
    const get = prepared((d, p: { key: string }) => d.selectFrom('settings').select('key').where('key', '=', p.key));
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let inside!: () => void;
    const opened = new Promise<void>((r) => { inside = r; });
    const tx = db.transaction().execute(async (t) => {
      await put.execute(t, { key: 'prep-held' });
      inside();
      await gate; // the transaction stays open across this await, holding the connection
      order.push('tx ends');
      throw new Error('roll back');
    });
    await opened;
    const outside = put.execute(db, { key: 'prep-outside' }).then(() => order.push('outside ran'));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]); // still waiting for the connection
    release();
    await expect(tx).rejects.toThrow('roll back');
    await outside;
    expect(order).toEqual(['tx ends', 'outside ran']);
    // The rollback took the transaction's row, not the one written from outside it.
    expect(await get.first(db, { key: 'prep-held' })).toBeUndefined();
    expect(await get.first(db, { key: 'prep-outside' })).toEqual({ key: 'prep-outside' });
  });

  it('reports affected rows like Kysely does', async () => {
    const set = prepared((d, p: { value: string }) => d.updateTable('settings').set({ value: p.value }).where('key', 'like', 'prep-%'));
    const r = await set.execute(db, { value: '"y"' });
    const n = await db.selectFrom('settings').select((e) => e.fn.countAll<number>().as('n')).where('key', 'like', 'prep-%').executeTakeFirstOrThrow();
    expect(r.numAffectedRows).toBe(BigInt(Number(n.n)));
    expect(r.rows).toEqual([]);
  });

  it('splits rows into runs of the prepared sizes, largest first', () => {
    const items = Array.from({ length: 13 }, (_, i) => i);
    expect(sizedRuns(items, [8, 4, 2, 1]).map(({ start, run }) => [start, run.length])).toEqual([[0, 8], [8, 4], [12, 1]]);
    expect(sizedRuns(items, [8, 4, 2, 1]).flatMap((r) => r.run)).toEqual(items);
    expect(sizedRuns([], [8, 4, 2, 1])).toEqual([]);
  });

  it('pads an id list to the smallest prepared length with its last id, and gives up on an empty or too long one', () => {
    expect(paddedList(['a'], [1, 2, 4], 'x')).toEqual({ n: 1, values: { x0: 'a' } });
    const three = paddedList(['a', 'b', 'c'], [1, 2, 4], 'x')!;
    expect(three).toEqual({ n: 4, values: { x0: 'a', x1: 'b', x2: 'c', x3: 'c' } });
    expect(listed(three.n, three.values, 'x')).toEqual(['a', 'b', 'c', 'c']);
    expect(paddedList([], [1, 2, 4], 'x')).toBeUndefined();
    expect(paddedList(['a', 'b', 'c', 'd', 'e'], [1, 2, 4], 'x')).toBeUndefined();
  });

  it('runs a statement over a padded list: the same rows as the list itself', async () => {
    for (const key of ['pad-1', 'pad-2', 'pad-3']) await db.insertInto('settings').values({ key, value: '"v"', updated_at: '2026-01-01T00:00:00.000Z' }).onConflict((oc) => oc.column('key').doNothing()).execute();
    const byKeys = preparedShapes((n: number) => (d: Db, p: Record<`k${number}`, string>) => d.selectFrom('settings').select('key').where('key', 'in', listed(n, p, 'k')).orderBy('key'));
    const few = paddedList(['pad-3', 'pad-1', 'pad-9'], [1, 2, 4], 'k')!;
    expect((await byKeys(few.n).execute(db, few.values)).rows.map((r) => r.key)).toEqual(['pad-1', 'pad-3']);
  });
});
