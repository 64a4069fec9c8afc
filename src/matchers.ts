/**
 * Label matchers as Alertmanager has them, the one reading of matcher text in vigil: route `matchers` /
 * legacy `match` and `match_re`, inhibition rules and config silences (processors/alerts), the API's
 * `filter` parameters and silences (src/api/matchers.ts), `vigil alerts` and `vigil silence`.
 *
 * Regexes use RE2 semantics (src/regex.ts: linear time, no backreferences or lookarounds), fully anchored
 * as Alertmanager anchors them (`^(?:RE)$`, pkg/labels/matcher.go). A missing label matches as "".
 *
 * Matcher text follows Alertmanager's UTF-8 matcher grammar (matcher/parse): `name op value` where `op` is
 * one of `=`, `!=`, `=~`, `!~`; the name and the value are either unquoted (no space and none of
 * `{}!=~,\"'` + backtick) or double-quoted with Go escapes (`"service.name"="a \"b\""`); a list may be
 * written `{a="b", c=~"d"}`. As Alertmanager's default (fallback) mode does (matcher/compat), text that the
 * classic grammar (pkg/labels/parse.go) reads is read that way, also where the UTF-8 grammar disagrees.
 */
import { goCompare, goQuote } from './go-quote.ts';
import { type AnchoredRegex, compileRegex } from './regex.ts';

/** Alertmanager's matcher operators: equal, not equal, regex match, regex no match. */
export type MatchOp = '=' | '!=' | '=~' | '!~';

/** One compiled label matcher (see this file's comment). */
export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  /** The anchored RE2 regex for `=~` / `!~`. */
  re?: AnchoredRegex;
}

/** A matcher; throws an Error saying what is wrong with a regex. */
export function makeMatcher(name: string, op: MatchOp, value: string): Matcher {
  if (op === '=~' || op === '!~') return { name, op, value, re: compileRegex(value) };
  return { name, op, value };
}

/** Whether `labels` satisfy one matcher; a missing label is "" (as Alertmanager), regexes are fully anchored. */
export function matchOne(m: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return m.re!.matches(v);
    case '!~':
      return !m.re!.matches(v);
  }
}

/** Whether `labels` satisfy every matcher (true for an empty list). */
export function matchAll(ms: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  for (let i = 0; i < ms.length; i++) if (!matchOne(ms[i]!, labels)) return false;
  return true;
}

/**
 * Compiles legacy `match` (equality) and `match_re` (anchored regex) maps. Throws on a bad regex. As in
 * Alertmanager, a `match_re` value is kept anchored (`^(?:v)$`, config.Regexp), which is how it shows in
 * route and group keys.
 */
export function compileMatchMaps(match: Record<string, string>, matchRe: Record<string, string>): Matcher[] {
  const out: Matcher[] = [];
  for (const [k, v] of Object.entries(match)) out.push(makeMatcher(k, '=', v));
  for (const [k, v] of Object.entries(matchRe)) out.push({ ...makeMatcher(k, '=~', v), value: `^(?:${v})$` });
  return out;
}

// ------------------------------------------------------------------------------------ matcher grammar

const RESERVED = new Set([...'{}!=~,\\"\'`']);
const isSpace = (c: string) => /\s/u.test(c);
const isReserved = (c: string) => isSpace(c) || RESERVED.has(c);

type Tok = { kind: '{' | '}' | ',' | 'op' | 'quoted' | 'unquoted'; text: string; col: number };

/** Splits matcher text into tokens; throws `col: what` (1-based column, counted in characters). */
function lex(input: string): Tok[] {
  const chars = [...input];
  const out: Tok[] = [];
  let i = 0;
  while (i < chars.length) {
    const c = chars[i]!;
    const col = i + 1;
    if (c === '{' || c === '}' || c === ',') {
      out.push({ kind: c, text: c, col });
      i++;
    } else if (c === '=' || c === '!') {
      const two = c + (chars[i + 1] ?? '');
      if (two === '=~' || two === '!=' || two === '!~') {
        out.push({ kind: 'op', text: two, col });
        i += 2;
      } else if (c === '=') {
        out.push({ kind: 'op', text: '=', col });
        i++;
      } else throw new Error(`${col}: "!" must be followed by "=" or "~"`);
    } else if (c === '"') {
      let j = i + 1;
      let escaped = false;
      for (; j < chars.length; j++) {
        if (escaped) escaped = false;
        else if (chars[j] === '\\') escaped = true;
        else if (chars[j] === '"') break;
      }
      if (j >= chars.length) throw new Error(`${col}: ${chars.slice(i).join('')}: missing end "`);
      out.push({ kind: 'quoted', text: chars.slice(i, j + 1).join(''), col });
      i = j + 1;
    } else if (isSpace(c)) {
      i++;
    } else if (!isReserved(c)) {
      let j = i;
      while (j < chars.length && !isReserved(chars[j]!)) j++;
      out.push({ kind: 'unquoted', text: chars.slice(i, j).join(''), col });
      i = j;
    } else throw new Error(`${col}: ${c}: invalid input`);
  }
  return out;
}

