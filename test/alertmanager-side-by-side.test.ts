/**
 * Side by side with a real Alertmanager (Debian's prometheus-alertmanager, installed by
 * .ci/steps/40-alertmanager.sh): the same alert life goes into Alertmanager through its v2 API and into
 * vigil through metric events (http_json receiver -> alerts processor -> webhook exporter), both with the
 * same route (group_by [alertname], group_wait 1s, group_interval 1s) and the same inhibition rule. The
 * webhook bodies both deliver are compared field by field. They differ only in the documented ways:
 * `receiver` (Alertmanager's receiver name; vigil's exporter ID), `externalURL`, each alert's `startsAt` /
 * `endsAt` (each side's own clock), vigil's extra `value`, and vigil's earlier resolve (at the evaluation
 * at which the condition cleared, not at the next group_interval tick: the same notification, sooner).
 *
 * The life: three alerts fire (a, b, c); c resolves; aa joins; a critical alert for a inhibits a's
 * warning, then clears; everything resolves.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startService } from './helpers/service.ts';
import { tempDir, waitFor } from './helpers/index.ts';
import { freePort } from './helpers/daemon.ts';
import { WebhookReceiver } from './doubles/webhook-receiver.ts';
import { AlertmanagerProcess, alertmanagerBinary } from './doubles/alertmanager.ts';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const bin = alertmanagerBinary();
if (!bin) console.warn('\n!!!!! prometheus-alertmanager is NOT installed: the side-by-side test is SKIPPED. Install it with .ci/steps/40-alertmanager.sh. !!!!!\n');

interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
  value?: number | null;
}
interface Payload {
  version: string;
  groupKey: string;
  truncatedAlerts: number;
  status: string;
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

const GENERATOR = 'http://vigil.test';
const rule = (name: string) => `${GENERATOR}/alerts?rule=${name}`;

/** A body without the fields that differ by design (see the file comment). */
function comparable(p: Payload): unknown {
  const { receiver: _r, externalURL: _e, alerts, ...rest } = p;
  return { ...rest, alerts: alerts.map(({ startsAt: _s, endsAt: _n, value: _v, ...a }) => a) };
}

