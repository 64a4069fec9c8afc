/**
 * vigil's alerts API beside a real Alertmanager 0.25 (Debian's prometheus-alertmanager and amtool, installed by
 * .ci/steps/40-alertmanager.sh), with the same route tree (named receivers, a `continue` route, a sub-route by
 * regex), the same inhibition rule and the same silences. vigil fires its own alerts; their label sets are
 * posted to Alertmanager. Then every answer that does not depend on ids or times must be the same:
 * - `GET /api/v2/alerts` with `receiver=` and the `active`/`silenced`/`inhibited` flags: which alerts, their
 *   `receivers` (the routes' receiver names, not vigil's exporter ids), state, and how many silences and
 *   inhibiting alerts each names (Alertmanager's marker keeps one inhibiting alert), silence ids sorted;
 * - `GET /api/v2/alerts/groups` (also with `receiver=`): the groups in Alertmanager's order (by group labels,
 *   then receiver), each group's alerts in its order, each alert's receivers as listed there;
 * - `GET /api/v2/receivers`, and `amtool alert query --receiver=`.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../src/service.ts';
import { AlertmanagerProcess, alertmanagerBinary, AMTOOL, amtoolAt as amtool } from './doubles/alertmanager.ts';
import { freePort } from './helpers/daemon.ts';
import { tempDir, waitFor } from './helpers/index.ts';
import { startService } from './helpers/service.ts';

const bin = alertmanagerBinary();
const ready = Boolean(AMTOOL && bin);
if (!ready) console.warn('\n!!!!! amtool or prometheus-alertmanager is NOT installed: the alerts API side-by-side test fails in CI. Install them with .ci/steps/40-alertmanager.sh. !!!!!\n');

const ROUTE = `receiver: default
group_by: [alertname]
group_wait: 1h
group_interval: 1h
repeat_interval: 1h
routes:
  - receiver: pager
    matchers: [severity="critical"]
    group_by: [service]
    continue: true
  - receiver: team
    matchers: [service=~"a|b"]`;
/** Without `equal`: every critical alert inhibits every warning (two inhibiting alerts for each). */
const INHIBIT = `- source_matchers: [severity="critical"]
  target_matchers: [severity="warning"]`;
const indent = (s: string, n: number) => s.replace(/^/gm, ' '.repeat(n));

let am: AlertmanagerProcess | undefined;
let service: Service | undefined;
let dir = '';
let vigilUrl = '';
let feeding: NodeJS.Timeout | undefined;

interface Alert {
  labels: Record<string, string>;
  receivers: { name: string }[];
  fingerprint: string;
  status: { state: string; silencedBy: string[]; inhibitedBy: string[] };
}
/** What an alert shows that does not depend on ids: labels, receivers, state, counts; and whether its silence ids are sorted. */
const view = (a: Alert) => ({
  alert: `${a.labels.alertname}/${a.labels.service}`,
  receivers: a.receivers.map((r) => r.name),
  state: a.status.state,
  silences: a.status.silencedBy.length,
  sortedIds: a.status.silencedBy.join() === [...a.status.silencedBy].sort().join(),
  inhibitors: a.status.inhibitedBy.length,
});
async function get<T>(url: string, path: string): Promise<T> {
  const r = await fetch(`${url}${path}`);
  expect(r.status, path).toBe(200);
  return (await r.json()) as T;
}

