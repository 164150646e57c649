/**
 * Text keys shared by the repositories: FTS5 tokens for ids, and day/period bounds as ISO text.
 */

/**
 * An id as one FTS5 token: a kind letter ('a' agent, 'p' person) + hex of the id + 'x', one token
 * whatever the id holds and with no suffix the porter stemmer would cut. Migrations 0027
 * (knowledge_fts.agent_id) and 0031 (summaries_fts.scope) write the same in SQL.
 */
export const ftsToken = (kind: 'a' | 'p', id: string) => `${kind}${Buffer.from(id, 'utf8').toString('hex')}x`;

/** The day after a 'YYYY-MM-DD' day. */
export const nextDay = (d: string) => new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/**
 * A spend period ('YYYY-MM' or 'YYYY-MM-DD') as text bounds [from, to): a day ('YYYY-MM-DD') or a time
 * (ISO) is in the period when from <= it < to. A range an index can serve, where `LIKE 'period%'` could
 * not (SQLite's LIKE ignores case, and PostgreSQL's uses an index only under the C collation), so a
 * month's first message no longer read the whole usage table. Fixed-width ISO text orders the same
 * under any collation.
 */
export function periodBounds(period: string): [string, string] {
  if (/^\d{4}-\d{2}$/.test(period)) {
    const [y, m] = period.split('-').map(Number) as [number, number];
    return [period, m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`];
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(period)) return [period, nextDay(period)];
  throw new Error(`not a spend period: ${period}`);
}
