import { describe, expect, it } from 'vitest';
import type { ExponentialHistogramDataPoint, HistogramDataPoint } from '../../src/model.ts';
import { Sketch, scaleForAccuracy } from '../../src/sketch.ts';
import { normal, prng } from '../../test/percentiles-helpers.ts';
import { type Dist, PACKED_MAX_BUCKETS, distAdd, distCount, distMergeDataPoint, distMergeExplicit, distMergeInto, distQuantile, distSlots, distSum, distToDataPoint, newDist, packedEntries, toSketch } from './dist.ts';

const QS = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

/** Adds `values` both to a new distribution and to a Sketch of the same scale. */
function both(values: readonly number[], scale: number): { d: Dist; s: Sketch } {
  let d = newDist(scale);
  const s = new Sketch(scale);
  for (const v of values) {
    d = distAdd(d, v, scale);
    s.add(v);
  }
  return { d, s };
}

function expectSame(d: Dist, s: Sketch, scale: number): void {
  expect(distCount(d)).toBe(s.count);
  expect(distSum(d)).toBe(s.sum);
  expect(distToDataPoint(d, scale, [], 1n, 2n)).toEqual(s.toDataPoint([], 1n, 2n));
  for (const q of QS) expect(distQuantile(d, q, scale)).toBe(s.quantile(q));
  const back = toSketch(d, scale);
  expect(back.toDataPoint([], 1n, 2n)).toEqual(s.toDataPoint([], 1n, 2n));
  for (const q of QS) expect(back.quantile(q)).toBe(s.quantile(q));
}

