/**
 * Label matchers: the `where` of a rule (`{k: v}`, `{k: {"!=": v}}`, `{k: {"=~": re}}`, `{k: {"!~": re}}`),
 * route `match`/`match_re`, inhibition rules and silence matchers (`name=value`, `name!=value`,
 * `name=~re`, `name!~re`). Regexes are fully anchored, as in Prometheus. A missing label matches as "".
 */
import type { Where } from './config.ts';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  /** The anchored regex for `=~` / `!~`. */
  re?: RegExp;
}

/** A matcher; throws an Error saying what is wrong with a regex. */
export function makeMatcher(name: string, op: MatchOp, value: string): Matcher {
  if (op === '=~' || op === '!~') {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${value})$`, 'u');
    } catch (e) {
      throw new Error(`invalid regex ${JSON.stringify(value)}: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
    }
    return { name, op, value, re };
  }
  return { name, op, value };
}

export function matchOne(m: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return m.re!.test(v);
    case '!~':
      return !m.re!.test(v);
  }
}

export function matchAll(ms: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  for (let i = 0; i < ms.length; i++) if (!matchOne(ms[i]!, labels)) return false;
  return true;
}

/** Compiles a rule's `where`. Each issue names the key it is about. */
export function compileWhere(where: Where): { matchers: Matcher[]; issues: { key: string; message: string }[] } {
  const matchers: Matcher[] = [];
  const issues: { key: string; message: string }[] = [];
  for (const [key, v] of Object.entries(where)) {
    try {
      if (typeof v === 'object' && v !== null) {
        for (const [op, val] of Object.entries(v)) matchers.push(makeMatcher(key, op as MatchOp, String(val)));
      } else {
        matchers.push(makeMatcher(key, '=', String(v)));
      }
    } catch (e) {
      issues.push({ key, message: (e as Error).message });
    }
  }
  return { matchers, issues };
}

/** Compiles route/inhibit `match` (equality) and `match_re` (anchored regex) maps. Throws on a bad regex. */
export function compileMatchMaps(match: Record<string, string>, matchRe: Record<string, string>): Matcher[] {
  const out: Matcher[] = [];
  for (const [k, v] of Object.entries(match)) out.push(makeMatcher(k, '=', v));
  for (const [k, v] of Object.entries(matchRe)) out.push(makeMatcher(k, '=~', v));
  return out;
}

const MATCHER_RE = /^\s*([^\s=!~]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s;

/** Parses `name=value`, `name!=value`, `name=~re`, `name!~re` (the value may be double-quoted). Throws. */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER_RE.exec(text);
  if (!m) throw new Error(`invalid matcher ${JSON.stringify(text)}: expected name=value, name!=value, name=~regex or name!~regex`);
  let value = m[3]!;
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    try {
      value = JSON.parse(value) as string;
    } catch {
      throw new Error(`invalid matcher ${JSON.stringify(text)}: bad quoted value`);
    }
  }
  try {
    return makeMatcher(m[1]!, m[2] as MatchOp, value);
  } catch (e) {
    throw new Error(`invalid matcher ${JSON.stringify(text)}: ${(e as Error).message}`);
  }
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}
