import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { tempDir } from '../../test/helpers/index.ts';
import type { AlertNotification } from '../../src/model.ts';
import { SilenceStore, silenceState } from '../../src/silence-store.ts';
import { batchOf, gauge } from './testdata/batches.ts';
import { engineFor, tick } from './testdata/engine.ts';

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
    expect(sent(tick(e, 5 * M + 30 * S))).toEqual(['webhook/ops: firing A/s2']); // s1 not repeated
    set(e, 'A', 's1', 0, 6 * M); // resolve: sent at once, not held back by group_interval
    expect(sent(tick(e, 6 * M))).toEqual(['webhook/ops: resolved A/s1']);
    set(e, 'A', 's2', 1, 50 * M);
    expect(sent(tick(e, 50 * M))).toEqual([]); // inside repeat_interval
    set(e, 'A', 's2', 1, 66 * M);
    expect(sent(tick(e, 66 * M))).toEqual(['webhook/ops: firing A/s2']); // repeat after 1h (at a group tick)
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

  it('an exporter reached by two routes gets an alert once; group_by ... makes one group per alert', () => {
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
    expect(sent(ns)).toEqual(['file/y: firing A/s1', 'file/y: firing A/s2', 'slack/x: firing A/s1', 'slack/x: firing A/s2']);
    expect(ns.filter((n) => n.exporters.includes('file/y'))).toHaveLength(2);
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
    expect(sent(tick(e, 30 * S))).toEqual(['slack/x: resolved Down/a']);
    expect(sent(tick(e, 60 * S))).toEqual(['slack/x: firing Slow/a']);
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
    expect(sent(tick(e, 10 * M))).toEqual(['slack/x: firing A/s1']);
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
    expect(sent(tick(e, now + M))).toEqual(['file/log: resolved HighP95Latency/checkout']);

    // expire it: a new firing alert is sent again
    set(e, 'HighP95Latency', 'checkout', 1, now + 2 * M);
    expect(sent(tick(e, now + 2 * M))).toEqual([]);
    await store.expire(id, now + 3 * M);
    expect(store.list().map((x) => silenceState(x, now + 3 * M))).toEqual(['expired']);
    // a new process reading the same state directory sees the same set
    expect(SilenceStore.open(dir).list().map((x) => x.id)).toEqual([id]);
    set(e, 'HighP95Latency', 'checkout', 1, now + 3 * M);
    expect(sent(tick(e, now + 3 * M))).toEqual(['file/log: firing HighP95Latency/checkout', 'slack/x: firing HighP95Latency/checkout']);
  });
});
