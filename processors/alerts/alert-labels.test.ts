import { describe, expect, it } from 'vitest';
import type { AlertNotification } from '../../src/model.ts';
import { labelsKey } from './fingerprint.ts';
import { alertLabels } from './rule-state.ts';
import { batchOf, gauge, sum } from './testdata/batches.ts';
import { engineFor, tick } from './testdata/engine.ts';

/** The definition `alertLabels` must equal: the spreads, then every empty label dropped. */
function definition(group: Record<string, string>, rule: Record<string, string>, alertname: string, severity: string): Record<string, string> {
  const labels: Record<string, string> = { ...group, ...rule, alertname, severity };
  for (const k in labels) if (labels[k] === '') delete labels[k];
  return labels;
}

describe('alertLabels', () => {
  const cases: [string, Record<string, string>, Record<string, string>, string, string][] = [
    ['a rule label overrides the group one in its place; an empty rule label removes it', { a: '1', b: '2', c: '3' }, { b: 'x', c: '' }, 'HighLoad', 'warning'],
    ['group labels named alertname and severity keep their place, with the rule values', { alertname: 'g', z: '1', severity: 's' }, { y: '2' }, 'HighLoad', 'critical'],
    ['integer-like names come first, as in any object', { z: '1', '10': 'ten', '2': 'two' }, { '1': 'one' }, 'HighLoad', 'warning'],
    ['__proto__ is a label like any other, not the prototype', JSON.parse('{"__proto__":"p","q":"1"}') as Record<string, string>, {}, 'HighLoad', 'warning'],
    ['an empty alertname or severity is dropped', { a: '' }, {}, '', ''],
    ['no labels at all', {}, {}, 'HighLoad', 'warning'],
  ];
  for (const [what, group, rule, alertname, severity] of cases)
    it(what, () => {
      const got = alertLabels(group, rule, alertname, severity);
      expect(Object.entries(got)).toEqual(Object.entries(definition(group, rule, alertname, severity)));
      expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    });
  it('leaves its inputs alone', () => {
    const group = { a: '1', b: '' };
    const rule = { c: '2' };
    alertLabels(group, rule, 'HighLoad', 'warning');
    expect(group).toEqual({ a: '1', b: '' });
    expect(rule).toEqual({ c: '2' });
  });
});

describe('a restored alert whose rule now gives another label set (restart or reload after a config change)', () => {
  const M = 60_000;
  const rule = (extra: Record<string, unknown>) => ({ name: 'A', metric: 'x', group_by: ['service'], stat: 'last', window: '10m', op: '>', threshold: 0, ...extra });
  const config = (extra: Record<string, unknown>) => ({ rules: [rule(extra)], route: { exporters: ['webhook/x'], group_wait: '0s', group_interval: '1m' } });
  const sent = (ns: AlertNotification[]) => ns.flatMap((n) => n.alerts.map((a) => `${a.status} ${labelsKey(a.labels)}`)).sort();
  /** Fires A under `before`, restarts with `after` (state restored), and returns what the next two evaluations send. */
  function restart(before: Record<string, unknown>, after: Record<string, unknown>) {
    const e = engineFor(config(before));
    e.ingest(batchOf([gauge('x', { service: 's' }, 1, 0)]), 0);
    const first = sent(tick(e, 0));
    const e2 = engineFor(config(after));
    e2.restore(JSON.parse(JSON.stringify(e.snapshot())), M);
    e2.ingest(batchOf([gauge('x', { service: 's' }, 1, M)]), M);
    const next = sent(tick(e2, M));
    e2.ingest(batchOf([gauge('x', { service: 's' }, 1, 2 * M)]), 2 * M);
    return { first, next, then: sent(tick(e2, 2 * M)), firing: e2.firing().map((a) => labelsKey(a.labels)) };
  }

  it('a changed label: the old alert resolves and the new one fires (as in Prometheus), for counted anew', () => {
    const r = restart({ labels: { team: 'a' } }, { labels: { team: 'b' }, for: '1m' });
    expect(r.first).toEqual(['firing {alertname="A", service="s", severity="warning", team="a"}']);
    expect(r.next).toEqual(['resolved {alertname="A", service="s", severity="warning", team="a"}']);
    expect(r.then).toEqual(['firing {alertname="A", service="s", severity="warning", team="b"}']);
    expect(r.firing).toEqual(['{alertname="A", service="s", severity="warning", team="b"}']);
  });

  it('a changed severity: the old alert resolves (it was left firing for ever beside the new one)', () => {
    const r = restart({ severity: 'warning' }, { severity: 'critical' });
    expect(r.next).toEqual(['firing {alertname="A", service="s", severity="critical"}', 'resolved {alertname="A", service="s", severity="warning"}']);
    expect(r.firing).toEqual(['{alertname="A", service="s", severity="critical"}']);
  });

  it('a label removed or added counts; the same rule keeps its alert (no resolve, same startsAt)', () => {
    expect(restart({ labels: { team: 'a' } }, {}).next).toEqual(['firing {alertname="A", service="s", severity="warning"}', 'resolved {alertname="A", service="s", severity="warning", team="a"}']);
    expect(restart({}, { labels: { team: 'a' } }).next).toEqual(['firing {alertname="A", service="s", severity="warning", team="a"}', 'resolved {alertname="A", service="s", severity="warning"}']);
    const same = restart({ labels: { team: 'a' }, annotations: { s: 'x' } }, { labels: { team: 'a' }, annotations: { s: 'y' } });
    expect(same.next).toEqual([]);
    expect(same.firing).toEqual(['{alertname="A", service="s", severity="warning", team="a"}']);
  });
});

