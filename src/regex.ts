/**
 * User regexes (route, inhibition and silence matchers, rule `where`, API filters) with RE2 semantics, as
 * Prometheus and Alertmanager have them: linear time in the input (no backtracking: `(a+)+b` on a long
 * string returns at once), no backreferences or lookarounds, and fully anchored (`^(?:RE)$`,
 * Alertmanager's pkg/labels). Backed by `re2js`, a maintained pure-JS port of RE2 (no native build), loaded
 * at the first regex compiled: a config without regex matchers (the shipped one) does not load it (issue 21).
 */
import { createRequire } from 'node:module';
import type { RE2JS as RE2JSClass } from 're2js';

let re2: typeof RE2JSClass | undefined;
/** re2js's CommonJS build, required on first use (synchronously: compiling happens while a config loads). */
function RE2(): typeof RE2JSClass {
  return (re2 ??= (createRequire(import.meta.url)('re2js') as { RE2JS: typeof RE2JSClass }).RE2JS);
}

/** A compiled, fully anchored RE2 pattern. */
export interface AnchoredRegex {
  /** Whether the whole of `s` matches. */
  matches(s: string): boolean;
}

/**
 * Compiles an RE2 pattern fully anchored. Throws an Error naming the pattern and, from RE2's parser, what
 * is wrong and where: the offending part of the pattern and its offset in it; a construct RE2 refuses by
 * design (lookaround, backreference ...) is named as such.
 */
export function compileRegex(pattern: string): AnchoredRegex {
  // the pattern alone first: errors then point into what the user wrote, and `a)|(b` cannot escape the anchors
  checked(pattern);
  return RE2().compile(`^(?:${pattern})$`);
}

/** Compiles `pattern` as written (so that an error quotes it as written); throws the Error {@link compileRegex} documents. */
function checked(pattern: string): RE2JSClass {
  try {
    return RE2().compile(pattern);
  } catch (e) {
    const unsupported = perlOnlySyntax(pattern);
    if (unsupported) {
      throw new Error(
        `invalid regex ${JSON.stringify(pattern)}: ${unsupported.what} \`${unsupported.text}\` at offset ${unsupported.offset}: ` +
          'RE2 does not support it (regexes are RE2, as in Prometheus and Alertmanager)',
      );
    }
    const msg = (e as Error).message.replace(/^error parsing regexp: /, '');
    const frag = /`([^`]*)`\s*$/.exec(msg)?.[1];
    const at = frag ? pattern.indexOf(frag) : -1;
    throw new Error(`invalid regex ${JSON.stringify(pattern)} (RE2 syntax): ${msg}${at >= 0 ? ` at offset ${at}` : ''}`);
  }
}

/**
 * A compiled RE2 pattern used unanchored, as Go's `regexp.MustCompile(pattern)` is in the `match` and
 * `reReplaceAll` template functions of Alertmanager and Prometheus, and in the cost processor's `prices[].match`.
 */
export interface SearchRegex {
  /** Whether the pattern matches anywhere in `s` (Go's `regexp.MatchString`). */
  test(s: string): boolean;
  /**
   * `s` with every match replaced by `template`, as Go's `Regexp.ReplaceAllString`: `$1`, `${1}`, `$name`,
   * `${name}` insert a group (a name is the longest run of letters, digits and `_`, so `$1x` is the group
   * named `1x`, empty), `$$` a `$`; a group that did not take part, or does not exist, inserts nothing; an
   * empty match right after a match is not replaced.
   */
  replaceAll(s: string, template: string): string;
}

/**
 * Compiles an RE2 pattern for unanchored search (`^` and `$` anchor where written), optionally
 * case-insensitive (the cost processor's `prices[].match`); throws as {@link compileRegex} does.
 */
export function compileSearchRegex(pattern: string, options: { caseInsensitive?: boolean } = {}): SearchRegex {
  const plain = checked(pattern);
  const re = options.caseInsensitive ? RE2().compile(pattern, RE2().CASE_INSENSITIVE) : plain;
  const names = re.namedGroups();
  return {
    test: (s) => re.matcher(s).find(0),
    replaceAll(s, template) {
      const m = re.matcher(s);
      let out = '';
      let lastEnd = 0;
      let pos = 0;
      while (pos <= s.length && m.find(pos)) {
        const start = m.start();
        const end = m.end();
        out += s.slice(lastEnd, start);
        if (end > lastEnd || start === 0) out += expand(template, m, names);
        lastEnd = end;
        // always advance at least one character (a whole code point), as Go does
        const width = pos < s.length ? (s.codePointAt(pos)! > 0xffff ? 2 : 1) : 1;
        pos = pos + width > end ? pos + width : end;
      }
      return out + s.slice(lastEnd);
    },
  };
}

type Matcher = ReturnType<RE2JSClass['matcher']>;

/** Go's `Regexp.expand`: the replacement `template` for the current match of `m`. */
function expand(template: string, m: Matcher, names: Record<string, number>): string {
  let out = '';
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf('$');
    if (dollar < 0) break;
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const ref = /^(?:\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))/u.exec(rest);
    if (!ref) {
      out += '$'; // malformed: the $ is text
      continue;
    }
    rest = rest.slice(ref[0].length);
    const name = ref[1] ?? ref[2]!;
    const num = /^(?:0|[1-9]\d{0,8})$/.test(name) ? Number(name) : -1;
    const group = num >= 0 ? num : Object.hasOwn(names, name) ? names[name]! : -1;
    if (group < 0 || group > m.groupCount()) continue;
    const text = m.group(group);
    if (text !== null) out += text;
  }
  return out + rest;
}

const PERL_ONLY: { re: RegExp; what: string }[] = [
  { re: /^\(\?<=/, what: 'lookbehind' },
  { re: /^\(\?<!/, what: 'negative lookbehind' },
  { re: /^\(\?=/, what: 'lookahead' },
  { re: /^\(\?!/, what: 'negative lookahead' },
  { re: /^\(\?>/, what: 'atomic group' },
  { re: /^\\[1-9]/, what: 'backreference' },
  { re: /^\\k<[^>]*>?/, what: 'named backreference' },
  { re: /^\\g\{?-?\d+\}?/, what: 'backreference' },
  { re: /^[*+?}][+]/, what: 'possessive quantifier' },
];

/**
 * The first construct of `pattern` that PCRE and JavaScript have and RE2 refuses by design (lookaround,
 * backreference, atomic group, possessive quantifier), outside character classes; undefined when none.
 */
function perlOnlySyntax(pattern: string): { what: string; text: string; offset: number } | undefined {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (inClass) {
      if (c === '\\') i++;
      else if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      // a `]` right after `[` or `[^` is a literal
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
      continue;
    }
    const rest = pattern.slice(i);
    for (const { re, what } of PERL_ONLY) {
      const m = re.exec(rest);
      // a possessive quantifier's offset is its `+`, after the quantifier it changes
      if (m) return what === 'possessive quantifier' ? { what, text: m[0], offset: i + 1 } : { what, text: m[0], offset: i };
    }
    if (c === '\\') i++; // an escaped character: `\(` is a literal parenthesis
  }
  return undefined;
}
