/**
 * The distribution one series holds for one window: a small packed store while the series has few
 * distinct buckets (most series of a window do: a handful of observations), a {@link Sketch} once it
 * outgrows that. Both answer exactly alike: the packed store holds the same buckets, at the same scale,
 * as a Sketch that had been given the same values (same count, sum, min, max and zero count; the sum
 * added up in the same order), and it turns into that Sketch before it would differ (a negative value,
 * more than {@link PACKED_MAX_BUCKETS} distinct buckets, a span of buckets past the Sketch's cap, a
 * count past 2^24 - 1 in one bucket, or a received histogram point that would take it past these or is
 * of a coarser scale). So quantiles keep the relative-accuracy bound of the scale (DDSketch's
 * guarantee) and emitted windows merge exactly.
 *
 * Why: a Sketch costs about 2.8 KB at 8 observations of a lognormal latency (two bucket objects, two typed
 * arrays with their ArrayBuffers, boxed doubles, and a dense Uint32Array over every bucket between the
 * smallest and the largest value: about 280 at scale 6), the packed store about 150 bytes (issue 21:
 * 100,000 live series).
 *
 * Packed layout: one plain array of doubles (V8 keeps it as an unboxed FixedDoubleArray; no ArrayBuffer):
 * `[count, sum, min, max, zeroCount, e0, e1, ..., Infinity, ...]` where each entry `e = index * 2^24 +
 * count` is one positive bucket (count 1 to 2^24 - 1), the entries are sorted by index (their order as
 * numbers) and the free slots after them hold Infinity. The array starts with 4 free slots and is grown
 * by copying it into one with twice the slots (Array.prototype.concat allocates exactly the length; a
 * push would leave V8's slack of half the length plus 16 slots). Indices of the scales a packed store is used at (at most {@link PACKED_MAX_SCALE}) stay below 2^24 in
 * magnitude, so every entry is an exact integer below 2^53.
 */
import type { ExponentialHistogramDataPoint, HistogramDataPoint, KeyValue } from '../../src/model.ts';
import { DEFAULT_MAX_BUCKETS, Sketch, bucketIndex, bucketValue, lowest } from '../../src/sketch.ts';

/** One series' distribution: a packed store (see the file comment) or a Sketch. */
export type Dist = number[] | Sketch;

/** Distinct buckets a packed store holds before it becomes a Sketch (past it the Sketch is about as small, and faster). */
export const PACKED_MAX_BUCKETS = 64;
/** The finest scale at which series start packed (finer ones start as a Sketch: their indices need more bits). */
export const PACKED_MAX_SCALE = 13;
const COUNT = 0;
const SUM = 1;
const MIN = 2;
const MAX = 3;
const ZERO = 4;
/** Index of the first bucket entry. */
const HEAD = 5;
/** 2^24: an entry is index * UNIT + count. */
const UNIT = 16_777_216;
/** The largest count of one bucket in a packed entry. */
const MAX_ENTRY_COUNT = UNIT - 1;

/** Bytes of packed store `d`: the JSArray (32 bytes) and its FixedDoubleArray (16 + 8 a slot, free ones included). */
export function packedBytes(d: readonly number[]): number {
  return 48 + 8 * d.length;
}
/** Bucket slots of a new packed store. */
const INITIAL_SLOTS = 4;
/** PADS[k]: k free slots, appended to grow a store. */
const PADS: number[][] = Array.from({ length: PACKED_MAX_BUCKETS + 1 }, (_, k) => new Array<number>(k).fill(Infinity));
/** Estimated bytes of a Sketch (measured with a heap snapshot: the object, boxed doubles, two bucket objects and typed arrays with their ArrayBuffers and malloc'd stores) before its counts. */
const SKETCH_FIXED_BYTES = 900;
/**
 * Estimated bytes charged when a packed store becomes a Sketch: the fixed part plus 1,024 32-bit counts. A
 * Sketch grows its dense counts on demand (to at most 4,096 a sign); the series that get here are the
 * busy ones, few at a time, and the charge is not revised as the counts grow.
 */