/** A Go-style double-quoted string's value (JSON's escapes plus \a \b \f \v \xHH \' and \UHHHHHHHH). */
function unquote(t: Tok): string {
  if (t.kind === 'unquoted') return t.text;
  const body = t.text.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|U[0-9a-fA-F]{8}|[av'])/g, (_, e: string) => {
    if (e === 'a') return '\\u0007';
    if (e === 'v') return '\\u000b';
    if (e === "'") return "'";
    const cp = parseInt(e.slice(1), 16);
    return JSON.stringify(String.fromCodePoint(cp)).slice(1, -1);
  });
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    throw new Error(`${t.col}: ${t.text}: invalid quoted string`);
  }
}

/** Parses one matcher list in Alertmanager's UTF-8 grammar; throws `col: what`. */
function parseUtf8(input: string): Matcher[] {
  const toks = lex(input);
  let i = 0;
  const out: Matcher[] = [];
  const end = () => `${[...input].length + 1}: unexpected end of input`;
  const braced = toks[0]?.kind === '{';
  if (braced) i++;
  while (i < toks.length && toks[i]!.kind !== '}') {
    const name = toks[i]!;
    if (name.kind !== 'quoted' && name.kind !== 'unquoted') throw new Error(`${name.col}: unexpected ${name.text}: expected a label name`);
    const op = toks[i + 1];
    if (!op) throw new Error(`${end()}, expected an operator such as '=', '!=', '=~' or '!~'`);
    if (op.kind !== 'op') throw new Error(`${op.col}: unexpected ${op.text}: expected an operator such as '=', '!=', '=~' or '!~'`);
    const value = toks[i + 2];
    if (!value) throw new Error(`${end()}, expected a label value`);
    if (value.kind !== 'quoted' && value.kind !== 'unquoted') throw new Error(`${value.col}: unexpected ${value.text}: expected a label value`);
    const nameText = unquote(name); // throws `col: what` itself
    const valueText = unquote(value);
    let m: Matcher;
    try {
      m = makeMatcher(nameText, op.text as MatchOp, valueText);
    } catch (e) {
      throw new Error(`${value.col}: ${(e as Error).message}`);
    }
    out.push(m);
    i += 3;
    const sep = toks[i];
    if (sep === undefined) break;
    if (sep.kind === ',') {
      i++;
      continue;
    }
    if (sep.kind !== '}') throw new Error(`${sep.col}: unexpected ${sep.text}: expected a comma or close brace`);
  }
  if (braced) {
    if (toks[i]?.kind !== '}') throw new Error(`${end()}, expected close brace`);
    i++;
  } else if (toks[i]?.kind === '}') throw new Error(`${toks[i]!.col}: }: expected opening brace`);
  if (i < toks.length) throw new Error(`${toks[i]!.col}: ${toks[i]!.text}: expected end of input`);
  return out;
}

// ------------------------------------------------------------------------------------ classic grammar

/** pkg/labels/parse.go's matcher: a classic label name, an operator, the rest (trimmed) as the value. */
const CLASSIC_RE = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*([\s\S]*?)\s*$/;
/** The same for a dotted name (vigil's extension for OTel names such as `service.name`). */
const DOTTED_RE = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*\.[a-zA-Z0-9_:.]*)\s*(=~|=|!=|!~)\s*([\s\S]*?)\s*$/;

/**
 * One matcher as Alertmanager's classic parser reads it (pkg/labels ParseMatcher): the value may be
 * wrapped in double quotes; inside it `\n`, `\"` and `\\` are escapes and any other backslash is literal
 * (`"\t"` is a backslash and a t, `\.` stays `\.`); an unescaped `"` inside is an error. Returns
 * undefined when the text is not of that shape; throws (plain text) on a bad value or regex.
 */
function parseClassicMatcher(text: string, re = CLASSIC_RE): Matcher | undefined {
  const m = re.exec(text);
  if (!m) return undefined;
  let raw = m[3]!;
  let expectTrailingQuote = false;
  if (raw.startsWith('"')) {
    raw = raw.slice(1);
    expectTrailingQuote = true;
  }
  let value = '';
  let escaped = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (escaped) {
      escaped = false;
      value += c === 'n' ? '\n' : c === '"' || c === '\\' ? c : `\\${c}`;
      continue;
    }
    if (c === '\\') {
      if (i < raw.length - 1) escaped = true;
      else value += c;
    } else if (c === '"') {
      if (!expectTrailingQuote || i < raw.length - 1) throw new Error(`matcher value contains unescaped double quote: ${m[3]}`);
      expectTrailingQuote = false;
    } else value += c;
  }
  if (expectTrailingQuote) throw new Error(`matcher value contains unescaped double quote: ${m[3]}`);
  return makeMatcher(m[1]!, m[2] as MatchOp, value);
}

