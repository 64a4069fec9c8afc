import { ErrorCodes, VigilError } from '../errors.ts';
import { MAX_ANY_VALUE_DEPTH, RequestItemsError } from '../limits.ts';
import { otlpJsonText } from './json-text.ts';
import { INT64_TEXT } from '../attributes.ts';
/**
 * OTLP/JSON <-> vigil's model (src/model.ts).
 *
 * Encoding follows the protobuf JSON mapping as OTLP/JSON and the Collector's file exporter write it:
 * lowerCamelCase keys, trace/span ids as lowercase hex, 64-bit integers as decimal strings, enums as
 * integers, bytes as base64, and fields holding their default value omitted (oneof members and
 * `optional` fields with presence, such as a histogram's `sum`/`min`/`max`, are written when set).
 *
 * Decoding accepts what the spec allows: 64-bit integers as strings or numbers, doubles as numbers or the
 * strings "NaN"/"Infinity"/"-Infinity", hex ids in either case, and ignores unknown fields. The first
 * problem found throws an {@link OtlpDecodeError} whose message starts with the JSON path of the value
 * (`resourceSpans[0].scopeSpans[1].spans[3].traceId: expected 32 hex characters`).
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
  MetricData,
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
  ValueAtQuantile,
} from '../model.ts';

/** The three OTLP signals that have an export request. */
export type OtlpSignal = 'traces' | 'metrics' | 'logs';

/** A malformed OTLP payload (JSON or protobuf). `path` says where, the message says what. */
export class OtlpDecodeError extends VigilError {
  /** Where the problem is: a JSON path (`resourceSpans[0].scopeSpans[1]`) or a protobuf field path. */
  readonly path: string;
  constructor(path: string, problem: string) {
    super(ErrorCodes.OTLP_DECODE, path ? `${path}: ${problem}` : problem);
    this.name = 'OtlpDecodeError';
    this.path = path;
  }
}

type Json = Record<string, unknown>;

// ================================================================================================ encode

/** The OTLP/JSON export request for one signal of `batch`, as a plain JSON-able object. */
export function toOtlpJson(batch: Batch, signal: OtlpSignal): Record<string, unknown> {
  switch (signal) {
    case 'traces':
      return { resourceSpans: (batch.resourceSpans ?? []).map(encResourceSpans) };
    case 'metrics':
      return { resourceMetrics: (batch.resourceMetrics ?? []).map(encResourceMetrics) };
    case 'logs':
      return { resourceLogs: (batch.resourceLogs ?? []).map(encResourceLogs) };
  }
}

/**
 * The JSON export request as text (what an HTTP body or a file line holds): character for character
 * `JSON.stringify(toOtlpJson(batch, signal))`, written straight from the model without the object tree
 * (src/otlp/json-text.ts, whose `otlpJsonBytes` gives the UTF-8 bytes without the string: about 2x less
 * CPU per span than the object tree and JSON.stringify, see bench/file.ts).
 */
export function stringifyOtlpJson(batch: Batch, signal: OtlpSignal): string {
  return otlpJsonText(batch, signal);
}

function encDouble(v: number): number | string {
  if (Number.isFinite(v)) return v;
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? 'Infinity' : '-Infinity';
}

/**
 * An {@link AnyValue} in OTLP/JSON form (`{stringValue}`, `{intValue: "<decimal>"}`, `{doubleValue}`,
 * `{bytesValue: <base64>}`, `{arrayValue}`, `{kvlistValue}`; `{}` for null), as the OTLP/HTTP JSON encoding says.
 */
export function encAnyValue(v: AnyValue): Json {
  if (v === null || v === undefined) return {};
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'bigint':
      return { intValue: v.toString() };
    case 'number':
      return { doubleValue: encDouble(v) };
  }
  if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return { arrayValue: v.length ? { values: v.map(encAnyValue) } : {} };
  return { kvlistValue: v.kvlist.length ? { values: v.kvlist.map(encKeyValue) } : {} };
}

function encKeyValue(kv: KeyValue): Json {
  const o: Json = {};
  if (kv.key) o.key = kv.key;
  o.value = encAnyValue(kv.value);
  return o;
}

function putAttrs(o: Json, key: string, attrs: readonly KeyValue[]): void {
  if (attrs.length) o[key] = attrs.map(encKeyValue);
}
function putStr(o: Json, key: string, v: string): void {
  if (v) o[key] = v;
}
function putNum(o: Json, key: string, v: number): void {
  if (v !== 0) o[key] = encDouble(v);
}
function putU64(o: Json, key: string, v: bigint | number): void {
  if (v) o[key] = typeof v === 'bigint' ? v.toString() : String(Math.trunc(v));
}

function encResource(r: Resource): Json {
  const o: Json = {};
  putAttrs(o, 'attributes', r.attributes);
  putNum(o, 'droppedAttributesCount', r.droppedAttributesCount);
  return o;
}