export const SKETCH_BYTES = SKETCH_FIXED_BYTES + 4 * 1024;

/** An empty packed store: count, sum, min, max, zero count, then INITIAL_SLOTS free slots (copied by newDist). */
const EMPTY_PACKED: readonly number[] = [0, 0, Infinity, -Infinity, 0, ...PADS[INITIAL_SLOTS]!];
/** Bytes of a new packed store. */
export const NEW_PACKED_BYTES = packedBytes(EMPTY_PACKED);

/** A new, empty distribution at `scale`: packed when the scale allows it. */
export function newDist(scale: number): Dist {
  return scale <= PACKED_MAX_SCALE ? EMPTY_PACKED.slice() : new Sketch(scale);
}

let factorScale = NaN;
let factor = 0;
/**
 * 2^scale, the last one kept: every observation needs it for its bucket index, and V8 computes `2 ** scale` with a
 * variable exponent through a pow call (about 70 ns a call, measured; the index itself takes about 25).
 */
function scaleFactorOf(scale: number): number {
  if (scale !== factorScale) {
    factorScale = scale;
    factor = 2 ** scale;
  }
  return factor;
}

/**
 * Adds one observation `v` (NaN and infinities are ignored, as Sketch.add does). Returns the distribution
 * that now holds it: `d` itself, or the longer copy of a packed `d` or the Sketch it became (the caller
 * stores it in `d`'s place).
 */
export function distAdd(dist: Dist, v: number, scale: number): Dist {
  let d = dist;
  if (!Array.isArray(d)) {
    d.add(v);
    return d;
  }
  if (!Number.isFinite(v)) return d;
  if (v > 0) {
    const i = bucketIndex(v, scaleFactorOf(scale));
    const lo = i * UNIT;
    const a = entryAt(d, i);
    if (a < d.length && d[a]! < lo + UNIT) {
      if (d[a]! - lo >= MAX_ENTRY_COUNT) return promoteWith(d, v, scale);
      d[a]! += 1;
    } else {
      const e = firstAtLeast(d, Infinity, a); // the end of the entries: at or after where the bucket would go
      if (e - HEAD >= PACKED_MAX_BUCKETS) return promoteWith(d, v, scale);
      if (e > HEAD) {
        const first = Math.floor(d[HEAD]! / UNIT);
        const last = Math.floor(d[e - 1]! / UNIT);
        if (Math.max(last, i) - Math.min(first, i) + 1 > DEFAULT_MAX_BUCKETS) return promoteWith(d, v, scale);
      }
      if (e === d.length) d = grow(d, e - HEAD + 1);
      for (let k = e; k > a; k--) d[k] = d[k - 1]!;
      d[a] = lo + 1;
    }
  } else if (v === 0) d[ZERO]! += 1;
  else return promoteWith(d, v, scale);
  d[COUNT]! += 1;
  d[SUM]! += v;
  if (v < d[MIN]!) d[MIN] = v;
  if (v > d[MAX]!) d[MAX] = v;
  return d;
}

/** Position after the last entry of packed `d` (its first free slot, or its length when full): free slots hold Infinity. */
function end(d: readonly number[]): number {
  return firstAtLeast(d, Infinity);
}

/**
 * A copy of packed `d` with room for at least `entries` buckets: twice the slots (4, 8, 16, ...; at most
 * the packed bound). Doubling copies a store once for the 5 to 8 buckets of a series of a few
 * observations: each copy leaves garbage that a window's series make together, and the heap grown for it
 * stays in RSS (measured: growing by half as much again held 30 MiB more RSS at 100,000 series).
 */
function grow(d: readonly number[], entries: number): number[] {
  const cap = d.length - HEAD;
  const next = Math.min(PACKED_MAX_BUCKETS, Math.max(entries, 2 * cap));
  return d.concat(PADS[next - cap]!);
}

