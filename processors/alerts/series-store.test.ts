import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Sketch } from '../../src/sketch.ts';
import { Series, WindowAccumulator, WindowSketch, SeriesStore } from './series-store.ts';
import { batchOf, gauge } from './testdata/batches.ts';

function distSeries(values: number[][]): Series {
  const s = new Series('m', '', {}, 'dist');
  values.forEach((vs, i) => {
    const sk = Sketch.forAccuracy(0.01);
    for (const v of vs) sk.add(v);
    s.insert(i * 10, sk.count, sk);
  });
  return s;
}

describe('sliding window sketches', () => {
  it('equal a fresh merge of the window for any sequence of moving windows, prunes and late points', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 12 }), fc.boolean()), { minLength: 1, maxLength: 30 }),
        (points, moves) => {
          const s = distSeries(points);
          const w = new WindowSketch();
          let a = 0;
          for (const [step, len, prune] of moves) {
            a += step;
            if (prune && a > 0) s.prune((a - 1) * 10); // drop points before the window
            const start = Math.max(a, s.base);
            const end = Math.min(start + len, s.base + s.length);
            const got = w.mergeInto(s, start, end, undefined);
            const want = Sketch.forAccuracy(0.01);
            for (let i = start; i < end; i++) want.merge(s.sk[i - s.base]!);
            if (end <= start) expect(got).toBeUndefined();
            else {
              expect(got!.count).toBe(want.count);
              for (const q of [0, 0.5, 0.9, 0.99, 1]) expect(got!.quantile(q)).toBe(want.quantile(q));
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a late (out-of-order) point invalidates the cache', () => {
    const s = distSeries([[1], [2], [3]]);
    const acc = new WindowAccumulator();
    acc.add(s, -1, 100, 0.5);
    expect(acc.result({ kind: 'count' }, 100)).toBe(3);
    const late = Sketch.forAccuracy(0.01);
    late.add(1000);
    s.insert(5, 1, late);
    acc.reset();
    acc.add(s, -1, 100, 0.5);
    expect(acc.result({ kind: 'count' }, 100)).toBe(4);
    expect(acc.result({ kind: 'max' }, 100)).toBe(1000);
  });
});

describe('series store bounds', () => {
  it('caps the number of series and counts the dropped points', () => {
    const store = new SeriesStore({ maxSeries: 3, maxPointsPerSeries: 16, retention: new Map([['g', 60_000]]) });
    for (let i = 0; i < 5; i++) store.ingest(batchOf([gauge('g', { i: String(i) }, 1, 1000)]), 1000);
    store.ingest(batchOf([gauge('other', {}, 1, 1000)]), 1000); // not read by any rule: not stored
    expect(store.size).toBe(3);
    expect(store.droppedPoints).toBe(2);
  });
  it('caps points per series by merging the older half, keeping deltas whole', () => {
    const store = new SeriesStore({ maxSeries: 10, maxPointsPerSeries: 16, retention: new Map([['g', 3_600_000]]) });
    for (let i = 1; i <= 100; i++) store.ingest(batchOf([gauge('g', {}, i, i * 1000)]), i * 1000);
    const groups = store.groups({ id: 'x', metrics: ['g'], matchers: [] }, []);
    const s = [...groups.values()][0]!.series[0]!;
    expect(s.length).toBeLessThanOrEqual(16);
    expect(s.v[s.length - 1]).toBe(100);
  });
  it('prunes points beyond retention and drops empty series', () => {
    const store = new SeriesStore({ maxSeries: 10, maxPointsPerSeries: 100, retention: new Map([['g', 60_000]]) });
    store.ingest(batchOf([gauge('g', {}, 1, 1000)]), 1000);
    store.prune(30_000);
    expect(store.size).toBe(1);
    store.prune(62_000); // expired, but pruning waits for a minute's worth (cheap rounds)
    expect(store.size).toBe(1);
    store.prune(122_000);
    expect(store.size).toBe(0);
  });
});