describe('a restored alert whose rule now groups by other labels', () => {
  it('is replaced by the alert of its new group, which resolves with its data (the saved one stayed firing for ever: no result of the rule has its group key any more)', () => {
    const M = 60_000;
    const config = (group_by: string[]) => ({ rules: [{ name: 'A', metric: 'x', group_by, stat: 'last', window: '10m', op: '>', threshold: 0 }], route: { exporters: ['webhook/x'], group_wait: '0s', group_interval: '1m' } });
    const sent = (ns: AlertNotification[]) => ns.flatMap((n) => n.alerts.map((a) => `${a.status} ${labelsKey(a.labels)}`)).sort();
    const e = engineFor(config(['service', 'region']));
    e.ingest(batchOf([gauge('x', { service: 's', region: 'r' }, 1, 0)]), 0);
    expect(sent(tick(e, 0))).toEqual(['firing {alertname="A", region="r", service="s", severity="warning"}']);
    const e2 = engineFor(config(['region', 'service']));
    e2.restore(JSON.parse(JSON.stringify(e.snapshot())), M);
    e2.ingest(batchOf([gauge('x', { service: 's', region: 'r' }, 1, M)]), M);
    // the same labels under another group key: one alert, still firing (the same fingerprint: no news)
    expect(sent(tick(e2, M))).toEqual([]);
    expect(e2.firing()).toHaveLength(1);
    // and when its data says the condition no longer holds, it resolves (the saved one stayed firing for ever)
    e2.ingest(batchOf([gauge('x', { service: 's', region: 'r' }, 0, 2 * M)]), 2 * M);
    expect(sent(tick(e2, 2 * M))).toEqual(['resolved {alertname="A", region="r", service="s", severity="warning"}']);
    expect(e2.firing()).toEqual([]);
  });
});

describe('a restored alert whose rule did not change', () => {
  it('keeps firing after a restart, with no resolve: SLO pairs (their own severities) and templated labels', () => {
    const M = 60_000;
    const slo = { name: 'Avail', slo: { objective: 0.999, good: { metric: 'span.calls', where: { 'status.code': { '!=': 'error' } } }, total: { metric: 'span.calls' } }, severity: 'critical', group_by: ['svc'], labels: { team: 'x' } };
    const templ = { name: 'T', metric: 'g', group_by: ['svc'], stat: 'last', window: '10m', op: '>', threshold: 0, labels: { band: '{{ value }}', team: 'y' } };
    const config = { rules: [slo, templ], route: { exporters: ['webhook/x'], group_wait: '0s', group_interval: '1m' } };
    const e = engineFor(config);
    for (let m = 0; m < 170; m++) {
      const errors = m < 120 ? 0 : 2;
      e.ingest(batchOf([sum('span.calls', { 'status.code': 'ok', svc: 's' }, 100 - errors, m * M), sum('span.calls', { 'status.code': 'error', svc: 's' }, errors, m * M), gauge('g', { svc: 's' }, 5, m * M)]), m * M);
    }
    tick(e, 170 * M - 1);
    const before = e.firing().map((a) => labelsKey(a.labels)).sort();
    expect(before).toHaveLength(3); // the page, the ticket, the templated alert
    const e2 = engineFor(config);
    e2.restore(JSON.parse(JSON.stringify(e.snapshot())), 170 * M);
    expect(tick(e2, 170 * M)).toEqual([]);
    expect(e2.firing().map((a) => labelsKey(a.labels)).sort()).toEqual(before);
  });
});
