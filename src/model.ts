/**
 * The signal data model that flows through pipelines.
 *
 * It follows OTLP's own message shapes (opentelemetry/proto/{trace,metrics,logs}/v1) field for field so
 * that nothing is lost between receiving and exporting. Representation choices, fixed for every component:
 * - trace and span ids are lowercase hex strings ("" when absent), as OTLP/JSON writes them;
 * - timestamps are `bigint` nanoseconds since the Unix epoch (0n when absent): a JS number cannot hold them;
 * - an attribute's int64 value is a `bigint`, a double is a `number`: `intValue: 3` and `doubleValue: 3`
 *   stay distinct through a round trip; use {@link toNumber} to read either as a number;
 * - bytes are `Uint8Array`; an array value is a JS array; a key-value list is `{ kvlist: KeyValue[] }`.
 *
 * Ownership: a consumer that is handed a batch owns it until its `consume` returns; exporters treat batches
 * as read-only (one batch is fanned out to several exporters); processors may mutate the batch they are
 * given before passing it on (the graph clones a batch before fanning it out to several pipelines).
 */

/**
 * An OTLP `AnyValue` (common/v1): string, bool, int64 (`bigint`), double (`number`), bytes (`Uint8Array`), array,
 * key-value list, or `null` for an empty value.
 */
export type AnyValue = string | boolean | number | bigint | Uint8Array | AnyValue[] | KeyValueList | null;

/**
 * An OTLP `KeyValueList` value: an ordered list of key-value pairs (keys are meant to be unique, not enforced here).
 */
export interface KeyValueList {
  kvlist: KeyValue[];
}

/** An OTLP `KeyValue`: one attribute, a key and its {@link AnyValue}. */
export interface KeyValue {
  key: string;
  value: AnyValue;
}

/** An OTLP `Resource` (resource/v1): the attributes of the entity producing telemetry (`service.name`, ...). */
export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

/**
 * An OTLP `InstrumentationScope` (common/v1): the library that produced the telemetry, name and version ("" when absent).
 */
export interface InstrumentationScope {
  name: string;
  version: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

// ---------------------------------------------------------------------------------------------- traces

/** OTLP `Span.SpanKind` (trace/v1), with the proto's numeric values. */
export enum SpanKind {
  Unspecified = 0,
  Internal = 1,
  Server = 2,
  Client = 3,
  Producer = 4,
  Consumer = 5,
}

/** OTLP `Status.StatusCode` (trace/v1), with the proto's numeric values: Unset 0, Ok 1, Error 2. */
export enum StatusCode {
  Unset = 0,
  Ok = 1,
  Error = 2,
}

/** An OTLP span `Status`: a code and a developer-facing message ("" when absent). */
export interface Status {
  message: string;
  code: StatusCode;
}

/** An OTLP `Span.Event`: a named, timestamped (ns since the Unix epoch) annotation on a span. */
export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

/** An OTLP `Span.Link` to another span: its trace and span ids (lowercase hex), W3C trace state and attributes. */
export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  flags: number;
}

/**
 * An OTLP `Span` (trace/v1). Ids are lowercase hex ("" when absent: `parentSpanId` of a root span), times are
 * ns since the Unix epoch, `flags` is the proto's fixed32 (W3C trace flags in the low byte).
 */
export interface Span {
  traceId: string;
  spanId: string;
  traceState: string;
  parentSpanId: string;
  flags: number;
  name: string;
  kind: SpanKind;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  status: Status;
}

/** An OTLP `ScopeSpans`: the spans of one instrumentation scope. */
export interface ScopeSpans {
  scope: InstrumentationScope;
  spans: Span[];
  schemaUrl: string;
}

/**
 * An OTLP `ResourceSpans`: the spans of one resource, grouped by scope; an item of `ExportTraceServiceRequest.resourceSpans`.
 */
export interface ResourceSpans {
  resource: Resource;
  scopeSpans: ScopeSpans[];
  schemaUrl: string;
}

// --------------------------------------------------------------------------------------------- metrics