function encScope(s: InstrumentationScope): Json {
  const o: Json = {};
  putStr(o, 'name', s.name);
  putStr(o, 'version', s.version);
  putAttrs(o, 'attributes', s.attributes);
  putNum(o, 'droppedAttributesCount', s.droppedAttributesCount);
  return o;
}

function encResourceSpans(rs: ResourceSpans): Json {
  const o: Json = { resource: encResource(rs.resource) };
  if (rs.scopeSpans.length) o.scopeSpans = rs.scopeSpans.map(encScopeSpans);
  putStr(o, 'schemaUrl', rs.schemaUrl);
  return o;
}

function encScopeSpans(ss: ScopeSpans): Json {
  const o: Json = { scope: encScope(ss.scope) };
  if (ss.spans.length) o.spans = ss.spans.map(encSpan);
  putStr(o, 'schemaUrl', ss.schemaUrl);
  return o;
}

function encSpan(s: Span): Json {
  const o: Json = {};
  putStr(o, 'traceId', s.traceId);
  putStr(o, 'spanId', s.spanId);
  putStr(o, 'traceState', s.traceState);
  putStr(o, 'parentSpanId', s.parentSpanId);
  putNum(o, 'flags', s.flags);
  putStr(o, 'name', s.name);
  putNum(o, 'kind', s.kind);
  putU64(o, 'startTimeUnixNano', s.startTimeUnixNano);
  putU64(o, 'endTimeUnixNano', s.endTimeUnixNano);
  putAttrs(o, 'attributes', s.attributes);
  putNum(o, 'droppedAttributesCount', s.droppedAttributesCount);
  if (s.events.length) o.events = s.events.map(encEvent);
  putNum(o, 'droppedEventsCount', s.droppedEventsCount);
  if (s.links.length) o.links = s.links.map(encLink);
  putNum(o, 'droppedLinksCount', s.droppedLinksCount);
  const st: Json = {};
  putStr(st, 'message', s.status.message);
  putNum(st, 'code', s.status.code);
  o.status = st;
  return o;
}

function encEvent(e: SpanEvent): Json {
  const o: Json = {};
  putU64(o, 'timeUnixNano', e.timeUnixNano);
  putStr(o, 'name', e.name);
  putAttrs(o, 'attributes', e.attributes);
  putNum(o, 'droppedAttributesCount', e.droppedAttributesCount);
  return o;
}

function encLink(l: SpanLink): Json {
  const o: Json = {};
  putStr(o, 'traceId', l.traceId);
  putStr(o, 'spanId', l.spanId);
  putStr(o, 'traceState', l.traceState);
  putAttrs(o, 'attributes', l.attributes);
  putNum(o, 'droppedAttributesCount', l.droppedAttributesCount);
  putNum(o, 'flags', l.flags);
  return o;
}

function encResourceMetrics(rm: ResourceMetrics): Json {
  const o: Json = { resource: encResource(rm.resource) };
  if (rm.scopeMetrics.length) o.scopeMetrics = rm.scopeMetrics.map(encScopeMetrics);
  putStr(o, 'schemaUrl', rm.schemaUrl);
  return o;
}

function encScopeMetrics(sm: ScopeMetrics): Json {
  const o: Json = { scope: encScope(sm.scope) };
  if (sm.metrics.length) o.metrics = sm.metrics.map(encMetric);
  putStr(o, 'schemaUrl', sm.schemaUrl);
  return o;
}

function encMetric(m: Metric): Json {
  const o: Json = {};
  putStr(o, 'name', m.name);
  putStr(o, 'description', m.description);
  putStr(o, 'unit', m.unit);
  const d = m.data;
  if (d) {
    const body: Json = {};
    switch (d.type) {
      case 'gauge':
        if (d.dataPoints.length) body.dataPoints = d.dataPoints.map(encNumberPoint);
        break;
      case 'sum':
        if (d.dataPoints.length) body.dataPoints = d.dataPoints.map(encNumberPoint);
        putNum(body, 'aggregationTemporality', d.aggregationTemporality);
        if (d.isMonotonic) body.isMonotonic = true;
        break;
      case 'histogram':
        if (d.dataPoints.length) body.dataPoints = d.dataPoints.map(encHistogramPoint);
        putNum(body, 'aggregationTemporality', d.aggregationTemporality);
        break;
      case 'exponentialHistogram':
        if (d.dataPoints.length) body.dataPoints = d.dataPoints.map(encExpHistogramPoint);
        putNum(body, 'aggregationTemporality', d.aggregationTemporality);
        break;
      case 'summary':
        if (d.dataPoints.length) body.dataPoints = d.dataPoints.map(encSummaryPoint);
        break;
    }
    o[d.type] = body;
  }
  putAttrs(o, 'metadata', m.metadata);
  return o;
}

function putValue(o: Json, v: number | bigint): void {
  if (typeof v === 'bigint') o.asInt = v.toString();
  else o.asDouble = encDouble(v);
}

function encExemplar(e: Exemplar): Json {
  const o: Json = {};
  putAttrs(o, 'filteredAttributes', e.filteredAttributes);
  putU64(o, 'timeUnixNano', e.timeUnixNano);
  putValue(o, e.value);
  putStr(o, 'spanId', e.spanId);
  putStr(o, 'traceId', e.traceId);
  return o;
}

