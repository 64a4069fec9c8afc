/**
 * The state of one cumulative metric stream and the increment ("delta") of a new point against it, for
 * each OTLP point type. Pure functions over plain data, used by {@link MetricStreamReader}; the rules
 * follow the OTLP data model (metrics/data-model.md, "Temporality", "Resets and gaps") and the same
 * choices as the OpenTelemetry Collector's `cumulativetodelta` processor and Prometheus' `increase()`:
 *
 * - a point whose value went down (a monotonic sum, a histogram's or summary's count or sum, any bucket)
 *   marks a reset: the point counts whole, from its own start time;
 * - a change of explicit bounds (or of an exponential histogram's zero threshold) with no reset: count
 *   and sum are still exact differences, bucket positions are not: the delta has no buckets (see
 *   docs/metric-streams.md for what each processor does with a bucketless point);
 * - a change of exponential scale: both points are brought to the coarser scale (exact) and subtracted;
 * - a bucketless point (count and sum only) after or before one with buckets: count and sum are exact
 *   differences, the delta has no buckets (as on changed bounds), for explicit and exponential alike;
 * - min and max of a cumulative point cover the stream's whole life, so a difference has neither.
 */
import type { ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, SummaryDataPoint } from '../model.ts';

/** What is kept of the previous point of one cumulative stream (one shape for every point type). */
export class StreamState {
  /** Start and time of the previous point (sender clock, ns). */
  start: bigint;
  time: bigint;
  /** Wall-clock ms when the stream last had a point (for idle expiry). */
  lastSeenMs: number;
  /** Where the StreamTable holds it (its context key and attribute path). */
  context = '';
  /** Bytes charged to the memory budget for it (src/memory-budget.ts). */
  bytes = 0;
  /** Had a point since the StreamTable's eviction order last passed it (its second chance: see StreamTable.oldest). */
  used = false;
  path: unknown[] = [];
  /** Sum points: the value; histograms and summaries: the count. */
  value = 0;
  /** Sum points sent as int64: the exact value (a double holds integers exactly only up to 2^53). */
  int: bigint | undefined;
  /** Histograms and summaries: the sum (undefined when the point had none). */
  sum: number | undefined;
  /** Explicit histograms: bounds (shared while unchanged) and bucket counts. */
  bounds: readonly number[] | undefined;
  counts: number[] | undefined;
  /** Exponential histograms. */
  scale = 0;
  zeroCount = 0;
  zeroThreshold = 0;
  posOffset = 0;
  pos: number[] | undefined;
  negOffset = 0;
  neg: number[] | undefined;

  constructor(start: bigint, time: bigint, nowMs: number) {
    this.start = start;
    this.time = time;
    this.lastSeenMs = nowMs;
  }
}

/** Marker returned when the new point is a reset: it counts whole. */
export const RESET: unique symbol = Symbol('reset');
/** A difference, a reset, or (number points) a plain number. */
export type Diff<T> = T | typeof RESET;

// ------------------------------------------------------------------------------------------------ sums

/** Keeps a sum point's value (`raw`: as sent, `v`: as a double) as its stream's previous value. */
export function rememberNumber(s: StreamState, v: number, raw: number | bigint = v): void {
  s.value = v;
  s.int = typeof raw === 'bigint' ? raw : undefined;
}

/**
 * The increment of a cumulative sum; a drop of a monotonic sum is a reset (a non-monotonic one may go down).
 * Two int64 values are subtracted exactly (as int64, as the Collector's cumulativetodelta does), then made a
 * double: counters past 2^53 (bytes, nanoseconds) would otherwise give increments rounded to 0 or to
 * thousands.
 */
export function diffNumber(s: StreamState, v: number, monotonic: boolean, raw: number | bigint = v): Diff<number> {
  if (typeof raw === 'bigint' && s.int !== undefined) {
    const d = raw - s.int;
    return monotonic && d < 0n ? RESET : Number(d);
  }
  const d = v - s.value;
  return monotonic && d < 0 ? RESET : d;
}

