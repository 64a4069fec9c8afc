import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { configFor, tempDir } from '../../test/helpers/index.ts';
import { exporterCapabilities } from '../../src/component.ts';
import { alertmanagerExporterFactory } from '../../exporters/alertmanager/index.ts';
import { webhookExporterFactory } from '../../exporters/webhook/index.ts';
import type { AlertNotification } from '../../src/model.ts';
import { SilenceStore, silenceState } from '../../src/silence-store.ts';
import { batchOf, gauge } from './testdata/batches.ts';
import { engineFor, tick } from './testdata/engine.ts';
import { compileTimeIntervals, inAnyInterval } from './time-intervals.ts';

const S = 1000;
const M = 60_000;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A gauge rule per alert name: `x{alert=NAME, ...labels}` above 0 fires. */
function rule(name: string, extra: Record<string, unknown> = {}) {
  return { name, metric: 'x', where: { alert: name }, group_by: ['service.name'], stat: 'last', window: '10m', op: '>', threshold: 0, ...extra };
}

function set(e: ReturnType<typeof engineFor>, name: string, service: string, v: number, t: number) {
  e.ingest(batchOf([gauge('x', { alert: name, 'service.name': service }, v, t)]), t);
}

/** Who got what: "exporter: status alertname/service" lines, sorted. */
function sent(ns: AlertNotification[]): string[] {
  return ns.flatMap((n) => n.exporters.flatMap((ex) => n.alerts.map((a) => `${ex}: ${a.status} ${a.labels.alertname}/${a.labels['service.name'] ?? ''}`))).sort();
}

