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
