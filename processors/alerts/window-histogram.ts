/**
 * Merged distributions over sliding windows, maintained incrementally.
 *
 * Exponential-histogram bucket counts add up, so the merge of a series' points over a sliding window is
 * kept per series and window length: each evaluation adds the buckets of the points that entered the
 * window and subtracts those of the points that left it, at the window's scale, instead of re-merging
 * every point. The count, sum, zero count, min and max are re-read from the window's point records
 * (a few numbers per point; min and max cannot be subtracted).
 *
 * The result is the one `Sketch.merge` gives for the same points (the tests check it): the scale of a
 * merge is the finest one that is not finer than any point's and at which the union of the points'
 * bucket ranges fits in DEFAULT_MAX_BUCKETS per sign (never below MIN_SCALE), whatever the merge order.
 * The window histogram is rebuilt from its points when that scale gets finer (a coarse point left), when
 * the window moved back or jumped, when points were inserted late or compacted, and every
 * REBUILD_EVERY updates (so that fractional counts cannot drift).
 */
import { DEFAULT_MAX_BUCKETS, MIN_SCALE, bucketValue } from '../../src/sketch.ts';
import { COUNT, type DistPoints, MAX, MIN, NNEG, NPOS, SCALE, START, STRIDE, SUM, ZERO } from './dist-points.ts';

const MAXB = DEFAULT_MAX_BUCKETS;
const EMPTY = new Float64Array(0);
const REBUILD_EVERY = 64;

/** A merged distribution as the stats read it. Bucket k (absolute index) is pos[k - posOff]; lo > hi when empty. */
export interface HistView {
  scale: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  zero: number;
  pos: Float64Array;
  posOff: number;
  posLo: number;
  posHi: number;
  neg: Float64Array;
  negOff: number;
  negLo: number;
  negHi: number;
}

/** The finest scale <= `scale` at which both ranges fit (Sketch.merge's rule); shifts the ranges of `v` to it. */
function fitScale(v: HistView, scale: number): number {
  let s = scale;
  const hasPos = v.posLo <= v.posHi;
  const hasNeg = v.negLo <= v.negHi;
  while (s > MIN_SCALE && ((hasPos && v.posHi - v.posLo + 1 > MAXB) || (hasNeg && v.negHi - v.negLo + 1 > MAXB))) {
    s--;
    if (hasPos) {
      v.posLo >>= 1;
      v.posHi >>= 1;
    }
    if (hasNeg) {
      v.negLo >>= 1;
      v.negHi >>= 1;
    }
  }
  return s;
}

/** Room for [lo, hi] plus a quarter either side (so that a drifting range does not move the array every round). */
function padOf(lo: number, hi: number): number {
  return ((hi - lo + 1) >> 2) + 4;
}

function coversTightly(arr: Float64Array, off: number, lo: number, hi: number): boolean {
  if (lo > hi) return arr.length <= 64;
  return lo >= off && hi < off + arr.length && arr.length <= 4 * (hi - lo + 1) + 64;
}

/** The merged points of one series over one sliding window length. */
export class WindowHist implements HistView {
  scale = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  zero = 0;
  pos = EMPTY;
  posOff = 0;
  posLo = 0;
  posHi = -1;
  neg = EMPTY;
  negOff = 0;
  negLo = 0;
  negHi = -1;
  /** Series version and absolute point indices [a, b) the buckets hold. */
  private version = -1;
  private a = 0;
  private b = 0;
  private updates = 0;

  /**
   * Makes this the merge of the points with absolute indices [a, b) (a < b) of a series whose first
   * stored point has absolute index `base`. `seq` staggers the periodic rebuilds across series.
   */
  update(d: DistPoints, base: number, version: number, a: number, b: number, seq: number): void {
    // the same points as last time (another rule reading the same window): nothing to do
    if (version === this.version && a === this.a && b === this.b && b > a) return;
    const i0 = a - base;
    const i1 = b - base;
    const oldScale = this.scale;
    const target = this.scan(d, i0, i1);
    const incremental =
      version === this.version &&
      this.b > this.a &&
      a >= this.a &&
      b >= this.b &&
      this.a >= base &&
      a - this.a + (b - this.b) < b - a &&
      target <= oldScale &&
      this.updates < REBUILD_EVERY;
    if (incremental) {
      // points that left the window, at the scale they were added with
      for (let i = this.a - base; i < i0; i++) this.apply(d, i, -1);
      let ok = true;
      if (target < oldScale || !coversTightly(this.pos, this.posOff, this.posLo, this.posHi) || !coversTightly(this.neg, this.negOff, this.negLo, this.negHi)) {
        ok = this.relayout(oldScale, target);
      }
      if (ok) {
        for (let i = this.b - base; i < i1; i++) this.apply(d, i, 1);
        this.updates++;
      } else this.rebuild(d, i0, i1, target, 0);
    } else this.rebuild(d, i0, i1, target, this.version === -1 ? seq % REBUILD_EVERY : 0);
    this.version = version;
    this.a = a;
    this.b = b;
  }