/** Whether a sum point's value (`raw`: as sent, `v`: as a double) is below the stream's previous one, exactly for two int64 values. */
export function numberDropped(s: StreamState, v: number, raw: number | bigint): boolean {
  return typeof raw === 'bigint' && s.int !== undefined ? raw < s.int : v < s.value;
}

// ------------------------------------------------------------------------------------- explicit buckets

/** Keeps an explicit-bucket histogram point (count, sum, bounds, bucket counts) as its stream's previous point. */
export function rememberHistogram(s: StreamState, dp: HistogramDataPoint): void {
  s.value = dp.count;
  s.sum = dp.sum;
  if (!s.bounds || !sameNumbers(s.bounds, dp.explicitBounds)) s.bounds = dp.explicitBounds.slice();
  const n = dp.bucketCounts.length;
  let c = s.counts;
  if (!c || c.length !== n) s.counts = c = new Array<number>(n);
  for (let i = 0; i < n; i++) c[i] = dp.bucketCounts[i]!;
}

/**
 * The increment of a cumulative histogram point over the previous one (see this file's comment): {@link RESET}
 * when the count or any bucket went down; without buckets when the bounds changed; no min or max.
 */
export function diffHistogram(s: StreamState, dp: HistogramDataPoint): Diff<HistogramDataPoint> {
  const count = dp.count - s.value;
  if (count < 0 || sumDropped(s, dp.sum, dp.min)) return RESET;
  const prev = s.counts!;
  const cur = dp.bucketCounts;
  let counts: number[] = [];
  let bounds: number[] = dp.explicitBounds;
  if (cur.length !== 0 && prev.length === cur.length && sameNumbers(s.bounds!, dp.explicitBounds)) {
    counts = new Array<number>(cur.length);
    for (let i = 0; i < cur.length; i++) {
      const d = cur[i]! - prev[i]!;
      if (d < 0) return RESET;
      counts[i] = d;
    }
  } else {
    // bounds changed (or buckets came or went): count and sum are exact, bucket positions are not
    bounds = [];
  }
  return {
    attributes: dp.attributes,
    startTimeUnixNano: s.time,
    timeUnixNano: dp.timeUnixNano,
    count,
    sum: dp.sum !== undefined && s.sum !== undefined ? dp.sum - s.sum : undefined,
    bucketCounts: counts,
    explicitBounds: bounds,
    exemplars: dp.exemplars,
    flags: dp.flags,
    min: undefined,
    max: undefined,
  };
}

// ---------------------------------------------------------------------------------- exponential buckets

/**
 * Keeps an exponential histogram point (count, sum, scale, zero bucket, both bucket ranges) as its stream's previous point.
 */
export function rememberExponential(s: StreamState, dp: ExponentialHistogramDataPoint): void {
  s.value = dp.count;
  s.sum = dp.sum;
  s.scale = dp.scale;
  s.zeroCount = dp.zeroCount;
  s.zeroThreshold = dp.zeroThreshold;
  s.posOffset = dp.positive.offset;
  s.pos = copyInto(s.pos, dp.positive.bucketCounts);
  s.negOffset = dp.negative.offset;
  s.neg = copyInto(s.neg, dp.negative.bucketCounts);
}

/**
 * The increment of a cumulative exponential histogram point over the previous one (see this file's comment):
 * {@link RESET} when a count went down; both brought to the coarser scale when the scale changed; no min or max.
 */