describe('routing and grouping', () => {
  it('group_wait, then group_interval for new alerts, repeat_interval for old ones; resolves at once', () => {
    const e = engineFor({
      rules: [rule('A'), rule('B')],
      routes: [{ exporters: ['webhook/ops'], group_by: ['alertname'], group_wait: '30s', group_interval: '5m', repeat_interval: '1h' }],
    });
    set(e, 'A', 's1', 1, 0);
    expect(sent(tick(e, 0))).toEqual([]); // group_wait
    expect(sent(tick(e, 20 * S))).toEqual([]);
    expect(sent(tick(e, 30 * S))).toEqual(['webhook/ops: firing A/s1']);
    set(e, 'A', 's2', 1, 40 * S); // joins group A: waits for the next group_interval tick
    expect(sent(tick(e, 40 * S))).toEqual([]);
    expect(sent(tick(e, 5 * M))).toEqual([]);
    // a notification is the group's state: s2 is new, s1 comes along
    expect(sent(tick(e, 5 * M + 30 * S))).toEqual(['webhook/ops: firing A/s1', 'webhook/ops: firing A/s2']);
    set(e, 'A', 's1', 0, 6 * M); // resolve: sent at once, not held back by group_interval, with the rest of the group
    const [partial] = tick(e, 6 * M);
    expect(sent([partial!])).toEqual(['webhook/ops: firing A/s2', 'webhook/ops: resolved A/s1']);
    expect(partial!.status).toBe('firing'); // the group still fires
    expect(partial!.commonLabels).toEqual({ alertname: "A", severity: "warning" });
    set(e, 'A', 's2', 1, 50 * M);
    expect(sent(tick(e, 50 * M))).toEqual([]); // inside repeat_interval (counted from the last notification, at 6m)
    set(e, 'A', 's2', 1, 66 * M);
    expect(sent(tick(e, 66 * M))).toEqual(['webhook/ops: firing A/s2']); // repeat after 1h (at a group tick); s1 is gone
  });

  it('a notification carries the group labels, common labels and the Alertmanager fields', () => {
    const e = engineFor({
      external_url: 'http://vigil.example:8888/',
      rules: [rule('A', { severity: 'critical', annotations: { summary: '{{ labels.service.name }} at {{ value }}' } })],
      routes: [{ exporters: ['webhook/ops'], group_by: ['alertname'], group_wait: '0s' }],
    });
    set(e, 'A', 's1', 3, 0);
    const [n] = tick(e, 0);
    expect(n).toMatchObject({
      exporters: ['webhook/ops'],
      status: 'firing',
      groupLabels: { alertname: 'A' },
      commonLabels: { alertname: 'A', severity: 'critical', 'service.name': 's1' },
      commonAnnotations: { summary: 's1 at 3' },
      externalURL: 'http://vigil.example:8888',
    });
    const a = n!.alerts[0]!;
    expect(a.generatorURL).toBe('http://vigil.example:8888/alerts?rule=A');
    expect(a.endsAt).toBe('0001-01-01T00:00:00Z');
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(a.value).toBe(3);
  });

  it('first match wins unless continue; match_re is anchored; a route with no match is a catch-all', () => {
    const e = engineFor({
      rules: [rule('A', { severity: 'critical' }), rule('B', { severity: 'warning' }), rule('C', { severity: 'info' })],
      route_defaults: { group_wait: '0s' },
      routes: [
        { match: { severity: 'critical' }, exporters: ['slack/oncall'], continue: true },
        { match_re: { severity: 'crit|warn' }, exporters: ['email/never'] }, // anchored: "critical" does not match
        { match_re: { severity: 'crit.*|warn.*' }, exporters: ['email/oncall'] },
        { exporters: ['file/all'] },
      ],
    });
    set(e, 'A', 's', 1, 0);
    set(e, 'B', 's', 1, 0);
    set(e, 'C', 's', 1, 0);
    expect(sent(tick(e, 0))).toEqual(['email/oncall: firing A/s', 'email/oncall: firing B/s', 'file/all: firing C/s', 'slack/oncall: firing A/s']);
    expect(e.routeExporters({ severity: 'critical' }).sort()).toEqual(['email/oncall', 'slack/oncall']);
  });

  it('send_resolved false; a rule repeat_interval overrides the route; an alert resolved within group_wait is never sent', () => {
    const e = engineFor({
      rules: [rule('A', { repeat_interval: '2m' }), rule('B')],
      routes: [{ exporters: ['slack/x'], send_resolved: false, group_wait: '0s', group_interval: '1m' }],
    });
    set(e, 'A', 's', 1, 0);
    expect(sent(tick(e, 0))).toEqual(['slack/x: firing A/s']);
    set(e, 'A', 's', 1, 2 * M);
    expect(sent(tick(e, 2 * M))).toEqual(['slack/x: firing A/s']);
    set(e, 'A', 's', 0, 3 * M);
    expect(sent(tick(e, 3 * M))).toEqual([]);

    const e2 = engineFor({ rules: [rule('A')], routes: [{ exporters: ['slack/x'], group_wait: '30s' }] });
    set(e2, 'A', 's', 1, 0);
    expect(sent(tick(e2, 0))).toEqual([]);
    set(e2, 'A', 's', 0, 10 * S);
    expect(sent(tick(e2, 10 * S))).toEqual([]);
    expect(sent(tick(e2, 40 * S))).toEqual([]);
  });

  it("an exporter's own send_resolved: false is its Alertmanager integration's: a resolve alone is no news to it, and resolved alerts are left out of what it gets", () => {
    const e = engineFor(
      {
        rules: [rule('A')],
        routes: [{ exporters: ['slack/quiet', 'webhook/all'], group_by: ['alertname'], group_wait: '0s', group_interval: '1m', repeat_interval: '4h' }],
      },
      { sendsResolved: (id) => id !== 'slack/quiet' },
    );
    set(e, 'A', 's1', 1, 0);
    set(e, 'A', 's2', 1, 0);
    expect(sent(tick(e, 0))).toEqual(['slack/quiet: firing A/s1', 'slack/quiet: firing A/s2', 'webhook/all: firing A/s1', 'webhook/all: firing A/s2']);
    set(e, 'A', 's1', 0, 30 * S); // a resolve while s2 fires: news only to the exporter that sends resolves
    expect(sent(tick(e, 30 * S))).toEqual(['webhook/all: firing A/s2', 'webhook/all: resolved A/s1']);
    expect(sent(tick(e, 60 * S))).toEqual([]);
    set(e, 'A', 's3', 1, 70 * S); // a new alert: both are told, the quiet one of the firing alerts only
    expect(sent(tick(e, 70 * S))).toEqual([]);
    set(e, 'A', 's2', 0, 100 * S);
    expect(sent(tick(e, 100 * S))).toEqual(['webhook/all: firing A/s3', 'webhook/all: resolved A/s2']); // the resolve at once, to webhook only
    expect(sent(tick(e, 120 * S))).toEqual(['slack/quiet: firing A/s3']); // the tick: s3 is news to the quiet one
    set(e, 'A', 's3', 0, 150 * S); // all resolved: logged for the quiet one, nothing sent to it
    expect(sent(tick(e, 150 * S))).toEqual(['webhook/all: resolved A/s3']);
    expect(sent(tick(e, 180 * S))).toEqual([]);
  });

  it('an exporter reached by two routes is notified per route, as in Alertmanager; group_by ... makes one group per alert', () => {
    const e = engineFor({
      rules: [rule('A')],
      route_defaults: { group_wait: '0s' },
      routes: [
        { exporters: ['slack/x'], continue: true },
        { exporters: ['slack/x', 'file/y'], group_by: ['...'] },
      ],
    });
    set(e, 'A', 's1', 1, 0);
    set(e, 'A', 's2', 1, 0);
    const ns = tick(e, 0);
    expect(sent(ns)).toEqual(['file/y: firing A/s1', 'file/y: firing A/s2', 'slack/x: firing A/s1', 'slack/x: firing A/s1', 'slack/x: firing A/s2', 'slack/x: firing A/s2']);
    expect(ns.filter((n) => n.exporters.includes('file/y'))).toHaveLength(2);
    expect(ns.map((n) => `${n.exporters[0]} ${n.groupKey}`).sort()).toEqual([
      'file/y {}/{}:{alertname="A", service.name="s1", severity="warning"}',
      'file/y {}/{}:{alertname="A", service.name="s2", severity="warning"}',
      'slack/x {}/{}:{alertname="A", service.name="s1", severity="warning"}',
      'slack/x {}/{}:{alertname="A", service.name="s2", severity="warning"}',
      'slack/x {}/{}:{}',
    ]);
  });

  it('with no routes, alerts go to the exporters of the pipelines listing the processor', () => {
    const e = engineFor({ rules: [rule('A')], route_defaults: { group_wait: '0s' } }, { defaultExporters: ['webhook/ops'] });
    set(e, 'A', 's', 1, 0);
    expect(sent(tick(e, 0))).toEqual(['webhook/ops: firing A/s']);
  });
});