/**
 * OTLP `AggregationTemporality` (metrics/v1): whether a sum/histogram point covers the interval since the previous
 * point (Delta) or since a fixed start (Cumulative).
 */
export enum AggregationTemporality {
  Unspecified = 0,
  Delta = 1,
  Cumulative = 2,
}

/**
 * An OTLP `Exemplar`: one sampled measurement (time in ns since the Unix epoch) with the attributes the
 * aggregation filtered out and the span it was taken in (lowercase hex ids, "" when absent).
 */
export interface Exemplar {
  filteredAttributes: KeyValue[];
  timeUnixNano: bigint;
  /** int64 as bigint, double as number (OTLP's `as_int` / `as_double`). */
  value: number | bigint;
  spanId: string;
  traceId: string;
}

/**
 * An OTLP `NumberDataPoint`: one value of a gauge or sum, with its attributes and times (ns since the Unix epoch;
 * `startTimeUnixNano` 0n when absent). `flags` bit 0 is OTLP's "no recorded value".
 */
export interface NumberDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  /** int64 as bigint, double as number (OTLP's `as_int` / `as_double`). */
  value: number | bigint;
  exemplars: Exemplar[];
  flags: number;
}

/**
 * An OTLP explicit-bucket `HistogramDataPoint`: `bucketCounts` has `explicitBounds.length + 1` entries, bucket i
 * covering (bounds[i-1], bounds[i]] (upper-inclusive, as the spec says); `sum`, `min`, `max` are optional as in
 * the proto. Times in ns since the Unix epoch.
 */
export interface HistogramDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  count: number;
  sum?: number;
  bucketCounts: number[];
  explicitBounds: number[];
  exemplars: Exemplar[];
  flags: number;
  min?: number;
  max?: number;
}

/**
 * One sign's buckets of an OTLP exponential histogram: `bucketCounts[k]` counts the values in bucket index
 * `offset + k` (bucket i covers (base^i, base^(i+1)], base = 2^(2^-scale)).
 */
export interface ExponentialHistogramBuckets {
  offset: number;
  bucketCounts: number[];
}

/**
 * An OTLP `ExponentialHistogramDataPoint`: base-2 exponential buckets at `scale`, `zeroCount` values with
 * |v| <= `zeroThreshold`, and positive/negative bucket ranges. Times in ns since the Unix epoch.
 */
export interface ExponentialHistogramDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  count: number;
  sum?: number;
  scale: number;
  zeroCount: number;
  positive: ExponentialHistogramBuckets;
  negative: ExponentialHistogramBuckets;
  flags: number;
  exemplars: Exemplar[];
  min?: number;
  max?: number;
  zeroThreshold: number;
}

/** One quantile of an OTLP summary point: `quantile` in [0, 1] and the value at it. */
export interface ValueAtQuantile {
  quantile: number;
  value: number;
}

/**
 * An OTLP `SummaryDataPoint` (a pre-computed quantile summary, kept for compatibility as the spec says): count,
 * sum and quantile values. Times in ns since the Unix epoch.
 */
export interface SummaryDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  count: number;
  sum: number;
  quantileValues: ValueAtQuantile[];
  flags: number;
}

/**
 * The data of an OTLP `Metric` (the proto's `data` oneof), tagged by `type`: gauge, sum (with temporality and
 * monotonicity), histogram, exponential histogram or summary.
 */
export type MetricData =
  | { type: 'gauge'; dataPoints: NumberDataPoint[] }
  | { type: 'sum'; dataPoints: NumberDataPoint[]; aggregationTemporality: AggregationTemporality; isMonotonic: boolean }
  | { type: 'histogram'; dataPoints: HistogramDataPoint[]; aggregationTemporality: AggregationTemporality }
  | {
      type: 'exponentialHistogram';
      dataPoints: ExponentialHistogramDataPoint[];
      aggregationTemporality: AggregationTemporality;
    }
  | { type: 'summary'; dataPoints: SummaryDataPoint[] };

/**
 * An OTLP `Metric` (metrics/v1): name, description, unit (UCUM, e.g. `ms`, `By`, `{token}`), metadata and data points.
 */
