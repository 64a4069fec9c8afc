/**
 * vigil's one template language, for alert annotations and labels and for notification texts: text with
 * `{{ ... }}` placeholders, each of which writes one value. A placeholder is a Go template pipeline without
 * Go's control flow: a variable of the place's {@link Vocabulary}, a quoted string (`"..."` with Go's
 * escapes, or a raw `` `...` ``) or a number, then functions, either piped (`{{ $value | humanize }}`) or
 * called (`{{ humanize $value }}`, `{{ reReplaceAll "(.*):.*" "$1" $labels.instance }}`, with parentheses
 * for a nested call: `{{ join ", " (stringSlice "a" "b") }}`). A piped value is the function's last
 * argument, as in Go. There are no loops, conditionals, named templates or template variables
 * (`range`, `if`, `with`, `define`, `template`, `:=`), so user text cannot run anything; each of those is a
 * compile error that says what to write instead. `{{- ` and ` -}}` trim the white space beside them and
 * `{{/* ... *\/}}` is a comment, as in Go; `{{{{` writes a literal `{{`.
 *
 * The functions are Prometheus's and Alertmanager's that give one value (see {@link FUNCTIONS}), with
 * their semantics: `humanize`, `humanize1024`, `humanizeDuration`, `humanizePercentage`,
 * `humanizeTimestamp`, `printf`, `print`, `println`, `toUpper`, `toLower`, `title` (Prometheus's
 * strings.Title, or Alertmanager's cases.Title in notification templates), `reReplaceAll`, `match`,
 * `safeHtml`, `join`, `stringSlice`, `len`, `index`, `parseDuration`, `stripPort`, `stripDomain`,
 * `urlquery`, `html`, `js`; and vigil's own `humanizeMillis`, `round`, `upper`, `lower`. Regexes are RE2
 * (src/regex.ts) and must be quoted strings, compiled with the template. A variable that is not in the
 * vocabulary, an unknown or unsupported function, a wrong number or kind of arguments, a bad regex or an
 * unclosed `{{` throws at compile time (a config error), naming the character where the placeholder starts.
 *
 * Rendering is a walk over pre-compiled parts: no parsing, no regex compiling, one string concatenation per part.
 */
import { compileSearchRegex } from '../regex.ts';
import { goFormatFloat } from './go-format.ts';
import { casesTitle, type GoValue, goParseFloat, goSprint, goSprintln, goText, goUnquote, htmlEscape, humanizeTimestamp, jsEscape, parseDuration, stripDomain, stripPort, urlQueryEscape } from './go-funcs.ts';

/** A value a variable yields: numbers print with {@link formatNumber} unless a function formats them. */
export type TemplateValue = number | string;

/**
 * The variables of one place where templates are written. `scalars`: names read whole (`value`, `status`);
 * `maps`: names read as `NAME.KEY`, where everything after `NAME.` is the key, dots included
 * (`labels.service.name`), or whole as `index NAME "KEY"`. A key that is not there renders as "".
 * `lists`: names that are lists of text (Alertmanager's `.GroupLabels.Names`), for `join`, `len`, or
 * written whole as Go writes a slice (`[a b]`). `alertLists`: names that are lists of alerts
 * (`.Alerts.Firing`), given by their length: only `len` takes them, as there are no loops. `unsupported`:
 * names a user may copy from Prometheus or Alertmanager that this place does not have, each with the
 * message that says why and what to write instead. `title`: which `title` the place has
 * (`strings`: Prometheus's, `cases`: Alertmanager's).
 */
export interface Vocabulary<C> {
  scalars: Readonly<Record<string, (ctx: C) => TemplateValue>>;
  maps: Readonly<Record<string, (ctx: C, key: string) => string | undefined>>;
  lists?: Readonly<Record<string, (ctx: C) => readonly string[]>>;
  alertLists?: Readonly<Record<string, (ctx: C) => number>>;
  unsupported?: Readonly<Record<string, string>>;
  title?: 'strings' | 'cases';
}

/**
 * What an expression gives, known when it compiles: `text` (a string), `number`, `value` (a variable that
 * may be either), `bool`, `list` (of text), `alerts` (a count of alerts), `map` (a map variable, for `index`).
 */
type Kind = 'text' | 'number' | 'value' | 'bool' | 'list' | 'alerts' | 'map';
type Getter = (ctx: unknown) => unknown;
/** A compiled expression: its kind, how to get it, and its literal value when it is a literal. */
interface Expr {
  kind: Kind;
  get: Getter;
  /** The value of a literal (a quoted string or a number), known at compile time. */
  literal?: string | number;
  /** For messages: the expression as written. */
  text: string;
  /** For kind `number`: a Go int (an integer constant, a `len`), written in full where a float64 would be `1e+06`. */
  int?: boolean;
  /**
   * One of vigil's own variables (`value`, `labels.NAME`: no `$` or `.`) or functions (`round`): `printf` reads
   * it leniently (`%d` of a number, `%f` of a number's text). Every other operand has Go's type (a float64,
   * an int, a string), and a verb that does not fit it is written as Go's fmt writes it: `%!d(float64=1.5)`.
   */
  own?: boolean;
  /** For kind `map`: the lookup. */
  lookup?: (ctx: unknown, key: string) => string | undefined;
  /**
   * For kind `value`: a Prometheus or Alertmanager spelling (`$value`, `.Value`), whose number is written as
   * Go's text/template writes a float64 (fmt's `%v`: `0.123456789`, `1.234567e+06`), so that a rule copied
   * from Prometheus renders the text promtool expects; vigil's own names (`value`) print with
   * {@link formatNumber}.
   */
  go?: boolean;
}