describe('inhibition', () => {
  it('a firing source mutes targets with equal labels; the target is sent once the source resolves', () => {
    const e = engineFor({
      rules: [rule('Down', { severity: 'critical' }), rule('Slow', { severity: 'warning' })],
      route_defaults: { group_wait: '0s', group_interval: '1m' },
      routes: [{ exporters: ['slack/x'] }],
      inhibit: [{ source_match: { severity: 'critical' }, target_match_re: { severity: 'warn.*' }, equal: ['service.name'] }],
    });
    set(e, 'Down', 'a', 1, 0);
    set(e, 'Slow', 'a', 1, 0);
    set(e, 'Slow', 'b', 1, 0);
    expect(sent(tick(e, 0))).toEqual(['slack/x: firing Down/a', 'slack/x: firing Slow/b']);
    set(e, 'Down', 'a', 0, 30 * S);
    // one group (no group_by): the resolve goes out at once with the group, where Slow/a is no longer muted
    expect(sent(tick(e, 30 * S))).toEqual(['slack/x: firing Slow/a', 'slack/x: firing Slow/b', 'slack/x: resolved Down/a']);
    expect(sent(tick(e, 60 * S))).toEqual([]);
  });
  it('a group whose every firing alert is muted keeps its notification log: no page again when the mute ends (Alertmanager stops the pipeline at an empty MuteStage)', () => {
    const e = engineFor({
      rules: [rule('Down', { severity: 'critical' }), rule('Slow', { severity: 'warning' })],
      route_defaults: { group_wait: '0s', group_interval: '1m', repeat_interval: '4h', group_by: ['alertname'] },
      routes: [{ exporters: ['slack/x'] }],
      inhibit: [{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['service.name'] }],
    });
    set(e, 'Slow', 'a', 1, 0);
    expect(sent(tick(e, 0))).toEqual(['slack/x: firing Slow/a']);
    set(e, 'Down', 'a', 1, 30 * S); // inhibits Slow/a, the only alert of its group, across the group's ticks
    expect(sent(tick(e, 30 * S))).toEqual(['slack/x: firing Down/a']);
    expect(sent(tick(e, 60 * S))).toEqual([]);
    expect(sent(tick(e, 90 * S))).toEqual([]);
    set(e, 'Down', 'a', 0, 100 * S); // the source clears: Slow/a was told and still fires; nothing new for its group
    expect(sent(tick(e, 100 * S))).toEqual(['slack/x: resolved Down/a']);
    expect(sent(tick(e, 120 * S))).toEqual([]);
    expect(sent(tick(e, 180 * S))).toEqual([]);
  });
});

