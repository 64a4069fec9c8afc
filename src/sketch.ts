/**
 * A mergeable distribution with a relative-error bound: the OTLP exponential histogram mapping (which is
 * DDSketch's logarithmic mapping with base 2^(2^-scale)). Value v > 0 falls in bucket
 * i = ceil(log2(v) * 2^scale) - 1, covering (base^i, base^(i+1)]. A quantile is answered with the point
 * of its bucket that minimises the relative error, so every answer is within (base-1)/(base+1) of a
 * value of the data at that rank; the scale is chosen from the requested relative accuracy.
 *
 * Two sketches of the same scale merge exactly (bucket counts add); a finer one is downscaled to the
 * coarser scale first (index floor-divided by 2^diff), which is also exact for the coarser mapping.
 */
import type { ExponentialHistogramDataPoint, HistogramDataPoint } from './model.ts';

/**
 * The finest exponential-histogram scale vigil uses, 20 (the maximum the OTel metrics SDK spec allows; base 2^(2^-20)).
 */
export const MAX_SCALE = 20;
/**
 * The coarsest exponential-histogram scale vigil uses, -10 (the minimum the OTel metrics SDK spec allows; base 2^1024).
 */
export const MIN_SCALE = -10;
/**
 * Default cap on the buckets of each sign. At scale 6 (1% accuracy) 4096 buckets span a ratio of 2^64
 * between the smallest and largest value, so real data never reaches it; data that does (or a merge that
 * does) is downscaled (coarser buckets, larger error) rather than growing without bound.
 */
export const DEFAULT_MAX_BUCKETS = 4096;

/** The largest scale whose bucket error stays within `relativeAccuracy` (0.01 -> scale 6, error 0.54%). */
export function scaleForAccuracy(relativeAccuracy: number): number {
  if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) throw new Error('relative accuracy must be in (0, 1)');
  const maxBase = (1 + relativeAccuracy) / (1 - relativeAccuracy);
  // base = 2^(2^-scale) <= maxBase  <=>  scale >= -log2(log2(maxBase))
  const scale = Math.ceil(-Math.log2(Math.log2(maxBase)));
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
}

/** The relative error bound of a scale: (base-1)/(base+1). */
export function accuracyOfScale(scale: number): number {
  const base = 2 ** (2 ** -scale);
  return (base - 1) / (base + 1);
}

/** Largest count a Uint32Array slot holds; past it the counts move to a Float64Array. */
const U32_MAX = 0xffffffff;

/**
 * Bucket counts from `offset` upwards, stored densely and grown on demand. Counts start in a Uint32Array
 * (half the memory of doubles: 100k live series matter) and move to a Float64Array the first time a count
 * would not fit (more than 2^32-1, or a fractional weight).
 */
class Buckets {
  counts: Float64Array | Uint32Array = new Uint32Array(0);
  offset = 0;
  /** Number of used slots from `offset`. */
  length = 0;

  /** The number of slots the buckets would span if `index` were added. */
  spanWith(index: number): number {
    if (this.length === 0) return 1;
    if (index < this.offset) return this.offset + this.length - index;
    return index - this.offset + 1 > this.length ? index - this.offset + 1 : this.length;
  }

  add(index: number, n: number): void {
    if (this.length === 0) {
      if (this.counts.length === 0) this.counts = new Uint32Array(8);
      else this.counts.fill(0);
      this.offset = index;
      this.length = 1;
      this.put(0, n);
      return;
    }
    let rel = index - this.offset;
    if (rel < 0) {
      this.growFront(-rel);
      rel = 0;
    } else if (rel >= this.length) {
      if (rel >= this.counts.length) this.growBack(rel + 1);
      this.length = rel + 1;
    }
    this.put(rel, n);
  }

  private put(rel: number, n: number): void {
    const c = this.counts;
    const next = c[rel]! + n;
    if (c instanceof Uint32Array && (next > U32_MAX || next !== Math.floor(next))) {
      this.counts = Float64Array.from(c);
    }
    this.counts[rel] = next;
  }

  private alloc(size: number): Float64Array | Uint32Array {
    return this.counts instanceof Uint32Array ? new Uint32Array(size) : new Float64Array(size);
  }

  // Growth is sized from the used length, not the capacity: a cleared array that is reused must not
  // double on every reuse.
  private growBack(needed: number): void {
    const next = this.alloc(Math.max(needed, this.length * 2));
    next.set(this.counts.subarray(0, this.length));
    this.counts = next;
  }