type Part = string | Getter;

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
      const at = i + 1;
      let start = i + 2;
      if (source[start] === '-' && isGoSpace(source[start + 1])) {
        lit = lit.replace(/[ \t\r\n]+$/, '');
        start += 2;
      }
      const close = findClose(source, start, at);
      let end = close;
      const trimRight = close - 2 >= start && source[close - 1] === '-' && isGoSpace(source[close - 2]);
      if (trimRight) end = close - 2;
      const action = compileAction(source.slice(start, end), at, vocabulary as Vocabulary<unknown>);
      if (action) {
        if (lit) parts.push(lit);
        lit = '';
        parts.push(action);
      }
      i = close + 2;
      if (trimRight) while (i < source.length && isGoSpace(source[i])) i++;
    }
    if (lit) parts.push(lit);
    return new Template<C>(source, parts);
  }

  /**
   * The text for `ctx`; never throws. Should a part fail all the same (V8's RangeError for a string past its
   * length limit, from a value that expands past it), the text is `<error expanding template: MESSAGE>`, as
   * Prometheus writes an annotation whose template failed (rules/alerting.go).
   */
  render(ctx: C): string {
    let out = '';
    try {
      for (const p of this.parts) out += typeof p === 'string' ? p : (p(ctx) as string);
    } catch (e) {
      return `<error expanding template: ${(e as Error)?.message ?? String(e)}>`;
    }
    return out;
  }
}

function isGoSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** The index of the `}}` that closes the placeholder whose text starts at `from` (quoted `}}` do not close it). */
function findClose(source: string, from: number, at: number): number {
  for (let j = from; j < source.length; j++) {
    const c = source[j];
    if (c === '"' || c === "'") {
      j++;
      while (j < source.length && source[j] !== c && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      if (j >= source.length || source[j] !== c) throw new Error(`unterminated string at character ${at}`);
    } else if (c === '`') {
      j = source.indexOf('`', j + 1);
      if (j < 0) throw new Error(`unterminated raw string at character ${at}`);
    } else if (c === '}' && source[j + 1] === '}') return j;
  }
  throw new Error(`unclosed "{{" at character ${at}`);
}

/** Go's keywords: control flow, which vigil's placeholders do not have. */
const KEYWORDS: Readonly<Record<string, string>> = {
  range: 'vigil templates have no loops (range): a placeholder writes one value. For a count write {{ len .Alerts.Firing }} (or {{ firing }}), for what the alerts share commonLabels.NAME / commonAnnotations.NAME, for a list of names {{ join ", " .GroupLabels.Names }}',
  if: 'vigil templates have no conditionals (if): a placeholder writes one value. Write the value itself ({{ commonAnnotations.summary }}), or one rule or route per case',
  else: 'vigil templates have no conditionals (if/else): a placeholder writes one value',
  end: 'vigil templates have no blocks (if/range/with ... end): a placeholder writes one value',
  with: 'vigil templates have no blocks (with): write the variable itself, e.g. {{ commonLabels.NAME }}',
  define: 'vigil templates have no named templates (define): write the text in the field itself',
  template: 'vigil templates have no named templates (template): write the text in the field itself; {{ subject }} is Alertmanager\'s __subject',
  block: 'vigil templates have no named templates (block): write the text in the field itself',
  break: 'vigil templates have no loops (break)',
  continue: 'vigil templates have no loops (continue)',
  nil: 'vigil templates have no nil',
};

/** Functions of Prometheus, Alertmanager and Go that vigil does not have, and why. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  query: 'vigil templates cannot run queries (query): the rule\'s value is {{ $value }}, its labels {{ $labels.NAME }}',
  first: 'vigil templates cannot run queries (first works on query results)',
  label: 'vigil templates cannot run queries (label works on query results); write {{ $labels.NAME }}',
  value: 'vigil templates cannot run queries (value is the value of a query result)',
  strvalue: 'vigil templates cannot run queries (strvalue works on query results)',
  sortByLabel: 'vigil templates cannot run queries or loop (sortByLabel)',
  args: 'vigil templates have no named templates (args is for passing arguments to one)',
  tmpl: 'vigil templates have no named templates (tmpl)',
  graphLink: 'vigil has no PromQL graph page to link to (graphLink)',
  tableLink: 'vigil has no PromQL table page to link to (tableLink)',
  toTime: 'toTime gives a Go time for its methods (.Format), which vigil templates do not have: write {{ humanizeTimestamp $value }}',
  trimSpace: 'trimSpace is not in Alertmanager 0.25 or Prometheus 2.42, and not in vigil: use reReplaceAll "^\\\\s+|\\\\s+$" "" X',
  and: 'vigil templates have no conditionals (and): a placeholder writes one value',
  or: 'vigil templates have no conditionals (or): a placeholder writes one value',
  not: 'vigil templates have no conditionals (not): a placeholder writes one value',
  eq: 'vigil templates have no conditionals (eq): a placeholder writes one value',
  ne: 'vigil templates have no conditionals (ne): a placeholder writes one value',
  lt: 'vigil templates have no conditionals (lt): a placeholder writes one value',
  le: 'vigil templates have no conditionals (le): a placeholder writes one value',
  gt: 'vigil templates have no conditionals (gt): a placeholder writes one value',
  ge: 'vigil templates have no conditionals (ge): a placeholder writes one value',
  call: 'vigil templates cannot call functions held in data (call)',
  slice: 'vigil templates have no slices of values (slice)',
};

type Token = { t: 'str'; v: string } | { t: 'word'; v: string } | { t: '(' | ')' | '|' };

function tokenize(inner: string, at: number): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < inner.length) {
    const c = inner[i]!;
    if (isGoSpace(c)) i++;
    else if (c === '(' || c === ')' || c === '|') {
      out.push({ t: c });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < inner.length && inner[j] !== '"') j += inner[j] === '\\' ? 2 : 1;
      try {
        out.push({ t: 'str', v: goUnquote(inner.slice(i + 1, j)) });
      } catch (e) {
        throw new Error(`${(e as Error).message} at character ${at}`);
      }
      i = j + 1;
    } else if (c === '`') {
      const j = inner.indexOf('`', i + 1);
      out.push({ t: 'str', v: inner.slice(i + 1, j).replace(/\r/g, '') });
      i = j + 1;
    } else if (c === "'") throw new Error(`character constants ('x') are not supported at character ${at}: write a quoted string "x"`);
    else {
      let j = i;
      while (j < inner.length && !isGoSpace(inner[j]) && !'()|"`'.includes(inner[j]!)) j++;
      out.push({ t: 'word', v: inner.slice(i, j) });
      i = j;
    }
  }
  return out;
}

function compileAction(inner: string, at: number, vocabulary: Vocabulary<unknown>): Getter | undefined {
  const trimmed = inner.trim();
  if (trimmed.startsWith('/*')) {
    if (!trimmed.endsWith('*/')) throw new Error(`unclosed comment at character ${at}`);
    return undefined;
  }
  if (!trimmed) throw new Error(`empty "{{ }}" at character ${at}`);
  const tokens = tokenize(inner, at);
  const first = tokens[0];
  if (first?.t === 'word' && Object.hasOwn(KEYWORDS, first.v)) throw new Error(`"${first.v}" at character ${at}: ${KEYWORDS[first.v]}`);
  const decl = tokens.find((t) => t.t === 'word' && (t.v === ':=' || t.v === '=' || t.v.endsWith(',')));
  if (decl) throw new Error(`template variables ($x := ...) are not supported at character ${at}: vigil templates have no variables of their own; write the expression where it is used`);
  const p = new Parser(tokens, at, vocabulary);
  const e = p.pipeline();
  if (p.pos < tokens.length) throw new Error(`unexpected ")" at character ${at}`);
  return renderer(e, at);
}

/** How a compiled expression is written into the text; a map or a list of alerts cannot be. */
function renderer(e: Expr, at: number): Getter {
  const get = e.get;
  switch (e.kind) {
    case 'text':
      return get;
    case 'number':
      // a Go function's number (parseDuration, len) or a constant: as Go writes it
      return e.int ? (ctx) => String(get(ctx)) : (ctx) => goText(get(ctx) as number);
    case 'value':
      return e.go
        ? (ctx) => goText(get(ctx) as TemplateValue)
        : (ctx) => {
            const v = get(ctx) as TemplateValue;
            return typeof v === 'number' ? formatNumber(v) : v;
          };
    case 'bool':
      return (ctx) => String(get(ctx));
    case 'list':
      return (ctx) => `[${(get(ctx) as string[]).join(' ')}]`;
    case 'alerts':
      throw new Error(`${e.text} is a list of alerts and vigil templates have no loops (range) at character ${at}: write {{ len ${e.text} }} for how many, or commonLabels.NAME / commonAnnotations.NAME for what they share`);
    case 'map':
      throw new Error(`${e.text} is a map at character ${at}: write ${e.text}.NAME, or index ${e.text} "NAME"`);
  }
}

class Parser {
  pos = 0;
  constructor(
    private readonly tokens: readonly Token[],
    private readonly at: number,
    private readonly vocabulary: Vocabulary<unknown>,
  ) {}

  /** command ('|' command)*, up to a ')' or the end. */
  pipeline(): Expr {
    let value: Expr | undefined;
    for (;;) {
      value = this.command(value);
      if (this.tokens[this.pos]?.t !== '|') return value;
      this.pos++;
    }
  }