describe('silences', () => {
  it('config silences mute matching alerts until they end', () => {
    const e = engineFor(
      {
        rules: [rule('A'), rule('B')],
        route_defaults: { group_wait: '0s', group_interval: '1m' },
        routes: [{ exporters: ['slack/x'] }],
        silences: [{ matchers: ['alertname=A', 'service.name=~s.*'], duration: '10m', comment: 'maintenance' }],
      },
      { startedAt: 0 },
    );
    set(e, 'A', 's1', 1, 0);
    set(e, 'B', 's1', 1, 0);
    expect(sent(tick(e, 0))).toEqual(['slack/x: firing B/s1']);
    set(e, 'A', 's1', 1, 10 * M);
    expect(sent(tick(e, 10 * M))).toEqual(['slack/x: firing A/s1', 'slack/x: firing B/s1']);
  });

  it("the daemon's silences (the API's store) are picked up at the next evaluation; a silenced resolve still reaches file exporters", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const now = Date.now();
    const store = SilenceStore.open(dir);
    const e = engineFor(
      { rules: [rule('HighP95Latency')], route_defaults: { group_wait: '0s', group_interval: '1m' }, routes: [{ exporters: ['slack/x', 'file/log'] }] },
      { silences: store, startedAt: now },
    );
    const id = await store.upsert(
      {
        matchers: [
          { name: 'alertname', value: 'HighP95Latency', isRegex: false, isEqual: true },
          { name: 'service.name', value: 'check.*', isRegex: true, isEqual: true },
        ],
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + 2 * 3600_000).toISOString(),
        createdBy: 'test',
        comment: 'deploy',
      },
      now,
    );
    expect(fs.existsSync(store.file)).toBe(true);
    set(e, 'HighP95Latency', 'checkout', 1, now);
    set(e, 'HighP95Latency', 'cart', 1, now);
    expect(sent(tick(e, now))).toEqual(['file/log: firing HighP95Latency/cart', 'slack/x: firing HighP95Latency/cart']);
    expect(e.statusAlerts(now, 0).find((a) => a.labels['service.name'] === 'checkout')!.silencedBy).toEqual([id]);
    set(e, 'HighP95Latency', 'checkout', 0, now + M);
    expect(sent(tick(e, now + M))).toEqual(['file/log: firing HighP95Latency/cart', 'file/log: resolved HighP95Latency/checkout']);

    // expire it: a new firing alert is sent again
    set(e, 'HighP95Latency', 'checkout', 1, now + 2 * M);
    expect(sent(tick(e, now + 2 * M))).toEqual([]);
    await store.expire(id, now + 3 * M);
    expect(store.list().map((x) => silenceState(x, now + 3 * M))).toEqual(['expired']);
    // a new process reading the same state directory sees the same set
    expect(SilenceStore.open(dir).list().map((x) => x.id)).toEqual([id]);
    set(e, 'HighP95Latency', 'checkout', 1, now + 3 * M);
    expect(sent(tick(e, now + 3 * M))).toEqual([
      'file/log: firing HighP95Latency/cart',
      'file/log: firing HighP95Latency/checkout',
      'slack/x: firing HighP95Latency/cart',
      'slack/x: firing HighP95Latency/checkout',
    ]);
  });
});

