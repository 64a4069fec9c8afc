/**
 * Turns cumulative histogram points into the increments since the previous point of the same stream, so
 * that a histogram an OpenTelemetry SDK exports every 60s (cumulative by default) is not counted again at
 * every export. Streams are bounded: past `maxStreams` the table is cleared (the next point of each
 * stream then only primes it again, so at most one export interval of each stream is not counted).
 */
import type { ExponentialHistogramDataPoint, HistogramDataPoint } from '../../src/model.ts';

interface PrevExplicit {
  start: bigint;
  bounds: number[];
  counts: number[];
  sum: number;
  count: number;
}

interface PrevExponential {
  start: bigint;
  scale: number;
  zeroCount: number;
  posOffset: number;
  pos: number[];
  negOffset: number;
  neg: number[];
  sum: number;
  count: number;
}

export class CumulativeToDelta {
  private readonly explicit = new Map<string, PrevExplicit>();
  private readonly exponential = new Map<string, PrevExponential>();

  constructor(private readonly maxStreams: number) {}

  /**
   * The delta of an explicit-bucket point, or undefined when the point only primes the stream (its first
   * point, when the stream started before `primeBefore`). A reset (new start time, or a count that went
   * down) yields the new point whole.
   */
  explicitDelta(key: string, dp: HistogramDataPoint, primeBefore: bigint): HistogramDataPoint | undefined {
    const prev = this.explicit.get(key);
    this.remember(this.explicit, key, {
      start: dp.startTimeUnixNano,
      bounds: dp.explicitBounds.slice(),
      counts: dp.bucketCounts.slice(),
      sum: dp.sum ?? 0,
      count: dp.count,
    });
    if (!prev) return dp.startTimeUnixNano !== 0n && dp.startTimeUnixNano >= primeBefore ? dp : undefined;
    if (prev.start !== dp.startTimeUnixNano || dp.count < prev.count || !sameNumbers(prev.bounds, dp.explicitBounds) || prev.counts.length !== dp.bucketCounts.length) {
      return dp;
    }
    const counts = new Array<number>(dp.bucketCounts.length);
    for (let i = 0; i < counts.length; i++) {
      const d = dp.bucketCounts[i]! - prev.counts[i]!;
      if (d < 0) return dp; // reset
      counts[i] = d;
    }
    // min and max of a cumulative point cover the stream's whole life, not this increment: drop them
    return {
      ...dp,
      count: dp.count - prev.count,
      sum: dp.sum === undefined ? undefined : dp.sum - prev.sum,
      bucketCounts: counts,
      min: undefined,
      max: undefined,
    };
  }

  /** As {@link explicitDelta}, for an exponential histogram point (aligned to the coarser of the two scales). */
  exponentialDelta(key: string, dp: ExponentialHistogramDataPoint, primeBefore: bigint): ExponentialHistogramDataPoint | undefined {
    const prev = this.exponential.get(key);
    this.remember(this.exponential, key, {
      start: dp.startTimeUnixNano,
      scale: dp.scale,
      zeroCount: dp.zeroCount,
      posOffset: dp.positive.offset,
      pos: dp.positive.bucketCounts.slice(),
      negOffset: dp.negative.offset,
      neg: dp.negative.bucketCounts.slice(),
      sum: dp.sum ?? 0,
      count: dp.count,
    });
    if (!prev) return dp.startTimeUnixNano !== 0n && dp.startTimeUnixNano >= primeBefore ? dp : undefined;
    if (prev.start !== dp.startTimeUnixNano || dp.count < prev.count || dp.zeroCount < prev.zeroCount) return dp;
    const scale = Math.min(prev.scale, dp.scale);
    const pos = diffBuckets(dp.positive.offset, dp.positive.bucketCounts, dp.scale - scale, prev.posOffset, prev.pos, prev.scale - scale);
    const neg = diffBuckets(dp.negative.offset, dp.negative.bucketCounts, dp.scale - scale, prev.negOffset, prev.neg, prev.scale - scale);
    if (!pos || !neg) return dp;
    return {
      ...dp,
      scale,
      count: dp.count - prev.count,
      sum: dp.sum === undefined ? undefined : dp.sum - prev.sum,
      zeroCount: dp.zeroCount - prev.zeroCount,
      positive: pos,
      negative: neg,
      min: undefined,
      max: undefined,
    };
  }

  private remember<T>(map: Map<string, T>, key: string, value: T): void {
    if (!map.has(key) && map.size >= this.maxStreams) map.clear();
    map.set(key, value);
  }
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** cur - prev after shifting each down to a common scale; undefined if any bucket went down (a reset). */
function diffBuckets(
  curOffset: number,
  cur: readonly number[],
  curBy: number,
  prevOffset: number,
  prev: readonly number[],
  prevBy: number,
): { offset: number; bucketCounts: number[] } | undefined {
  const acc = new Map<number, number>();
  for (let i = 0; i < cur.length; i++) if (cur[i]) acc.set((curOffset + i) >> curBy, (acc.get((curOffset + i) >> curBy) ?? 0) + cur[i]!);
  for (let i = 0; i < prev.length; i++) if (prev[i]) acc.set((prevOffset + i) >> prevBy, (acc.get((prevOffset + i) >> prevBy) ?? 0) - prev[i]!);
  if (acc.size === 0) return { offset: 0, bucketCounts: [] };
  let lo = Infinity;
  let hi = -Infinity;
  for (const [k, v] of acc) {
    if (v < 0) return undefined;
    if (v > 0) {
      if (k < lo) lo = k;
      if (k > hi) hi = k;
    }
  }
  if (lo === Infinity) return { offset: 0, bucketCounts: [] };
  const counts = new Array<number>(hi - lo + 1).fill(0);
  for (const [k, v] of acc) if (v > 0) counts[k - lo] = v;
  return { offset: lo, bucketCounts: counts };
}
