/**
 * A validating scan of an OTLP Export{Trace,Metrics,Logs}ServiceRequest that builds nothing: it walks the
 * protobuf with integer positions only and answers how many items (spans, metric data points, log records)
 * the request carries, or -1.
 *
 * It answers a count only when all of these hold, and -1 otherwise:
 *  1. {@link decodeExportRequest} would succeed: every check the decoder in proto.ts makes is made here the
 *     same way (tags, field number 0, wire types of known fields, which fields accept packed and unpacked
 *     encodings, varints of at most 10 bytes, truncation, lengths within the enclosing message, id lengths,
 *     nesting depth as the decoder counts it (messages, and attribute values: limits.ts MAX_ANY_VALUE_DEPTH),
 *     group start/end matching, invalid wire types);
 *  2. the OTLP receiver's `rejectInvalid` would reject nothing: every span has a trace_id and a span_id that
 *     are present and not all zero bytes (the last occurrence counts, as in the decoder), every metric
 *     has a non-empty name (idem), and every attribute named as a token count (src/limits.ts) holds an int64
 *     or a double that is a whole number from 0 to 10^9 (one written as a string: -1, the decoder decides);
 *  3. the request has a plain shape whose meaning does not depend on decoder details: every singular message
 *     field and every oneof (resource, scope, Span.status, Metric's data, a data point's value, an
 *     exemplar's value, AnyValue's value, KeyValue.value, LogRecord.body, the buckets of an exponential
 *     histogram point) appears at most once in its message.
 *
 * -1 is always safe: the caller then runs the full decoder, which produces the exact error or the
 * partial-success rejection. The count equals `countItems(decodeExportRequest(signal, bytes))[signal]`.
 *
 * No allocation per field or item: the only state besides locals is {@link vp}, the position after the last
 * varint read by {@link rv} (a module-level number, so a varint read returns its value and its end without
 * an object). The shapes SDKs send take short paths (a span of one-byte tags and lengths, a KeyValue holding
 * one scalar or an array of strings), each of which accepts only input the general scan accepts too and
 * hands everything else to it.
 */

import { MAX_ANY_VALUE_DEPTH } from '../limits.ts';

/** As in proto.ts: a message may nest at most this deep (sub-messages, packed varint lists, groups). */
const MAX_DEPTH = 64;

/** The position after the varint last read by {@link rv} or {@link lenAt}. */
let vp = 0;

/**
 * Arrays and key-value lists (AnyValues) open around the value being scanned, as the decoder's
 * `Reader.anyDepth`. Reset by each scan (a scan that answers -1 leaves it wherever it stopped).
 */
let anyNest = 0;

const mask = (...fields: number[]): number => fields.reduce((m, f) => m | (1 << f), 0);