  private rebuild(d: DistPoints, i0: number, i1: number, target: number, updates: number): void {
    this.scale = target;
    if (coversTightly(this.pos, this.posOff, this.posLo, this.posHi)) this.pos.fill(0);
    else {
      const pad = padOf(this.posLo, this.posHi);
      this.pos = this.posLo > this.posHi ? EMPTY : new Float64Array(this.posHi - this.posLo + 1 + 2 * pad);
      this.posOff = this.posLo - pad;
    }
    if (coversTightly(this.neg, this.negOff, this.negLo, this.negHi)) this.neg.fill(0);
    else {
      const pad = padOf(this.negLo, this.negHi);
      this.neg = this.negLo > this.negHi ? EMPTY : new Float64Array(this.negHi - this.negLo + 1 + 2 * pad);
      this.negOff = this.negLo - pad;
    }
    for (let i = i0; i < i1; i++) this.apply(d, i, 1);
    this.updates = updates;
  }

  /** Moves the buckets to new arrays around the current ranges at `target` (<= from); false if a count would not fit. */
  private relayout(from: number, target: number): boolean {
    const by = from - target;
    const pPad = padOf(this.posLo, this.posHi);
    const nPad = padOf(this.negLo, this.negHi);
    const pos = this.posLo > this.posHi ? EMPTY : new Float64Array(this.posHi - this.posLo + 1 + 2 * pPad);
    const neg = this.negLo > this.negHi ? EMPTY : new Float64Array(this.negHi - this.negLo + 1 + 2 * nPad);
    const posOff = this.posLo - pPad;
    const negOff = this.negLo - nPad;
    if (!move(this.pos, this.posOff, pos, posOff, by) || !move(this.neg, this.negOff, neg, negOff, by)) return false;
    this.pos = pos;
    this.posOff = posOff;
    this.neg = neg;
    this.negOff = negOff;
    this.scale = target;
    return true;
  }

  /** Adds (sign 1) or subtracts (-1) the buckets of the point at array index i, at this.scale. */
  private apply(d: DistPoints, i: number, sign: number): void {
    const m = d.meta;
    const o = i * STRIDE;
    const sh = m[o + SCALE]! - this.scale;
    const start = m[o + START]!;
    const split = start + m[o + NPOS]!;
    const end = split + m[o + NNEG]!;
    const idx = d.idx;
    const cnt = d.cnt;
    const pos = this.pos;
    const neg = this.neg;
    for (let k = start; k < split; k++) pos[(idx[k]! >> sh) - this.posOff] += sign * cnt[k]!;
    for (let k = split; k < end; k++) neg[(idx[k]! >> sh) - this.negOff] += sign * cnt[k]!;
  }

  /**
   * Reads the point records of [i0, i1): count, sum, zero, min, max, and the merge's scale with the
   * bucket ranges at that scale. Returns the scale.
   */
  private scan(d: DistPoints, i0: number, i1: number): number {
    const m = d.meta;
    const idx = d.idx;
    let count = 0;
    let sum = 0;
    let zero = 0;
    let min = Infinity;
    let max = -Infinity;
    // one pass: the ranges are kept at the lowest scale seen so far, and shifted when a lower one comes
    // (floor shifts compose: (x >> a) >> b === x >> (a + b))
    let minScale = Infinity;
    let pLo = 0;
    let pHi = -1;
    let nLo = 0;
    let nHi = -1;
    for (let o = i0 * STRIDE, e = i1 * STRIDE; o < e; o += STRIDE) {
      count += m[o + COUNT]!;
      sum += m[o + SUM]!;
      zero += m[o + ZERO]!;
      if (m[o + MIN]! < min) min = m[o + MIN]!;
      if (m[o + MAX]! > max) max = m[o + MAX]!;
      const scale = m[o + SCALE]!;
      if (scale < minScale) {
        if (minScale !== Infinity) {
          const by = minScale - scale;
          if (pLo <= pHi) {
            pLo >>= by;
            pHi >>= by;
          }
          if (nLo <= nHi) {
            nLo >>= by;
            nHi >>= by;
          }
        }
        minScale = scale;
      }
      const sh = scale - minScale;
      const start = m[o + START]!;
      const np = m[o + NPOS]!;
      const nn = m[o + NNEG]!;
      if (np > 0) {
        const lo = idx[start]! >> sh;
        const hi = idx[start + np - 1]! >> sh;
        if (pLo > pHi) {
          pLo = lo;
          pHi = hi;
        } else {
          if (lo < pLo) pLo = lo;
          if (hi > pHi) pHi = hi;
        }
      }
      if (nn > 0) {
        const lo = idx[start + np]! >> sh;
        const hi = idx[start + np + nn - 1]! >> sh;
        if (nLo > nHi) {
          nLo = lo;
          nHi = hi;
        } else {
          if (lo < nLo) nLo = lo;
          if (hi > nHi) nHi = hi;
        }
      }
    }
    this.count = count;
    this.sum = sum;
    this.zero = zero;
    this.min = min;
    this.max = max;
    this.posLo = pLo;
    this.posHi = pHi;
    this.negLo = nLo;
    this.negHi = nHi;
    return fitScale(this, minScale);
  }
}

