/**
 * Alertmanager's time intervals (config `time_intervals`, package timeinterval): a named list of
 * intervals; an instant is inside the named interval when it is inside any entry of the list, and inside
 * an entry when every field the entry gives matches (a missing field matches all):
 * - `times`: `[{start_time: "HH:MM", end_time: "HH:MM"}]`, start included, end excluded, `24:00` allowed;
 * - `weekdays`: `monday`, ranges `monday:friday` (inclusive, case-insensitive);
 * - `days_of_month`: `1`, `1:5`, negative days count from the end (`-1` the last day, `-3:-1`, `1:-1`); as in
 *   Alertmanager, a range whose end is before its start even in a 28-day month (`25:-5`) is an error;
 * - `months`: `january`, `1`, ranges `january:march` or `1:3`;
 * - `years`: `2024`, `2024:2026`;
 * - `location`: an IANA zone (`Europe/Paris`), `UTC` (the default) or `Local`; every field is read in it.
 */
import type { ConfigIssue } from '../../src/component.ts';
import type { TimeIntervalConfig } from './config.ts';

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

type Range = [number, number];

interface CompiledInterval {
  times?: Range[]; // minutes of the day, [start, end)
  weekdays?: Range[]; // 0 = sunday
  daysOfMonth?: Range[]; // may be negative
  months?: Range[]; // 1..12
  years?: Range[];
  zone: string | undefined; // undefined: UTC; 'Local': the process's zone
}

/** The compiled `time_intervals` (see this file's comment): each name with its list of intervals. */
export type TimeIntervals = Map<string, CompiledInterval[]>;

function parseRanges(list: string[] | undefined, path: (string | number)[], issues: ConfigIssue[], one: (s: string) => number | undefined, check: (a: number, b: number) => string | undefined): Range[] | undefined {
  if (!list) return undefined;
  const out: Range[] = [];
  list.forEach((text, i) => {
    const parts = text.split(':');
    const a = one(parts[0]!.trim());
    const b = parts.length === 2 ? one(parts[1]!.trim()) : parts.length === 1 ? a : undefined;
    if (a === undefined || b === undefined) {
      issues.push({ path: [...path, i], message: `cannot read ${JSON.stringify(text)}` });
      return;
    }
    const problem = check(a, b);
    if (problem) issues.push({ path: [...path, i], message: `${JSON.stringify(text)}: ${problem}` });
    else out.push([a, b]);
  });
  return out;
}

const int = (s: string) => (/^-?\d+$/.test(s) ? Number(s) : undefined);

function minutes(s: string): number | undefined {
  const m = /^(\d{2}):(\d{2})$/.exec(s);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min !== 0)) return undefined;
  return h * 60 + min;
}

function zoneOk(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Compiles `time_intervals` and Alertmanager's deprecated top-level `mute_time_intervals` (the same list under
 * its old name, still read as Alertmanager 0.25 reads it); a name may be defined once over both. Each
 * problem is an issue with its path.
 */
