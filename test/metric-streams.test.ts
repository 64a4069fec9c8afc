/**
 * Issue 13's cases with exact expected values: cumulative streams after a vigil start (alerts rate and
 * p95, explicit and exponential histograms, summaries), two replicas' cumulative token streams in cost,
 * and degenerate but valid histograms in percentiles.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AggregationTemporality,
  type Batch,
  type ExponentialHistogramDataPoint,
  type KeyValue,
  type Metric,
  type MetricData,
  type NumberDataPoint,
  type SummaryDataPoint,
  emptyScope,
  getAttr,
} from '../src/model.ts';
import { Sketch } from '../src/sketch.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { engineFor, tick } from '../processors/alerts/testdata/engine.ts';
import { costProcessorFactory } from '../processors/cost/index.ts';
import type { CostProcessor } from '../processors/cost/cost-processor.ts';
import { percentilesProcessorFactory } from '../processors/percentiles/index.ts';
import type { PercentilesProcessor } from '../processors/percentiles/percentiles-processor.ts';
import { SinkConsumer, configFor, tempDir, testSettings } from './helpers/index.ts';
import { counterValue } from './percentiles-helpers.ts';

const VIGIL_START = Date.UTC(2026, 10, 29, 10, 0, 0);
const HOUR = 3_600_000;
const ns = (ms: number) => BigInt(ms) * 1_000_000n;
const BOUNDS = [5, 10, 25, 50, 100, 250, 500, 1000];

function batchOf(data: MetricData, name: string, resource: KeyValue[] = [{ key: 'service.name', value: 'checkout' }], attrs: KeyValue[] = []): Batch {
  for (const dp of data.dataPoints) (dp as { attributes: KeyValue[] }).attributes = attrs;
  const metric: Metric = { name, description: '', unit: 'ms', metadata: [], data };
  return { resourceMetrics: [{ resource: { attributes: resource, droppedAttributesCount: 0 }, schemaUrl: '', scopeMetrics: [{ scope: emptyScope('sdk'), schemaUrl: '', metrics: [metric] }] }] };
}

/**
 * The service: up for an hour with 1,000 fast (8 ms) requests so far, exporting a cumulative
 * point every 1.5 s, each export with one more 500 ms request. Point k (k >= 1) is at vigil start + 1.5k s.
 */
function serviceStream(kind: 'explicit' | 'exponential' | 'summary', k: number): Batch {
  const start = ns(VIGIL_START - HOUR);
  const time = ns(VIGIL_START + 1500 * k);
  const count = 1000 + k;
  const sum = 1000 * 8 + 500 * k;
  if (kind === 'summary') {
    const dp: SummaryDataPoint = { attributes: [], startTimeUnixNano: start, timeUnixNano: time, count, sum, quantileValues: [{ quantile: 0.5, value: 8 }], flags: 0 };
    return batchOf({ type: 'summary', dataPoints: [dp] }, 'http.server.request.duration');
  }
  if (kind === 'explicit') {
    const counts = new Array<number>(BOUNDS.length + 1).fill(0);
    counts[1] = 1000; // (5, 10]
    counts[6] = k; // (250, 500]
    return batchOf(
      {
        type: 'histogram',
        aggregationTemporality: AggregationTemporality.Cumulative,
        dataPoints: [{ attributes: [], startTimeUnixNano: start, timeUnixNano: time, count, sum, bucketCounts: counts, explicitBounds: BOUNDS, exemplars: [], flags: 0, min: 8, max: 500 }],
      },
      'http.server.request.duration',
    );
  }
  const sk = Sketch.forAccuracy(0.01);
  sk.add(8, 1000);
  sk.add(500, k);
  const dp = sk.toDataPoint([], start, time);
  return batchOf({ type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Cumulative, dataPoints: [dp] }, 'http.server.request.duration');
}

const RULES = {
  rules: [
    { name: 'Rate', metric: 'http.server.request.duration', stat: 'rate', window: '30s', op: '>', threshold: -1 },
    { name: 'Count', metric: 'http.server.request.duration', stat: 'count', window: '30s', op: '>', threshold: -1 },
    { name: 'Avg', metric: 'http.server.request.duration', stat: 'avg', window: '30s', op: '>', threshold: -1 },
    { name: 'SlowP95', metric: 'http.server.request.duration', stat: 'p95', window: '30s', op: '>', threshold: 100 },
  ],
};