describe('route tree', () => {
  it("route and group keys are Alertmanager's (dispatch/route_test.go keys)", async () => {
    const { components } = await import('../../app/components.ts');
    const { loadConfig } = await import('../../src/config/load.ts');
    const loaded = await loadConfig([`${import.meta.dirname}/testdata/am-routing/pipelines.yaml`], components);
    const e = engineFor(loaded.config!.processors['alerts/route-match']);
    const keys = (labels: Record<string, string>) => e.routesFor(labels).map((n) => n.key);
    expect(keys({ owner: 'team-A' })).toEqual(['{}/{owner="team-A"}']);
    expect(keys({ owner: 'team-C' })).toEqual(['{}/{owner=~"^(?:team-(B|C))$"}']);
    expect(keys({ owner: 'team-A', env: 'testing' })).toEqual(['{}/{owner="team-A"}/{env="testing"}']);
    expect(keys({ owner: 'team-A', env: 'production' })).toEqual(['{}/{owner="team-A"}/{env="production"}', '{}/{owner="team-A"}/{env=~"^(?:produ.*)$",job=~"^(?:.*)$"}']);
    expect(keys({ env: 'testing', group_by: 'role', wait: 'long' })).toEqual(['{}/{group_by="role"}/{env="testing"}/{wait="long"}']);
    expect(keys({ owner: 'nobody' })).toEqual(['{}']);
    // idx: children numbered before their parent, as Route.Idx
    expect(e.routesFor({ owner: 'nobody' })[0]!.idx).toBe(8);
  });

  it('matchers: quoted values, UTF-8 label names, negative matchers, lists; inheritance of group_by and timers', () => {
    const e = engineFor({
      rules: [rule('A')],
      route: {
        exporters: ['webhook/default'],
        group_by: ['alertname'],
        group_wait: '1s',
        routes: [
          { matchers: ['"service.name"="check out"', 'env!~"dev|test"'], exporters: ['slack/x'], routes: [{ matchers: ['{severity="critical", team!=""}'], exporters: ['pager/y'], group_by: ['...'] }] },
          { matchers: ['service.name=~"cart.*"'], group_interval: '2m' },
        ],
      },
    });
    const one = (labels: Record<string, string>) => e.routesFor(labels).map((n) => `${[...e.dispatcher.exportersOf(n)].join('+')} ${n.groupBy === 'all' ? '...' : n.groupBy.join('+')} ${n.groupWaitMs} ${n.groupIntervalMs}`);
    expect(one({ 'service.name': 'check out' })).toEqual(['slack/x alertname 1000 300000']);
    expect(one({ 'service.name': 'check out', env: 'dev' })).toEqual(['webhook/default alertname 1000 300000']);
    expect(one({ 'service.name': 'check out', severity: 'critical', team: 'a' })).toEqual(['pager/y ... 1000 300000']);
    expect(one({ 'service.name': 'check out', severity: 'critical' })).toEqual(['slack/x alertname 1000 300000']);
    expect(one({ 'service.name': 'cart-1' })).toEqual(['webhook/default alertname 1000 120000']);
    expect(e.routesFor({ 'service.name': 'check out' })[0]!.key).toBe('{}/{env!~"dev|test",service.name="check out"}');
  });

  it('the (a+)+b case returns at once (RE2: linear time)', () => {
    const e = engineFor({ rules: [rule('A')], route: { exporters: [], routes: [{ matchers: ['x=~"(a+)+b"'], exporters: ['slack/x'] }] } });
    // a backtracking engine takes seconds from 27 characters on (6.6 s in the issue), doubling per character:
    // these would not finish before the test's timeout (figures: npm run bench alerts)
    for (let n = 20; n <= 4000; n *= 2) expect(e.routeExporters({ x: 'a'.repeat(n) })).toEqual([]);
    expect(e.routeExporters({ x: `${'a'.repeat(27)}b` })).toEqual(['slack/x']);
  });
});