export function diffExponential(s: StreamState, dp: ExponentialHistogramDataPoint): Diff<ExponentialHistogramDataPoint> {
  const count = dp.count - s.value;
  const zero = dp.zeroCount - s.zeroCount;
  if (count < 0 || (!hasCounts(dp.negative.bucketCounts) && sumDropped(s, dp.sum, dp.min))) return RESET;
  const sum = dp.sum !== undefined && s.sum !== undefined ? dp.sum - s.sum : undefined;
  const base = {
    attributes: dp.attributes,
    startTimeUnixNano: s.time,
    timeUnixNano: dp.timeUnixNano,
    count,
    sum,
    flags: dp.flags,
    exemplars: dp.exemplars,
    min: undefined,
    max: undefined,
    zeroThreshold: dp.zeroThreshold,
  };
  // values moved between the zero bucket and the others, or one of the two points is bucketless (count and
  // sum only, with observations): only count and sum are exact, as for explicit bounds that changed (a
  // bucketless point's observations are in no bucket, so subtracting buckets would invent or lose them)
  const prevBucketless = s.value > 0 && s.zeroCount === 0 && !hasCounts(s.pos!) && !hasCounts(s.neg!);
  const curBucketless = dp.count > 0 && dp.zeroCount === 0 && !hasCounts(dp.positive.bucketCounts) && !hasCounts(dp.negative.bucketCounts);
  if (dp.zeroThreshold !== s.zeroThreshold || prevBucketless || curBucketless) {
    return { ...base, scale: dp.scale, zeroCount: 0, positive: { offset: 0, bucketCounts: [] }, negative: { offset: 0, bucketCounts: [] } };
  }
  if (zero < 0) return RESET;
  const scale = Math.min(s.scale, dp.scale);
  const pos = diffBuckets(dp.positive.offset, dp.positive.bucketCounts, dp.scale - scale, s.posOffset, s.pos!, s.scale - scale);
  if (pos === RESET) return RESET;
  const neg = diffBuckets(dp.negative.offset, dp.negative.bucketCounts, dp.scale - scale, s.negOffset, s.neg!, s.scale - scale);
  if (neg === RESET) return RESET;
  return { ...base, scale, zeroCount: zero, positive: pos, negative: neg };
}

/** cur - prev after shifting each down to a common scale (index >> by); RESET if any bucket went down. */
function diffBuckets(
  curOffset: number,
  cur: readonly number[],
  curBy: number,
  prevOffset: number,
  prev: readonly number[],
  prevBy: number,
): Diff<{ offset: number; bucketCounts: number[] }> {
  if (curBy === 0 && prevBy === 0) {
    // the common case: same scale, subtract in place over the union of both ranges
    if (prev.length === 0) return { offset: curOffset, bucketCounts: cur.slice() };
    if (cur.length === 0) return hasCounts(prev) ? RESET : { offset: 0, bucketCounts: [] };
    const lo = Math.min(curOffset, prevOffset);
    const hi = Math.max(curOffset + cur.length, prevOffset + prev.length);
    const out = new Array<number>(hi - lo).fill(0);
    for (let i = 0; i < cur.length; i++) out[curOffset - lo + i] = cur[i]!;
    for (let i = 0; i < prev.length; i++) {
      const j = prevOffset - lo + i;
      const d = out[j]! - prev[i]!;
      if (d < 0) return RESET;
      out[j] = d;
    }
    return { offset: lo, bucketCounts: out };
  }
  const lo = Math.min(cur.length ? curOffset >> curBy : Infinity, prev.length ? prevOffset >> prevBy : Infinity);
  if (lo === Infinity) return { offset: 0, bucketCounts: [] };
  const hi = Math.max(cur.length ? (curOffset + cur.length - 1) >> curBy : -Infinity, prev.length ? (prevOffset + prev.length - 1) >> prevBy : -Infinity);
  const out = new Array<number>(hi - lo + 1).fill(0);
  for (let i = 0; i < cur.length; i++) out[((curOffset + i) >> curBy) - lo]! += cur[i]!;
  for (let i = 0; i < prev.length; i++) out[((prevOffset + i) >> prevBy) - lo]! -= prev[i]!;
  for (let i = 0; i < out.length; i++) if (out[i]! < 0) return RESET;
  return { offset: lo, bucketCounts: out };
}

// ------------------------------------------------------------------------------------------- summaries

/** Keeps a summary point's count and sum as its stream's previous point. */
export function rememberSummary(s: StreamState, dp: SummaryDataPoint): void {
  s.value = dp.count;
  s.sum = dp.sum;
}