function encNumberPoint(p: NumberDataPoint): Json {
  const o: Json = {};
  putAttrs(o, 'attributes', p.attributes);
  putU64(o, 'startTimeUnixNano', p.startTimeUnixNano);
  putU64(o, 'timeUnixNano', p.timeUnixNano);
  putValue(o, p.value);
  if (p.exemplars.length) o.exemplars = p.exemplars.map(encExemplar);
  putNum(o, 'flags', p.flags);
  return o;
}

function encHistogramPoint(p: HistogramDataPoint): Json {
  const o: Json = {};
  putAttrs(o, 'attributes', p.attributes);
  putU64(o, 'startTimeUnixNano', p.startTimeUnixNano);
  putU64(o, 'timeUnixNano', p.timeUnixNano);
  putU64(o, 'count', p.count);
  if (p.sum !== undefined) o.sum = encDouble(p.sum);
  if (p.bucketCounts.length) o.bucketCounts = p.bucketCounts.map((c) => String(c));
  if (p.explicitBounds.length) o.explicitBounds = p.explicitBounds.map(encDouble);
  if (p.exemplars.length) o.exemplars = p.exemplars.map(encExemplar);
  putNum(o, 'flags', p.flags);
  if (p.min !== undefined) o.min = encDouble(p.min);
  if (p.max !== undefined) o.max = encDouble(p.max);
  return o;
}

function encBuckets(b: ExponentialHistogramBuckets): Json {
  const o: Json = {};
  putNum(o, 'offset', b.offset);
  if (b.bucketCounts.length) o.bucketCounts = b.bucketCounts.map((c) => String(c));
  return o;
}

function encExpHistogramPoint(p: ExponentialHistogramDataPoint): Json {
  const o: Json = {};
  putAttrs(o, 'attributes', p.attributes);
  putU64(o, 'startTimeUnixNano', p.startTimeUnixNano);
  putU64(o, 'timeUnixNano', p.timeUnixNano);
  putU64(o, 'count', p.count);
  if (p.sum !== undefined) o.sum = encDouble(p.sum);
  putNum(o, 'scale', p.scale);
  putU64(o, 'zeroCount', p.zeroCount);
  if (p.positive.offset !== 0 || p.positive.bucketCounts.length) o.positive = encBuckets(p.positive);
  if (p.negative.offset !== 0 || p.negative.bucketCounts.length) o.negative = encBuckets(p.negative);
  putNum(o, 'flags', p.flags);
  if (p.exemplars.length) o.exemplars = p.exemplars.map(encExemplar);
  if (p.min !== undefined) o.min = encDouble(p.min);
  if (p.max !== undefined) o.max = encDouble(p.max);
  putNum(o, 'zeroThreshold', p.zeroThreshold);
  return o;
}

function encQuantile(q: ValueAtQuantile): Json {
  const o: Json = {};
  putNum(o, 'quantile', q.quantile);
  putNum(o, 'value', q.value);
  return o;
}

function encSummaryPoint(p: SummaryDataPoint): Json {
  const o: Json = {};
  putAttrs(o, 'attributes', p.attributes);
  putU64(o, 'startTimeUnixNano', p.startTimeUnixNano);
  putU64(o, 'timeUnixNano', p.timeUnixNano);
  putU64(o, 'count', p.count);
  putNum(o, 'sum', p.sum);
  if (p.quantileValues.length) o.quantileValues = p.quantileValues.map(encQuantile);
  putNum(o, 'flags', p.flags);
  return o;
}

function encResourceLogs(rl: ResourceLogs): Json {
  const o: Json = { resource: encResource(rl.resource) };
  if (rl.scopeLogs.length) o.scopeLogs = rl.scopeLogs.map(encScopeLogs);
  putStr(o, 'schemaUrl', rl.schemaUrl);
  return o;
}

function encScopeLogs(sl: ScopeLogs): Json {
  const o: Json = { scope: encScope(sl.scope) };
  if (sl.logRecords.length) o.logRecords = sl.logRecords.map(encLogRecord);
  putStr(o, 'schemaUrl', sl.schemaUrl);
  return o;
}

function encLogRecord(r: LogRecord): Json {
  const o: Json = {};
  putU64(o, 'timeUnixNano', r.timeUnixNano);
  putU64(o, 'observedTimeUnixNano', r.observedTimeUnixNano);
  putNum(o, 'severityNumber', r.severityNumber);
  putStr(o, 'severityText', r.severityText);
  if (r.body !== null && r.body !== undefined) o.body = encAnyValue(r.body);
  putAttrs(o, 'attributes', r.attributes);
  putNum(o, 'droppedAttributesCount', r.droppedAttributesCount);
  putNum(o, 'flags', r.flags);
  putStr(o, 'traceId', r.traceId);
  putStr(o, 'spanId', r.spanId);
  putStr(o, 'eventName', r.eventName);
  return o;
}

