import { describe, expect, it } from 'vitest';
import { batchOf, dist, explicitHist, gauge, sum } from './testdata/batches.ts';
import { fingerprint } from './fingerprint.ts';
import { engineFor, tick } from './testdata/engine.ts';

const S = 1000;
const M = 60_000;

/** The value of the single firing/pending alert of a rule with threshold -Infinity-ish (always true). */
function valueOf(rule: Record<string, unknown>, feed: (e: ReturnType<typeof engineFor>) => void, now: number): number {
  const e = engineFor({ rules: [{ name: 'R', op: '>', threshold: -1e18, ...rule }] });
  feed(e);
  tick(e, now);
  const a = e.firing();
  return a.length ? a[0]!.value : NaN;
}

describe('stats over number points', () => {
  const feed = (e: ReturnType<typeof engineFor>) => {
    for (const [t, v] of [[10, 5], [20, 1], [30, 9], [40, 3]] as const) e.ingest(batchOf([gauge('g', { k: 'a' }, v, t * S)]), t * S);
  };
  it.each([
    ['avg', 4.5],
    ['min', 1],
    ['max', 9],
    ['sum', 18],
    ['count', 4],
    ['last', 3],
  ])('%s', (stat, expected) => {
    expect(valueOf({ metric: 'g', stat, window: '1m' }, feed, 60 * S)).toBe(expected);
  });
  it('only points inside the window count', () => {
    expect(valueOf({ metric: 'g', stat: 'sum', window: '25s' }, feed, 45 * S)).toBe(9 + 3); // (20s, 45s]
  });
  it('increase and rate of a cumulative counter handle resets as Prometheus does', () => {
    const f = (e: ReturnType<typeof engineFor>) => {
      // 100 -> 150 -> reset to 20 -> 70 : increase 50 + 20 + 50 = 120
      for (const [t, v] of [[0, 100], [15, 150], [30, 20], [45, 70]] as const) e.ingest(batchOf([sum('c', {}, v, t * S, true)]), t * S);
    };
    expect(valueOf({ metric: 'c', stat: 'increase', window: '1m' }, f, 50 * S)).toBe(120);
    expect(valueOf({ metric: 'c', stat: 'rate', window: '1m' }, f, 50 * S)).toBe(2);
    // the baseline is the last point before the window: (15s, 45s] sees 150 -> 20 -> 70
    expect(valueOf({ metric: 'c', stat: 'increase', window: '30s' }, f, 45 * S)).toBe(70);
  });
  it('increase of a delta sum adds the deltas', () => {
    const f = (e: ReturnType<typeof engineFor>) => {
      for (const t of [10, 20, 30]) e.ingest(batchOf([sum('d', {}, 7, t * S)]), t * S);
    };
    expect(valueOf({ metric: 'd', stat: 'increase', window: '1m' }, f, 30 * S)).toBe(21);
    expect(valueOf({ metric: 'd', stat: 'rate', window: '1m' }, f, 30 * S)).toBeCloseTo(21 / 60);
  });
});

