import { describe, expect, it } from 'vitest';
import { compileRegex, compileSearchRegex } from './regex.ts';

describe('compileSearchRegex (the match and reReplaceAll template functions)', () => {
  // the expected texts are what Prometheus 2.42 renders for {{ reReplaceAll PATTERN REPLACEMENT TEXT }}
  // (checked with promtool test rules; processors/alerts/testdata/promtool-templates has more)
  it.each([
    ['(a)(?P<n>n)', '${n}$1x$2', 'banana', 'bnnnna'], // $1x is the group named "1x": empty
    ['a*', 'X', 'baaac', 'XbXcX'], // no empty match right after a match
    ['', '-', 'abc', '-a-b-c-'],
    ['x', '$$ $ ${ $} $', 'axb', 'a$ $ ${ $} $b'], // $$ is $, a malformed reference is text
    ['a|', '[$0]', '😀a😀', '[]😀[a]😀[]'], // advances a whole character past an empty match
    ['(.*):\\d+', '$1', 'web-1:9090', 'web-1'],
    ['(x)?y', '<$1>', 'y', '<>'], // a group that did not take part
  ])('reReplaceAll %j %j %j', (pattern, repl, text, expected) => {
    expect(compileSearchRegex(pattern).replaceAll(text, repl)).toBe(expected);
  });

  it('matches anywhere, where compileRegex anchors', () => {
    expect(compileSearchRegex('an').test('banana')).toBe(true);
    expect(compileRegex('an').matches('banana')).toBe(false);
    expect(compileSearchRegex('^an').test('banana')).toBe(false);
  });

  it('rejects what RE2 rejects, naming the pattern', () => {
    expect(() => compileSearchRegex('(a')).toThrow(/invalid regex "\(a" \(RE2 syntax\): missing closing \)/);
    expect(() => compileSearchRegex('(a)\\1')).toThrow(/invalid regex/);
  });
});