// ================================================================================================ decode

/**
 * The path to the value being decoded, kept as a stack of keys and indices so that the happy path builds
 * no strings; the text is only made when an error is thrown.
 */
class PathStack {
  private readonly parts: (string | number)[] = [];
  /** AnyValues being decoded inside one another (arrays and key-value lists), against MAX_ANY_VALUE_DEPTH. */
  anyDepth = 0;
  push(p: string | number): void {
    this.parts.push(p);
  }
  pop(): void {
    this.parts.pop();
  }
  fail(problem: string, last?: string | number): never {
    let s = '';
    const all = last === undefined ? this.parts : [...this.parts, last];
    for (const p of all) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
    throw new OtlpDecodeError(s, problem);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}...` : v}"`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Parses an OTLP/JSON export request (already JSON.parse'd) of `signal` into a batch. */
export function fromOtlpJson(signal: OtlpSignal, parsed: unknown): Batch {
  const p = new PathStack();
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) p.fail(`expected an export request object, got ${describe(parsed)}`);
  const o = parsed as Json;
  switch (signal) {
    case 'traces':
      return { resourceSpans: decList(o, 'resourceSpans', p, decResourceSpans) };
    case 'metrics':
      return { resourceMetrics: decList(o, 'resourceMetrics', p, decResourceMetrics) };
    case 'logs':
      return { resourceLogs: decList(o, 'resourceLogs', p, decResourceLogs) };
  }
}

/**
 * Parses the text of an OTLP/JSON export request; invalid JSON is an {@link OtlpDecodeError} too. A byte order mark
 * before the text is ignored, as RFC 8259 section 8.1 allows a parser to (an editor or a Windows tool may add one).
 * With `maxItems`, a text holding more objects that are array elements (OTLP/JSON's repeated messages: the items
 * src/limits.ts `DEFAULT_MAX_REQUEST_ITEMS` counts) is refused with {@link RequestItemsError} before it is parsed.
 */
export function parseOtlpJson(signal: OtlpSignal, text: string, maxItems?: number): Batch {
  // an object that is an array element takes 3 characters at least (`{}` and a `,` or `[`): a text shorter than 3
  // per item allowed cannot hold too many, and is not scanned for them
  if (maxItems !== undefined && text.length > 3 * maxItems && jsonArrayObjects(text, maxItems) > maxItems) throw new RequestItemsError(maxItems);
  let parsed: unknown;
  try {
    parsed = JSON.parse(quoteLongIntegers(withoutBom(text)));
  } catch (e) {
    throw new OtlpDecodeError('', `invalid JSON: ${(e as Error).message}`);
  }
  return fromOtlpJson(signal, parsed);
}

/** The index of the `"` that closes the JSON string opening at `open` (the text's length when none does). */
function closingQuote(text: string, open: number): number {
  const len = text.length;
  let i = open + 1;
  for (; i < len; i++) {
    const d = text.charCodeAt(i);
    if (d === 0x5c /* \ */) i++;
    else if (d === 0x22) break;
  }
  return i;
}

/** A number of 16 digits or more where a JSON value starts: the cheap test before {@link quoteLongIntegers} scans. */
const LONG_INTEGER_HINT = /[:,[]\s*-?\d{16}/;

/**
 * `text` with every integer number of 16 digits or more (outside strings) written as a decimal string, so that
 * JSON.parse keeps all its digits: OTLP/JSON lets a 64-bit integer (a timestamp in nanoseconds, an `intValue`,
 * a count) be a JSON number, and a JS number holds integers exactly only up to 2^53 (16 digits), so
 * `1700000000000000001` would otherwise become `1700000000000000000`. Every OTLP field that can hold such a
 * number takes the decimal string form too (a double field reads it as the same number JSON.parse would
 * make). Numbers with a fraction or an exponent are left as they are. Returns `text` itself when there is none.
 * With `mark` (JSON string content, e.g. an escape), each such string starts with it, for a reviver to find.
 */
export function quoteLongIntegers(text: string, mark = ''): string {
  if (!LONG_INTEGER_HINT.test(text)) return text;
  let out = '';
  let copied = 0;
  const len = text.length;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = closingQuote(text, i);
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      let j = c === 0x2d ? i + 1 : i;
      const firstDigit = j;
      while (j < len && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++;
      const next = j < len ? text.charCodeAt(j) : 0;
      if (next === 0x2e /* . */ || next === 0x65 /* e */ || next === 0x45 /* E */) {
        // a fraction or an exponent: a double, left to JSON.parse
        while (j < len && /[0-9.eE+-]/.test(text[j]!)) j++;
      } else if (j - firstDigit >= 16 && text.charCodeAt(firstDigit) !== 0x30 /* a leading 0: invalid, left to JSON.parse */) {
        out += `${text.slice(copied, start)}"${mark}${text.slice(start, j)}"`;
        copied = j;
      }
      i = j - 1;
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * How many objects in a JSON text are elements of an array (a `{` after a `[` or a `,`, outside strings),
 * counted up to `max + 1`: one pass over the characters, nothing built. Invalid JSON is counted as far as
 * it goes (JSON.parse refuses it next).
 */
export function jsonArrayObjects(text: string, max: number): number {
  let n = 0;
  let prev = 0; // the last character outside strings and white space
  const len = text.length;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = closingQuote(text, i);
      prev = 0x22;
    } else if (c === 0x7b /* { */) {
      if ((prev === 0x5b /* [ */ || prev === 0x2c) /* , */ && ++n > max) return n;
      prev = c;
    } else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) prev = c;
  }
  return n;
}

/** `text` without a leading byte order mark (U+FEFF), which JSON.parse would refuse as an unexpected token. */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function decObj(v: unknown, p: PathStack): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) p.fail(`expected an object, got ${describe(v)}`);
  return v as Json;
}

