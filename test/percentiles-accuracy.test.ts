/**
 * The sketch's contract: quantiles within the relative accuracy of the exact value (1M points each of
 * lognormal, bimodal and constant data, seeded), and merging gives the same answers as one sketch.
 */
import { describe, expect, it } from 'vitest';
import { Sketch, accuracyOfScale, scaleForAccuracy } from '../src/sketch.ts';
import { normal, prng } from './percentiles-helpers.ts';

const N = 1_000_000;
const QS = [0.5, 0.9, 0.99, 0.999];

function exactQuantile(sorted: Float64Array, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

function dataset(kind: 'lognormal' | 'bimodal' | 'constant'): Float64Array {
  const rand = prng(kind.length * 7919);
  const gauss = normal(rand);
  const out = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    if (kind === 'lognormal') out[i] = Math.exp(4 + 1.2 * gauss()); // median ~55 ms, long tail
    else if (kind === 'bimodal') out[i] = rand() < 0.7 ? 20 + 3 * Math.abs(gauss()) : 2000 + 300 * Math.abs(gauss());
    else out[i] = 123.456;
  }
  return out;
}

describe('sketch accuracy', () => {
  for (const accuracy of [0.01, 0.002]) {
    for (const kind of ['lognormal', 'bimodal', 'constant'] as const) {
      it(`${kind}: p50 p90 p99 p99.9 within ${accuracy * 100}% of the exact values`, () => {
        const data = dataset(kind);
        const sketch = Sketch.forAccuracy(accuracy);
        for (let i = 0; i < data.length; i++) sketch.add(data[i]!);
        const sorted = data.slice().sort();
        expect(sketch.count).toBe(N);
        expect(sketch.min).toBe(sorted[0]);
        expect(sketch.max).toBe(sorted[N - 1]);
        for (const q of QS) {
          const exact = exactQuantile(sorted, q);
          const got = sketch.quantile(q);
          expect(Math.abs(got - exact) / exact, `${kind} q=${q}: got ${got}, exact ${exact}`).toBeLessThanOrEqual(accuracy);
        }
      });
    }
  }

  it('the chosen scale honours the requested accuracy and is the coarsest that does', () => {
    for (const a of [0.05, 0.01, 0.005, 0.001]) {
      const s = scaleForAccuracy(a);
      expect(accuracyOfScale(s)).toBeLessThanOrEqual(a);
      expect(accuracyOfScale(s - 1)).toBeGreaterThan(a);
    }
  });
});

describe('sketch merging', () => {
  it('merging N sketches equals one sketch of all the data (and so does fromDataPoint + merge)', () => {
    const rand = prng(42);
    const gauss = normal(rand);
    const all = Sketch.forAccuracy(0.01);
    const parts: Sketch[] = [];
    for (let p = 0; p < 16; p++) {
      const part = Sketch.forAccuracy(0.01);
      // each part sees a different range, so the merged buckets grow at both ends
      for (let i = 0; i < 20_000; i++) {
        const v = Math.exp(p / 3 + gauss());
        part.add(v);
        all.add(v);
      }
      parts.push(part);
    }
    const merged = Sketch.forAccuracy(0.01);
    for (const p of parts) merged.merge(p);
    const viaPoints = Sketch.fromDataPoint(parts[0]!.toDataPoint([], 0n, 1n));
    for (const p of parts.slice(1)) viaPoints.merge(Sketch.fromDataPoint(p.toDataPoint([], 0n, 1n)));
    for (const s of [merged, viaPoints]) {
      expect(s.count).toBe(all.count);
      expect(s.min).toBe(all.min);
      expect(s.max).toBe(all.max);
      expect(s.sum).toBeCloseTo(all.sum, 6);
      for (const q of [0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999]) expect(s.quantile(q)).toBe(all.quantile(q));
      expect(s.toDataPoint([], 0n, 1n).positive).toEqual(all.toDataPoint([], 0n, 1n).positive);
    }
  });

  it('merges sketches of different scales at the coarser one, exactly for that scale', () => {
    const rand = prng(7);
    const fine = new Sketch(8);
    const coarse = new Sketch(4);
    const reference = new Sketch(4);
    for (let i = 0; i < 10_000; i++) {
      const a = 1 + rand() * 1000;
      const b = 1 + rand() * 1000;
      fine.add(a);
      coarse.add(b);
      reference.add(a);
      reference.add(b);
    }
    fine.merge(coarse);
    expect(fine.scale).toBe(4);
    for (const q of [0.1, 0.5, 0.9, 0.99]) expect(fine.quantile(q)).toBe(reference.quantile(q));
  });

  it('keeps its buckets within maxBuckets by downscaling (values spanning 1e-300 to 1e300)', () => {
    const s = new Sketch(6, 256);
    for (let e = -300; e <= 300; e += 3) s.add(10 ** e);
    const dp = s.toDataPoint([], 0n, 1n);
    expect(dp.positive.bucketCounts.length).toBeLessThanOrEqual(256);
    expect(s.scale).toBeLessThan(6);
    expect(s.count).toBe(201);
    // a hostile merge (two far-apart ranges) stays within the cap as well
    const far = new Sketch(6, 256);
    // (2^1000 and 2^-1000 at scale 6: the widest range a double allows)
    const point = { ...dp, scale: 6, count: 1, sum: 1, min: undefined, max: undefined };
    far.mergeDataPoint({ ...point, positive: { offset: 64_000, bucketCounts: [1] } });
    far.mergeDataPoint({ ...point, positive: { offset: -64_000, bucketCounts: [1] } });
    expect(far.toDataPoint([], 0n, 1n).positive.bucketCounts.length).toBeLessThanOrEqual(256);
    expect(far.count).toBe(2);
  });

  it('counts past 2^32 in one bucket stay exact (the narrow count array widens)', () => {
    const s = new Sketch(6);
    s.add(5, 2 ** 32 - 1);
    s.add(5, 10);
    expect(s.count).toBe(2 ** 32 + 9);
    expect(s.toDataPoint([], 0n, 1n).positive.bucketCounts).toEqual([2 ** 32 + 9]);
  });
});
