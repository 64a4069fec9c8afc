import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import {
  AggregationTemporality,
  type Batch,
  type ExponentialHistogramDataPoint,
  type HistogramDataPoint,
  type KeyValue,
  type MetricData,
  type SummaryDataPoint,
  emptyScope,
} from '../model.ts';
import { ServiceTelemetry } from '../telemetry.ts';
import { counterValue } from '../../test/percentiles-helpers.ts';
import { MetricStreamReader, type MetricPointVisitor } from './metric-stream-reader.ts';

const T0 = 1_800_000_000_000; // ms: the reader's "now" at creation

function batch(data: MetricData, resource: KeyValue[] = [{ key: 'service.name', value: 'api' }], name = 'm', unit = ''): Batch {
  return {
    resourceMetrics: [
      {
        resource: { attributes: resource, droppedAttributesCount: 0 },
        scopeMetrics: [{ scope: emptyScope('sdk'), metrics: [{ name, description: '', unit, metadata: [], data }], schemaUrl: '' }],
        schemaUrl: '',
      },
    ],
  };
}

const ns = (ms: number) => BigInt(ms) * 1_000_000n;

function sum(value: number, startMs: number, timeMs: number, attrs: KeyValue[] = [], temporality = AggregationTemporality.Cumulative, monotonic = true): MetricData {
  return {
    type: 'sum',
    isMonotonic: monotonic,
    aggregationTemporality: temporality,
    dataPoints: [{ attributes: attrs, startTimeUnixNano: startMs ? ns(startMs) : 0n, timeUnixNano: ns(timeMs), value, exemplars: [], flags: 0 }],
  };
}

function hist(counts: number[], bounds: number[], sumv: number, startMs: number, timeMs: number): MetricData {
  return {
    type: 'histogram',
    aggregationTemporality: AggregationTemporality.Cumulative,
    dataPoints: [
      { attributes: [], startTimeUnixNano: ns(startMs), timeUnixNano: ns(timeMs), count: counts.reduce((a, b) => a + b, 0), sum: sumv, bucketCounts: counts, explicitBounds: bounds, exemplars: [], flags: 0, min: 1, max: 999 },
    ],
  };
}

function expo(scale: number, offset: number, counts: number[], startMs: number, timeMs: number, zero = 0): MetricData {
  const dp: ExponentialHistogramDataPoint = {
    attributes: [],
    startTimeUnixNano: ns(startMs),
    timeUnixNano: ns(timeMs),
    count: counts.reduce((a, b) => a + b, zero),
    sum: 100,
    scale,
    zeroCount: zero,
    positive: { offset, bucketCounts: counts },
    negative: { offset: 0, bucketCounts: [] },
    flags: 0,
    exemplars: [],
    zeroThreshold: 0,
  };
  return { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Cumulative, dataPoints: [dp] };
}

/** A reader on a settable clock, and what it handed over. */
function setup(opts: { maxStreams?: number; idleMs?: number } = {}) {
  let now = T0;
  const telemetry = new ServiceTelemetry();
  const reader = new MetricStreamReader({
    component: 'test',
    logger: silentLogger(),
    telemetry: telemetry.forComponent('processor', 'test'),
    maxStreams: opts.maxStreams ?? 100,
    idleMs: opts.idleMs,
    now: () => now,
  });
  const seen: { kind: string; delta: unknown }[] = [];
  const visitor: MetricPointVisitor = {
    number: (_c, d) => seen.push({ kind: 'number', delta: d }),
    histogram: (_c, d) => seen.push({ kind: 'histogram', delta: d && { count: d.count, sum: d.sum, bucketCounts: d.bucketCounts, explicitBounds: d.explicitBounds, min: d.min } }),
    exponentialHistogram: (_c, d) => seen.push({ kind: 'exp', delta: d && { count: d.count, scale: d.scale, zeroCount: d.zeroCount, positive: d.positive } }),
    summary: (_c, d) => seen.push({ kind: 'summary', delta: d && { count: d.count, sum: d.sum } }),
  };
  const read = (b: Batch) => {
    seen.length = 0;
    reader.read(b, () => true, visitor);
    return seen.map((s) => s.delta);
  };
  const skipped = (reason: string) => counterValue(telemetry, 'vigil_processor_metric_points_skipped', { processor: 'test', reason });
  return { reader, read, skipped, telemetry, advance: (ms: number) => (now += ms) };
}