// Field numbers that the decoder's F_* tables name (a known field with an unexpected wire type fails there).
const K_REQ = mask(1);
const K_RESOURCE_X = mask(1, 2, 3); // ResourceSpans/Metrics/Logs
const K_SCOPE_X = mask(1, 2, 3); // ScopeSpans/Metrics/Logs
const K_RESOURCE = mask(1, 2);
const K_SCOPE = mask(1, 2, 3, 4);
const K_KV = mask(1, 2);
const K_ANY = mask(1, 2, 3, 4, 5, 6, 7);
const K_LIST = mask(1); // ArrayValue, KeyValueList
const K_SPAN = mask(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
const K_EVENT = mask(1, 2, 3, 4);
const K_LINK = mask(1, 2, 3, 4, 5, 6);
const K_STATUS = mask(2, 3);
const K_METRIC = mask(1, 2, 3, 5, 7, 9, 10, 11, 12);
const K_GAUGE = mask(1); // Gauge and Summary (the decoder uses F_GAUGE for both)
const K_SUM = mask(1, 2, 3); // Sum, Histogram and ExponentialHistogram (F_SUM for all three)
const K_NUMBER_DP = mask(2, 3, 4, 5, 6, 7, 8);
const K_HIST_DP = mask(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
const K_EXP_DP = mask(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);
const K_BUCKETS = mask(1, 2);
const K_SUMMARY_DP = mask(2, 3, 4, 5, 6, 7, 8);
const K_QUANTILE = mask(1, 2);
const K_EXEMPLAR = mask(2, 3, 4, 5, 6, 7);
const K_LOG = mask(1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12);

// Signals, for the shared ResourceX / ScopeX scanners.
const TRACES = 0;
const METRICS = 1;
const LOGS = 2;

// Metric data kinds.
const GAUGE = 0;
const SUM = 1;
const HISTOGRAM = 2;
const EXP_HISTOGRAM = 3;
const SUMMARY = 4;

/**
 * The scan of one request: the item count, or -1 (see the module comment for when).
 * @param signal which Export*ServiceRequest `bytes` holds
 */
export function scanExportRequest(signal: 'traces' | 'metrics' | 'logs', bytes: Uint8Array): number {
  const sig = signal === 'traces' ? TRACES : signal === 'metrics' ? METRICS : signal === 'logs' ? LOGS : -1;
  if (sig < 0) return -1;
  const b = bytes;
  const end = b.length;
  let p = 0;
  let count = 0;
  anyNest = 0;
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    if (tag === 0x0a) {
      const n = lenAt(b, p, end);
      if (n < 0) return -1;
      p = vp;
      // depth 0 + 1 never exceeds MAX_DEPTH
      const c = scanResourceX(b, p, p + n, 1, sig);
      if (c < 0) return -1;
      count += c;
      p += n;
    } else {
      p = skipUnknown(b, p, end, tag, K_REQ, 0);
      if (p < 0) return -1;
    }
  }
  return count;
}

// ============================================================================================ primitives

/**
 * The low 32 bits of the varint at p, as the decoder's `Reader.varint` reads them, but as a signed int32 (so
 * that every value stays a small integer for the compiler: a tag's field is still `tag >>> 3`, and a length
 * of 2^31 or more, which never fits, is negative). The position after it in {@link vp}, or -1 there (and 0
 * returned) when it runs past `end` or is longer than 10 bytes.
 */
function rv(b: Uint8Array, p: number, end: number): number {
  if (p >= end) {
    vp = -1;
    return 0;
  }
  let c = b[p++]!;
  if (c < 0x80) {
    vp = p;
    return c;
  }
  let v = c & 0x7f;
  for (let shift = 7; shift < 70; shift += 7) {
    if (p >= end) break;
    c = b[p++]!;
    if (shift < 32) v |= (c & 0x7f) << shift;
    if (c < 0x80) {
      vp = p;
      return v | 0;
    }
  }
  vp = -1;
  return 0;
}

/** The position after the varint at p (at most 10 bytes, within `end`), or -1. */
function skipVarint(b: Uint8Array, p: number, end: number): number {
  const lim = end - p > 10 ? p + 10 : end;
  while (p < lim) if (b[p++]! < 0x80) return p;
  return -1;
}

/** A length prefix at p that fits before `end` (the decoder's `Reader.len`); the bytes start at {@link vp}. */
function lenAt(b: Uint8Array, p: number, end: number): number {
  if (p < end) {
    const c = b[p]!;
    if (c < 0x80) {
      if (c >= end - p) return -1;
      vp = p + 1;
      return c;
    }
  }
  const n = rv(b, p, end);
  if (vp < 0 || n < 0 || n > end - vp) return -1;
  return n;
}

/** The position after the length-delimited bytes (string, bytes) at p, or -1. */
function skipLen(b: Uint8Array, p: number, end: number): number {
  // A one-byte length inline (small enough for the compiler to inline this function in its callers).
  if (p < end) {
    const c = b[p]!;
    if (c < 0x80) return c < end - p ? p + 1 + c : -1;
  }
  const n = lenAt(b, p, end);
  return n < 0 ? -1 : vp + n;
}

/** The position after the 8 (I64) or 4 (I32) bytes at p, or -1. */
function fixed(p: number, end: number, n: number): number {
  return n > end - p ? -1 : p + n;
}

/**
 * A trace (16) or span (8) id at p: returns 1 when it is `size` bytes and not all zero, 0 when empty or all
 * zero (the decoder accepts both; the receiver rejects such spans), -1 for any other length (the decoder
 * fails). The position after it in {@link vp}.
 */
function idAt(b: Uint8Array, p: number, end: number, size: number): number {
  if (p < end && b[p] === size && size < end - p) {
    // The usual case inline: a one-byte length of `size`.
    const s = p + 1;
    vp = s + size;
    for (let i = s; i < s + size; i++) if (b[i] !== 0) return 1;
    return 0;
  }
  const n = lenAt(b, p, end);
  if (n < 0) return -1;
  const s = vp;
  vp = s + n;
  if (n === 0) return 0;
  if (n !== size) return -1;
  for (let i = s; i < s + n; i++) if (b[i] !== 0) return 1;
  return 0;
}

/**
 * A field the message's switch did not take (the decoder's `Reader.skip`): fails on field number 0 and on a
 * field the message knows (`known`, a bit per field number; it arrived with another wire type), else skips
 * its value. Returns the position after it, or -1.
 */
function skipUnknown(b: Uint8Array, p: number, end: number, tag: number, known: number, depth: number): number {
  const field = tag >>> 3;
  if (field === 0) return -1;
  if (field < 32 && ((known >>> field) & 1) !== 0) return -1;
  return skipValue(b, p, end, tag & 7, field, depth);
}

/** `Reader.skipValue`: a group counts one level of nesting, and must end with its own field number. */
function skipValue(b: Uint8Array, p: number, end: number, wt: number, field: number, depth: number): number {
  switch (wt) {
    case 0:
      return skipVarint(b, p, end);
    case 1:
      return fixed(p, end, 8);
    case 2:
      return skipLen(b, p, end);
    case 5:
      return fixed(p, end, 4);
    case 3: {
      if (depth + 1 > MAX_DEPTH) return -1;
      for (;;) {
        const t = rv(b, p, end);
        p = vp;
        if (p < 0) return -1;
        if ((t & 7) === 4) return t >>> 3 === field ? p : -1;
        if (t >>> 3 === 0) return -1;
        p = skipValue(b, p, end, t & 7, t >>> 3, depth + 1);
        if (p < 0) return -1;
      }
    }
    default:
      return -1;
  }
}

// ======================================================================================= common messages

/** ResourceSpans / ResourceMetrics / ResourceLogs at `depth`: the items of its scopes, or -1. */
function scanResourceX(b: Uint8Array, p: number, end: number, depth: number, sig: number): number {
  let count = 0;
  let resources = 0;
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    if (tag === 0x12) {
      const n = lenAt(b, p, end);
      if (n < 0 || depth >= MAX_DEPTH) return -1;
      p = vp;
      const c = scanScopeX(b, p, p + n, depth + 1, sig);
      if (c < 0) return -1;
      count += c;
      p += n;
    } else if (tag === 0x0a) {
      const n = lenAt(b, p, end);
      if (n < 0 || depth >= MAX_DEPTH || ++resources > 1) return -1;
      p = vp;
      if (scanResource(b, p, p + n, depth + 1) < 0) return -1;
      p += n;
    } else if (tag === 0x1a) {
      p = skipLen(b, p, end);
      if (p < 0) return -1;
    } else {
      p = skipUnknown(b, p, end, tag, K_RESOURCE_X, depth);
      if (p < 0) return -1;
    }
  }
  return count;
}

