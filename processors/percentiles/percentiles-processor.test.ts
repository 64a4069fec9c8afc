import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AggregationTemporality,
  type Batch,
  type ExponentialHistogramDataPoint,
  type Metric,
  type NumberDataPoint,
  type ResourceMetrics,
  StatusCode,
  type SummaryDataPoint,
  emptyScope,
  getAttr,
} from '../../src/model.ts';
import { Sketch } from '../../src/sketch.ts';
import { ServiceTelemetry } from '../../src/telemetry.ts';
import { SinkConsumer, configFor, testSettings } from '../../test/helpers/index.ts';
import { attrs, counterValue, prng, resourceSpans, span } from '../../test/percentiles-helpers.ts';
import { percentilesProcessorFactory as factory } from './index.ts';
import type { PercentilesProcessor } from './percentiles-processor.ts';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0); // a multiple of 10s
let telemetry: ServiceTelemetry;

function make(raw: Record<string, unknown> = {}) {
  const emitted = new SinkConsumer();
  const settings = testSettings('processor', 'percentiles', { emit: emitted, telemetry: telemetry.forComponent('processor', 'percentiles') });
  const proc = factory.create(settings, configFor(factory, raw)) as PercentilesProcessor;
  return { proc, emitted };
}

function metricsNamed(sink: SinkConsumer, name: string): Metric[] {
  return sink.metrics.filter((m) => m.name === name);
}

function points<T>(sink: SinkConsumer, name: string): T[] {
  return metricsNamed(sink, name).flatMap((m) => m.data!.dataPoints as unknown as T[]);
}

function label(dp: { attributes: { key: string; value: unknown }[] }, key: string): unknown {
  return getAttr(dp.attributes as never, key);
}

beforeEach(() => {
  telemetry = new ServiceTelemetry();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(T0 + 1000);
});
afterEach(async () => {
  vi.useRealTimers();
  await telemetry.close();
});