describe('metric stream reader: cumulative sums', () => {
  it('takes the first point of a stream that started before it as a baseline, then hands over increments', async () => {
    const { read, skipped } = setup();
    const start = T0 - 3_600_000;
    expect(read(batch(sum(1000, start, T0 + 1000)))).toEqual([undefined]);
    expect(read(batch(sum(1020, start, T0 + 2000)))).toEqual([20]);
    expect(read(batch(sum(1020, start, T0 + 3000)))).toEqual([0]);
    expect(await skipped('cumulative_baseline')).toBe(1);
  });

  it('counts a stream that started after it whole, and so a restart after the previous point', async () => {
    const { read } = setup();
    expect(read(batch(sum(5, T0 + 10, T0 + 1000)))).toEqual([5]);
    expect(read(batch(sum(8, T0 + 10, T0 + 2000)))).toEqual([3]);
    // the sender restarted after the previous point: everything since its new start is new, even if higher
    expect(read(batch(sum(30, T0 + 2500, T0 + 3000)))).toEqual([30]);
    // a drop is a reset whatever the start time says (start unknown here)
    expect(read(batch(sum(40, T0 + 2500, T0 + 4000)))).toEqual([10]);
    expect(read(batch(sum(4, T0 + 2500, T0 + 5000)))).toEqual([4]);
  });

  it('skips duplicates and late points, and re-baselines a start time it cannot place', async () => {
    const { read, skipped } = setup();
    expect(read(batch(sum(5, T0 + 10, T0 + 1000)))).toEqual([5]);
    expect(read(batch(sum(5, T0 + 10, T0 + 1000)))).toEqual([]);
    expect(read(batch(sum(6, T0 + 10, T0 + 900)))).toEqual([]);
    expect(await skipped('out_of_order')).toBe(2);
    // another sender with the same identity, started before our last point, higher value: not placeable
    expect(read(batch(sum(50, T0 + 500, T0 + 1100)))).toEqual([undefined]);
    expect(await skipped('conflicting_start_time')).toBe(1);
    expect(read(batch(sum(52, T0 + 500, T0 + 1200)))).toEqual([2]);
  });

  it('lets a non-monotonic sum go down (an up-down counter), and passes delta sums and gauges as they are', () => {
    const { read } = setup();
    expect(read(batch(sum(10, T0 + 1, T0 + 1000, [], AggregationTemporality.Cumulative, false)))).toEqual([10]);
    expect(read(batch(sum(4, T0 + 1, T0 + 2000, [], AggregationTemporality.Cumulative, false)))).toEqual([-6]);
    expect(read(batch(sum(7, T0 - 9, T0 + 2000, [], AggregationTemporality.Delta)))).toEqual([7]);
    expect(read(batch(sum(7, T0 - 9, T0 + 2000, [], AggregationTemporality.Delta)))).toEqual([7]);
    expect(read(batch({ type: 'gauge', dataPoints: [{ attributes: [], startTimeUnixNano: 0n, timeUnixNano: ns(T0), value: 2.5, exemplars: [], flags: 0 }] }))).toEqual([2.5]);
  });

  it('refuses a negative value of a monotonic sum (delta or cumulative) as malformed, never a negative increase; an up-down counter may be negative', async () => {
    const { read, skipped } = setup();
    expect(read(batch(sum(-5, T0 - 9, T0 + 1000, [], AggregationTemporality.Delta)))).toEqual([]);
    expect(read(batch({ ...sum(0, T0 - 9, T0 + 1000, [], AggregationTemporality.Delta), dataPoints: [{ attributes: [], startTimeUnixNano: 0n, timeUnixNano: ns(T0 + 1000), value: -3n, exemplars: [], flags: 0 }] } as MetricData))).toEqual([]);
    expect(read(batch(sum(5, T0 + 10, T0 + 1000)))).toEqual([5]);
    expect(read(batch(sum(-2, T0 + 10, T0 + 2000)))).toEqual([]);
    expect(await skipped('malformed')).toBe(3);
    // the stream goes on from its last good point
    expect(read(batch(sum(9, T0 + 10, T0 + 3000)))).toEqual([4]);
    expect(read(batch(sum(-5, T0 - 9, T0 + 1000, [], AggregationTemporality.Delta, false)))).toEqual([-5]);
    expect(read(batch(sum(-5, T0 + 10, T0 + 1000, [{ key: 'k', value: 'v' }], AggregationTemporality.Cumulative, false)))).toEqual([-5]);
  });

  it('subtracts int64 values exactly: a counter past 2^53 gives its true increments, and a drop of 1 is a reset', () => {
    const { read } = setup();
    const big = (value: bigint, timeMs: number): MetricData => ({ ...sum(0, T0 - 60_000, timeMs), dataPoints: [{ ...(sum(0, T0 - 60_000, timeMs).dataPoints[0] as { attributes: KeyValue[] }), value } as never] });
    const base = 2n ** 60n; // bytes: an exabyte
    expect(read(batch(big(base, T0 + 1000)))).toEqual([undefined]);
    expect(read(batch(big(base + 3n, T0 + 2000)))).toEqual([3]);
    expect(read(batch(big(base + 1003n, T0 + 3000)))).toEqual([1000]);
    // one less: a reset (the point whole), not an increment of 0
    expect(read(batch(big(base + 1002n, T0 + 4000)))).toEqual([Number(base + 1002n)]);
  });

  it('keys streams by the OTLP identity: resource values, scope, unit, point attribute values and their types', () => {
    const { read, reader } = setup();
    const start = T0 + 1;
    const replica = (id: string) => [
      { key: 'service.name', value: 'api' },
      { key: 'service.instance.id', value: id },
    ];
    // two replicas with the same number of resource attributes: two streams, each counted whole once
    expect(read(batch(sum(100, start, T0 + 1000), replica('a')))).toEqual([100]);
    expect(read(batch(sum(7, start, T0 + 1000), replica('b')))).toEqual([7]);
    expect(read(batch(sum(110, start, T0 + 2000), replica('a')))).toEqual([10]);
    expect(read(batch(sum(9, start, T0 + 2000), replica('b')))).toEqual([2]);
    // "3", 3 (int64) and 3.0 (double) are three attribute values; the order of attributes does not matter
    const a = (v: KeyValue['value']) => [{ key: 'code', value: v }, { key: 'a', value: 'x' }];
    expect(read(batch(sum(1, start, T0 + 1000, a('3'))))).toEqual([1]);
    expect(read(batch(sum(1, start, T0 + 1000, a(3n))))).toEqual([1]);
    expect(read(batch(sum(1, start, T0 + 1000, a(3))))).toEqual([1]);
    expect(read(batch(sum(2, start, T0 + 2000, [{ key: 'a', value: 'x' }, { key: 'code', value: 3n }])))).toEqual([1]);
    // another unit or scope is another stream
    expect(read(batch(sum(5, start, T0 + 1000), undefined, 'm', 'ms'))).toEqual([5]);
    expect(reader.size).toBe(6);
  });
});