function valuesAt(kind: 'explicit' | 'exponential' | 'summary', points: number, evalAt: number): Record<string, number> {
  const e = engineFor(RULES, { startedAt: VIGIL_START });
  for (let k = 1; k <= points; k++) e.ingest(serviceStream(kind, k), VIGIL_START + 1500 * k);
  tick(e, evalAt);
  return Object.fromEntries(e.firing().map((a) => [a.labels.alertname!, a.value]));
}

describe('alerts after a vigil start on a cumulative stream running for an hour', () => {
  for (const kind of ['explicit', 'exponential'] as const) {
    it(`${kind} histogram: rate over 30 s is the recent rate, and the p95 rule fires on the new slow requests`, () => {
      // 30 points (45 s); the window (15 s, 45 s] holds points 11..30: 20 new requests of 500 ms
      const v = valuesAt(kind, 30, VIGIL_START + 45_000);
      expect(v.Count).toBe(20);
      expect(v.Rate).toBeCloseTo(20 / 30, 12); // 0.667/s, not (1000 + 30) / 30 = 34.3/s
      expect(v.Avg).toBeCloseTo(500, 9);
      // p95 fires: every request in the window took 500 ms. An explicit histogram only knows the bucket
      // (250, 500]: its geometric midpoint; the exponential one knows 500 within 1%.
      if (kind === 'explicit') expect(v.SlowP95).toBeCloseTo(Math.sqrt(250 * 500), 0);
      else expect(Math.abs(v.SlowP95! - 500) / 500).toBeLessThan(0.01);
    });
  }

  it('the first evaluation right after the start does not see the lifetime count', () => {
    // points 1 (the baseline) and 2: one new request in the window
    const v = valuesAt('explicit', 2, VIGIL_START + 3_000);
    expect(v.Count).toBe(1);
    expect(v.Rate).toBeCloseTo(1 / 30, 12);
  });

  it('summaries: count, sum and rate over the window are increments, not lifetime totals', () => {
    const v = valuesAt('summary', 30, VIGIL_START + 45_000);
    expect(v.Count).toBe(20);
    expect(v.Rate).toBeCloseTo(20 / 30, 12);
    expect(v.Avg).toBe(500);
    expect(v.SlowP95).toBeUndefined(); // the summary carries no p95
  });

  it('a cumulative monotonic sum: increase and rate from the reader, the first point a baseline', () => {
    const e = engineFor({ rules: [{ name: 'Inc', metric: 'requests', stat: 'increase', window: '30s', op: '>', threshold: -1 }, { name: 'Last', metric: 'requests', stat: 'last', window: '30s', op: '>', threshold: -1 }] }, { startedAt: VIGIL_START });
    const point = (value: number, k: number, startMs = VIGIL_START - HOUR): Batch =>
      batchOf(
        { type: 'sum', isMonotonic: true, aggregationTemporality: AggregationTemporality.Cumulative, dataPoints: [{ attributes: [], startTimeUnixNano: ns(startMs), timeUnixNano: ns(VIGIL_START + 1500 * k), value, exemplars: [], flags: 0 }] },
        'requests',
      );
    for (let k = 1; k <= 20; k++) e.ingest(point(1000 + k, k), VIGIL_START + 1500 * k);
    // the sender restarts after point 20 (new start time): its next point counts whole
    e.ingest(point(3, 21, VIGIL_START + 30_500), VIGIL_START + 1500 * 21);
    tick(e, VIGIL_START + 31_500);
    const v = Object.fromEntries(e.firing().map((a) => [a.labels.alertname!, a.value]));
    // window (1.5 s, 31.5 s]: points 2..21 = 19 increments of 1, then 3 after the restart
    expect(v.Inc).toBe(22);
    expect(v.Last).toBe(3);
  });
});

