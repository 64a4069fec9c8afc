/**
 * Route options and time intervals as Alertmanager 0.25 reads them, checked against the real thing:
 * - what `amtool check-config` refuses in a route tree or a time interval, `vigil validate` refuses too
 *   (the root route with time intervals; a days_of_month range whose end is always before its start).
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { validateComponentConfig } from '../src/config/ajv.ts';
import { alertsProcessorFactory } from '../processors/alerts/index.ts';
import { AMTOOL } from './doubles/alertmanager.ts';
import { tempDir } from './helpers/index.ts';

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