  /** A function and its arguments (then `piped`, as its last), or a single operand. */
  private command(piped: Expr | undefined): Expr {
    const start = this.pos;
    const words: Token[] = [];
    while (this.pos < this.tokens.length && this.tokens[this.pos]!.t !== '|' && this.tokens[this.pos]!.t !== ')') {
      words.push(this.tokens[this.pos]!);
      if (this.tokens[this.pos]!.t === '(') this.skipGroup();
      else this.pos++;
    }
    if (!words.length) throw new Error(`missing value or function ${piped ? 'after "|"' : 'in the placeholder'} at character ${this.at}`);
    const head = words[0]!;
    if (head.t === 'word' && !this.isVariable(head.v) && (Object.hasOwn(FUNCTIONS, head.v) || words.length > 1 || piped)) {
      const fn = this.fn(head.v, words.length > 1 || piped !== undefined);
      this.pos = start + 1;
      const args: Expr[] = [];
      while (this.pos < this.tokens.length && this.tokens[this.pos]!.t !== '|' && this.tokens[this.pos]!.t !== ')') args.push(this.operand());
      if (piped) args.push(piped);
      return fn(args, this.at, head.v, this.vocabulary);
    }
    this.pos = start;
    const e = this.operand();
    if (words.length > 1) throw new Error(`${e.text} is not a function and takes no arguments at character ${this.at}`);
    if (piped) throw new Error(`cannot pipe ${piped.text} into ${e.text}: it is not a function (character ${this.at})`);
    return e;
  }

  private skipGroup(): void {
    let depth = 0;
    do {
      const t = this.tokens[this.pos];
      if (!t) throw new Error(`unclosed "(" at character ${this.at}`);
      if (t.t === '(') depth++;
      else if (t.t === ')') depth--;
      this.pos++;
    } while (depth > 0);
  }

  private isVariable(name: string): boolean {
    const v = this.vocabulary;
    return Object.hasOwn(v.scalars, name) || Object.hasOwn(v.maps, name) || Object.hasOwn(v.lists ?? {}, name) || Object.hasOwn(v.alertLists ?? {}, name) || Object.keys(v.maps).some((k) => name.startsWith(`${k}.`) && name.length > k.length + 1);
  }

  private fn(name: string, called: boolean): Fn {
    const absent = unsupportedName(this.vocabulary, name);
    if (absent) throw new Error(`"${name}" at character ${this.at}: ${absent}`);
    if (Object.hasOwn(FUNCTIONS, name)) return FUNCTIONS[name]!;
    if (Object.hasOwn(KEYWORDS, name)) throw new Error(`"${name}" at character ${this.at}: ${KEYWORDS[name]}`);
    const why = Object.hasOwn(UNSUPPORTED, name) ? UNSUPPORTED[name] : undefined;
    if (!called) throw new Error(`unknown variable "${name}" at character ${this.at}; known: ${known(this.vocabulary)}`);
    if (why) throw new Error(`unsupported function "${name}" at character ${this.at}: ${why}`);
    throw new Error(`unknown filter "${name}" at character ${this.at}; known: ${Object.keys(FUNCTIONS).join(', ')}`);
  }

  private operand(): Expr {
    const t = this.tokens[this.pos++]!;
    if (t.t === 'str') return { kind: 'text', get: () => t.v, literal: t.v, text: JSON.stringify(t.v) };
    if (t.t === '(') {
      const e = this.pipeline();
      if (this.tokens[this.pos]?.t !== ')') throw new Error(`unclosed "(" at character ${this.at}`);
      this.pos++;
      return { ...e, text: `(${e.text})` };
    }
    if (t.t !== 'word') throw new Error(`unexpected "${t.t}" at character ${this.at}`);
    const name = t.v;
    if (this.isVariable(name) || unsupportedName(this.vocabulary, name)) return variable(name, this.vocabulary, this.at);
    if (/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(name)) {
      // an integer constant is a Go int (so -0 is 0), any other a float64 (-0.0 keeps its sign)
      const int = /^[-+]?\d+$/.test(name);
      const n = int ? Number(name) + 0 : Number(name);
      return { kind: 'number', get: () => n, literal: n, text: name, int };
    }
    if (name === 'true' || name === 'false') return { kind: 'bool', get: () => name === 'true', text: name };
    if (!/^[$.]?[\p{L}_][\p{L}\p{N}_.]*$/u.test(name)) throw new Error(`${name} at character ${this.at} is not a variable, a number or a quoted string (text is written in quotes: "${name}")`);
    // a function name as an argument is a call without arguments, as in Go
    return this.fn(name, false)([], this.at, name, this.vocabulary);
  }
}

/** Why a vocabulary does not have `name` (or the map it is a key of), or undefined. */
function unsupportedName(v: Vocabulary<unknown>, name: string): string | undefined {
  for (const [k, why] of Object.entries(v.unsupported ?? {})) if (name === k || name.startsWith(`${k}.`)) return why;
  return undefined;
}