/** ScopeSpans / ScopeMetrics / ScopeLogs at `depth`: its items, or -1. */
function scanScopeX(b: Uint8Array, p: number, end: number, depth: number, sig: number): number {
  let count = 0;
  let scopes = 0;
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    if (tag === 0x12) {
      const n = lenAt(b, p, end);
      if (n < 0 || depth >= MAX_DEPTH) return -1;
      p = vp;
      if (sig === TRACES) {
        if (scanSpan(b, p, p + n, depth + 1) < 0) return -1;
        count++;
      } else if (sig === METRICS) {
        const c = scanMetric(b, p, p + n, depth + 1);
        if (c < 0) return -1;
        count += c;
      } else {
        if (scanLogRecord(b, p, p + n, depth + 1) < 0) return -1;
        count++;
      }
      p += n;
    } else if (tag === 0x0a) {
      const n = lenAt(b, p, end);
      if (n < 0 || depth >= MAX_DEPTH || ++scopes > 1) return -1;
      p = vp;
      if (scanScope(b, p, p + n, depth + 1) < 0) return -1;
      p += n;
    } else if (tag === 0x1a) {
      p = skipLen(b, p, end);
      if (p < 0) return -1;
    } else {
      p = skipUnknown(b, p, end, tag, K_SCOPE_X, depth);
      if (p < 0) return -1;
    }
  }
  return count;
}


// Token counts (src/limits.ts): the OTLP receiver rejects a span whose token-count attribute
// (`isTokenCountKey`) is not a whole number from 0 to MAX_TOKEN_COUNT. The scan passes such a KeyValue only
// when its value is an int64 or a double in that range; a token count written as a string, or in an unusual
// KeyValue shape, sends the request to the decoder (-1), which gives the exact partial success.
const GEN_AI_USAGE = [...Buffer.from('gen_ai.usage.')];
const LLM_USAGE = [...Buffer.from('llm.usage.')];
const LLM_TOKEN_COUNT = [...Buffer.from('llm.token_count.')];
const TOKENS = [...Buffer.from('tokens')];
const MAX_TOKENS = 1_000_000_000; // MAX_TOKEN_COUNT in src/limits.ts

function bytesAt(b: Uint8Array, p: number, want: number[]): boolean {
  for (let i = 0; i < want.length; i++) if (b[p + i] !== want[i]) return false;
  return true;
}

/** True when the `n` key bytes at p name a token count, as `isTokenCountKey` does for the decoded string. */
function tokenKeyAt(b: Uint8Array, p: number, n: number): boolean {
  const c = b[p];
  if (c === 0x67 /* g */) return n >= 19 && b[p + 7] === 0x75 /* u */ && bytesAt(b, p, GEN_AI_USAGE) && bytesAt(b, p + n - 6, TOKENS);
  if (c !== 0x6c /* l */ || n < 10 || b[p + 3] !== 0x2e /* . */) return false;
  return (bytesAt(b, p, LLM_USAGE) && n >= 16 && bytesAt(b, p + n - 6, TOKENS)) || (n >= 16 && bytesAt(b, p, LLM_TOKEN_COUNT));
}

/** True when the varint at p (ending at `end`) is a token count in range: at most 5 bytes, at most MAX_TOKENS. */
function tokenVarintAt(b: Uint8Array, p: number, end: number): boolean {
  if (end - p > 5) return false; // a negative int64 takes 10 bytes
  let n = 0;
  let mul = 1;
  for (let i = p; i < end; i++) {
    n += (b[i]! & 0x7f) * mul;
    mul *= 128;
  }
  return n <= MAX_TOKENS;
}

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
/** True when the little-endian double at p is a token count in range (a whole number from 0 to MAX_TOKENS). */
function tokenDoubleAt(b: Uint8Array, p: number): boolean {
  for (let i = 0; i < 8; i++) f64Bytes[i] = b[p + i]!;
  const x = f64[0]!;
  return x >= 0 && x <= MAX_TOKENS && Number.isInteger(x);
}

/**
 * A repeated KeyValue field's value at p in a message at `depth` (attributes, metadata, kvlist values): the
 * position after it, or -1. The KeyValue is one level deeper.
 */
