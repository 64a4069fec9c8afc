/** fast-check arbitraries for vigil's signal model (shared by the intake codec property tests). */
import fc from 'fast-check';
import type {
  AnyValue,
  Batch,
  Exemplar,
  InstrumentationScope,
  KeyValue,
  LogRecord,
  Metric,
  MetricData,
  Resource,
  Span,
} from '../src/model.ts';

const hex = (bytes: number) =>
  fc.oneof({ arbitrary: fc.constant(''), weight: 1 }, { arbitrary: fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex')), weight: 4 });
const traceId = hex(16);
const spanId = hex(8);
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const u32 = fc.nat({ max: 0xffffffff });
const small = fc.nat({ max: 1000 });
const count = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const str = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ minLength: 100, maxLength: 300 }));
const double = fc.double();

export const anyValue: fc.Arbitrary<AnyValue> = fc.letrec<{ v: AnyValue; kv: KeyValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    str,
    fc.boolean(),
    i64,
    double,
    fc.uint8Array({ maxLength: 40 }),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.array(tie('kv'), { maxLength: 4 }).map((kvlist) => ({ kvlist })),
  ),
  kv: fc.record({ key: str, value: tie('v') }),
})).v;

export const keyValue: fc.Arbitrary<KeyValue> = fc.record({ key: str, value: anyValue });
const attrs = fc.array(keyValue, { maxLength: 4 });
const resource: fc.Arbitrary<Resource> = fc.record({ attributes: attrs, droppedAttributesCount: small });
const scope: fc.Arbitrary<InstrumentationScope> = fc.record({ name: str, version: str, attributes: attrs, droppedAttributesCount: small });

/** What varies between the callers: the id and metric-name arbitraries. */
export interface ItemArbitraries {
  /** A span's trace_id and span_id. */
  traceId: fc.Arbitrary<string>;
  spanId: fc.Arbitrary<string>;
  /** Every other id: parent span, links, exemplars, log records. */
  otherTraceId: fc.Arbitrary<string>;
  otherSpanId: fc.Arbitrary<string>;
  metricName: fc.Arbitrary<string>;
}

const list = <T>(a: fc.Arbitrary<T>, n = 3) => fc.array(a, { maxLength: n });