/** Every name a vocabulary knows, for error messages (`labels.NAME` for maps). */
function known(v: Vocabulary<unknown>): string {
  return [...Object.keys(v.scalars), ...Object.keys(v.maps).map((m) => `${m}.NAME`), ...Object.keys(v.lists ?? {}), ...Object.keys(v.alertLists ?? {})].join(', ');
}

function variable(name: string, v: Vocabulary<unknown>, at: number): Expr {
  const why = unsupportedName(v, name);
  if (why) throw new Error(`"${name}" at character ${at}: ${why}`);
  const go = name.startsWith('$') || name.startsWith('.');
  if (Object.hasOwn(v.scalars, name)) return { kind: 'value', get: v.scalars[name]!, text: name, go };
  if (v.lists && Object.hasOwn(v.lists, name)) return { kind: 'list', get: v.lists[name]!, text: name };
  if (v.alertLists && Object.hasOwn(v.alertLists, name)) return { kind: 'alerts', get: v.alertLists[name]!, text: name };
  if (Object.hasOwn(v.maps, name)) return { kind: 'map', get: () => undefined, lookup: v.maps[name]!, text: name };
  for (const [map, get] of Object.entries(v.maps)) {
    if (name.startsWith(`${map}.`) && name.length > map.length + 1) {
      const key = name.slice(map.length + 1);
      return { kind: 'text', get: (ctx) => get(ctx, key) ?? '', text: name, own: !go };
    }
  }
  throw new Error(`unknown variable "${name}" at character ${at}; known: ${known(v)}`);
}

/** A function: compiles a call from its argument expressions (a piped value last). */
type Fn = (args: Expr[], at: number, name: string, vocabulary: Vocabulary<unknown>) => Expr;

function arity(name: string, args: Expr[], at: number, min: number, max: number, usage: string): void {
  if (args.length < min || args.length > max) throw new Error(`wrong number of arguments for ${name} at character ${at}: ${usage}, got ${args.length}`);
}

/** The getter of a one-value argument (text or number); throws for a list, map, alerts or true/false. */
function one(name: string, e: Expr, at: number): (ctx: unknown) => TemplateValue {
  if (e.kind === 'text' || e.kind === 'number' || e.kind === 'value') return e.get as (ctx: unknown) => TemplateValue;
  const what = e.kind === 'bool' ? 'true/false (vigil templates have no if)' : e.kind === 'map' ? 'a map (write NAME.KEY)' : e.kind === 'alerts' ? 'a list of alerts (only len takes it)' : 'a list (join or len take it)';
  throw new Error(`${name} takes one value at character ${at}, but ${e.text} is ${what}`);
}

/** A quoted-string argument, known at compile time (a regex or a printf format). */
function literalText(name: string, e: Expr, at: number, what: string): string {
  if (typeof e.literal !== 'string') throw new Error(`${name} needs its ${what} as a quoted string at character ${at}, e.g. ${name} "..."; got ${e.text}`);
  return e.literal;
}

const text = (v: TemplateValue) => (typeof v === 'number' ? formatNumber(v) : v);
/** An argument of print, urlquery, html, js: a Go int as a bigint, which Go's Sprint writes in full. */
function sprintArg(e: Expr, name: string, at: number): Getter {
  if (e.kind === 'bool') return e.get;
  const g = one(name, e, at);
  return e.int ? (ctx) => BigInt(g(ctx) as number) : g;
}

/** A function of one value to text or a number. */
function unary(kind: Kind, f: (v: TemplateValue) => unknown, usage: string): Fn {
  return (args, at, name) => {
    arity(name, args, at, 1, 1, usage);
    const g = one(name, args[0]!, at);
    return { kind, get: (ctx) => f(g(ctx)), text: `${name} ${args[0]!.text}` };
  };
}

/** A function of any number of values, given as Go's fmt.Sprint gives them. */
function sprinted(f: (args: GoValue[]) => string, min: number): Fn {
  return (args, at, name) => {
    arity(name, args, at, min, Infinity, `want ${min ? 'one or more values' : 'values'}`);
    const gs = args.map((a) => sprintArg(a, name, at));
    return { kind: 'text', get: (ctx) => f(gs.map((g) => g(ctx) as GoValue)), text: name };
  };
}

/**
 * The functions vigil's templates have: Prometheus's (template/template.go), Alertmanager's
 * (template/template.go DefaultFuncs) and Go's builtins that give one value, and vigil's own
 * (`humanizeMillis`, `round`, `upper`, `lower`).
 */
