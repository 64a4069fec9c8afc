/**
 * Times as Alertmanager's v2 API reads them (go-openapi strfmt.DateTime): RFC 3339
 * (`2026-11-30T12:00:00Z`, `2026-11-30T12:00:00.5+01:00`), also with minutes only (`2026-11-30T12:00Z`),
 * and the zone-less forms `2026-11-30T12:00:00`, `2026-11-30T12:00` and `2026-11-30 12:00:00`, which are
 * UTC (as Go parses them; never the local time zone of the machine vigil runs on). Nothing else: no date
 * without a time, no `+0100`, no lower-case `t`/`z`, and no date the calendar does not have (JavaScript's
 * `Date.parse` takes `2026-02-30` as 2 March).
 */

const FORM = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?| (\d{2}):(\d{2}):(\d{2})(\.\d+)?)$/;

const daysIn = (y: number, m: number) => [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;

/** Unix milliseconds of `text` read as this file's comment says, or undefined when it is not such a time. */
export function parseApiTime(text: string): number | undefined {
  const m = FORM.exec(text);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const h = Number(m[4] ?? m[9]);
  const mi = Number(m[5] ?? m[10]);
  const s = Number(m[6] ?? m[11] ?? 0);
  const frac = m[7] ?? m[12] ?? '';
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) return undefined;
  const zone = m[8] ?? 'Z';
  let offsetMin = 0;
  if (zone !== 'Z') {
    const [zh, zm] = [Number(zone.slice(1, 3)), Number(zone.slice(4, 6))];
    if (zh > 23 || zm > 59) return undefined;
    offsetMin = (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm);
  }
  const ms = frac ? Math.floor(Number(`0${frac}`) * 1000) : 0;
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d); // not Date.UTC: it reads years 0-99 as 1900-1999
  t.setUTCHours(h, mi, s, ms);
  return t.getTime() - offsetMin * 60_000;
}
