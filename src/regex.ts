/**
 * User regexes (route, inhibition and silence matchers, rule `where`, API filters) with RE2 semantics, as
 * Prometheus and Alertmanager have them: linear time in the input (no backtracking: `(a+)+b` on a long
 * string returns at once), no backreferences or lookarounds, and fully anchored (`^(?:RE)$`,
 * Alertmanager's pkg/labels). Backed by `re2js`, a maintained pure-JS port of RE2 (no native build).
 */
import { RE2JS } from 're2js';

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
    RE2JS.compile(pattern);
    return RE2JS.compile(`^(?:${pattern})$`);
  } catch (e) {
    const msg = (e as Error).message.replace(/^error parsing regexp: /, '');
    const frag = /`([^`]*)`\s*$/.exec(msg)?.[1];
    const at = frag ? pattern.indexOf(frag) : -1;
    throw new Error(`invalid regex ${JSON.stringify(pattern)} (RE2 syntax): ${msg}${at >= 0 ? ` at offset ${at}` : ''}`);
  }
}