describe('distributions', () => {
  const feed = (e: ReturnType<typeof engineFor>) => {
    // 100 observations 1..100 ms split over two windows and two series of the same group
    e.ingest(batchOf([dist('span.duration', { 'service.name': 'a', 'span.name': 'x' }, range(1, 50), 10 * S)]), 10 * S);
    e.ingest(batchOf([dist('span.duration', { 'service.name': 'a', 'span.name': 'y' }, range(51, 100), 20 * S)]), 20 * S);
  };
  it('pNN merges every point of the window (within the sketch accuracy)', () => {
    const p95 = valueOf({ metric: 'span.duration', stat: 'p95', window: '1m' }, feed, 30 * S);
    expect(Math.abs(p95 - 95) / 95).toBeLessThan(0.02);
    const p50 = valueOf({ metric: 'span.duration', stat: 'p50', window: '1m' }, feed, 30 * S);
    expect(Math.abs(p50 - 50.5) / 50).toBeLessThan(0.03);
    const p999 = valueOf({ metric: 'span.duration', stat: 'p99.9', window: '1m' }, feed, 30 * S);
    expect(Math.abs(p999 - 100) / 100).toBeLessThan(0.02);
  });
  it('a window that holds only the second point sees only its observations', () => {
    const p = valueOf({ metric: 'span.duration', stat: 'min', window: '15s' }, feed, 30 * S);
    expect(p).toBeGreaterThanOrEqual(50);
  });
  it.each([
    ['avg', 50.5],
    ['sum', 5050],
    ['count', 100],
    ['min', 1],
    ['max', 100],
  ])('%s comes from the merged sketch', (stat, expected) => {
    expect(valueOf({ metric: 'span.duration', stat, window: '1m' }, feed, 30 * S)).toBeCloseTo(expected, 6);
  });
  it('explicit histograms are folded in, cumulative ones as deltas', () => {
    const f = (e: ReturnType<typeof engineFor>) => {
      e.ingest(batchOf([explicitHist('h', {}, [10, 100, 1000], [0, 10, 0, 0], 10 * S, true)]), 10 * S);
      e.ingest(batchOf([explicitHist('h', {}, [10, 100, 1000], [0, 10, 10, 0], 20 * S, true)]), 20 * S);
    };
    // only the second point's delta (10 observations in (100, 1000]) is in a 15s window
    expect(valueOf({ metric: 'h', stat: 'count', window: '15s' }, f, 25 * S)).toBe(10);
    const p50 = valueOf({ metric: 'h', stat: 'p50', window: '15s' }, f, 25 * S);
    expect(p50).toBeGreaterThan(100);
    expect(p50).toBeLessThanOrEqual(1000);
  });
});

describe('where, group_by, ratio', () => {
  const calls = (e: ReturnType<typeof engineFor>, t: number) =>
    e.ingest(
      batchOf([
        sum('span.calls', { 'service.name': 'checkout', 'status.code': 'error' }, 6, t),
        sum('span.calls', { 'service.name': 'checkout', 'status.code': 'ok' }, 94, t),
        sum('span.calls', { 'service.name': 'cart', 'status.code': 'ok' }, 50, t),
        sum('span.calls', { 'service.name': 'checkin', 'status.code': 'unset' }, 50, t),
      ]),
      t,
    );
  it.each([
    [{ 'service.name': 'checkout' }, 100],
    [{ 'service.name': { '!=': 'checkout' } }, 100],
    [{ 'service.name': { '=~': 'check.*' } }, 150],
    [{ 'service.name': { '=~': 'check' } }, NaN], // anchored: matches nothing
    [{ 'service.name': { '!~': 'check.*' } }, 50],
    [{ 'status.code': 'error', 'service.name': 'checkout' }, 6],
    [{ missing: '' }, 200], // a missing label matches ""
  ])('where %j', (where, expected) => {
    const v = valueOf({ metric: 'span.calls', stat: 'sum', where, window: '1m' }, (e) => calls(e, 10 * S), 20 * S);
    if (Number.isNaN(expected)) expect(v).toBeNaN();
    else expect(v).toBe(expected);
  });

  it('group_by gives one alert per group, with the group labels', () => {
    const e = engineFor({ rules: [{ name: 'R', metric: 'span.calls', stat: 'sum', group_by: ['service.name'], window: '1m', op: '>=', threshold: 60, labels: { team: 'x' } }] });
    calls(e, 10 * S);
    tick(e, 20 * S);
    const f = e.firing().map((a) => a.labels);
    expect(f).toEqual([{ alertname: 'R', severity: 'warning', team: 'x', 'service.name': 'checkout' }]);
  });

  it('ratio per group; a group with no numerator series counts as 0', () => {
    const e = engineFor({
      rules: [
        {
          name: 'ErrRate',
          ratio: { numerator: { metric: 'span.calls', where: { 'status.code': 'error' } }, denominator: { metric: 'span.calls' } },
          stat: 'sum',
          group_by: ['service.name'],
          window: '1m',
          op: '>=',
          threshold: 0,
        },
      ],
    });
    calls(e, 10 * S);
    tick(e, 20 * S);
    const byService = Object.fromEntries(e.firing().map((a) => [a.labels['service.name'], a.value]));
    expect(byService).toEqual({ checkout: 0.06, cart: 0, checkin: 0 });
  });

  it('a selection whose metric is a list adds the values', () => {
    const e = engineFor({
      rules: [
        {
          name: 'LowHit',
          ratio: { numerator: { metric: 'cache_hits' }, denominator: { metric: ['cache_hits', 'cache_misses'] } },
          stat: 'increase',
          window: '10m',
          op: '<',
          threshold: 0.3,
        },
      ],
    });
    for (const [t, h, m] of [[0, 0, 0], [60, 20, 80], [120, 40, 160]] as const) e.ingest(batchOf([sum('cache_hits', {}, h, t * S, true), sum('cache_misses', {}, m, t * S, true)]), t * S);
    tick(e, 120 * S);
    expect(e.firing()[0]?.value).toBeCloseTo(0.2);
  });
});

