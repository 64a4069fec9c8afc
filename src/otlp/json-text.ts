/**
 * OTLP/JSON written straight from vigil's model (src/model.ts) into bytes, without the object tree that
 * {@link toOtlpJson} builds nor a JavaScript string to flatten and encode: the hot path of the `file`
 * exporter and of the `otlp` exporter's http/json.
 *
 * The output is byte for byte `Buffer.from(JSON.stringify(toOtlpJson(batch, signal)))`
 * (test/otlp-json-text.test.ts holds the two to that over random batches, every OTLP example and every
 * field changed in turn): the same key order (the proto field order that OTLP/JSON and the Collector's file
 * exporter write), lowerCamelCase keys, ids as lowercase hex, 64-bit integers as decimal strings, doubles
 * as JSON numbers or the strings "NaN"/"Infinity"/"-Infinity" (the protobuf JSON mapping), bytes as
 * base64, and fields holding their default value left out.
 *
 * How: one scratch buffer per process, written byte by byte (the encoder is synchronous, so calls never
 * interleave); strings of printable ASCII (nearly all of them: keys, ids, model names) are copied as they
 * are, any other string (a quote, a backslash, a control character, non-ASCII text) goes through
 * JSON.stringify and is written as UTF-8. Attributes with a scalar value repeat from span to span
 * (`gen_ai.system: "openai"`), so the bytes of a key (`{"key":"gen_ai.system","value":`) and of a whole
 * key-value pair are kept in a bounded cache (at most {@link MAX_CACHED_KEYS} keys, emptied when full, {@link MAX_CACHED_VALUES}
 * values of at most {@link MAX_CACHED_BYTES} bytes each; a key whose values do not repeat stops caching them).
 */
import type {
  AnyValue,
  Batch,
  Exemplar,
  ExponentialHistogramBuckets,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  InstrumentationScope,
  KeyValue,
  LogRecord,
  Metric,
  NumberDataPoint,
  Resource,
  ResourceLogs,
  ResourceMetrics,
  ResourceSpans,
  ScopeLogs,
  ScopeMetrics,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanLink,
  SummaryDataPoint,
} from '../model.ts';

/** The signals of an OTLP export request (as `OtlpSignal` in json.ts, repeated to keep this file a leaf). */
type Signal = 'traces' | 'metrics' | 'logs';

/**
 * The OTLP/JSON export request for one signal of `batch` as UTF-8 bytes, in a Buffer of its own (one line:
 * no newline in it unless `newline`, then one "\n" at the end). Equal to
 * `Buffer.from(JSON.stringify(toOtlpJson(batch, signal)))`; throws only where that would (a model that
 * breaks its own types).
 */
export function otlpJsonBytes(batch: Batch, signal: Signal, newline = false): Buffer {
  write(batch, signal);
  if (newline) {
    room(1);
    buf[pos++] = 0x0a;
  }
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  release();
  return out;
}

/**
 * {@link otlpJsonBytes} without the copy out of the scratch buffer (about 9% of the encoding's CPU for a
 * 512-span batch, measured by A/B): the bytes are written into `into` from its start and returned as a
 * view of it. When the request needs more room than `into` has, a larger buffer is allocated (its size at
 * least double) and the view is of that one: `view.buffer !== into.buffer` tells it, and
 * `Buffer.from(view.buffer)` is the whole larger buffer, for a caller that keeps a pool. The caller must
 * not reuse `into` (or the larger one) while the view is in use.
 */
export function otlpJsonBytesInto(batch: Batch, signal: Signal, newline: boolean, into: Buffer<ArrayBuffer>): Buffer<ArrayBuffer> {
  const scratch = buf;
  buf = into;
  try {
    write(batch, signal);
    if (newline) {
      room(1);
      buf[pos++] = 0x0a;
    }
    return buf.subarray(0, pos);
  } finally {
    buf = scratch;
  }
}

/** The same as text: `JSON.stringify(toOtlpJson(batch, signal))`, character for character. */
export function otlpJsonText(batch: Batch, signal: Signal): string {
  write(batch, signal);
  const text = buf.toString(ascii ? 'latin1' : 'utf8', 0, pos);
  release();
  return text;
}

