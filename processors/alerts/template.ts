/**
 * Annotation templates: text with `{{ expr | filter | filter "arg" }}` placeholders.
 *
 * Expressions: `value` (the rule's value at this evaluation), `threshold`, `labels.NAME` (NAME may contain
 * dots: `labels.service.name`), and the Prometheus spellings `$value`, `$labels.NAME`, `.Value`, `.Labels.NAME`.
 * Filters: `humanize` (1.2k, 3.4M, 5m for 0.005), `humanize1024` (Ki, Mi, ...), `humanizeDuration` (seconds
 * to `1h 2m 3s`), `humanizeMillis` (milliseconds to the same), `humanizePercentage` (0.05 to `5%`),
 * `printf "FORMAT"` (one of %d %f %.Nf %e %.Ne %g %s %%), `round` and `round N` (N decimals).
 * A template that does not parse is a config error.
 */

export interface TemplateVars {
  value: number;
  threshold: number | undefined;
  labels: Readonly<Record<string, string>>;
}

type Value = number | string;
type Filter = (v: Value) => Value;
interface Part {
  text?: string;
  expr?: (vars: TemplateVars) => Value;
  filters?: Filter[];
}

export interface CompiledTemplate {
  source: string;
  render(vars: TemplateVars): string;
}

export function compileTemplate(source: string): CompiledTemplate {
  const parts: Part[] = [];
  let pos = 0;
  while (pos < source.length) {
    const open = source.indexOf('{{', pos);
    if (open < 0) {
      parts.push({ text: source.slice(pos) });
      break;
    }
    if (open > pos) parts.push({ text: source.slice(pos, open) });
    const close = source.indexOf('}}', open + 2);
    if (close < 0) throw new Error(`unclosed "{{" at offset ${open}`);
    const inner = source.slice(open + 2, close).trim();
    parts.push(compileAction(inner, open));
    pos = close + 2;
  }
  return {
    source,
    render(vars) {
      let out = '';
      for (const p of parts) {
        if (p.text !== undefined) out += p.text;
        else {
          let v = p.expr!(vars);
          for (const f of p.filters!) v = f(v);
          out += typeof v === 'number' ? formatNumber(v) : v;
        }
      }
      return out;
    },
  };
}

function compileAction(inner: string, offset: number): Part {
  if (!inner) throw new Error(`empty "{{ }}" at offset ${offset}`);
  const segments = splitPipes(inner, offset);
  const expr = compileExpr(segments[0]!.trim(), offset);
  const filters = segments.slice(1).map((s) => compileFilter(s.trim(), offset));
  return { expr, filters };
}

function splitPipes(s: string, offset: number): string[] {
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
  if (inStr) throw new Error(`unterminated string at offset ${offset}`);
  out.push(cur);
  return out;
}

function compileExpr(e: string, offset: number): (vars: TemplateVars) => Value {
  if (e === 'value' || e === '$value' || e === '.Value') return (v) => v.value;
  if (e === 'threshold') return (v) => v.threshold ?? NaN;
  const m = /^(?:labels|\$labels|\.Labels)\.(.+)$/.exec(e);
  if (m) {
    const name = m[1]!;
    return (v) => v.labels[name] ?? '';
  }
  throw new Error(`unknown expression "${e}" at offset ${offset}: expected value, threshold or labels.NAME`);
}

function compileFilter(f: string, offset: number): Filter {
  const m = /^([A-Za-z0-9]+)(?:\s+(.*))?$/.exec(f);
  if (!m) throw new Error(`bad filter "${f}" at offset ${offset}`);
  const name = m[1]!;
  const arg = m[2]?.trim();
  const noArg = () => {
    if (arg) throw new Error(`filter ${name} takes no argument (offset ${offset})`);
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
      return (v) => `${formatNumber(num(v) * 100)}%`;
    case 'round': {
      const digits = arg === undefined ? 0 : Number(arg);
      if (!Number.isInteger(digits) || digits < 0 || digits > 15) throw new Error(`round takes a number of decimals 0-15 (offset ${offset})`);
      return (v) => {
        const n = num(v);
        return Number.isFinite(n) ? Number(n.toFixed(digits)) : n;
      };
    }
    case 'printf': {
      if (!arg || !/^".*"$/.test(arg)) throw new Error(`printf needs a quoted format, e.g. printf "%.2f" (offset ${offset})`);
      const fmt = JSON.parse(arg) as string;
      const fn = compilePrintf(fmt, offset);
      return (v) => fn(v);
    }
    default:
      throw new Error(
        `unknown filter "${name}" at offset ${offset}: expected humanize, humanize1024, humanizeDuration, humanizeMillis, humanizePercentage, printf, round`,
      );
  }
}

function num(v: Value): number {
  return typeof v === 'number' ? v : Number(v);
}

function compilePrintf(fmt: string, offset: number): (v: Value) => string {
  const re = /%(%|(\.\d+)?([dfegs]))/g;
  let count = 0;
  for (const m of fmt.matchAll(re)) if (m[1] !== '%') count++;
  const stripped = fmt.replace(re, '');
  if (stripped.includes('%')) throw new Error(`printf format ${JSON.stringify(fmt)}: unsupported verb (use %d %f %.2f %e %g %s %%) (offset ${offset})`);
  if (count !== 1) throw new Error(`printf format ${JSON.stringify(fmt)} must have exactly one verb (offset ${offset})`);
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