describe('alerts on odd shapes', () => {
  it('a cumulative stream with no new request: count and rate 0 (not "no data"), min and p95 no data', () => {
    const e = engineFor(
      {
        rules: [
          { name: 'Count', metric: 'http.server.request.duration', stat: 'count', window: '30s', op: '>=', threshold: 0 },
          { name: 'Rate', metric: 'http.server.request.duration', stat: 'rate', window: '30s', op: '>=', threshold: 0 },
          { name: 'Min', metric: 'http.server.request.duration', stat: 'min', window: '30s', op: '>', threshold: -1 },
          { name: 'P95', metric: 'http.server.request.duration', stat: 'p95', window: '30s', op: '>', threshold: -1 },
        ],
      },
      { startedAt: VIGIL_START },
    );
    // the service's stream repeats its lifetime total: nothing new
    for (let k = 1; k <= 10; k++) {
      const b = serviceStream('explicit', 1);
      (b.resourceMetrics![0]!.scopeMetrics[0]!.metrics[0]!.data!.dataPoints[0] as { timeUnixNano: bigint }).timeUnixNano = ns(VIGIL_START + 1500 * k);
      e.ingest(b, VIGIL_START + 1500 * k);
    }
    tick(e, VIGIL_START + 15_000);
    const v = Object.fromEntries(e.firing().map((a) => [a.labels.alertname!, a.value]));
    expect(v).toEqual({ Count: 0, Rate: 0 });
  });

  it('a cumulative summary with no new request (and no quantile the rule reads): count and rate 0, avg, min and max no data, never the number of points or an infinity', () => {
    const stats = ['count', 'rate', 'sum', 'avg', 'min', 'max', 'p95'];
    const e = engineFor(
      { rules: stats.map((stat) => ({ name: stat, metric: 'http.server.request.duration', stat, window: '30s', op: '>=', threshold: -1e300 })) },
      { startedAt: VIGIL_START },
    );
    for (let k = 1; k <= 10; k++) {
      const b = serviceStream('summary', 1);
      const dp = b.resourceMetrics![0]!.scopeMetrics[0]!.metrics[0]!.data!.dataPoints[0] as SummaryDataPoint;
      dp.timeUnixNano = ns(VIGIL_START + 1500 * k);
      dp.quantileValues = [];
      e.ingest(b, VIGIL_START + 1500 * k);
    }
    tick(e, VIGIL_START + 15_000);
    const v = Object.fromEntries(e.firing().map((a) => [a.labels.alertname!, a.value]));
    expect(v).toEqual({ count: 0, rate: 0, sum: 0 });
  });

  it('an exponential histogram at scale -10: p95 and max are finite', () => {
    const e = engineFor(
      {
        rules: [
          { name: 'P95', metric: 'rt', stat: 'p95', window: '1m', op: '>', threshold: 0 },
          { name: 'Max', metric: 'rt', stat: 'max', window: '1m', op: '>', threshold: 0 },
        ],
      },
      { startedAt: VIGIL_START },
    );
    const dp: ExponentialHistogramDataPoint = {
      attributes: [],
      startTimeUnixNano: ns(VIGIL_START),
      timeUnixNano: ns(VIGIL_START + 1000),
      count: 5,
      sum: 5000,
      scale: -10,
      zeroCount: 0,
      positive: { offset: 0, bucketCounts: [5] },
      negative: { offset: 0, bucketCounts: [] },
      flags: 0,
      exemplars: [],
      zeroThreshold: 0,
    };
    e.ingest(batchOf({ type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [dp] }, 'rt'), VIGIL_START + 1000);
    tick(e, VIGIL_START + 2000);
    const v = Object.fromEntries(e.firing().map((a) => [a.labels.alertname!, a.value]));
    // bucket 0 is (1, 2^1024]: its least-relative-error point 2 base / (1 + base) tends to 2; its top
    // is as large as a double holds
    expect(v).toEqual({ P95: 2, Max: Number.MAX_VALUE });
  });
});

describe('alerts: series are OTLP streams', () => {
  it('two streams with the same labels (two scopes, an attribute "200" and 200, two units) are two series: last adds their values, increase does not read one jumping between them as resets', () => {
    const e = engineFor(
      {
        rules: [
          { name: 'Last', metric: 'queue.depth', stat: 'last', window: '30s', op: '>', threshold: -1 },
          { name: 'Increase', metric: 'queue.depth', stat: 'increase', window: '30s', op: '>=', threshold: 0 },
        ],
      },
      { startedAt: VIGIL_START },
    );
    const gauge = (value: number, k: number, scope: string, attrs: KeyValue[], unit = '1'): Batch => {
      const b = batchOf({ type: 'gauge', dataPoints: [{ attributes: [], startTimeUnixNano: 0n, timeUnixNano: ns(VIGIL_START + 1000 * k), value, exemplars: [], flags: 0 }] }, 'queue.depth', undefined, attrs);
      const sm = b.resourceMetrics![0]!.scopeMetrics[0]!;
      sm.scope = emptyScope(scope);
      sm.metrics[0]!.unit = unit;
      return b;
    };
    // each stream holds steady: nothing increases
    for (let k = 1; k <= 10; k++) {
      e.ingest(gauge(100, k, 'lib-a', []), VIGIL_START + 1000 * k);
      e.ingest(gauge(5, k, 'lib-b', []), VIGIL_START + 1000 * k);
      e.ingest(gauge(20, k, 'lib-a', [{ key: 'code', value: '200' }]), VIGIL_START + 1000 * k);
      e.ingest(gauge(3, k, 'lib-a', [{ key: 'code', value: 200n }]), VIGIL_START + 1000 * k);
      e.ingest(gauge(7, k, 'lib-a', [{ key: 'code', value: 'x' }], 's'), VIGIL_START + 1000 * k);
      e.ingest(gauge(7000, k, 'lib-a', [{ key: 'code', value: 'x' }], 'ms'), VIGIL_START + 1000 * k);
    }
    tick(e, VIGIL_START + 10_500);
    const v = Object.fromEntries(e.firing().map((a) => [a.labels.alertname!, a.value]));
    expect(v).toEqual({ Last: 100 + 5 + 20 + 3 + 7 + 7000, Increase: 0 });
  });
});

