import { describe, expect, it } from 'vitest';
import { parseMatcher, parseMatchers } from './matchers.ts';

describe('matcher text errors', () => {
  it.each([
    ['"a"="\\q"', '"\\q"'], // an unknown Go escape in a quoted value
    ['"a\\q"="b"', '"a\\q"'], // ... in a quoted name
    ['"a"="\\xZZ"', '"\\xZZ"'],
    ['{"a"="b", "c"="\\z"}', '"\\z"'],
  ])('%s: the text, one column, and the column is where the bad token starts', (text, token) => {
    for (const parse of [parseMatchers, parseMatcher]) {
      if (parse === parseMatcher && text.startsWith('{')) continue;
      let message = '';
      try {
        parse(text);
      } catch (e) {
        message = (e as Error).message;
      }
      const m = /^invalid matcher (".*?") at column (\d+): (.*)$/.exec(message);
      expect(m, message).not.toBeNull();
      expect(JSON.parse(m![1]!)).toBe(text);
      expect(m![3]!, message).not.toMatch(/^\d+: /);
      expect([...text].slice(Number(m![2]) - 1).join('').startsWith(token), message).toBe(true);
    }
  });
});