describe('percentiles processor', () => {
  it('passes spans on unchanged and emits each window once, aligned to the wall clock', async () => {
    const { proc, emitted } = make({ window: '10s', late_windows: 0, dimensions: ['service.name', 'span.name'] });
    await proc.start();
    const next = new SinkConsumer();
    const batch: Batch = {
      resourceSpans: [resourceSpans('checkout', [span(T0 + 1000, 100), span(T0 + 2000, 300, { status: StatusCode.Error }), span(T0 + 3000, 200)])],
    };
    const before = structuredClone(batch);
    await proc.process(batch, next);
    expect(next.batches).toHaveLength(1);
    expect(next.batches[0]).toBe(batch);
    expect(batch).toEqual(before);
    await vi.advanceTimersByTimeAsync(8_000); // 10:00:09: the window is still open
    expect(emitted.batches).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_500); // 10:00:10.5: window [10:00:00, 10:00:10) closed
    expect(emitted.batches).toHaveLength(1);

    const hist = points<ExponentialHistogramDataPoint>(emitted, 'span.duration');
    expect(hist).toHaveLength(2); // status unset and error
    const unset = hist.find((dp) => label(dp, 'status.code') === 'unset')!;
    expect(unset.count).toBe(2);
    expect(unset.sum).toBeCloseTo(300, 6);
    expect(unset.min).toBeCloseTo(100, 6);
    expect(unset.max).toBeCloseTo(200, 6);
    expect(unset.startTimeUnixNano).toBe(BigInt(T0) * 1_000_000n);
    expect(unset.timeUnixNano).toBe(BigInt(T0 + 10_000) * 1_000_000n);
    expect(unset.attributes).toEqual(attrs({ 'service.name': 'checkout', 'span.name': 'chat', 'status.code': 'unset' }));
    const m = metricsNamed(emitted, 'span.duration')[0]!;
    expect(m.unit).toBe('ms');
    expect(m.data!.type).toBe('exponentialHistogram');
    expect((m.data as { aggregationTemporality: AggregationTemporality }).aggregationTemporality).toBe(AggregationTemporality.Delta);

    const calls = points<NumberDataPoint>(emitted, 'span.calls');
    expect(calls.find((dp) => label(dp, 'status.code') === 'error')!.value).toBe(1n);
    const callsMetric = metricsNamed(emitted, 'span.calls')[0]!.data as { isMonotonic: boolean; aggregationTemporality: number };
    expect(callsMetric.isMonotonic).toBe(true);
    expect(callsMetric.aggregationTemporality).toBe(AggregationTemporality.Delta);

    const summary = points<SummaryDataPoint>(emitted, 'span.duration.summary').find((dp) => label(dp, 'status.code') === 'unset')!;
    expect(summary.quantileValues.map((q) => q.quantile)).toEqual([0, 0.5, 0.9, 0.95, 0.99, 1]);
    expect(summary.quantileValues[0]!.value).toBeCloseTo(100, 6);
    expect(summary.quantileValues[5]!.value).toBeCloseTo(200, 6);
    expect(summary.count).toBe(2);

    // the resource carries service.name because it is a dimension
    const rm = emitted.batches[0]!.resourceMetrics![0]!;
    expect(getAttr(rm.resource.attributes, 'service.name')).toBe('checkout');

    // nothing more until more data comes; shutdown emits nothing when nothing is held
    await vi.advanceTimersByTimeAsync(30_000);
    expect(emitted.batches).toHaveLength(1);
    await proc.shutdown();
    await proc.shutdown();
    expect(emitted.batches).toHaveLength(1);
  });

  it('looks dimensions up on the span, then the resource; a missing one is ""', async () => {
    const { proc, emitted } = make({ dimensions: ['service.name', 'gen_ai.request.model', 'deployment.environment'] });
    await proc.process(
      {
        resourceSpans: [
          resourceSpans('bot', [span(T0 + 500, 10, { attributes: attrs({ 'gen_ai.request.model': 'gpt-4o' }) }), span(T0 + 600, 10)], attrs({ 'deployment.environment': 'prod' })),
        ],
      },
      new SinkConsumer(),
    );
    await proc.shutdown();
    const hist = points<ExponentialHistogramDataPoint>(emitted, 'span.duration');
    expect(hist.map((dp) => dp.attributes)).toEqual(
      expect.arrayContaining([
        attrs({ 'service.name': 'bot', 'gen_ai.request.model': 'gpt-4o', 'deployment.environment': 'prod', 'status.code': 'unset' }),
        attrs({ 'service.name': 'bot', 'gen_ai.request.model': '', 'deployment.environment': 'prod', 'status.code': 'unset' }),
      ]),
    );
  });

  it('summarises numeric span attributes as m.distribution and m.summary', async () => {
    const { proc, emitted } = make({ dimensions: ['service.name'], span_attributes: ['gen_ai.usage.cost'] });
    const spans = [0.01, 0.02, 0.03, 0.04].map((c, i) => span(T0 + i, 5, { attributes: attrs({ 'gen_ai.usage.cost': c }) }));
    spans.push(span(T0 + 10, 5)); // no cost: counted in span.duration only
    await proc.process({ resourceSpans: [resourceSpans('bot', spans)] }, new SinkConsumer());
    await proc.shutdown();
    const dist = points<ExponentialHistogramDataPoint>(emitted, 'gen_ai.usage.cost.distribution');
    expect(dist).toHaveLength(1);
    expect(dist[0]!.count).toBe(4);
    expect(dist[0]!.sum).toBeCloseTo(0.1, 10);
    const summary = points<SummaryDataPoint>(emitted, 'gen_ai.usage.cost.summary')[0]!;
    expect(summary.quantileValues.find((q) => q.quantile === 1)!.value).toBeCloseTo(0.04, 10);
    expect(points<ExponentialHistogramDataPoint>(emitted, 'span.duration')[0]!.count).toBe(5);
  });

  it('merging the emitted windows answers like one sketch over all the data', async () => {
    const { proc, emitted } = make({ window: '10s', late_windows: 0, dimensions: ['service.name'] });
    await proc.start();
    const rand = prng(99);
    const all = Sketch.forAccuracy(0.01);
    for (let w = 0; w < 6; w++) {
      const spans = [];
      for (let i = 0; i < 2000; i++) {
        const d = Math.exp(3 + 1.5 * rand() + w * 0.2);
        spans.push(span(Date.now(), d));
        all.add(Number(spans[spans.length - 1]!.endTimeUnixNano - spans[spans.length - 1]!.startTimeUnixNano) / 1e6);
      }
      await proc.process({ resourceSpans: [resourceSpans('svc', spans)] }, new SinkConsumer());
      await vi.advanceTimersByTimeAsync(10_000);
    }
    await proc.shutdown();
    const windows = points<ExponentialHistogramDataPoint>(emitted, 'span.duration');
    expect(windows).toHaveLength(6);
    const merged = Sketch.fromDataPoint(windows[0]!);
    for (const dp of windows.slice(1)) merged.merge(Sketch.fromDataPoint(dp));
    expect(merged.count).toBe(12_000);
    for (const q of [0.5, 0.9, 0.95, 0.99, 0.999]) expect(merged.quantile(q)).toBe(all.quantile(q));
  });

  it('folds series past max_series into one overflow series and counts it', async () => {
    const { proc, emitted } = make({ dimensions: ['user.id'], max_series: 3 });
    const spans = Array.from({ length: 10 }, (_, i) => span(T0 + i, 10, { attributes: attrs({ 'user.id': `u${i}` }) }));
    await proc.process({ resourceSpans: [resourceSpans('svc', spans)] }, new SinkConsumer());
    // a known series keeps being counted on its own
    await proc.process({ resourceSpans: [resourceSpans('svc', [span(T0 + 20, 10, { attributes: attrs({ 'user.id': 'u0' }) })])] }, new SinkConsumer());
    await proc.shutdown();
    const hist = points<ExponentialHistogramDataPoint>(emitted, 'span.duration');
    expect(hist).toHaveLength(4);
    const overflow = hist.find((dp) => label(dp, 'otel.metric.overflow') === true)!;
    expect(overflow.count).toBe(7);
    expect(overflow.attributes).toEqual([{ key: 'otel.metric.overflow', value: true }]);
    expect(hist.find((dp) => label(dp, 'user.id') === 'u0')!.count).toBe(2);
    expect(await counterValue(telemetry, 'vigil_processor_series_overflow_items', { processor: 'percentiles' })).toBe(7);
  });

  it('puts late data in the window it belongs to while held, and counts it as late after that', async () => {
    const { proc, emitted } = make({ window: '10s', late_windows: 1, dimensions: [] });
    vi.setSystemTime(T0 + 15_000); // now in window [10, 20); window [0, 10) is still held
    await proc.start();
    await proc.process({ resourceSpans: [resourceSpans('svc', [span(T0 + 12_000, 5), span(T0 + 3_000, 7), span(T0 - 5_000, 9)])] }, new SinkConsumer());
    expect(await counterValue(telemetry, 'vigil_processor_late_items', { processor: 'percentiles' })).toBe(1);
    await vi.advanceTimersByTimeAsync(6_000); // 10:00:21: window [0, 10) leaves the held range and is emitted
    let hist = points<ExponentialHistogramDataPoint>(emitted, 'span.duration');
    expect(hist).toHaveLength(1);
    expect(hist[0]!.startTimeUnixNano).toBe(BigInt(T0) * 1_000_000n);
    expect(hist[0]!.max).toBeCloseTo(7, 6);
    // window [10, 20) is still held at 10:00:21: a late span for it lands there
    await proc.process({ resourceSpans: [resourceSpans('svc', [span(T0 + 19_000, 11), span(T0 + 2_000, 1)])] }, new SinkConsumer());
    expect(await counterValue(telemetry, 'vigil_processor_late_items', { processor: 'percentiles' })).toBe(2);
    await proc.shutdown();
    hist = points<ExponentialHistogramDataPoint>(emitted, 'span.duration');
    expect(hist).toHaveLength(2);
    expect(hist[1]!.startTimeUnixNano).toBe(BigInt(T0 + 10_000) * 1_000_000n);
    expect(hist[1]!.count).toBe(2);
    expect(hist[1]!.max).toBeCloseTo(11, 6);
  });

  it('drops a span that ends before it starts and counts it, instead of observing 0 ms', async () => {
    const { proc, emitted } = make({ window: '10s', late_windows: 0, dimensions: [] });
    await proc.start();
    const backwards = span(T0 + 2000, 50);
    [backwards.startTimeUnixNano, backwards.endTimeUnixNano] = [backwards.endTimeUnixNano, backwards.startTimeUnixNano];
    const instant = span(T0 + 2000, 0); // end == start: a real 0 ms span
    await proc.process({ resourceSpans: [resourceSpans('svc', [span(T0 + 1000, 100), backwards, instant])] }, new SinkConsumer());
    await proc.shutdown();
    const [hist] = points<ExponentialHistogramDataPoint>(emitted, 'span.duration');
    expect(hist!.count).toBe(2);
    expect(hist!.min).toBe(0);
    expect(hist!.zeroCount).toBe(1);
    expect(points<NumberDataPoint>(emitted, 'span.calls')[0]!.value).toBe(2n);
    expect(await counterValue(telemetry, 'vigil_processor_invalid_items', { processor: 'percentiles' })).toBe(1);
  });

  it('puts a span ending 1 ns before a window boundary in that window, and one ending at the boundary in the next', async () => {
    const { proc, emitted } = make({ window: '10s', late_windows: 1, dimensions: [] });
    vi.setSystemTime(T0 + 15_000);
    await proc.start();
    const boundary = BigInt(T0 + 10_000) * 1_000_000n;
    const before = span(T0 + 5_000, 7);
    before.endTimeUnixNano = boundary - 1n;
    before.startTimeUnixNano = boundary - 1n - 7_000_000n;
    const at = span(T0 + 5_000, 9);
    at.endTimeUnixNano = boundary;
    at.startTimeUnixNano = boundary - 9_000_000n;
    await proc.process({ resourceSpans: [resourceSpans('svc', [before, at])] }, new SinkConsumer());
    await proc.shutdown();
    const hist = points<ExponentialHistogramDataPoint>(emitted, 'span.duration');
    expect(hist.map((dp) => [dp.startTimeUnixNano, dp.count, dp.max])).toEqual([
      [BigInt(T0) * 1_000_000n, 1, 7],
      [boundary, 1, 9],
    ]);
  });

  it('answers the documented quantile (rank floor(q(n-1)) of the sorted durations) on 1, 2 and 3 spans and ties, the lowest and highest exactly', async () => {
    const { proc, emitted } = make({ window: '10s', late_windows: 0, dimensions: ['span.name'], quantiles: [0.25, 0.5, 0.9, 0.99] });
    await proc.start();
    const samples: Record<string, number[]> = { one: [42.5], two: [3.3, 1000], three: [1000, 3.3, 57], ties: [8, 8, 8, 1500] };
    const spans = Object.entries(samples).flatMap(([name, ds]) => ds.map((d, i) => span(T0 + 1000 + i, d, { name })));
    await proc.process({ resourceSpans: [resourceSpans('svc', spans)] }, new SinkConsumer());
    await proc.shutdown();
    const summaries = points<SummaryDataPoint>(emitted, 'span.duration.summary');
    for (const [name, ds] of Object.entries(samples)) {
      const sorted = ds.slice().sort((a, b) => a - b);
      const dp = summaries.find((p) => label(p, 'span.name') === name)!;
      for (const { quantile, value } of dp.quantileValues) {
        const rank = Math.floor(quantile * (sorted.length - 1));
        const expected = sorted[rank]!;
        // the lowest and the highest observation are answered exactly; any other within relative_accuracy
        if (rank === 0 || rank === sorted.length - 1 || expected === sorted[0]) expect(value, `${name} q=${quantile}`).toBe(expected);
        else expect(Math.abs(value - expected) / expected, `${name} q=${quantile}`).toBeLessThanOrEqual(0.01);
      }
    }
  });

  it('waits out a window longer than Node\'s longest timer (24.8 days) instead of ticking every millisecond, and emits it once it closes', async () => {
    const day = 86_400_000;
    const { proc, emitted } = make({ window: '30d', late_windows: 0, dimensions: [] });
    const start = Math.floor(T0 / (30 * day)) * 30 * day;
    vi.setSystemTime(start + 1000);
    const ticks = vi.spyOn(proc as unknown as { tick: () => void }, 'tick');
    await proc.start();
    await proc.process({ resourceSpans: [resourceSpans('svc', [span(start + 500, 12)])] }, new SinkConsumer());
    await vi.advanceTimersByTimeAsync(1000);
    expect(ticks).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(30 * day - 1000); // the window's end
    expect(ticks.mock.calls.length).toBeLessThanOrEqual(2); // once at the longest timer, once at the end
    const hist = points<ExponentialHistogramDataPoint>(emitted, 'span.duration');
    expect(hist.map((dp) => [dp.startTimeUnixNano, dp.count])).toEqual([[BigInt(start) * 1_000_000n, 1]]);
    await proc.shutdown();
  });

  it('never lets bad spans stop the batch or crash the processor', async () => {
    const { proc, emitted } = make();
    const bad = span(T0, 5);
    bad.startTimeUnixNano = 0n;
    const weird = span(T0, 5, { attributes: [{ key: 'service.name', value: { kvlist: [] } }] });
    (weird as { status: unknown }).status = undefined;
    const next = new SinkConsumer();
    await proc.process({ resourceSpans: [resourceSpans('svc', [bad, weird])] }, next);
    expect(next.spans).toHaveLength(2);
    await proc.shutdown();
    expect(points<ExponentialHistogramDataPoint>(emitted, 'span.duration')[0]!.count).toBe(1);
    expect(await counterValue(telemetry, 'vigil_processor_invalid_items', { processor: 'percentiles' })).toBe(1);
  });
});