function decList<T>(o: Json, key: string, p: PathStack, item: (v: unknown, p: PathStack) => T): T[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  p.push(key);
  if (!Array.isArray(v)) p.fail(`expected an array, got ${describe(v)}`);
  const out: T[] = new Array<T>(v.length);
  for (let i = 0; i < v.length; i++) {
    p.push(i);
    out[i] = item(v[i], p);
    p.pop();
  }
  p.pop();
  return out;
}

function decString(o: Json, key: string, p: PathStack): string {
  const v = o[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') p.fail(`expected a string, got ${describe(v)}`, key);
  return v;
}

function decBool(o: Json, key: string, p: PathStack): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') p.fail(`expected true or false, got ${describe(v)}`, key);
  return v;
}


/** A 32-bit integer field (uint32, int32, sint32, fixed32, enum): a JSON number or a decimal string. */
function decInt32(o: Json, key: string, p: PathStack, min: number, max: number): number {
  const v = o[key];
  if (v === undefined || v === null) return 0;
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && INT64_TEXT.test(v)) n = Number(v);
  else return p.fail(`expected an integer, got ${describe(v)}`, key);
  if (!Number.isInteger(n) || n < min || n > max) p.fail(`expected an integer in [${min}, ${max}], got ${describe(v)}`, key);
  return n;
}
const U32 = 0xffffffff;
const I32 = 0x7fffffff;

/**
 * An enum field: an integer, as OTLP/JSON says senders MUST write it, or the value's name, which the
 * protobuf JSON mapping allows and which hand-written JSON uses ("SPAN_KIND_SERVER").
 */
function decEnum(o: Json, key: string, p: PathStack, names: readonly string[]): number {
  const v = o[key];
  if (typeof v === 'string' && !INT64_TEXT.test(v)) {
    const i = names.indexOf(v);
    if (i < 0) return p.fail(`expected an integer or one of ${names.join(', ')}, got ${describe(v)}`, key);
    return i;
  }
  return decInt32(o, key, p, 0, I32);
}
const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const TEMPORALITIES = ['AGGREGATION_TEMPORALITY_UNSPECIFIED', 'AGGREGATION_TEMPORALITY_DELTA', 'AGGREGATION_TEMPORALITY_CUMULATIVE'];
const SEVERITIES = ['SEVERITY_NUMBER_UNSPECIFIED'].concat(
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].map((l) => [`SEVERITY_NUMBER_${l}`, `SEVERITY_NUMBER_${l}2`, `SEVERITY_NUMBER_${l}3`, `SEVERITY_NUMBER_${l}4`]),
);

function decUint32(o: Json, key: string, p: PathStack): number {
  return decInt32(o, key, p, 0, U32);
}

/** A 64-bit integer (decimal string or a JSON number) as a bigint. */
function toInt64(v: unknown, p: PathStack, key: string | number, unsigned: boolean): bigint {
  let b: bigint;
  if (typeof v === 'string' && INT64_TEXT.test(v)) b = BigInt(v);
  else if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
  else return p.fail(`expected a 64-bit integer (a decimal string or a number), got ${describe(v)}`, key);
  if (unsigned ? b < 0n || b > 0xffffffffffffffffn : b < -0x8000000000000000n || b > 0x7fffffffffffffffn)
    p.fail(`${unsigned ? 'unsigned ' : ''}64-bit integer out of range: ${describe(v)}`, key);
  return b;
}

function decU64(o: Json, key: string, p: PathStack): bigint {
  const v = o[key];
  if (v === undefined || v === null) return 0n;
  return toInt64(v, p, key, true);
}

/** A fixed64 count read into a JS number (counts above 2^53 lose precision, as any JS consumer would). */
function decCount(o: Json, key: string, p: PathStack): number {
  const v = o[key];
  if (v === undefined || v === null) return 0;
  return Number(toInt64(v, p, key, true));
}

function toDouble(v: unknown, p: PathStack, key: string | number): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    if (v.trim() !== '' && !Number.isNaN(n)) return n;
  }
  return p.fail(`expected a number, got ${describe(v)}`, key);
}

function decDouble(o: Json, key: string, p: PathStack): number {
  const v = o[key];
  if (v === undefined || v === null) return 0;
  return toDouble(v, p, key);
}