describe('state machine', () => {
  const rule = { name: 'High', metric: 'g', stat: 'last', window: '1m', op: '>', threshold: 10, for: '30s' };
  it('inactive -> pending -> firing -> resolved, and pending drops when the condition clears', () => {
    const e = engineFor({ rules: [rule] });
    e.ingest(batchOf([gauge('g', {}, 20, 0)]), 0);
    tick(e, 0);
    expect(e.pending()).toHaveLength(1);
    expect(e.firing()).toHaveLength(0);
    e.ingest(batchOf([gauge('g', {}, 5, 10 * S)]), 10 * S);
    tick(e, 10 * S);
    expect(e.pending()).toHaveLength(0);
    e.ingest(batchOf([gauge('g', {}, 20, 20 * S)]), 20 * S);
    tick(e, 20 * S);
    expect(e.pending()[0]!.startsAt).toBe(new Date(20 * S).toISOString());
    e.ingest(batchOf([gauge('g', {}, 20, 40 * S)]), 40 * S);
    tick(e, 40 * S);
    expect(e.firing()).toHaveLength(0);
    e.ingest(batchOf([gauge('g', {}, 20, 50 * S)]), 50 * S);
    tick(e, 50 * S);
    expect(e.firing()).toHaveLength(1);
    expect(e.firing()[0]!.startsAt).toBe(new Date(20 * S).toISOString());
    e.ingest(batchOf([gauge('g', {}, 1, 60 * S)]), 60 * S);
    tick(e, 60 * S);
    expect(e.firing()).toHaveLength(0);
  });

  it('no data in the window neither fires nor resolves', () => {
    const e = engineFor({ rules: [{ ...rule, for: '0s' }] });
    e.ingest(batchOf([gauge('g', {}, 20, 0)]), 0);
    tick(e, 0);
    expect(e.firing()).toHaveLength(1);
    tick(e, 5 * M); // the point is far out of the window
    expect(e.firing()).toHaveLength(1);
    e.ingest(batchOf([gauge('g', {}, 1, 6 * M)]), 6 * M);
    tick(e, 6 * M);
    expect(e.firing()).toHaveLength(0);
  });

  it('keep_firing_for holds a firing alert through a short dip, counted from the first false evaluation (Prometheus KeepFiringSince)', () => {
    const e = engineFor({ rules: [{ ...rule, for: '0s', keep_firing_for: '30s' }] });
    const at = (t: number, v: number) => {
      e.ingest(batchOf([gauge('g', {}, v, t * S)]), t * S);
      tick(e, t * S);
      return e.firing().length;
    };
    expect(at(0, 20)).toBe(1);
    expect(at(10, 1)).toBe(1);
    expect(at(20, 20)).toBe(1);
    expect(at(30, 1)).toBe(1); // first false evaluation: keep firing until 30s + 30s
    expect(e.firing()[0]!.value).toBe(20); // the value of the last evaluation at which it held (Prometheus)
    expect(at(50, 1)).toBe(1); // 30 s after the last true evaluation: still firing (Prometheus too)
    expect(at(59, 1)).toBe(1);
    expect(at(60, 1)).toBe(0);
  });

  it('absent_for: per group seen before, and for the whole selection never seen since start', () => {
    const e = engineFor({ rules: [{ name: 'Gone', metric: 'hb', group_by: ['host'], absent_for: '5m', severity: 'critical' }] });
    tick(e, 4 * M);
    expect(e.firing()).toHaveLength(0);
    tick(e, 5 * M);
    expect(e.firing().map((a) => a.labels)).toEqual([{ alertname: 'Gone', severity: 'critical' }]);
    e.ingest(batchOf([gauge('hb', { host: 'a' }, 1, 6 * M), gauge('hb', { host: 'b' }, 1, 6 * M)]), 6 * M);
    tick(e, 6 * M);
    expect(e.firing()).toHaveLength(0);
    e.ingest(batchOf([gauge('hb', { host: 'b' }, 1, 9 * M)]), 9 * M);
    tick(e, 9 * M);
    tick(e, 11 * M);
    expect(e.firing().map((a) => a.labels.host)).toEqual(['a']);
    expect(e.firing()[0]!.value).toBe(300);
  });
});