export function compileTimeIntervals(list: { name: string; time_intervals: TimeIntervalConfig[] }[], issues: ConfigIssue[], legacy: { name: string; time_intervals: TimeIntervalConfig[] }[] = []): TimeIntervals {
  const out: TimeIntervals = new Map();
  const where = new Map<string, string>();
  const all = [...list.map((named, ni) => ({ named, at: ['time_intervals', ni] })), ...legacy.map((named, ni) => ({ named, at: ['mute_time_intervals', ni] }))];
  all.forEach(({ named, at }) => {
    const first = where.get(named.name);
    if (first !== undefined) issues.push({ path: [...at, 'name'], message: `time interval "${named.name}" is defined twice (also at ${first})` });
    else where.set(named.name, at.join('.'));
    const compiled = named.time_intervals.map((ti, j): CompiledInterval => {
      const p = [...at, 'time_intervals', j];
      const times: Range[] | undefined = ti.times?.flatMap((t, k) => {
        const a = minutes(t.start_time);
        const b = minutes(t.end_time);
        if (a === undefined || b === undefined) {
          issues.push({ path: [...p, 'times', k], message: 'expected start_time and end_time as HH:MM (00:00 to 24:00)' });
          return [];
        }
        if (a >= b) {
          issues.push({ path: [...p, 'times', k], message: 'start_time must be before end_time' });
          return [];
        }
        return [[a, b] as Range];
      });
      const weekday = (s: string) => {
        const i = WEEKDAYS.indexOf(s.toLowerCase());
        return i < 0 ? undefined : i;
      };
      const month = (s: string) => {
        const i = MONTHS.indexOf(s.toLowerCase());
        return i >= 0 ? i + 1 : int(s);
      };
      const ordered = (a: number, b: number) => (a > b ? 'the start comes after the end' : undefined);
      let zone = ti.location;
      if (zone === 'UTC') zone = undefined;
      if (zone && zone !== 'Local' && !zoneOk(zone)) issues.push({ path: [...p, 'location'], message: `unknown time zone ${JSON.stringify(zone)}` });
      return {
        times,
        weekdays: parseRanges(ti.weekdays, [...p, 'weekdays'], issues, weekday, ordered),
        daysOfMonth: parseRanges(ti.days_of_month, [...p, 'days_of_month'], issues, int, (a, b) => {
          if (a === 0 || b === 0 || a < -31 || a > 31 || b < -31 || b > 31) return 'days are 1 to 31 or -31 to -1';
          if (a < 0 && b > 0) return 'a negative start needs a negative end';
          // as Alertmanager: counted in a 28-day month, a range whose end is always before its start is an error
          if ((a < 0 ? 28 + a : a) > (b < 0 ? 28 + b : b)) return `the end day ${b} is always before the start day ${a}`;
          return undefined;
        }),
        months: parseRanges(ti.months, [...p, 'months'], issues, month, (a, b) => (a < 1 || b > 12 ? 'months are 1 to 12' : ordered(a, b))),
        years: parseRanges(ti.years, [...p, 'years'], issues, int, ordered),
        zone,
      };
    });
    if (first === undefined) out.set(named.name, compiled);
  });
  return out;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar fields of `ms` in `zone` (undefined: UTC). */
function fields(ms: number, zone: string | undefined): { year: number; month: number; day: number; weekday: number; minute: number; daysInMonth: number } {
  if (zone === undefined) {
    const d = new Date(ms);
    const year = d.getUTCFullYear();
    const month = d.getUTCMonth() + 1;
    return { year, month, day: d.getUTCDate(), weekday: d.getUTCDay(), minute: d.getUTCHours() * 60 + d.getUTCMinutes(), daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate() };
  }
  const tz = zone === 'Local' ? Intl.DateTimeFormat().resolvedOptions().timeZone : zone;
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'long' });
    formatters.set(tz, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(ms))) parts[p.type] = p.value;
  const year = Number(parts.year);
  const month = Number(parts.month);
  return {
    year,
    month,
    day: Number(parts.day),
    weekday: WEEKDAYS.indexOf(parts.weekday!.toLowerCase()),
    minute: Number(parts.hour) * 60 + Number(parts.minute),
    daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  };
}

const inRanges = (rs: Range[] | undefined, v: number) => rs === undefined || rs.some(([a, b]) => a <= v && v <= b);

/** Whether `ms` is inside the entry. */
function contains(ti: CompiledInterval, ms: number): boolean {
  const f = fields(ms, ti.zone);
  if (ti.times && !ti.times.some(([a, b]) => a <= f.minute && f.minute < b)) return false;
  if (!inRanges(ti.weekdays, f.weekday)) return false;
  if (ti.daysOfMonth) {
    const abs = (d: number) => (d < 0 ? f.daysInMonth + 1 + d : d);
    if (!ti.daysOfMonth.some(([a, b]) => abs(a) <= f.day && f.day <= Math.min(abs(b), f.daysInMonth))) return false;
  }
  if (!inRanges(ti.months, f.month)) return false;
  if (!inRanges(ti.years, f.year)) return false;
  return true;
}

/** Whether `ms` is inside any of the named intervals (an unknown name is never active). */
export function inAnyInterval(intervals: TimeIntervals, names: readonly string[], ms: number): boolean {
  for (const n of names) for (const ti of intervals.get(n) ?? []) if (contains(ti, ms)) return true;
  return false;
}