describe('vigil beside a real Alertmanager', () => {
  it.skipIf(!bin)('the same alert life gives the same webhook bodies, field by field, but for the documented differences', async () => {
    const amHook = await new WebhookReceiver().start();
    const vigilHook = await new WebhookReceiver().start();
    cleanup.push(() => amHook.close(), () => vigilHook.close());

    const am = await new AlertmanagerProcess(
      bin!,
      `route:
  receiver: compare
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [service]
receivers:
  - name: compare
    webhook_configs:
      - url: ${amHook.url}/hook
`,
    ).start();
    cleanup.push(() => am.stop());

    const dir = tempDir('vigil-side-by-side-');
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const jsonPort = await freePort();
    const service = await startService(
      dir,
      `receivers:
  http_json: {endpoint: 127.0.0.1:${jsonPort}}
processors:
  alerts:
    interval: 100ms
    external_url: ${GENERATOR}
    rules:
      - name: HighErrorRate
        metric: errors
        group_by: [service]
        stat: last
        window: 2s
        op: ">"
        threshold: 0.5
        severity: warning
        annotations: {summary: "errors in {{ labels.service }}"}
      - name: ServiceDown
        metric: up
        group_by: [service]
        stat: last
        window: 2s
        op: "<"
        threshold: 1
        severity: critical
        annotations: {summary: "{{ labels.service }} is down"}
    route:
      exporters: [webhook/compare]
      group_by: [alertname]
      group_wait: 1s
      group_interval: 1s
      repeat_interval: 1h
    inhibit:
      - source_matchers: [severity="critical"]
        target_matchers: [severity="warning"]
        equal: [service]
exporters:
  webhook/compare:
    url: ${vigilHook.url}/hook
service:
  state_dir: ${dir}/state
  telemetry:
    logs: {level: error}
    endpoint: 127.0.0.1:0
  pipelines:
    main:
      receivers: [http_json]
      processors: [alerts]
      exporters: [webhook/compare]
`,
    );
    cleanup.push(() => service.shutdown());

    // one step of the life, on both sides: metric events into vigil, alerts into Alertmanager's v2 API
    const firing = new Map<string, { labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; generatorURL: string }>();
    const step = async (changes: { alert: 'HighErrorRate' | 'ServiceDown'; service: string; fire: boolean }[]) => {
      const events = changes.map((c) => ({
        kind: 'metric',
        name: c.alert === 'HighErrorRate' ? 'errors' : 'up',
        value: c.alert === 'HighErrorRate' ? (c.fire ? 1 : 0) : c.fire ? 0 : 1,
        attributes: { service: c.service },
      }));
      const r = await fetch(`http://127.0.0.1:${jsonPort}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
      expect(r.status).toBe(200);
      const now = new Date().toISOString();
      const posted = changes.map((c) => {
        const key = `${c.alert}/${c.service}`;
        if (c.fire) {
          firing.set(key, {
            labels: { alertname: c.alert, service: c.service, severity: c.alert === 'HighErrorRate' ? 'warning' : 'critical' },
            annotations: { summary: c.alert === 'HighErrorRate' ? `errors in ${c.service}` : `${c.service} is down` },
            startsAt: now,
            generatorURL: rule(c.alert),
          });
          return firing.get(key)!;
        }
        const a = firing.get(key)!;
        firing.delete(key);
        return { ...a, endsAt: now };
      });
      const res = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(posted) });
      expect(res.status).toBe(200);
    };
    const both = async (n: number, what: string) => {
      await waitFor(() => amHook.payloads().length >= n && vigilHook.payloads().length >= n, 30_000, `${what} (${n} notifications on each side)`).catch((e: Error) => {
        throw new Error(`${e.message}; Alertmanager sent ${JSON.stringify(amHook.payloads())}, vigil sent ${JSON.stringify(vigilHook.payloads())}`);
      });
    };
    const HER = 'HighErrorRate';

    await step([{ alert: HER, service: 'a', fire: true }, { alert: HER, service: 'b', fire: true }, { alert: HER, service: 'c', fire: true }]);
    await both(1, 'three alerts fire');
    await step([{ alert: HER, service: 'c', fire: false }]);
    await both(2, 'one resolves');
    await step([{ alert: HER, service: 'aa', fire: true }]);
    await both(3, 'one joins');
    await step([{ alert: 'ServiceDown', service: 'a', fire: true }]);
    await both(4, 'a critical fires and inhibits a warning');
    await step([{ alert: 'ServiceDown', service: 'a', fire: false }]);
    await both(5, 'the critical clears');
    await step([{ alert: HER, service: 'a', fire: false }, { alert: HER, service: 'aa', fire: false }, { alert: HER, service: 'b', fire: false }]);
    await both(6, 'everything resolves');
    // a few more group intervals: neither side sends anything else (the inhibited warning is not re-sent)
    await new Promise((r) => setTimeout(r, 3000));

    const amBodies = amHook.payloads<Payload>();
    const vigilBodies = vigilHook.payloads<Payload>();
    const summary = (ps: Payload[]) => ps.map((p) => `${p.status} ${p.groupKey} ${p.alerts.map((a) => `${a.status}:${a.labels.service}`).join(',')}`);
    expect(summary(vigilBodies)).toEqual(summary(amBodies));
    expect(summary(amBodies)).toEqual([
      'firing {}:{alertname="HighErrorRate"} firing:a,firing:b,firing:c',
      'firing {}:{alertname="HighErrorRate"} firing:a,firing:b,resolved:c',
      'firing {}:{alertname="HighErrorRate"} firing:a,firing:aa,firing:b',
      'firing {}:{alertname="ServiceDown"} firing:a',
      'resolved {}:{alertname="ServiceDown"} resolved:a',
      'resolved {}:{alertname="HighErrorRate"} resolved:a,resolved:aa,resolved:b',
    ]);
    // field by field
    for (let i = 0; i < amBodies.length; i++) expect({ i, body: comparable(vigilBodies[i]!) }).toEqual({ i, body: comparable(amBodies[i]!) });
    // and the fields that differ by design are there on both sides, in the same format
    for (const [a, v] of amBodies.map((b, i) => [b, vigilBodies[i]!] as const)) {
      expect(a.receiver).toBe('compare');
      expect(v.receiver).toBe('webhook/compare');
      for (const [x, y] of a.alerts.map((al, j) => [al, v.alerts[j]!] as const)) {
        expect(Number.isNaN(Date.parse(y.startsAt))).toBe(false);
        expect(y.endsAt.startsWith('0001-')).toBe(x.endsAt.startsWith('0001-'));
        expect(typeof y.value).toBe('number');
      }
    }
  }, 120_000);
});
