/**
 * The statistics a rule takes over a window (`stat`: pNN, avg, min, max, sum, count, rate, increase,
 * last) and the accumulator that folds the points of several series into them.
 */
import type { Series } from './series.ts';
import { GroupHist, type HistView, WindowHist, quantileOf } from './window-histogram.ts';
/** A rule's `stat`: a quantile (`pNN`, q in [0, 1]) or one of avg, min, max, sum, count, rate, increase, last. */
export type Stat =
  | { kind: 'quantile'; q: number }
  | { kind: 'avg' | 'min' | 'max' | 'sum' | 'count' | 'rate' | 'increase' | 'last' };

const SIMPLE_STATS = ['avg', 'min', 'max', 'sum', 'count', 'rate', 'increase', 'last'] as const;

/** Parses `p95`, `p99.9`, `avg`, ...; throws with the accepted forms. */
export function parseStat(text: string): Stat {
  const m = /^p(\d{1,3}(?:\.\d+)?)$/.exec(text);
  if (m) {
    const p = Number(m[1]);
    if (p >= 0 && p <= 100) return { kind: 'quantile', q: p / 100 };
  }
  if ((SIMPLE_STATS as readonly string[]).includes(text)) return { kind: text as (typeof SIMPLE_STATS)[number] };
  throw new Error(`unknown stat "${text}": expected pNN (p50, p95, p99.9), avg, min, max, sum, count, rate, increase or last`);
}

/** Accumulates the points of several series over one window. Reusable: call reset() between uses. */
export class WindowAccumulator {
  points = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  last = 0;
  /** How many series gave `last` a value (a series whose latest point is followed by a staleness marker gives none). */
  lastSeries = 0;
  increase = 0;
  /** The window histograms of the dist series added (dists[0, nDists)). */
  private readonly dists: WindowHist[] = [];
  private nDists = 0;
  private readonly group = new GroupHist();
  summaryQ: number[] = [];
  /** Summary series added: their windows are read as summaries even when no new observation came (count 0). */
  summaries = 0;
  summaryCount = 0;
  summarySum = 0;
  summaryMin = Infinity;
  summaryMax = -Infinity;

  reset(): void {
    this.points = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.last = 0;
    this.lastSeries = 0;
    this.increase = 0;
    this.nDists = 0;
    this.summaryQ.length = 0;
    this.summaries = 0;
    this.summaryCount = 0;
    this.summarySum = 0;
    this.summaryMin = Infinity;
    this.summaryMax = -Infinity;
  }

