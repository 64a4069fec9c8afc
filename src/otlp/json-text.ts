/**
 * OTLP/JSON text written straight from vigil's model (src/model.ts), without the object tree that
 * {@link toOtlpJson} builds: the hot path of the `file` exporter and of the `otlp` exporter's http/json.
 *
 * The text is byte for byte `JSON.stringify(toOtlpJson(batch, signal))` (test/otlp-json-text.test.ts
 * holds the two to that over random batches and every OTLP example): the same key order (the proto field
 * order OTLP/JSON and the Collector's file exporter write), lowerCamelCase keys, ids as lowercase hex,
 * 64-bit integers as decimal strings, doubles as JSON numbers or the strings "NaN"/"Infinity"/"-Infinity"
 * (the protobuf JSON mapping), bytes as base64, and fields holding their default value left out.
 *
 * Strings are written between quotes as they are unless they hold a character JSON must escape (a quote,
 * a backslash, a control character) or a surrogate (a lone one becomes `\udxxx`, as JSON.stringify
 * writes it); those few go through JSON.stringify.
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

/** The signals of an OTLP export request (as {@link OtlpSignal} in json.ts, repeated to keep this file a leaf). */
type Signal = 'traces' | 'metrics' | 'logs';

/**
 * The OTLP/JSON export request for one signal of `batch`, as text (one line: no newline in it). Equal to
 * `JSON.stringify(toOtlpJson(batch, signal))`; throws only where that would (a value nested past the
 * stack, a model that breaks its types).
 */
export function otlpJsonText(batch: Batch, signal: Signal): string {
  switch (signal) {
    case 'traces': {
      const list = batch.resourceSpans ?? [];
      let s = '{"resourceSpans":[';
      for (let i = 0; i < list.length; i++) s += (i ? ',' : '') + resourceSpans(list[i]!);
      return s + ']}';
    }
    case 'metrics': {
      const list = batch.resourceMetrics ?? [];
      let s = '{"resourceMetrics":[';
      for (let i = 0; i < list.length; i++) s += (i ? ',' : '') + resourceMetrics(list[i]!);
      return s + ']}';
    }
    case 'logs': {
      const list = batch.resourceLogs ?? [];
      let s = '{"resourceLogs":[';
      for (let i = 0; i < list.length; i++) s += (i ? ',' : '') + resourceLogs(list[i]!);
      return s + ']}';
    }
  }
}

