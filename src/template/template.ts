/**
 * vigil's one template language, for alert annotations and labels and for notification texts:
 * text with `{{ NAME | filter | filter ARG }}` placeholders. A placeholder names a variable of the place's
 * {@link Vocabulary} (nothing else: no code, no calls, no loops, so user text cannot run anything), then
 * optional filters: `humanize` (1.2k, 3.4M, 5m for 0.005), `humanize1024` (Ki, Mi, ...), `humanizeDuration`
 * (seconds to `1h 2m 3s`), `humanizeMillis` (milliseconds to the same), `humanizePercentage` (0.05 to
 * `5%`), `printf "FORMAT"` (one of %d %f %e %g %v %s, or %%), `round` and `round N` (N decimals), `upper`,
 * `lower` (also spelt `toUpper`, `toLower`), `title`. The filters are Prometheus's template functions of the
 * same names, and Go's call form works as well: `{{ humanize $value }}`, `{{ printf "%.2f" $value }}` mean
 * `{{ $value | humanize }}`, `{{ $value | printf "%.2f" }}`. printf takes Go's flags and width (`%5.1f`,
 * `%-8s`, `%+d`, `%0.0f`), and `%v`; numbers are printed and rounded as Go prints them (go-format.ts). `{{{{` writes a literal `{{`.
 * A variable that is not in the vocabulary, an unknown filter or an unclosed `{{` throws at compile time
 * (a config error), naming the character where it is.
 *
 * Rendering is a walk over pre-compiled parts: no parsing, no regex, one string concatenation per part.
 */
import { goFormatFloat } from './go-format.ts';

/** A value a variable yields: numbers print with {@link formatNumber} unless a filter formats them. */
export type TemplateValue = number | string;

/**
 * The variables of one place where templates are written. `scalars`: names read whole (`value`, `status`);
 * `maps`: names read as `NAME.KEY`, where everything after `NAME.` is the key, dots included
 * (`labels.service.name`). A key that is not there renders as "".
 */
export interface Vocabulary<C> {
  scalars: Readonly<Record<string, (ctx: C) => TemplateValue>>;
  maps: Readonly<Record<string, (ctx: C, key: string) => string | undefined>>;
}

type Filter = (v: TemplateValue) => TemplateValue;
type Part = string | { get: (ctx: unknown) => TemplateValue; filters: Filter[] };

/** A compiled template; `render` never throws. */
export class Template<C> {
  private constructor(
    /** The template text as written. */
    readonly source: string,
    private readonly parts: readonly Part[],
  ) {}

  /** Compiles `source` against `vocabulary`; throws an Error saying what is wrong and at which character (1-based). */
  static compile<C>(source: string, vocabulary: Vocabulary<C>): Template<C> {
    const parts: Part[] = [];
    let lit = '';
    let i = 0;
    while (i < source.length) {
      if (source.startsWith('{{{{', i)) {
        lit += '{{';
        i += 4;
        continue;
      }
      if (!source.startsWith('{{', i)) {
        lit += source[i];
        i++;
        continue;
      }
      const close = source.indexOf('}}', i + 2);
      if (close < 0) throw new Error(`unclosed "{{" at character ${i + 1}`);
      if (lit) parts.push(lit);
      lit = '';
      parts.push(compileAction(source.slice(i + 2, close).trim(), i + 1, vocabulary as Vocabulary<unknown>));
      i = close + 2;
    }
    if (lit) parts.push(lit);
    return new Template<C>(source, parts);
  }

  /** The text for `ctx`. */
  render(ctx: C): string {
    let out = '';
    for (const p of this.parts) {
      if (typeof p === 'string') {
        out += p;
        continue;
      }
      let v = p.get(ctx);
      for (const f of p.filters) v = f(v);
      out += typeof v === 'number' ? formatNumber(v) : v;
    }
    return out;
  }
}

/** Every name a vocabulary knows, for error messages (`labels.NAME` for maps). */
function known(v: Vocabulary<unknown>): string {
  return [...Object.keys(v.scalars), ...Object.keys(v.maps).map((m) => `${m}.NAME`)].join(', ');
}

function compileAction(inner: string, at: number, vocabulary: Vocabulary<unknown>): Part {
  if (!inner) throw new Error(`empty "{{ }}" at character ${at}`);
  const segments = splitPipes(inner, at).map((s) => s.trim());
  const first = callForm(segments[0]!, vocabulary);
  if (first) segments.splice(0, 1, first.variable, first.filter);
  return { get: compileVariable(segments[0]!, at, vocabulary), filters: segments.slice(1).map((s) => compileFilter(s, at)) };
}

/**
 * Go's call form of a filter, `{{ humanize $value }}`, `{{ printf "%.2f" $value }}`: a known filter name,
 * its arguments, then a variable as the last operand, which is what `{{ $value | humanize }}` means in Go
 * templates (a pipeline passes its value as the last argument). undefined when `segment` is not one.
 */
