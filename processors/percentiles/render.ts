/**
 * Rendering of one window of the percentiles processor: per series an OTLP exponential histogram (delta)
 * and a summary of the configured quantiles, plus `span.calls` for span series; grouped into one
 * ResourceMetrics per `service.name` value when it is a dimension.
 */
import {
  AggregationTemporality,
  type ExponentialHistogramDataPoint,
  type KeyValue,
  type Metric,
  type NumberDataPoint,
  type ResourceMetrics,
  type SummaryDataPoint,
  emptyScope,
} from '../../src/model.ts';
import { type Dist, distCount, distQuantile, distSum, distToDataPoint } from './dist.ts';
import type { MetricSeriesView, SpanSeriesView } from './window-state.ts';

/** What rendering needs of the processor's config. */
export interface RenderOptions {
  windowMs: number;
  /** Scale of the series' distributions (packed ones carry none of their own). */
  scale: number;
  /** Quantiles of the summaries, 0 and 1 included, ascending. */
  quantiles: readonly number[];
  /** Configured numeric span attributes (their sketches are SpanSeries.extra, same order). */
  spanAttrs: readonly string[];
  /** Unit of each received metric, by name. */
  units: ReadonlyMap<string, string>;
}

/**
 * The metrics of window `index` from its span series (overflow included) and its received metrics' series
 * and overflow series by metric name: one ResourceMetrics per service (when service.name is a dimension).
 */
export function renderWindow(
  index: number,
  spanSeries: readonly SpanSeriesView[],
  metricSeries: ReadonlyMap<string, readonly MetricSeriesView[]>,
  metricOverflow: ReadonlyMap<string, MetricSeriesView>,
  o: RenderOptions,
): ResourceMetrics[] {
  const startNs = BigInt(index) * BigInt(o.windowMs) * 1_000_000n;
  const endNs = startNs + BigInt(o.windowMs) * 1_000_000n;
  const groups = new Map<string, Map<string, Metric>>();
  const metricFor = (service: string, name: string, make: () => Metric): Metric => {
    let g = groups.get(service);
    if (!g) groups.set(service, (g = new Map()));
    let m = g.get(name);
    if (!m) g.set(name, (m = make()));
    return m;
  };
  for (const s of spanSeries) {
    if (distCount(s.duration) === 0) continue;
    addDistribution(o, metricFor, s.service, 'span.duration', 'span.duration.summary', 'ms', s.duration, s.attrs, startNs, endNs);
    const calls = metricFor(s.service, 'span.calls', () => ({
      name: 'span.calls',
      description: 'Spans seen in the window',
      unit: '{call}',
      metadata: [],
      data: { type: 'sum', dataPoints: [], aggregationTemporality: AggregationTemporality.Delta, isMonotonic: true },
    }));
    (calls.data!.dataPoints as NumberDataPoint[]).push({
      attributes: s.attrs,
      startTimeUnixNano: startNs,
      timeUnixNano: endNs,
      value: BigInt(distCount(s.duration)),
      exemplars: [],
      flags: 0,
    });
    for (let i = 0; i < o.spanAttrs.length; i++) {
      const sk = s.extra[i];
      if (!sk || distCount(sk) === 0) continue;
      const name = o.spanAttrs[i]!;
      addDistribution(o, metricFor, s.service, `${name}.distribution`, `${name}.summary`, '', sk, s.attrs, startNs, endNs);
    }
  }
  for (const [name, list] of metricSeries) {
    const unit = o.units.get(name) ?? '';
    for (const s of list) addDistribution(o, metricFor, s.service, `${name}.distribution`, `${name}.summary`, unit, s.dist, s.attrs, startNs, endNs);
  }
  for (const [name, s] of metricOverflow) {
    addDistribution(o, metricFor, '', `${name}.distribution`, `${name}.summary`, o.units.get(name) ?? '', s.dist, s.attrs, startNs, endNs);
  }
  const out: ResourceMetrics[] = [];
  for (const [service, metrics] of groups) {
    out.push({
      resource: { attributes: service !== '' ? [{ key: 'service.name', value: service }] : [], droppedAttributesCount: 0 },
      scopeMetrics: [{ scope: emptyScope('vigil/percentiles'), metrics: [...metrics.values()], schemaUrl: '' }],
      schemaUrl: '',
    });
  }
  return out;
}

function addDistribution(
  o: RenderOptions,
  metricFor: (service: string, name: string, make: () => Metric) => Metric,
  service: string,
  histName: string,
  summaryName: string,
  unit: string,
  dist: Dist,
  attrs: KeyValue[],
  startNs: bigint,
  endNs: bigint,
): void {
  const count = distCount(dist);
  if (count === 0) return;
  const hist = metricFor(service, histName, () => ({
    name: histName,
    description: 'Distribution over the window (mergeable exponential histogram)',
    unit,
    metadata: [],
    data: { type: 'exponentialHistogram', dataPoints: [], aggregationTemporality: AggregationTemporality.Delta },
  }));
  (hist.data!.dataPoints as ExponentialHistogramDataPoint[]).push(distToDataPoint(dist, o.scale, attrs, startNs, endNs));
  const summary = metricFor(service, summaryName, () => ({
    name: summaryName,
    description: 'Quantiles over the window (0 = min, 1 = max)',
    unit,
    metadata: [],
    data: { type: 'summary', dataPoints: [] },
  }));
  const dp: SummaryDataPoint = {
    attributes: attrs,
    startTimeUnixNano: startNs,
    timeUnixNano: endNs,
    count,
    sum: distSum(dist),
    quantileValues: o.quantiles.map((q) => ({ quantile: q, value: distQuantile(dist, q, o.scale) })),
    flags: 0,
  };
  (summary.data!.dataPoints as SummaryDataPoint[]).push(dp);
}