describe('time intervals', () => {
  // 2026-11-27 is a Friday; 2026-11-28 a Saturday
  const FRI_17_30 = Date.parse('2026-11-27T17:30:00Z');
  const SAT_10_00 = Date.parse('2026-11-28T10:00:00Z');
  const MON_09_00 = Date.parse('2026-11-30T09:00:00Z');

  it('mute_time_intervals: muted alerts are evaluated and recorded, not sent; sent when the interval ends', () => {
    const e = engineFor({
      rules: [rule('A')],
      time_intervals: [{ name: 'weekends', time_intervals: [{ weekdays: ['saturday', 'sunday'] }] }],
      route: { exporters: [], group_wait: '0s', group_interval: '1m', routes: [{ matchers: ['alertname="A"'], exporters: ['slack/x'], mute_time_intervals: ['weekends'] }] },
    });
    set(e, 'A', 's1', 1, SAT_10_00);
    expect(sent(tick(e, SAT_10_00))).toEqual([]);
    expect(e.firing().map((a) => a.labels['service.name'])).toEqual(['s1']); // evaluated, firing, recorded
    set(e, 'A', 's1', 1, MON_09_00);
    expect(sent(tick(e, MON_09_00))).toEqual(['slack/x: firing A/s1']);
  });

  it('active_time_intervals: sent only inside; times, days_of_month (negative), months, years and location', () => {
    const e = engineFor({
      rules: [rule('A')],
      time_intervals: [
        {
          name: 'office',
          time_intervals: [{ weekdays: ['monday:friday'], times: [{ start_time: '09:00', end_time: '18:00' }], location: 'Europe/Paris' }],
        },
      ],
      route: { exporters: ['slack/x'], group_wait: '0s', group_interval: '1m', routes: [{ active_time_intervals: ['office'] }] },
    });
    set(e, 'A', 's1', 1, FRI_17_30);
    expect(sent(tick(e, FRI_17_30))).toEqual([]); // 18:30 in Paris: outside
    set(e, 'A', 's1', 1, MON_09_00);
    expect(sent(tick(e, MON_09_00))).toEqual(['slack/x: firing A/s1']); // 10:00 in Paris

    const issues: import('../../src/component.ts').ConfigIssue[] = [];
    const ti = compileTimeIntervals(
      [
        { name: 'last-days', time_intervals: [{ days_of_month: ['-3:-1'], months: ['november', '12'], years: ['2026:2027'] }] },
        { name: 'night', time_intervals: [{ times: [{ start_time: '22:00', end_time: '24:00' }, { start_time: '00:00', end_time: '06:00' }] }] },
      ],
      issues,
    );
    expect(issues).toEqual([]);
    expect(inAnyInterval(ti, ['last-days'], Date.parse('2026-11-28T12:00:00Z'))).toBe(true); // 28th of 30
    expect(inAnyInterval(ti, ['last-days'], Date.parse('2026-11-27T12:00:00Z'))).toBe(false);
    expect(inAnyInterval(ti, ['last-days'], Date.parse('2026-10-30T12:00:00Z'))).toBe(false); // October
    expect(inAnyInterval(ti, ['last-days'], Date.parse('2028-11-29T12:00:00Z'))).toBe(false); // 2028
    expect(inAnyInterval(ti, ['night'], Date.parse('2026-11-28T23:59:00Z'))).toBe(true);
    expect(inAnyInterval(ti, ['night'], Date.parse('2026-11-28T06:00:00Z'))).toBe(false); // end excluded
    expect(inAnyInterval(ti, ['night', 'last-days'], Date.parse('2026-11-28T12:00:00Z'))).toBe(true);
  });
});