  private growFront(by: number): void {
    const needed = this.length + by;
    if (needed <= this.counts.length) {
      this.counts.copyWithin(by, 0, this.length);
      this.counts.fill(0, 0, by);
    } else {
      const next = this.alloc(Math.max(needed, this.length * 2));
      next.set(this.counts.subarray(0, this.length), by);
      this.counts = next;
    }
    this.offset -= by;
    this.length = needed;
  }

  /**
   * Re-buckets to a scale `by` steps coarser (index floor-divided by 2^by: `>> by` for indices within 32 bits, and
   * right for any index a double holds exactly; `>>` wrapped an offset near 2^31 to a negative one).
   */
  downscale(by: number): void {
    if (by <= 0 || this.length === 0) return;
    const old = this.counts.subarray(0, this.length);
    const oldOffset = this.offset;
    const div = 2 ** by;
    const newOffset = Math.floor(oldOffset / div);
    const newLen = Math.floor((oldOffset + this.length - 1) / div) - newOffset + 1;
    // sums of counts may outgrow 32 bits: add up in doubles, then keep the narrow type if they fit
    const sums = new Float64Array(Math.max(8, newLen));
    let max = 0;
    for (let i = 0; i < old.length; i++) {
      const j = Math.floor((oldOffset + i) / div) - newOffset;
      const v = (sums[j]! += old[i]!);
      if (v > max) max = v;
    }
    this.counts = this.counts instanceof Uint32Array && max <= U32_MAX ? Uint32Array.from(sums) : sums;
    this.offset = newOffset;
    this.length = newLen;
  }

  /** Forgets every count (keeps the allocated array for reuse). */
  clear(): void {
    this.length = 0;
    this.offset = 0;
  }

  clone(): Buckets {
    const b = new Buckets();
    b.counts = this.counts.slice(0, Math.max(8, this.length));
    b.offset = this.offset;
    b.length = this.length;
    return b;
  }

  toArray(): number[] {
    // trim zero ends so the exported offsets are tight
    let start = 0;
    let end = this.length;
    while (start < end && this.counts[start] === 0) start++;
    while (end > start && this.counts[end - 1] === 0) end--;
    return Array.from(this.counts.subarray(start, end));
  }

  firstIndex(): number {
    let start = 0;
    while (start < this.length && this.counts[start] === 0) start++;
    return this.offset + start;
  }
}

/**
 * A mergeable quantile sketch on OTLP's exponential-histogram buckets (see the file comment): counts, sum, min and
 * max of the values added, plus positive/negative buckets at `scale` and a zero count. Holds at most
 * `maxBuckets` buckets per sign, downscaling itself (coarser, larger error) instead of growing.
 */
export class Sketch {
  scale: number;
  private scaleFactor: number;
  private base: number;
  readonly positive = new Buckets();
  readonly negative = new Buckets();
  zeroCount = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  /** Most buckets of each sign before the sketch downscales itself (memory bound). */
  readonly maxBuckets: number;

  constructor(scale: number, maxBuckets = DEFAULT_MAX_BUCKETS) {
    this.maxBuckets = Math.max(2, maxBuckets);
    this.scale = scale;
    this.scaleFactor = 2 ** scale;
    this.base = 2 ** (2 ** -scale);
  }

  /** A sketch whose quantiles are within `relativeAccuracy` of the true values. */
  static forAccuracy(relativeAccuracy: number): Sketch {
    return new Sketch(scaleForAccuracy(relativeAccuracy));
  }

  /** Bucket index of a positive value at this sketch's scale. */
  indexOf(v: number): number {
    return bucketIndex(v, this.scaleFactor);
  }

  /** Adds `n` observations of `v` (NaN and infinities are ignored). */
  add(v: number, n = 1): void {
    if (!Number.isFinite(v) || n <= 0) return;
    this.count += n;
    this.sum += v * n;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (v > 0) {
      let i = this.indexOf(v);
      if (this.positive.spanWith(i) > this.maxBuckets) i = this.fit(this.positive, v);
      this.positive.add(i, n);
    } else if (v < 0) {
      let i = this.indexOf(-v);
      if (this.negative.spanWith(i) > this.maxBuckets) i = this.fit(this.negative, -v);
      this.negative.add(i, n);
    } else this.zeroCount += n;
  }

  /** Downscales until `v` (> 0) fits in `b` within maxBuckets; returns its index at the new scale. */
  private fit(b: Buckets, v: number): number {
    let i = this.indexOf(v);
    while (b.spanWith(i) > this.maxBuckets && this.scale > MIN_SCALE) {
      this.downscaleTo(this.scale - 1);
      i = this.indexOf(v);
    }
    return i;
  }

