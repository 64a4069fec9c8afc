/**
 * Route options and time intervals as Alertmanager 0.25 reads them, checked against the real thing:
 * - what `amtool check-config` refuses in a route tree or a time interval, `vigil validate` refuses too
 *   (the root route with time intervals; a days_of_month range whose end is always before its start; a
 *   time interval defined twice), and what it reads (the deprecated top-level `mute_time_intervals`), vigil reads;
 * - the groups a real Alertmanager makes (GET /api/v2/alerts/groups) for a tree whose nodes set, inherit
 *   or empty `group_by` are the groups vigil's tree makes (route key and group labels).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { validateComponentConfig } from '../src/config/ajv.ts';
import { alertsProcessorFactory } from '../processors/alerts/index.ts';
import type { AlertsConfig } from '../processors/alerts/config.ts';
import { compileConfig } from '../processors/alerts/rules.ts';
import { groupKeyOf, groupLabelsOf, matchRoute } from '../processors/alerts/routes.ts';
import { inAnyInterval } from '../processors/alerts/time-intervals.ts';
import { AMTOOL, AlertmanagerProcess, alertmanagerBinary } from './doubles/alertmanager.ts';
import { tempDir } from './helpers/index.ts';

const BIN = alertmanagerBinary();

/** The route block as both read it: vigil's `receiver` names resolve through `receivers`. */
function amYaml(route: unknown, timeIntervals: unknown[] = []): string {
  return YAML.stringify({ route, receivers: [{ name: 'r' }, { name: 's' }], time_intervals: timeIntervals });
}
const vigilConfig = (route: unknown, timeIntervals: unknown[] = []) => ({
  route,
  receivers: [
    { name: 'r', exporters: ['debug'] },
    { name: 's', exporters: ['debug'] },
  ],
  time_intervals: timeIntervals,
});

