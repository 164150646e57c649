import { describe, expect, it } from 'vitest';
import type { SiteAudit, SiteCheck } from '../domain/ports.js';
import { localDate, quantile, renderFacts, weekFacts } from './site-report.js';

const TO = new Date('2026-03-09T08:00:00.000Z');
const check = (at: string, ok: boolean, totalMs: number | null): SiteCheck => ({ id: at, agentId: 'a', slot: at, at, ok, status: ok ? 200 : 0, ttfbMs: null, totalMs, certDaysLeft: null, error: ok ? null : 'x' });
const audit = (id: string, at: string, status: SiteAudit['status'], pages: Record<string, string>): SiteAudit => ({
  id, agentId: 'a', at, url: 'https://s/', source: 'api', status, finishedAt: at, scores: { seo: 50 }, findings: [], pages, notes: [], error: null,
});

describe('the weekly report figures', () => {
  it('takes nearest-rank quantiles', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([10], 0.95)).toBe(10);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([...Array(20).keys()].map((i) => i + 1), 0.95)).toBe(19);
  });

  it('counts only the week before the slot and only answered checks for response times', () => {
    const f = weekFacts('https://s/', TO, [
      check('2026-03-01T07:00:00.000Z', false, null), // more than a week before: left out
      check('2026-03-03T07:00:00.000Z', true, 100),
      check('2026-03-04T07:00:00.000Z', false, null),
      check('2026-03-05T07:00:00.000Z', true, 300),
      check('2026-03-09T08:00:05.000Z', true, 900), // after the slot: left out
    ], [], []);
    expect(f.checks).toMatchObject({ total: 3, ok: 2, p50Ms: 100, p95Ms: 300 });
    expect(f.checks.uptime).toBeCloseTo(2 / 3);
    expect(renderFacts(f)).toContain('Uptime: 66.66 % (2 of 3 checks answered)');
  });

  it('compares the two newest finished audits, ignoring failed ones, and says plainly when there is nothing to compare', () => {
    const none = renderFacts(weekFacts(null, TO, [], [], []));
    expect(none).toContain('No uptime checks this week.');
    expect(none).toContain('No audit has finished yet.');
    expect(none).toContain('it takes two crawls');
    const f = weekFacts('https://s/', TO, [], [], [
      audit('1', '2026-03-01T00:00:00.000Z', 'done', { 'https://s/': 'a', 'https://s/x': 'b' }),
      audit('3', '2026-03-08T00:00:00.000Z', 'failed', {}),
      audit('2', '2026-03-07T00:00:00.000Z', 'done', { 'https://s/': 'a', 'https://s/x': 'c', 'https://s/y': 'd' }),
    ]);
    expect(f.audit?.previousAt).toBe('2026-03-01T00:00:00.000Z');
    expect(f.pages).toEqual({ crawled: 3, added: ['https://s/y'], removed: [], changed: ['https://s/x'] });
  });

  it('dates a report in the account time zone', () => {
    expect(localDate(new Date('2026-03-08T23:30:00.000Z'), 'Europe/Berlin')).toBe('2026-03-09');
    expect(localDate(new Date('2026-03-08T23:30:00.000Z'), 'UTC')).toBe('2026-03-08');
  });
});