function decOptDouble(o: Json, key: string, p: PathStack): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  return toDouble(v, p, key);
}

function decNumberList(o: Json, key: string, p: PathStack, int: boolean): number[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) p.fail(`expected an array, got ${describe(v)}`, key);
  const out = new Array<number>(v.length);
  p.push(key);
  for (let i = 0; i < v.length; i++) out[i] = int ? Number(toInt64(v[i], p, i, true)) : toDouble(v[i], p, i);
  p.pop();
  return out;
}

const HEX = /^[0-9a-fA-F]*$/;

function decId(o: Json, key: string, p: PathStack, bytes: number): string {
  const v = o[key];
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || v.length !== bytes * 2 || !HEX.test(v)) p.fail(`expected ${bytes * 2} hex characters, got ${describe(v)}`, key);
  return v.toLowerCase();
}

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

export { MAX_ANY_VALUE_DEPTH };

function decAnyValue(v: unknown, p: PathStack): AnyValue {
  if (++p.anyDepth > MAX_ANY_VALUE_DEPTH) p.fail(`attribute value nested deeper than ${MAX_ANY_VALUE_DEPTH} levels (arrays and key-value lists in one another)`);
  try {
    return decAnyValueAt(v, p);
  } finally {
    p.anyDepth--;
  }
}

function decAnyValueAt(v: unknown, p: PathStack): AnyValue {
  const o = decObj(v, p);
  // Exactly one member is expected; the first one present wins (an empty object is an empty value).
  if (o.stringValue !== undefined) {
    if (typeof o.stringValue !== 'string') p.fail(`expected a string, got ${describe(o.stringValue)}`, 'stringValue');
    return o.stringValue;
  }
  if (o.boolValue !== undefined) return decBool(o, 'boolValue', p);
  if (o.intValue !== undefined) return toInt64(o.intValue, p, 'intValue', false);
  if (o.doubleValue !== undefined) return toDouble(o.doubleValue, p, 'doubleValue');
  if (o.arrayValue !== undefined) {
    p.push('arrayValue');
    const arr = decList(decObj(o.arrayValue, p), 'values', p, decAnyValue);
    p.pop();
    return arr;
  }
  if (o.kvlistValue !== undefined) {
    p.push('kvlistValue');
    const kvs = decList(decObj(o.kvlistValue, p), 'values', p, decKeyValue);
    p.pop();
    return { kvlist: kvs };
  }
  if (o.bytesValue !== undefined) {
    const b = o.bytesValue;
    if (typeof b !== 'string' || !BASE64.test(b)) p.fail(`expected base64 bytes, got ${describe(b)}`, 'bytesValue');
    return new Uint8Array(Buffer.from(b, 'base64'));
  }
  return null;
}

function decKeyValue(v: unknown, p: PathStack): KeyValue {
  const o = decObj(v, p);
  const key = decString(o, 'key', p);
  if (o.value === undefined || o.value === null) return { key, value: null };
  p.push('value');
  const value = decAnyValue(o.value, p);
  p.pop();
  return { key, value };
}

function decAttrs(o: Json, key: string, p: PathStack): KeyValue[] {
  return decList(o, key, p, decKeyValue);
}

function decMsg<T>(o: Json, key: string, p: PathStack, f: (o: Json, p: PathStack) => T): T {
  const v = o[key];
  p.push(key);
  const r = f(v === undefined || v === null ? {} : decObj(v, p), p);
  p.pop();
  return r;
}

function decResource(o: Json, p: PathStack): Resource {
  return { attributes: decAttrs(o, 'attributes', p), droppedAttributesCount: decUint32(o, 'droppedAttributesCount', p) };
}

function decScope(o: Json, p: PathStack): InstrumentationScope {
  return {
    name: decString(o, 'name', p),
    version: decString(o, 'version', p),
    attributes: decAttrs(o, 'attributes', p),
    droppedAttributesCount: decUint32(o, 'droppedAttributesCount', p),
  };
}

function decResourceSpans(v: unknown, p: PathStack): ResourceSpans {
  const o = decObj(v, p);
  return {
    resource: decMsg(o, 'resource', p, decResource),
    scopeSpans: decList(o, 'scopeSpans', p, decScopeSpans),
    schemaUrl: decString(o, 'schemaUrl', p),
  };
}

function decScopeSpans(v: unknown, p: PathStack): ScopeSpans {
  const o = decObj(v, p);
  return { scope: decMsg(o, 'scope', p, decScope), spans: decList(o, 'spans', p, decSpan), schemaUrl: decString(o, 'schemaUrl', p) };
}

