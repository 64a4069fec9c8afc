/**
 * One stored series of the alerts processor: a metric and attribute set, its time-ordered points (ms) of
 * one kind (gauge, delta, counter, dist, summary; see series-store.ts for what each keeps), bounded in
 * points by pairwise merging of the older half, with per-window caches.
 */
import { Sketch, scaleForAccuracy } from '../../src/sketch.ts';
import { DistPoints, dropFront } from './dist-points.ts';
import { WindowHist } from './window-histogram.ts';

/**
 * How a series keeps its points (see this file's comment): gauge, delta, counter, dist (distribution) or summary.
 */
export type SeriesKind = 'gauge' | 'delta' | 'counter' | 'dist' | 'summary';

/** One stored summary point: count and sum increments and the latest quantiles. */
export interface SummaryPoint {
  count: number;
  sum: number;
  quantiles: { quantile: number; value: number }[];
}

/** The sketch scale explicit-bucket histograms are folded into (1% relative accuracy). */
export const EXPLICIT_SCALE = scaleForAccuracy(0.01);


let seriesCounter = 0;

/** One stored series (see this file's comment): a metric and attribute set, its points (times in ms) and caches. */
export class Series {
  /** A number unique to the series (spreads the window caches' rebuilds over evaluations). */
  readonly seq = seriesCounter++;
  /** Point times, milliseconds, ascending. */
  t: number[] = [];
  /** gauge/delta/counter: the value; dist/summary: the observation count. */
  v: number[] = [];
  /** dist: the points' buckets and stats (parallel to t). */
  dist: DistPoints | undefined;
  sm: SummaryPoint[] = [];
  /** counter: each point's increment since the stream's previous point (0 for a baseline), parallel to t. */
  inc: number[] = [];
  /** Time of the newest point ever stored (stays after pruning). */
  lastSeen = -Infinity;
  /** Points removed from the front so far: absolute index = base + array index. */
  base = 0;
  /** Bumped when points are inserted out of order or compacted: invalidates the window caches. */
  version = 0;
  /** Sliding-window merged histograms per window length (dist series only). */
  windows: Map<number, WindowHist> | undefined;
  /** The first of `windows` made, and its length (found without a map lookup: most series are read over one window). */
  window: WindowHist | undefined;
  windowMs = NaN;
  /** Absolute indices (base + array index) of the last window read: where the next one is looked for first. */
  hintFrom = 0;
  hintTo = 0;
  /** Times of staleness markers (ascending; usually empty), kept as long as the points. */
  staleAt: number[] | undefined;
  /** Estimated bytes of the series without its points, for the memory budget (set by the store; 0: not yet). */
  baseBytes = 0;
  /** The store's prune schedule: the second (Unix ms / 1000) this series is filed under; -1: not filed (counters, new). */
  pruneBucket = -1;
  constructor(
    readonly metric: string,
    readonly key: string,
    readonly attrs: Readonly<Record<string, string>>,
    public kind: SeriesKind,
  ) {
    if (kind === 'dist') this.dist = new DistPoints();
  }

  /** Forgets every point (the metric changed type). */
  resetAs(kind: SeriesKind): void {
    this.t = [];
    this.v = [];
    this.sm = [];
    this.dist = kind === 'dist' ? new DistPoints() : undefined;
    this.windows = undefined;
    this.window = undefined;
    this.windowMs = NaN;
    this.staleAt = undefined;
    this.inc = [];
    this.kind = kind;
    this.version++;
  }

  /** The dist point at array index i as a Sketch (tests, diagnostics). */
  sketchAt(i: number): Sketch {
    return this.dist!.sketchAt(i);
  }

  get length(): number {
    return this.t.length;
  }

  /**
   * {@link firstAfter}, looked for first at array index `guess` and the few after it (a window that moved
   * on by a point or two), then by binary search.
   */
  firstAfterNear(from: number, guess: number): number {
    const t = this.t;
    const n = t.length;
    let i = guess;
    if (i >= 0 && i <= n && (i === 0 || t[i - 1]! <= from)) {
      for (let steps = 0; i < n && t[i]! <= from && steps < 4; steps++) i++;
      if (i === n || t[i]! > from) return i;
    }
    return this.firstAfter(from);
  }