function promoteWith(d: number[], v: number, scale: number): Sketch {
  const s = toSketch(d, scale);
  s.add(v);
  return s;
}

/** The distribution as a Sketch: `d` itself, or a new Sketch holding exactly what the packed `d` holds. */
export function toSketch(d: Dist, scale: number): Sketch {
  if (!Array.isArray(d)) return d;
  const s = new Sketch(scale);
  const n = end(d);
  for (let k = HEAD; k < n; k++) {
    const e = d[k]!;
    const i = Math.floor(e / UNIT);
    s.positive.add(i, e - i * UNIT);
  }
  s.zeroCount = d[ZERO]!;
  s.count = d[COUNT]!;
  s.sum = d[SUM]!;
  s.min = d[MIN]!;
  s.max = d[MAX]!;
  return s;
}

/**
 * Adds `d` into `target` (Sketch.merge), without building a Sketch of a packed `d` when `target` is at
 * `d`'s scale and the buckets of both fit within its cap: then merging is adding each bucket's count,
 * which is what Sketch.merge does in that case.
 */
export function distMergeInto(target: Sketch, d: Dist, scale: number): void {
  if (!Array.isArray(d)) return target.merge(d);
  if (d[COUNT] === 0) return;
  const pos = target.positive;
  if (target.scale !== scale) return target.merge(toSketch(d, scale));
  const n = end(d);
  if (n > HEAD) {
    let lo = Math.floor(d[HEAD]! / UNIT);
    let hi = Math.floor(d[n - 1]! / UNIT);
    if (pos.length > 0) {
      lo = Math.min(lo, pos.offset);
      hi = Math.max(hi, pos.offset + pos.length - 1);
    }
    if (hi - lo + 1 > target.maxBuckets) return target.merge(toSketch(d, scale));
    for (let k = HEAD; k < n; k++) {
      const e = d[k]!;
      const i = Math.floor(e / UNIT);
      pos.add(i, e - i * UNIT);
    }
  }
  target.zeroCount += d[ZERO]!;
  target.count += d[COUNT]!;
  target.sum += d[SUM]!;
  if (d[MIN]! < target.min) target.min = d[MIN]!;
  if (d[MAX]! > target.max) target.max = d[MAX]!;
}

/** One empty Sketch per scale, that a received point is merged into before its buckets are added to a packed store. */
const scratch = new Map<number, Sketch>();

/**
 * Merges a received exponential histogram point (Sketch.mergeDataPoint) into `d`. Returns the distribution
 * that now holds it (`d`, or the Sketch a packed `d` became), or undefined when the point had nothing to
 * place (no bucket, sum, min or max: `d` is unchanged).
 */
export function distMergeDataPoint(d: Dist, dp: ExponentialHistogramDataPoint, scale: number): Dist | undefined {
  if (!Array.isArray(d)) return d.mergeDataPoint(dp) ? d : undefined;
  return mergeViaScratch(d, scale, (s) => s.mergeDataPoint(dp));
}

/**
 * A received point merged into packed `d` the Sketch's way: `merge` (a Sketch method that returns whether
 * the point had anything to place) into an empty scratch Sketch at `scale`, whose buckets are then added to
 * `d`; where they do not fit, `d` becomes a Sketch and the point is merged into it. Undefined when the
 * point had nothing to place.
 */
function mergeViaScratch(d: number[], scale: number, merge: (s: Sketch) => boolean): Dist | undefined {
  const s = scratchAt(scale);
  if (!merge(s)) return undefined;
  const packed = addSketch(d, s, scale);
  if (packed) return packed;
  const full = toSketch(d, scale);
  merge(full);
  return full;
}

