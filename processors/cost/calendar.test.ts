/**
 * The budgets' calendar in UTC comes from `Date` itself (no ICU time zone data at start, issue 21): it must
 * give the periods (budget-book.ts) and period bounds (cost-status.ts, the status page) that
 * `Intl.DateTimeFormat` gives, at any instant.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calendarFor, isUtc, periodOf } from './budget-book.ts';
import { periodBounds } from './cost-status.ts';

const intl = (tz: string) => new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
// instants from 1970 to 2200, with the edges of days, months and leap years among them
const instant = fc.oneof(fc.integer({ min: 0, max: 7_258_118_400_000 }), fc.constantFrom(Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2024, 2, 1), Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2100, 1, 28, 12)));

describe('UTC calendar without Intl', () => {
  it('reads UTC from Date for the UTC names only', () => {
    for (const z of ['UTC', 'utc', 'Etc/UTC', 'GMT', 'Etc/GMT']) {
      expect(isUtc(z), z).toBe(true);
      expect(calendarFor(z), z).toBeUndefined();
    }
    for (const z of ['Europe/London', 'Etc/GMT+1', 'Africa/Abidjan', 'America/New_York']) expect(isUtc(z), z).toBe(false);
    expect(calendarFor('Europe/Paris')).toBeInstanceOf(Intl.DateTimeFormat);
    expect(() => calendarFor('Mars/Olympus')).toThrow(RangeError);
  });

  it('gives the same day and month periods as Intl.DateTimeFormat', () => {
    fc.assert(
      fc.property(instant, fc.constantFrom('UTC', 'Etc/UTC', 'GMT'), fc.constantFrom('day' as const, 'month' as const), (ms, tz, kind) => {
        expect(periodOf(calendarFor(tz), kind, ms)).toBe(periodOf(intl(tz), kind, ms));
      }),
      { numRuns: 500, seed: 21 },
    );
  });

  it('gives the same period bounds as through Intl (a UTC-equivalent zone that is not an alias)', () => {
    // Africa/Abidjan has been UTC+0 without DST since 1912: Intl's path, same answers
    fc.assert(
      fc.property(instant, fc.constantFrom('day' as const, 'month' as const), (ms, kind) => {
        expect(periodBounds(kind, 'UTC', ms)).toEqual(periodBounds(kind, 'Africa/Abidjan', ms));
      }),
      { numRuns: 300, seed: 21 },
    );
  });
});