describe('cost: cumulative token streams of two replicas', () => {
  let telemetry: ServiceTelemetry;
  beforeEach(() => {
    telemetry = new ServiceTelemetry();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(VIGIL_START);
  });
  afterEach(async () => {
    vi.useRealTimers();
    await telemetry.close();
  });

  function tokenPoint(replica: string, sum: number, startMs: number, timeMs: number): Batch {
    return batchOf(
      {
        type: 'histogram',
        aggregationTemporality: AggregationTemporality.Cumulative,
        dataPoints: [{ attributes: [], startTimeUnixNano: ns(startMs), timeUnixNano: ns(timeMs), count: 1, sum, bucketCounts: [1], explicitBounds: [], exemplars: [], flags: 0 }],
      },
      'gen_ai.client.token.usage',
      [
        { key: 'service.name', value: 'support-bot' },
        { key: 'service.instance.id', value: replica },
      ],
      [
        { key: 'gen_ai.operation.name', value: 'chat' },
        { key: 'gen_ai.provider.name', value: 'openai' },
        { key: 'gen_ai.request.model', value: 'gpt-4o' },
        { key: 'gen_ai.token.type', value: 'input' },
      ],
    );
  }

  async function inputTokens(feed: (proc: CostProcessor) => Promise<void>): Promise<number> {
    const emitted = new SinkConsumer();
    const dir = tempDir();
    const proc = costProcessorFactory.create(testSettings('processor', 'cost', { emit: emitted, stateDir: dir, telemetry: telemetry.forComponent('processor', 'cost') }), configFor(costProcessorFactory, {})) as CostProcessor;
    await proc.start();
    await feed(proc);
    await proc.flush();
    await proc.shutdown();
    let total = 0;
    for (const m of emitted.metrics.filter((x) => x.name === 'llm.tokens'))
      for (const dp of m.data!.dataPoints as NumberDataPoint[]) if (getAttr(dp.attributes, 'gen_ai.token.type') === 'input') total += Number(dp.value);
    return total;
  }

  it('two replicas that started after vigil: the true total, each counted from its start', async () => {
    const total = await inputTokens(async (proc) => {
      const next = new SinkConsumer();
      // alternating exports of two replicas with the same number of resource attributes
      const a = [1000, 1500, 2500];
      const b = [200, 700, 900];
      for (let i = 0; i < 3; i++) {
        await proc.process(tokenPoint('pod-a', a[i]!, VIGIL_START + 100, VIGIL_START + 1000 * (i + 1)), next);
        await proc.process(tokenPoint('pod-b', b[i]!, VIGIL_START + 200, VIGIL_START + 1000 * (i + 1) + 500), next);
      }
    });
    expect(total).toBe(2500 + 900);
  });

  it('two replicas running for an hour before vigil: only what they used since vigil saw them', async () => {
    const total = await inputTokens(async (proc) => {
      const next = new SinkConsumer();
      const a = [100_000, 100_400, 101_000];
      const b = [50_000, 50_050, 50_100];
      for (let i = 0; i < 3; i++) {
        await proc.process(tokenPoint('pod-a', a[i]!, VIGIL_START - HOUR, VIGIL_START + 1000 * (i + 1)), next);
        await proc.process(tokenPoint('pod-b', b[i]!, VIGIL_START - HOUR, VIGIL_START + 1000 * (i + 1) + 500), next);
      }
    });
    expect(total).toBe(1000 + 100);
  });
});

