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
 *
 * The usual slide (a point or two in, as many out, every point at one scale, whole counts) does not re-read
 * every point's record either: with whole counts (below 2^53) adding and subtracting is exact, so the
 * count and zero count are kept by difference and the bucket ranges are the first and last non-zero
 * buckets (counts are never negative), which is what a full read gives; only the sum (floating point,
 * added in point order as a full read adds it), min and max are re-read, three numbers a point.
 */
import { DEFAULT_MAX_BUCKETS, MIN_SCALE, bucketValue, lowest } from '../../src/sketch.ts';
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
  /** The sum of the window's points, added in point order; after a slide, read from the points when first asked. */
  get sum(): number {
    if (!this.sumRead) {
      const m = this.d!.meta;
      let sum = 0;
      for (let o = (this.a - this.base) * STRIDE, e = (this.b - this.base) * STRIDE; o < e; o += STRIDE) sum += m[o + SUM]!;
      this.sumOf = sum;
      this.sumRead = true;
    }
    return this.sumOf;
  }
  private sumOf = 0;
  private sumRead = true;
  /** The points of the last update and their base (the absolute index of d's first point). */
  private d: DistPoints | undefined;
  private base = 0;
  /** How many points of the window have a min equal to `min` (a max equal to `max`): when 0, they are re-read. */
  private minHeld = 0;
  private maxHeld = 0;
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
  /** Updates done by the slide without a full read, process-wide (a cost count for tests and benches). */
  static slides = 0;
  /** Every point in [a, b) has whole counts (point, zero and bucket counts): the slide below is exact. */
  private whole = false;
  /** Every point in [a, b) is at `scale` (the merge did not have to go coarser than the points). */
  private uniform = false;

  /**
   * Makes this the merge of the points with absolute indices [a, b) (a < b) of a series whose first
   * stored point has absolute index `base`. `seq` staggers the periodic rebuilds across series.
   */
  update(d: DistPoints, base: number, version: number, a: number, b: number, seq: number): void {
    this.d = d;
    this.base = base;
    // the same points as last time (another rule reading the same window): nothing to do
    if (version === this.version && a === this.a && b === this.b && b > a) return;
    const i0 = a - base;
    const i1 = b - base;
    if (
      this.whole &&
      this.uniform &&
      version === this.version &&
      this.b > this.a &&
      a >= this.a &&
      b >= this.b &&
      this.a >= base &&
      a - this.a + (b - this.b) < b - a &&
      this.updates < REBUILD_EVERY &&
      this.slide(d, this.a - base, i0, this.b - base, i1)
    ) {
      WindowHist.slides++;
      this.updates++;
      this.a = a;
      this.b = b;
      return;
    }
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
        this.whole = this.whole && wholeCounts(d, this.b - base, i1);
      } else this.rebuild(d, i0, i1, target, 0);
    } else this.rebuild(d, i0, i1, target, this.version === -1 ? seq % REBUILD_EVERY : 0);
    this.uniform = this.scale === this.scanMinScale && this.scanMinScale === this.scanMaxScale;
    this.version = version;
    this.a = a;
    this.b = b;
  }

  /**
   * The usual slide (see this file's comment): points [l0, l1) leave, [e0, e1) enter, all at this.scale
   * with whole counts. False, with nothing changed, when it does not apply (the caller then reads every
   * point).
   */
  private slide(d: DistPoints, l0: number, l1: number, e0: number, e1: number): boolean {
    const m = d.meta;
    const idx = d.idx;
    const scale = this.scale;
    let pLo = this.posLo;
    let pHi = this.posHi;
    let nLo = this.negLo;
    let nHi = this.negHi;
    for (let o = e0 * STRIDE, e = e1 * STRIDE; o < e; o += STRIDE) {
      if (m[o + SCALE] !== scale) return false;
      const start = m[o + START]!;
      const np = m[o + NPOS]!;
      const nn = m[o + NNEG]!;
      if (np > 0) {
        if (pLo > pHi) {
          pLo = idx[start]!;
          pHi = idx[start + np - 1]!;
        } else {
          if (idx[start]! < pLo) pLo = idx[start]!;
          if (idx[start + np - 1]! > pHi) pHi = idx[start + np - 1]!;
        }
      }
      if (nn > 0) {
        if (nLo > nHi) {
          nLo = idx[start + np]!;
          nHi = idx[start + np + nn - 1]!;
        } else {
          if (idx[start + np]! < nLo) nLo = idx[start + np]!;
          if (idx[start + np + nn - 1]! > nHi) nHi = idx[start + np + nn - 1]!;
        }
      }
    }
    if (pHi - pLo + 1 > MAXB || nHi - nLo + 1 > MAXB || !wholeCounts(d, e0, e1)) return false;
    // arrays around the ranges with the entering points (moved, at the same scale, when they do not cover them)
    if (!coversTightly(this.pos, this.posOff, pLo, pHi)) {
      const pad = padOf(pLo, pHi);
      const pos = pLo > pHi ? EMPTY : new Float64Array(pHi - pLo + 1 + 2 * pad);
      if (!move(this.pos, this.posOff, pos, pLo - pad, 0)) return false;
      this.pos = pos;
      this.posOff = pLo - pad;
    }
    if (!coversTightly(this.neg, this.negOff, nLo, nHi)) {
      const pad = padOf(nLo, nHi);
      const neg = nLo > nHi ? EMPTY : new Float64Array(nHi - nLo + 1 + 2 * pad);
      if (!move(this.neg, this.negOff, neg, nLo - pad, 0)) return false;
      this.neg = neg;
      this.negOff = nLo - pad;
    }
    let count = this.count;
    let zero = this.zero;
    let min = this.min;
    let max = this.max;
    let minHeld = this.minHeld;
    let maxHeld = this.maxHeld;
    for (let i = l0; i < l1; i++) {
      this.apply(d, i, -1);
      const o = i * STRIDE;
      count -= m[o + COUNT]!;
      zero -= m[o + ZERO]!;
      if (m[o + MIN] === min) minHeld--;
      if (m[o + MAX] === max) maxHeld--;
    }
    for (let i = e0; i < e1; i++) {
      this.apply(d, i, 1);
      const o = i * STRIDE;
      count += m[o + COUNT]!;
      zero += m[o + ZERO]!;
      const lo = m[o + MIN]!;
      const hi = m[o + MAX]!;
      if (lo < min) {
        min = lo;
        minHeld = 1;
      } else if (lo === min) minHeld++;
      if (hi > max) {
        max = hi;
        maxHeld = 1;
      } else if (hi === max) maxHeld++;
    }
    this.count = count;
    this.zero = zero;
    this.sumRead = false;
    // the min (max) left with the last point that held it, or a zero (whose sign a full read keeps as
    // first seen): read from the points (a full read's order)
    if (minHeld <= 0 || min === 0) {
      min = Infinity;
      minHeld = 0;
      for (let o = l1 * STRIDE, e = e1 * STRIDE; o < e; o += STRIDE) {
        const x = m[o + MIN]!;
        if (x < min) {
          min = x;
          minHeld = 1;
        } else if (x === min) minHeld++;
      }
    }
    if (maxHeld <= 0 || max === 0) {
      max = -Infinity;
      maxHeld = 0;
      for (let o = l1 * STRIDE, e = e1 * STRIDE; o < e; o += STRIDE) {
        const x = m[o + MAX]!;
        if (x > max) {
          max = x;
          maxHeld = 1;
        } else if (x === max) maxHeld++;
      }
    }
    this.min = min;
    this.max = max;
    this.minHeld = minHeld;
    this.maxHeld = maxHeld;
    // the ranges: first and last non-zero buckets (whole, non-negative counts: zero means no point has it)
    const pos = this.pos;
    while (pLo <= pHi && pos[pLo - this.posOff] === 0) pLo++;
    while (pHi >= pLo && pos[pHi - this.posOff] === 0) pHi--;
    if (pLo > pHi) {
      pLo = 0;
      pHi = -1;
    }
    const neg = this.neg;
    while (nLo <= nHi && neg[nLo - this.negOff] === 0) nLo++;
    while (nHi >= nLo && neg[nHi - this.negOff] === 0) nHi--;
    if (nLo > nHi) {
      nLo = 0;
      nHi = -1;
    }
    this.posLo = pLo;
    this.posHi = pHi;
    this.negLo = nLo;
    this.negHi = nHi;
    return true;
  }

  private rebuild(d: DistPoints, i0: number, i1: number, target: number, updates: number): void {
    this.scale = target;
    this.whole = wholeCounts(d, i0, i1);
    this.posTotal = 0;
    this.negTotal = 0;
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
    let p = 0;
    let n = 0;
    for (let k = start; k < split; k++) {
      pos[(idx[k]! >> sh) - this.posOff] += sign * cnt[k]!;
      p += cnt[k]!;
    }
    for (let k = split; k < end; k++) {
      neg[(idx[k]! >> sh) - this.negOff] += sign * cnt[k]!;
      n += cnt[k]!;
    }
    this.posTotal += sign * p;
    this.negTotal += sign * n;
  }

  /**
   * The value at quantile q, as {@link quantileOf} answers it. With whole counts every partial sum is exact
   * in any order, so a high quantile is found from the top bucket down (p95 reads the top 5% of the
   * buckets, not the 95% below); the bucket's value is kept for the next round (usually the same bucket).
   */
  quantile(q: number): number {
    if (!this.whole || !(q > 0.5 && q < 1) || this.count === 0) return quantileOf(this, q);
    const rank = q * (this.count - 1);
    if (rank < 1) return quantileOf(this, q); // the lowest observation: the min, as quantileOf answers it
    const below = this.negTotal + this.zero;
    const total = below + this.posTotal;
    // in the negative buckets or the zero bucket, or past every bucket (the max): as quantileOf reads it
    if (below > rank || !(total > rank)) return quantileOf(this, q);
    const pos = this.pos;
    const off = this.posOff;
    let above = 0; // the counts of the buckets above k
    for (let k = this.posHi; k > this.posLo; k--) {
      const c = pos[k - off]!;
      // the buckets up to k - 1 are still past the rank: the answer is lower
      if (total - (above + c) > rank) above += c;
      else return clamp(this, this.valueAt(k));
    }
    return clamp(this, this.valueAt(this.posLo));
  }

  /** bucketValue(k, this.scale), the last one kept. */
  private valueAt(k: number): number {
    if (k !== this.valueIdx || this.scale !== this.valueScale) {
      this.valueIdx = k;
      this.valueScale = this.scale;
      this.value = bucketValue(k, this.scale);
    }
    return this.value;
  }
  private valueIdx = NaN;
  private valueScale = NaN;
  private value = 0;
  /** The counts of the positive (negative) buckets added up: exact with whole counts. */
  private posTotal = 0;
  private negTotal = 0;

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
    let maxScale = -Infinity;
    let minHeld = 0;
    let maxHeld = 0;
    let pLo = 0;
    let pHi = -1;
    let nLo = 0;
    let nHi = -1;
    for (let o = i0 * STRIDE, e = i1 * STRIDE; o < e; o += STRIDE) {
      count += m[o + COUNT]!;
      sum += m[o + SUM]!;
      zero += m[o + ZERO]!;
      const lo = m[o + MIN]!;
      const hi = m[o + MAX]!;
      if (lo < min) {
        min = lo;
        minHeld = 1;
      } else if (lo === min) minHeld++;
      if (hi > max) {
        max = hi;
        maxHeld = 1;
      } else if (hi === max) maxHeld++;
      const scale = m[o + SCALE]!;
      if (scale > maxScale) maxScale = scale;
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
    this.sumOf = sum;
    this.sumRead = true;
    this.zero = zero;
    this.min = min;
    this.max = max;
    this.minHeld = minHeld;
    this.maxHeld = maxHeld;
    this.posLo = pLo;
    this.posHi = pHi;
    this.negLo = nLo;
    this.negHi = nHi;
    this.scanMinScale = minScale;
    this.scanMaxScale = maxScale;
    return fitScale(this, minScale);
  }

  /** The lowest and highest point scale the last full read saw. */
  private scanMinScale = 0;
  private scanMaxScale = 0;
}