function callForm(segment: string, vocabulary: Vocabulary<unknown>): { variable: string; filter: string } | undefined {
  const m = /^([A-Za-z0-9]+)\s+([\s\S]*?)\s*([^\s"]+)$/.exec(segment);
  if (!m || !FILTER_NAMES.has(m[1]!)) return undefined;
  const variable = m[3]!;
  const isVariable = Object.hasOwn(vocabulary.scalars, variable) || Object.keys(vocabulary.maps).some((k) => variable.startsWith(`${k}.`) && variable.length > k.length + 1);
  if (!isVariable) return undefined;
  return { variable, filter: m[2] ? `${m[1]} ${m[2]}` : m[1]! };
}

function compileVariable(name: string, at: number, vocabulary: Vocabulary<unknown>): (ctx: unknown) => TemplateValue {
  const scalar = Object.hasOwn(vocabulary.scalars, name) ? vocabulary.scalars[name] : undefined;
  if (scalar) return scalar;
  for (const [map, get] of Object.entries(vocabulary.maps)) {
    if (name.startsWith(`${map}.`) && name.length > map.length + 1) {
      const key = name.slice(map.length + 1);
      return (ctx) => get(ctx, key) ?? '';
    }
  }
  throw new Error(`unknown variable "${name}" at character ${at}; known: ${known(vocabulary)}`);
}

function splitPipes(s: string, at: number): string[] {
  const out: string[] = [];
  let cur = '';
  let inStr = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' && s[i - 1] !== '\\') inStr = !inStr;
    if (c === '|' && !inStr) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (inStr) throw new Error(`unterminated string at character ${at}`);
  out.push(cur);
  return out;
}

const FILTERS = 'humanize, humanize1024, humanizeDuration, humanizeMillis, humanizePercentage, printf, round, upper (toUpper), lower (toLower), title';
const FILTER_NAMES = new Set(['humanize', 'humanize1024', 'humanizeDuration', 'humanizeMillis', 'humanizePercentage', 'printf', 'round', 'upper', 'toUpper', 'lower', 'toLower', 'title']);

const text = (v: TemplateValue) => String(typeof v === 'number' ? formatNumber(v) : v);

/**
 * Go's strings.Title (Prometheus's `title`): the first letter of each word in title case, a word starting
 * after a separator (ASCII other than letters, digits and `_`; Unicode spaces).
 */
export function title(s: string): string {
  let out = '';
  let prev = ' ';
  for (const ch of s) {
    const up = ch.toUpperCase();
    // Go's unicode.ToTitle maps one rune to one rune (ß stays ß)
    out += isSeparator(prev) && [...up].length === 1 ? up : ch;
    prev = ch;
  }
  return out;
}

function isSeparator(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  if (c <= 0x7f) return !/[A-Za-z0-9_]/.test(ch);
  if (/[\p{L}\p{N}]/u.test(ch)) return false;
  return /\s/u.test(ch);
}

function compileFilter(f: string, at: number): Filter {
  const m = /^([A-Za-z0-9]+)(?:\s+(.*))?$/.exec(f);
  if (!m) throw new Error(`bad filter "${f}" at character ${at}`);
  const name = m[1]!;
  const arg = m[2]?.trim();
  const noArg = () => {
    if (arg) throw new Error(`filter ${name} takes no argument (character ${at})`);
  };
  switch (name) {
    case 'humanize':
      noArg();
      return (v) => humanize(num(v));
    case 'humanize1024':
      noArg();
      return (v) => humanize1024(num(v));
    case 'humanizeDuration':
      noArg();
      return (v) => humanizeDuration(num(v));
    case 'humanizeMillis':
      noArg();
      return (v) => humanizeDuration(num(v) / 1000);
    case 'humanizePercentage':
      noArg();
      return (v) => `${g4(num(v) * 100)}%`;
    case 'upper':
    case 'toUpper':
      noArg();
      return (v) => text(v).toUpperCase();
    case 'lower':
    case 'toLower':
      noArg();
      return (v) => text(v).toLowerCase();
    case 'title':
      noArg();
      return (v) => title(text(v));
    case 'round': {
      const digits = arg === undefined ? 0 : Number(arg);
      if (!Number.isInteger(digits) || digits < 0 || digits > 15) throw new Error(`round takes a number of decimals 0-15 (character ${at})`);
      return (v) => {
        const n = num(v);
        return Number.isFinite(n) ? Number(n.toFixed(digits)) : n;
      };
    }
    case 'printf': {
      if (!arg || !/^".*"$/.test(arg)) throw new Error(`printf needs a quoted format, e.g. printf "%.2f" (character ${at})`);
      const fmt = JSON.parse(arg) as string;
      return compilePrintf(fmt, at);
    }
    default:
      throw new Error(`unknown filter "${name}" at character ${at}; known: ${FILTERS}`);
  }
}

function num(v: TemplateValue): number {
  return typeof v === 'number' ? v : Number(v);
}

/** One printf verb: `%[flags][width][.precision]verb` (Go's fmt), or `%%`. */
const PRINTF_VERB = /%(%|([-+ 0#]*)(\d*)(\.\d*)?([dfegsv]))/g;

function compilePrintf(fmt: string, at: number): (v: TemplateValue) => string {
  let count = 0;
  for (const m of fmt.matchAll(PRINTF_VERB)) if (m[1] !== '%') count++;
  const stripped = fmt.replace(PRINTF_VERB, '');
  if (stripped.includes('%')) throw new Error(`printf format ${JSON.stringify(fmt)}: unsupported verb (use %d %f %.2f %e %g %v %s %%, with flags - + 0 and a width) (character ${at})`);
  if (count !== 1) throw new Error(`printf format ${JSON.stringify(fmt)} must have exactly one verb (character ${at})`);
  return (v) =>
    fmt.replace(PRINTF_VERB, (_all, what: string, flags: string | undefined, width: string | undefined, prec: string | undefined, verb: string | undefined) => {
      if (what === '%') return '%';
      const p = prec === undefined ? undefined : Number(prec.slice(1) || '0');
      let body: string;
      let numeric = true;
      if (verb === 's' || (verb === 'v' && typeof v === 'string')) {
        body = typeof v === 'number' ? formatNumber(v) : v;
        if (p !== undefined) body = [...body].slice(0, p).join('');
        numeric = false;
      } else {
        const n = num(v);
        if (verb === 'd') body = Number.isFinite(n) ? String(Math.trunc(n)) : goFormatFloat(n, 'g');
        else body = goFormatFloat(n, verb === 'v' ? 'g' : (verb as 'e' | 'f' | 'g'), verb === 'v' ? undefined : verb === 'g' ? p : (p ?? 6));
        if (flags?.includes('+') && !body.startsWith('-') && !body.startsWith('+')) body = `+${body}`;
        else if (flags?.includes(' ') && !/^[-+]/.test(body)) body = ` ${body}`;
      }
      const w = width ? Number(width) : 0;
      const len = [...body].length;
      if (len >= w) return body;
      if (flags?.includes('-')) return body + ' '.repeat(w - len);
      if (numeric && flags?.includes('0') && /\d/.test(body)) {
        const signLen = /^[-+ ]/.test(body) ? 1 : 0;
        return body.slice(0, signLen) + '0'.repeat(w - len) + body.slice(signLen);
      }
      return ' '.repeat(w - len) + body;
    });
}

/** How a number prints with no filter: up to 4 significant decimals, no trailing zeros. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e-4 && abs < 1e15) return String(Number(n.toPrecision(Math.max(4, Math.ceil(Math.log10(abs)) + 4))));
  return n.toPrecision(4);
}

/**
 * Go's `%.4g`, which Prometheus's humanize functions print with (`fmt.Sprintf("%.4g%%", v*100)` for
 * humanizePercentage, template/template.go): 1/7 is `14.29%`, 86405 x 100 is `8.64e+06` (ties to even).
 */
const g4 = (n: number) => goFormatFloat(n, 'g', 4);

/** `n` with an SI prefix (1.235k, 5m), as Prometheus's `humanize` (template/template.go). */
export function humanize(n: number): string {
  if (n === 0 || !Number.isFinite(n)) return g4(n);
  let v = n;
  let prefix = '';
  if (Math.abs(v) >= 1) {
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
      if (Math.abs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return g4(v) + prefix;
}

/** `n` with a binary prefix (2ki, 3Mi), as Prometheus's `humanize1024` (its first prefix is `ki`). */
export function humanize1024(n: number): string {
  if (Math.abs(n) <= 1 || !Number.isFinite(n)) return g4(n);
  let v = n;
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

/**
 * Seconds as Prometheus's `humanizeDuration` writes them: from a minute on, whole units down to seconds
 * (`1d 0h 0m 5s`, `1h 2m 3s`, `1m 30s`; the fraction of a second dropped), below a minute `%.4gs`
 * (`2.5s`), below a second with a prefix (`123ms`, `45us`, `3ns`).
 */
export function humanizeDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return g4(seconds);
  if (seconds === 0) return `${g4(seconds)}s`;
  if (Math.abs(seconds) >= 1) {
    const sign = seconds < 0 ? '-' : '';
    const whole = Math.trunc(Math.abs(seconds));
    const secs = whole % 60;
    const minutes = Math.trunc(whole / 60) % 60;
    const hours = Math.trunc(whole / 3600) % 24;
    const days = Math.trunc(whole / 86400);
    if (days) return `${sign}${days}d ${hours}h ${minutes}m ${secs}s`;
    if (hours) return `${sign}${hours}h ${minutes}m ${secs}s`;
    if (minutes) return `${sign}${minutes}m ${secs}s`;
    return `${sign}${g4(Math.abs(seconds))}s`;
  }
  let v = seconds;
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${g4(v)}${prefix}s`;
}
