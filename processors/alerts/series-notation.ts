/**
 * promtool's input series notation (Prometheus `promql/parser`: `ParseSeriesDesc`, the grammar's
 * `series_item`). `series`: `name{label="value", ...}` (names and label names may hold dots; values are PromQL strings:
 * double- or single-quoted with Go escapes, or raw in backquotes).
 * `values`: space-separated items, each one of
 *   `a`        one value;                 `_`     a missing sample;       `stale`  a staleness marker
 *   `a+bxN`    a, a+b, ..., a+N*b (N+1 values, each the previous plus b, as promtool adds them)
 *   `a-bxN`    likewise downwards;        `axN`   a repeated N+1 times;   `_xN`    N missing samples
 * A number is what the PromQL lexer reads in a series description: decimal digits with an optional
 * fraction and exponent, `_` between digits (`1_000`), an integer with a leading 0 in octal (`010` is 8,
 * as Go's `strconv.ParseInt(s, 0, 64)` reads it), `Inf`/`NaN` (any case), a duration (`5m` is 300), a
 * sign in front. Hexadecimal is not a number there (`0x10` is 0 repeated: eleven zeros), nor `0o7`/`0b1`.
 * Native-histogram values (`{{...}}`) are refused: vigil's histogram series take one observation per step.
 */

/** A parsed `series` selector: metric name and labels. */
export interface ParsedSeries {
  name: string;
  labels: Record<string, string>;
}

/** A staleness marker (promtool `stale`): the series ends at that step. */
export const STALE = 'stale';

/** One step of a series: a value, a staleness marker, or undefined for a missing sample. */
export type SeriesValue = number | typeof STALE | undefined;

/**
 * Parses `name{label="value", ...}` (see this file's comment). `__name__` sets the name when none comes
 * before the braces (a name before them wins, as promtool reads it); a label name given twice is an error
 * (promtool: "label name is not unique"). Throws an Error naming the text when it is not that form.
 */
export function parseSeriesSelector(text: string): ParsedSeries {
  // promtool: "unexpected character in series sequence: '{'" when a space comes between them
  if (/^\s*[A-Za-z_:][A-Za-z0-9_:.-]*\s+\{/.test(text)) throw new Error(`bad series ${JSON.stringify(text)}: no space may come between the name and "{"`);
  const m = /^\s*([A-Za-z_:][A-Za-z0-9_:.-]*)?(?:\{(.*)\})?\s*$/s.exec(text);
  if (!m || (m[1] === undefined && m[2] === undefined)) throw new Error(`bad series ${JSON.stringify(text)}: expected name{label="value", ...}`);
  const labels: Record<string, string> = {};
  const body = (m[2] ?? '').trim();
  const re = /\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)\s*(,|$)/gy;
  let pos = 0;
  let name = m[1];
  const seen = new Set<string>();
  while (pos < body.length) {
    re.lastIndex = pos;
    const lm = re.exec(body);
    if (!lm) throw new Error(`bad series ${JSON.stringify(text)}: labels must be name="value" separated by commas (at "${body.slice(pos)}")`);
    let value: string;
    try {
      value = unquotePromQL(lm[2]!);
    } catch (e) {
      throw new Error(`bad series ${JSON.stringify(text)}: label ${lm[1]}: ${(e as Error).message}`);
    }
    if (seen.has(lm[1]!)) throw new Error(`bad series ${JSON.stringify(text)}: label name "${lm[1]}" is given twice`);
    seen.add(lm[1]!);
    if (lm[1] === '__name__') name ??= value;
    else labels[lm[1]!] = value;
    pos = re.lastIndex;
  }
  if (!name) throw new Error(`bad series ${JSON.stringify(text)}: no metric name`);
  return { name, labels };
}

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };
const utf8 = new TextEncoder();

/**
 * A PromQL string literal's value, as Prometheus's lexer and `strconv.Unquote` read it: `"..."` or `'...'`
 * with Go's escapes (`\a \b \f \n \r \t \v \\`, the enclosing quote, `\NNN` octal and `\xNN` bytes,
 * `\uNNNN` and `\UNNNNNNNN` code points), or a raw `` `...` `` taken as written. Throws on a bad escape.
 */
