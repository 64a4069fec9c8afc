import { describe, expect, it } from 'vitest';
import { Sketch } from './sketch.ts';

describe('Sketch', () => {
  it('reuses its arrays after reset without growing them on every reuse', () => {
    const a = Sketch.forAccuracy(0.01);
    const big = Sketch.forAccuracy(0.01);
    big.add(1000);
    const small = Sketch.forAccuracy(0.01);
    small.add(10);
    let capacity = 0;
    for (let i = 0; i < 20; i++) {
      a.reset();
      a.merge(big);
      a.merge(small);
      expect(a.quantile(0)).toBe(10);
      expect(a.quantile(1)).toBe(1000);
      expect(a.count).toBe(2);
      capacity = (a.positive as unknown as { counts: ArrayLike<number> }).counts.length;
    }
    expect(capacity).toBeLessThan(2048);
  });

  it('takes bucket indices past 32 bits: a point at offset 2^31 - 1 merges and downscales by floor division (>> wrapped it negative and the merge never ended)', () => {
    const point = (scale: number, offset: number) =>
      ({ count: 9, sum: 1, scale, zeroCount: 0, zeroThreshold: 0, positive: { offset, bucketCounts: [8, 1] }, negative: { offset: 0, bucketCounts: [] }, attributes: [], startTimeUnixNano: 0n, timeUnixNano: 0n, flags: 0, exemplars: [] }) as unknown as Parameters<Sketch['mergeDataPoint']>[0];
    for (const offset of [2 ** 31 - 1, -(2 ** 31), 2 ** 40]) {
      const s = new Sketch(0);
      expect(s.mergeDataPoint(point(0, offset))).toBe(true);
      expect(s.count).toBe(9);
      expect(s.toDataPoint([], 0n, 0n).positive).toEqual({ offset, bucketCounts: [8, 1] });
      // one scale coarser: indices floor-divided by 2
      const coarse = new Sketch(-1);
      coarse.merge(s);
      const p = coarse.toDataPoint([], 0n, 0n).positive;
      expect(p.offset).toBe(Math.floor(offset / 2));
      expect(p.bucketCounts.reduce((a, b) => a + b, 0)).toBe(9);
    }
  });

  it('keeps the counts right when it grows at the front in place', () => {
    const s = Sketch.forAccuracy(0.01);
    for (const v of [100, 50, 25, 12, 6, 3]) s.add(v);
    s.reset();
    for (const v of [100, 1, 100]) s.add(v);
    expect(s.count).toBe(3);
    expect(s.quantile(0.5)).toBeCloseTo(100, -1);
    expect(s.quantile(0.01)).toBe(1);
  });
});
