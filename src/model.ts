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

export type AnyValue = string | boolean | number | bigint | Uint8Array | AnyValue[] | KeyValueList | null;

export interface KeyValueList {
  kvlist: KeyValue[];
}

export interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface InstrumentationScope {
  name: string;
  version: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

// ---------------------------------------------------------------------------------------------- traces

export enum SpanKind {
  Unspecified = 0,
  Internal = 1,
  Server = 2,
  Client = 3,
  Producer = 4,
  Consumer = 5,
}

export enum StatusCode {
  Unset = 0,
  Ok = 1,
  Error = 2,
}

export interface Status {
  message: string;
  code: StatusCode;
}

export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  flags: number;
}

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

export interface ScopeSpans {
  scope: InstrumentationScope;
  spans: Span[];
  schemaUrl: string;
}

export interface ResourceSpans {
  resource: Resource;
  scopeSpans: ScopeSpans[];
  schemaUrl: string;
}

// --------------------------------------------------------------------------------------------- metrics

export enum AggregationTemporality {
  Unspecified = 0,
  Delta = 1,
  Cumulative = 2,
}

export interface Exemplar {
  filteredAttributes: KeyValue[];
  timeUnixNano: bigint;
  /** int64 as bigint, double as number (OTLP's `as_int` / `as_double`). */
  value: number | bigint;
  spanId: string;
  traceId: string;
}

export interface NumberDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  /** int64 as bigint, double as number (OTLP's `as_int` / `as_double`). */
  value: number | bigint;
  exemplars: Exemplar[];
  flags: number;
}

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

export interface ExponentialHistogramBuckets {
  offset: number;
  bucketCounts: number[];
}

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

export interface ValueAtQuantile {
  quantile: number;
  value: number;
}

export interface SummaryDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  count: number;
  sum: number;
  quantileValues: ValueAtQuantile[];
  flags: number;
}

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

export interface Metric {
  name: string;
  description: string;
  unit: string;
  metadata: KeyValue[];
  /** `undefined` only for a metric received with no data field at all (kept so that it round-trips). */
  data: MetricData | undefined;
}

export interface ScopeMetrics {
  scope: InstrumentationScope;
  metrics: Metric[];
  schemaUrl: string;
}

export interface ResourceMetrics {
  resource: Resource;
  scopeMetrics: ScopeMetrics[];
  schemaUrl: string;
}

// ------------------------------------------------------------------------------------------------ logs

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

export interface ScopeLogs {
  scope: InstrumentationScope;
  logRecords: LogRecord[];
  schemaUrl: string;
}

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

export type SignalName = 'traces' | 'metrics' | 'logs' | 'alerts';
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

export function emptyResource(): Resource {
  return { attributes: [], droppedAttributesCount: 0 };
}

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