export const FUNCTIONS: Readonly<Record<string, Fn>> = {
  humanize: unary('text', (v) => humanize(num(v)), 'want 1 (humanize X)'),
  humanize1024: unary('text', (v) => humanize1024(num(v)), 'want 1 (humanize1024 X)'),
  humanizeDuration: unary('text', (v) => humanizeDuration(num(v)), 'want 1 (humanizeDuration SECONDS)'),
  humanizeMillis: unary('text', (v) => humanizeDuration(num(v) / 1000), 'want 1 (humanizeMillis MILLISECONDS)'),
  humanizePercentage: unary('text', (v) => `${g4(num(v) * 100)}%`, 'want 1 (humanizePercentage RATIO)'),
  humanizeTimestamp: unary('text', (v) => humanizeTimestamp(num(v)) ?? 'NaN', 'want 1 (humanizeTimestamp UNIX_SECONDS)'),
  toUpper: unary('text', (v) => text(v).toUpperCase(), 'want 1 (toUpper TEXT)'),
  upper: unary('text', (v) => text(v).toUpperCase(), 'want 1 (upper TEXT)'),
  toLower: unary('text', (v) => text(v).toLowerCase(), 'want 1 (toLower TEXT)'),
  lower: unary('text', (v) => text(v).toLowerCase(), 'want 1 (lower TEXT)'),
  title: (args, at, name, vocabulary) => unary('text', vocabulary.title === 'cases' ? (v) => casesTitle(text(v)) : (v) => title(text(v)), 'want 1 (title TEXT)')(args, at, name, vocabulary),
  safeHtml: unary('text', text, 'want 1 (safeHtml TEXT)'),
  stripPort: unary('text', (v) => stripPort(text(v)), 'want 1 (stripPort HOST:PORT)'),
  stripDomain: unary('text', (v) => stripDomain(text(v)), 'want 1 (stripDomain HOST:PORT)'),
  parseDuration: unary('number', (v) => parseDuration(text(v)) ?? NaN, 'want 1 (parseDuration DURATION)'),
  print: sprinted(goSprint, 0),
  println: sprinted(goSprintln, 0),
  urlquery: sprinted((a) => urlQueryEscape(goSprint(a)), 1),
  html: sprinted((a) => htmlEscape(goSprint(a)), 1),
  js: sprinted((a) => jsEscape(goSprint(a)), 1),
  printf(args, at, name) {
    arity(name, args, at, 1, Infinity, 'want a format and its values (printf "%.2f" X)');
    const fmt = literalText(name, args[0]!, at, 'format');
    const values = args.slice(1).map((a) => one(name, a, at));
    const types = args.slice(1).map(goTypeOf);
    const f = compilePrintf(fmt, values.length, at);
    return { kind: 'text', get: (ctx) => f(values.map((g) => g(ctx)), types), text: name };
  },
  round(args, at, name) {
    arity(name, args, at, 1, 2, 'want 1 or 2 (round X, round DECIMALS X)');
    const digits = args.length === 2 ? args[0]!.literal : 0;
    if (typeof digits !== 'number' || !Number.isInteger(digits) || digits < 0 || digits > 15) throw new Error(`round takes a number of decimals 0-15 (character ${at})`);
    const g = one(name, args[args.length - 1]!, at);
    return {
      // vigil's own: written as a variable's number is
      kind: 'value',
      own: true,
      get: (ctx) => {
        const n = num(g(ctx));
        return Number.isFinite(n) ? Number(n.toFixed(digits)) : n;
      },
      text: name,
    };
  },
  reReplaceAll(args, at, name) {
    arity(name, args, at, 3, 3, 'want 3 (reReplaceAll PATTERN REPLACEMENT TEXT)');
    const re = regex(name, args[0]!, at);
    const repl = one(name, args[1]!, at);
    const s = one(name, args[2]!, at);
    return { kind: 'text', get: (ctx) => re.replaceAll(text(s(ctx)), text(repl(ctx))), text: name };
  },
  match(args, at, name) {
    arity(name, args, at, 2, 2, 'want 2 (match PATTERN TEXT)');
    const re = regex(name, args[0]!, at);
    const s = one(name, args[1]!, at);
    return { kind: 'bool', get: (ctx) => re.test(text(s(ctx))), text: name };
  },
  join(args, at, name) {
    arity(name, args, at, 2, 2, 'want 2 (join SEPARATOR LIST)');
    const sep = one(name, args[0]!, at);
    const list = args[1]!;
    if (list.kind !== 'list') throw new Error(`join takes a list of text at character ${at} (e.g. .GroupLabels.Names, stringSlice "a" "b"), but ${list.text} is ${list.kind === 'alerts' ? 'a list of alerts' : 'not a list'}`);
    return { kind: 'text', get: (ctx) => (list.get(ctx) as string[]).join(text(sep(ctx))), text: name };
  },
  stringSlice(args, at, name) {
    const gs = args.map((a) => one(name, a, at));
    return { kind: 'list', get: (ctx) => gs.map((g) => text(g(ctx))), text: name };
  },
  len(args, at, name) {
    arity(name, args, at, 1, 1, 'want 1 (len LIST)');
    const a = args[0]!;
    if (a.kind === 'alerts') return { kind: 'number', get: a.get, text: name, int: true };
    if (a.kind === 'list') return { kind: 'number', get: (ctx) => (a.get(ctx) as string[]).length, text: name, int: true };
    // Go's len of a string counts its UTF-8 bytes; a number has no len
    if (a.kind === 'text') return { kind: 'number', get: (ctx) => Buffer.byteLength(a.get(ctx) as string, 'utf8'), text: name, int: true };
    throw new Error(`len takes a list or text at character ${at} (e.g. len .Alerts.Firing), but ${a.text} ${a.kind === 'map' ? 'is a map' : a.kind === 'bool' ? 'is true/false' : 'may be a number'}`);
  },
  index(args, at, name) {
    arity(name, args, at, 2, 2, 'want 2 (index MAP "KEY")');
    const [m, k] = args as [Expr, Expr];
    if (m.kind !== 'map') throw new Error(`index takes a map and a key at character ${at} (e.g. index $labels "service.name"), but ${m.text} is not a map${m.kind === 'alerts' ? ': vigil templates have no per-alert access, write commonLabels.NAME' : ''}`);
    const key = one(name, k, at);
    const lookup = m.lookup!;
    return { kind: 'text', get: (ctx) => lookup(ctx, text(key(ctx))) ?? '', text: name };
  },
};

