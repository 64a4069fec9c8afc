/**
 * Decoders of ExportMetricsServiceRequest's messages: ResourceMetrics, ScopeMetrics, Metric and its five
 * data kinds (gauge, sum, histogram, exponential histogram, summary), their points and exemplars.
 */
import type { Exemplar, ExponentialHistogramBuckets, ExponentialHistogramDataPoint, HistogramDataPoint, InstrumentationScope, KeyValue, Metric, MetricData, NumberDataPoint, Resource, ResourceMetrics, ScopeMetrics, SummaryDataPoint, ValueAtQuantile } from '../model.ts';
import { DECODED_BYTES, VARINT, I64, Reader } from './proto-wire.ts';
import { F_RESOURCE_METRICS, F_SCOPE_METRICS, F_METRIC, F_GAUGE, F_SUM, F_NUMBER_DP, F_HIST_DP, F_EXP_DP, F_BUCKETS, F_SUMMARY_DP, F_QUANTILE, F_EXEMPLAR } from './proto-fields.ts';
import { sub, kvAt, field, idField, decResource, decScope, EMPTY_RESOURCE, EMPTY_SCOPE } from './proto-decode-common.ts';

/** Decodes a ResourceMetrics (its ScopeMetrics, Metrics, points and exemplars). */
export function decResourceMetrics(r: Reader): ResourceMetrics {
  let resource: Resource | undefined;
  const scopeMetrics: ScopeMetrics[] = [];
  let schemaUrl = '';
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 18 /* t(2, LEN) */) scopeMetrics.push(sub(r, decScopeMetrics, 'scope_metrics', scopeMetrics.length));
    else if (tag === 10 /* t(1, LEN) */) resource = sub(r, decResource, 'resource', -1);
    else if (tag === 26 /* t(3, LEN) */) schemaUrl = r.string();
    else r.skip(tag, F_RESOURCE_METRICS, 'ResourceMetrics');
  }
  return { resource: resource ?? EMPTY_RESOURCE(), scopeMetrics, schemaUrl };
}

function decScopeMetrics(r: Reader): ScopeMetrics {
  let scope: InstrumentationScope | undefined;
  const metrics: Metric[] = [];
  let schemaUrl = '';
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 18 /* t(2, LEN) */) metrics.push(sub(r, decMetric, 'metrics', metrics.length));
    else if (tag === 10 /* t(1, LEN) */) scope = sub(r, decScope, 'scope', -1);
    else if (tag === 26 /* t(3, LEN) */) schemaUrl = r.string();
    else r.skip(tag, F_SCOPE_METRICS, 'ScopeMetrics');
  }
  return { scope: scope ?? EMPTY_SCOPE(), metrics, schemaUrl };
}

function decMetric(r: Reader): Metric {
  r.count(DECODED_BYTES.metric);
  let name = '';
  let description = '';
  let unit = '';
  const metadata: KeyValue[] = [];
  let data: MetricData | undefined;
  while (r.pos < r.limit) {
    const tag = r.varint();
    switch (tag) {
      case 10 /* t(1, LEN) */:
        name = r.string();
        break;
      case 18 /* t(2, LEN) */:
        description = r.string();
        break;
      case 26 /* t(3, LEN) */:
        unit = r.string();
        break;
      case 42 /* t(5, LEN) */:
        data = sub(r, decGauge, 'gauge', -1);
        break;
      case 58 /* t(7, LEN) */:
        data = sub(r, decSum, 'sum', -1);
        break;
      case 74 /* t(9, LEN) */:
        data = sub(r, decHistogram, 'histogram', -1);
        break;
      case 82 /* t(10, LEN) */:
        data = sub(r, decExpHistogram, 'exponential_histogram', -1);
        break;
      case 90 /* t(11, LEN) */:
        data = sub(r, decSummary, 'summary', -1);
        break;
      case 98 /* t(12, LEN) */:
        metadata.push(kvAt(r, 'metadata', metadata.length));
        break;
      default:
        r.skip(tag, F_METRIC, 'Metric');
    }
  }
  return { name, description, unit, metadata, data };
}

function decGauge(r: Reader): MetricData {
  const dataPoints: NumberDataPoint[] = [];
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 10 /* t(1, LEN) */) dataPoints.push(sub(r, decNumberPoint, 'data_points', dataPoints.length));
    else r.skip(tag, F_GAUGE, 'Gauge');
  }
  return { type: 'gauge', dataPoints };
}