describe('slo burn rate', () => {
  const slo = {
    name: 'Avail',
    slo: { objective: 0.99, good: { metric: 'span.calls', where: { 'status.code': { '!=': 'error' } } }, total: { metric: 'span.calls' } },
    severity: 'critical',
  };
  const feed = (e: ReturnType<typeof engineFor>, fromMin: number, toMin: number, errPct: number) => {
    for (let m = fromMin; m < toMin; m++) {
      e.ingest(batchOf([sum('span.calls', { 'status.code': 'ok' }, 100 - errPct, m * M), sum('span.calls', { 'status.code': 'error' }, errPct, m * M)]), m * M);
    }
  };
  it('pages when both windows of a pair burn faster than the factor, and not on a short spike alone', () => {
    const e = engineFor({ rules: [{ ...slo, slo: { ...slo.slo, objective: 0.999 } }] });
    feed(e, 0, 120, 0);
    feed(e, 120, 125, 2); // 5 minutes at 2% errors: 5m burns 20x, 1h only 1.7x, 30m 3.3x
    tick(e, 125 * M - 1);
    expect(e.firing()).toHaveLength(0);
    feed(e, 125, 165, 2); // 45 minutes: 1h burns 15x > 14.4 and 5m 20x -> page
    tick(e, 165 * M - 1);
    const page = e.firing().find((a) => a.labels.severity === 'critical');
    expect(page).toBeDefined();
    expect(page!.value).toBeCloseTo(15, 5);
    // the 3d & 6h pair (ticket, severity warning) burns 5.45x > 1 too
    expect(e.firing().find((a) => a.labels.severity === 'warning')).toBeDefined();
    feed(e, 165, 175, 0); // errors stop: the 5m window clears at once, the page resolves
    tick(e, 175 * M - 1);
    expect(e.firing().find((a) => a.labels.severity === 'critical')).toBeUndefined();
    expect(e.firing().find((a) => a.labels.severity === 'warning')).toBeDefined();
  });
  it('custom windows; bad instead of good', () => {
    const e = engineFor({
      rules: [{ name: 'B', slo: { objective: 0.9, bad: { metric: 'span.calls', where: { 'status.code': 'error' } }, total: { metric: 'span.calls' }, windows: [{ long: '10m', short: '2m', factor: 2, severity: 'info' }] } }],
    });
    feed(e, 0, 10, 30); // 30% errors / 10% budget = 3x
    tick(e, 10 * M - 1);
    expect(e.firing().map((a) => [a.labels.severity, a.value])).toEqual([['info', expect.closeTo(3, 5)]]);
  });
});

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

