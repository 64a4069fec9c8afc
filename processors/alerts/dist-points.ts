/**
 * The stored points of one distribution series, compact: per point a few numbers (count, scale, zero
 * count, sum, min, max, where its buckets are) in one flat array, and the non-zero buckets of every point
 * as (index, count) pairs in two typed arrays shared by the series (an arena: appended at the end,
 * compacted when full). A point costs 9 numbers plus 12 bytes per non-zero bucket, instead of a Sketch
 * object with two dense bucket arrays.
 *
 * Points are parallel to the owning Series' `t`/`v` arrays (same array index). They go in and come out as
 * Sketches only on rare paths (out-of-order points, compaction, tests); evaluation reads the arrays.
 */
import { Sketch } from '../../src/sketch.ts';

/** Numbers per point in `meta`. */
export const STRIDE = 9;
/** Offsets within a point's record in `meta`. */
export const COUNT = 0;
/** Offset of the point's exponential-histogram scale. */
export const SCALE = 1;
/** Offset of the point's zero-bucket count. */
export const ZERO = 2;
/** Offset of the point's sum of observations. */
export const SUM = 3;
/** Offset of the point's smallest observation. */
export const MIN = 4;
/** Offset of the point's largest observation. */
export const MAX = 5;
/** Arena position of the point's first bucket (positive buckets first, ascending, then negative ones). */
export const START = 6;
/** Offset of the number of the point's non-zero positive buckets in the arena. */
export const NPOS = 7;
/** Offset of the number of the point's non-zero negative buckets in the arena. */
export const NNEG = 8;

/** The compact stored points of one distribution series (see this file's comment). */
export class DistPoints {
  /** STRIDE numbers per point. */
  meta: number[] = [];
  /** Bucket indices (at the point's scale) and counts, from arena position 0 to `used`. */
  idx: Int32Array = new Int32Array(0);
  cnt: Float64Array = new Float64Array(0);
  /** Arena positions in use (live or not: compaction drops dead ones). */
  used = 0;

  get length(): number {
    return this.meta.length / STRIDE;
  }

  /** Appends a point. */
  push(sk: Sketch): void {
    this.meta.push(...this.encode(sk));
  }

  /** Inserts a point at array index i (a late point). */
  insertAt(i: number, sk: Sketch): void {
    this.meta.splice(i * STRIDE, 0, ...this.encode(sk));
  }

  /** Drops the first n points (their buckets become dead arena space); shifts in place, allocating nothing. */
  removeFront(n: number): void {
    dropFront(this.meta, n * STRIDE);
    if (this.meta.length === 0) this.used = 0;
  }

  clear(): void {
    this.meta = [];
    this.used = 0;
    this.idx = new Int32Array(0);
    this.cnt = new Float64Array(0);
  }

  /** The point at array index i as a Sketch (rare paths and tests). */
  sketchAt(i: number): Sketch {
    const m = this.meta;
    const o = i * STRIDE;
    const sk = new Sketch(m[o + SCALE]!);
    const start = m[o + START]!;
    const nPos = m[o + NPOS]!;
    const end = start + nPos + m[o + NNEG]!;
    for (let k = start; k < start + nPos; k++) sk.positive.add(this.idx[k]!, this.cnt[k]!);
    for (let k = start + nPos; k < end; k++) sk.negative.add(this.idx[k]!, this.cnt[k]!);
    sk.count = m[o + COUNT]!;
    sk.zeroCount = m[o + ZERO]!;
    sk.sum = m[o + SUM]!;
    sk.min = m[o + MIN]!;
    sk.max = m[o + MAX]!;
    return sk;
  }

  /** Replaces every point (compaction of the series). */
  replaceAll(sketches: readonly Sketch[]): void {
    this.clear();
    for (const sk of sketches) this.push(sk);
  }

  /** Stores the buckets of `sk` in the arena; returns the point's record. */
  private encode(sk: Sketch): number[] {
    const pos = sk.positive;
    const neg = sk.negative;
    let nPos = 0;
    let nNeg = 0;
    for (let k = 0; k < pos.length; k++) if (pos.counts[k] !== 0) nPos++;
    for (let k = 0; k < neg.length; k++) if (neg.counts[k] !== 0) nNeg++;
    this.reserve(nPos + nNeg);
    const start = this.used;
    let w = start;
    for (let k = 0; k < pos.length; k++) {
      const c = pos.counts[k]!;
      if (c === 0) continue;
      this.idx[w] = pos.offset + k;
      this.cnt[w++] = c;
    }
    for (let k = 0; k < neg.length; k++) {
      const c = neg.counts[k]!;
      if (c === 0) continue;
      this.idx[w] = neg.offset + k;
      this.cnt[w++] = c;
    }
    this.used = w;
    return [sk.count, sk.scale, sk.zeroCount, sk.sum, sk.min, sk.max, start, nPos, nNeg];
  }

  /** Makes room for n more arena entries: drops dead entries first, grows only when the live ones need it. */
  private reserve(n: number): void {
    if (this.used + n <= this.idx.length) return;
    const m = this.meta;
    let live = 0;
    for (let o = 0; o < m.length; o += STRIDE) live += m[o + NPOS]! + m[o + NNEG]!;
    const cap = Math.max(16, (live + n) * 2);
    const idx = new Int32Array(cap);
    const cnt = new Float64Array(cap);
    let w = 0;
    for (let o = 0; o < m.length; o += STRIDE) {
      const start = m[o + START]!;
      const len = m[o + NPOS]! + m[o + NNEG]!;
      idx.set(this.idx.subarray(start, start + len), w);
      cnt.set(this.cnt.subarray(start, start + len), w);
      m[o + START] = w;
      w += len;
    }
    this.idx = idx;
    this.cnt = cnt;
    this.used = w;
  }
}

/**
 * Removes the first n elements of `a` in place (`a.splice(0, n)` without the array of removed elements it
 * returns: pruning runs every round over thousands of series, and that garbage is what the young
 * generation collects).
 */
export function dropFront<T>(a: T[], n: number): void {
  if (n <= 0) return;
  const len = a.length - n;
  if (len <= 0) {
    a.length = 0;
    return;
  }
  for (let i = 0; i < len; i++) a[i] = a[i + n]!;
  a.length = len;
}