function decSum(r: Reader): MetricData {
  const dataPoints: NumberDataPoint[] = [];
  let temporality = 0;
  let monotonic = false;
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 10 /* t(1, LEN) */) dataPoints.push(sub(r, decNumberPoint, 'data_points', dataPoints.length));
    else if (tag === 16 /* t(2, VARINT) */) temporality = r.varint() | 0;
    else if (tag === 24 /* t(3, VARINT) */) monotonic = r.varint() !== 0;
    else r.skip(tag, F_SUM, 'Sum');
  }
  return { type: 'sum', dataPoints, aggregationTemporality: temporality, isMonotonic: monotonic };
}

function decHistogram(r: Reader): MetricData {
  const dataPoints: HistogramDataPoint[] = [];
  let temporality = 0;
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 10 /* t(1, LEN) */) dataPoints.push(sub(r, decHistogramPoint, 'data_points', dataPoints.length));
    else if (tag === 16 /* t(2, VARINT) */) temporality = r.varint() | 0;
    else r.skip(tag, F_SUM, 'Histogram');
  }
  return { type: 'histogram', dataPoints, aggregationTemporality: temporality };
}

function decExpHistogram(r: Reader): MetricData {
  const dataPoints: ExponentialHistogramDataPoint[] = [];
  let temporality = 0;
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 10 /* t(1, LEN) */) dataPoints.push(sub(r, decExpHistogramPoint, 'data_points', dataPoints.length));
    else if (tag === 16 /* t(2, VARINT) */) temporality = r.varint() | 0;
    else r.skip(tag, F_SUM, 'ExponentialHistogram');
  }
  return { type: 'exponentialHistogram', dataPoints, aggregationTemporality: temporality };
}

function decSummary(r: Reader): MetricData {
  const dataPoints: SummaryDataPoint[] = [];
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 10 /* t(1, LEN) */) dataPoints.push(sub(r, decSummaryPoint, 'data_points', dataPoints.length));
    else r.skip(tag, F_GAUGE, 'Summary');
  }
  return { type: 'summary', dataPoints };
}

function decExemplar(r: Reader): Exemplar {
  const filteredAttributes: KeyValue[] = [];
  let time = 0n;
  let value: number | bigint = 0;
  let spanId = '';
  let traceId = '';
  while (r.pos < r.limit) {
    const tag = r.varint();
    switch (tag) {
      case 58 /* t(7, LEN) */:
        filteredAttributes.push(kvAt(r, 'filtered_attributes', filteredAttributes.length));
        break;
      case 17 /* t(2, I64) */:
        time = r.fixed64();
        break;
      case 25 /* t(3, I64) */:
        value = r.double();
        break;
      case 49 /* t(6, I64) */:
        value = r.sfixed64();
        break;
      case 34 /* t(4, LEN) */:
        spanId = idField(r, 8, 'span_id');
        break;
      case 42 /* t(5, LEN) */:
        traceId = idField(r, 16, 'trace_id');
        break;
      default:
        r.skip(tag, F_EXEMPLAR, 'Exemplar');
    }
  }
  return { filteredAttributes, timeUnixNano: time, value, spanId, traceId };
}

function decNumberPoint(r: Reader): NumberDataPoint {
  r.count(DECODED_BYTES.dataPoint);
  const attributes: KeyValue[] = [];
  let start = 0n;
  let time = 0n;
  let value: number | bigint = 0;
  const exemplars: Exemplar[] = [];
  let flags = 0;
  while (r.pos < r.limit) {
    const tag = r.varint();
    switch (tag) {
      case 58 /* t(7, LEN) */:
        attributes.push(kvAt(r, 'attributes', attributes.length));
        break;
      case 17 /* t(2, I64) */:
        start = r.fixed64();
        break;
      case 25 /* t(3, I64) */:
        time = r.fixed64();
        break;
      case 33 /* t(4, I64) */:
        value = r.double();
        break;
      case 49 /* t(6, I64) */:
        value = r.sfixed64();
        break;
      case 42 /* t(5, LEN) */:
        exemplars.push(sub(r, decExemplar, 'exemplars', exemplars.length));
        break;
      case 64 /* t(8, VARINT) */:
        flags = r.varint();
        break;
      default:
        r.skip(tag, F_NUMBER_DP, 'NumberDataPoint');
    }
  }
  return { attributes, startTimeUnixNano: start, timeUnixNano: time, value, exemplars, flags };
}

