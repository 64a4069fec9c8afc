/**
 * Classic (explicit-bound) buckets for an exponential histogram, for `histogram_quantile()`.
 *
 * The bounds are fixed by the data's scale, never by the values seen: at scale `t` every bound is a power of
 * `2^(2^-t)` (`t = min(histogram_scale, the data's scale)`; with the default `histogram_scale: 3`, bounds
 * `2^(k/8)`: ..., 1, 1.0905, 1.1892, ..., 2, ...; in the metric's unit). Since those are exactly boundaries of
 * the data's own buckets (scale `s >= t`), the count at each bound is exact. A stream exposes the bounds
 * from the lowest to the highest bucket it has ever seen (they only extend, so `le` series never vanish
 * while the stream lives), at most `maxBuckets` of them: a wider range lowers `t` (halving the resolution)
 * until it fits. Observations <= 0 (the zero bucket and negative values) count in every bucket.
 *
 * `histogram_quantile` interpolates linearly inside a bucket, so its answer is within one bucket of the
 * truth: a relative error below `2^(2^-t) - 1` (9.05 % at t = 3, 18.9 % at t = 2).
 */
import type { Sketch } from '../../src/sketch.ts';

/** The classic buckets a stream exposes (see this file's comment): their scale and the range of bucket indices. */
export interface ClassicRange {
  /** Scale of the bounds. */
  scale: number;
  /** Bucket indices at `scale`: bounds are 2^((k+1) * 2^-scale) for k in [lo, hi]. */
  lo: number;
  hi: number;
}

/** Widens `range` (or starts one) so that it covers the sketch's positive buckets; returns the new range. */
export function coverRange(range: ClassicRange | undefined, sketch: Sketch, maxScale: number, maxBuckets: number): ClassicRange | undefined {
  const pos = sketch.positive;
  if (pos.length === 0) return range;
  let first = pos.offset;
  while (first < pos.offset + pos.length && pos.counts[first - pos.offset] === 0) first++;
  let last = pos.offset + pos.length - 1;
  while (last >= first && pos.counts[last - pos.offset] === 0) last--;
  if (last < first) return range;
  let t = Math.min(maxScale, sketch.scale, range ? range.scale : Infinity);
  let lo = range ? range.lo * 1 : Infinity;
  let hi = range ? range.hi * 1 : -Infinity;
  if (range && range.scale > t) {
    lo = Math.floor(lo / 2 ** (range.scale - t));
    hi = Math.floor(hi / 2 ** (range.scale - t));
  }
  const shift = sketch.scale - t;
  lo = Math.min(lo, Math.floor(first / 2 ** shift));
  hi = Math.max(hi, Math.floor(last / 2 ** shift));
  while (hi - lo + 1 > maxBuckets && t > -10) {
    t--;
    lo = Math.floor(lo / 2);
    hi = Math.floor(hi / 2);
  }
  return { scale: t, lo, hi };
}

/** The upper bound of bucket `k` at `scale`. */
export function boundOf(k: number, scale: number): number {
  return 2 ** ((k + 1) * 2 ** -scale);
}

/**
 * Cumulative counts at each bound of `range` (observations <= bound), from a sketch at a scale >= the
 * range's. `out[i]` is the count at bound `range.lo + i`.
 */
export function cumulativeCounts(sketch: Sketch, range: ClassicRange): number[] {
  const n = range.hi - range.lo + 1;
  const out = new Array<number>(n).fill(0);
  const shift = sketch.scale - range.scale;
  const pos = sketch.positive;
  let below = sketch.zeroCount;
  const neg = sketch.negative;
  for (let i = 0; i < neg.length; i++) below += neg.counts[i]!;
  // Per source bucket i: it lies within target bucket floor(i / 2^shift).
  const div = 2 ** shift;
  for (let j = 0; j < pos.length; j++) {
    const c = pos.counts[j]!;
    if (c === 0) continue;
    const k = Math.floor((pos.offset + j) / div);
    if (k < range.lo) below += c;
    else if (k <= range.hi) out[k - range.lo]! += c;
    // above hi: only in +Inf
  }
  let run = below;
  for (let i = 0; i < n; i++) {
    run += out[i]!;
    out[i] = run;
  }
  return out;
}