export interface Metric {
  name: string;
  description: string;
  unit: string;
  metadata: KeyValue[];
  /** `undefined` only for a metric received with no data field at all (kept so that it round-trips). */
  data: MetricData | undefined;
}

/** An OTLP `ScopeMetrics`: the metrics of one instrumentation scope. */
export interface ScopeMetrics {
  scope: InstrumentationScope;
  metrics: Metric[];
  schemaUrl: string;
}

/** An OTLP `ResourceMetrics`: the metrics of one resource, grouped by scope. */
export interface ResourceMetrics {
  resource: Resource;
  scopeMetrics: ScopeMetrics[];
  schemaUrl: string;
}

// ------------------------------------------------------------------------------------------------ logs

/**
 * An OTLP `LogRecord` (logs/v1). Times in ns since the Unix epoch (0n when absent); `severityNumber` is OTLP's
 * 1..24 scale (0 = unspecified); ids lowercase hex, "" when absent.
 */
export interface LogRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: AnyValue;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  flags: number;
  traceId: string;
  spanId: string;
  eventName: string;
}

/** An OTLP `ScopeLogs`: the log records of one instrumentation scope. */
export interface ScopeLogs {
  scope: InstrumentationScope;
  logRecords: LogRecord[];
  schemaUrl: string;
}

/** An OTLP `ResourceLogs`: the log records of one resource, grouped by scope. */
export interface ResourceLogs {
  resource: Resource;
  scopeLogs: ScopeLogs[];
  schemaUrl: string;
}

// ---------------------------------------------------------------------------------------------- alerts

/** One alert, in the shape of an item of Alertmanager's webhook `alerts[]`, plus the evaluated value. */
export interface Alert {
  status: 'firing' | 'resolved';
  /** Includes `alertname` and `severity`. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** RFC 3339. */
  startsAt: string;
  /** RFC 3339; "0001-01-01T00:00:00Z" while firing with no end known, as Alertmanager writes it. */
  endsAt: string;
  generatorURL: string;
  /** Stable hex id of the label set (same labels, same fingerprint, across restarts and instances). */
  fingerprint: string;
  /** The value of the rule's expression at the last evaluation (NaN when absent). */
  value: number;
}

/**
 * One notification: a group of alerts, routed to the exporters named in `exporters`. It is what the
 * alerts processor emits after routing and grouping; a notification exporter whose ID is not in
 * `exporters` ignores it, so one fan-out carries every route.
 */
export interface AlertNotification {
  /** IDs of the exporters this notification is for (`slack/oncall`, `file/alerts`, ...). */
  exporters: string[];
  /** Identifies the group across notifications (Alertmanager's groupKey). */
  groupKey: string;
  /** `firing` if any alert in it fires. */
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: Alert[];
}

// --------------------------------------------------------------------------------------------- batches

/**
 * The signals a pipeline carries: OTLP's three plus vigil's `alerts` (alert notifications from the alerts processor).
 */
export type SignalName = 'traces' | 'metrics' | 'logs' | 'alerts';
/** Every {@link SignalName}, in the order they are reported. */
export const SIGNALS: readonly SignalName[] = ['traces', 'metrics', 'logs', 'alerts'];

/** What flows through a pipeline: any of the signals, each optional. */
export interface Batch {
  resourceSpans?: ResourceSpans[];
  resourceMetrics?: ResourceMetrics[];
  resourceLogs?: ResourceLogs[];
  alerts?: AlertNotification[];
  /**
   * One OTLP request kept as the protobuf bytes it arrived in, instead of the arrays above (a batch with
   * `encoded` has none of them). Only consumers that declare `acceptsEncoded` are given such a batch; the
   * graph decodes it for every other one.
   */
  encoded?: EncodedRequest;
}

/**
 * An Export{Trace,Metrics,Logs}ServiceRequest in protobuf, already checked to decode cleanly and to hold no
 * item the receiver would reject, with its item count. The bytes are lent for the duration of `consume()`
 * (the receiver reuses the buffer once the returned promise settles): a consumer that keeps them longer
 * copies them. Nobody changes them.
 */
