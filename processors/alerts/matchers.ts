/**
 * A rule's `where` (`{k: v}`, `{k: {"!=": v}}`, `{k: {"=~": re}}`, `{k: {"!~": re}}`) as label matchers.
 * Matchers themselves (text, regexes, matching) are src/matchers.ts, shared with the API.
 */
import { type Matcher, type MatchOp, makeMatcher } from '../../src/matchers.ts';
import type { Where } from './config.ts';

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