describe('labels, staleness and no_data (Prometheus semantics)', () => {
  const base = { name: 'R', metric: 'g', stat: 'last', op: '>', threshold: 10 };
  const stale = (labels: Record<string, string>, timeMs: number) => {
    const m = gauge('g', labels, NaN, timeMs);
    if (m.data?.type === 'gauge') m.data.dataPoints[0]!.flags = 1; // FLAG_NO_RECORDED_VALUE: a staleness marker
    return m;
  };

  it('drops empty label values: a rule label "" (which also removes a group label), empty group_by values; the fingerprint is that of the labels left', () => {
    const e = engineFor({ rules: [{ ...base, group_by: ['service.name', 'tier', 'zone'], labels: { team: '', zone: '', owner: 'x' } }] });
    e.ingest(batchOf([gauge('g', { 'service.name': 'checkout', tier: '', zone: 'eu' }, 20, 0)]), 0);
    tick(e, 0);
    const [a] = e.firing();
    const labels = { 'service.name': 'checkout', owner: 'x', alertname: 'R', severity: 'warning' };
    expect(a!.labels).toEqual(labels);
    expect(a!.fingerprint).toBe(fingerprint(labels));
  });

  it('an OTLP staleness marker (FLAG_NO_RECORDED_VALUE) hides the series from last until a later point', () => {
    const e = engineFor({ rules: [{ ...base, no_data: 'resolve' }] });
    e.ingest(batchOf([gauge('g', {}, 20, 0)]), 0);
    tick(e, 0);
    expect(e.firing()).toHaveLength(1);
    e.ingest(batchOf([stale({}, 10 * S)]), 10 * S);
    tick(e, 10 * S);
    expect(e.firing()).toHaveLength(0);
    e.ingest(batchOf([gauge('g', {}, 30, 20 * S)]), 20 * S);
    tick(e, 20 * S);
    expect(e.firing().map((x) => x.value)).toEqual([30]);
  });

  it('a staleness marker is not a sample for the other stats (as range functions skip stale samples)', () => {
    const e = engineFor({ rules: [{ ...base, stat: 'max', no_data: 'resolve' }] });
    e.ingest(batchOf([gauge('g', {}, 20, 0)]), 0);
    e.ingest(batchOf([stale({}, 10 * S)]), 10 * S);
    tick(e, 10 * S);
    expect(e.firing().map((x) => x.value)).toEqual([20]);
  });

  it('no_data resolve: keep_firing_for counts from the first evaluation without data', () => {
    const e = engineFor({ rules: [{ ...base, window: '1m', keep_firing_for: '1m', no_data: 'resolve' }] });
    e.ingest(batchOf([gauge('g', {}, 20, 0)]), 0);
    for (const t of [0, 30, 60]) tick(e, t * S); // the point leaves the window at 60 s
    expect(e.firing()).toHaveLength(1);
    tick(e, 119 * S);
    expect(e.firing()).toHaveLength(1);
    tick(e, 120 * S);
    expect(e.firing()).toHaveLength(0);
  });

  it('no_data applies to an alert whose series are gone from the store; keep_state keeps it', () => {
    const resolve = engineFor({ rules: [{ ...base, no_data: 'resolve' }] });
    const keep = engineFor({ rules: [base] });
    for (const e of [resolve, keep]) {
      e.ingest(batchOf([gauge('g', {}, 20, 0)]), 0);
      tick(e, 0);
      expect(e.firing()).toHaveLength(1);
      tick(e, 60 * M); // the series was pruned: its group gives no result at all
      expect(e.store.size).toBe(0);
    }
    expect(resolve.firing()).toHaveLength(0);
    expect(keep.firing()).toHaveLength(1);
  });

  it('no_data alerting: a group without data fires after for, and resolves when data says the condition is false', () => {
    const e = engineFor({ rules: [{ ...base, window: '1m', for: '1m', no_data: 'alerting' }] });
    e.ingest(batchOf([gauge('g', {}, 1, 0)]), 0);
    tick(e, 0);
    tick(e, 60 * S); // no point in (0, 60s]: pending
    expect([e.pending().length, e.firing().length]).toEqual([1, 0]);
    tick(e, 120 * S);
    expect(e.firing()).toHaveLength(1);
    e.ingest(batchOf([gauge('g', {}, 1, 130 * S)]), 130 * S);
    tick(e, 130 * S);
    expect(e.firing()).toHaveLength(0);
  });

  it('templated labels are rendered at each evaluation, an empty result is dropped, and a new label set is a new alert (TestAlertingRuleLabelsUpdate)', () => {
    const e = engineFor({ rules: [{ ...base, threshold: 0, for: '1m', group_by: ['job'], labels: { band: '{{ value | round }}', tier: '{{ labels.tier }}' } }] });
    const at = (t: number, v: number) => {
      e.ingest(batchOf([gauge('g', { job: 'api' }, v, t * M)]), t * M);
      tick(e, t * M);
      return { pending: e.pending().map((a) => a.labels), firing: e.firing().map((a) => a.labels) };
    };
    const band = (b: string) => ({ job: 'api', band: b, alertname: 'R', severity: 'warning' });
    expect(at(0, 5)).toEqual({ pending: [band('5')], firing: [] });
    expect(at(1, 6)).toEqual({ pending: [band('6')], firing: [] }); // 5 was pending: dropped, 6 starts over
    expect(at(2, 6)).toEqual({ pending: [], firing: [band('6')] });
    expect(at(3, 7)).toEqual({ pending: [band('7')], firing: [] }); // the firing 6 resolves
    expect(e.firing()).toHaveLength(0);
  });

  it('a templated label keeps its alert while it renders the same, and resolves with the condition', () => {
    const e = engineFor({ rules: [{ ...base, threshold: 0, labels: { summary_label: 'job {{ labels.job }}' }, group_by: ['job'] }] });
    e.ingest(batchOf([gauge('g', { job: 'api' }, 5, 0)]), 0);
    tick(e, 0);
    const [first] = e.firing();
    expect(first!.labels).toEqual({ job: 'api', summary_label: 'job api', alertname: 'R', severity: 'warning' });
    e.ingest(batchOf([gauge('g', { job: 'api' }, 9, 30 * S)]), 30 * S);
    tick(e, 30 * S);
    expect(e.firing().map((a) => [a.fingerprint, a.startsAt])).toEqual([[first!.fingerprint, first!.startsAt]]);
    e.ingest(batchOf([gauge('g', { job: 'api' }, -1, 60 * S)]), 60 * S);
    tick(e, 60 * S);
    expect(e.firing()).toHaveLength(0);
  });

  it('no_data no_data_alert (Grafana NoData): the group\'s alert lapses and a DatasourceNoData alert fires after for, until data is back', () => {
    const e = engineFor({ rules: [{ ...base, window: '1m', for: '1m', group_by: ['job'], labels: { team: 'api' }, no_data: 'no_data_alert' }] });
    const names = () => ({ pending: e.pending().map((a) => a.labels.alertname), firing: e.firing().map((a) => a.labels) });
    const point = (t: number) => e.ingest(batchOf([gauge('g', { job: 'api' }, 20, t * S)]), t * S);
    point(0);
    tick(e, 0);
    point(60);
    tick(e, 60 * S);
    expect(names()).toEqual({ pending: [], firing: [{ job: 'api', team: 'api', alertname: 'R', severity: 'warning' }] });
    tick(e, 120 * S); // nothing in (60 s, 120 s]: R resolves, its NoData alert is pending
    expect(names()).toEqual({ pending: ['DatasourceNoData'], firing: [] });
    tick(e, 180 * S);
    expect(names()).toEqual({ pending: [], firing: [{ job: 'api', team: 'api', rulename: 'R', alertname: 'DatasourceNoData', severity: 'warning' }] });
    point(190);
    tick(e, 190 * S);
    expect(names()).toEqual({ pending: ['R'], firing: [] });
  });
});

