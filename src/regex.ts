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
 * is wrong and where: the offending part of the pattern and its offset in it.
 */
export function compileRegex(pattern: string): AnchoredRegex {
  try {
    // the pattern alone first: errors then point into what the user wrote, and `a)|(b` cannot escape the anchors
    RE2().compile(pattern);
    return RE2().compile(`^(?:${pattern})$`);
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