function write(batch: Batch, signal: Signal): void {
  pos = 0;
  ascii = true;
  switch (signal) {
    case 'traces': {
      const list = batch.resourceSpans ?? [];
      lit('{"resourceSpans":[');
      for (let i = 0; i < list.length; i++) {
        if (i) byte(0x2c);
        resourceSpans(list[i]!);
      }
      break;
    }
    case 'metrics': {
      const list = batch.resourceMetrics ?? [];
      lit('{"resourceMetrics":[');
      for (let i = 0; i < list.length; i++) {
        if (i) byte(0x2c);
        resourceMetrics(list[i]!);
      }
      break;
    }
    case 'logs': {
      const list = batch.resourceLogs ?? [];
      lit('{"resourceLogs":[');
      for (let i = 0; i < list.length; i++) {
        if (i) byte(0x2c);
        resourceLogs(list[i]!);
      }
      break;
    }
  }
  lit(']}');
}

// ------------------------------------------------------------------------------------- the byte writer

/** Scratch kept between calls up to this size (a larger one, for a huge batch, is let go after it). */
const KEEP_BYTES = 4 * 1024 * 1024;
let buf = Buffer.allocUnsafeSlow(256 * 1024);
let pos = 0;
/** Nothing but ASCII written so far (every string went the fast way): latin1 decodes it as utf8 would. */
let ascii = true;

function room(n: number): void {
  if (pos + n <= buf.length) return;
  const next = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, pos + n));
  buf.copy(next, 0, 0, pos);
  buf = next;
}

function release(): void {
  if (buf.length > KEEP_BYTES) buf = Buffer.allocUnsafeSlow(KEEP_BYTES);
}

function byte(b: number): void {
  room(1);
  buf[pos++] = b;
}

/** ASCII text as it is (constants, numbers, base64). */
function lit(s: string): void {
  const n = s.length;
  room(n);
  const b = buf;
  let p = pos;
  for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
  pos = p;
}

/** Bytes as they are (a cached fragment). */
function copy(src: Uint8Array): void {
  const n = src.length;
  room(n);
  if (n > 24) {
    buf.set(src, pos);
    pos += n;
    return;
  }
  const b = buf;
  let p = pos;
  for (let i = 0; i < n; i++) b[p++] = src[i]!;
  pos = p;
}

/** A comma unless the object (or array) was just opened: a field is never the first after another '{'. */
function sep(): void {
  room(1);
  const c = buf[pos - 1];
  if (c !== 0x7b && c !== 0x5b) buf[pos++] = 0x2c;
}

/** `"name":` after a comma when a field came before it in this object. */
function key(nameColon: string): void {
  sep();
  lit(nameColon);
}

/** `s` as a JSON string literal, quotes included: printable ASCII copied, anything else by JSON.stringify. */
function str(s: string): void {
  const n = s.length;
  room(n + 2);
  const b = buf;
  let p = pos;
  b[p++] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return strSlow(s);
    b[p++] = c;
  }
  b[p++] = 0x22;
  pos = p;
}

function strSlow(s: string): void {
  const j = JSON.stringify(s);
  room(j.length * 3);
  pos += buf.write(j, pos, 'utf8');
  ascii = false;
}

/** Nothing in `s` that {@link str} would send the slow way. */
function isPrintableAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/** A double as encDouble + JSON.stringify write it: a number, or "NaN" / "Infinity" / "-Infinity". */
function dbl(v: number): void {
  if (Number.isFinite(v)) lit('' + v);
  else if (Number.isNaN(v)) lit('"NaN"');
  else lit(v > 0 ? '"Infinity"' : '"-Infinity"');
}

/** A 64-bit integer field (putU64): a decimal string. */
function u64(v: bigint | number): void {
  byte(0x22);
  lit(typeof v === 'bigint' ? v.toString() : String(Math.trunc(v)));
  byte(0x22);
}

// -------------------------------------------------------------------------------------------- common

