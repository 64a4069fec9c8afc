/**
 * What the percentiles processor holds for one wall-clock window: per series a mergeable distribution
 * (src/sketch.ts), found through a trie over the series' dimension values (no key string per item).
 */
import type { KeyValue } from '../../src/model.ts';
import type { Sketch } from '../../src/sketch.ts';

/** One series of span data: the span's dimensions plus status.code. */
export interface SpanSeries {
  attrs: KeyValue[];
  /** Value of `service.name` when it is a dimension ('' otherwise): the emitted resource. */
  service: string;
  duration: Sketch;
  /** One sketch per configured span attribute (created when first seen). */
  extra: (Sketch | undefined)[];
}

/** One series of a received metric: the point's (or resource's) values of the dimensions it carries. */
export interface MetricSeries {
  attrs: KeyValue[];
  service: string;
  sketch: Sketch;
}

/** A trie over dimension values: each level maps one value to the next level, the last to the series `T`. */
export type Trie<T> = Map<string, Trie<T> | T>;

/** Everything held for one window. */
export class WindowState {
  readonly spanRoot: Trie<SpanSeries> = new Map();
  readonly spanSeries: SpanSeries[] = [];
  spanOverflow: SpanSeries | undefined;
  readonly metricRoots = new Map<string, Trie<MetricSeries>>();
  readonly metricSeries = new Map<string, MetricSeries[]>();
  readonly metricOverflow = new Map<string, MetricSeries>();
  /** Series created in this window (span and metric), against max_series. */
  seriesCount = 0;
  /** Bytes charged to the memory budget for this window's series (given back when it is flushed). */
  bytes = 0;
  constructor(readonly index: number) {}
}