/** As distMergeDataPoint, for a received explicit-bucket histogram point (Sketch.mergeExplicitHistogram). */
export function distMergeExplicit(d: Dist, dp: HistogramDataPoint, scale: number): Dist | undefined {
  if (!Array.isArray(d)) return d.mergeExplicitHistogram(dp) ? d : undefined;
  if (dp.bucketCounts.length > 1) {
    const packed = packedMergeExplicit(d, dp, scale);
    if (packed) return packed;
    const full = toSketch(d, scale);
    full.mergeExplicitHistogram(dp);
    return full;
  }
  return mergeViaScratch(d, scale, (s) => s.mergeExplicitHistogram(dp));
}

/** Scratch of packedMergeExplicit: bucket index and count of each bucket of the point placed at a positive midpoint. */
const placedIndex: number[] = [];
const placedCount: number[] = [];
/** Scratch of packedMergeExplicit: the entry of each placed bucket found in the store. */
const placedAt: number[] = [];

/**
 * Sketch.mergeExplicitHistogram (two or more buckets) done on packed `d`: each bucket's count at its
 * midpoint, computed as the Sketch computes it. Returns `d` or its longer copy that holds the result, or
 * undefined, `d` untouched, when the result might not be
 * what the Sketch of `d` would hold (a negative midpoint, a fractional count, or possibly past the packed
 * bounds or the Sketch's span cap: checked conservatively, a bucket hit twice counted twice).
 */
function packedMergeExplicit(dist: number[], dp: HistogramDataPoint, scale: number): number[] | undefined {
  let d = dist;
  const bounds = dp.explicitBounds;
  const counts = dp.bucketCounts;
  const scaleFactor = scaleFactorOf(scale);
  let placed = 0;
  let estSum = 0;
  let n = 0;
  let zero = 0;
  let min = d[MIN]!;
  let max = d[MAX]!;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (!c) continue;
    if (!Number.isInteger(c) || c > MAX_ENTRY_COUNT) return undefined;
    let lo = i === 0 ? (dp.min ?? bounds[0] ?? 0) : bounds[i - 1]!;
    let hi = i >= bounds.length ? (dp.max ?? bounds[bounds.length - 1] ?? lo) : bounds[i]!;
    if (dp.min !== undefined && lo < dp.min) lo = dp.min;
    if (dp.max !== undefined && hi > dp.max) hi = dp.max;
    const mid = lo > 0 && hi > 0 ? Math.sqrt(lo * hi) : (lo + hi) / 2;
    if (mid > 0) {
      placedIndex[placed] = bucketIndex(mid, scaleFactor);
      placedCount[placed++] = c;
    } else if (mid < 0) return undefined;
    else zero += c;
    estSum += mid * c;
    n += c;
    if (mid < min) min = mid;
    if (mid > max) max = mid;
  }
  let fresh = 0;
  const used = end(d);
  let first = used > HEAD ? Math.floor(d[HEAD]! / UNIT) : Infinity;
  let last = used > HEAD ? Math.floor(d[used - 1]! / UNIT) : -Infinity;
  // the midpoints ascend with the bounds: walk the entries along with them (from the start again if not)
  let a = HEAD;
  for (let k = 0; k < placed; k++) {
    const i = placedIndex[k]!;
    const lo = i * UNIT;
    if (k > 0 && i < placedIndex[k - 1]!) a = HEAD;
    while (a < used && d[a]! < lo) a++;
    if (a < used && d[a]! < lo + UNIT) {
      if (d[a]! - i * UNIT + n > MAX_ENTRY_COUNT) return undefined;
      placedAt[k] = a;
    } else {
      fresh++;
      if (i < first) first = i;
      if (i > last) last = i;
    }
  }
  if (n > MAX_ENTRY_COUNT || used - HEAD + fresh > PACKED_MAX_BUCKETS || (fresh > 0 && last - first + 1 > DEFAULT_MAX_BUCKETS)) return undefined;
  if (fresh === 0) {
    // every bucket is there already (the usual case for a stream of points): add at the places found
    for (let k = 0; k < placed; k++) d[placedAt[k]!]! += placedCount[k]!;
  } else {
    if (used + fresh > d.length) d = grow(d, used - HEAD + fresh);
    let e = used;
    a = HEAD;
    for (let k = 0; k < placed; k++) {
      const i = placedIndex[k]!;
      const lo = i * UNIT;
      if (k > 0 && i < placedIndex[k - 1]!) a = HEAD;
      while (a < e && d[a]! < lo) a++;
      if (a < e && d[a]! < lo + UNIT) d[a]! += placedCount[k]!;
      else {
        for (let j = e; j > a; j--) d[j] = d[j - 1]!;
        d[a] = lo + placedCount[k]!;
        e++;
      }
    }
  }
  d[ZERO]! += zero;
  d[COUNT]! += n;
  d[SUM]! += dp.sum ?? estSum;
  if (dp.min !== undefined && dp.min < min) min = dp.min;
  if (dp.max !== undefined && dp.max > max) max = dp.max;
  d[MIN] = min;
  d[MAX] = max;
  return d;
}