function metricsBatch(service: string, metric: Metric): Batch {
  const rm: ResourceMetrics = {
    resource: { attributes: attrs({ 'service.name': service }), droppedAttributesCount: 0 },
    scopeMetrics: [{ scope: emptyScope('sdk'), metrics: [metric], schemaUrl: '' }],
    schemaUrl: '',
  };
  return { resourceMetrics: [rm] };
}

describe('percentiles processor: received metrics', () => {
  const ns = (ms: number) => BigInt(ms) * 1_000_000n;

  it('summarises gauges, restricting attributes to the dimensions present', async () => {
    const { proc, emitted } = make({ dimensions: ['service.name', 'route'], metrics: ['response_time_ms'] });
    const metric: Metric = {
      name: 'response_time_ms',
      description: '',
      unit: 'ms',
      metadata: [],
      data: {
        type: 'gauge',
        dataPoints: [10, 20, 30].map((v) => ({ attributes: attrs({ route: '/a', other: 'x' }), startTimeUnixNano: 0n, timeUnixNano: ns(T0 + 100), value: v, exemplars: [], flags: 0 })),
      },
    };
    const next = new SinkConsumer();
    await proc.process(metricsBatch('api', metric), next);
    expect(next.metrics).toHaveLength(1);
    await proc.shutdown();
    const dist = points<ExponentialHistogramDataPoint>(emitted, 'response_time_ms.distribution');
    expect(dist).toHaveLength(1);
    expect(dist[0]!.attributes).toEqual(attrs({ 'service.name': 'api', route: '/a' }));
    expect(dist[0]!.count).toBe(3);
    expect(metricsNamed(emitted, 'response_time_ms.distribution')[0]!.unit).toBe('ms');
    const summary = points<SummaryDataPoint>(emitted, 'response_time_ms.summary')[0]!;
    expect(summary.quantileValues.find((q) => q.quantile === 0.5)!.value).toBeCloseTo(20, 0);
  });

  it('merges a received exponential histogram exactly', async () => {
    const { proc, emitted } = make({ dimensions: ['service.name'], metrics: ['latency'] });
    const src = new Sketch(6);
    const rand = prng(5);
    for (let i = 0; i < 5000; i++) src.add(1 + rand() * 500);
    const dp = src.toDataPoint([], ns(T0), ns(T0 + 500));
    await proc.process(
      metricsBatch('api', { name: 'latency', description: '', unit: 'ms', metadata: [], data: { type: 'exponentialHistogram', dataPoints: [dp], aggregationTemporality: AggregationTemporality.Delta } }),
      new SinkConsumer(),
    );
    await proc.shutdown();
    const out = points<ExponentialHistogramDataPoint>(emitted, 'latency.distribution')[0]!;
    expect(out.positive).toEqual(dp.positive);
    expect(out.count).toBe(5000);
    for (const q of [0.5, 0.99]) expect(Sketch.fromDataPoint(out).quantile(q)).toBe(src.quantile(q));
  });

  it('folds an explicit-bucket histogram in by its buckets (error bounded by the bucket widths)', async () => {
    const { proc, emitted } = make({ dimensions: ['service.name'], metrics: ['rt'] });
    // 100 values in (0, 10], 800 in (10, 100], 100 in (100, 1000]; min 2, max 700
    const metric: Metric = {
      name: 'rt',
      description: '',
      unit: 'ms',
      metadata: [],
      data: {
        type: 'histogram',
        aggregationTemporality: AggregationTemporality.Delta,
        dataPoints: [
          { attributes: [], startTimeUnixNano: ns(T0), timeUnixNano: ns(T0 + 100), count: 1000, sum: 50_000, bucketCounts: [100, 800, 100, 0], explicitBounds: [10, 100, 1000], exemplars: [], flags: 0, min: 2, max: 700 },
        ],
      },
    };
    await proc.process(metricsBatch('api', metric), new SinkConsumer());
    await proc.shutdown();
    const out = Sketch.fromDataPoint(points<ExponentialHistogramDataPoint>(emitted, 'rt.distribution')[0]!);
    expect(out.count).toBe(1000);
    expect(out.sum).toBe(50_000);
    expect(out.min).toBe(2);
    expect(out.max).toBe(700);
    // the median lies in (10, 100]: folded at the geometric midpoint sqrt(10*100) ~ 31.6
    expect(out.quantile(0.5)).toBeGreaterThan(10);
    expect(out.quantile(0.5)).toBeLessThanOrEqual(100);
    expect(Math.abs(out.quantile(0.5) - Math.sqrt(1000)) / Math.sqrt(1000)).toBeLessThan(0.01);
    // p95 lies in (100, 1000], clamped at max 700: midpoint sqrt(100*700) ~ 264.6
    expect(Math.abs(out.quantile(0.95) - Math.sqrt(70_000)) / Math.sqrt(70_000)).toBeLessThan(0.01);
  });

  it('turns cumulative histograms into increments (an SDK re-exporting does not double count)', async () => {
    const { proc, emitted } = make({ dimensions: ['service.name'], metrics: ['rt'] });
    let at = T0 + 500;
    const point = (counts: number[], sum: number) => ({
      attributes: [],
      startTimeUnixNano: ns(T0),
      timeUnixNano: ns((at += 100)),
      count: counts.reduce((a, b) => a + b, 0),
      sum,
      bucketCounts: counts,
      explicitBounds: [10, 100],
      exemplars: [],
      flags: 0,
    });
    const metric = (counts: number[], sum: number): Metric => ({
      name: 'rt',
      description: '',
      unit: 'ms',
      metadata: [],
      data: { type: 'histogram', aggregationTemporality: AggregationTemporality.Cumulative, dataPoints: [point(counts, sum)] },
    });
    await proc.process(metricsBatch('api', metric([1, 2, 0], 100)), new SinkConsumer());
    await proc.process(metricsBatch('api', metric([1, 5, 1], 400)), new SinkConsumer());
    await proc.shutdown();
    const out = points<ExponentialHistogramDataPoint>(emitted, 'rt.distribution')[0]!;
    // the stream started (T0) before the processor could see it (T0 + 1000): its first point is a
    // baseline, the second adds its increments (as Prometheus' increase() and the Collector do)
    expect(out.count).toBe(4);
    expect(out.sum).toBe(300);
    expect(await counterValue(telemetry, 'vigil_processor_metric_points_skipped', { processor: 'percentiles', reason: 'cumulative_baseline' })).toBe(1);
  });

  it('counts a cumulative stream that started after it could see it whole from its first point', async () => {
    const { proc, emitted } = make({ dimensions: ['service.name'], metrics: ['rt'] });
    const metric = (count: number, sum: number, t: number): Metric => ({
      name: 'rt',
      description: '',
      unit: 'ms',
      metadata: [],
      data: {
        type: 'histogram',
        aggregationTemporality: AggregationTemporality.Cumulative,
        dataPoints: [{ attributes: [], startTimeUnixNano: ns(T0 + 1000), timeUnixNano: ns(t), count, sum, bucketCounts: [count, 0], explicitBounds: [100], exemplars: [], flags: 0 }],
      },
    });
    await proc.process(metricsBatch('api', metric(3, 30, T0 + 1100)), new SinkConsumer());
    await proc.process(metricsBatch('api', metric(5, 70, T0 + 1200)), new SinkConsumer());
    await proc.process(metricsBatch('api', metric(5, 70, T0 + 1200)), new SinkConsumer()); // a duplicate: skipped
    await proc.shutdown();
    const out = points<ExponentialHistogramDataPoint>(emitted, 'rt.distribution')[0]!;
    expect(out.count).toBe(5);
    expect(out.sum).toBe(70);
    expect(await counterValue(telemetry, 'vigil_processor_metric_points_skipped', { processor: 'percentiles', reason: 'out_of_order' })).toBe(1);
  });

  it('refuses malformed points without failing the batch', async () => {
    const { proc, emitted } = make({ dimensions: ['service.name'], metrics: ['latency'] });
    const bad = new Sketch(6).toDataPoint([], ns(T0), ns(T0));
    bad.scale = 99;
    bad.count = 3;
    bad.positive = { offset: 0, bucketCounts: [3] };
    const next = new SinkConsumer();
    await proc.process(
      metricsBatch('api', { name: 'latency', description: '', unit: '', metadata: [], data: { type: 'exponentialHistogram', dataPoints: [bad], aggregationTemporality: AggregationTemporality.Delta } }),
      next,
    );
    expect(next.metrics).toHaveLength(1);
    await proc.shutdown();
    expect(points(emitted, 'latency.distribution')).toHaveLength(0);
    expect(await counterValue(telemetry, 'vigil_processor_metric_points_skipped', { processor: 'percentiles', reason: 'malformed' })).toBe(1);
  });
});