  /** Index of the first point with time > from (binary search). */
  firstAfter(from: number): number {
    let lo = 0;
    let hi = this.t.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.t[mid]! > from) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Inserts a point in time order; `inc` is a counter point's increment (ignored for other kinds). */
  insert(time: number, value: number, sketch?: Sketch, summary?: SummaryPoint, inc = 0): void {
    let i = this.t.length;
    while (i > 0 && this.t[i - 1]! > time) i--;
    if (i === this.t.length) {
      this.t.push(time);
      this.v.push(value);
      if (this.kind === 'dist') this.dist!.push(sketch!);
      if (this.kind === 'summary') this.sm.push(summary!);
      if (this.kind === 'counter') this.inc.push(inc);
    } else {
      this.version++;
      this.t.splice(i, 0, time);
      this.v.splice(i, 0, value);
      if (this.kind === 'dist') this.dist!.insertAt(i, sketch!);
      if (this.kind === 'summary') this.sm.splice(i, 0, summary!);
      if (this.kind === 'counter') this.inc.splice(i, 0, inc);
    }
    if (time > this.lastSeen) this.lastSeen = time;
  }

  /**
   * Records a staleness marker (Prometheus: the series ended here; OTLP: a point flagged
   * FLAG_NO_RECORDED_VALUE). The marker carries no value: it only hides the series from `last` until a
   * later point arrives, as an instant selector does not see a series whose latest sample is stale.
   */
  markStale(time: number): void {
    const list = (this.staleAt ??= []);
    let i = list.length;
    while (i > 0 && list[i - 1]! > time) i--;
    if (list[i - 1] !== time) list.splice(i, 0, time);
    if (list.length > 64) list.shift(); // bounded: only the latest markers matter
  }

  /** Whether the newest point at or before `to` is followed by a staleness marker at or before `to`. */
  staleBy(to: number, end: number): boolean {
    const list = this.staleAt;
    if (!list?.length) return false;
    let i = list.length - 1;
    while (i >= 0 && list[i]! > to) i--;
    if (i < 0) return false;
    return end === 0 || list[i]! >= this.t[end - 1]!;
  }

  /** Drops points at or before `before`, keeping one for counters (the baseline of increase). */
  prune(before: number): void {
    if (this.staleAt?.length) {
      let k = 0;
      while (k < this.staleAt.length && this.staleAt[k]! <= before) k++;
      if (k) this.staleAt.splice(0, k);
    }
    let n = this.firstAfter(before);
    if (this.kind === 'counter' && n > 0) n--;
    if (n === 0) return;
    this.base += n;
    dropFront(this.t, n);
    dropFront(this.v, n);
    if (this.kind === 'dist') this.dist!.removeFront(n);
    if (this.kind === 'summary') dropFront(this.sm, n);
    if (this.kind === 'counter') dropFront(this.inc, n);
  }

  /** Merges the older half pairwise (see the module comment). */
  compact(): void {
    this.version++;
    const half = this.t.length >> 1;
    const t: number[] = [];
    const v: number[] = [];
    const sk: Sketch[] = [];
    const sm: SummaryPoint[] = [];
    const inc: number[] = [];
    let i = 0;
    for (; i + 1 < half; i += 2) {
      t.push(this.t[i + 1]!);
      if (this.kind === 'counter') inc.push(this.inc[i]! + this.inc[i + 1]!);
      switch (this.kind) {
        case 'delta':
          v.push(this.v[i]! + this.v[i + 1]!);
          break;
        case 'dist': {
          const s = this.dist!.sketchAt(i);
          s.merge(this.dist!.sketchAt(i + 1));
          sk.push(s);
          v.push(s.count);
          break;
        }
        case 'summary': {
          const a = this.sm[i]!;
          const b = this.sm[i + 1]!;
          sm.push({ count: a.count + b.count, sum: a.sum + b.sum, quantiles: b.quantiles });
          v.push(a.count + b.count);
          break;
        }
        default:
          v.push(this.v[i + 1]!);
      }
    }
    for (; i < this.t.length; i++) {
      t.push(this.t[i]!);
      v.push(this.v[i]!);
      if (this.kind === 'dist') sk.push(this.dist!.sketchAt(i));
      if (this.kind === 'summary') sm.push(this.sm[i]!);
      if (this.kind === 'counter') inc.push(this.inc[i]!);
    }
    this.inc = inc;
    this.t = t;
    this.v = v;
    if (this.kind === 'dist') this.dist!.replaceAll(sk);
    this.sm = sm;
  }
}