function kvField(b: Uint8Array, p: number, end: number, depth: number): number {
  // The shape SDKs write, inline: key (field 1), then value (field 2) holding one scalar that fills it, every
  // length in one byte. Such a KeyValue is valid and plain; anything else takes kvFieldSlow.
  if (p < end && depth < MAX_DEPTH) {
    const n = b[p]!;
    if (n >= 4 && n < 0x80 && n < end - p && b[p + 1] === 0x0a) {
      const s = p + 1;
      const e = s + n;
      const kn = b[s + 1]!;
      const q = s + 2 + kn;
      // The value's length fills the KeyValue (so it is below 0x80 too).
      if (kn < 0x80 && q + 2 <= e && b[q] === 0x12 && q + 2 + b[q + 1]! === e) {
        const v = q + 2;
        const vn = e - v;
        if (vn === 0) return e; // an empty AnyValue
        const vt = b[v]!;
        if (vt === 0x0a) {
          // string_value, one-byte length filling the value (a token count as a string: decoded, see tokenKeyAt)
          if (vn >= 2 && b[v + 1]! + 2 === vn) return tokenKeyAt(b, s + 2, kn) ? -1 : e;
        } else if (vt === 0x21) {
          // double_value
          if (vn === 9) return tokenKeyAt(b, s + 2, kn) && !tokenDoubleAt(b, v + 1) ? -1 : e;
        } else if (vt === 0x18) {
          // int_value: one varint filling the value
          if (vn >= 2 && skipVarint(b, v + 1, e) === e) return tokenKeyAt(b, s + 2, kn) && !tokenVarintAt(b, v + 1, e) ? -1 : e;
        } else if (vt === 0x10) {
          // bool_value: one varint filling the value
          if (vn >= 2 && skipVarint(b, v + 1, e) === e) return e;
        }
      }
    }
  }
  return kvFieldSlow(b, p, end, depth);
}

function kvFieldSlow(b: Uint8Array, p: number, end: number, depth: number): number {
  const n = lenAt(b, p, end);
  if (n < 0 || depth >= MAX_DEPTH) return -1;
  const s = vp;
  const e = s + n;
  // array_value of strings (gen_ai.response.finish_reasons), one-byte lengths: the KeyValue, the array and
  // each element are one level each; an element is string_value (field 1) filling it.
  if (n >= 6 && depth < MAX_DEPTH - 2 && anyNest < MAX_ANY_VALUE_DEPTH - 1 && b[s] === 0x0a && b[s + 1]! < 0x80) {
    const q = s + 2 + b[s + 1]!;
    const v = q + 2;
    if (v + 2 <= e && b[q] === 0x12 && b[q + 1]! < 0x80 && v + b[q + 1]! === e && b[v] === 0x2a && b[v + 1]! < 0x80 && v + 2 + b[v + 1]! === e) {
      let i = v + 2;
      while (i < e) {
        if (e - i < 2 || b[i] !== 0x0a) break;
        const en = b[i + 1]!;
        if (en >= 0x80 || i + 2 + en > e) break;
        if (en !== 0 && (en < 2 || b[i + 2] !== 0x0a || b[i + 3]! + 2 !== en)) break;
        i += 2 + en;
      }
      if (i === e) return e;
    }
  }
  return scanKeyValue(b, s, e, depth + 1) < 0 ? -1 : e;
}

function scanResource(b: Uint8Array, p: number, end: number, depth: number): number {
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    if (tag === 0x0a) p = kvField(b, p, end, depth);
    else if (tag === 0x10) p = skipVarint(b, p, end);
    else p = skipUnknown(b, p, end, tag, K_RESOURCE, depth);
    if (p < 0) return -1;
  }
  return 0;
}

function scanScope(b: Uint8Array, p: number, end: number, depth: number): number {
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    switch (tag) {
      case 0x0a: // name
      case 0x12: // version
        p = skipLen(b, p, end);
        break;
      case 0x1a: // attributes
        p = kvField(b, p, end, depth);
        break;
      case 0x20: // dropped_attributes_count
        p = skipVarint(b, p, end);
        break;
      default:
        p = skipUnknown(b, p, end, tag, K_SCOPE, depth);
    }
    if (p < 0) return -1;
  }
  return 0;
}

/** KeyValue at `depth`; its value (an AnyValue) is read inline by the decoder, at the same depth. */
function scanKeyValue(b: Uint8Array, p: number, end: number, depth: number): number {
  let values = 0;
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    if (tag === 0x0a) {
      // a token-count key in an unusual shape: decoded (the receiver checks its value)
      const n = lenAt(b, p, end);
      if (n < 0 || tokenKeyAt(b, vp, n)) return -1;
      p = vp + n;
    } else if (tag === 0x12) {
      const n = lenAt(b, p, end);
      if (n < 0 || ++values > 1) return -1;
      const s = vp;
      if (scanAnyValue(b, s, s + n, depth) < 0) return -1;
      p = s + n;
    } else p = skipUnknown(b, p, end, tag, K_KV, depth);
    if (p < 0) return -1;
  }
  return 0;
}

