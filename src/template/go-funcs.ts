/**
 * The text functions of Go templates, Prometheus rule templates and Alertmanager notification templates
 * that vigil's template language offers, each written to give the text Go gives (the sources are named on
 * each). Numbers inside text (`print`, `urlquery`) are written as Go's `%v` writes a float64.
 */
import { isIP } from 'node:net';
import { goFormatFloat } from './go-format.ts';

/** `s` with Go's string-literal escapes resolved (strconv.Unquote of a `"..."` body): `\n`, `\t`, `\\`, `\"`, `\x41`, `\101`, `\u00e9`, `\U0001F600`, `\a`, `\b`, `\f`, `\r`, `\v`. Throws on an escape Go rejects. */
export function goUnquote(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' };
    if (e !== undefined && Object.hasOwn(simple, e)) {
      out += simple[e];
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen) {
      const hex = body.slice(i + 1, i + 1 + hexLen);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(hex)) throw new Error(`invalid escape \\${e}${hex} in string`);
      const cp = parseInt(hex, 16);
      // \x is one byte in Go; vigil's text is Unicode, so only ASCII bytes are taken
      if (e === 'x' && cp > 0x7f) throw new Error(`escape \\x${hex} is not ASCII (write the character itself)`);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new Error(`escape \\${e}${hex} is not a valid character`);
      out += String.fromCodePoint(cp);
      i += hexLen;
      continue;
    }
    if (e !== undefined && /[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 0x7f) throw new Error(`invalid octal escape \\${oct} in string`);
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
      continue;
    }
    throw new Error(`unknown escape \\${e ?? ''} in string`);
  }
  return out;
}

/** A value of Go's as vigil holds it: text, a float64, an int (bigint) or a bool. */
export type GoValue = string | number | bigint | boolean;

/** A value as Go's fmt.Sprint writes it (`%v`): text as is, a float64 as Go's shortest `%g`, an int in full, a bool as `true` / `false`. */
export function goText(v: GoValue): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? goFormatFloat(v, 'g') : String(v);
}