/**
 * A matcher list as Alertmanager's classic parser reads it (pkg/labels ParseMatchers): one leading `{` and
 * one trailing `}` are dropped, the text is split at commas outside double quotes, a last empty part is
 * ignored and each part is read by {@link parseClassicMatcher}. Undefined when a part is not a matcher.
 */
function parseClassicMatchers(text: string): Matcher[] | undefined {
  let s = text.startsWith('{') ? text.slice(1) : text;
  if (s.endsWith('}')) s = s.slice(0, -1);
  const parts: string[] = [];
  let inside = false;
  let escaped = false;
  let token = '';
  for (const c of s) {
    if (c === ',' && !inside) {
      parts.push(token);
      token = '';
      continue;
    }
    if (c === '"') {
      if (!escaped) inside = !inside;
      else escaped = false;
    } else if (c === '\\') escaped = !escaped;
    else escaped = false;
    token += c;
  }
  if (token.trim() !== '') parts.push(token.trim());
  const out: Matcher[] = [];
  for (const part of parts) {
    const m = parseClassicMatcher(part);
    if (!m) return undefined;
    out.push(m);
  }
  return out;
}

/**
 * Parses matcher text: one matcher (`name=value`) or a list (`{a="b", c!~"d"}` or `a="b", c="d"`), as
 * Alertmanager's default (fallback) mode does (matcher/compat FallbackMatchersParser): text the classic
 * parser reads is read the classic way, also where the UTF-8 grammar would read it differently (Alertmanager
 * logs that disagreement and keeps the classic reading: `"\t"` is a backslash and a t, `foo=bar}` is
 * `foo="bar"`); other text is read by the UTF-8 grammar (quoted or dotted names, Go escapes). As a vigil
 * extension, a single matcher with a dotted name that both refuse is read the classic way
 * (`service.name=a b`). Throws an Error quoting the text with the column and what was expected.
 */
export function parseMatchers(text: string): Matcher[] {
  let classicError: Error | undefined;
  try {
    const classic = parseClassicMatchers(text);
    if (classic) return classic;
  } catch (e) {
    classicError = e as Error;
  }
  try {
    const ms = parseUtf8(text);
    if (!ms.length && text.trim() !== '{}') throw new Error('1: no matcher');
    return ms;
  } catch (e) {
    const msg = (e as Error).message;
    let dotted: Matcher | undefined;
    try {
      dotted = parseClassicMatcher(text, DOTTED_RE);
    } catch (re) {
      classicError ??= re as Error;
    }
    if (dotted) return [dotted];
    if (classicError && /^invalid regex/.test(classicError.message)) throw new Error(`invalid matcher ${JSON.stringify(text)}: ${classicError.message}`);
    const col = /^(\d+): /.exec(msg);
    throw new Error(
      `invalid matcher ${JSON.stringify(text)}${col ? ` at column ${col[1]}` : ''}: ${col ? msg.slice(col[0].length) : msg}${/expected/.test(msg) ? '' : ' (expected name=value, name!=value, name=~regex or name!~regex)'}`,
    );
  }
}

/**
 * Parses exactly one matcher (a silence's or a `--matcher`), as Alertmanager's FallbackMatcherParser: no
 * braces; the classic reading of the whole text first (`a=b,c` is the value `b,c`), else the UTF-8 grammar.
 * Throws as {@link parseMatchers}.
 */
export function parseMatcher(text: string): Matcher {
  if (text.startsWith('{') || text.endsWith('}')) throw new Error(`invalid matcher ${JSON.stringify(text)}: unexpected open or close brace (one matcher takes no braces)`);
  try {
    const classic = parseClassicMatcher(text);
    if (classic) return classic;
  } catch {
    // read by the UTF-8 grammar below, which says what is wrong
  }
  const ms = parseMatchers(text);
  if (ms.length !== 1) throw new Error(`invalid matcher ${JSON.stringify(text)}: expected one matcher, found ${ms.length}`);
  return ms[0]!;
}

const NEEDS_QUOTES = /[\s{}!=~,\\"'`]/u;

/** Alertmanager's text of a matcher (pkg/labels Matcher.String): `name="value"`, a reserved name quoted. */
export function formatMatcher(m: Pick<Matcher, 'name' | 'op' | 'value'>): string {
  if (NEEDS_QUOTES.test(m.name)) return `${goQuote(m.name)}${m.op}${goQuote(m.value)}`;
  return `${m.name}${m.op}"${m.value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`;
}

/** Alertmanager's order of a route's matchers (labels.Matchers.Less): by name, value (Go's byte order), then operator. */
export function sortMatchers(ms: Matcher[]): Matcher[] {
  const rank: Record<MatchOp, number> = { '=': 0, '!=': 1, '=~': 2, '!~': 3 };
  return ms.sort((a, b) => goCompare(a.name, b.name) || goCompare(a.value, b.value) || rank[a.op] - rank[b.op]);
}

/** `{a="b",c=~"d"}` as Alertmanager writes a matcher list (labels.Matchers.String). */
export function formatMatchers(ms: readonly Matcher[]): string {
  return `{${ms.map(formatMatcher).join(',')}}`;
}