/** Whether the points [i0, i1) have whole counts (point, zero and bucket counts), small enough to add exactly. */
function wholeCounts(d: DistPoints, i0: number, i1: number): boolean {
  const m = d.meta;
  const cnt = d.cnt;
  for (let o = i0 * STRIDE, e = i1 * STRIDE; o < e; o += STRIDE) {
    const c = m[o + COUNT]!;
    const z = m[o + ZERO]!;
    if (!Number.isInteger(c) || !Number.isInteger(z) || c > 2 ** 40 || c < 0 || z < 0) return false;
    const start = m[o + START]!;
    const end = start + m[o + NPOS]! + m[o + NNEG]!;
    for (let k = start; k < end; k++) {
      const x = cnt[k]!;
      if (!Number.isInteger(x) || x < 0) return false;
    }
  }
  return true;
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
    const c = v.neg[k - v.negOff]!;
    seen += c;
    if (seen > rank) return lowest(rank, seen, c) ? v.min : clamp(v, -bucketValue(k, v.scale));
  }
  seen += v.zero;
  if (seen > rank) return lowest(rank, seen, v.zero) ? v.min : clamp(v, 0);
  for (let k = v.posLo; k <= v.posHi; k++) {
    const c = v.pos[k - v.posOff]!;
    seen += c;
    if (seen > rank) return lowest(rank, seen, c) ? v.min : clamp(v, bucketValue(k, v.scale));
  }
  return v.max;
}

function clamp(v: HistView, x: number): number {
  return x < v.min ? v.min : x > v.max ? v.max : x;
}
