// The status page's matcher text, written as vigil reads it back: Alertmanager's Matcher.String
// (src/matchers.ts formatMatcher): `name="value"` with only \\, \n and \" escaped in the value (the classic
// reading keeps any other character, a tab included, as it is); a name that needs quotes is quoted, and so is
// its value, Go-style. The page reads typed text through GET /api/matchers, vigil's one matcher parser.
'use strict';

(function (root) {
  const NEEDS_QUOTES = /[\s{}!=~,\\"'`]/u;

  /** `name<op>"value"` for a matcher (op: =, !=, =~, !~). */
  function formatMatcher(name, op, value) {
    if (NEEDS_QUOTES.test(name)) return JSON.stringify(name) + op + JSON.stringify(value);
    return name + op + '"' + value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') + '"';
  }

  root.vigilMatchers = { formatMatcher };
})(globalThis);