function anyValue(v: AnyValue): void {
  if (v === null || v === undefined) return lit('{}');
  switch (typeof v) {
    case 'string':
      lit('{"stringValue":');
      str(v);
      return byte(0x7d);
    case 'boolean':
      return lit(v ? '{"boolValue":true}' : '{"boolValue":false}');
    case 'bigint':
      lit('{"intValue":"');
      lit(v.toString());
      return lit('"}');
    case 'number':
      lit('{"doubleValue":');
      dbl(v);
      return byte(0x7d);
  }
  if (v instanceof Uint8Array) {
    lit('{"bytesValue":"');
    lit(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'));
    return lit('"}');
  }
  if (Array.isArray(v)) {
    if (!v.length) return lit('{"arrayValue":{}}');
    lit('{"arrayValue":{"values":[');
    for (let i = 0; i < v.length; i++) {
      if (i) byte(0x2c);
      anyValue(v[i]!);
    }
    return lit(']}}');
  }
  const kvs = v.kvlist;
  if (!kvs.length) return lit('{"kvlistValue":{}}');
  lit('{"kvlistValue":{"values":');
  keyValues(kvs);
  lit('}}');
}

/** Keys whose bytes are cached (a new key past that empties the cache). */
export const MAX_CACHED_KEYS = 512;
/** Whole key-value pairs cached per key. */
export const MAX_CACHED_VALUES = 32;
/** Longest key-value pair cached, in bytes. */
export const MAX_CACHED_BYTES = 192;

interface CachedKey {
  /** `{"key":"<key>","value":` (or `{"value":` for an empty key). */
  prefix: Uint8Array;
  /** Scalar value -> the whole pair's bytes; null once the values proved not to repeat. */
  values: Map<unknown, Uint8Array> | null;
  hits: number;
  misses: number;
  /** The values were dropped once already for a poor hit rate. */
  cleared: boolean;
}
const keyCache = new Map<string, CachedKey>();

/** Keys longer than this are not cached. */
const MAX_CACHED_KEY_LENGTH = 128;

/** `{"key":"<key>","value":`, or `{"value":` for an empty key (encKeyValue leaves an empty key out). */
function keyPrefix(k: string): void {
  if (k) {
    lit('{"key":');
    str(k);
    lit(',"value":');
  } else lit('{"value":');
}

/**
 * The last key, its cache entry, and the last cached pair written at each position of an attribute list (the
 * first {@link MEMO_POSITIONS}): spans of one SDK carry the same keys in the same order, and their decoded keys
 * are the same string objects, so a compare by identity replaces the cache's two hash lookups. Exact by
 * construction: a pair's bytes depend on its key and value only, and only ASCII pairs from the cache are kept.
 */
const MEMO_POSITIONS = 32;
const memoKey: (string | undefined)[] = new Array<string | undefined>(MEMO_POSITIONS).fill(undefined);
const memoEntry: (CachedKey | undefined)[] = new Array<CachedKey | undefined>(MEMO_POSITIONS).fill(undefined);
const memoValue: unknown[] = new Array<unknown>(MEMO_POSITIONS).fill(undefined);
const memoBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(MEMO_POSITIONS).fill(undefined);

function keyValue(kv: KeyValue, at: number): void {
  const v = kv.value;
  let c: CachedKey | undefined;
  const memo = at < MEMO_POSITIONS;
  if (memo && memoKey[at] === kv.key) {
    c = memoEntry[at]!;
    const bytes = memoBytes[at];
    if (bytes !== undefined && memoValue[at] === v) {
      c.hits++;
      return copy(bytes);
    }
  } else c = keyCache.get(kv.key);
  if (c === undefined) {
    if (kv.key.length > MAX_CACHED_KEY_LENGTH || !isPrintableAscii(kv.key)) {
      keyPrefix(kv.key);
      anyValue(v);
      return byte(0x7d);
    }
    // Full (keys come and go, or keys that vary): start again, so the keys of the current traffic get in.
    if (keyCache.size >= MAX_CACHED_KEYS) keyCache.clear();
    const start = pos;
    keyPrefix(kv.key);
    c = { prefix: new Uint8Array(buf.subarray(start, pos)), values: new Map(), hits: 0, misses: 0, cleared: false };
    pos = start;
    keyCache.set(kv.key, c);
  }
  if (memo && memoKey[at] !== kv.key) {
    memoKey[at] = kv.key;
    memoEntry[at] = c;
    memoBytes[at] = undefined;
  }
  const values = c.values;
  const t = typeof v;
  if (values === null || (t !== 'string' && t !== 'bigint' && t !== 'number' && t !== 'boolean')) {
    copy(c.prefix);
    anyValue(v);
    return byte(0x7d);
  }
  const hit = values.get(v);
  if (hit !== undefined) {
    c.hits++;
    if (memo) {
      memoValue[at] = v;
      memoBytes[at] = hit;
    }
    return copy(hit);
  }
  c.misses++;
  const start = pos;
  const wasAscii = ascii;
  ascii = true;
  copy(c.prefix);
  anyValue(v);
  byte(0x7d);
  // Only ASCII pairs (and keys) are cached, so a cache hit never hides non-ASCII bytes from `ascii`.
  const pairAscii = ascii;
  ascii = wasAscii && pairAscii;
  if (!pairAscii || pos - start > MAX_CACHED_BYTES) return;
  if (values.size < MAX_CACHED_VALUES) {
    const bytes = new Uint8Array(buf.subarray(start, pos));
    values.set(v, bytes);
    if (memo) {
      memoValue[at] = v;
      memoBytes[at] = bytes;
    }
  }
  else if (c.misses > c.hits) {
    // Full of values that do not come back (ids, token counts): try once more, then stop caching them.
    if (c.cleared) c.values = null;
    else {
      values.clear();
      c.cleared = true;
      c.hits = c.misses = 0;
    }
  }
}

function keyValues(list: readonly KeyValue[]): void {
  byte(0x5b);
  for (let i = 0; i < list.length; i++) {
    if (i) byte(0x2c);
    keyValue(list[i]!, i);
  }
  byte(0x5d);
}

function resource(r: Resource): void {
  byte(0x7b);
  if (r.attributes.length) {
    lit('"attributes":');
    keyValues(r.attributes);
  }
  if (r.droppedAttributesCount !== 0) {
    key('"droppedAttributesCount":');
    dbl(r.droppedAttributesCount);
  }
  byte(0x7d);
}

function scope(sc: InstrumentationScope): void {
  byte(0x7b);
  if (sc.name) {
    lit('"name":');
    str(sc.name);
  }
  if (sc.version) {
    key('"version":');
    str(sc.version);
  }
  if (sc.attributes.length) {
    key('"attributes":');
    keyValues(sc.attributes);
  }
  if (sc.droppedAttributesCount !== 0) {
    key('"droppedAttributesCount":');
    dbl(sc.droppedAttributesCount);
  }
  byte(0x7d);
}

/** `,"<name>":[...]` for a non-empty list, each item written by `one`. */
function list<T>(nameColon: string, items: readonly T[], one: (item: T) => void): void {
  key(nameColon);
  byte(0x5b);
  for (let i = 0; i < items.length; i++) {
    if (i) byte(0x2c);
    one(items[i]!);
  }
  byte(0x5d);
}

// ------------------------------------------------------------------------------------------------ traces

function resourceSpans(rs: ResourceSpans): void {
  lit('{"resource":');
  resource(rs.resource);
  if (rs.scopeSpans.length) list('"scopeSpans":', rs.scopeSpans, scopeSpans);
  if (rs.schemaUrl) {
    lit(',"schemaUrl":');
    str(rs.schemaUrl);
  }
  byte(0x7d);
}

function scopeSpans(ss: ScopeSpans): void {
  lit('{"scope":');
  scope(ss.scope);
  const spans = ss.spans;
  if (spans.length) {
    lit(',"spans":[');
    for (let i = 0; i < spans.length; i++) {
      if (i) byte(0x2c);
      span(spans[i]!);
    }
    byte(0x5d);
  }
  if (ss.schemaUrl) {
    lit(',"schemaUrl":');
    str(ss.schemaUrl);
  }
  byte(0x7d);
}

function span(s: Span): void {
  byte(0x7b);
  if (s.traceId) {
    lit('"traceId":');
    str(s.traceId);
  }
  if (s.spanId) {
    key('"spanId":');
    str(s.spanId);
  }
  if (s.traceState) {
    key('"traceState":');
    str(s.traceState);
  }
  if (s.parentSpanId) {
    key('"parentSpanId":');
    str(s.parentSpanId);
  }
  if (s.flags !== 0) {
    key('"flags":');
    dbl(s.flags);
  }
  if (s.name) {
    key('"name":');
    str(s.name);
  }
  if (s.kind !== 0) {
    key('"kind":');
    dbl(s.kind);
  }
  if (s.startTimeUnixNano) {
    key('"startTimeUnixNano":');
    u64(s.startTimeUnixNano);
  }
  if (s.endTimeUnixNano) {
    key('"endTimeUnixNano":');
    u64(s.endTimeUnixNano);
  }
  if (s.attributes.length) {
    key('"attributes":');
    keyValues(s.attributes);
  }
  if (s.droppedAttributesCount !== 0) {
    key('"droppedAttributesCount":');
    dbl(s.droppedAttributesCount);
  }
  if (s.events.length) list('"events":', s.events, event);
  if (s.droppedEventsCount !== 0) {
    key('"droppedEventsCount":');
    dbl(s.droppedEventsCount);
  }
  if (s.links.length) list('"links":', s.links, link);
  if (s.droppedLinksCount !== 0) {
    key('"droppedLinksCount":');
    dbl(s.droppedLinksCount);
  }
  const st = s.status;
  key('"status":{');
  if (st.message) {
    lit('"message":');
    str(st.message);
  }
  if (st.code !== 0) {
    key('"code":');
    dbl(st.code);
  }
  lit('}}');
}

function event(e: SpanEvent): void {
  byte(0x7b);
  if (e.timeUnixNano) {
    lit('"timeUnixNano":');
    u64(e.timeUnixNano);
  }
  if (e.name) {
    key('"name":');
    str(e.name);
  }
  if (e.attributes.length) {
    key('"attributes":');
    keyValues(e.attributes);
  }
  if (e.droppedAttributesCount !== 0) {
    key('"droppedAttributesCount":');
    dbl(e.droppedAttributesCount);
  }
  byte(0x7d);
}

function link(l: SpanLink): void {
  byte(0x7b);
  if (l.traceId) {
    lit('"traceId":');
    str(l.traceId);
  }
  if (l.spanId) {
    key('"spanId":');
    str(l.spanId);
  }
  if (l.traceState) {
    key('"traceState":');
    str(l.traceState);
  }
  if (l.attributes.length) {
    key('"attributes":');
    keyValues(l.attributes);
  }
  if (l.droppedAttributesCount !== 0) {
    key('"droppedAttributesCount":');
    dbl(l.droppedAttributesCount);
  }
  if (l.flags !== 0) {
    key('"flags":');
    dbl(l.flags);
  }
  byte(0x7d);
}

// ----------------------------------------------------------------------------------------------- metrics

function resourceMetrics(rm: ResourceMetrics): void {
  lit('{"resource":');
  resource(rm.resource);
  if (rm.scopeMetrics.length) list('"scopeMetrics":', rm.scopeMetrics, scopeMetrics);
  if (rm.schemaUrl) {
    lit(',"schemaUrl":');
    str(rm.schemaUrl);
  }
  byte(0x7d);
}

function scopeMetrics(sm: ScopeMetrics): void {
  lit('{"scope":');
  scope(sm.scope);
  if (sm.metrics.length) list('"metrics":', sm.metrics, metric);
  if (sm.schemaUrl) {
    lit(',"schemaUrl":');
    str(sm.schemaUrl);
  }
  byte(0x7d);
}

function metric(m: Metric): void {
  byte(0x7b);
  if (m.name) {
    lit('"name":');
    str(m.name);
  }
  if (m.description) {
    key('"description":');
    str(m.description);
  }
  if (m.unit) {
    key('"unit":');
    str(m.unit);
  }
  const d = m.data;
  if (d) {
    sep();
    str((d as { type: string }).type);
    lit(':{');
    switch (d.type) {
      case 'gauge':
        if (d.dataPoints.length) list('"dataPoints":', d.dataPoints, numberPoint);
        break;
      case 'sum':
        if (d.dataPoints.length) list('"dataPoints":', d.dataPoints, numberPoint);
        if (d.aggregationTemporality !== 0) {
          key('"aggregationTemporality":');
          dbl(d.aggregationTemporality);
        }
        if (d.isMonotonic) key('"isMonotonic":true');
        break;
      case 'histogram':
        if (d.dataPoints.length) list('"dataPoints":', d.dataPoints, histogramPoint);
        if (d.aggregationTemporality !== 0) {
          key('"aggregationTemporality":');
          dbl(d.aggregationTemporality);
        }
        break;
      case 'exponentialHistogram':
        if (d.dataPoints.length) list('"dataPoints":', d.dataPoints, expHistogramPoint);
        if (d.aggregationTemporality !== 0) {
          key('"aggregationTemporality":');
          dbl(d.aggregationTemporality);
        }
        break;
      case 'summary':
        if (d.dataPoints.length) list('"dataPoints":', d.dataPoints, summaryPoint);
        break;
    }
    byte(0x7d);
  }
  if (m.metadata.length) {
    key('"metadata":');
    keyValues(m.metadata);
  }
  byte(0x7d);
}

/** `"asInt":"<decimal>"` or `"asDouble":<double>` (the point's value oneof), after a comma if needed. */
function pointValue(v: number | bigint): void {
  if (typeof v === 'bigint') {
    key('"asInt":"');
    lit(v.toString());
    byte(0x22);
  } else {
    key('"asDouble":');
    dbl(v);
  }
}

function exemplar(e: Exemplar): void {
  byte(0x7b);
  if (e.filteredAttributes.length) {
    lit('"filteredAttributes":');
    keyValues(e.filteredAttributes);
  }
  if (e.timeUnixNano) {
    key('"timeUnixNano":');
    u64(e.timeUnixNano);
  }
  pointValue(e.value);
  if (e.spanId) {
    lit(',"spanId":');
    str(e.spanId);
  }
  if (e.traceId) {
    lit(',"traceId":');
    str(e.traceId);
  }
  byte(0x7d);
}

/** `{` and attributes, startTimeUnixNano, timeUnixNano: the head every point kind shares. */
function pointHead(attributes: readonly KeyValue[], start: bigint, time: bigint): void {
  byte(0x7b);
  if (attributes.length) {
    lit('"attributes":');
    keyValues(attributes);
  }
  if (start) {
    key('"startTimeUnixNano":');
    u64(start);
  }
  if (time) {
    key('"timeUnixNano":');
    u64(time);
  }
}

function numberPoint(p: NumberDataPoint): void {
  pointHead(p.attributes, p.startTimeUnixNano, p.timeUnixNano);
  pointValue(p.value);
  if (p.exemplars.length) list('"exemplars":', p.exemplars, exemplar);
  if (p.flags !== 0) {
    lit(',"flags":');
    dbl(p.flags);
  }
  byte(0x7d);
}

/** A list of counts as JSON strings (`["1","0"]`), as `String(c)` writes each. */
function counts(nameColon: string, items: readonly number[]): void {
  key(nameColon);
  lit('["' + String(items[0]));
  for (let i = 1; i < items.length; i++) lit('","' + String(items[i]));
  lit('"]');
}

function histogramPoint(p: HistogramDataPoint): void {
  pointHead(p.attributes, p.startTimeUnixNano, p.timeUnixNano);
  if (p.count) {
    key('"count":');
    u64(p.count);
  }
  if (p.sum !== undefined) {
    key('"sum":');
    dbl(p.sum);
  }
  if (p.bucketCounts.length) counts('"bucketCounts":', p.bucketCounts);
  if (p.explicitBounds.length) list('"explicitBounds":', p.explicitBounds, dbl);
  if (p.exemplars.length) list('"exemplars":', p.exemplars, exemplar);
  if (p.flags !== 0) {
    key('"flags":');
    dbl(p.flags);
  }
  if (p.min !== undefined) {
    key('"min":');
    dbl(p.min);
  }
  if (p.max !== undefined) {
    key('"max":');
    dbl(p.max);
  }
  byte(0x7d);
}

function buckets(b: ExponentialHistogramBuckets): void {
  byte(0x7b);
  if (b.offset !== 0) {
    lit('"offset":');
    dbl(b.offset);
  }
  if (b.bucketCounts.length) counts('"bucketCounts":', b.bucketCounts);
  byte(0x7d);
}

function expHistogramPoint(p: ExponentialHistogramDataPoint): void {
  pointHead(p.attributes, p.startTimeUnixNano, p.timeUnixNano);
  if (p.count) {
    key('"count":');
    u64(p.count);
  }
  if (p.sum !== undefined) {
    key('"sum":');
    dbl(p.sum);
  }
  if (p.scale !== 0) {
    key('"scale":');
    dbl(p.scale);
  }
  if (p.zeroCount) {
    key('"zeroCount":');
    u64(p.zeroCount);
  }
  if (p.positive.offset !== 0 || p.positive.bucketCounts.length) {
    key('"positive":');
    buckets(p.positive);
  }
  if (p.negative.offset !== 0 || p.negative.bucketCounts.length) {
    key('"negative":');
    buckets(p.negative);
  }
  if (p.flags !== 0) {
    key('"flags":');
    dbl(p.flags);
  }
  if (p.exemplars.length) list('"exemplars":', p.exemplars, exemplar);
  if (p.min !== undefined) {
    key('"min":');
    dbl(p.min);
  }
  if (p.max !== undefined) {
    key('"max":');
    dbl(p.max);
  }
  if (p.zeroThreshold !== 0) {
    key('"zeroThreshold":');
    dbl(p.zeroThreshold);
  }
  byte(0x7d);
}

function summaryPoint(p: SummaryDataPoint): void {
  pointHead(p.attributes, p.startTimeUnixNano, p.timeUnixNano);
  if (p.count) {
    key('"count":');
    u64(p.count);
  }
  if (p.sum !== 0) {
    key('"sum":');
    dbl(p.sum);
  }
  const qs = p.quantileValues;
  if (qs.length) {
    key('"quantileValues":[');
    for (let i = 0; i < qs.length; i++) {
      const q = qs[i]!;
      lit(i ? ',{' : '{');
      if (q.quantile !== 0) {
        lit('"quantile":');
        dbl(q.quantile);
      }
      if (q.value !== 0) {
        key('"value":');
        dbl(q.value);
      }
      byte(0x7d);
    }
    byte(0x5d);
  }
  if (p.flags !== 0) {
    key('"flags":');
    dbl(p.flags);
  }
  byte(0x7d);
}

// -------------------------------------------------------------------------------------------------- logs

function resourceLogs(rl: ResourceLogs): void {
  lit('{"resource":');
  resource(rl.resource);
  if (rl.scopeLogs.length) list('"scopeLogs":', rl.scopeLogs, scopeLogs);
  if (rl.schemaUrl) {
    lit(',"schemaUrl":');
    str(rl.schemaUrl);
  }
  byte(0x7d);
}

function scopeLogs(sl: ScopeLogs): void {
  lit('{"scope":');
  scope(sl.scope);
  if (sl.logRecords.length) list('"logRecords":', sl.logRecords, logRecord);
  if (sl.schemaUrl) {
    lit(',"schemaUrl":');
    str(sl.schemaUrl);
  }
  byte(0x7d);
}

function logRecord(r: LogRecord): void {
  byte(0x7b);
  if (r.timeUnixNano) {
    lit('"timeUnixNano":');
    u64(r.timeUnixNano);
  }
  if (r.observedTimeUnixNano) {
    key('"observedTimeUnixNano":');
    u64(r.observedTimeUnixNano);
  }
  if (r.severityNumber !== 0) {
    key('"severityNumber":');
    dbl(r.severityNumber);
  }
  if (r.severityText) {
    key('"severityText":');
    str(r.severityText);
  }
  if (r.body !== null && r.body !== undefined) {
    key('"body":');
    anyValue(r.body);
  }
  if (r.attributes.length) {
    key('"attributes":');
    keyValues(r.attributes);
  }
  if (r.droppedAttributesCount !== 0) {
    key('"droppedAttributesCount":');
    dbl(r.droppedAttributesCount);
  }
  if (r.flags !== 0) {
    key('"flags":');
    dbl(r.flags);
  }
  if (r.traceId) {
    key('"traceId":');
    str(r.traceId);
  }
  if (r.spanId) {
    key('"spanId":');
    str(r.spanId);
  }
  if (r.eventName) {
    key('"eventName":');
    str(r.eventName);
  }
  byte(0x7d);
}