/** Repeated fixed64 (packed or not) into numbers. */
function readFixed64List(r: Reader, tag: number, out: number[]): void {
  if ((tag & 7) === I64) {
    out.push(r.fixed64Number());
    return;
  }
  const n = r.len();
  if (n % 8 !== 0) r.fail(`packed fixed64 length ${n} is not a multiple of 8`);
  const end = r.pos + n;
  r.count(n); // 8 bytes a number in the array, as many as the input
  while (r.pos < end) out.push(r.fixed64Number());
}

function readDoubleList(r: Reader, tag: number, out: number[]): void {
  if ((tag & 7) === I64) {
    out.push(r.double());
    return;
  }
  const n = r.len();
  if (n % 8 !== 0) r.fail(`packed double length ${n} is not a multiple of 8`);
  const end = r.pos + n;
  r.count(n);
  while (r.pos < end) out.push(r.double());
}

function readVarintList(r: Reader, tag: number, out: number[]): void {
  if ((tag & 7) === VARINT) {
    out.push(r.varintNumber());
    return;
  }
  const saved = r.enter();
  r.count(8 * (r.limit - r.pos)); // up to one number (8 bytes) per input byte
  while (r.pos < r.limit) out.push(r.varintNumber());
  r.leave(saved);
}

function decHistogramPoint(r: Reader): HistogramDataPoint {
  r.count(DECODED_BYTES.dataPoint);
  const attributes: KeyValue[] = [];
  let start = 0n;
  let time = 0n;
  let count = 0;
  let sum: number | undefined;
  const bucketCounts: number[] = [];
  const explicitBounds: number[] = [];
  const exemplars: Exemplar[] = [];
  let flags = 0;
  let min: number | undefined;
  let max: number | undefined;
  while (r.pos < r.limit) {
    const tag = r.varint();
    switch (tag) {
      case 74 /* t(9, LEN) */:
        attributes.push(kvAt(r, 'attributes', attributes.length));
        break;
      case 17 /* t(2, I64) */:
        start = r.fixed64();
        break;
      case 25 /* t(3, I64) */:
        time = r.fixed64();
        break;
      case 33 /* t(4, I64) */:
        count = r.fixed64Number();
        break;
      case 41 /* t(5, I64) */:
        sum = r.double();
        break;
      case 50 /* t(6, LEN) */:
      case 49 /* t(6, I64) */:
        field(r, (rr) => readFixed64List(rr, tag, bucketCounts), 'bucket_counts');
        break;
      case 58 /* t(7, LEN) */:
      case 57 /* t(7, I64) */:
        field(r, (rr) => readDoubleList(rr, tag, explicitBounds), 'explicit_bounds');
        break;
      case 66 /* t(8, LEN) */:
        exemplars.push(sub(r, decExemplar, 'exemplars', exemplars.length));
        break;
      case 80 /* t(10, VARINT) */:
        flags = r.varint();
        break;
      case 89 /* t(11, I64) */:
        min = r.double();
        break;
      case 97 /* t(12, I64) */:
        max = r.double();
        break;
      default:
        r.skip(tag, F_HIST_DP, 'HistogramDataPoint');
    }
  }
  const p: HistogramDataPoint = { attributes, startTimeUnixNano: start, timeUnixNano: time, count, bucketCounts, explicitBounds, exemplars, flags };
  if (sum !== undefined) p.sum = sum;
  if (min !== undefined) p.min = min;
  if (max !== undefined) p.max = max;
  return p;
}

function decBuckets(r: Reader): ExponentialHistogramBuckets {
  let offset = 0;
  const bucketCounts: number[] = [];
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 8 /* t(1, VARINT) */) {
      const z = r.varint();
      offset = (z >>> 1) ^ -(z & 1);
    } else if (tag === 18 /* t(2, LEN) */ || tag === 16 /* t(2, VARINT) */) readVarintList(r, tag, bucketCounts);
    else r.skip(tag, F_BUCKETS, 'Buckets');
  }
  return { offset, bucketCounts };
}