/** AnyValue at `depth` (the depth of the message it was read in: inline in a KeyValue, or its own). */
function scanAnyValue(b: Uint8Array, p: number, end: number, depth: number): number {
  let set = 0;
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    switch (tag) {
      case 0x0a: // string_value
      case 0x3a: // bytes_value
        p = skipLen(b, p, end);
        break;
      case 0x10: // bool_value
      case 0x18: // int_value
        p = skipVarint(b, p, end);
        break;
      case 0x21: // double_value
        p = fixed(p, end, 8);
        break;
      case 0x2a: // array_value
      case 0x32: {
        // kvlist_value
        // Its elements would be AnyValues at level anyNest + 2: past MAX_ANY_VALUE_DEPTH, the decoder decides
        // (it refuses any element there).
        const n = lenAt(b, p, end);
        if (n < 0 || depth >= MAX_DEPTH || anyNest >= MAX_ANY_VALUE_DEPTH - 1) return -1;
        const s = vp;
        anyNest++;
        if ((tag === 0x2a ? scanArrayValue(b, s, s + n, depth + 1) : scanKvList(b, s, s + n, depth + 1)) < 0) return -1;
        anyNest--;
        p = s + n;
        break;
      }
      default:
        p = skipUnknown(b, p, end, tag, K_ANY, depth);
        if (p < 0) return -1;
        continue;
    }
    // Every case above is a member of the value oneof: more than one is not a plain shape.
    if (p < 0 || ++set > 1) return -1;
  }
  return 0;
}

function scanArrayValue(b: Uint8Array, p: number, end: number, depth: number): number {
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    if (tag === 0x0a) {
      const n = lenAt(b, p, end);
      if (n < 0 || depth >= MAX_DEPTH) return -1;
      const s = vp;
      if (scanAnyValue(b, s, s + n, depth + 1) < 0) return -1;
      p = s + n;
    } else {
      p = skipUnknown(b, p, end, tag, K_LIST, depth);
      if (p < 0) return -1;
    }
  }
  return 0;
}

function scanKvList(b: Uint8Array, p: number, end: number, depth: number): number {
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    if (tag === 0x0a) p = kvField(b, p, end, depth);
    else p = skipUnknown(b, p, end, tag, K_LIST, depth);
    if (p < 0) return -1;
  }
  return 0;
}

// ================================================================================================ traces

/** What {@link scanSpanPlain} answers for a span it leaves to the general scan. */
const AGAIN = -2;

/** A Span at `depth`: 0, or -1 when the decoder fails, a singular field repeats, or an id is empty/zero. */
function scanSpan(b: Uint8Array, p: number, end: number, depth: number): number {
  const r = scanSpanPlain(b, p, end, depth);
  return r !== AGAIN ? r : scanSpanAny(b, p, end, depth);
}

/**
 * The span shape SDKs send, in a loop that handles nothing else: one-byte tags (and flags' two), ids of
 * their full size and not zero, one-byte lengths of strings and events/links/status. 0 when the span is such
 * a span and valid; AGAIN for anything else, for which {@link scanSpanAny} has the answer. (Kept apart so
 * that odd input, and its checks, does not weigh on how the compiler optimizes the common case.)
 */
function scanSpanPlain(b: Uint8Array, p: number, end: number, depth: number): number {
  let ids = 0;
  let statuses = 0;
  while (p < end) {
    const tag = b[p++]!;
    switch (tag >>> 3) {
      case 1: // trace_id
      case 2: {
        // span_id
        const size = tag === 0x0a ? 16 : 8;
        if ((tag !== 0x0a && tag !== 0x12) || p >= end || b[p] !== size || end - p <= size) return AGAIN;
        const s = p + 1;
        p = s + size;
        let i = s;
        while (i < p && b[i] === 0) i++;
        if (i === p) return AGAIN;
        ids |= tag === 0x0a ? 1 : 2;
        break;
      }
      case 4: {
        // parent_span_id
        const c = p < end ? b[p]! : 0x80;
        if (tag !== 0x22 || (c !== 0 && c !== 8) || c >= end - p) return AGAIN;
        p += 1 + c;
        break;
      }
      case 3: // trace_state
      case 5: {
        // name
        const c = p < end ? b[p]! : 0x80;
        if ((tag & 7) !== 2 || c >= 0x80 || c >= end - p) return AGAIN;
        p += 1 + c;
        break;
      }
      case 6: // kind
      case 10: // dropped_attributes_count
      case 12: // dropped_events_count
      case 14: // dropped_links_count
        if ((tag & 7) !== 0 || p >= end) return AGAIN;
        if (b[p]! < 0x80) p++;
        else {
          p = skipVarint(b, p, end);
          if (p < 0) return AGAIN;
        }
        break;
      case 7: // start_time_unix_nano
      case 8: // end_time_unix_nano
        if ((tag & 7) !== 1 || end - p < 8) return AGAIN;
        p += 8;
        break;
      case 16: // flags: tag 0x85 0x01, then 4 bytes
        if (tag !== 0x85 || end - p < 5 || b[p] !== 0x01) return AGAIN;
        p += 5;
        break;
      case 9: // attributes
        if (tag !== 0x4a) return AGAIN;
        p = kvField(b, p, end, depth);
        if (p < 0) return AGAIN;
        break;
      case 11: // events
      case 13: // links
      case 15: {
        // status
        const n = p < end ? b[p]! : 0x80;
        if ((tag & 7) !== 2 || n >= 0x80 || n >= end - p || depth >= MAX_DEPTH) return AGAIN;
        const s = p + 1;
        p = s + n;
        let r: number;
        if (tag === 0x5a) r = scanEvent(b, s, p, depth + 1);
        else if (tag === 0x6a) r = scanLink(b, s, p, depth + 1);
        else r = ++statuses > 1 ? -1 : scanStatus(b, s, p, depth + 1);
        if (r < 0) return AGAIN;
        break;
      }
      default:
        return AGAIN;
    }
  }
  return ids === 3 ? 0 : AGAIN;
}