/** Count and sum since the previous point; the quantiles are the new point's (they cannot be subtracted). */
export function diffSummary(s: StreamState, dp: SummaryDataPoint): Diff<SummaryDataPoint> {
  const count = dp.count - s.value;
  if (count < 0 || sumDropped(s, dp.sum, undefined)) return RESET;
  return {
    attributes: dp.attributes,
    startTimeUnixNano: s.time,
    timeUnixNano: dp.timeUnixNano,
    count,
    sum: dp.sum - (s.sum ?? 0),
    quantileValues: dp.quantileValues,
    flags: dp.flags,
  };
}

/**
 * Whether the sum went down: OTLP says a histogram's or summary's sum "is assumed to be monotonic" (it is
 * filled out only for non-negative events), so a lower sum is a reset even when the count grew, as a
 * Prometheus `_sum` that went down is; not when the point shows negative values (`min` below 0).
 */
function sumDropped(s: StreamState, sum: number | undefined, min: number | undefined): boolean {
  return sum !== undefined && s.sum !== undefined && sum < s.sum && !(min !== undefined && min < 0);
}

// ------------------------------------------------------------------------------------------- shapes

/**
 * A reason the point cannot be read, or undefined when it is well formed (OTLP data model rules): a value
 * that is not a finite number; for a monotonic sum (`monotonic`), a negative value (a monotonic sum only
 * grows: its delta points are non-negative increments and its cumulative points totals since its start,
 * data-model.md "Sums"), which would otherwise be read as a negative increase or rate.
 */
export function numberProblem(dp: NumberDataPoint, monotonic = false): string | undefined {
  const v = dp.value;
  if (typeof v === 'bigint') return monotonic && v < 0n ? 'a monotonic sum has a negative value' : undefined;
  if (!(typeof v === 'number' && Number.isFinite(v))) return 'value is not a finite number';
  return monotonic && v < 0 ? 'a monotonic sum has a negative value' : undefined;
}

/**
 * Why an explicit-bucket histogram point is unusable (a count that is not a non-negative integer, bounds not
 * finite and strictly increasing, not `bounds + 1` bucket counts, buckets not adding up to the count, a
 * non-finite sum/min/max, min > max, a sum other than 0 with a count of 0), or undefined when it is sound.
 */
export function histogramProblem(dp: HistogramDataPoint): string | undefined {
  if (!isCount(dp.count)) return 'count is not a non-negative integer';
  if (!Array.isArray(dp.bucketCounts) || !Array.isArray(dp.explicitBounds)) return 'bucket counts or bounds are not arrays';
  const b = dp.explicitBounds;
  for (let i = 0; i < b.length; i++) {
    if (typeof b[i] !== 'number' || !Number.isFinite(b[i])) return 'explicit bounds are not finite numbers';
    if (i > 0 && !(b[i]! > b[i - 1]!)) return 'explicit bounds are not strictly increasing';
  }
  const c = dp.bucketCounts;
  if (c.length !== 0) {
    if (c.length !== b.length + 1) return `${c.length} bucket counts for ${b.length} bounds (expected ${b.length + 1})`;
    let total = 0;
    for (let i = 0; i < c.length; i++) {
      if (!isCount(c[i])) return 'bucket counts are not non-negative integers';
      total += c[i]!;
    }
    if (total !== dp.count) return `count ${dp.count} is not the sum of the bucket counts (${total})`;
  }
  return statsProblem(dp.sum, dp.min, dp.max, dp.count);
}

/** Bucket count above which an exponential histogram point is refused as hostile (2^16 per sign). */
export const MAX_INPUT_BUCKETS = 1 << 16;

/**
 * Why an exponential histogram point is unusable (counts not non-negative integers, scale outside
 * [`minScale`, `maxScale`], a bad zero threshold, more than {@link MAX_INPUT_BUCKETS} buckets per sign, indices
 * beyond a double's range, non-finite statistics), or undefined when it is sound.
 */