describe('percentiles: degenerate but valid histograms', () => {
  let telemetry: ServiceTelemetry;
  beforeEach(() => {
    telemetry = new ServiceTelemetry();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(VIGIL_START);
  });
  afterEach(async () => {
    vi.useRealTimers();
    await telemetry.close();
  });

  async function summarise(data: MetricData[]): Promise<{ summary: SummaryDataPoint | undefined; hist: ExponentialHistogramDataPoint | undefined; emitted: SinkConsumer }> {
    const emitted = new SinkConsumer();
    const proc = percentilesProcessorFactory.create(
      testSettings('processor', 'percentiles', { emit: emitted, telemetry: telemetry.forComponent('processor', 'percentiles') }),
      configFor(percentilesProcessorFactory, { dimensions: ['service.name'], metrics: ['rt'], quantiles: [0.5, 0.99] }),
    ) as PercentilesProcessor;
    for (const d of data) await proc.process(batchOf(d, 'rt'), new SinkConsumer());
    await proc.shutdown();
    const find = (name: string) => emitted.metrics.find((m) => m.name === name)?.data?.dataPoints[0];
    return { summary: find('rt.summary') as SummaryDataPoint | undefined, hist: find('rt.distribution') as ExponentialHistogramDataPoint | undefined, emitted };
  }

  const explicit = (p: { count: number; sum?: number; bucketCounts: number[]; explicitBounds: number[]; min?: number; max?: number }): MetricData => ({
    type: 'histogram',
    aggregationTemporality: AggregationTemporality.Delta,
    dataPoints: [{ attributes: [], startTimeUnixNano: ns(VIGIL_START - 10_000), timeUnixNano: ns(VIGIL_START), exemplars: [], flags: 0, ...p }],
  });
  const q = (s: SummaryDataPoint | undefined) => Object.fromEntries(s!.quantileValues.map((x) => [x.quantile, x.value]));

  it('a single-bucket histogram without min/max uses sum / count, not 0', async () => {
    const { summary } = await summarise([explicit({ count: 10, sum: 1000, bucketCounts: [10], explicitBounds: [] })]);
    expect(summary!.count).toBe(10);
    expect(summary!.sum).toBe(1000);
    expect(q(summary)).toEqual({ 0: 100, 0.5: 100, 0.99: 100, 1: 100 });
  });

  it('count and sum only, and bounds without counts: the mean, kept within min and max', async () => {
    const { summary } = await summarise([explicit({ count: 4, sum: 200, bucketCounts: [], explicitBounds: [] }), explicit({ count: 4, sum: 200, bucketCounts: [], explicitBounds: [10, 100], max: 40 })]);
    expect(summary!.count).toBe(8);
    expect(summary!.sum).toBe(400);
    expect(q(summary)).toEqual({ 0: 40, 0.5: 40, 0.99: 50, 1: 50 });
  });

  it('a histogram with nothing to place (no bucket, sum, min or max) is skipped and counted', async () => {
    const { summary } = await summarise([explicit({ count: 4, bucketCounts: [], explicitBounds: [] })]);
    expect(summary).toBeUndefined();
    expect(await counterValue(telemetry, 'vigil_processor_metric_points_skipped', { processor: 'percentiles', reason: 'no_value' })).toBe(1);
  });

  it('an exponential histogram at scale -10 gives finite quantiles, never NaN or Infinity', async () => {
    const dp: ExponentialHistogramDataPoint = {
      attributes: [],
      startTimeUnixNano: ns(VIGIL_START - 10_000),
      timeUnixNano: ns(VIGIL_START),
      count: 6,
      sum: 6000,
      scale: -10,
      zeroCount: 0,
      positive: { offset: 0, bucketCounts: [5] }, // (1, 2^1024]
      negative: { offset: -1, bucketCounts: [1] }, // [-1, -2^-1024)
      flags: 0,
      exemplars: [],
      zeroThreshold: 0,
    };
    const { summary, hist } = await summarise([{ type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [dp] }]);
    for (const v of summary!.quantileValues) expect(Number.isFinite(v.value)).toBe(true);
    expect(Number.isFinite(hist!.min!)).toBe(true);
    expect(Number.isFinite(hist!.max!)).toBe(true);
    expect(hist!.count).toBe(6);
    expect(hist!.sum).toBe(6000);
    expect(q(summary)[1]).toBe(Number.MAX_VALUE); // the top of (1, 2^1024]: as large as a double holds
  });
});