/** Any span (see {@link scanSpan}). */
function scanSpanAny(b: Uint8Array, p: number, end: number, depth: number): number {
  let traceOk = 0;
  let spanOk = 0;
  let statuses = 0;
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else if (end - p >= 2 && b[p + 1]! < 0x80) {
      // A two-byte tag (flags, field 16)
      tag = (tag & 0x7f) | (b[p + 1]! << 7);
      p += 2;
    } else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    // By field number (dense: a jump table), then the wire type: every field 1..16 is known to the decoder,
    // so any other wire type fails there.
    switch (tag >>> 3) {
      case 1: // trace_id
        if (tag !== 0x0a) return -1;
        traceOk = idAt(b, p, end, 16);
        if (traceOk < 0) return -1;
        p = vp;
        break;
      case 2: // span_id
        if (tag !== 0x12) return -1;
        spanOk = idAt(b, p, end, 8);
        if (spanOk < 0) return -1;
        p = vp;
        break;
      case 4: // parent_span_id
        if (tag !== 0x22 || idAt(b, p, end, 8) < 0) return -1;
        p = vp;
        break;
      // The common cases of strings, varints and fixed-size fields are written out here rather than left to
      // the compiler's inlining, whose budget rarer paths could otherwise take.
      case 3: // trace_state
      case 5: {
        // name
        if ((tag & 7) !== 2) return -1;
        const c = p < end ? b[p]! : 0x80;
        if (c < 0x80) {
          if (c >= end - p) return -1;
          p += 1 + c;
        } else p = skipLen(b, p, end);
        break;
      }
      case 6: // kind
      case 10: // dropped_attributes_count
      case 12: // dropped_events_count
      case 14: // dropped_links_count
        if ((tag & 7) !== 0) return -1;
        if (p < end && b[p]! < 0x80) p++;
        else p = skipVarint(b, p, end);
        break;
      case 7: // start_time_unix_nano
      case 8: // end_time_unix_nano
        if ((tag & 7) !== 1 || end - p < 8) return -1;
        p += 8;
        break;
      case 16: // flags
        if (tag !== 0x85 || end - p < 4) return -1;
        p += 4;
        break;
      case 9: // attributes
        if (tag !== 0x4a) return -1;
        p = kvField(b, p, end, depth);
        break;
      case 11: // events
      case 13: // links
      case 15: {
        // status
        if ((tag & 7) !== 2) return -1;
        const n = lenAt(b, p, end);
        if (n < 0 || depth >= MAX_DEPTH) return -1;
        const s = vp;
        let r: number;
        if (tag === 0x5a) r = scanEvent(b, s, s + n, depth + 1);
        else if (tag === 0x6a) r = scanLink(b, s, s + n, depth + 1);
        else r = ++statuses > 1 ? -1 : scanStatus(b, s, s + n, depth + 1);
        if (r < 0) return -1;
        p = s + n;
        break;
      }
      default:
        p = skipUnknown(b, p, end, tag, K_SPAN, depth);
    }
    if (p < 0) return -1;
  }
  return traceOk === 1 && spanOk === 1 ? 0 : -1;
}

function scanEvent(b: Uint8Array, p: number, end: number, depth: number): number {
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    switch (tag) {
      case 0x09: // time_unix_nano
        p = fixed(p, end, 8);
        break;
      case 0x12: // name
        p = skipLen(b, p, end);
        break;
      case 0x1a: // attributes
        p = kvField(b, p, end, depth);
        break;
      case 0x20: // dropped_attributes_count
        p = skipVarint(b, p, end);
        break;
      default:
        p = skipUnknown(b, p, end, tag, K_EVENT, depth);
    }
    if (p < 0) return -1;
  }
  return 0;
}

function scanLink(b: Uint8Array, p: number, end: number, depth: number): number {
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    switch (tag) {
      case 0x0a: // trace_id
        if (idAt(b, p, end, 16) < 0) return -1;
        p = vp;
        break;
      case 0x12: // span_id
        if (idAt(b, p, end, 8) < 0) return -1;
        p = vp;
        break;
      case 0x1a: // trace_state
        p = skipLen(b, p, end);
        break;
      case 0x22: // attributes
        p = kvField(b, p, end, depth);
        break;
      case 0x28: // dropped_attributes_count
        p = skipVarint(b, p, end);
        break;
      case 0x35: // flags
        p = fixed(p, end, 4);
        break;
      default:
        p = skipUnknown(b, p, end, tag, K_LINK, depth);
    }
    if (p < 0) return -1;
  }
  return 0;
}

function scanStatus(b: Uint8Array, p: number, end: number, depth: number): number {
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    if (tag === 0x12) p = skipLen(b, p, end);
    else if (tag === 0x18) p = skipVarint(b, p, end);
    else p = skipUnknown(b, p, end, tag, K_STATUS, depth);
    if (p < 0) return -1;
  }
  return 0;
}

// =============================================================================================== metrics