// A character JSON.stringify would not copy as it is: '"', '\\', U+0000-U+001F, and surrogates (a well-formed
// pair is copied, a lone one escaped: JSON.stringify decides).
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `s` as a JSON string literal, quotes included. */
function str(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

/** A double as encDouble + JSON.stringify write it: a number, or "NaN" / "Infinity" / "-Infinity". */
function dbl(v: number): string {
  if (Number.isFinite(v)) return '' + v;
  if (Number.isNaN(v)) return '"NaN"';
  return v > 0 ? '"Infinity"' : '"-Infinity"';
}

/** A 64-bit integer field (putU64): a decimal string. */
function u64(v: bigint | number): string {
  return '"' + (typeof v === 'bigint' ? v.toString() : String(Math.trunc(v))) + '"';
}

/** Appends `"key":value` to an object under construction (`o` is '{' or '{...'). */
function add(o: string, kv: string): string {
  return o.length === 1 ? o + kv : o + ',' + kv;
}

function anyValue(v: AnyValue): string {
  if (v === null || v === undefined) return '{}';
  switch (typeof v) {
    case 'string':
      return '{"stringValue":' + str(v) + '}';
    case 'boolean':
      return v ? '{"boolValue":true}' : '{"boolValue":false}';
    case 'bigint':
      return '{"intValue":"' + v.toString() + '"}';
    case 'number':
      return '{"doubleValue":' + dbl(v) + '}';
  }
  if (v instanceof Uint8Array) return '{"bytesValue":"' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') + '"}';
  if (Array.isArray(v)) {
    if (!v.length) return '{"arrayValue":{}}';
    let s = '{"arrayValue":{"values":[';
    for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + anyValue(v[i]!);
    return s + ']}}';
  }
  const kvs = v.kvlist;
  if (!kvs.length) return '{"kvlistValue":{}}';
  return '{"kvlistValue":{"values":' + keyValues(kvs) + '}}';
}

function keyValue(kv: KeyValue): string {
  return (kv.key ? '{"key":' + str(kv.key) + ',"value":' : '{"value":') + anyValue(kv.value) + '}';
}

/** A non-empty list of key-values as a JSON array. */
function keyValues(list: readonly KeyValue[]): string {
  let s = '[' + keyValue(list[0]!);
  for (let i = 1; i < list.length; i++) s += ',' + keyValue(list[i]!);
  return s + ']';
}

function resource(r: Resource): string {
  let o = '{';
  if (r.attributes.length) o += '"attributes":' + keyValues(r.attributes);
  if (r.droppedAttributesCount !== 0) o = add(o, '"droppedAttributesCount":' + dbl(r.droppedAttributesCount));
  return o + '}';
}

function scope(sc: InstrumentationScope): string {
  let o = '{';
  if (sc.name) o += '"name":' + str(sc.name);
  if (sc.version) o = add(o, '"version":' + str(sc.version));
  if (sc.attributes.length) o = add(o, '"attributes":' + keyValues(sc.attributes));
  if (sc.droppedAttributesCount !== 0) o = add(o, '"droppedAttributesCount":' + dbl(sc.droppedAttributesCount));
  return o + '}';
}

// ------------------------------------------------------------------------------------------------ traces

function resourceSpans(rs: ResourceSpans): string {
  let o = '{"resource":' + resource(rs.resource);
  const list = rs.scopeSpans;
  if (list.length) {
    o += ',"scopeSpans":[' + scopeSpans(list[0]!);
    for (let i = 1; i < list.length; i++) o += ',' + scopeSpans(list[i]!);
    o += ']';
  }
  if (rs.schemaUrl) o += ',"schemaUrl":' + str(rs.schemaUrl);
  return o + '}';
}

function scopeSpans(ss: ScopeSpans): string {
  let o = '{"scope":' + scope(ss.scope);
  const list = ss.spans;
  if (list.length) {
    o += ',"spans":[' + span(list[0]!);
    for (let i = 1; i < list.length; i++) o += ',' + span(list[i]!);
    o += ']';
  }
  if (ss.schemaUrl) o += ',"schemaUrl":' + str(ss.schemaUrl);
  return o + '}';
}

function span(s: Span): string {
  let o = '{';
  if (s.traceId) o += '"traceId":' + str(s.traceId);
  if (s.spanId) o = add(o, '"spanId":' + str(s.spanId));
  if (s.traceState) o = add(o, '"traceState":' + str(s.traceState));
  if (s.parentSpanId) o = add(o, '"parentSpanId":' + str(s.parentSpanId));
  if (s.flags !== 0) o = add(o, '"flags":' + dbl(s.flags));
  if (s.name) o = add(o, '"name":' + str(s.name));
  if (s.kind !== 0) o = add(o, '"kind":' + dbl(s.kind));
  if (s.startTimeUnixNano) o = add(o, '"startTimeUnixNano":' + u64(s.startTimeUnixNano));
  if (s.endTimeUnixNano) o = add(o, '"endTimeUnixNano":' + u64(s.endTimeUnixNano));
  if (s.attributes.length) o = add(o, '"attributes":' + keyValues(s.attributes));
  if (s.droppedAttributesCount !== 0) o = add(o, '"droppedAttributesCount":' + dbl(s.droppedAttributesCount));
  const events = s.events;
  if (events.length) {
    let a = '"events":[' + event(events[0]!);
    for (let i = 1; i < events.length; i++) a += ',' + event(events[i]!);
    o = add(o, a + ']');
  }
  if (s.droppedEventsCount !== 0) o = add(o, '"droppedEventsCount":' + dbl(s.droppedEventsCount));
  const links = s.links;
  if (links.length) {
    let a = '"links":[' + link(links[0]!);
    for (let i = 1; i < links.length; i++) a += ',' + link(links[i]!);
    o = add(o, a + ']');
  }
  if (s.droppedLinksCount !== 0) o = add(o, '"droppedLinksCount":' + dbl(s.droppedLinksCount));
  const st = s.status;
  let so = '{';
  if (st.message) so += '"message":' + str(st.message);
  if (st.code !== 0) so = add(so, '"code":' + dbl(st.code));
  return add(o, '"status":' + so + '}') + '}';
}

function event(e: SpanEvent): string {
  let o = '{';
  if (e.timeUnixNano) o += '"timeUnixNano":' + u64(e.timeUnixNano);
  if (e.name) o = add(o, '"name":' + str(e.name));
  if (e.attributes.length) o = add(o, '"attributes":' + keyValues(e.attributes));
  if (e.droppedAttributesCount !== 0) o = add(o, '"droppedAttributesCount":' + dbl(e.droppedAttributesCount));
  return o + '}';
}

function link(l: SpanLink): string {
  let o = '{';
  if (l.traceId) o += '"traceId":' + str(l.traceId);
  if (l.spanId) o = add(o, '"spanId":' + str(l.spanId));
  if (l.traceState) o = add(o, '"traceState":' + str(l.traceState));
  if (l.attributes.length) o = add(o, '"attributes":' + keyValues(l.attributes));
  if (l.droppedAttributesCount !== 0) o = add(o, '"droppedAttributesCount":' + dbl(l.droppedAttributesCount));
  if (l.flags !== 0) o = add(o, '"flags":' + dbl(l.flags));
  return o + '}';
}

// ----------------------------------------------------------------------------------------------- metrics

function resourceMetrics(rm: ResourceMetrics): string {
  let o = '{"resource":' + resource(rm.resource);
  const list = rm.scopeMetrics;
  if (list.length) {
    o += ',"scopeMetrics":[' + scopeMetrics(list[0]!);
    for (let i = 1; i < list.length; i++) o += ',' + scopeMetrics(list[i]!);
    o += ']';
  }
  if (rm.schemaUrl) o += ',"schemaUrl":' + str(rm.schemaUrl);
  return o + '}';
}

function scopeMetrics(sm: ScopeMetrics): string {
  let o = '{"scope":' + scope(sm.scope);
  const list = sm.metrics;
  if (list.length) {
    o += ',"metrics":[' + metric(list[0]!);
    for (let i = 1; i < list.length; i++) o += ',' + metric(list[i]!);
    o += ']';
  }
  if (sm.schemaUrl) o += ',"schemaUrl":' + str(sm.schemaUrl);
  return o + '}';
}

/** `"dataPoints":[...]` for a non-empty list, written by `one`. */
function points<P>(list: readonly P[], one: (p: P) => string): string {
  let s = '"dataPoints":[' + one(list[0]!);
  for (let i = 1; i < list.length; i++) s += ',' + one(list[i]!);
  return s + ']';
}

function metric(m: Metric): string {
  let o = '{';
  if (m.name) o += '"name":' + str(m.name);
  if (m.description) o = add(o, '"description":' + str(m.description));
  if (m.unit) o = add(o, '"unit":' + str(m.unit));
  const d = m.data;
  if (d) {
    let b = '{';
    switch (d.type) {
      case 'gauge':
        if (d.dataPoints.length) b += points(d.dataPoints, numberPoint);
        break;
      case 'sum':
        if (d.dataPoints.length) b += points(d.dataPoints, numberPoint);
        if (d.aggregationTemporality !== 0) b = add(b, '"aggregationTemporality":' + dbl(d.aggregationTemporality));
        if (d.isMonotonic) b = add(b, '"isMonotonic":true');
        break;
      case 'histogram':
        if (d.dataPoints.length) b += points(d.dataPoints, histogramPoint);
        if (d.aggregationTemporality !== 0) b = add(b, '"aggregationTemporality":' + dbl(d.aggregationTemporality));
        break;
      case 'exponentialHistogram':
        if (d.dataPoints.length) b += points(d.dataPoints, expHistogramPoint);
        if (d.aggregationTemporality !== 0) b = add(b, '"aggregationTemporality":' + dbl(d.aggregationTemporality));
        break;
      case 'summary':
        if (d.dataPoints.length) b += points(d.dataPoints, summaryPoint);
        break;
    }
    o = add(o, str((d as { type: string }).type) + ':' + b + '}');
  }
  if (m.metadata.length) o = add(o, '"metadata":' + keyValues(m.metadata));
  return o + '}';
}

/** `"asInt":"<decimal>"` or `"asDouble":<double>` (the point's value oneof). */
function pointValue(v: number | bigint): string {
  return typeof v === 'bigint' ? '"asInt":"' + v.toString() + '"' : '"asDouble":' + dbl(v);
}

function exemplars(list: readonly Exemplar[]): string {
  let s = '"exemplars":[' + exemplar(list[0]!);
  for (let i = 1; i < list.length; i++) s += ',' + exemplar(list[i]!);
  return s + ']';
}

function exemplar(e: Exemplar): string {
  let o = '{';
  if (e.filteredAttributes.length) o += '"filteredAttributes":' + keyValues(e.filteredAttributes);
  if (e.timeUnixNano) o = add(o, '"timeUnixNano":' + u64(e.timeUnixNano));
  o = add(o, pointValue(e.value));
  if (e.spanId) o += ',"spanId":' + str(e.spanId);
  if (e.traceId) o += ',"traceId":' + str(e.traceId);
  return o + '}';
}

/** attributes, startTimeUnixNano, timeUnixNano: the head every point kind shares. */
function pointHead(attributes: readonly KeyValue[], start: bigint, time: bigint): string {
  let o = '{';
  if (attributes.length) o += '"attributes":' + keyValues(attributes);
  if (start) o = add(o, '"startTimeUnixNano":' + u64(start));
  if (time) o = add(o, '"timeUnixNano":' + u64(time));
  return o;
}

function numberPoint(p: NumberDataPoint): string {
  let o = add(pointHead(p.attributes, p.startTimeUnixNano, p.timeUnixNano), pointValue(p.value));
  if (p.exemplars.length) o += ',' + exemplars(p.exemplars);
  if (p.flags !== 0) o += ',"flags":' + dbl(p.flags);
  return o + '}';
}

/** A list of counts as JSON strings (`["1","0"]`), as `String(c)` writes each. */
function counts(list: readonly number[]): string {
  let s = '["' + String(list[0]);
  for (let i = 1; i < list.length; i++) s += '","' + String(list[i]);
  return s + '"]';
}

function doubles(list: readonly number[]): string {
  let s = '[' + dbl(list[0]!);
  for (let i = 1; i < list.length; i++) s += ',' + dbl(list[i]!);
  return s + ']';
}

function histogramPoint(p: HistogramDataPoint): string {
  let o = pointHead(p.attributes, p.startTimeUnixNano, p.timeUnixNano);
  if (p.count) o = add(o, '"count":' + u64(p.count));
  if (p.sum !== undefined) o = add(o, '"sum":' + dbl(p.sum));
  if (p.bucketCounts.length) o = add(o, '"bucketCounts":' + counts(p.bucketCounts));
  if (p.explicitBounds.length) o = add(o, '"explicitBounds":' + doubles(p.explicitBounds));
  if (p.exemplars.length) o = add(o, exemplars(p.exemplars));
  if (p.flags !== 0) o = add(o, '"flags":' + dbl(p.flags));
  if (p.min !== undefined) o = add(o, '"min":' + dbl(p.min));
  if (p.max !== undefined) o = add(o, '"max":' + dbl(p.max));
  return o + '}';
}

function buckets(b: ExponentialHistogramBuckets): string {
  let o = '{';
  if (b.offset !== 0) o += '"offset":' + dbl(b.offset);
  if (b.bucketCounts.length) o = add(o, '"bucketCounts":' + counts(b.bucketCounts));
  return o + '}';
}

function expHistogramPoint(p: ExponentialHistogramDataPoint): string {
  let o = pointHead(p.attributes, p.startTimeUnixNano, p.timeUnixNano);
  if (p.count) o = add(o, '"count":' + u64(p.count));
  if (p.sum !== undefined) o = add(o, '"sum":' + dbl(p.sum));
  if (p.scale !== 0) o = add(o, '"scale":' + dbl(p.scale));
  if (p.zeroCount) o = add(o, '"zeroCount":' + u64(p.zeroCount));
  if (p.positive.offset !== 0 || p.positive.bucketCounts.length) o = add(o, '"positive":' + buckets(p.positive));
  if (p.negative.offset !== 0 || p.negative.bucketCounts.length) o = add(o, '"negative":' + buckets(p.negative));
  if (p.flags !== 0) o = add(o, '"flags":' + dbl(p.flags));
  if (p.exemplars.length) o = add(o, exemplars(p.exemplars));
  if (p.min !== undefined) o = add(o, '"min":' + dbl(p.min));
  if (p.max !== undefined) o = add(o, '"max":' + dbl(p.max));
  if (p.zeroThreshold !== 0) o = add(o, '"zeroThreshold":' + dbl(p.zeroThreshold));
  return o + '}';
}

function summaryPoint(p: SummaryDataPoint): string {
  let o = pointHead(p.attributes, p.startTimeUnixNano, p.timeUnixNano);
  if (p.count) o = add(o, '"count":' + u64(p.count));
  if (p.sum !== 0) o = add(o, '"sum":' + dbl(p.sum));
  const qs = p.quantileValues;
  if (qs.length) {
    let a = '"quantileValues":[';
    for (let i = 0; i < qs.length; i++) {
      const q = qs[i]!;
      let qo = '{';
      if (q.quantile !== 0) qo += '"quantile":' + dbl(q.quantile);
      if (q.value !== 0) qo = add(qo, '"value":' + dbl(q.value));
      a += (i ? ',' : '') + qo + '}';
    }
    o = add(o, a + ']');
  }
  if (p.flags !== 0) o = add(o, '"flags":' + dbl(p.flags));
  return o + '}';
}

// -------------------------------------------------------------------------------------------------- logs

function resourceLogs(rl: ResourceLogs): string {
  let o = '{"resource":' + resource(rl.resource);
  const list = rl.scopeLogs;
  if (list.length) {
    o += ',"scopeLogs":[' + scopeLogs(list[0]!);
    for (let i = 1; i < list.length; i++) o += ',' + scopeLogs(list[i]!);
    o += ']';
  }
  if (rl.schemaUrl) o += ',"schemaUrl":' + str(rl.schemaUrl);
  return o + '}';
}

function scopeLogs(sl: ScopeLogs): string {
  let o = '{"scope":' + scope(sl.scope);
  const list = sl.logRecords;
  if (list.length) {
    o += ',"logRecords":[' + logRecord(list[0]!);
    for (let i = 1; i < list.length; i++) o += ',' + logRecord(list[i]!);
    o += ']';
  }
  if (sl.schemaUrl) o += ',"schemaUrl":' + str(sl.schemaUrl);
  return o + '}';
}

function logRecord(r: LogRecord): string {
  let o = '{';
  if (r.timeUnixNano) o += '"timeUnixNano":' + u64(r.timeUnixNano);
  if (r.observedTimeUnixNano) o = add(o, '"observedTimeUnixNano":' + u64(r.observedTimeUnixNano));
  if (r.severityNumber !== 0) o = add(o, '"severityNumber":' + dbl(r.severityNumber));
  if (r.severityText) o = add(o, '"severityText":' + str(r.severityText));
  if (r.body !== null && r.body !== undefined) o = add(o, '"body":' + anyValue(r.body));
  if (r.attributes.length) o = add(o, '"attributes":' + keyValues(r.attributes));
  if (r.droppedAttributesCount !== 0) o = add(o, '"droppedAttributesCount":' + dbl(r.droppedAttributesCount));
  if (r.flags !== 0) o = add(o, '"flags":' + dbl(r.flags));
  if (r.traceId) o = add(o, '"traceId":' + str(r.traceId));
  if (r.spanId) o = add(o, '"spanId":' + str(r.spanId));
  if (r.eventName) o = add(o, '"eventName":' + str(r.eventName));
  return o + '}';
}