beforeAll(async () => {
  if (!ready) return;
  am = await new AlertmanagerProcess(bin!, `route:\n${indent(ROUTE, 2)}\ninhibit_rules:\n${indent(INHIBIT, 2)}\nreceivers:\n  - name: default\n  - name: pager\n  - name: team\n`).start();
  dir = tempDir('vigil-alerts-sbs-');
  const port = await freePort();
  service = await startService(
    dir,
    `receivers:
  http_json: {endpoint: "127.0.0.1:${port}"}
processors:
  alerts:
    interval: 200ms
    rules:
      - {name: HighErrorRate, metric: errors, group_by: [service], stat: last, window: 10m, op: ">", threshold: 0.5, severity: warning}
      - {name: ServiceDown, metric: up, group_by: [service], stat: last, window: 10m, op: "<", threshold: 1, severity: critical}
    route:
${indent(ROUTE, 6)}
    receivers:
      - {name: default, exporters: [nop]}
      - {name: pager, exporters: [nop/pager]}
      - {name: team, exporters: [nop/team]}
    inhibit:
${indent(INHIBIT, 6)}
exporters:
  nop:
  nop/pager:
  nop/team:
service:
  state_dir: ${dir}/state
  telemetry: {endpoint: "127.0.0.1:0", logs: {level: error}, api: {unauthenticated_writes: true}}
  pipelines:
    main: {receivers: [http_json], processors: [alerts], exporters: [nop, nop/pager, nop/team]}
`,
  );
  vigilUrl = `http://127.0.0.1:${service.telemetryPort}`;
  const metric = (name: string, service: string, value: number) => ({ kind: 'metric', name, service: 'w', value, metric_type: 'gauge', attributes: { service } });
  const events = [...['a', 'b', 'c'].map((s) => metric('errors', s, 1)), ...['a', 'd'].map((s) => metric('up', s, 0))];
  const feed = async () => void (await fetch(`http://127.0.0.1:${port}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) }));
  await feed();
  feeding = setInterval(() => void feed().catch(() => undefined), 2000);
  let firing: Alert[] = [];
  await waitFor(async () => (firing = await get<Alert[]>(vigilUrl, '/api/v2/alerts')).length === 5, 15_000, 'five firing alerts');
  const endsAt = new Date(Date.now() + 3_600_000).toISOString();
  const posted = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(firing.map((a) => ({ labels: a.labels, endsAt }))) });
  expect(posted.status).toBe(200);
  await waitFor(async () => (await am!.alerts()).length === 5, 10_000, 'Alertmanager holds the alerts');
  // silences: b has three, c two, a (warning) one
  const eq = (name: string, value: string) => ({ name, value, isRegex: false, isEqual: true });
  for (const matchers of [[eq('service', 'b')], [eq('alertname', 'HighErrorRate')], [{ name: 'service', value: 'b|c', isRegex: true, isEqual: true }]]) {
    const body = JSON.stringify({ matchers, startsAt: new Date().toISOString(), endsAt, createdBy: 'tester', comment: 'c' });
    for (const url of [am.url, vigilUrl]) expect((await fetch(`${url}/api/v2/silences`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status).toBe(200);
  }
}, 60_000);

afterAll(async () => {
  clearInterval(feeding);
  await service?.shutdown();
  await am?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the alerts API beside a real Alertmanager', () => {
  it.skipIf(!ready).each([
    '',
    '?receiver=team',
    '?receiver=pager',
    '?receiver=pag', // anchored: none
    '?receiver=de.*',
    '?silenced=false',
    '?inhibited=false',
    '?active=false',
    '?silenced=false&inhibited=false',
    '?receiver=team&active=false',
  ])('GET /api/v2/alerts%s: the same alerts, receivers, states and counts', async (query) => {
    const [mine, theirs] = await Promise.all([get<Alert[]>(vigilUrl, `/api/v2/alerts${query}`), get<Alert[]>(am!.url, `/api/v2/alerts${query}`)]);
    expect(mine.map(view)).toEqual(theirs.map(view));
  });

  it.skipIf(!ready)('the comparison is not vacuous: receivers, silences and inhibitions all show', async () => {
    const all = (await get<Alert[]>(am!.url, '/api/v2/alerts')).map(view);
    expect(all.some((a) => a.receivers.length === 2)).toBe(true);
    expect(all.some((a) => a.silences === 3)).toBe(true);
    expect(all.some((a) => a.inhibitors === 1)).toBe(true);
    expect((await get<Alert[]>(am!.url, '/api/v2/alerts?receiver=team')).length).toBe(3);
  });

  it.skipIf(!ready).each(['', '?receiver=team', '?receiver=pager', '?silenced=false'])('GET /api/v2/alerts/groups%s: the same groups in the same order', async (query) => {
    type Group = { labels: Record<string, string>; receiver: { name: string }; alerts: Alert[] };
    const shape = (gs: Group[]) => gs.map((g) => ({ receiver: g.receiver.name, labels: g.labels, alerts: g.alerts.map(view) }));
    const [mine, theirs] = await Promise.all([get<Group[]>(vigilUrl, `/api/v2/alerts/groups${query}`), get<Group[]>(am!.url, `/api/v2/alerts/groups${query}`)]);
    expect(shape(mine)).toEqual(shape(theirs));
  });

  it.skipIf(!ready)('GET /api/v2/receivers names the receivers, as Alertmanager does', async () => {
    expect(await get(vigilUrl, '/api/v2/receivers')).toEqual(await get(am!.url, '/api/v2/receivers'));
  });

  it.skipIf(!ready)('amtool alert query --receiver lists the same alerts', async () => {
    for (const receiver of ['team', 'pager', 'default']) {
      const labels = async (url: string) => (JSON.parse(await amtool(url, 'alert', 'query', '-o', 'json', '--silenced', '--inhibited', '--active', `--receiver=${receiver}`)) as Alert[]).map((a) => `${a.labels.alertname}/${a.labels.service}`).sort();
      const theirs = await labels(am!.url);
      expect(theirs.length).toBeGreaterThan(0);
      expect({ receiver, alerts: await labels(vigilUrl) }).toEqual({ receiver, alerts: theirs });
    }
  });
});
