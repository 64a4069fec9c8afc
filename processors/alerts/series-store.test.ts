import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Sketch } from '../../src/sketch.ts';
import { MemoryBudget } from '../../src/memory-budget.ts';
import { Series, WindowAccumulator, SeriesStore, pruneDueAt, seriesBytes } from './series-store.ts';
import { batchOf, gauge, sum } from './testdata/batches.ts';
import { WindowHist } from './window-histogram.ts';

function distSeries(values: number[][], scales: number[] = []): Series {
  const s = new Series('m', '', {}, 'dist');
  values.forEach((vs, i) => {
    const sk = new Sketch(scales[i % (scales.length || 1)] ?? 6);
    for (const v of vs) sk.add(v);
    s.insert(i * 10, sk.count, sk);
  });
  return s;
}

/** What the stats must equal: a fresh Sketch.merge of the points in the window. */
function freshMerge(series: Series[], from: number, to: number): Sketch | undefined {
  let want: Sketch | undefined;
  for (const s of series) {
    for (let i = 0; i < s.length; i++) {
      if (!(s.t[i]! > from && s.t[i]! <= to)) continue;
      const p = s.sketchAt(i);
      if (want) want.merge(p);
      else want = p;
    }
  }
  return want;
}

const QS = [0, 0.01, 0.5, 0.9, 0.95, 0.99, 1];

function expectSameStats(acc: WindowAccumulator, want: Sketch | undefined, windowMs: number): void {
  if (!want) {
    expect(acc.result({ kind: 'count' }, windowMs)).toBeNaN();
    return;
  }
  expect(acc.result({ kind: 'count' }, windowMs)).toBe(want.count);
  expect(acc.result({ kind: 'min' }, windowMs)).toBe(want.min);
  expect(acc.result({ kind: 'max' }, windowMs)).toBe(want.max);
  // sums are added in another order: equal up to rounding
  const mag = Math.max(Math.abs(want.min), Math.abs(want.max)) * want.count;
  expect(Math.abs(acc.result({ kind: 'sum' }, windowMs) - want.sum)).toBeLessThanOrEqual(mag * 1e-12);
  for (const q of QS) expect(acc.result({ kind: 'quantile', q }, windowMs)).toBe(want.quantile(q));
}

// values from 1e-9 to 1e12 (and their negatives): at scale 6 their union spans more than 4096 buckets,
// so windows must land on a coarser scale exactly as Sketch.merge does
const value = fc.oneof(
  fc.integer({ min: 1, max: 10_000 }),
  fc.double({ min: 1e-9, max: 1e12, noNaN: true }),
  fc.double({ min: -1e6, max: -1e-3, noNaN: true }),
  fc.constant(0),
);

describe('sliding window histograms', () => {
  it('equal a fresh merge of the window for any sequence of moving windows, prunes and late points', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(value, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 12 }), fc.boolean(), fc.option(value)), { minLength: 1, maxLength: 30 }),
        (points, scales, moves) => {
          const s = distSeries(points, scales);
          const acc = new WindowAccumulator();
          let a = 0;
          for (const [step, len, prune, late] of moves) {
            a += step;
            if (prune && a > 0) s.prune((a - 1) * 10); // drop points before the window
            if (late !== null && s.length) {
              const sk = new Sketch(6);
              sk.add(late);
              if (sk.count) s.insert(s.t[0]! + 5, sk.count, sk);
            }
            // the window (from, to] of length len * 10 (one window length per series, as for a rule)
            const to = (a + len) * 10 - 5;
            const from = to - 120;
            acc.reset();
            acc.add(s, from, to, -1);
            expectSameStats(acc, freshMerge([s], from, to), 120);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('merge the series of a group as Sketch.merge does', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(fc.array(value, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 2 })), {
          minLength: 2,
          maxLength: 4,
        }),
        fc.integer({ min: 0, max: 6 }),
        (defs, shift) => {
          const series = defs.map(([pts, scales]) => distSeries(pts, scales));
          const acc = new WindowAccumulator();
          for (let round = 0; round < 3; round++) {
            const to = (shift + round) * 10 + 5;
            const from = to - 40;
            acc.reset();
            for (const s of series) acc.add(s, from, to, -1);
            expectSameStats(acc, freshMerge(series, from, to), 40);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stay equal over a long run of steady rounds (incremental add and subtract, periodic rebuilds)', () => {
    const s = new Series('m', '', {}, 'dist');
    const acc = new WindowAccumulator();
    for (let i = 0; i < 300; i++) {
      const sk = new Sketch(6);
      for (let k = 0; k < 5; k++) sk.add(50 + ((i * 37 + k * 101) % 3000), 1 + (k % 3));
      s.insert(i * 10, sk.count, sk);
      if (i % 6 === 0) s.prune(i * 10 - 400);
      acc.reset();
      acc.add(s, i * 10 - 300, i * 10, -1);
      expectSameStats(acc, freshMerge([s], i * 10 - 300, i * 10), 300);
      // the slid histogram is the one a full read of the window gives, field by field (the sum too: same order)
      const slid = s.windows!.get(300)!;
      const fresh = new WindowHist();
      const a0 = s.base + s.firstAfter(i * 10 - 300);
      fresh.update(s.dist!, s.base, s.version, a0, s.base + s.firstAfter(i * 10), 0);
      for (const k of ['scale', 'count', 'zero', 'sum', 'min', 'max', 'posLo', 'posHi', 'negLo', 'negHi'] as const) expect(slid[k]).toBe(fresh[k]);
      for (let k = fresh.posLo; k <= fresh.posHi; k++) expect(slid.pos[k - slid.posOff]).toBe(fresh.pos[k - fresh.posOff]);
    }
    // most rounds slid without a full read (every point at scale 6, whole counts)
    expect(WindowHist.slides).toBeGreaterThan(200);
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
    store.prune(152_000); // at most 90 s past the retention
    expect(store.size).toBe(0);
  });
});