async function amtoolCheck(yaml: string): Promise<string> {
  const dir = tempDir();
  try {
    const f = path.join(dir, 'am.yml');
    fs.writeFileSync(f, yaml);
    const r = await promisify(execFile)(AMTOOL!, ['check-config', f]).catch((e: { stdout: string }) => e);
    return r.stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const vigilIssues = (raw: unknown) => validateComponentConfig(alertsProcessorFactory, structuredClone(raw)).map((i) => `${i.path.join('.')}: ${i.message}`);

describe('config Alertmanager refuses, vigil refuses', () => {
  const interval = (ti: object) => [{ name: 't', time_intervals: [ti] }];
  it.each([
    ['root mute_time_intervals', { receiver: 'r', mute_time_intervals: ['t'] }, interval({ weekdays: ['monday'] }), /root route must not have any mute time intervals/, /^route\.mute_time_intervals: .*root route/],
    ['root active_time_intervals', { receiver: 'r', active_time_intervals: ['t'] }, interval({ weekdays: ['monday'] }), /root route must not have any active time intervals/, /^route\.active_time_intervals: .*root route/],
    ['days_of_month 25:-5', { receiver: 'r', routes: [{ receiver: 's', mute_time_intervals: ['t'] }] }, interval({ days_of_month: ['25:-5'] }), /end day -5 is always before start day 25/, /^time_intervals\.0\.time_intervals\.0\.days_of_month\.0: .*always before/],
    ['days_of_month -3:-5', { receiver: 'r', routes: [{ receiver: 's', mute_time_intervals: ['t'] }] }, interval({ days_of_month: ['-3:-5'] }), /FAILED/, /^time_intervals\.0\.time_intervals\.0\.days_of_month\.0: /],
  ])('%s', async (_name, route, tis, amSays, vigilSays) => {
    if (AMTOOL) expect(await amtoolCheck(amYaml(route, tis))).toMatch(amSays);
    const got = vigilIssues(vigilConfig(route, tis));
    expect(got.some((m) => vigilSays.test(m)), got.join('\n')).toBe(true);
  });

  // Alertmanager 0.25 still reads the top-level list under its deprecated name, mute_time_intervals
  const legacy = { name: 'old', time_intervals: [{ weekdays: ['saturday', 'sunday'] }] };
  const legacyRoute = { receiver: 'r', routes: [{ receiver: 's', mute_time_intervals: ['old'], active_time_intervals: ['t'] }] };
  const tIntervals = [{ name: 't', time_intervals: [{ times: [{ start_time: '09:00', end_time: '17:00' }] }] }];

  it('the deprecated top-level mute_time_intervals is read, as Alertmanager reads it', async () => {
    const yaml = YAML.stringify({ ...YAML.parse(amYaml(legacyRoute, tIntervals)), mute_time_intervals: [legacy] });
    if (AMTOOL) expect(await amtoolCheck(yaml)).toMatch(/SUCCESS/);
    const raw = { ...vigilConfig(legacyRoute, tIntervals), mute_time_intervals: [legacy] };
    expect(validateComponentConfig(alertsProcessorFactory, raw)).toEqual([]); // (defaults applied in place)
    const compiled = compileConfig(raw as unknown as AlertsConfig);
    expect(inAnyInterval(compiled.timeIntervals, ['old'], Date.parse('2026-11-28T12:00:00Z'))).toBe(true); // a Saturday
    expect(inAnyInterval(compiled.timeIntervals, ['old'], Date.parse('2026-11-27T12:00:00Z'))).toBe(false); // a Friday
  });

  it('a name defined in both lists is refused by both', async () => {
    const twice = { ...legacy, name: 't' };
    const yaml = YAML.stringify({ ...YAML.parse(amYaml(legacyRoute, [...tIntervals, legacy])), mute_time_intervals: [twice] });
    if (AMTOOL) expect(await amtoolCheck(yaml)).toMatch(/time interval "t" is not unique/);
    expect(vigilIssues({ ...vigilConfig(legacyRoute, [...tIntervals, legacy]), mute_time_intervals: [twice] })).toEqual(['mute_time_intervals.0.name: time interval "t" is defined twice (also at time_intervals.0)']);
  });

  it.each([
    ['days_of_month 1:-1', { days_of_month: ['1:-1'] }],
    ['days_of_month 20:-5', { days_of_month: ['20:-5'] }],
    ['days_of_month -7:-1', { days_of_month: ['-7:-1'] }],
  ])('%s is valid in both', async (_name, ti) => {
    const route = { receiver: 'r', routes: [{ receiver: 's', mute_time_intervals: ['t'] }] };
    const tis = [{ name: 't', time_intervals: [ti] }];
    if (AMTOOL) expect(await amtoolCheck(amYaml(route, tis))).toMatch(/SUCCESS/);
    expect(vigilIssues(vigilConfig(route, tis))).toEqual([]);
  });
});

describe.skipIf(!BIN)('groups side by side with a real Alertmanager', () => {
  // every way a node gets its group_by: set, inherited, emptied (`[]`, which Alertmanager reads as unset),
  // every label (`...`), and a list under `...`
  const route = {
    receiver: 'r',
    group_by: ['alertname', 'team'],
    group_wait: '1h',
    routes: [
      { receiver: 's', matchers: ['case="inherit"'] },
      { receiver: 's', matchers: ['case="empty"'], group_by: [] },
      {
        receiver: 's',
        matchers: ['case="all"'],
        group_by: ['...'],
        routes: [
          { matchers: ['sub="list"'], group_by: ['sub'] },
          { matchers: ['sub="empty"'], group_by: [] },
        ],
      },
      { receiver: 's', matchers: ['case="own"'], group_by: ['team'], routes: [{ matchers: ['sub="empty"'], group_by: [] }] },
    ],
  };
  const cases: Record<string, string>[] = [
    { case: 'inherit' },
    { case: 'empty' },
    { case: 'all' },
    { case: 'all', sub: 'list' },
    { case: 'all', sub: 'empty' },
    { case: 'own' },
    { case: 'own', sub: 'empty' },
    { case: 'none' },
  ];
  const alerts = cases.map((l, i): Record<string, string> => ({ alertname: `A${i % 2}`, team: 't1', instance: `i${i}`, ...l }));
  let am: AlertmanagerProcess;

  beforeAll(async () => {
    am = await new AlertmanagerProcess(BIN!, amYaml(route)).start();
  }, 30_000);
  afterAll(async () => {
    await am?.stop();
  });

  it('Alertmanager and vigil make the same groups', async () => {
    const r = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts.map((labels) => ({ labels }))) });
    expect(r.status).toBe(200);
    type AmGroup = { labels: Record<string, string>; alerts: { labels: Record<string, string> }[] };
    let amGroups: AmGroup[] = [];
    for (let i = 0; i < 100 && amGroups.flatMap((g) => g.alerts).length < alerts.length; i++) {
      amGroups = (await (await fetch(`${am.url}/api/v2/alerts/groups`)).json()) as AmGroup[];
      if (amGroups.flatMap((g) => g.alerts).length < alerts.length) await new Promise((res) => setTimeout(res, 50));
    }
    const config = vigilConfig(route) as unknown as AlertsConfig;
    const issues = validateComponentConfig(alertsProcessorFactory, config);
    expect(issues).toEqual([]);
    const compiled = compileConfig(config);
    expect(compiled.issues).toEqual([]);
    const key = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort());
    // per alert: the group labels of each group it is in
    const amOf = alerts.map((a) => amGroups.filter((g) => g.alerts.some((x) => key(x.labels) === key(a))).map((g) => key(g.labels)).sort());
    const vigilOf = alerts.map((a) => matchRoute(compiled.route, a).map((n) => key(groupLabelsOf(n, a))).sort());
    expect(vigilOf.map((g, i) => ({ alert: alerts[i], groups: g }))).toEqual(amOf.map((g, i) => ({ alert: alerts[i], groups: g })));
    // and the group keys are well formed for each
    for (const a of alerts) for (const n of matchRoute(compiled.route, a)) expect(groupKeyOf(n, groupLabelsOf(n, a))).toMatch(/^\{\}.*:\{.*\}$/);
  }, 30_000);
});