describe('groups of routes with the same key', () => {
  it('two sibling routes without matchers (both {}/{}) keep their own groups, as in Alertmanager', () => {
    const e = engineFor({
      rules: [rule('A', { severity: 'critical' })],
      route: { group_wait: '0s', routes: [{ exporters: ['file/a'], continue: true }, { matchers: ['severity="critical"'], exporters: ['slack/x'], continue: true }, { exporters: ['webhook/ops'] }] },
    });
    set(e, 'A', 's1', 1, 0);
    const ns = tick(e, 0);
    expect(sent(ns)).toEqual(['file/a: firing A/s1', 'slack/x: firing A/s1', 'webhook/ops: firing A/s1']);
    // the same Alertmanager group key for both siblings without matchers
    expect(ns.map((n) => `${n.exporters[0]} ${n.groupKey}`).sort()).toEqual(['file/a {}/{}:{}', 'slack/x {}/{severity="critical"}:{}', 'webhook/ops {}/{}:{}']);
    set(e, 'A', 's1', 0, 60_000);
    expect(sent(tick(e, 60_000))).toEqual(['file/a: resolved A/s1', 'slack/x: resolved A/s1', 'webhook/ops: resolved A/s1']);
  });
});

describe('group_wait as Alertmanager counts it', () => {
  it("a new group whose alert started more than group_wait ago (a rule with for) is flushed at once (Alertmanager's aggrGroup.insert)", () => {
    const e = engineFor({
      rules: [rule('A', { for: '2m' }), rule('B')],
      route: { exporters: ['webhook/ops'], group_by: ['alertname'], group_wait: '30s', group_interval: '5m' },
    });
    set(e, 'A', 's1', 1, 0);
    set(e, 'B', 's1', 1, 0);
    expect(sent(tick(e, 0))).toEqual([]); // A pending; B fired now: group_wait
    set(e, 'A', 's1', 1, 1 * M);
    set(e, 'B', 's1', 1, 1 * M);
    expect(sent(tick(e, 30 * S))).toEqual(['webhook/ops: firing B/s1']);
    set(e, 'A', 's1', 1, 2 * M);
    // A fires at 2m, active since 0: its wait (0 + 30s) is long over, so its new group does not wait again
    expect(sent(tick(e, 2 * M))).toEqual(['webhook/ops: firing A/s1']);
    // once flushed, a group keeps its group_interval: a later alert that started long ago waits for the tick
    set(e, 'A', 's2', 1, 2 * M);
    expect(sent(tick(e, 2 * M + 10 * S))).toEqual([]);
    set(e, 'A', 's2', 1, 4 * M + 10 * S);
    expect(sent(tick(e, 4 * M + 10 * S))).toEqual([]);
    expect(sent(tick(e, 7 * M))).toEqual(['webhook/ops: firing A/s1', 'webhook/ops: firing A/s2']);
  });

  it('an alert whose wait ends exactly now still waits for it (Alertmanager: StartsAt + group_wait before now)', () => {
    const e = engineFor({ rules: [rule('A', { for: '30s' })], route: { exporters: ['webhook/ops'], group_by: ['alertname'], group_wait: '30s' } });
    set(e, 'A', 's1', 1, 0);
    expect(sent(tick(e, 0))).toEqual([]);
    set(e, 'A', 's1', 1, 30 * S);
    expect(sent(tick(e, 30 * S))).toEqual([]); // firing now, started 30s ago: not before now
    expect(sent(tick(e, 60 * S))).toEqual(['webhook/ops: firing A/s1']);
  });
});

