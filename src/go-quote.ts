/**
 * Go's strconv.Quote and the text of a Prometheus label set (prometheus/common model.LabelSet.String), which
 * Alertmanager writes into group keys (`{}:{alertname="X", service="a"}`): what a consumer that compares or
 * stores group keys sees must be the same bytes Alertmanager writes.
 */

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\u0007': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\u000b': '\\v',
  '\\': '\\\\',
  '"': '\\"',
};

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/**
 * `s` as Go's strconv.Quote (and fmt's `%q`) writes it: double-quoted; `\a \b \f \n \r \t \v \\ \"`;
 * other non-printable characters as `\xHH` (below U+0080), `\uHHHH` or `\UHHHHHHHH`; printable ones as they
 * are. A lone surrogate (no UTF-8 form) is written as U+FFFD, which is what its UTF-8 encoding reads as.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const simple = SIMPLE_ESCAPES[ch];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    let cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    const c = String.fromCodePoint(cp);
    if (PRINTABLE.test(c)) out += c;
    else if (cp < 0x80) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return `${out}"`;
}

/**
 * A label set as prometheus/common's model.LabelSet.String writes it, the group-label part of an
 * Alertmanager group key: each `name=%q` pair, the pairs sorted as UTF-8 strings (not by name: `a1="y"` comes
 * before `a="x"`, since `1` sorts before `=`), joined by `, `, in braces.
 */
export function labelSetString(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(labels).map((n) => `${n}=${goQuote(labels[n]!)}`);
  // Go's sort.Strings compares UTF-8 bytes (JavaScript's < compares UTF-16 units: not the same above U+FFFF)
  if (pairs.length > 1) pairs.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${pairs.join(', ')}}`;
}