describe('prune visits the series that are due, not all of them', () => {
  it('leaves every series as a prune of all of them would, and its bytes as the sum over the series, for any points and times', () => {
    const S = 1000;
    const keep = 20 * S;
    const point = fc.record({
      series: fc.integer({ min: 0, max: 5 }),
      // counters are cumulative monotonic sums (pruned every round), the others gauges, late points included
      counter: fc.boolean(),
      ago: fc.integer({ min: -5, max: 90 }),
    });
    fc.assert(
      fc.property(fc.array(fc.record({ points: fc.array(point, { maxLength: 8 }), advance: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 25 }), (steps) => {
        const budget = new MemoryBudget(1e12);
        const account = budget.account('processor/alerts series');
        const store = new SeriesStore({ maxSeries: 1000, maxPointsPerSeries: 6, retention: new Map([['g', keep], ['c', keep]]), budget: account });
        let now = 100 * S;
        for (const [n, step] of steps.entries()) {
          now += step.advance * S;
          const metrics = step.points.map((p) => (p.counter ? sum('c', { k: `${p.series}` }, n + 1, now - p.ago * S, true) : gauge('g', { k: `${p.series}` }, p.ago, now - p.ago * S)));
          store.ingest(batchOf(metrics), now);
          store.prune(now);
          let bytes = 0;
          for (const metric of ['g', 'c']) {
            const all = [...store.groups({ id: `${metric}-${n}`, metrics: [metric], matchers: [] }, []).values()].flatMap((g) => g.series);
            for (const s of all) {
              bytes += seriesBytes(s);
              expect(s.length).toBeGreaterThan(0);
              if (s.kind === 'counter') {
                // one point at most at or before the retention (the baseline), and the newest after it
                expect(s.t.filter((t) => t <= now - keep).length).toBeLessThanOrEqual(1);
                expect(s.t[s.t.length - 1]!).toBeGreaterThan(now - keep);
              } else {
                // not yet due: its first point within the retention plus its slack (30 to 90 s, by its slot)
                expect(pruneDueAt(s, keep)).toBeGreaterThan(now);
                expect(s.t[0]!).toBeGreaterThan(now - keep - 90 * S);
              }
            }
          }
          expect(account.bytes).toBe(bytes);
        }
      }),
      { numRuns: 200, seed: 21 },
    );
  });
});

describe('finding a window from where the last one was', () => {
  it('gives the binary search\'s index for any times, point and guess', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 30 }), fc.integer({ min: -5, max: 55 }), fc.integer({ min: -3, max: 35 }), (times, from, guess) => {
        const s = new Series('m', '', {}, 'delta');
        for (const t of [...times].sort((a, b) => a - b)) s.insert(t, 1);
        expect(s.firstAfterNear(from, guess)).toBe(s.firstAfter(from));
      }),
      { numRuns: 500, seed: 21 },
    );
  });
});