  /** Adds the points of `s` in (from, to]; `q` is the quantile a summary should report (or -1). */
  add(s: Series, from: number, to: number, q: number): void {
    // the window moved on by a point or two since the last read: found next to where it was, not by a search
    const start = s.firstAfterNear(from, s.hintFrom - s.base);
    const end = s.firstAfterNear(to, s.hintTo - s.base);
    s.hintFrom = s.base + start;
    s.hintTo = s.base + end;
    if (end <= start) return;
    const stale = s.staleAt !== undefined && s.staleBy(to, end);
    const n = end - start;
    this.points += n;
    if (s.kind === 'dist') {
      const windowMs = to - from;
      let w = s.windowMs === windowMs ? s.window : undefined;
      if (!w) {
        s.windows ??= new Map();
        w = s.windows.get(windowMs);
        if (!w) s.windows.set(windowMs, (w = new WindowHist()));
        if (s.window === undefined) {
          s.window = w;
          s.windowMs = windowMs;
        }
      }
      w.update(s.dist!, s.base, s.version, s.base + start, s.base + end, s.seq);
      this.dists[this.nDists++] = w;
      return;
    }
    if (s.kind === 'summary') {
      this.summaries++;
      for (let i = start; i < end; i++) {
        const p = s.sm[i]!;
        this.summaryCount += p.count;
        this.summarySum += p.sum;
        for (const qv of p.quantiles) {
          if (qv.quantile === 0 && qv.value < this.summaryMin) this.summaryMin = qv.value;
          if (qv.quantile === 1 && qv.value > this.summaryMax) this.summaryMax = qv.value;
        }
      }
      if (q >= 0) {
        const latest = s.sm[end - 1]!.quantiles.find((x) => Math.abs(x.quantile - q) < 1e-9);
        if (latest) this.summaryQ.push(latest.value);
      }
      return;
    }
    const v = s.v;
    let local = 0;
    for (let i = start; i < end; i++) {
      const x = v[i]!;
      local += x;
      if (x < this.min) this.min = x;
      if (x > this.max) this.max = x;
    }
    this.sum += local;
    if (!stale) {
      this.last += v[end - 1]!;
      this.lastSeries++;
    }
    if (s.kind === 'delta') {
      this.increase += local;
    } else if (s.kind === 'counter') {
      // the increments the stream reader computed (resets, restarts and baselines already handled)
      const inc = s.inc;
      for (let i = start; i < end; i++) this.increase += inc[i]!;
    } else {
      // gauges: increase with drops as resets, from the last point before the window when there is one
      let prev = start > 0 ? v[start - 1]! : v[start]!;
      let inc = 0;
      for (let i = start > 0 ? start : start + 1; i < end; i++) {
        const x = v[i]!;
        inc += x >= prev ? x - prev : x;
        prev = x;
      }
      this.increase += inc;
    }
  }

  /** The value of `stat` over what was added; NaN when there was no point (no data). */
  result(stat: Stat, windowMs: number): number {
    if (this.points === 0) return NaN;
    if (this.nDists > 0) {
      // one series: its window histogram as it is; several: merged (buckets only for quantiles)
      const sk: HistView =
        this.nDists === 1 ? this.dists[0]! : stat.kind === 'quantile' ? this.group.merge(this.dists, this.nDists) : this.group.scalars(this.dists, this.nDists);
      switch (stat.kind) {
        case 'quantile':
          return this.nDists === 1 ? this.dists[0]!.quantile(stat.q) : quantileOf(sk, stat.q);
        case 'avg':
        case 'last':
          return sk.count === 0 ? NaN : sk.sum / sk.count;
        case 'min':
          return sk.count === 0 ? NaN : sk.min;
        case 'max':
          return sk.count === 0 ? NaN : sk.max;
        case 'sum':
          return sk.sum;
        case 'count':
        case 'increase':
          return sk.count;
        case 'rate':
          return sk.count / (windowMs / 1000);
      }
    }
    // summary points in the window, even with no new observation: count, sum and rate 0, the rest no data
    // (the points' own values are their counts: read as a gauge they gave the number of points as count)
    if (this.summaries > 0) {
      switch (stat.kind) {
        case 'quantile':
          return this.summaryQ.length ? Math.max(...this.summaryQ) : NaN;
        case 'avg':
        case 'last':
          return this.summaryCount ? this.summarySum / this.summaryCount : NaN;
        case 'min':
          return Number.isFinite(this.summaryMin) ? this.summaryMin : NaN;
        case 'max':
          return Number.isFinite(this.summaryMax) ? this.summaryMax : NaN;
        case 'sum':
          return this.summarySum;
        case 'count':
        case 'increase':
          return this.summaryCount;
        case 'rate':
          return this.summaryCount / (windowMs / 1000);
      }
    }
    switch (stat.kind) {
      case 'quantile':
        return NaN;
      case 'avg':
        return this.sum / this.points;
      case 'min':
        return this.min;
      case 'max':
        return this.max;
      case 'sum':
        return this.sum;
      case 'count':
        return this.points;
      case 'last':
        return this.lastSeries ? this.last : NaN;
      case 'increase':
        return this.increase;
      case 'rate':
        return this.increase / (windowMs / 1000);
    }
  }
}
