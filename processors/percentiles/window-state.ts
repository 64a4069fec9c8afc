/**
 * What the percentiles processor holds for one wall-clock window: per series a mergeable distribution
 * (./dist.ts: packed while small, else a src/sketch.ts Sketch), found through a trie over the series'
 * dimension values (no key string per item). A series holds no attribute list of its own: its values are
 * its path in the trie, and the attributes are built from that path when the window is emitted.
 */
import type { KeyValue } from '../../src/model.ts';
import type { Dist } from './dist.ts';

/** status.code values of span series, in slot order (OTLP StatusCode 0, 1, 2). */
export const STATUS_NAMES = ['unset', 'ok', 'error'] as const;
/** Trie key for a dimension a received metric point does not carry (its attribute is then left out). */
export const ABSENT = '\u0000';

/**
 * The span series of one combination of dimension values, one per status.code that was seen: slot
 * `status * stride` holds the span duration and slot `status * stride + 1 + i` the distribution of the
 * configured span attribute i (stride = 1 + number of span attributes); a status never seen leaves its
 * slots undefined. The overflow series uses status 0's slots only.
 */
export type SpanLeaf = (Dist | undefined)[];

/**
 * A trie over dimension values: each level maps one value to the next level, the last to `T`. With no
 * dimension configured there is one level and the key ''.
 */
export type Trie<T> = Map<string, Trie<T> | T>;

/** One span series as emitted (built when its window closes). */
export interface SpanSeriesView {
  attrs: KeyValue[];
  /** Value of `service.name` when it is a dimension ('' otherwise): the emitted resource. */
  service: string;
  duration: Dist;
  /** One distribution per configured span attribute (undefined when never seen). */
  extra: (Dist | undefined)[];
}

/** One received metric's series as emitted. */
export interface MetricSeriesView {
  attrs: KeyValue[];
  service: string;
  dist: Dist;
}

/** Everything held for one window. */
export class WindowState {
  readonly spanRoot: Trie<SpanLeaf> = new Map();
  spanOverflow: SpanLeaf | undefined;
  /** Per received metric name, its trie to its series' distributions. */
  readonly metricRoots = new Map<string, Trie<Dist>>();
  readonly metricOverflow = new Map<string, Dist>();
  /** Series created in this window (span and metric), against max_series. */
  seriesCount = 0;
  /** Bytes charged to the memory budget for this window's series (given back when it is flushed). */
  bytes = 0;
  constructor(readonly index: number) {}

  /**
   * The span series, overflow last, with attributes rebuilt from their trie paths: every dimension (in
   * `dims` order) then status.code. `stride` is 1 + the number of configured span attributes.
   */
  spanSeries(dims: readonly string[], serviceDim: number, stride: number, overflowAttrs: KeyValue[]): SpanSeriesView[] {
    const out: SpanSeriesView[] = [];
    const levels = Math.max(1, dims.length);
    const vals = new Array<string>(levels).fill('');
    const visit = (node: Trie<SpanLeaf>, depth: number): void => {
      for (const [v, child] of node) {
        vals[depth] = v;
        if (depth + 1 < levels) {
          visit(child as Trie<SpanLeaf>, depth + 1);
          continue;
        }
        const leaf = child as SpanLeaf;
        for (let s = 0; s < STATUS_NAMES.length; s++) {
          const duration = leaf[s * stride];
          if (duration === undefined) continue;
          const attrs: KeyValue[] = [];
          for (let d = 0; d < dims.length; d++) attrs.push({ key: dims[d]!, value: vals[d]! });
          attrs.push({ key: 'status.code', value: STATUS_NAMES[s]! });
          out.push({ attrs, service: serviceDim >= 0 ? vals[serviceDim]! : '', duration, extra: leaf.slice(s * stride + 1, (s + 1) * stride) });
        }
      }
    };
    visit(this.spanRoot, 0);
    const o = this.spanOverflow;
    if (o?.[0] !== undefined) out.push({ attrs: overflowAttrs, service: '', duration: o[0], extra: o.slice(1, stride) });
    return out;
  }

  /** Per received metric name, its series with attributes rebuilt from their trie paths (dimensions the point carried). */
  metricSeries(dims: readonly string[], serviceDim: number): Map<string, MetricSeriesView[]> {
    const out = new Map<string, MetricSeriesView[]>();
    const nd = dims.length;
    const vals = new Array<string>(nd).fill(ABSENT);
    for (const [name, root] of this.metricRoots) {
      const list: MetricSeriesView[] = [];
      const emit = (dist: Dist) => {
        const attrs: KeyValue[] = [];
        for (let d = 0; d < nd; d++) if (vals[d] !== ABSENT) attrs.push({ key: dims[d]!, value: vals[d]! });
        const service = serviceDim >= 0 && vals[serviceDim] !== ABSENT ? vals[serviceDim]! : '';
        list.push({ attrs, service, dist });
      };
      const visit = (node: Trie<Dist>, depth: number): void => {
        for (const [v, child] of node) {
          vals[depth] = v;
          if (depth + 1 < nd) visit(child as Trie<Dist>, depth + 1);
          else emit(child as Dist);
        }
      };
      if (nd === 0) {
        const d = root.get('');
        if (d !== undefined) emit(d as Dist);
      } else visit(root, 0);
      if (list.length) out.set(name, list);
    }
    return out;
  }
}
