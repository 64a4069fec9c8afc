import { describe, expect, it } from 'vitest';
import { ModelCosts, budgetStatus, periodBounds } from './cost-status.ts';

describe('cost status (the status page spend against budget)', () => {
  it('finds the calendar period in the budget time zone', () => {
    const now = Date.parse('2026-11-23T15:30:00Z');
    expect(periodBounds('day', 'UTC', now)).toEqual({ start: Date.parse('2026-11-23T00:00:00Z'), end: Date.parse('2026-11-24T00:00:00Z') });
    expect(periodBounds('month', 'UTC', now)).toEqual({ start: Date.parse('2026-11-01T00:00:00Z'), end: Date.parse('2026-12-01T00:00:00Z') });
    // 15:30 UTC is 00:30 the next day in Tokyo (UTC+9)
    expect(periodBounds('day', 'Asia/Tokyo', now)).toEqual({ start: Date.parse('2026-11-23T15:00:00Z'), end: Date.parse('2026-11-24T15:00:00Z') });
  });

  it('projects the spend linearly to the end of the period', () => {
    const now = Date.parse('2026-11-23T06:00:00Z'); // a quarter of the day
    const [b] = budgetStatus({ config: { name: 'daily', period: 'day', limit_usd: 10, group_by: [], timezone: 'UTC' }, period: '2026-11-23', groups: [{ attrs: [], spent: 3 }] }, now);
    expect(b).toMatchObject({ name: 'daily', periodLabel: '2026-11-23', spentUsd: 3, limitUsd: 10, utilization: 0.3, periodEndMs: Date.parse('2026-11-24T00:00:00Z') });
    expect(b!.projectedUsd).toBeCloseTo(12, 10);
  });

  it('keeps cost per model for today and the month, rolling over at UTC midnight and month start', () => {
    const m = new ModelCosts();
    const d1 = Date.parse('2026-11-30T23:00:00Z');
    m.add('gpt-4o', 1, true, 100, 10, d1);
    m.add('mystery', 0, false, 50, 5, d1);
    expect(m.list(d1).map((x) => [x.model, x.todayUsd, x.monthUsd, x.unpriced])).toEqual([
      ['gpt-4o', 1, 1, false],
      ['mystery', 0, 0, true],
    ]);
    m.add('gpt-4o', 2, true, 100, 10, Date.parse('2026-11-30T23:59:00Z'));
    expect(m.list(Date.parse('2026-11-30T23:59:30Z'))[0]).toMatchObject({ todayUsd: 3, monthUsd: 3, inputTokens: 200 });
    expect(m.list(Date.parse('2026-12-01T00:00:01Z'))).toEqual([]);
  });
});
