/**
 * Alertmanager's matchers as the v2 API carries them: structured (`{name, value, isRegex, isEqual}`, in
 * silences) and as text (`filter=alertname="X"` query parameters, `vigil silence add` arguments, matcher
 * strings in an old silences.json). The text is read by src/matchers.ts, the one matcher parser that routes,
 * inhibition rules and config silences use too: one matcher per text, as Alertmanager's API and amtool read
 * a `filter` or a silence argument (api/v2 parseFilter, matcher/compat FallbackMatcherParser): the classic
 * pkg/labels reading first (`foo="\."` is a backslash and a dot, `a=b,c=d` is the value `b,c=d`), else the
 * UTF-8 grammar (`"service.name"="x"`); no braces. Regexes are RE2, fully anchored; a missing label
 * matches as "".
 */
import { ErrorCodes, VigilError } from '../errors.ts';
import { type MatchOp, type Matcher, formatMatcher, makeMatcher, matchOne, parseMatcher } from '../matchers.ts';

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
export function opOf(m: Pick<AmMatcher, 'isRegex' | 'isEqual'>): MatchOp {
  return m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
}

/** The structured form of a parsed matcher. */
function toAm(m: Pick<Matcher, 'name' | 'op' | 'value'>): AmMatcher {
  return { name: m.name, value: m.value, isRegex: m.op === '=~' || m.op === '!~', isEqual: m.op === '=' || m.op === '=~' };
}

/** Compiles a matcher; throws MatcherError naming a bad regex or an empty name. */
export function compileAmMatcher(m: AmMatcher): CompiledAmMatcher {
  if (typeof m.name !== 'string' || m.name === '') throw new MatcherError('a matcher needs a label name');
  if (typeof m.value !== 'string') throw new MatcherError(`matcher ${m.name}: the value must be a string`);
  const { name, value, isRegex, isEqual } = m;
  let compiled: Matcher;
  try {
    compiled = makeMatcher(name, opOf(m), value); // RE2, as Alertmanager: linear time, fully anchored
  } catch (e) {
    throw new MatcherError(`matcher ${name}: ${(e as Error).message}`);
  }
  return { name, value, isRegex, isEqual, test: (l) => matchOne(compiled, l) };
}

/** Whether every matcher matches the label set. */
export function matchesAll(ms: readonly CompiledAmMatcher[], labels: Readonly<Record<string, string>>): boolean {
  for (const m of ms) if (!m.test(labels)) return false;
  return true;
}

/**
 * Parses the text of exactly one matcher (an API `filter`, a `vigil silence add` argument) as Alertmanager
 * does (src/matchers.ts parseMatcher). Throws MatcherError quoting the text, with the column when the
 * grammar says where it went wrong.
 */
export function parseAmMatcher(text: string): AmMatcher {
  try {
    return toAm(parseMatcher(text));
  } catch (e) {
    throw new MatcherError((e as Error).message);
  }
}

/**
 * amtool's reading of the matcher arguments of `alert query`, `silence add` and `silence query`: when the first
 * one is not a matcher, it is the alert name (`amtool alert query HighLatency` means `alertname=HighLatency`;
 * amtool cli/alert_query.go, silence_add.go, silence_query.go). Returns the arguments to send. When neither
 * reading parses (`foo=~"("`, a matcher with a bad regex), throws the error of the text as written, not of the
 * `alertname=...` rewrite the user never typed.
 */
export function amtoolArguments(texts: readonly string[]): string[] {
  const out = [...texts];
  if (out.length) {
    try {
      parseMatcher(out[0]!);
    } catch (asWritten) {
      const asName = `alertname=${out[0]}`;
      try {
        parseMatcher(asName);
      } catch {
        throw new MatcherError((asWritten as Error).message);
      }
      out[0] = asName;
    }
  }
  return out;
}

/** A structured matcher as Alertmanager and amtool write it (`name="value"`, `name=~"regex"`; src/matchers.ts formatMatcher). */
export function formatAmMatcher(m: AmMatcher): string {
  return formatMatcher({ name: m.name, op: opOf(m), value: m.value });
}