  /** Downscales after a merge until both signs fit within maxBuckets. */
  private enforceMaxBuckets(): void {
    while ((this.positive.length > this.maxBuckets || this.negative.length > this.maxBuckets) && this.scale > MIN_SCALE) {
      this.downscaleTo(this.scale - 1);
    }
  }

  /**
   * Before merging buckets given at `scale` (>= this.scale), downscales this sketch until the union of both
   * ranges fits in maxBuckets, so that a merge never allocates more than the cap (even for hostile input).
   */
  private makeRoomFor(scale: number, posOffset: number, posLen: number, negOffset: number, negLen: number): void {
    const by = scale - this.scale;
    let extra = 0;
    for (;;) {
      const fitsPos = rangeFits(this.positive, posOffset, posLen, by + extra, extra, this.maxBuckets);
      const fitsNeg = rangeFits(this.negative, negOffset, negLen, by + extra, extra, this.maxBuckets);
      if ((fitsPos && fitsNeg) || this.scale - extra <= MIN_SCALE) break;
      extra++;
    }
    if (extra > 0) this.downscaleTo(this.scale - extra);
  }

  /** Empties the sketch (keeps its scale and allocated buckets). */
  reset(): void {
    this.positive.clear();
    this.negative.clear();
    this.zeroCount = 0;
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }

  /** Lowers the resolution to `scale` (coarser) if it is finer now. */
  downscaleTo(scale: number): void {
    if (scale >= this.scale) return;
    const by = this.scale - scale;
    this.positive.downscale(by);
    this.negative.downscale(by);
    this.scale = scale;
    this.scaleFactor = 2 ** scale;
    this.base = 2 ** (2 ** -scale);
  }

  /** Adds another sketch into this one (exact at the coarser of the two scales). */
  merge(other: Sketch): void {
    if (other.count === 0) return;
    if (other.scale < this.scale) this.downscaleTo(other.scale);
    this.makeRoomFor(other.scale, other.positive.offset, other.positive.length, other.negative.offset, other.negative.length);
    const by = other.scale - this.scale;
    mergeBuckets(this.positive, other.positive.counts, other.positive.offset, other.positive.length, by);
    mergeBuckets(this.negative, other.negative.counts, other.negative.offset, other.negative.length, by);
    this.zeroCount += other.zeroCount;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    this.enforceMaxBuckets();
  }

  /** Adds an OTLP exponential histogram data point (exact at the coarser of the two scales). */
  mergeDataPoint(dp: ExponentialHistogramDataPoint): boolean {
    if (dp.count === 0) return true;
    if (dp.zeroCount === 0 && !hasCounts(dp.positive.bucketCounts) && !hasCounts(dp.negative.bucketCounts)) {
      return this.addWhole(dp.count, dp.sum, dp.min, dp.max);
    }
    if (dp.scale < this.scale) this.downscaleTo(Math.max(MIN_SCALE, dp.scale));
    this.makeRoomFor(dp.scale, dp.positive.offset, dp.positive.bucketCounts.length, dp.negative.offset, dp.negative.bucketCounts.length);
    const by = dp.scale - this.scale;
    mergeBuckets(this.positive, dp.positive.bucketCounts, dp.positive.offset, dp.positive.bucketCounts.length, by);
    mergeBuckets(this.negative, dp.negative.bucketCounts, dp.negative.offset, dp.negative.bucketCounts.length, by);
    this.zeroCount += dp.zeroCount;
    this.count += dp.count;
    this.sum += dp.sum ?? 0;
    const lo = dp.min ?? this.lowestBoundOf(dp);
    const hi = dp.max ?? this.highestBoundOf(dp);
    if (lo < this.min) this.min = lo;
    if (hi > this.max) this.max = hi;
    this.enforceMaxBuckets();
    return true;
  }

  /**
   * Adds `count` observations known only by their sum, min and max (a histogram point without buckets, or
   * with one bucket covering everything): all are placed at the mean (sum / count), kept within [min, max],
   * or, without a sum, midway between min and max or at whichever of them is known. The sum stays exact.
   * Returns false (and adds nothing) when none of sum, min and max is known: there is no value to place.
   */
  addWhole(count: number, sum: number | undefined, min: number | undefined, max: number | undefined): boolean {
    if (!(count > 0)) return true;
    let v: number;
    if (sum !== undefined && Number.isFinite(sum)) v = sum / count;
    else if (min !== undefined && max !== undefined) v = min + (max - min) / 2;
    else if (min !== undefined) v = min;
    else if (max !== undefined) v = max;
    else return false;
    if (min !== undefined && v < min) v = min;
    if (max !== undefined && v > max) v = max;
    const before = this.sum;
    this.add(v, count);
    if (sum !== undefined && Number.isFinite(sum)) this.sum = before + sum;
    if (min !== undefined && min < this.min) this.min = min;
    if (max !== undefined && max > this.max) this.max = max;
    return true;
  }