/** Go's fmt.Sprint(args...): operands written with {@link goText}, a space between two operands when neither is text. */
export function goSprint(args: readonly GoValue[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    if (i > 0 && typeof args[i] !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += goText(args[i]!);
  }
  return out;
}

/** Go's fmt.Sprintln(args...): every operand written with {@link goText}, spaces between all, then a newline. */
export function goSprintln(args: readonly GoValue[]): string {
  return `${args.map(goText).join(' ')}\n`;
}

/**
 * Go's strconv.ParseFloat(s, 64), which Prometheus's humanize functions read text with: decimal
 * (`1.5e3`, `.5`, `+2`, `1_000` with `_` between digits), `Inf` / `Infinity` / `NaN` in any case, hexadecimal with a `p` exponent
 * (`0x1p-2`); undefined where Go returns an error (`""`, ` 1`, `1,5`, `0x10`).
 */
export function goParseFloat(s: string): number | undefined {
  if (/^[+-]?(?:\d+(?:_\d+)*\.?(?:\d+(?:_\d+)*)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?$/.test(s)) return Number(s.replace(/_/g, ''));
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(s);
  if (special) return special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(s);
  if (hex && (hex[2] || hex[3])) {
    const mant = parseInt(`${hex[2]}${hex[3]}` || '0', 16) / 16 ** hex[3]!.length;
    return (hex[1] === '-' ? -1 : 1) * mant * 2 ** Number(hex[4]);
  }
  return undefined;
}

/** Go's url.QueryEscape (the template builtin `urlquery`): UTF-8 bytes, `A-Za-z0-9-_.~` kept, space as `+`, the rest `%XX`. */
export function urlQueryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e) out += String.fromCharCode(b);
    else if (b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const HTML_ESCAPES: Record<string, string> = { '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;', '\0': '\uFFFD' };

/** Go's template.HTMLEscapeString (the builtin `html`): `"` `'` `&` `<` `>` as entities, NUL as U+FFFD. */
export function htmlEscape(s: string): string {
  return s.replace(/["'&<>\0]/g, (c) => HTML_ESCAPES[c]!);
}

const JS_ESCAPES: Record<string, string> = { '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D' };

/** Go's template.JSEscapeString (the builtin `js`): quotes and `\` backslashed, `< > & =` and control characters as `\uXXXX`, non-printable Unicode as `\uXXXX`. */
export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (Object.hasOwn(JS_ESCAPES, ch)) out += JS_ESCAPES[ch];
    else if (cp < 0x20) out += `\\u00${cp.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (cp < 0x80 || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) out += ch;
    else out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return out;
}

/** Go's regexp.QuoteMeta: `\` before each of `\.+*?()|[]{}^$` (Alertmanager's `.Receiver` is the receiver name quoted so). */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** Go's net.SplitHostPort: host and port, or undefined where Go returns an error. */
function splitHostPort(hostport: string): { host: string; port: string } | undefined {
  const i = hostport.lastIndexOf(':');
  if (i < 0) return undefined;
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0 || end + 1 !== i) return undefined;
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return undefined;
  }
  if (hostport.slice(j).includes('[') || hostport.slice(k).includes(']')) return undefined;
  return { host, port: hostport.slice(i + 1) };
}

/** Prometheus's `stripPort` (template/template.go): the host of `host:port` (`[::1]:80` gives `::1`), else `s` unchanged. */
export function stripPort(s: string): string {
  return splitHostPort(s)?.host ?? s;
}

/** Whether Go's net.ParseIP takes `s`: an IPv4 dotted quad (no leading zeros) or an IPv6 address without a zone. */
function isGoIP(s: string): boolean {
  return isIP(s) !== 0 && !s.includes('%');
}

/**
 * Prometheus's `stripDomain` (template/template.go): the first label of a host name, the port kept
 * (`web-1.eu.example.com:9090` gives `web-1:9090`); an IP address is returned unchanged.
 */
export function stripDomain(s: string): string {
  const hp = splitHostPort(s);
  const host = hp ? hp.host : s;
  if (isGoIP(host)) return s;
  const first = host.split('.')[0]!;
  if (!hp || hp.port === '') return first;
  return first.includes(':') ? `[${first}]:${hp.port}` : `${first}:${hp.port}`;
}

const MS_PER: readonly [string, bigint][] = [
  ['y', 365n * 24n * 3600n * 1000n],
  ['w', 7n * 24n * 3600n * 1000n],
  ['d', 24n * 3600n * 1000n],
  ['h', 3600n * 1000n],
  ['m', 60n * 1000n],
  ['s', 1000n],
  ['ms', 1n],
];
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * Prometheus's `parseDuration` (model.ParseDuration, in seconds): units `y w d h m s ms` in that order,
 * each at most once, `0` alone allowed (`1h30m` is 5400, `1.5h` is not a duration). undefined where
 * Prometheus returns an error (not a duration, or past Go's time.Duration, about 292 years).
 */
export function parseDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const m = s === '' ? null : DURATION.exec(s);
  if (!m) return undefined;
  let ms = 0n;
  for (let i = 0; i < MS_PER.length; i++) if (m[i + 1] !== undefined) ms += BigInt(m[i + 1]!) * MS_PER[i]![1];
  if (ms * 1_000_000n > 2n ** 63n - 1n) return undefined;
  return Number(ms) / 1000;
}

/**
 * Prometheus's `humanizeTimestamp`: Unix seconds as Go prints a UTC time.Time, to the millisecond Prometheus
 * keeps (`2009-02-13 23:31:30.122 +0000 UTC`; trailing zeros of the fraction dropped); NaN and infinities
 * as `%.4g`; undefined past int64 nanoseconds, where Prometheus returns an error.
 */
export function humanizeTimestamp(seconds: number): string | undefined {
  if (!Number.isFinite(seconds)) return goFormatFloat(seconds, 'g', 4);
  const nsFloat = seconds * 1e9;
  if (nsFloat >= 2 ** 63 || nsFloat < -(2 ** 63)) return undefined;
  const ms = Number(BigInt(Math.trunc(nsFloat)) / 1_000_000n);
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const y = year < 0 ? `-${String(-year).padStart(4, '0')}` : String(year).padStart(4, '0');
  const two = (n: number) => String(n).padStart(2, '0');
  const frac = ((ms % 1000) + 1000) % 1000;
  const fraction = frac ? `.${String(frac).padStart(3, '0').replace(/0+$/, '')}` : '';
  return `${y}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}${fraction} +0000 UTC`;
}

/** Title case of one character as Unicode has it (digraphs have a title form; ß is `Ss`). */
function titleChar(ch: string): string {
  const special: Record<string, string> = { 'Ǆ': 'ǅ', 'ǅ': 'ǅ', 'ǆ': 'ǅ', 'Ǉ': 'ǈ', 'ǈ': 'ǈ', 'ǉ': 'ǈ', 'Ǌ': 'ǋ', 'ǋ': 'ǋ', 'ǌ': 'ǋ', 'Ǳ': 'ǲ', 'ǲ': 'ǲ', 'ǳ': 'ǲ' };
  if (Object.hasOwn(special, ch)) return special[ch]!;
  const up = ch.toUpperCase();
  return [...up].length > 1 ? [...up][0]! + [...up].slice(1).join('').toLowerCase() : up;
}

/** Word-break classes of golang.org/x/text/cases: letters (and digits, `_`, marks) never break; a "mid" character (`'` `.` `:` and kin, formats) does not break unless two come together. */
const MID = /^[\p{Cf}'.:\u00B7\u0387\u055F\u05F4\u2018\u2019\u2024\u2027\uFE13\uFE52\uFE55\uFF07\uFF0E\uFF1A]$/u;
const LETTER = /^[\p{L}\p{M}\p{Nd}\p{Pc}]$/u;
const CJK = /^[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]$/u;

/**
 * Alertmanager's `title` (template/template.go: `cases.Title(language.AmericanEnglish)`): the first cased
 * letter of each word in title case, the rest of the word in lower case (`hELLO wORLD` is `Hello World`,
 * where Prometheus's `title`, Go's strings.Title, gives `HELLO WORLD`). Words break as x/text/cases breaks
 * them: a digit or `_` does not end a word but is no letter to title (`3rd_x` is `3Rd_x`), `'` and `.` inside
 * a word do not end it (`o'neil` is `O'neil`).
 */
export function casesTitle(s: string): string {
  let out = '';
  let midWord = false;
  let wasMid = false;
  let word = '';
  const flush = () => {
    out += word.toLowerCase();
    word = '';
  };
  for (const ch of s) {
    const mid = MID.test(ch);
    if (wasMid && mid) midWord = false;
    const cased = /\p{Lu}|\p{Ll}|\p{Lt}/u.test(ch) || ch.toUpperCase() !== ch.toLowerCase();
    if (cased) {
      if (!midWord) {
        flush();
        out += titleChar(ch);
        midWord = true;
      } else word += ch;
    } else {
      flush();
      out += ch;
      if (!mid && (!LETTER.test(ch) || CJK.test(ch))) midWord = false;
    }
    wasMid = mid;
  }
  flush();
  return out;
}