export function unquotePromQL(literal: string): string {
  const quote = literal[0]!;
  const body = literal.slice(1, -1);
  if (quote === '`') return body;
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      if (cp > 0xffff) i++;
      bytes.push(...utf8.encode(String.fromCodePoint(cp)));
      continue;
    }
    const e = body[++i] ?? '';
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) bytes.push(simple);
    else if (e === quote) bytes.push(quote.charCodeAt(0));
    else if (/[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) throw new Error(`bad octal escape "\\${oct}" (three octal digits, at most \\377)`);
      bytes.push(parseInt(oct, 8));
      i += 2;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new Error(`bad escape "\\${e}${hex}" (${n} hexadecimal digits)`);
      const v = parseInt(hex, 16);
      if (e === 'x') bytes.push(v);
      else if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) throw new Error(`bad escape "\\${e}${hex}": not a Unicode code point`);
      else bytes.push(...utf8.encode(String.fromCodePoint(v)));
      i += n;
    } else throw new Error(`unknown escape "\\${e}" in a ${quote === '"' ? 'double' : 'single'}-quoted string`);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

const UNIT_S: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
const DIGITS = String.raw`\d+(?:_\d+)*`;
const DECIMAL = String.raw`(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][-+]?${DIGITS})?`;
const DURATION = String.raw`(?:\d+(?:ms|s|m|h|d|w|y))+`;
const UNSIGNED = String.raw`(?:${DURATION}|${DECIMAL}|[iI][nN][fF]|[nN][aA][nN])`;
const ITEM = new RegExp(String.raw`^([-+]?${UNSIGNED})(?:([-+])(${UNSIGNED}))?(?:x(\d+))?$`);
const MISSING = /^_(?:x(\d+))?$/;
const MAX_EXPANSION = 1_000_000;

/** A number as the PromQL lexer and parser read it in a series description (see the module comment). */
export function parseSeriesNumber(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1;
  const s = text.replace(/^[-+]/, '');
  if (/^[iI][nN][fF]$/.test(s)) return sign * Infinity;
  if (/^[nN][aA][nN]$/.test(s)) return NaN;
  if (new RegExp(`^${DURATION}$`).test(s)) {
    let total = 0;
    for (const m of s.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * UNIT_S[m[2]!]!;
    return sign * total;
  }
  const plain = s.replaceAll('_', '');
  // strconv.ParseInt(s, 0, 64) first: a leading 0 means octal (when every digit is one)
  if (/^0[0-7]+$/.test(plain)) return sign * parseInt(plain, 8);
  return sign * Number(plain);
}

/** The values of a series, one per step (see {@link SeriesValue}); throws on what promtool refuses. */
export function parseValues(text: string): SeriesValue[] {
  const out: SeriesValue[] = [];
  for (const item of String(text).trim().split(/\s+/)) {
    if (item === '') continue;
    if (item === STALE) {
      out.push(STALE);
      continue;
    }
    if (item.startsWith('{{')) throw new Error(`"${item}": native histogram values are not supported (give a histogram series one observed value per step)`);
    const mm = MISSING.exec(item);
    if (mm) {
      const n = mm[1] === undefined ? 1 : Number(mm[1]);
      if (n > MAX_EXPANSION) throw new Error(`"${item}": too many values`);
      for (let i = 0; i < n; i++) out.push(undefined);
      continue;
    }
    const em = ITEM.exec(item);
    if (!em || (em[2] !== undefined && em[4] === undefined)) {
      throw new Error(`bad value "${item}": expected a number, _, stale, a+bxN, a-bxN, axN or _xN (hexadecimal is not a number in series values)`);
    }
    let a = parseSeriesNumber(em[1]!);
    if (em[4] === undefined) {
      out.push(a);
      continue;
    }
    const n = Number(em[4]);
    if (n > MAX_EXPANSION) throw new Error(`"${item}": too many values`);
    const b = em[3] !== undefined ? parseSeriesNumber(em[3]) * (em[2] === '-' ? -1 : 1) : 0;
    // each value is the previous one plus b, as promtool computes them (not a + i*b: the rounding differs)
    for (let i = 0; i <= n; i++) {
      out.push(a);
      a += b;
    }
  }
  return out;
}