export interface EncodedRequest {
  signal: 'traces' | 'metrics' | 'logs';
  bytes: Uint8Array;
  items: number;
}

// ------------------------------------------------------------------------------------------- helpers

/** Reads a numeric attribute value (int64 or double, or a numeric string) as a number; undefined otherwise. */
export function toNumber(v: AnyValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Finds an attribute by key (first match, as OTLP says keys are unique). */
export function getAttr(attrs: readonly KeyValue[], key: string): AnyValue | undefined {
  for (let i = 0; i < attrs.length; i++) if (attrs[i]!.key === key) return attrs[i]!.value;
  return undefined;
}

/** Sets an attribute, replacing an existing one with the same key. */
export function setAttr(attrs: KeyValue[], key: string, value: AnyValue): void {
  for (let i = 0; i < attrs.length; i++) {
    if (attrs[i]!.key === key) {
      attrs[i]!.value = value;
      return;
    }
  }
  attrs.push({ key, value });
}

/** An attribute value rendered as a label string (how alert labels and series keys see it). */
export function attrToString(v: AnyValue | undefined): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return JSON.stringify(v.map(attrToString));
  return JSON.stringify(Object.fromEntries(v.kvlist.map((kv) => [kv.key, attrToString(kv.value)])));
}

/** A new resource with no attributes. */
export function emptyResource(): Resource {
  return { attributes: [], droppedAttributesCount: 0 };
}

/** A new instrumentation scope with the given name and version (both "" by default) and no attributes. */
export function emptyScope(name = '', version = ''): InstrumentationScope {
  return { name, version, attributes: [], droppedAttributesCount: 0 };
}

/** Number of items of each signal in a batch (spans, metric data points, log records, alerts). */
export function countItems(batch: Batch): Record<SignalName, number> {
  let traces = 0;
  let metrics = 0;
  let logs = 0;
  let alerts = 0;
  if (batch.resourceSpans) for (const rs of batch.resourceSpans) for (const ss of rs.scopeSpans) traces += ss.spans.length;
  if (batch.resourceMetrics)
    for (const rm of batch.resourceMetrics)
      for (const sm of rm.scopeMetrics) for (const m of sm.metrics) metrics += m.data ? m.data.dataPoints.length : 0;
  if (batch.resourceLogs) for (const rl of batch.resourceLogs) for (const sl of rl.scopeLogs) logs += sl.logRecords.length;
  if (batch.alerts) for (const n of batch.alerts) alerts += n.alerts.length;
  const e = batch.encoded;
  if (e) {
    if (e.signal === 'traces') traces += e.items;
    else if (e.signal === 'metrics') metrics += e.items;
    else logs += e.items;
  }
  return { traces, metrics, logs, alerts };
}

/** Whether a batch carries nothing. */
export function isEmpty(batch: Batch): boolean {
  return !(
    (batch.resourceSpans && batch.resourceSpans.length) ||
    (batch.resourceMetrics && batch.resourceMetrics.length) ||
    (batch.resourceLogs && batch.resourceLogs.length) ||
    (batch.alerts && batch.alerts.length) ||
    (batch.encoded && batch.encoded.items)
  );
}

/** The part of a batch that carries one signal only (shares the arrays; does not copy). */
export function pickSignal(batch: Batch, signal: SignalName): Batch {
  if (batch.encoded) return batch.encoded.signal === signal ? { encoded: batch.encoded } : {};
  switch (signal) {
    case 'traces':
      return batch.resourceSpans ? { resourceSpans: batch.resourceSpans } : {};
    case 'metrics':
      return batch.resourceMetrics ? { resourceMetrics: batch.resourceMetrics } : {};
    case 'logs':
      return batch.resourceLogs ? { resourceLogs: batch.resourceLogs } : {};
    case 'alerts':
      return batch.alerts ? { alerts: batch.alerts } : {};
  }
}

/** A deep copy of a batch (bigints and byte arrays included). */
export function cloneBatch(batch: Batch): Batch {
  // Encoded bytes are never changed: the copies share them.
  if (batch.encoded) return { encoded: batch.encoded };
  return structuredClone(batch);
}