describe('metric stream reader: histograms and summaries', () => {
  it('subtracts explicit buckets, and counts a reset (a drop) whole with its min and max', () => {
    const { read } = setup();
    const start = T0 - 60_000;
    expect(read(batch(hist([1, 2, 0], [10, 100], 100, start, T0 + 1000)))).toEqual([undefined]);
    expect(read(batch(hist([1, 5, 1], [10, 100], 400, start, T0 + 2000)))).toEqual([{ count: 4, sum: 300, bucketCounts: [0, 3, 1], explicitBounds: [10, 100], min: undefined }]);
    expect(read(batch(hist([0, 1, 0], [10, 100], 50, start, T0 + 3000)))).toEqual([{ count: 1, sum: 50, bucketCounts: [0, 1, 0], explicitBounds: [10, 100], min: 1 }]);
  });

  it('a bucket that went down is a reset whatever the start time says, even when the count grew (not a conflicting start)', async () => {
    const { read, skipped } = setup();
    const start = T0 - 60_000;
    const at = (d: MetricData, startMs: number): MetricData => ((d.dataPoints[0] as HistogramDataPoint).startTimeUnixNano = ns(startMs), d);
    read(batch(hist([1, 5, 0], [10, 100], 100, start, T0 + 1000)));
    // a new start time before the previous point, the count grew (6 -> 7) but bucket (10, 100] went down
    expect(read(batch(at(hist([4, 2, 1], [10, 100], 90, start, T0 + 2000), start + 500)))).toEqual([{ count: 7, sum: 90, bucketCounts: [4, 2, 1], explicitBounds: [10, 100], min: 1 }]);
    expect(await skipped('conflicting_start_time')).toBe(0);
    // the same for an exponential histogram's bucket
    const e = (counts: number[], timeMs: number, startMs: number) => {
      const d = expo(0, 2, counts, startMs, timeMs);
      d.dataPoints[0]!.attributes = [{ key: 'k', value: 'exp' }];
      return d;
    };
    read(batch(e([1, 5], T0 + 1000, start)));
    expect(read(batch(e([4, 3], T0 + 2000, start + 500)))).toEqual([{ count: 7, scale: 0, zeroCount: 0, positive: { offset: 2, bucketCounts: [4, 3] } }]);
    expect(await skipped('conflicting_start_time')).toBe(0);
  });

  it('a sum that went down is a reset even when the count grew (OTLP: the sum is monotonic), never a negative increment; unless the point shows negative values', () => {
    const { read } = setup();
    const start = T0 - 60_000;
    read(batch(hist([1, 5, 0], [10, 100], 100, start, T0 + 1000)));
    expect(read(batch(hist([1, 5, 1], [10, 100], 40, start, T0 + 2000)))).toEqual([{ count: 7, sum: 40, bucketCounts: [1, 5, 1], explicitBounds: [10, 100], min: 1 }]);
    const summary = (count: number, s: number, timeMs: number): MetricData => ({
      type: 'summary',
      dataPoints: [{ attributes: [{ key: 'k', value: 's' }], startTimeUnixNano: ns(start), timeUnixNano: ns(timeMs), count, sum: s, quantileValues: [], flags: 0 } as SummaryDataPoint],
    });
    read(batch(summary(1000, 5000, T0 + 1000)));
    expect(read(batch(summary(1001, 10, T0 + 2000)))).toEqual([{ count: 1001, sum: 10 }]);
    // with negative values (min < 0) a sum may go down: a difference
    const neg = (counts: number[], s: number, timeMs: number): MetricData => {
      const d = hist(counts, [0, 100], s, start, timeMs);
      Object.assign(d.dataPoints[0]!, { attributes: [{ key: 'k', value: 'neg' }], min: -50 });
      return d;
    };
    read(batch(neg([1, 1, 0], 30, T0 + 1000)));
    expect(read(batch(neg([2, 1, 0], -10, T0 + 2000)))).toEqual([{ count: 1, sum: -40, bucketCounts: [1, 0, 0], explicitBounds: [0, 100], min: undefined }]);
  });

  it('on a change of bounds keeps count and sum exact and hands over a bucketless increment', () => {
    const { read } = setup();
    const start = T0 - 60_000;
    read(batch(hist([1, 2, 0], [10, 100], 100, start, T0 + 1000)));
    expect(read(batch(hist([1, 2, 3, 1], [5, 50, 500], 700, start, T0 + 2000)))).toEqual([{ count: 4, sum: 600, bucketCounts: [], explicitBounds: [], min: undefined }]);
    expect(read(batch(hist([1, 2, 3, 2], [5, 50, 500], 900, start, T0 + 3000)))).toEqual([{ count: 1, sum: 200, bucketCounts: [0, 0, 0, 1], explicitBounds: [5, 50, 500], min: undefined }]);
  });

  it('subtracts exponential buckets at the coarser of two scales', () => {
    const { read } = setup();
    const start = T0 + 1;
    // scale 1, buckets 4..7 = 1,1,1,1; then scale 0 (each pair merged): buckets 2..3 = 3,2
    expect(read(batch(expo(1, 4, [1, 1, 1, 1], start, T0 + 1000)))).toHaveLength(1);
    expect(read(batch(expo(0, 2, [3, 2], start, T0 + 2000)))).toEqual([{ count: 1, scale: 0, zeroCount: 0, positive: { offset: 2, bucketCounts: [1, 0] } }]);
    // a bucket that went down is a reset: the point whole
    expect(read(batch(expo(0, 2, [1, 2], start, T0 + 3000)))).toEqual([{ count: 3, scale: 0, zeroCount: 0, positive: { offset: 2, bucketCounts: [1, 2] } }]);
  });

  it('between a bucketless exponential point (count and sum only) and one with buckets, hands over count and sum without buckets, as for explicit bounds', () => {
    const { read } = setup();
    const start = T0 - 60_000;
    // a point with observations but no bucket (count and sum only)
    const bucketless = (count: number, timeMs: number): MetricData => {
      const d = expo(0, 0, [], start, timeMs);
      (d.dataPoints[0] as ExponentialHistogramDataPoint).count = count;
      return d;
    };
    const none = { offset: 0, bucketCounts: [] };
    expect(read(batch(bucketless(5, T0 + 1000)))).toEqual([undefined]);
    // 7 in buckets now: 2 new observations, not buckets holding 7 (which would disagree with the count)
    expect(read(batch(expo(0, 0, [3, 4], start, T0 + 2000)))).toEqual([{ count: 2, scale: 0, zeroCount: 0, positive: none }]);
    // bucketless again with count 9: 2 new ones, not a reset counting all 9
    expect(read(batch(bucketless(9, T0 + 3000)))).toEqual([{ count: 2, scale: 0, zeroCount: 0, positive: none }]);
    // then buckets again: exact from there on
    expect(read(batch(expo(0, 0, [5, 5], start, T0 + 4000)))).toEqual([{ count: 1, scale: 0, zeroCount: 0, positive: none }]);
    expect(read(batch(expo(0, 0, [6, 5], start, T0 + 5000)))).toEqual([{ count: 1, scale: 0, zeroCount: 0, positive: { offset: 0, bucketCounts: [1, 0] } }]);
  });

  it('turns summaries (cumulative by definition) into count and sum increments', () => {
    const { read } = setup();
    const point = (count: number, s: number, timeMs: number): MetricData => ({
      type: 'summary',
      dataPoints: [{ attributes: [], startTimeUnixNano: ns(T0 - 3_600_000), timeUnixNano: ns(timeMs), count, sum: s, quantileValues: [{ quantile: 0.5, value: 3 }], flags: 0 } as SummaryDataPoint],
    });
    expect(read(batch(point(1000, 5000, T0 + 1000)))).toEqual([undefined]);
    expect(read(batch(point(1010, 5200, T0 + 2000)))).toEqual([{ count: 10, sum: 200 }]);
  });

  it('skips malformed points with a reason and never throws', async () => {
    const { read, skipped } = setup();
    const bad: HistogramDataPoint = { attributes: [], startTimeUnixNano: 0n, timeUnixNano: ns(T0), count: 5, sum: 1, bucketCounts: [1, 1], explicitBounds: [10], exemplars: [], flags: 0 };
    expect(read(batch({ type: 'histogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [bad] }))).toEqual([]);
    expect(read(batch(expo(99, 0, [1], T0, T0 + 1)))).toEqual([]);
    expect(read(batch(sum(NaN, T0, T0 + 1)))).toEqual([]);
    expect(await skipped('malformed')).toBe(3);
    // a count of 0 with a sum (OTLP: must be 0), in each distribution type: no invented sum without a value
    const zero: HistogramDataPoint = { ...bad, count: 0, sum: 50, bucketCounts: [0, 0] };
    expect(read(batch({ type: 'histogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [zero] }))).toEqual([]);
    const zexp = expo(0, 0, [], T0, T0 + 1);
    (zexp.dataPoints[0] as ExponentialHistogramDataPoint).sum = 50;
    expect(read(batch(zexp))).toEqual([]);
    expect(read(batch({ type: 'summary', dataPoints: [{ attributes: [], startTimeUnixNano: ns(T0), timeUnixNano: ns(T0 + 1), count: 0, sum: 50, quantileValues: [], flags: 0 }] }))).toEqual([]);
    expect(await skipped('malformed')).toBe(6);
    // with a sum of 0 they are sound (no new observation)
    expect(read(batch({ type: 'histogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [{ ...zero, sum: 0 }] }))).toHaveLength(1);
    // a bucketless histogram (count and sum only) is valid
    const bare: HistogramDataPoint = { ...bad, bucketCounts: [], explicitBounds: [10, 20] };
    expect(read(batch({ type: 'histogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [bare] }))).toHaveLength(1);
  });
});

describe('metric stream reader: bounds', () => {
  it('forgets idle streams, and does not count their next point twice', async () => {
    const { read, reader, advance, telemetry } = setup({ idleMs: 60_000 });
    const start = T0 + 1;
    expect(read(batch(sum(5, start, T0 + 1000)))).toEqual([5]);
    advance(120_000);
    // (sweeps; a new stream that started before the forgotten one's last point is now a baseline too)
    expect(read(batch(sum(3, start, T0 + 1000), [{ key: 'other', value: 1n }]))).toEqual([undefined]);
    expect(reader.size).toBe(1);
    expect(await counterValue(telemetry, 'vigil_processor_metric_streams_removed', { processor: 'test', reason: 'idle' })).toBe(1);
    // the forgotten stream comes back: a baseline, not 5 + 2 counted again
    expect(read(batch(sum(7, start, T0 + 121_000)))).toEqual([undefined]);
    expect(read(batch(sum(9, start, T0 + 122_000)))).toEqual([2]);
  });

  it('holds at most maxStreams, forgetting the oldest, and shows the count on /metrics', async () => {
    const { read, reader, telemetry } = setup({ maxStreams: 3 });
    for (let i = 0; i < 5; i++) read(batch(sum(1, T0 + 1, T0 + 1000, [{ key: 'i', value: BigInt(i) }])));
    expect(reader.size).toBe(3);
    expect(await counterValue(telemetry, 'vigil_processor_metric_streams', { processor: 'test' })).toBe(3);
    expect(await counterValue(telemetry, 'vigil_processor_metric_streams_removed', { processor: 'test', reason: 'limit' })).toBe(2);
    reader.close();
    expect(await counterValue(telemetry, 'vigil_processor_metric_streams', { processor: 'test' })).toBe(0);
  });

  it('at the limit forgets the least recently used stream, not a busy one that came first', () => {
    const { read } = setup({ maxStreams: 3 });
    const p = (i: number, v: number, timeMs: number) => batch(sum(v, T0 + 1, timeMs, [{ key: 'i', value: BigInt(i) }]));
    for (let i = 0; i < 3; i++) read(p(i, 10, T0 + 1000));
    // stream 0 goes on; 1 and 2 are quiet; a new stream 3 comes
    expect(read(p(0, 12, T0 + 2000))).toEqual([2]);
    read(p(3, 1, T0 + 3000));
    // stream 0 is still held: an increment, not a baseline
    expect(read(p(0, 15, T0 + 4000))).toEqual([3]);
  });
});