/** A Metric at `depth`: its data points, or -1 (also when it has no name). */
function scanMetric(b: Uint8Array, p: number, end: number, depth: number): number {
  let named = false;
  let datas = 0;
  let count = 0;
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    switch (tag) {
      case 0x0a: {
        // name (the last one counts)
        const n = lenAt(b, p, end);
        if (n < 0) return -1;
        named = n > 0;
        p = vp + n;
        break;
      }
      case 0x12: // description
      case 0x1a: // unit
        p = skipLen(b, p, end);
        break;
      case 0x2a: // gauge
      case 0x3a: // sum
      case 0x4a: // histogram
      case 0x52: // exponential_histogram
      case 0x5a: {
        // summary
        const n = lenAt(b, p, end);
        if (n < 0 || depth >= MAX_DEPTH || ++datas > 1) return -1;
        const s = vp;
        const kind = tag === 0x2a ? GAUGE : tag === 0x3a ? SUM : tag === 0x4a ? HISTOGRAM : tag === 0x52 ? EXP_HISTOGRAM : SUMMARY;
        count = scanData(b, s, s + n, depth + 1, kind);
        if (count < 0) return -1;
        p = s + n;
        break;
      }
      case 0x62: // metadata
        p = kvField(b, p, end, depth);
        break;
      default:
        p = skipUnknown(b, p, end, tag, K_METRIC, depth);
    }
    if (p < 0) return -1;
  }
  return named ? count : -1;
}

/** Gauge, Sum, Histogram, ExponentialHistogram or Summary at `depth`: its data points, or -1. */
function scanData(b: Uint8Array, p: number, end: number, depth: number, kind: number): number {
  let count = 0;
  const known = kind === GAUGE || kind === SUMMARY ? K_GAUGE : K_SUM;
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    if (tag === 0x0a) {
      // data_points
      const n = lenAt(b, p, end);
      if (n < 0 || depth >= MAX_DEPTH) return -1;
      const s = vp;
      let r: number;
      if (kind === GAUGE || kind === SUM) r = scanNumberPoint(b, s, s + n, depth + 1);
      else if (kind === HISTOGRAM) r = scanHistogramPoint(b, s, s + n, depth + 1);
      else if (kind === EXP_HISTOGRAM) r = scanExpHistogramPoint(b, s, s + n, depth + 1);
      else r = scanSummaryPoint(b, s, s + n, depth + 1);
      if (r < 0) return -1;
      count++;
      p = s + n;
    } else if (tag === 0x10 && kind !== GAUGE && kind !== SUMMARY) {
      // aggregation_temporality (Sum, Histogram, ExponentialHistogram)
      p = skipVarint(b, p, end);
      if (p < 0) return -1;
    } else if (tag === 0x18 && kind === SUM) {
      // is_monotonic
      p = skipVarint(b, p, end);
      if (p < 0) return -1;
    } else {
      p = skipUnknown(b, p, end, tag, known, depth);
      if (p < 0) return -1;
    }
  }
  return count;
}

/** A repeated Exemplar field's value at p in a data point at `depth`: the position after it, or -1. */
function exemplarField(b: Uint8Array, p: number, end: number, depth: number): number {
  const n = lenAt(b, p, end);
  if (n < 0 || depth >= MAX_DEPTH) return -1;
  const s = vp;
  return scanExemplar(b, s, s + n, depth + 1) < 0 ? -1 : s + n;
}

function scanNumberPoint(b: Uint8Array, p: number, end: number, depth: number): number {
  let values = 0;
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    switch (tag) {
      case 0x3a: // attributes
        p = kvField(b, p, end, depth);
        break;
      case 0x11: // start_time_unix_nano
      case 0x19: // time_unix_nano
        p = fixed(p, end, 8);
        break;
      case 0x21: // as_double
      case 0x31: // as_int
        if (++values > 1) return -1;
        p = fixed(p, end, 8);
        break;
      case 0x2a: // exemplars
        p = exemplarField(b, p, end, depth);
        break;
      case 0x40: // flags
        p = skipVarint(b, p, end);
        break;
      default:
        p = skipUnknown(b, p, end, tag, K_NUMBER_DP, depth);
    }
    if (p < 0) return -1;
  }
  return 0;
}

function scanExemplar(b: Uint8Array, p: number, end: number, depth: number): number {
  let values = 0;
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    switch (tag) {
      case 0x3a: // filtered_attributes
        p = kvField(b, p, end, depth);
        break;
      case 0x11: // time_unix_nano
        p = fixed(p, end, 8);
        break;
      case 0x19: // as_double
      case 0x31: // as_int
        if (++values > 1) return -1;
        p = fixed(p, end, 8);
        break;
      case 0x22: // span_id
        if (idAt(b, p, end, 8) < 0) return -1;
        p = vp;
        break;
      case 0x2a: // trace_id
        if (idAt(b, p, end, 16) < 0) return -1;
        p = vp;
        break;
      default:
        p = skipUnknown(b, p, end, tag, K_EXEMPLAR, depth);
    }
    if (p < 0) return -1;
  }
  return 0;
}

/** Packed fixed64/double values at p (the decoder wants a multiple of 8 bytes): the position after, or -1. */
function packedFixed64(b: Uint8Array, p: number, end: number): number {
  const n = lenAt(b, p, end);
  if (n < 0 || n % 8 !== 0) return -1;
  return vp + n;
}

function scanHistogramPoint(b: Uint8Array, p: number, end: number, depth: number): number {
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    switch (tag) {
      case 0x4a: // attributes
        p = kvField(b, p, end, depth);
        break;
      case 0x11: // start_time_unix_nano
      case 0x19: // time_unix_nano
      case 0x21: // count
      case 0x29: // sum
      case 0x31: // bucket_counts, unpacked
      case 0x39: // explicit_bounds, unpacked
      case 0x59: // min
      case 0x61: // max
        p = fixed(p, end, 8);
        break;
      case 0x32: // bucket_counts, packed
      case 0x3a: // explicit_bounds, packed
        p = packedFixed64(b, p, end);
        break;
      case 0x42: // exemplars
        p = exemplarField(b, p, end, depth);
        break;
      case 0x50: // flags
        p = skipVarint(b, p, end);
        break;
      default:
        p = skipUnknown(b, p, end, tag, K_HIST_DP, depth);
    }
    if (p < 0) return -1;
  }
  return 0;
}