describe('an exporter that needs every resolve (the alertmanager exporter)', () => {
  it('is declared by the alertmanager exporter', () => {
    expect(exporterCapabilities(alertmanagerExporterFactory, configFor(alertmanagerExporterFactory, { url: 'http://127.0.0.1:9093' })).keepsEveryResolve).toBe(true);
    expect(exporterCapabilities(webhookExporterFactory, configFor(webhookExporterFactory, { url: 'http://127.0.0.1:9093' })).keepsEveryResolve).toBe(false);
  });

  it('gets the resolve of an alert it was told fires, also when the alert resolves inhibited or silenced, or its route has send_resolved: false', () => {
    const e = engineFor(
      {
        rules: [rule('W', { severity: 'warning' }), rule('C', { severity: 'critical' }), rule('S'), rule('R')],
        route: {
          exporters: ['alertmanager/am', 'webhook/ops'],
          group_by: ['alertname'],
          group_wait: '0s',
          group_interval: '1m',
          routes: [{ matchers: ['alertname="R"'], send_resolved: false }],
        },
        inhibit: [{ source_matchers: ['severity=critical'], target_matchers: ['severity=warning'], equal: ['service.name'] }],
        silences: [{ matchers: ['alertname=S'], starts_at: new Date(90 * S).toISOString(), duration: '1h' }],
      },
      { startedAt: 0 },
    );
    for (const a of ['W', 'S', 'R']) set(e, a, 's', 1, 0);
    expect(sent(tick(e, 0))).toEqual(['alertmanager/am: firing R/s', 'alertmanager/am: firing S/s', 'alertmanager/am: firing W/s', 'webhook/ops: firing R/s', 'webhook/ops: firing S/s', 'webhook/ops: firing W/s']);
    for (const a of ['W', 'S', 'R', 'C']) set(e, a, 's', 1, 2 * M);
    expect(sent(tick(e, 2 * M))).toEqual(['alertmanager/am: firing C/s', 'webhook/ops: firing C/s']); // W inhibited, S silenced
    for (const a of ['W', 'S', 'R']) set(e, a, 's', 0, 3 * M);
    set(e, 'C', 's', 1, 3 * M);
    // the webhook gets none of these resolves (as from Alertmanager); the alertmanager exporter gets all three,
    // else it would go on re-sending them as firing to Alertmanager
    expect(sent(tick(e, 3 * M))).toEqual(['alertmanager/am: resolved R/s', 'alertmanager/am: resolved S/s', 'alertmanager/am: resolved W/s']);
    set(e, 'C', 's', 1, 4 * M);
    expect(sent(tick(e, 4 * M))).toEqual([]);
  });

  it('gets the resolves of a time-muted route once the mute ends', () => {
    const FRI_23_50 = Date.parse('2026-11-27T23:50:00Z');
    const SAT_10_00 = Date.parse('2026-11-28T10:00:00Z');
    const MON_09_00 = Date.parse('2026-11-30T09:00:00Z');
    const e = engineFor({
      rules: [rule('A')],
      time_intervals: [{ name: 'weekends', time_intervals: [{ weekdays: ['saturday', 'sunday'] }] }],
      route: { exporters: [], group_wait: '0s', group_interval: '1m', routes: [{ matchers: ['alertname="A"'], exporters: ['alertmanager/am', 'slack/x'], mute_time_intervals: ['weekends'] }] },
    });
    set(e, 'A', 's1', 1, FRI_23_50);
    expect(sent(tick(e, FRI_23_50))).toEqual(['alertmanager/am: firing A/s1', 'slack/x: firing A/s1']);
    set(e, 'A', 's1', 0, SAT_10_00);
    expect(sent(tick(e, SAT_10_00))).toEqual([]);
    expect(sent(tick(e, SAT_10_00 + M))).toEqual([]);
    expect(sent(tick(e, MON_09_00))).toEqual(['alertmanager/am: resolved A/s1']);
    expect(sent(tick(e, MON_09_00 + M))).toEqual([]);
  });
});

describe("the webhook exporter's send_resolved (Alertmanager webhook_configs)", () => {
  it('is read, default true, and is the exporter\'s sendsResolved', () => {
    const caps = (raw: Record<string, unknown>) => exporterCapabilities(webhookExporterFactory, configFor(webhookExporterFactory, { url: 'http://127.0.0.1:9/hook', ...raw }));
    expect(caps({}).sendsResolved).toBe(true);
    expect(caps({ send_resolved: false }).sendsResolved).toBe(false);
    const e = engineFor(
      { rules: [rule('A')], route: { exporters: ['webhook/quiet', 'webhook/ops'], group_by: ['alertname'], group_wait: '0s', group_interval: '1m' } },
      { sendsResolved: (id) => caps(id === 'webhook/quiet' ? { send_resolved: false } : {}).sendsResolved },
    );
    set(e, 'A', 's1', 1, 0);
    expect(sent(tick(e, 0))).toEqual(['webhook/ops: firing A/s1', 'webhook/quiet: firing A/s1']);
    set(e, 'A', 's1', 0, 2 * M);
    expect(sent(tick(e, 2 * M))).toEqual(['webhook/ops: resolved A/s1']);
  });
});
