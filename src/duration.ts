/** Durations in config are strings like `500ms`, `10s`, `5m`, `4h`, `1d`, or combined (`1h30m`); `0` is zero. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

/** The JSON Schema pattern a duration string must match. */
export const DURATION_PATTERN = '^(0|((\\d+(\\.\\d+)?)(ms|s|m|h|d|w))+)$';

/** Parses a duration string to milliseconds; throws on anything else. */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  let total = 0;
  let pos = 0;
  PART.lastIndex = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) throw new Error(`invalid duration "${text}": expected a number and a unit (ms, s, m, h, d, w), e.g. "10s"`);
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = PART.lastIndex;
  }
  if (s.length === 0) throw new Error('invalid duration "": expected e.g. "10s"');
  return total;
}

/** Formats milliseconds as a short duration (`1h30m`, `45s`, `250ms`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, secs] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= secs) {
      parts.push(`${Math.floor(rest / secs)}${unit}`);
      rest %= secs;
    }
  }
  return parts.join('');
}