/** Adds count `c` to bucket `i` of packed `d` (a new entry in its place when the bucket has none: `d` must have a free slot). */
function insert(d: number[], i: number, c: number): void {
  const a = entryAt(d, i);
  if (a < d.length && d[a]! < (i + 1) * UNIT) {
    d[a]! += c;
    return;
  }
  for (let k = firstAtLeast(d, Infinity, a); k > a; k--) d[k] = d[k - 1]!;
  d[a] = i * UNIT + c;
}

function scratchAt(scale: number): Sketch {
  let s = scratch.get(scale);
  // a point of a coarser scale leaves the scratch downscaled: start again at the scale asked for
  if (!s || s.scale !== scale) scratch.set(scale, (s = new Sketch(scale)));
  else s.reset();
  return s;
}

/**
 * Adds Sketch `s` (what one received point merged into an empty Sketch gave) into packed `d`, when the
 * result is what merging the point into the Sketch of `d` gives: `s` still at `d`'s scale, no negative
 * bucket, and the union within the packed bounds (distinct buckets, bucket counts) and the Sketch's cap on
 * its span (past it that Sketch would downscale). The point's effects compose so: bucket counts, zero
 * count, count and sum add (the sum is added once, as the Sketch adds it), min and max are the extremes.
 * Returns `d` or its longer copy that holds the result; undefined, `d` untouched, otherwise.
 */
function addSketch(dist: number[], s: Sketch, scale: number): number[] | undefined {
  let d = dist;
  if (s.scale !== scale || s.negative.toArray().length > 0) return undefined;
  const pos = s.positive;
  let fresh = 0;
  const used = end(d);
  let lo = used > HEAD ? Math.floor(d[HEAD]! / UNIT) : Infinity;
  let hi = used > HEAD ? Math.floor(d[used - 1]! / UNIT) : -Infinity;
  for (let j = 0; j < pos.length; j++) {
    const c = pos.counts[j]!;
    if (c === 0) continue;
    const i = pos.offset + j;
    const a = entryAt(d, i);
    if (!Number.isInteger(c)) return undefined;
    if (a < d.length && d[a]! < (i + 1) * UNIT) {
      if (d[a]! - i * UNIT + c > MAX_ENTRY_COUNT) return undefined;
    } else {
      if (c > MAX_ENTRY_COUNT) return undefined;
      fresh++;
      if (i < lo) lo = i;
      if (i > hi) hi = i;
    }
  }
  if (used - HEAD + fresh > PACKED_MAX_BUCKETS || (fresh > 0 && hi - lo + 1 > DEFAULT_MAX_BUCKETS)) return undefined;
  if (used + fresh > d.length) d = grow(d, used - HEAD + fresh);
  for (let j = 0; j < pos.length; j++) {
    const c = pos.counts[j]!;
    if (c === 0) continue;
    insert(d, pos.offset + j, c);
  }
  d[ZERO]! += s.zeroCount;
  d[COUNT]! += s.count;
  d[SUM]! += s.sum;
  if (s.min < d[MIN]!) d[MIN] = s.min;
  if (s.max > d[MAX]!) d[MAX] = s.max;
  return d;
}