function decSpan(v: unknown, p: PathStack): Span {
  const o = decObj(v, p);
  return {
    traceId: decId(o, 'traceId', p, 16),
    spanId: decId(o, 'spanId', p, 8),
    traceState: decString(o, 'traceState', p),
    parentSpanId: decId(o, 'parentSpanId', p, 8),
    flags: decUint32(o, 'flags', p),
    name: decString(o, 'name', p),
    kind: decEnum(o, 'kind', p, SPAN_KINDS),
    startTimeUnixNano: decU64(o, 'startTimeUnixNano', p),
    endTimeUnixNano: decU64(o, 'endTimeUnixNano', p),
    attributes: decAttrs(o, 'attributes', p),
    droppedAttributesCount: decUint32(o, 'droppedAttributesCount', p),
    events: decList(o, 'events', p, decEvent),
    droppedEventsCount: decUint32(o, 'droppedEventsCount', p),
    links: decList(o, 'links', p, decLink),
    droppedLinksCount: decUint32(o, 'droppedLinksCount', p),
    status: decMsg(o, 'status', p, (s, pp) => ({ message: decString(s, 'message', pp), code: decEnum(s, 'code', pp, STATUS_CODES) })),
  };
}

function decEvent(v: unknown, p: PathStack): SpanEvent {
  const o = decObj(v, p);
  return {
    timeUnixNano: decU64(o, 'timeUnixNano', p),
    name: decString(o, 'name', p),
    attributes: decAttrs(o, 'attributes', p),
    droppedAttributesCount: decUint32(o, 'droppedAttributesCount', p),
  };
}

function decLink(v: unknown, p: PathStack): SpanLink {
  const o = decObj(v, p);
  return {
    traceId: decId(o, 'traceId', p, 16),
    spanId: decId(o, 'spanId', p, 8),
    traceState: decString(o, 'traceState', p),
    attributes: decAttrs(o, 'attributes', p),
    droppedAttributesCount: decUint32(o, 'droppedAttributesCount', p),
    flags: decUint32(o, 'flags', p),
  };
}

function decResourceMetrics(v: unknown, p: PathStack): ResourceMetrics {
  const o = decObj(v, p);
  return {
    resource: decMsg(o, 'resource', p, decResource),
    scopeMetrics: decList(o, 'scopeMetrics', p, decScopeMetrics),
    schemaUrl: decString(o, 'schemaUrl', p),
  };
}

function decScopeMetrics(v: unknown, p: PathStack): ScopeMetrics {
  const o = decObj(v, p);
  return { scope: decMsg(o, 'scope', p, decScope), metrics: decList(o, 'metrics', p, decMetric), schemaUrl: decString(o, 'schemaUrl', p) };
}

function decMetric(v: unknown, p: PathStack): Metric {
  const o = decObj(v, p);
  let data: MetricData | undefined;
  if (o.gauge != null) data = decMsg(o, 'gauge', p, (b, pp) => ({ type: 'gauge', dataPoints: decList(b, 'dataPoints', pp, decNumberPoint) }));
  else if (o.sum != null)
    data = decMsg(o, 'sum', p, (b, pp) => ({
      type: 'sum',
      dataPoints: decList(b, 'dataPoints', pp, decNumberPoint),
      aggregationTemporality: decEnum(b, 'aggregationTemporality', pp, TEMPORALITIES),
      isMonotonic: decBool(b, 'isMonotonic', pp),
    }));
  else if (o.histogram != null)
    data = decMsg(o, 'histogram', p, (b, pp) => ({
      type: 'histogram',
      dataPoints: decList(b, 'dataPoints', pp, decHistogramPoint),
      aggregationTemporality: decEnum(b, 'aggregationTemporality', pp, TEMPORALITIES),
    }));
  else if (o.exponentialHistogram != null)
    data = decMsg(o, 'exponentialHistogram', p, (b, pp) => ({
      type: 'exponentialHistogram',
      dataPoints: decList(b, 'dataPoints', pp, decExpHistogramPoint),
      aggregationTemporality: decEnum(b, 'aggregationTemporality', pp, TEMPORALITIES),
    }));
  else if (o.summary != null) data = decMsg(o, 'summary', p, (b, pp) => ({ type: 'summary', dataPoints: decList(b, 'dataPoints', pp, decSummaryPoint) }));
  return {
    name: decString(o, 'name', p),
    description: decString(o, 'description', p),
    unit: decString(o, 'unit', p),
    metadata: decAttrs(o, 'metadata', p),
    data,
  };
}

function decPointValue(o: Json, p: PathStack): number | bigint {
  if (o.asInt !== undefined && o.asInt !== null) return toInt64(o.asInt, p, 'asInt', false);
  return decDouble(o, 'asDouble', p);
}

function decExemplar(v: unknown, p: PathStack): Exemplar {
  const o = decObj(v, p);
  return {
    filteredAttributes: decAttrs(o, 'filteredAttributes', p),
    timeUnixNano: decU64(o, 'timeUnixNano', p),
    value: decPointValue(o, p),
    spanId: decId(o, 'spanId', p, 8),
    traceId: decId(o, 'traceId', p, 16),
  };
}

function decNumberPoint(v: unknown, p: PathStack): NumberDataPoint {
  const o = decObj(v, p);
  return {
    attributes: decAttrs(o, 'attributes', p),
    startTimeUnixNano: decU64(o, 'startTimeUnixNano', p),
    timeUnixNano: decU64(o, 'timeUnixNano', p),
    value: decPointValue(o, p),
    exemplars: decList(o, 'exemplars', p, decExemplar),
    flags: decUint32(o, 'flags', p),
  };
}