  /**
   * Folds in an explicit-bucket histogram: each bucket's count is placed at the bucket's midpoint (the
   * geometric one where both bounds are positive), clamped by the point's min and max. The error is
   * therefore up to half the bucket's width, not the sketch's relative accuracy.
   */
  mergeExplicitHistogram(dp: HistogramDataPoint): boolean {
    const bounds = dp.explicitBounds;
    // no buckets (count and sum only), or one bucket spanning everything (a view with `boundaries: []`):
    // nothing is known of where the values are but their sum, min and max
    if (dp.bucketCounts.length <= 1) return this.addWhole(dp.count, dp.sum, dp.min, dp.max);
    let estSum = 0;
    let n = 0;
    for (let i = 0; i < dp.bucketCounts.length; i++) {
      const c = dp.bucketCounts[i]!;
      if (!c) continue;
      let lo = i === 0 ? (dp.min ?? bounds[0] ?? 0) : bounds[i - 1]!;
      let hi = i >= bounds.length ? (dp.max ?? bounds[bounds.length - 1] ?? lo) : bounds[i]!;
      if (dp.min !== undefined && lo < dp.min) lo = dp.min;
      if (dp.max !== undefined && hi > dp.max) hi = dp.max;
      const mid = lo > 0 && hi > 0 ? Math.sqrt(lo * hi) : (lo + hi) / 2;
      if (mid > 0) this.positive.add(this.indexOf(mid), c);
      else if (mid < 0) this.negative.add(this.indexOf(-mid), c);
      else this.zeroCount += c;
      estSum += mid * c;
      n += c;
      if (mid < this.min) this.min = mid;
      if (mid > this.max) this.max = mid;
    }
    this.count += n;
    this.sum += dp.sum ?? estSum;
    if (dp.min !== undefined && dp.min < this.min) this.min = dp.min;
    if (dp.max !== undefined && dp.max > this.max) this.max = dp.max;
    this.enforceMaxBuckets();
    return true;
  }

  private lowestBoundOf(dp: ExponentialHistogramDataPoint): number {
    if (hasCounts(dp.negative.bucketCounts)) return -boundOf(dp.negative.offset + dp.negative.bucketCounts.length, dp.scale);
    if (dp.zeroCount > 0) return 0;
    return boundOf(dp.positive.offset, dp.scale);
  }

  private highestBoundOf(dp: ExponentialHistogramDataPoint): number {
    if (hasCounts(dp.positive.bucketCounts)) return boundOf(dp.positive.offset + dp.positive.bucketCounts.length, dp.scale);
    if (dp.zeroCount > 0) return 0;
    return -boundOf(dp.negative.offset, dp.scale);
  }

  /**
   * The value at quantile q in [0, 1] (NaN when empty): the observation at 0-based rank floor(q * (count - 1))
   * of the sorted observations (the lower of the two nearest ranks, as DDSketch answers), within the relative
   * accuracy. q=0 is the min and q=1 the max, exactly; so is a rank below 1 (the lowest observation: with
   * two observations every q below 1 answers the min).
   */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = q * (this.count - 1);
    let seen = 0;
    // negative buckets, most negative first
    const neg = this.negative;
    for (let i = neg.length - 1; i >= 0; i--) {
      const c = neg.counts[i]!;
      seen += c;
      if (seen > rank) return lowest(rank, seen, c) ? this.min : this.clamp(-this.valueOf(neg.offset + i));
    }
    seen += this.zeroCount;
    if (seen > rank) return lowest(rank, seen, this.zeroCount) ? this.min : this.clamp(0);
    const pos = this.positive;
    for (let i = 0; i < pos.length; i++) {
      const c = pos.counts[i]!;
      seen += c;
      if (seen > rank) return lowest(rank, seen, c) ? this.min : this.clamp(this.valueOf(pos.offset + i));
    }
    return this.max;
  }

  /** The representative value of bucket i: the point of (base^i, base^(i+1)] with the least relative error. */
  private valueOf(i: number): number {
    const v = (2 * this.base ** (i + 1)) / (1 + this.base);
    return Number.isFinite(v) && v > 0 ? v : bucketValue(i, this.scale);
  }

  private clamp(v: number): number {
    return v < this.min ? this.min : v > this.max ? this.max : v;
  }

  /** Average of the observations (NaN when empty). */
  mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  clone(): Sketch {
    const s = new Sketch(this.scale, this.maxBuckets);
    (s as { positive: Buckets }).positive = this.positive.clone();
    (s as { negative: Buckets }).negative = this.negative.clone();
    s.zeroCount = this.zeroCount;
    s.count = this.count;
    s.sum = this.sum;
    s.min = this.min;
    s.max = this.max;
    return s;
  }

  /** The sketch as an OTLP exponential histogram data point (attributes and times filled by the caller). */
  toDataPoint(attributes: ExponentialHistogramDataPoint['attributes'], startTimeUnixNano: bigint, timeUnixNano: bigint): ExponentialHistogramDataPoint {
    const pos = this.positive.toArray();
    const neg = this.negative.toArray();
    return {
      attributes,
      startTimeUnixNano,
      timeUnixNano,
      count: this.count,
      sum: this.sum,
      scale: this.scale,
      zeroCount: this.zeroCount,
      positive: { offset: pos.length ? this.positive.firstIndex() : 0, bucketCounts: pos },
      negative: { offset: neg.length ? this.negative.firstIndex() : 0, bucketCounts: neg },
      flags: 0,
      exemplars: [],
      min: this.count ? this.min : undefined,
      max: this.count ? this.max : undefined,
      zeroThreshold: 0,
    };
  }

  /** A sketch holding exactly an OTLP exponential histogram data point. */
  static fromDataPoint(dp: ExponentialHistogramDataPoint): Sketch {
    const s = new Sketch(Math.min(MAX_SCALE, dp.scale));
    s.mergeDataPoint(dp);
    return s;
  }
}

