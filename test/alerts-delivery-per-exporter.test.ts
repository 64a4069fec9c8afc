/**
 * Delivery is tracked per exporter (issue 12, item 5): a route to a healthy webhook and to a webhook whose
 * queue is full (target down) pages the healthy one once per alert, however many evaluations retry the
 * other; once the other's target is back it gets the refused notifications, each once.
 * Also: each alert's generatorURL answers on the telemetry endpoint, and /api/v1/rules/NAME gives the rule
 * and its current alerts as JSON.
 * In-process Service, alerts fed as metric events through the http_json receiver, a local webhook server.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startService } from './helpers/service.ts';
import { tempDir, waitFor } from './helpers/index.ts';
import { freePort } from './helpers/daemon.ts';
import { WebhookReceiver } from './doubles/webhook-receiver.ts';
import type { AlertsProcessor } from '../processors/alerts/alerts-processor.ts';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Payload {
  status: string;
  groupKey: string;
  alerts: { status: string; labels: Record<string, string>; generatorURL: string }[];
}

describe('per-exporter delivery', () => {
  it('a refusing exporter in a route causes no second delivery to a healthy one, and gets its notifications once it recovers', async () => {
    const ops = await new WebhookReceiver().start();
    cleanup.push(() => ops.close());
    const dir = tempDir('vigil-per-exporter-');
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    // webhook/oncall: its target is down and its queue holds one notification; once that one is queued,
    // further critical notifications are refused (retryable), as issue 12 saw with a full Slack queue
    const [jsonPort, oncallPort] = [await freePort(), await freePort()];
    const service = await startService(
      dir,
      `receivers:
  http_json: {endpoint: 127.0.0.1:${jsonPort}}
processors:
  alerts:
    interval: 100ms
    rules:
      - {name: HighLoad, metric: load, group_by: [host], stat: last, window: 1m, op: ">", threshold: 10, severity: critical}
    route:
      exporters: [webhook/ops, webhook/oncall]
      group_by: [host]
      group_wait: 0s
      group_interval: 200ms
exporters:
  webhook/ops:
    url: ${ops.url}/hook
  webhook/oncall:
    url: http://127.0.0.1:${oncallPort}/hook
    retry: {initial_interval: 100ms, max_interval: 200ms}
    sending_queue: {max_items: 1}
service:
  state_dir: ${dir}/state
  telemetry:
    logs: {level: error}
    endpoint: 127.0.0.1:0
  pipelines:
    main:
      receivers: [http_json]
      processors: [alerts]
      exporters: [webhook/ops, webhook/oncall]
`,
    );
    cleanup.push(() => service.shutdown());
    const proc = service.pipelines!.get('processor', 'alerts') as AlertsProcessor;
    const post = async (hosts: string[]) => {
      const events = hosts.map((host) => ({ kind: 'metric', name: 'load', value: 50, attributes: { host } }));
      const r = await fetch(`http://127.0.0.1:${jsonPort}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
      expect(r.status).toBe(200);
    };
    const evaluations = async (n: number) => {
      const from = proc.engine.lastEvaluationMs;
      await waitFor(() => proc.engine.lastEvaluationMs >= from + n * 100, 20_000, `${n} more evaluations`);
    };
    const hosts = (r: WebhookReceiver) => r.payloads<Payload>().map((p) => p.alerts.map((a) => `${a.status} ${a.labels.host}`).join(','));

    await post(['x']); // fills webhook/oncall's queue
    await waitFor(() => ops.payloads().length === 1, 20_000, 'the first notification');
    await post(['a', 'b', 'c']);
    await waitFor(() => ops.payloads().length === 4, 20_000, 'the next three notifications');
    // 20 more evaluations, each retrying the refused notifications for webhook/oncall only
    await evaluations(20);
    expect(hosts(ops)).toEqual(['firing x', 'firing a', 'firing b', 'firing c']);

    // webhook/oncall's target comes up: its queue drains, the refused notifications are taken, each once
    const oncall = await new WebhookReceiver().start(oncallPort);
    cleanup.push(() => oncall.close());
    await waitFor(() => oncall.payloads().length >= 4, 20_000, 'webhook/oncall catching up');
    await evaluations(10);
    expect(hosts(oncall)).toEqual(['firing x', 'firing a', 'firing b', 'firing c']);
    expect(hosts(ops)).toEqual(['firing x', 'firing a', 'firing b', 'firing c']);

    // generatorURL answers (the status page opens the rule), and so does the rule's JSON description
    const url = new URL(ops.payloads<Payload>()[0]!.alerts[0]!.generatorURL);
    expect(`${url.pathname}${url.search}`).toBe('/alerts?rule=HighLoad');
    expect((await fetch(`http://127.0.0.1:${service.telemetryPort}${url.pathname}${url.search}`)).status).toBe(200);
    const r = await fetch(`http://127.0.0.1:${service.telemetryPort}/api/v1/rules/HighLoad`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { status: string; data: { processor: string; rule: { name: string; threshold: number }; alerts: { state: string; labels: Record<string, string> }[] }[] };
    expect(body.status).toBe('success');
    expect(body.data).toHaveLength(1);
    expect(body.data[0]!.processor).toBe('alerts');
    expect(body.data[0]!.rule).toMatchObject({ name: 'HighLoad', threshold: 10 });
    expect(body.data[0]!.alerts.map((a) => `${a.state} ${a.labels.host}`).sort()).toEqual(['firing a', 'firing b', 'firing c', 'firing x']);
    expect((await fetch(`http://127.0.0.1:${service.telemetryPort}/api/v1/rules/NoSuchRule`)).status).toBe(404);
  }, 90_000);
});
