/**
 * What the opsgenie and pagerduty exporters send, compared with what a real Alertmanager 0.25 (Debian's
 * prometheus-alertmanager) sends for the same alert group. Alertmanager gets the alerts through its v2 API
 * and notifies a webhook receiver, an Opsgenie receiver and a PagerDuty receiver, all pointed at local
 * recording servers; the webhook body it sent (vigil's notification shape, the same group key and alerts) is
 * then given to vigil's exporters, and the requests are compared field by field. Only the documented
 * differences are left out (exporters/opsgenie/README.md, exporters/pagerduty/README.md).
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Exporter } from '../src/component.ts';
import type { AlertNotification } from '../src/model.ts';
import { opsgenieExporterFactory } from '../exporters/opsgenie/index.ts';
import { pagerdutyExporterFactory } from '../exporters/pagerduty/index.ts';
import { configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { AlertmanagerProcess, alertmanagerBinary } from './doubles/alertmanager.ts';
import { RecordingServer, type RecordedRequest } from './doubles/http-server.ts';

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const bin = alertmanagerBinary();
if (!bin) console.warn('\n!!!!! prometheus-alertmanager is NOT installed: the on-call side-by-side test is SKIPPED. !!!!!\n');

const accepted = () => ({ status: 202, headers: { 'content-type': 'application/json' }, body: '{"status":"success","result":"Request will be processed"}' });

/** Alertmanager's requests for one firing group, and the webhook body it sent for the same group. */
async function alertmanagerSends(receiverYaml: string, alerts: unknown[], count = 1): Promise<{ requests: RecordedRequest[]; notification: AlertNotification }> {
  const target = await new RecordingServer(accepted).start();
  const hook = await new RecordingServer(() => ({ status: 200, body: '' })).start();
  cleanup.push(() => target.close(), () => hook.close());
  const am = new AlertmanagerProcess(
    bin!,
    `route:
  receiver: r
  group_by: [alertname]
  group_wait: 1s
receivers:
  - name: r
    webhook_configs:
      - url: ${hook.url}/hook
${receiverYaml.replaceAll('TARGET', target.url)}`,
  );
  await am.start();
  cleanup.push(() => am.stop());
  const r = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
  expect(r.status).toBe(200);
  await waitFor(() => hook.requests.length >= 1 && target.requests.length >= count, 15_000, 'Alertmanager notifies');
  const body = hook.requests[0]!.json as AlertNotification & { receiver: string };
  return { requests: target.requests, notification: { ...body, exporters: [] } };
}

/** What vigil's exporter `factory` (ID `type/oncall`) sends for `n`, to a recording server. */
async function vigilSends(factory: typeof opsgenieExporterFactory | typeof pagerdutyExporterFactory, raw: Record<string, unknown>, n: AlertNotification, count = 1): Promise<RecordedRequest[]> {
  const target = await new RecordingServer(accepted).start();
  cleanup.push(() => target.close());
  const dir = tempDir();
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const id = `${factory.type}/oncall`;
  const config = configFor(factory as typeof opsgenieExporterFactory, { ...raw, [factory.type === 'opsgenie' ? 'api_url' : 'url']: factory.type === 'opsgenie' ? target.url : `${target.url}/v2/enqueue` });
  const exp = (factory as typeof opsgenieExporterFactory).create(testSettings('exporter', id, { stateDir: dir }), config) as Exporter;
  await exp.start({ reportFatal: () => undefined });
  cleanup.push(() => exp.shutdown());
  await exp.consume({ alerts: [{ ...n, exporters: [id] }] });
  await waitFor(() => target.requests.length >= count, 5000, `${id} sends`);
  return target.requests;
}

// started now: a new group whose alerts started more than group_wait ago is flushed at once, before the second
const now = new Date().toISOString();
const ALERTS = [
  { labels: { alertname: 'HighLatency', severity: 'critical', service: 'checkout', team: 'payments' }, annotations: { summary: 'p95 is 2.3s' }, startsAt: now },
  { labels: { alertname: 'HighLatency', severity: 'critical', service: 'cart', team: 'payments' }, annotations: { summary: 'p95 is 1.9s' }, startsAt: now },
];