/** Whether `own` shifted down by `ownBy` and [offset, offset+len) shifted down by `by` span at most `max` slots. */
function rangeFits(own: Buckets, offset: number, len: number, by: number, ownBy: number, max: number): boolean {
  if (len <= 0) return true;
  let lo = Math.floor(offset / 2 ** by);
  let hi = Math.floor((offset + len - 1) / 2 ** by);
  if (own.length > 0) {
    lo = Math.min(lo, Math.floor(own.offset / 2 ** ownBy));
    hi = Math.max(hi, Math.floor((own.offset + own.length - 1) / 2 ** ownBy));
  }
  return hi - lo + 1 <= max;
}

/** Adds `counts` (indices from `offset`, at a scale `by` steps finer) into `into`; indices floor-divided as in downscale. */
function mergeBuckets(into: Buckets, counts: ArrayLike<number>, offset: number, length: number, by: number): void {
  const div = 2 ** by;
  for (let i = 0; i < length; i++) {
    const c = counts[i]!;
    if (c) into.add(by === 0 ? offset + i : Math.floor((offset + i) / div), c);
  }
}

/**
 * Bucket index of a positive value `v` at the scale whose factor is `scaleFactor` (2^scale): bucket i holds
 * (base^i, base^(i+1)], base = 2^(2^-scale) (OTLP exponential histogram). The one rule every store uses
 * (Sketch, the percentiles processor's packed store), so that they place a value alike.
 */
export function bucketIndex(v: number, scaleFactor: number): number {
  return Math.ceil(Math.log2(v) * scaleFactor) - 1;
}

/**
 * The representative value of bucket `index` at `scale` (the point of (base^i, base^(i+1)] with the least
 * relative error, 2 base^(i+1) / (1 + base)), always finite and positive: at coarse scales (base 2^512 and
 * beyond) the formula overflows, so it is taken in log space and held within what a double can hold.
 */
export function bucketValue(index: number, scale: number): number {
  const base = 2 ** (2 ** -scale);
  const v = (2 * base ** (index + 1)) / (1 + base);
  if (Number.isFinite(v) && v > 0) return v;
  const b = 2 ** -scale;
  const log2v = 1 + index * b - Math.log2(1 + 2 ** -b);
  return Math.min(Number.MAX_VALUE, Math.max(Number.MIN_VALUE, 2 ** log2v));
}

/** The lower bound base^index of bucket `index` at `scale`, held within the range of a double. */
function boundOf(index: number, scale: number): number {
  return Math.min(Number.MAX_VALUE, Math.max(Number.MIN_VALUE, 2 ** (index * 2 ** -scale)));
}

function hasCounts(counts: ArrayLike<number>): boolean {
  for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) return true;
  return false;
}

/**
 * Whether a quantile walk that stopped at a bucket of count `c`, with `seen` counted up to and including it,
 * stopped at the lowest observation: the rank is below 1 and the bucket is the first non-empty one, holding a
 * whole observation. That observation is the min, which is then answered exactly.
 */
export function lowest(rank: number, seen: number, c: number): boolean {
  return rank < 1 && seen === c && c >= 1;
}