export function exponentialProblem(dp: ExponentialHistogramDataPoint, minScale: number, maxScale: number): string | undefined {
  if (!isCount(dp.count)) return 'count is not a non-negative integer';
  if (!Number.isInteger(dp.scale) || dp.scale < minScale || dp.scale > maxScale) return `scale ${dp.scale} is outside [${minScale}, ${maxScale}]`;
  if (!isCount(dp.zeroCount)) return 'zero count is not a non-negative integer';
  if (!(dp.zeroThreshold >= 0) || !Number.isFinite(dp.zeroThreshold)) return 'zero threshold is not a non-negative number';
  let total = dp.zeroCount;
  for (const b of [dp.positive, dp.negative]) {
    if (!b || !Array.isArray(b.bucketCounts) || !Number.isInteger(b.offset)) return 'buckets are not an offset and an array of counts';
    if (b.bucketCounts.length > MAX_INPUT_BUCKETS) return `more than ${MAX_INPUT_BUCKETS} buckets`;
    // indices beyond the range of a double (|log2 v| > 1100) are not real data
    const limit = 1100 * 2 ** dp.scale;
    if (Math.abs(b.offset) > limit || Math.abs(b.offset + b.bucketCounts.length) > limit) return 'bucket indices beyond the range of a double';
    for (const c of b.bucketCounts) {
      if (!isCount(c)) return 'bucket counts are not non-negative integers';
      total += c;
    }
  }
  // no bucket and no zero count: a bucketless point (count and sum only), which the data model allows
  if (total !== 0 && total !== dp.count) return `count ${dp.count} is not the sum of the bucket and zero counts (${total})`;
  return statsProblem(dp.sum, dp.min, dp.max, dp.count);
}

/**
 * Why a summary point is unusable (a count that is not a non-negative integer, a non-finite sum, a sum other
 * than 0 with a count of 0, a quantile outside [0, 1] or a non-finite value, a quantile given twice), or
 * undefined when it is sound.
 */
export function summaryProblem(dp: SummaryDataPoint): string | undefined {
  if (!isCount(dp.count)) return 'count is not a non-negative integer';
  if (typeof dp.sum !== 'number' || !Number.isFinite(dp.sum)) return 'sum is not a finite number';
  if (dp.count === 0 && dp.sum !== 0) return ZERO_COUNT_SUM;
  const seen = new Set<number>();
  for (const q of dp.quantileValues ?? []) {
    if (!(q.quantile >= 0 && q.quantile <= 1) || typeof q.value !== 'number' || !Number.isFinite(q.value)) return 'quantile values are not finite numbers in [0, 1]';
    // two values for one quantile: which one the point means is unknown (served, two series with the same labels)
    if (seen.has(q.quantile)) return `quantile ${q.quantile} has two values`;
    seen.add(q.quantile);
  }
  return undefined;
}

/** OTLP (histogram, exponential histogram and summary points): "If count is zero then this field [sum] must be zero". */
const ZERO_COUNT_SUM = 'count is 0 but sum is not (OTLP: the sum of no value must be 0)';

function statsProblem(sum: number | undefined, min: number | undefined, max: number | undefined, count: number): string | undefined {
  if (sum !== undefined && !Number.isFinite(sum)) return 'sum is not finite';
  if (count === 0 && sum !== undefined && sum !== 0) return ZERO_COUNT_SUM;
  if (min !== undefined && !Number.isFinite(min)) return 'min is not finite';
  if (max !== undefined && !Number.isFinite(max)) return 'max is not finite';
  if (min !== undefined && max !== undefined && min > max) return 'min is greater than max';
  return undefined;
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && n >= 0 && Number.isInteger(n);
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hasCounts(a: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i]) return true;
  return false;
}

function copyInto(into: number[] | undefined, from: readonly number[]): number[] {
  const n = from.length;
  if (!into || into.length !== n) into = new Array<number>(n);
  for (let i = 0; i < n; i++) into[i] = from[i]!;
  return into;
}
