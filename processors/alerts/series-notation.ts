/**
 * promtool's input series notation. `series`: `name{label="value", ...}` (names and label names may hold
 * dots). `values`: space-separated items, each one of
 *   `a`        one value;                 `_`     a missing sample;       `stale`  a staleness marker
 *   `a+bxN`    a, a+b, ..., a+N*b (N+1 values);     `a-bxN` likewise downwards
 *   `axN`      a repeated N+1 times;      `_xN`   N missing samples
 * Missing samples and staleness markers both leave that step without a point.
 */

export interface ParsedSeries {
  name: string;
  labels: Record<string, string>;
}

export function parseSeriesSelector(text: string): ParsedSeries {
  const m = /^\s*([A-Za-z_:][A-Za-z0-9_:.-]*)\s*(?:\{(.*)\})?\s*$/s.exec(text);
  if (!m) throw new Error(`bad series ${JSON.stringify(text)}: expected name{label="value", ...}`);
  const labels: Record<string, string> = {};
  const body = (m[2] ?? '').trim();
  const re = /\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/gy;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const lm = re.exec(body);
    if (!lm) throw new Error(`bad series ${JSON.stringify(text)}: labels must be name="value" separated by commas (at "${body.slice(pos)}")`);
    labels[lm[1]!] = JSON.parse(`"${lm[2]}"`) as string;
    pos = re.lastIndex;
  }
  return { name: m[1]!, labels };
}

const NUM = '[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?|[-+]?Inf|NaN';
const EXPAND = new RegExp(`^(${NUM})(?:([+-])(${NUM}))?x(\\d+)$`);
const MISSING_EXPAND = /^_x(\d+)$/;

/** The values of a series, one per step; undefined is a missing sample. */
export function parseValues(text: string): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  for (const item of String(text).trim().split(/\s+/)) {
    if (item === '') continue;
    if (item === '_' || item === 'stale') {
      out.push(undefined);
      continue;
    }
    const mm = MISSING_EXPAND.exec(item);
    if (mm) {
      for (let i = 0; i < Number(mm[1]); i++) out.push(undefined);
      continue;
    }
    const em = EXPAND.exec(item);
    if (em) {
      const a = num(em[1]!);
      const b = em[3] !== undefined ? num(em[3]) * (em[2] === '-' ? -1 : 1) : 0;
      const n = Number(em[4]);
      if (n > 100_000) throw new Error(`"${item}": too many values`);
      for (let i = 0; i <= n; i++) out.push(a + i * b);
      continue;
    }
    if (new RegExp(`^(?:${NUM})$`).test(item)) {
      out.push(num(item));
      continue;
    }
    throw new Error(`bad value "${item}": expected a number, _, stale, a+bxN, a-bxN, axN or _xN`);
  }
  return out;
}

function num(s: string): number {
  if (/^[-+]?Inf$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  return Number(s);
}