/** Copies the non-zero counts of `src` (offset srcOff) into `dst` (offset dstOff), `by` scales coarser. */
function move(src: Float64Array, srcOff: number, dst: Float64Array, dstOff: number, by: number): boolean {
  for (let k = 0; k < src.length; k++) {
    const c = src[k]!;
    if (c === 0) continue;
    const j = ((srcOff + k) >> by) - dstOff;
    if (j < 0 || j >= dst.length) return false;
    dst[j] += c;
  }
  return true;
}

/** The merge of several series' window histograms (a group of a rule); one instance reused for every group. */
export class GroupHist implements HistView {
  scale = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  zero = 0;
  pos = new Float64Array(64);
  posOff = 0;
  posLo = 0;
  posHi = -1;
  neg = new Float64Array(64);
  negOff = 0;
  negLo = 0;
  negHi = -1;

  /** Scalars only (count, sum, zero, min, max): enough for every stat but quantiles. */
  scalars(views: readonly HistView[], n: number): this {
    let count = 0;
    let sum = 0;
    let zero = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = views[i]!;
      count += v.count;
      sum += v.sum;
      zero += v.zero;
      if (v.min < min) min = v.min;
      if (v.max > max) max = v.max;
    }
    this.count = count;
    this.sum = sum;
    this.zero = zero;
    this.min = min;
    this.max = max;
    return this;
  }

  /** Scalars and buckets. */
  merge(views: readonly HistView[], n: number): this {
    this.scalars(views, n);
    let minScale = Infinity;
    for (let i = 0; i < n; i++) if (views[i]!.scale < minScale) minScale = views[i]!.scale;
    let pLo = 0;
    let pHi = -1;
    let nLo = 0;
    let nHi = -1;
    for (let i = 0; i < n; i++) {
      const v = views[i]!;
      const sh = v.scale - minScale;
      if (v.posLo <= v.posHi) {
        const lo = v.posLo >> sh;
        const hi = v.posHi >> sh;
        if (pLo > pHi) {
          pLo = lo;
          pHi = hi;
        } else {
          if (lo < pLo) pLo = lo;
          if (hi > pHi) pHi = hi;
        }
      }
      if (v.negLo <= v.negHi) {
        const lo = v.negLo >> sh;
        const hi = v.negHi >> sh;
        if (nLo > nHi) {
          nLo = lo;
          nHi = hi;
        } else {
          if (lo < nLo) nLo = lo;
          if (hi > nHi) nHi = hi;
        }
      }
    }
    this.posLo = pLo;
    this.posHi = pHi;
    this.negLo = nLo;
    this.negHi = nHi;
    const s = fitScale(this, minScale);
    this.scale = s;
    this.posOff = this.posLo;
    this.negOff = this.negLo;
    const pLen = this.posHi - this.posLo + 1;
    const nLen = this.negHi - this.negLo + 1;
    if (this.pos.length < pLen) this.pos = new Float64Array(pLen * 2);
    else this.pos.fill(0, 0, Math.max(0, pLen));
    if (this.neg.length < nLen) this.neg = new Float64Array(nLen * 2);
    else this.neg.fill(0, 0, Math.max(0, nLen));
    for (let i = 0; i < n; i++) {
      const v = views[i]!;
      const sh = v.scale - s;
      for (let k = v.posLo; k <= v.posHi; k++) {
        const c = v.pos[k - v.posOff]!;
        if (c !== 0) this.pos[(k >> sh) - this.posOff] += c;
      }
      for (let k = v.negLo; k <= v.negHi; k++) {
        const c = v.neg[k - v.negOff]!;
        if (c !== 0) this.neg[(k >> sh) - this.negOff] += c;
      }
    }
    return this;
  }
}

/** The value at quantile q of a merged distribution, exactly as Sketch.quantile answers it. */
export function quantileOf(v: HistView, q: number): number {
  if (v.count === 0) return NaN;
  if (q <= 0) return v.min;
  if (q >= 1) return v.max;
  const rank = q * (v.count - 1);
  let seen = 0;
  for (let k = v.negHi; k >= v.negLo; k--) {
    seen += v.neg[k - v.negOff]!;
    if (seen > rank) return clamp(v, -bucketValue(k, v.scale));
  }
  seen += v.zero;
  if (seen > rank) return clamp(v, 0);
  for (let k = v.posLo; k <= v.posHi; k++) {
    seen += v.pos[k - v.posOff]!;
    if (seen > rank) return clamp(v, bucketValue(k, v.scale));
  }
  return v.max;
}

function clamp(v: HistView, x: number): number {
  return x < v.min ? v.min : x > v.max ? v.max : x;
}