function regex(name: string, e: Expr, at: number) {
  const pattern = literalText(name, e, at, 'pattern');
  try {
    return compileSearchRegex(pattern);
  } catch (err) {
    throw new Error(`${name} at character ${at}: ${(err as Error).message}`);
  }
}

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

/** A number, or text read as Prometheus reads it (strconv.ParseFloat); text that is no number is NaN. */
function num(v: TemplateValue): number {
  return typeof v === 'number' ? v : (goParseFloat(v) ?? NaN);
}

/** The largest printf width or precision: Go's fmt refuses more (`tooLarge` in fmt/print.go). */
const MAX_PRINTF_WIDTH = 1_000_000;

/** One printf verb: `%[flags][width][.precision]verb` (Go's fmt), or `%%`. */
const PRINTF_VERB = /%(%|([-+ 0#]*)(\d*)(\.\d*)?([dfegsv]))/g;

/** An operand's Go type, as Go's fmt names it; undefined for vigil's own (see {@link Expr.own}). */
type GoType = 'float64' | 'int' | 'string' | undefined;

/** The Go type of a printf operand: known when it compiles, or (a Prometheus variable that may be either) when it renders. */
function goTypeOf(e: Expr): GoType | ((v: TemplateValue) => GoType) {
  if (e.own || (e.kind === 'value' && !e.go)) return undefined;
  if (e.kind === 'number') return e.int ? 'int' : 'float64';
  if (e.kind === 'text') return 'string';
  return (v) => (typeof v === 'number' ? 'float64' : 'string');
}

/** The verbs vigil's printf has that fit each Go type (Go's fmt: printFloat, fmtInteger, fmtString). */
const GO_VERBS: Record<Exclude<GoType, undefined>, string> = { float64: 'efgv', int: 'dv', string: 'sv' };

function compilePrintf(fmt: string, values: number, at: number): (vs: TemplateValue[], types: (GoType | ((v: TemplateValue) => GoType))[]) => string {
  let count = 0;
  for (const m of fmt.matchAll(PRINTF_VERB)) if (m[1] !== '%') count++;
  const stripped = fmt.replace(PRINTF_VERB, '');
  if (stripped.includes('%')) throw new Error(`printf format ${JSON.stringify(fmt)}: unsupported verb (use %d %f %.2f %e %g %v %s %%, with flags - + 0 and a width) (character ${at})`);
  for (const m of fmt.matchAll(PRINTF_VERB)) {
    // Go's fmt reads a width or precision over 1e6 as an error (%!(BADWIDTH), %!(BADPREC)); here it would build
    // a string of that many characters at every render, or throw V8's RangeError past its string length limit
    const width = Number(m[3] || '0');
    const prec = m[4] ? Number(m[4].slice(1) || '0') : 0;
    if (width > MAX_PRINTF_WIDTH || prec > MAX_PRINTF_WIDTH) {
      throw new Error(`printf format ${JSON.stringify(fmt)}: ${width > MAX_PRINTF_WIDTH ? 'width' : 'precision'} ${Math.max(width, prec)} in ${JSON.stringify(m[0])} is over ${MAX_PRINTF_WIDTH.toLocaleString('en')}, Go's fmt limit (it prints %!(BAD${width > MAX_PRINTF_WIDTH ? 'WIDTH' : 'PREC'})) (character ${at})`);
    }
  }
  if (count !== values) throw new Error(`printf format ${JSON.stringify(fmt)} has ${count} verb${count === 1 ? '' : 's'} for ${values} value${values === 1 ? '' : 's'}: it must have exactly one verb per value (character ${at})`);
  return (vs, types) => {
    let next = 0;
    return fmt.replace(PRINTF_VERB, (_all, what: string, verbFlags: string | undefined, width: string | undefined, prec: string | undefined, verb: string | undefined) => {
      if (what === '%') return '%';
      // Go's fmt: on %v, `+` and `#` are %+v's and %#v's (field names, Go syntax), not a sign or a decimal point
      const flags = verb === 'v' ? verbFlags?.replace(/[+#]/g, '') : verbFlags;
      const v = vs[next]!;
      const t = types[next++];
      const type = typeof t === 'function' ? t(v) : t;
      if (type === undefined) return printfVerb(v, flags, width, prec, verb!);
      // Go's int: %v and %d write every digit (a float64's %v would write 1e+06)
      const operand = type === 'int' ? String(v) : type === 'string' ? String(v) : v;
      if (GO_VERBS[type].includes(verb!)) return printfVerb(operand, flags, width, prec, type === 'int' ? 's' : verb!, type === 'int');
      // Go's fmt badVerb: %!VERB(TYPE=VALUE), the value written with %v and the verb's flags, width and precision
      return `%!${verb}(${type}=${printfVerb(operand, flags, width, prec, type === 'float64' ? 'v' : 's', type === 'int')})`;
    });
  };
}

/** One verb of printf for one operand; `int`: the operand is a Go int's digits (written in full, signs and padding as a number's). */
function printfVerb(v: TemplateValue, flags: string | undefined, width: string | undefined, prec: string | undefined, verb: string, int = false): string {
  const p = prec === undefined ? undefined : Number(prec.slice(1) || '0');
  let body: string;
  let numeric = true;
  if (int) {
    body = String(v);
    if (flags?.includes('+') && !body.startsWith('-')) body = `+${body}`;
    else if (flags?.includes(' ') && !body.startsWith('-')) body = ` ${body}`;
  } else if (verb === 's' || (verb === 'v' && typeof v === 'string')) {
    body = typeof v === 'number' ? formatNumber(v) : v;
    if (p !== undefined) body = [...body].slice(0, p).join('');
    numeric = false;
  } else {
    const n = num(v);
    if (verb === 'd') body = Number.isFinite(n) ? String(Math.trunc(n)) : goFormatFloat(n, 'g');
    // %v is %g (shortest unless a precision is given, as Go's fmtFloat)
    else {
      body = goFormatFloat(n, verb === 'v' ? 'g' : (verb as 'e' | 'f' | 'g'), verb === 'v' || verb === 'g' ? p : (p ?? 6));
      if (flags?.includes('#') && verb !== 'v' && Number.isFinite(n)) body = goSharp(body, verb, p);
    }
    if (flags?.includes('+') && !body.startsWith('-') && !body.startsWith('+')) body = `+${body}`;
    else if (flags?.includes(' ') && !/^[-+]/.test(body)) body = ` ${body}`;
  }
  const w = width ? Number(width) : 0;
  const len = [...body].length;
  if (len >= w) return body;
  if (flags?.includes('-')) return body + ' '.repeat(w - len);
  // Go pads with zeros on the left (after a number's sign) when `0` is given, text too (`%05s` of "a" is 0000a)
  if (flags?.includes('0') && (!numeric || /\d/.test(body))) {
    const signLen = numeric && /^[-+ ]/.test(body) ? 1 : 0;
    return body.slice(0, signLen) + '0'.repeat(w - len) + body.slice(signLen);
  }
  return ' '.repeat(w - len) + body;
}

/**
 * Go's `#` flag on a float verb (fmt's fmtFloat): the number always has a decimal point, and `%#g` keeps
 * its trailing zeros up to the precision (6 when none is given): `%#g` of 1 is `1.00000`, `%#.0f` of 2 is `2.`.
 */
function goSharp(num: string, verb: string, prec: number | undefined): string {
  let digits = verb === 'g' ? (prec ?? 6) : 0;
  const sign = /^[-+]/.test(num) ? num[0]! : '';
  let rest = num.slice(sign.length);
  const e = rest.search(/[eE]/);
  const tail = e >= 0 ? rest.slice(e) : '';
  if (e >= 0) rest = rest.slice(0, e);
  let sawNonzero = false;
  for (const c of rest) {
    if (c === '.') continue;
    if (c !== '0') sawNonzero = true;
    if (sawNonzero) digits--;
  }
  if (!rest.includes('.')) {
    if (rest === '0') digits--;
    rest += '.';
  }
  if (digits > 0) rest += '0'.repeat(digits);
  return sign + rest + tail;
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
 * (`2.5s`), below a second with a prefix (`123ms`, `45us`, `3ns`). Whole seconds are Go's int64, with its
 * overflow from 2^63 seconds on (`-106751991167300d -15h -30m -8s`).
 */
export function humanizeDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return g4(seconds);
  if (seconds === 0) return `${g4(seconds)}s`;
  if (Math.abs(seconds) >= 1) {
    const sign = seconds < 0 ? '-' : '';
    // Go's int64(v), in int64 arithmetic (exact past 2^53); from 2^63 on, the conversion overflows to the
    // smallest int64 (amd64's CVTTSD2SI), so that 1e300 is "-106751991167300d -15h -30m -8s", as promtool prints it
    const abs = Math.abs(seconds);
    const whole = abs >= 2 ** 63 ? -(2n ** 63n) : BigInt(Math.trunc(abs));
    const secs = whole % 60n;
    const minutes = (whole / 60n) % 60n;
    const hours = (whole / 3600n) % 24n;
    const days = whole / 86400n;
    if (days) return `${sign}${days}d ${hours}h ${minutes}m ${secs}s`;
    if (hours) return `${sign}${hours}h ${minutes}m ${secs}s`;
    if (minutes) return `${sign}${minutes}m ${secs}s`;
    return `${sign}${g4(abs)}s`;
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