function decHistogramPoint(v: unknown, p: PathStack): HistogramDataPoint {
  const o = decObj(v, p);
  const pt: HistogramDataPoint = {
    attributes: decAttrs(o, 'attributes', p),
    startTimeUnixNano: decU64(o, 'startTimeUnixNano', p),
    timeUnixNano: decU64(o, 'timeUnixNano', p),
    count: decCount(o, 'count', p),
    bucketCounts: decNumberList(o, 'bucketCounts', p, true),
    explicitBounds: decNumberList(o, 'explicitBounds', p, false),
    exemplars: decList(o, 'exemplars', p, decExemplar),
    flags: decUint32(o, 'flags', p),
  };
  const sum = decOptDouble(o, 'sum', p);
  if (sum !== undefined) pt.sum = sum;
  const min = decOptDouble(o, 'min', p);
  if (min !== undefined) pt.min = min;
  const max = decOptDouble(o, 'max', p);
  if (max !== undefined) pt.max = max;
  return pt;
}

function decBuckets(o: Json, p: PathStack): ExponentialHistogramBuckets {
  return { offset: decInt32(o, 'offset', p, -I32 - 1, I32), bucketCounts: decNumberList(o, 'bucketCounts', p, true) };
}

function decExpHistogramPoint(v: unknown, p: PathStack): ExponentialHistogramDataPoint {
  const o = decObj(v, p);
  const pt: ExponentialHistogramDataPoint = {
    attributes: decAttrs(o, 'attributes', p),
    startTimeUnixNano: decU64(o, 'startTimeUnixNano', p),
    timeUnixNano: decU64(o, 'timeUnixNano', p),
    count: decCount(o, 'count', p),
    scale: decInt32(o, 'scale', p, -I32 - 1, I32),
    zeroCount: decCount(o, 'zeroCount', p),
    positive: decMsg(o, 'positive', p, decBuckets),
    negative: decMsg(o, 'negative', p, decBuckets),
    flags: decUint32(o, 'flags', p),
    exemplars: decList(o, 'exemplars', p, decExemplar),
    zeroThreshold: decDouble(o, 'zeroThreshold', p),
  };
  const sum = decOptDouble(o, 'sum', p);
  if (sum !== undefined) pt.sum = sum;
  const min = decOptDouble(o, 'min', p);
  if (min !== undefined) pt.min = min;
  const max = decOptDouble(o, 'max', p);
  if (max !== undefined) pt.max = max;
  return pt;
}

function decQuantile(v: unknown, p: PathStack): ValueAtQuantile {
  const o = decObj(v, p);
  return { quantile: decDouble(o, 'quantile', p), value: decDouble(o, 'value', p) };
}

function decSummaryPoint(v: unknown, p: PathStack): SummaryDataPoint {
  const o = decObj(v, p);
  return {
    attributes: decAttrs(o, 'attributes', p),
    startTimeUnixNano: decU64(o, 'startTimeUnixNano', p),
    timeUnixNano: decU64(o, 'timeUnixNano', p),
    count: decCount(o, 'count', p),
    sum: decDouble(o, 'sum', p),
    quantileValues: decList(o, 'quantileValues', p, decQuantile),
    flags: decUint32(o, 'flags', p),
  };
}

function decResourceLogs(v: unknown, p: PathStack): ResourceLogs {
  const o = decObj(v, p);
  return {
    resource: decMsg(o, 'resource', p, decResource),
    scopeLogs: decList(o, 'scopeLogs', p, decScopeLogs),
    schemaUrl: decString(o, 'schemaUrl', p),
  };
}

function decScopeLogs(v: unknown, p: PathStack): ScopeLogs {
  const o = decObj(v, p);
  return { scope: decMsg(o, 'scope', p, decScope), logRecords: decList(o, 'logRecords', p, decLogRecord), schemaUrl: decString(o, 'schemaUrl', p) };
}

function decLogRecord(v: unknown, p: PathStack): LogRecord {
  const o = decObj(v, p);
  let body: AnyValue = null;
  if (o.body !== undefined && o.body !== null) {
    p.push('body');
    body = decAnyValue(o.body, p);
    p.pop();
  }
  return {
    timeUnixNano: decU64(o, 'timeUnixNano', p),
    observedTimeUnixNano: decU64(o, 'observedTimeUnixNano', p),
    severityNumber: decEnum(o, 'severityNumber', p, SEVERITIES),
    severityText: decString(o, 'severityText', p),
    body,
    attributes: decAttrs(o, 'attributes', p),
    droppedAttributesCount: decUint32(o, 'droppedAttributesCount', p),
    flags: decUint32(o, 'flags', p),
    traceId: decId(o, 'traceId', p, 16),
    spanId: decId(o, 'spanId', p, 8),
    eventName: decString(o, 'eventName', p),
  };
}
