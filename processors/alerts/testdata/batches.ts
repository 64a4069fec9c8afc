/** Test helpers: metric batches as the percentiles and cost processors emit them. */
import { AggregationTemporality, type Batch, type Metric, emptyResource, emptyScope } from '../../../src/model.ts';
import { Sketch } from '../../../src/sketch.ts';

const ns = (ms: number) => BigInt(ms) * 1_000_000n;
const attrs = (labels: Record<string, string>) => Object.entries(labels).map(([key, value]) => ({ key, value }));

export function batchOf(metrics: Metric[], resource: Record<string, string> = {}): Batch {
  return {
    resourceMetrics: [{ resource: { ...emptyResource(), attributes: attrs(resource) }, schemaUrl: '', scopeMetrics: [{ scope: emptyScope('t'), schemaUrl: '', metrics }] }],
  };
}

export function gauge(name: string, labels: Record<string, string>, value: number, timeMs: number): Metric {
  return { name, description: '', unit: '', metadata: [], data: { type: 'gauge', dataPoints: [{ attributes: attrs(labels), startTimeUnixNano: 0n, timeUnixNano: ns(timeMs), value, exemplars: [], flags: 0 }] } };
}

export function sum(name: string, labels: Record<string, string>, value: number, timeMs: number, cumulative = false): Metric {
  return {
    name,
    description: '',
    unit: '',
    metadata: [],
    data: {
      type: 'sum',
      isMonotonic: true,
      aggregationTemporality: cumulative ? AggregationTemporality.Cumulative : AggregationTemporality.Delta,
      dataPoints: [{ attributes: attrs(labels), startTimeUnixNano: 0n, timeUnixNano: ns(timeMs), value, exemplars: [], flags: 0 }],
    },
  };
}

/** A delta exponential histogram holding `values`, as the percentiles processor emits `span.duration`. */
export function dist(name: string, labels: Record<string, string>, values: number[], timeMs: number): Metric {
  const sk = Sketch.forAccuracy(0.01);
  for (const v of values) sk.add(v);
  return {
    name,
    description: '',
    unit: 'ms',
    metadata: [],
    data: { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [sk.toDataPoint(attrs(labels), ns(timeMs - 10_000), ns(timeMs))] },
  };
}

export function explicitHist(name: string, labels: Record<string, string>, bounds: number[], counts: number[], timeMs: number, cumulative = false): Metric {
  return {
    name,
    description: '',
    unit: '',
    metadata: [],
    data: {
      type: 'histogram',
      aggregationTemporality: cumulative ? AggregationTemporality.Cumulative : AggregationTemporality.Delta,
      dataPoints: [
        { attributes: attrs(labels), startTimeUnixNano: 0n, timeUnixNano: ns(timeMs), count: counts.reduce((a, b) => a + b, 0), bucketCounts: counts, explicitBounds: bounds, exemplars: [], flags: 0 },
      ],
    },
  };
}