function decExpHistogramPoint(r: Reader): ExponentialHistogramDataPoint {
  r.count(DECODED_BYTES.dataPoint);
  const attributes: KeyValue[] = [];
  let start = 0n;
  let time = 0n;
  let count = 0;
  let sum: number | undefined;
  let scale = 0;
  let zeroCount = 0;
  let positive: ExponentialHistogramBuckets | undefined;
  let negative: ExponentialHistogramBuckets | undefined;
  let flags = 0;
  const exemplars: Exemplar[] = [];
  let min: number | undefined;
  let max: number | undefined;
  let zeroThreshold = 0;
  while (r.pos < r.limit) {
    const tag = r.varint();
    switch (tag) {
      case 10 /* t(1, LEN) */:
        attributes.push(kvAt(r, 'attributes', attributes.length));
        break;
      case 17 /* t(2, I64) */:
        start = r.fixed64();
        break;
      case 25 /* t(3, I64) */:
        time = r.fixed64();
        break;
      case 33 /* t(4, I64) */:
        count = r.fixed64Number();
        break;
      case 41 /* t(5, I64) */:
        sum = r.double();
        break;
      case 48 /* t(6, VARINT) */: {
        const z = r.varint();
        scale = (z >>> 1) ^ -(z & 1);
        break;
      }
      case 57 /* t(7, I64) */:
        zeroCount = r.fixed64Number();
        break;
      case 66 /* t(8, LEN) */:
        positive = sub(r, decBuckets, 'positive', -1);
        break;
      case 74 /* t(9, LEN) */:
        negative = sub(r, decBuckets, 'negative', -1);
        break;
      case 80 /* t(10, VARINT) */:
        flags = r.varint();
        break;
      case 90 /* t(11, LEN) */:
        exemplars.push(sub(r, decExemplar, 'exemplars', exemplars.length));
        break;
      case 97 /* t(12, I64) */:
        min = r.double();
        break;
      case 105 /* t(13, I64) */:
        max = r.double();
        break;
      case 113 /* t(14, I64) */:
        zeroThreshold = r.double();
        break;
      default:
        r.skip(tag, F_EXP_DP, 'ExponentialHistogramDataPoint');
    }
  }
  const p: ExponentialHistogramDataPoint = {
    attributes,
    startTimeUnixNano: start,
    timeUnixNano: time,
    count,
    scale,
    zeroCount,
    positive: positive ?? { offset: 0, bucketCounts: [] },
    negative: negative ?? { offset: 0, bucketCounts: [] },
    flags,
    exemplars,
    zeroThreshold,
  };
  if (sum !== undefined) p.sum = sum;
  if (min !== undefined) p.min = min;
  if (max !== undefined) p.max = max;
  return p;
}

function decQuantile(r: Reader): ValueAtQuantile {
  let quantile = 0;
  let value = 0;
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 9 /* t(1, I64) */) quantile = r.double();
    else if (tag === 17 /* t(2, I64) */) value = r.double();
    else r.skip(tag, F_QUANTILE, 'ValueAtQuantile');
  }
  return { quantile, value };
}

function decSummaryPoint(r: Reader): SummaryDataPoint {
  r.count(DECODED_BYTES.dataPoint);
  const attributes: KeyValue[] = [];
  let start = 0n;
  let time = 0n;
  let count = 0;
  let sum = 0;
  const quantileValues: ValueAtQuantile[] = [];
  let flags = 0;
  while (r.pos < r.limit) {
    const tag = r.varint();
    switch (tag) {
      case 58 /* t(7, LEN) */:
        attributes.push(kvAt(r, 'attributes', attributes.length));
        break;
      case 17 /* t(2, I64) */:
        start = r.fixed64();
        break;
      case 25 /* t(3, I64) */:
        time = r.fixed64();
        break;
      case 33 /* t(4, I64) */:
        count = r.fixed64Number();
        break;
      case 41 /* t(5, I64) */:
        sum = r.double();
        break;
      case 50 /* t(6, LEN) */:
        quantileValues.push(sub(r, decQuantile, 'quantile_values', quantileValues.length));
        break;
      case 64 /* t(8, VARINT) */:
        flags = r.varint();
        break;
      default:
        r.skip(tag, F_SUMMARY_DP, 'SummaryDataPoint');
    }
  }
  return { attributes, startTimeUnixNano: start, timeUnixNano: time, count, sum, quantileValues, flags };
}