describe('a series distribution (packed, then a Sketch)', () => {
  const rand = prng(21);
  const gauss = normal(rand);
  const lognormal = (n: number) => Array.from({ length: n }, () => Math.exp(6 + gauss()));
  const cases: [string, () => number[]][] = [
    ['one value', () => [42]],
    ['8 lognormal latencies', () => lognormal(8)],
    ['40 lognormal latencies', () => lognormal(40)],
    ['500 lognormal latencies (past the packed bound)', () => lognormal(500)],
    ['a constant', () => Array.from({ length: 1000 }, () => 3.25)],
    ['zeros among positives', () => [0, 5, 0, 7.5, 0.001, 0, 12]],
    ['a negative value after positives', () => [5, 7, 9, -3, 11, 0]],
    ['NaN and infinities (ignored)', () => [NaN, 1, Infinity, 2, -Infinity, 3]],
    ['1e-300 to 1e300 (wider than 4096 buckets: downscaled)', () => [1, 1e-300, 1e300, 17, 1e-5, 1e5]],
    ['tokens and costs', () => Array.from({ length: 60 }, () => Math.floor(rand() * 4000) * (rand() < 0.5 ? 1 : 0.000002))],
  ];
  for (const accuracy of [0.01, 0.001, 0.0001, 0.3]) {
    const scale = scaleForAccuracy(accuracy);
    for (const [name, gen] of cases) {
      it(`answers exactly as a Sketch at scale ${scale}: ${name}`, () => {
        const values = gen();
        const { d, s } = both(values, scale);
        expectSame(d, s, scale);
      });
    }
  }

  it('holds one slot per distinct bucket while packed, where a Sketch holds every bucket between the smallest and largest value', () => {
    const values = [3, 15, 80, 260, 900, 2500, 7000, 40_000];
    const { d, s } = both(values, 6);
    expect(Array.isArray(d)).toBe(true);
    expect(packedEntries(d)).toBe(8);
    expect(distSlots(d)).toBe(8); // grown from 4 slots to 8
    // the dense store spans log2(40000 / 3) * 64 = 877 buckets for 8 values
    expect(distSlots(s)).toBeGreaterThanOrEqual(877);
  });

  it(`becomes a Sketch at the ${PACKED_MAX_BUCKETS + 1}th distinct bucket, and with a negative value`, () => {
    let d = newDist(6);
    for (let i = 0; i < PACKED_MAX_BUCKETS; i++) d = distAdd(d, 1.1 ** i, 6);
    expect(packedEntries(d)).toBe(PACKED_MAX_BUCKETS);
    d = distAdd(d, 1.1 ** 1000, 6);
    expect(d).toBeInstanceOf(Sketch);
    expect(distCount(d)).toBe(PACKED_MAX_BUCKETS + 1);
    expect(distAdd(newDist(6), -1, 6)).toBeInstanceOf(Sketch);
    expect(distAdd(newDist(6), 0, 6)).not.toBeInstanceOf(Sketch);
  });

  it('becomes a Sketch before one bucket would count past 2^24 - 1 (an entry holds its count in 24 bits)', () => {
    // the packed layout (dist.ts): [count, sum, min, max, zeroCount, index * 2^24 + count]
    const full = 2 ** 24 - 1;
    const i = new Sketch(6).indexOf(10);
    const d: Dist = [full, 10 * full, 10, 10, 0, i * 2 ** 24 + full];
    const r = distAdd(d, 10, 6);
    expect(r).toBeInstanceOf(Sketch);
    const dp = distToDataPoint(r, 6, [], 0n, 0n);
    expect(dp.count).toBe(full + 1);
    expect(dp.positive).toEqual({ offset: i, bucketCounts: [full + 1] });
  });

  it('starts as a Sketch at scales too fine for packed indices', () => {
    expect(newDist(14)).toBeInstanceOf(Sketch);
    expect(Array.isArray(newDist(13))).toBe(true);
  });

  it('merges exactly: packed windows merged through their data points answer as one Sketch of all the data', () => {
    const all = new Sketch(6);
    const merged = new Sketch(6);
    for (let w = 0; w < 20; w++) {
      const values = lognormal(1 + (w % 9));
      for (const v of values) all.add(v);
      merged.merge(Sketch.fromDataPoint(distToDataPoint(both(values, 6).d, 6, [], 0n, 0n)));
    }
    const a = all.toDataPoint([], 0n, 0n);
    const m = merged.toDataPoint([], 0n, 0n);
    expect(m.positive).toEqual(a.positive);
    expect([m.count, m.min, m.max, m.zeroCount]).toEqual([a.count, a.min, a.max, a.zeroCount]);
    expect(m.sum).toBeCloseTo(a.sum!, 6);
    for (const q of QS) expect(merged.quantile(q)).toBe(all.quantile(q));
  });

  it('merges into a Sketch as Sketch.merge does: at its scale, downscaled, and when the union passes the bucket cap', () => {
    const many = lognormal(300);
    const some = lognormal(50);
    const targets: [string, () => Sketch][] = [
      ['empty', () => new Sketch(6)],
      ['holding latencies', () => both(many, 6).s],
      ['downscaled to 4', () => {
        const s = both(some, 6).s;
        s.downscaleTo(4);
        return s;
      }],
      ['holding 1e-30 (the union passes 4096 buckets)', () => both([1e-30, 2e-30], 6).s],
      ['holding negatives and zeros', () => both([-5, -0.5, 0, 0, 3], 6).s],
    ];
    for (const [, make] of targets) {
      for (const values of [lognormal(8), [0, 0, 4], [1e30, 1]]) {
        const { d } = both(values, 6);
        const direct = make();
        const reference = make();
        distMergeInto(direct, d, 6);
        reference.merge(toSketch(d, 6));
        expect(direct.toDataPoint([], 0n, 0n)).toEqual(reference.toDataPoint([], 0n, 0n));
        for (const q of QS) expect(direct.quantile(q)).toBe(reference.quantile(q));
      }
    }
  });

  it('merges received histogram points as a Sketch does: packed while the result fits, else as the Sketch it becomes', () => {
    const exp = (scale: number, offset: number, counts: number[], extra: Partial<ExponentialHistogramDataPoint> = {}): ExponentialHistogramDataPoint => {
      const n = counts.reduce((a, b) => a + b, 0) + (extra.zeroCount ?? 0) + (extra.negative?.bucketCounts.reduce((a, b) => a + b, 0) ?? 0);
      return { attributes: [], startTimeUnixNano: 0n, timeUnixNano: 0n, count: n, sum: 17.5 * n, scale, zeroCount: 0, positive: { offset, bucketCounts: counts }, negative: { offset: 0, bucketCounts: [] }, flags: 0, exemplars: [], zeroThreshold: 0, ...extra };
    };
    const explicit = (bounds: number[], counts: number[], extra: Partial<HistogramDataPoint> = {}): HistogramDataPoint => ({
      attributes: [], startTimeUnixNano: 0n, timeUnixNano: 0n, count: counts.reduce((a, b) => a + b, 0), sum: 123.25, bucketCounts: counts, explicitBounds: bounds, flags: 0, exemplars: [], ...extra,
    });
    const states: [string, number[]][] = [
      ['empty', []],
      ['8 latencies', lognormal(8)],
      ['60 distinct buckets', Array.from({ length: 60 }, (_, i) => 1.05 ** i)],
      ['zeros', [0, 0, 3]],
    ];
    const points: [string, (d: Dist) => Dist | undefined, (s: Sketch) => boolean][] = [];
    const addExp = (name: string, dp: ExponentialHistogramDataPoint) => points.push([name, (d) => distMergeDataPoint(d, dp, 6), (s) => s.mergeDataPoint(dp)]);
    const addExplicit = (name: string, dp: HistogramDataPoint) => points.push([name, (d) => distMergeExplicit(d, dp, 6), (s) => s.mergeExplicitHistogram(dp)]);
    addExp('exponential, same scale', exp(6, 400, [1, 0, 3, 0, 0, 2]));
    addExp('exponential, finer scale', exp(8, 1700, [4, 1, 0, 0, 9, 1, 1]));
    addExp('exponential, coarser scale', exp(3, 50, [2, 5]));
    addExp('exponential, a zero count', exp(6, 400, [1, 2], { zeroCount: 3 }));
    addExp('exponential, zeros and negatives', exp(6, 300, [1], { zeroCount: 2, negative: { offset: 10, bucketCounts: [3] } }));
    addExp('exponential, 30 buckets', exp(6, 380, Array.from({ length: 30 }, (_, i) => 1 + (i % 3))));
    addExp('exponential, far away (past 4096 buckets with the latencies)', exp(6, -9000, [1, 1]));
    addExp('exponential, one bucket past 2^24 - 1', exp(6, 400, [2 ** 24]));
    addExp('exponential, no bucket (count and sum only)', exp(6, 0, [], { count: 5, sum: 50 }));
    addExp('exponential, nothing to place', exp(6, 0, [], { count: 5, sum: undefined as never }));
    addExplicit('explicit, latency bounds', explicit([5, 10, 25, 50, 100, 250, 500, 1000], [1, 3, 0, 7, 2, 0, 1, 0, 1]));
    addExplicit('explicit, min and max', explicit([10, 100], [2, 5, 1], { min: 3, max: 450 }));
    addExplicit('explicit, a bucket around 0', explicit([-1, 1], [0, 3, 0]));
    addExplicit('explicit, negative bounds', explicit([-10, 0, 10], [1, 2, 3, 4]));
    addExplicit('explicit, a bucket past 2^24 - 1', explicit([10, 100], [2 ** 24, 1, 0]));
    addExplicit('explicit, 80 buckets', explicit(Array.from({ length: 80 }, (_, i) => 1.1 ** i), Array.from({ length: 81 }, () => 1)));
    addExplicit('explicit, the same sketch bucket twice', explicit([100, 100.1, 100.2], [0, 2, 3, 0]));
    addExplicit('explicit, no bucket', explicit([], [], { count: 4, sum: 40 }));
    addExplicit('explicit, nothing to place', explicit([], [], { count: 4, sum: undefined }));
    for (const [, values] of states) {
      for (const [name, merge, reference] of points) {
        const { d } = both(values, 6);
        const ref = toSketch(d, 6).clone();
        const ok = reference(ref);
        const r = merge(d);
        if (!ok) {
          expect(r, name).toBeUndefined();
          continue;
        }
        expect(r, name).toBeDefined();
        expect(distToDataPoint(r!, 6, [], 0n, 0n), name).toEqual(ref.toDataPoint([], 0n, 0n));
        for (const q of QS) expect(distQuantile(r!, q, 6), name).toBe(ref.quantile(q));
      }
    }
    // the small cases stay packed
    const small = distMergeExplicit(both(lognormal(8), 6).d, explicit([5, 10, 25, 50, 100, 250, 500, 1000], [1, 3, 0, 7, 2, 0, 1, 0, 1]), 6);
    expect(Array.isArray(small)).toBe(true);
    expect(Array.isArray(distMergeDataPoint(newDist(6), exp(6, 400, [1, 0, 3]), 6))).toBe(true);
  });
});