describe('percentiles config', () => {
  it('has defaults and checks cross-field rules', () => {
    const c = configFor(factory, {});
    expect(c).toMatchObject({ window: '10s', relative_accuracy: 0.01, max_series: 10000, late_windows: 1, dimensions: ['service.name', 'span.name'] });
    expect(() => configFor(factory, { dimensions: ['status.code'] })).toThrow(/status.code is always a dimension/);
    expect(() => configFor(factory, { windw: '10s' })).toThrow(/unknown key "windw"/);
    expect(() => configFor(factory, { quantiles: [1.5] })).toThrow();
  });

  it('refuses a metric or span attribute listed twice, in one list or both (its .distribution would be emitted twice)', () => {
    expect(() => configFor(factory, { span_attributes: ['gen_ai.usage.cost', 'gen_ai.usage.cost'] })).toThrow(
      /span_attributes.1: "gen_ai.usage.cost" is already listed in span_attributes \(it would emit gen_ai.usage.cost.distribution twice\)/,
    );
    expect(() => configFor(factory, { metrics: ['latency', 'latency'] })).toThrow(/metrics.1: "latency" is already listed in metrics/);
    expect(() => configFor(factory, { metrics: ['tokens'], span_attributes: ['tokens'] })).toThrow(/span_attributes.0: "tokens" is already listed in metrics/);
    expect(configFor(factory, { metrics: ['a'], span_attributes: ['b'] })).toMatchObject({ metrics: ['a'], span_attributes: ['b'] });
  });
});
