/**
 * The cost of an evaluation round, as counts that do not move with load (issue 21, "rules that select
 * many series stay cheap"): series read into window accumulators per round, and series looked at to
 * build selections. They must grow with the distinct (selection, group_by, stat, window) of the rules and
 * the series those select, not with rules x series. Timing is in `npm run bench alerts`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/model.ts';
import { compareAlerts, sortAlerts } from './dispatcher.ts';
import { matchAll } from '../../src/matchers.ts';
import type { Selector } from './series-store.ts';
import { SeriesStore } from './series-store.ts';
import { compileWhere } from './matchers.ts';
import { batchOf, dist, gauge, sum } from './testdata/batches.ts';
import { engineFor, tick } from './testdata/engine.ts';
import { type ResultSink, RoundMemo, compileRule, evaluateRuleInto } from './rules.ts';

const S = 1000;

/** `services` x `ops` gauge series of metric g, one point each at `t`. */
function feedGauges(e: ReturnType<typeof engineFor>, services: number, ops: number, t: number): void {
  const metrics = [];
  for (let s = 0; s < services; s++) for (let o = 0; o < ops; o++) metrics.push(gauge('g', { 'service.name': `svc-${s}`, 'span.name': `op-${o}` }, s * ops + o, t));
  e.ingest(batchOf(metrics), t);
}

describe('rules over the same selection share one read of its series per round', () => {
  it('1,000 rules over all series of one metric, thresholds differing, read each series once', () => {
    const services = 40;
    const ops = 50; // 2,000 series
    const rules = Array.from({ length: 1000 }, (_, i) => ({ name: `Avg_${i}`, metric: 'g', group_by: ['service.name'], stat: 'avg', window: '5m', op: '>', threshold: i * 2 }));
    const e = engineFor({ rules, routes: [{ exporters: ['webhook/x'] }] });
    for (let step = 1; step <= 3; step++) feedGauges(e, services, ops, step * 10 * S);
    tick(e, 30 * S + 1);
    const read0 = e.state.memo.seriesRead;
    feedGauges(e, services, ops, 40 * S);
    tick(e, 40 * S + 1);
    // one distinct (selection, group_by, stat, window): its 2,000 series, once (1,000 x 2,000 without sharing)
    expect(e.state.memo.seriesRead - read0).toBe(services * ops);
    // and each rule still applies its own threshold: group svc-s averages s*50 + 24.5, rule i fires when that > 2i
    const firing = new Map<string, number>();
    for (const inst of e.state.instances.values()) firing.set(inst.rule, (firing.get(inst.rule) ?? 0) + 1);
    for (const i of [0, 1, 300, 612, 999]) {
      let want = 0;
      for (let s = 0; s < services; s++) if (s * ops + (ops - 1) / 2 > i * 2) want++;
      expect(firing.get(`Avg_${i}`) ?? 0).toBe(want);
    }
  });

  it('counts one read per distinct selection, group_by, stat and window (latency quantiles and error ratios)', () => {
    const services = 10;
    const ops = 20; // 200 histogram series, 200 counter series (20 of them errors)
    const rules: unknown[] = [];
    for (let i = 0; i < 200; i++) {
      rules.push({ name: `P95_${i}`, metric: 'span.duration', group_by: ['span.name'], stat: 'p95', window: '5m', op: '>', threshold: 100 + i });
      rules.push({ name: `P99_${i}`, metric: 'span.duration', group_by: ['span.name'], stat: 'p99', window: '5m', op: '>', threshold: 100 + i });
      rules.push({
        name: `Err_${i}`,
        ratio: { numerator: { metric: 'span.calls', where: { 'status.code': 'error' } }, denominator: { metric: 'span.calls' } },
        group_by: ['span.name'],
        stat: 'sum',
        window: '5m',
        op: '>',
        threshold: i / 1000,
      });
      rules.push({ name: `Gone_${i}`, metric: 'span.calls', group_by: ['service.name'], absent_for: '10m' });
    }
    const e = engineFor({ rules, routes: [{ exporters: ['webhook/x'] }] });
    const feed = (t: number) => {
      const metrics = [];
      for (let s = 0; s < services; s++) {
        for (let o = 0; o < ops; o++) {
          const labels = { 'service.name': `svc-${s}`, 'span.name': `op-${o}` };
          metrics.push(dist('span.duration', labels, [50 + o, 100 + s, 300], t));
          metrics.push(sum('span.calls', { ...labels, 'status.code': o % 10 === 0 ? 'error' : 'ok' }, 10, t));
        }
      }
      e.ingest(batchOf(metrics), t);
    };
    for (let step = 1; step <= 3; step++) feed(step * 10 * S);
    tick(e, 30 * S + 1);
    const read0 = e.state.memo.seriesRead;
    const seen0 = e.state.memo.seriesSeen;
    feed(40 * S);
    tick(e, 40 * S + 1);
    const n = services * ops;
    // p95 and p99 over the histograms (2 x 200), the ratio's denominator (200) and numerator (20)
    expect(e.state.memo.seriesRead - read0).toBe(2 * n + n + n / 10);
    // absent_for: the newest point per group of its one selection, once for its 200 rules
    expect(e.state.memo.seriesSeen - seen0).toBe(n);
    expect(e.state.instances.size).toBeGreaterThan(0); // the low thresholds fire
  });
});