function scanExpHistogramPoint(b: Uint8Array, p: number, end: number, depth: number): number {
  let positives = 0;
  let negatives = 0;
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    switch (tag) {
      case 0x0a: // attributes
        p = kvField(b, p, end, depth);
        break;
      case 0x11: // start_time_unix_nano
      case 0x19: // time_unix_nano
      case 0x21: // count
      case 0x29: // sum
      case 0x39: // zero_count
      case 0x61: // min
      case 0x69: // max
      case 0x71: // zero_threshold
        p = fixed(p, end, 8);
        break;
      case 0x30: // scale
      case 0x50: // flags
        p = skipVarint(b, p, end);
        break;
      case 0x42: // positive
      case 0x4a: {
        // negative
        const n = lenAt(b, p, end);
        if (n < 0 || depth >= MAX_DEPTH) return -1;
        if (tag === 0x42 ? ++positives > 1 : ++negatives > 1) return -1;
        const s = vp;
        if (scanBuckets(b, s, s + n, depth + 1) < 0) return -1;
        p = s + n;
        break;
      }
      case 0x5a: // exemplars
        p = exemplarField(b, p, end, depth);
        break;
      default:
        p = skipUnknown(b, p, end, tag, K_EXP_DP, depth);
    }
    if (p < 0) return -1;
  }
  return 0;
}

function scanBuckets(b: Uint8Array, p: number, end: number, depth: number): number {
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    if (tag === 0x08 || tag === 0x10) {
      // offset; bucket_counts unpacked
      p = skipVarint(b, p, end);
    } else if (tag === 0x12) {
      // bucket_counts, packed: the decoder enters it like a sub-message (one level of depth)
      const n = lenAt(b, p, end);
      if (n < 0 || depth >= MAX_DEPTH) return -1;
      p = vp;
      const e = p + n;
      while (p < e && p >= 0) p = skipVarint(b, p, e);
    } else p = skipUnknown(b, p, end, tag, K_BUCKETS, depth);
    if (p < 0) return -1;
  }
  return 0;
}

function scanSummaryPoint(b: Uint8Array, p: number, end: number, depth: number): number {
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    switch (tag) {
      case 0x3a: // attributes
        p = kvField(b, p, end, depth);
        break;
      case 0x11: // start_time_unix_nano
      case 0x19: // time_unix_nano
      case 0x21: // count
      case 0x29: // sum
        p = fixed(p, end, 8);
        break;
      case 0x32: {
        // quantile_values
        const n = lenAt(b, p, end);
        if (n < 0 || depth >= MAX_DEPTH) return -1;
        const s = vp;
        if (scanQuantile(b, s, s + n, depth + 1) < 0) return -1;
        p = s + n;
        break;
      }
      case 0x40: // flags
        p = skipVarint(b, p, end);
        break;
      default:
        p = skipUnknown(b, p, end, tag, K_SUMMARY_DP, depth);
    }
    if (p < 0) return -1;
  }
  return 0;
}

function scanQuantile(b: Uint8Array, p: number, end: number, depth: number): number {
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    if (tag === 0x09 || tag === 0x11) p = fixed(p, end, 8);
    else p = skipUnknown(b, p, end, tag, K_QUANTILE, depth);
    if (p < 0) return -1;
  }
  return 0;
}

// ================================================================================================== logs

function scanLogRecord(b: Uint8Array, p: number, end: number, depth: number): number {
  let bodies = 0;
  while (p < end) {
    let tag = b[p]!;
    if (tag < 0x80) p++;
    else {
      tag = rv(b, p, end);
      p = vp;
      if (p < 0) return -1;
    }
    switch (tag) {
      case 0x09: // time_unix_nano
      case 0x59: // observed_time_unix_nano
        p = fixed(p, end, 8);
        break;
      case 0x10: // severity_number
      case 0x38: // dropped_attributes_count
        p = skipVarint(b, p, end);
        break;
      case 0x1a: // severity_text
      case 0x62: // event_name
        p = skipLen(b, p, end);
        break;
      case 0x2a: {
        // body: an AnyValue one level deeper
        const n = lenAt(b, p, end);
        if (n < 0 || depth >= MAX_DEPTH || ++bodies > 1) return -1;
        const s = vp;
        if (scanAnyValue(b, s, s + n, depth + 1) < 0) return -1;
        p = s + n;
        break;
      }
      case 0x32: // attributes
        p = kvField(b, p, end, depth);
        break;
      case 0x45: // flags
        p = fixed(p, end, 4);
        break;
      case 0x4a: // trace_id
        if (idAt(b, p, end, 16) < 0) return -1;
        p = vp;
        break;
      case 0x52: // span_id
        if (idAt(b, p, end, 8) < 0) return -1;
        p = vp;
        break;
      default:
        p = skipUnknown(b, p, end, tag, K_LOG, depth);
    }
    if (p < 0) return -1;
  }
  return 0;
}
