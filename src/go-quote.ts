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
 * Go's string order (byte-wise over UTF-8, i.e. code point order), as a comparator: JavaScript's `<` compares
 * UTF-16 units, which puts a character above U+FFFF (a surrogate pair) before U+E000..U+FFFF.
 */
export function goCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * A label set as prometheus/common's model.LabelSet.String writes it, the group-label part of an
 * Alertmanager group key: each `name=%q` pair, the pairs sorted as UTF-8 strings (not by name: `a1="y"` comes
 * before `a="x"`, since `1` sorts before `=`), joined by `, `, in braces.
 */
export function labelSetString(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(labels).map((n) => `${n}=${goQuote(labels[n]!)}`);
  pairs.sort(goCompare); // Go's sort.Strings
  return `{${pairs.join(', ')}}`;
}