describe('selections are built from the postings of their equality matchers', () => {
  it('100 rules each on one service: a new series is checked against the selections of its own service only, none rebuilt', () => {
    const services = 100;
    const ops = 20; // 2,000 series, 20 per service
    const rules = Array.from({ length: services }, (_, i) => ({
      name: `Svc_${i}`,
      metric: 'g',
      where: { 'service.name': `svc-${i}`, 'span.name': { '!~': 'health.*' } },
      group_by: ['span.name'],
      stat: 'max',
      window: '5m',
      op: '>',
      threshold: 1e9,
    }));
    const e = engineFor({ rules: [...rules, { name: 'Other', metric: 'h', stat: 'max', window: '5m', op: '>', threshold: 1e9 }], routes: [{ exporters: ['webhook/x'] }] });
    feedGauges(e, services, ops, 10 * S);
    tick(e, 10 * S + 1);
    let scanned = e.store.seriesScanned;
    tick(e, 11 * S); // nothing came or went: every selection from the cache
    expect(e.store.seriesScanned - scanned).toBe(0);
    // a new series of another metric leaves these selections alone: it is checked against the rule on h only
    scanned = e.store.seriesScanned;
    e.ingest(batchOf([gauge('h', { 'service.name': 'svc-1' }, 1, 12 * S)]), 12 * S);
    tick(e, 12 * S + 1);
    expect(e.store.seriesScanned - scanned).toBe(1);
    // a new series of g: checked against the one selection of its service (svc-7) and added to it in place;
    // before the selections were kept up to date, all 100 were rebuilt from their postings (2,001 series)
    scanned = e.store.seriesScanned;
    e.ingest(batchOf([gauge('g', { 'service.name': 'svc-7', 'span.name': 'op-new' }, 1, 13 * S)]), 13 * S);
    tick(e, 13 * S + 1);
    expect(e.store.seriesScanned - scanned).toBe(1);
    expect(e.store.groups({ id: 'q', metrics: ['g'], matchers: compileWhere({ 'service.name': 'svc-7' }).matchers }, ['span.name']).size).toBe(ops + 1);
  });

  it('series coming and going every round cost checks proportional to them, not rebuilds of the selections they touch', () => {
    // the bench's narrow shape, small: 20 services x 10 span names; per service a p95 rule and an error
    // ratio rule; every round 20 new series (one per service) arrive and, later, expire
    const services = 20;
    const ops = 10;
    const rules: unknown[] = [];
    for (let i = 0; i < services; i++) {
      const svc = { 'service.name': `svc-${i}` };
      rules.push({ name: `P95_${i}`, metric: 'span.duration', where: svc, group_by: ['span.name'], stat: 'p95', window: '1m', op: '>', threshold: 1e9 });
      rules.push({
        name: `Err_${i}`,
        ratio: { numerator: { metric: 'span.calls', where: { ...svc, 'status.code': 'error' } }, denominator: { metric: 'span.calls', where: svc } },
        group_by: ['span.name'],
        stat: 'sum',
        window: '1m',
        op: '>',
        threshold: 0.05,
      });
    }
    const e = engineFor({ interval: '10s', rules, routes: [{ exporters: ['webhook/x'] }] });
    const feed = (target: ReturnType<typeof engineFor>, step: number) => {
      const t = step * 10 * S;
      const metrics = [];
      for (let s = 0; s < services; s++) {
        for (let o = 0; o < ops; o++) {
          const labels = { 'service.name': `svc-${s}`, 'span.name': `op-${o}` };
          metrics.push(dist('span.duration', labels, [100 + o, 200 + s], t));
          metrics.push(sum('span.calls', { ...labels, 'status.code': o % 5 === 0 ? 'error' : 'ok' }, 10, t));
        }
        // churn: a span name never seen before, in error half the time (it fires while it lasts)
        metrics.push(sum('span.calls', { 'service.name': `svc-${s}`, 'span.name': `new-${step}`, 'status.code': step % 2 ? 'error' : 'ok' }, 1, t));
      }
      target.ingest(batchOf(metrics), t);
      return t;
    };
    for (let step = 1; step <= 12; step++) tick(e, feed(e, step) + 1);
    const perRound: number[] = [];
    for (let step = 13; step <= 30; step++) {
      const scanned = e.store.seriesScanned;
      const t = feed(e, step);
      tick(e, t + 1);
      perRound.push(e.store.seriesScanned - scanned);
      // the new series is in its selections at once: an error one fires in the round it arrived
      const fired = [...e.state.instances.values()].some((i) => i.rule === 'Err_3' && i.labels['span.name'] === `new-${step}` && i.state === 'firing');
      expect(fired).toBe(step % 2 === 1);
    }
    // series expired meanwhile (kept 1m + 2 x 10s + 1m, plus the store's slack), and went from their selections in place
    const svc3 = e.store.groups({ id: 'x', metrics: ['span.calls'], matchers: compileWhere({ 'service.name': 'svc-3' }).matchers }, ['span.name']);
    expect(svc3.has('new-1\u0000')).toBe(false);
    expect(svc3.has('new-30\u0000')).toBe(true);
    // each round: 20 new series, each checked against its service's two span.calls selections (numerator
    // and denominator), and about 20 expired ones the same (a series expires in its prune slot, one of six in
    // the minute by a hash of its sequence number, so a round may take a few more or fewer than one step's
    // worth); rebuilding instead looks at every series of each selection they touch (2 x 20 selections x 100+
    // series a round)
    expect(Math.max(...perRound)).toBeLessThanOrEqual(3 * 2 * services);
    expect(perRound.reduce((a, b) => a + b, 0) / perRound.length).toBeLessThanOrEqual(2 * 2 * services);
    expect(Math.min(...perRound)).toBeGreaterThan(0);
  });

  it('select exactly what a scan of every series with every matcher selects, as series come and go', () => {
    const labelValue = fc.constantFrom('a', 'b', 'c', '');
    const attrs = fc.record({ x: labelValue, y: labelValue, z: labelValue }, { requiredKeys: [] });
    const matcher = fc.record({ name: fc.constantFrom('x', 'y', 'z'), op: fc.constantFrom('=', '=', '!=', '=~', '!~'), value: fc.constantFrom('a', 'b', '', 'a|b', '.*', 'c?') });
    fc.assert(
      fc.property(
        fc.array(fc.array(attrs, { maxLength: 12 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.array(matcher, { maxLength: 3 }), { minLength: 1, maxLength: 6 }),
        (steps, where) => {
          const store = new SeriesStore({ maxSeries: 1000, maxPointsPerSeries: 64, retention: new Map([['g', 20 * S], ['h', 20 * S]]) });
          const selectors: Selector[] = where.map((ms, i) => {
            const w: Record<string, Record<string, string>> = {};
            for (const m of ms) (w[m.name] ??= {})[m.op] = m.value;
            // every other selection reads two metrics (h's series come after g's, whatever their arrival)
            return { id: `s${i}`, metrics: i % 2 ? ['g', 'h'] : ['g'], matchers: compileWhere(w).matchers };
          });
          const all: Selector = { id: 'all', metrics: ['g'], matchers: [] };
          const allH: Selector = { id: 'allH', metrics: ['h'], matchers: [] };
          steps.forEach((points, step) => {
            const t = (step + 1) * 30 * S;
            // kept 20 s (plus the store's slack of 30-60 s): a series not fed for a few steps goes
            store.ingest(batchOf(points.map((a, i) => gauge(i % 3 === 2 ? 'h' : 'g', a, 1, t))), t);
            store.prune(t);
            // the reference: every series of each metric in store order, from a selection built afresh
            const everyOf = (metric: string) => [...store.groups({ ...(metric === 'g' ? all : allH), id: `${metric}-${step}` }, []).values()].flatMap((g) => g.series);
            const every = { g: everyOf('g'), h: everyOf('h') };
            for (const sel of selectors) {
              for (const groupBy of [[], ['y']]) {
                const got = [...store.groups(sel, groupBy).values()].map((g) => [g.key, g.series.map((s) => s.key)]);
                const want = new Map<string, string[]>();
                for (const s of sel.metrics.flatMap((m) => every[m as 'g' | 'h'])) {
                  if (!matchAll(sel.matchers, s.attrs)) continue;
                  const key = groupBy.map((l) => `${s.attrs[l] ?? ''}\u0000`).join('');
                  want.set(key, [...(want.get(key) ?? []), s.key]);
                }
                expect(got).toEqual([...want]);
              }
            }
          });
        },
      ),
      { numRuns: 150, seed: 21 },
    );
  });
});

describe('a rule reports the same results whether it looks at every group or only at those that matter', () => {
  it('for any values, op, threshold, no_data and alerts held (general loop vs the shared-values pass)', () => {
    const op = fc.constantFrom('>', '>=', '<', '<=', '==', '!=');
    const noData = fc.constantFrom('keep_state', 'resolve', 'alerting', 'no_data_alert');
    // per group: a value, or none in the window (no data)
    const group = fc.option(fc.constantFrom(0, 1, 2, 5, 7, -3), { nil: undefined });
    fc.assert(
      fc.property(fc.array(group, { minLength: 1, maxLength: 30 }), op, fc.constantFrom(-5, 0, 2, 5, 8), noData, fc.boolean(), fc.array(fc.nat(40)), fc.constantFrom(undefined, '30s', '10m'), fc.boolean(), (vals, o, threshold, nd, ratio, knownIdx, absentFor, condition) => {
        const store = new SeriesStore({ maxSeries: 1000, maxPointsPerSeries: 64, retention: new Map([['g', 600 * S], ['d', 600 * S]]) });
        const now = 300 * S;
        const metrics = [];
        for (let i = 0; i < vals.length; i++) {
          const v = vals[i];
          // no data: the group's only point is older than the window
          metrics.push(gauge('g', { grp: `k${i}` }, v ?? 1, v === undefined ? 10 * S : 290 * S));
          metrics.push(gauge('d', { grp: `k${i}` }, i % 3, 290 * S));
        }
        store.ingest(batchOf(metrics), now);
        const issues: { path: unknown; message: string }[] = [];
        const cfg = ratio
          ? { ratio: { numerator: { metric: 'g' }, denominator: { metric: 'd' } } }
          : { metric: 'g' };
        const rule = compileRule(
          {
            name: 'R',
            ...cfg,
            where: {},
            stat: 'last',
            window: '1m',
            ...(condition || !absentFor ? { op: o, threshold } : {}),
            ...(absentFor ? { absent_for: absentFor } : {}),
            group_by: ['grp'],
            no_data: nd,
            labels: {},
            annotations: {},
            severity: 'warning',
          } as never,
          0,
          issues as never,
        );
        expect(issues).toEqual([]);
        const known = new Map(knownIdx.map((i) => [`k${i}\u0000`, 1]));
        const run = (k: { has(key: string): boolean }) => {
          const out: unknown[] = [];
          const sink: ResultSink = { result: (...args) => void out.push(args) };
          evaluateRuleInto(rule, store, now, { lastSeen: new Map(), startedAt: 0 }, new RoundMemo(), k, sink);
          return out;
        };
        // a KnownGroups that is not a Map takes the general loop (and tells every group); results that
        // change nothing (false for a group without an alert) are left out of the comparison
        const matters = (r: unknown[]) => r[3] !== false || known.has(r[0] as string) || r[0] === '';
        const general = run({ has: (key) => known.has(key) }).filter((r) => matters(r as unknown[]));
        const fast = run(known);
        expect(fast).toEqual(general);
        // and from the second round on (entries of the absence state found once per group set)
        const twice = (k: { has(key: string): boolean }) => {
          const lastSeen = new Map();
          const memo = new RoundMemo();
          const out: unknown[] = [];
          const sink: ResultSink = { result: (...args) => void out.push(args) };
          for (const at of [now, now + 20 * S]) {
            out.length = 0;
            evaluateRuleInto(rule, store, at, { lastSeen, startedAt: 0 }, memo, k, sink);
          }
          return out;
        };
        const again = twice(known);
        expect(again).toEqual(twice({ has: (key) => known.has(key) }).filter((r) => matters(r as unknown[])));
      }),
      { numRuns: 300, seed: 21 },
    );
  });
});

describe('the order of alerts in a notification', () => {
  /** prometheus/common LabelSet.Before as written there: the sorted union of the names, compared in turn. */
  function before(a: Record<string, string>, b: Record<string, string>): boolean {
    const an = Object.keys(a);
    const bn = Object.keys(b);
    if (an.length !== bn.length) return an.length < bn.length;
    for (const n of [...new Set([...an, ...bn])].sort()) {
      if (a[n] === undefined) return true;
      if (b[n] === undefined) return false;
      if (a[n] !== b[n]) return a[n]! < b[n]!;
    }
    return false;
  }
  it('is LabelSet.Before (after job and instance) for any label sets, compared without building name lists', () => {
    const labels = fc.dictionary(fc.constantFrom('alertname', 'job', 'instance', 'a', 'b', 'B', 'é', 'a.b'), fc.constantFrom('x', 'y', 'X', '', '1'), { maxKeys: 5 });
    fc.assert(
      fc.property(labels, labels, (a, b) => {
        const x = { labels: a } as Alert;
        const y = { labels: b } as Alert;
        const job = (l: Record<string, string>, k: string) => l[k];
        let want = 0;
        for (const k of ['job', 'instance']) {
          const p = job(a, k);
          const q = job(b, k);
          if (p === undefined && q === undefined) continue;
          want = p === undefined ? 1 : q === undefined ? -1 : p === q ? 0 : p < q ? -1 : 1;
          if (want) break;
        }
        if (!want) want = before(a, b) ? -1 : before(b, a) ? 1 : 0;
        // twice: the second time from the names kept per label set
        expect(compareAlerts(x, y)).toBe(want);
        expect(compareAlerts(x, y)).toBe(want);
      }),
      { numRuns: 2000, seed: 21 },
    );
  });
  it('sortAlerts gives the order of sorting with compareAlerts (stable: equal label sets keep their order)', () => {
    const labels = fc.dictionary(fc.constantFrom('alertname', 'job', 'instance', 'a', 'b'), fc.constantFrom('x', 'y', '1'), { maxKeys: 4 });
    fc.assert(
      fc.property(fc.array(labels, { maxLength: 40 }), (sets) => {
        const alerts = sets.map((l, i) => ({ labels: l, fingerprint: String(i) }) as Alert);
        const want = [...alerts].sort(compareAlerts).map((a) => a.fingerprint);
        sortAlerts(alerts);
        expect(alerts.map((a) => a.fingerprint)).toEqual(want);
      }),
      { numRuns: 500, seed: 21 },
    );
  });
});