describe.skipIf(!bin)('on-call requests against Alertmanager 0.25', () => {
  it('opsgenie: details default to the common labels (configured details win), tags and teams are split on commas, alias and texts agree', async () => {
    const am = await alertmanagerSends(
      `    opsgenie_configs:
      - api_key: KEY
        api_url: TARGET/
        tags: '{{ .CommonLabels.team }},vigil,,{{ .CommonLabels.absent }}'
        details: {team: 'on {{ .CommonLabels.team }}', status: '{{ .Status }}'}
        responders:
          - {type: teams, name: '{{ .CommonLabels.team }},sre'}
          - {type: user, username: 'oncall@example.com'}
`,
      ALERTS,
    );
    const ours = await vigilSends(opsgenieExporterFactory, { api_key: 'KEY', tags: ['{{ .CommonLabels.team }},vigil,,{{ .CommonLabels.absent }}'], details: { team: 'on {{ .CommonLabels.team }}', status: '{{ .Status }}' }, responders: [{ type: 'teams', name: '{{ .CommonLabels.team }},sre' }, { type: 'user', username: 'oncall@example.com' }] }, am.notification);
    const theirs = am.requests[0]!;
    const mine = ours[0]!;
    expect(mine.path).toBe(theirs.path);
    expect(mine.headers.authorization).toBe(theirs.headers.authorization);
    expect(mine.headers['content-type']).toBe(theirs.headers['content-type']);
    // product/version: Alertmanager/0.25.0 there, vigil/<version> here (src/delivery/README.md)
    expect(theirs.headers['user-agent']).toMatch(/^Alertmanager\/0\.25\./);
    expect(mine.headers['user-agent']).toMatch(/^vigil\/\d+\.\d+\.\d+$/);
    const a = theirs.json as Record<string, unknown>;
    const b = mine.json as Record<string, unknown>;
    expect(a.details).toEqual({ alertname: 'HighLatency', severity: 'critical', team: 'on payments', status: 'firing' });
    expect(b.details).toEqual(a.details);
    expect(b.tags).toEqual(a.tags);
    expect(a.responders).toEqual([{ type: 'team', name: 'payments' }, { type: 'team', name: 'sre' }, { type: 'user', username: 'oncall@example.com' }]);
    expect(b.responders).toEqual(a.responders);
    expect(b.alias).toBe(a.alias);
    expect(b.description).toBe(a.description);
    // Alertmanager's subject ends with a space when there is no parenthesis; vigil's message is one trimmed line.
    expect(b.message).toBe(String(a.message).trim());
  });

  it('opsgenie update_alerts: the create, then PUT message and PUT description by alias, as Alertmanager sends them', async () => {
    const am = await alertmanagerSends(
      `    opsgenie_configs:
      - api_key: KEY
        api_url: TARGET/
        update_alerts: true
        message: '{{ .CommonLabels.alertname }} on {{ .CommonLabels.team }}'
`,
      ALERTS,
      3,
    );
    const ours = await vigilSends(opsgenieExporterFactory, { api_key: 'KEY', update_alerts: true, message: '{{ .CommonLabels.alertname }} on {{ .CommonLabels.team }}' }, am.notification, 3);
    const shape = (r: RecordedRequest) => ({ method: r.method, path: r.path, authorization: r.headers.authorization, type: r.headers['content-type'] });
    expect(ours.map(shape)).toEqual(am.requests.map(shape));
    expect(ours.slice(1).map((r) => r.json)).toEqual(am.requests.slice(1).map((r) => r.json));
    expect(am.requests[1]!.json).toEqual({ message: 'HighLatency on payments' });
  });

  it('pagerduty: the same dedup_key and summary as Alertmanager for the same group', async () => {
    const am = await alertmanagerSends(
      `    pagerduty_configs:
      - routing_key: abc
        url: TARGET/v2/enqueue
`,
      ALERTS,
    );
    const ours = await vigilSends(pagerdutyExporterFactory, { routing_key: 'abc' }, am.notification);
    const a = am.requests[0]!.json as { dedup_key: string; event_action: string; payload: { summary: string } };
    const b = ours[0]!.json as typeof a;
    expect(ours[0]!.path).toBe(am.requests[0]!.path);
    expect(ours[0]!.headers['content-type']).toBe(am.requests[0]!.headers['content-type']);
    expect(ours[0]!.headers['user-agent']).toMatch(/^vigil\/\d+\.\d+\.\d+$/);
    expect(b.dedup_key).toBe(a.dedup_key);
    expect(b.event_action).toBe(a.event_action);
    expect(b.payload.summary).toBe(a.payload.summary.trim());
  });
});