/** Position of the first entry of `d` whose index is at least `i` (the bucket's entry, if present). */
function entryAt(d: readonly number[], i: number): number {
  return firstAtLeast(d, i * UNIT);
}

/** Position of the first slot of `d` at or past `from` (HEAD by default) holding at least `x` (slots are sorted, free ones Infinity). */
function firstAtLeast(d: readonly number[], x: number, from = HEAD): number {
  let a = from;
  let b = d.length;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (d[m]! < x) a = m + 1;
    else b = m;
  }
  return a;
}

/** Number of observations. */
export function distCount(d: Dist): number {
  return Array.isArray(d) ? d[COUNT]! : d.count;
}

/** Sum of the observations. */
export function distSum(d: Dist): number {
  return Array.isArray(d) ? d[SUM]! : d.sum;
}

/** The value at quantile q in [0, 1], exactly as Sketch.quantile answers for the same data. */
export function distQuantile(d: Dist, q: number, scale: number): number {
  if (!Array.isArray(d)) return d.quantile(q);
  const count = d[COUNT]!;
  const min = d[MIN]!;
  const max = d[MAX]!;
  if (count === 0) return NaN;
  if (q <= 0) return min;
  if (q >= 1) return max;
  const rank = q * (count - 1);
  let seen = d[ZERO]!;
  if (seen > rank) return lowest(rank, seen, seen) ? min : clamp(0, min, max);
  const n = end(d);
  for (let k = HEAD; k < n; k++) {
    const e = d[k]!;
    const i = Math.floor(e / UNIT);
    const c = e - i * UNIT;
    seen += c;
    if (seen > rank) return lowest(rank, seen, c) ? min : clamp(bucketValue(i, scale), min, max);
  }
  return max;
}

function clamp(v: number, min: number, max: number): number {
  return v < min ? min : v > max ? max : v;
}

/** The distribution as an OTLP exponential histogram data point (as Sketch.toDataPoint gives it). */
export function distToDataPoint(d: Dist, scale: number, attributes: KeyValue[], startTimeUnixNano: bigint, timeUnixNano: bigint): ExponentialHistogramDataPoint {
  if (!Array.isArray(d)) return d.toDataPoint(attributes, startTimeUnixNano, timeUnixNano);
  const count = d[COUNT]!;
  let offset = 0;
  let counts: number[] = [];
  const n = end(d);
  if (n > HEAD) {
    offset = Math.floor(d[HEAD]! / UNIT);
    counts = new Array<number>(Math.floor(d[n - 1]! / UNIT) - offset + 1).fill(0);
    for (let k = HEAD; k < n; k++) {
      const e = d[k]!;
      const i = Math.floor(e / UNIT);
      counts[i - offset] = e - i * UNIT;
    }
  }
  return {
    attributes,
    startTimeUnixNano,
    timeUnixNano,
    count,
    sum: d[SUM]!,
    scale,
    zeroCount: d[ZERO]!,
    positive: { offset, bucketCounts: counts },
    negative: { offset: 0, bucketCounts: [] },
    flags: 0,
    exemplars: [],
    min: count ? d[MIN]! : undefined,
    max: count ? d[MAX]! : undefined,
    zeroThreshold: 0,
  };
}

/** Number of bucket count slots `d` holds (packed: its entries and free slots; Sketch: its dense arrays' capacity). */
export function distSlots(d: Dist): number {
  if (Array.isArray(d)) return d.length - HEAD;
  return d.positive.counts.length + d.negative.counts.length;
}

/** Number of buckets a packed store holds (0 for a Sketch). */
export function packedEntries(d: Dist): number {
  return Array.isArray(d) ? end(d) - HEAD : 0;
}
