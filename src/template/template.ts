/**
 * vigil's one template language, for alert annotations and labels and for notification texts:
 * text with `{{ NAME | filter | filter ARG }}` placeholders. A placeholder names a variable of the place's
 * {@link Vocabulary} (nothing else: no code, no calls, no loops, so user text cannot run anything), then
 * optional filters: `humanize` (1.2k, 3.4M, 5m for 0.005), `humanize1024` (Ki, Mi, ...), `humanizeDuration`
 * (seconds to `1h 2m 3s`), `humanizeMillis` (milliseconds to the same), `humanizePercentage` (0.05 to
 * `5%`), `printf "FORMAT"` (one of %d %f %.Nf %e %.Ne %g %s %%), `round` and `round N` (N decimals), `upper`,
 * `lower`. The filters are Prometheus's template functions of the same names. `{{{{` writes a literal `{{`.
 * A variable that is not in the vocabulary, an unknown filter or an unclosed `{{` throws at compile time
 * (a config error), naming the character where it is.
 *
 * Rendering is a walk over pre-compiled parts: no parsing, no regex, one string concatenation per part.
 */

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
  const segments = splitPipes(inner, at);
  const name = segments[0]!.trim();
  return { get: compileVariable(name, at, vocabulary), filters: segments.slice(1).map((s) => compileFilter(s.trim(), at)) };
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

const FILTERS = 'humanize, humanize1024, humanizeDuration, humanizeMillis, humanizePercentage, printf, round, upper, lower';

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
      return (v) => `${formatG4(num(v) * 100)}%`;
    case 'upper':
      noArg();
      return (v) => String(typeof v === 'number' ? formatNumber(v) : v).toUpperCase();
    case 'lower':
      noArg();
      return (v) => String(typeof v === 'number' ? formatNumber(v) : v).toLowerCase();
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

function compilePrintf(fmt: string, at: number): (v: TemplateValue) => string {
  const re = /%(%|(\.\d+)?([dfegs]))/g;
  let count = 0;
  for (const m of fmt.matchAll(re)) if (m[1] !== '%') count++;
  const stripped = fmt.replace(re, '');
  if (stripped.includes('%')) throw new Error(`printf format ${JSON.stringify(fmt)}: unsupported verb (use %d %f %.2f %e %g %s %%) (character ${at})`);
  if (count !== 1) throw new Error(`printf format ${JSON.stringify(fmt)} must have exactly one verb (character ${at})`);
  return (v) =>
    fmt.replace(re, (_all, what: string, prec: string | undefined, verb: string | undefined) => {
      if (what === '%') return '%';
      const p = prec ? Number(prec.slice(1)) : undefined;
      if (verb === 's') return typeof v === 'number' ? formatNumber(v) : v;
      const n = num(v);
      if (!Number.isFinite(n)) return String(n);
      switch (verb) {
        case 'd':
          return String(Math.trunc(n));
        case 'f':
          return n.toFixed(p ?? 6);
        case 'e':
          return n.toExponential(p ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
        default:
          return p === undefined ? formatNumber(n) : String(Number(n.toPrecision(Math.max(1, p))));
      }
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
 * `n` as Go's `%.4g` prints it (4 significant digits, trailing zeros dropped, exponent form below 1e-4 and
 * from 1e4 on: `1.235e+04`), what Prometheus's `humanizePercentage` uses (`fmt.Sprintf("%.4g%%", v*100)`,
 * template/template.go), so 1/7 is `14.29%`, not `14.2857%`.
 */
export function formatG4(n: number): string {
  if (!Number.isFinite(n) || n === 0) return formatNumber(n);
  const [mant, expText] = n.toExponential(3).split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 4) {
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(Number(n.toPrecision(4)));
}

/** `n` with an SI prefix (1.235k, 5m), as Prometheus's `humanize`. */
export function humanize(n: number): string {
  if (!Number.isFinite(n) || n === 0) return formatNumber(n);
  const abs = Math.abs(n);
  if (abs >= 1) {
    const prefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
    let i = 0;
    let v = n;
    while (Math.abs(v) >= 1000 && i < prefixes.length - 1) {
      v /= 1000;
      i++;
    }
    return `${Number(v.toPrecision(4))}${prefixes[i]}`;
  }
  const prefixes = ['', 'm', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];
  let i = 0;
  let v = n;
  while (Math.abs(v) < 1 && i < prefixes.length - 1) {
    v *= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${prefixes[i]}`;
}

/** `n` with a binary prefix (2Ki, 3Mi), as Prometheus's `humanize1024`. */
export function humanize1024(n: number): string {
  if (!Number.isFinite(n) || Math.abs(n) < 1) return formatNumber(n);
  const prefixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < prefixes.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toPrecision(4))}${prefixes[i]}`;
}

/** Seconds as `1d 2h 3m 4s`; below one second as `123ms`, `45us`. */
export function humanizeDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return formatNumber(seconds);
  if (seconds === 0) return '0s';
  const sign = seconds < 0 ? '-' : '';
  let s = Math.abs(seconds);
  if (s < 1) {
    if (s >= 1e-3) return `${sign}${Number((s * 1e3).toPrecision(4))}ms`;
    return `${sign}${Number((s * 1e6).toPrecision(4))}us`;
  }
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  s -= minutes * 60;
  const parts: string[] = [];
  if (days) parts.push(`${days}d`);
  if (hours) parts.push(`${hours}h`);
  if (minutes) parts.push(`${minutes}m`);
  if (s) parts.push(`${Number(s.toPrecision(4))}s`);
  return sign + parts.join(' ');
}
