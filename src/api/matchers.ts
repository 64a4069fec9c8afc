import { ErrorCodes, VigilError } from '../errors.ts';
/**
 * Alertmanager's matchers as the v2 API carries them: structured (`{name, value, isRegex, isEqual}`, in
 * silences) and as text (`filter=alertname="X"` query parameters, `vigil silence add` arguments). The text
 * syntax is Alertmanager's (pkg/labels/parse.go and the UTF-8 matchers parser): `name="value"`,
 * `name!="value"`, `name=~"regex"`, `name!~"regex"`; the value may be unquoted; a quoted value takes `\"`,
 * `\\` and `\n` escapes; a label name may be quoted (`"service.name"="x"`) or carry dots unquoted, as
 * vigil's labels do. A list may be wrapped in braces and separated by commas: `{a="b", c=~"d.*"}`.
 * Regexes are fully anchored, as in Prometheus and Alertmanager. A missing label matches as "".
 */
import { type AnchoredRegex, compileRegex } from '../regex.ts';

/** Alertmanager's `matcher` object (OpenAPI `matcher`). */
export interface AmMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  /** False for `!=` and `!~`. Alertmanager treats a missing field as true. */
  isEqual: boolean;
}

/** A matcher ready to test label sets. */
export interface CompiledAmMatcher extends AmMatcher {
  test(labels: Readonly<Record<string, string>>): boolean;
}

/** A bad matcher or regex; the API answers 400 with its message. */
export class MatcherError extends VigilError {
  constructor(message: string) {
    super(ErrorCodes.MATCHER_INVALID, message);
    this.name = 'MatcherError';
  }
}

/** `=`, `!=`, `=~` or `!~` of a matcher. */
export function opOf(m: Pick<AmMatcher, 'isRegex' | 'isEqual'>): '=' | '!=' | '=~' | '!~' {
  return m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
}

/** Alertmanager's text form: `name="value"` (the name quoted when it is not a plain identifier). */
export function formatAmMatcher(m: AmMatcher): string {
  const name = /^[A-Za-z_][A-Za-z0-9_.]*$/.test(m.name) ? m.name : JSON.stringify(m.name);
  return `${name}${opOf(m)}${JSON.stringify(m.value)}`;
}

/** Compiles a matcher; throws MatcherError naming a bad regex or an empty name. */
export function compileAmMatcher(m: AmMatcher): CompiledAmMatcher {
  if (typeof m.name !== 'string' || m.name === '') throw new MatcherError('a matcher needs a label name');
  if (typeof m.value !== 'string') throw new MatcherError(`matcher ${m.name}: the value must be a string`);
  const { name, value, isRegex, isEqual } = m;
  if (isRegex) {
    let re: AnchoredRegex;
    try {
      re = compileRegex(value); // RE2, as Alertmanager: linear time, fully anchored
    } catch (e) {
      throw new MatcherError(`matcher ${name}: ${(e as Error).message}`);
    }
    return { name, value, isRegex, isEqual, test: (l) => re.matches(l[name] ?? '') === isEqual };
  }
  return { name, value, isRegex, isEqual, test: (l) => ((l[name] ?? '') === value) === isEqual };
}

/** Whether every matcher matches the label set. */
export function matchesAll(ms: readonly CompiledAmMatcher[], labels: Readonly<Record<string, string>>): boolean {
  for (const m of ms) if (!m.test(labels)) return false;
  return true;
}

/** Parses a matcher list (`a="b"`, `{a="b", c!~"d"}`, `a=b,c=d`); throws MatcherError saying where. */
export function parseAmMatchers(text: string): AmMatcher[] {
  const p = new Parser(text);
  p.skipSpace();
  const braced = p.peek() === '{';
  if (braced) p.pos++;
  const out: AmMatcher[] = [];
  for (;;) {
    p.skipSpace();
    if (braced && p.peek() === '}') {
      p.pos++;
      break;
    }
    if (p.atEnd()) {
      if (braced) p.fail('expected "}"');
      break;
    }
    out.push(p.matcher());
    p.skipSpace();
    if (p.peek() === ',') {
      p.pos++;
      continue;
    }
    if (braced) {
      p.skipSpace();
      if (p.peek() !== '}') p.fail('expected "," or "}"');
      p.pos++;
      break;
    }
    if (!p.atEnd()) p.fail('expected "," between matchers');
  }
  p.skipSpace();
  if (!p.atEnd()) p.fail('unexpected text after the matchers');
  if (out.length === 0) throw new MatcherError(`no matcher in ${JSON.stringify(text)}`);
  return out;
}

/** Parses exactly one matcher. */
export function parseAmMatcher(text: string): AmMatcher {
  const list = parseAmMatchers(text);
  if (list.length !== 1) throw new MatcherError(`expected one matcher, got ${list.length} in ${JSON.stringify(text)}`);
  return list[0]!;
}

class Parser {
  pos = 0;
  constructor(private readonly text: string) {}
  peek(): string {
    return this.text[this.pos] ?? '';
  }
  atEnd(): boolean {
    return this.pos >= this.text.length;
  }
  skipSpace(): void {
    while (/\s/.test(this.peek())) this.pos++;
  }
  fail(what: string): never {
    throw new MatcherError(`invalid matcher ${JSON.stringify(this.text)} at character ${this.pos + 1}: ${what} (expected name="value", name!="value", name=~"regex" or name!~"regex")`);
  }
  private quoted(): string {
    // a double-quoted string with Go/JSON escapes
    const start = this.pos;
    this.pos++;
    let out = '';
    for (;;) {
      if (this.atEnd()) {
        this.pos = start;
        this.fail('unterminated quoted string');
      }
      const c = this.text[this.pos++]!;
      if (c === '"') return out;
      if (c === '\\') {
        const e = this.text[this.pos++];
        if (e === 'n') out += '\n';
        else if (e === 't') out += '\t';
        else if (e === '"' || e === '\\') out += e;
        else {
          this.pos -= 2;
          this.fail(`unknown escape "\\${e ?? ''}"`);
        }
      } else out += c;
    }
  }
  matcher(): AmMatcher {
    let name: string;
    if (this.peek() === '"') name = this.quoted();
    else {
      const m = /^[^\s=!~"{},]+/.exec(this.text.slice(this.pos));
      if (!m) this.fail('expected a label name');
      name = m[0];
      this.pos += name.length;
    }
    this.skipSpace();
    const rest = this.text.slice(this.pos);
    const op = (['=~', '!~', '!=', '='] as const).find((o) => rest.startsWith(o));
    if (!op) this.fail('expected =, !=, =~ or !~');
    this.pos += op.length;
    this.skipSpace();
    let value: string;
    if (this.peek() === '"') value = this.quoted();
    else {
      // unquoted: up to a comma or closing brace outside the value (trailing space trimmed)
      const m = /^[^,}]*/.exec(this.text.slice(this.pos))!;
      value = m[0].trimEnd();
      if (value.includes('"')) this.fail('a quote inside an unquoted value');
      this.pos += m[0].length;
    }
    if (name === '') this.fail('empty label name');
    return { name, value, isRegex: op === '=~' || op === '!~', isEqual: op === '=' || op === '=~' };
  }
}