/** Batches of each signal, with the given ids and metric names. */
export function signalBatches(ids: ItemArbitraries): Record<'traces' | 'metrics' | 'logs', fc.Arbitrary<Batch>> {
  const span: fc.Arbitrary<Span> = fc.record({
    traceId: ids.traceId,
    spanId: ids.spanId,
    traceState: str,
    parentSpanId: ids.otherSpanId,
    flags: u32,
    name: str,
    kind: fc.integer({ min: 0, max: 5 }),
    startTimeUnixNano: u64,
    endTimeUnixNano: u64,
    attributes: attrs,
    droppedAttributesCount: small,
    events: fc.array(fc.record({ timeUnixNano: u64, name: str, attributes: attrs, droppedAttributesCount: small }), { maxLength: 3 }),
    droppedEventsCount: small,
    links: fc.array(fc.record({ traceId: ids.otherTraceId, spanId: ids.otherSpanId, traceState: str, attributes: attrs, droppedAttributesCount: small, flags: u32 }), { maxLength: 3 }),
    droppedLinksCount: small,
    status: fc.record({ message: str, code: fc.integer({ min: 0, max: 2 }) }),
  });

  const pointValue = fc.oneof(double, i64);
  const exemplar: fc.Arbitrary<Exemplar> = fc.record({ filteredAttributes: attrs, timeUnixNano: u64, value: pointValue, spanId: ids.otherSpanId, traceId: ids.otherTraceId });
  const exemplars = fc.array(exemplar, { maxLength: 2 });
  const base = { attributes: attrs, startTimeUnixNano: u64, timeUnixNano: u64, flags: u32 };
  const temporality = fc.integer({ min: 0, max: 2 });

  const metricData: fc.Arbitrary<MetricData | undefined> = fc.oneof(
    fc.constant(undefined),
    fc.record({ type: fc.constant('gauge' as const), dataPoints: fc.array(fc.record({ ...base, value: pointValue, exemplars }), { maxLength: 3 }) }),
    fc.record({
      type: fc.constant('sum' as const),
      dataPoints: fc.array(fc.record({ ...base, value: pointValue, exemplars }), { maxLength: 3 }),
      aggregationTemporality: temporality,
      isMonotonic: fc.boolean(),
    }),
    fc.record({
      type: fc.constant('histogram' as const),
      dataPoints: fc.array(
        fc.record(
          { ...base, count, sum: double, bucketCounts: fc.array(count, { maxLength: 5 }), explicitBounds: fc.array(double, { maxLength: 4 }), exemplars, min: double, max: double },
          { requiredKeys: ['attributes', 'startTimeUnixNano', 'timeUnixNano', 'flags', 'count', 'bucketCounts', 'explicitBounds', 'exemplars'] },
        ),
        { maxLength: 3 },
      ),
      aggregationTemporality: temporality,
    }),
    fc.record({
      type: fc.constant('exponentialHistogram' as const),
      dataPoints: fc.array(
        fc.record(
          {
            ...base,
            count,
            sum: double,
            scale: fc.integer({ min: -10, max: 20 }),
            zeroCount: count,
            positive: fc.record({ offset: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), bucketCounts: fc.array(count, { maxLength: 5 }) }),
            negative: fc.record({ offset: fc.integer({ min: -100, max: 100 }), bucketCounts: fc.array(count, { maxLength: 5 }) }),
            exemplars,
            min: double,
            max: double,
            zeroThreshold: double,
          },
          { requiredKeys: ['attributes', 'startTimeUnixNano', 'timeUnixNano', 'flags', 'count', 'scale', 'zeroCount', 'positive', 'negative', 'exemplars', 'zeroThreshold'] },
        ),
        { maxLength: 3 },
      ),
      aggregationTemporality: temporality,
    }),
    fc.record({
      type: fc.constant('summary' as const),
      dataPoints: fc.array(
        fc.record({ ...base, count, sum: double, quantileValues: fc.array(fc.record({ quantile: double, value: double }), { maxLength: 3 }) }),
        { maxLength: 3 },
      ),
    }),
  );

  const metric: fc.Arbitrary<Metric> = fc.record({ name: ids.metricName, description: str, unit: str, metadata: attrs, data: metricData });

  const logRecord: fc.Arbitrary<LogRecord> = fc.record({
    timeUnixNano: u64,
    observedTimeUnixNano: u64,
    severityNumber: fc.integer({ min: 0, max: 24 }),
    severityText: str,
    body: anyValue,
    attributes: attrs,
    droppedAttributesCount: small,
    flags: u32,
    traceId: ids.otherTraceId,
    spanId: ids.otherSpanId,
    eventName: str,
  });

  const traces: fc.Arbitrary<Batch> = list(
    fc.record({ resource, scopeSpans: list(fc.record({ scope, spans: list(span), schemaUrl: str })), schemaUrl: str }),
  ).map((resourceSpans) => ({ resourceSpans }));
  const metrics: fc.Arbitrary<Batch> = list(
    fc.record({ resource, scopeMetrics: list(fc.record({ scope, metrics: list(metric), schemaUrl: str })), schemaUrl: str }),
  ).map((resourceMetrics) => ({ resourceMetrics }));
  const logs: fc.Arbitrary<Batch> = list(
    fc.record({ resource, scopeLogs: list(fc.record({ scope, logRecords: list(logRecord), schemaUrl: str })), schemaUrl: str }),
  ).map((resourceLogs) => ({ resourceLogs }));
  return { traces, metrics, logs };
}

/** Ids present or empty (rarely all zero), any metric name: what the codec tests round-trip. */
export const { traces: tracesBatch, metrics: metricsBatch, logs: logsBatch } = signalBatches({
  traceId,
  spanId,
  otherTraceId: traceId,
  otherSpanId: spanId,
  metricName: str,
});
