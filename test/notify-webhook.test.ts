import { USER_AGENT } from '../src/version.ts';
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { stateDirFor } from '../src/component.ts';
import type { Exporter } from '../src/component.ts';
import { webhookExporterFactory } from '../exporters/webhook/index.ts';
import type { WebhookPayload } from '../src/delivery/webhook-payload.ts';
import { configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';
import { WebhookReceiver } from './doubles/webhook-receiver.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(raw: Record<string, unknown>, secret?: string) {
  const receiver = await new WebhookReceiver(secret).start();
  cleanup.push(() => receiver.close());
  const dir = tempDir();
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const telemetry = new ServiceTelemetry();
  cleanup.push(() => telemetry.close());
  const settings = testSettings('exporter', 'webhook/ops', { stateDir: dir, telemetry: telemetry.forComponent('exporter', 'webhook/ops') });
  const config = configFor(webhookExporterFactory, { url: `${receiver.url}/hook`, retry: { initial_interval: '20ms', max_interval: '50ms' }, ...raw });
  const exp = webhookExporterFactory.create(settings, config) as Exporter;
  await exp.start({ reportFatal: () => undefined });
  cleanup.push(() => exp.shutdown());
  const metrics = async () => {
    const addr = await telemetry.listen('127.0.0.1:0');
    const text = await (await fetch(`http://127.0.0.1:${addr.port}/metrics`)).text();
    return text;
  };
  return { receiver, exp, settings, metrics };
}

describe('webhook exporter', () => {
  it('posts the Alertmanager webhook body, signed with HMAC over the exact bytes', async () => {
    const { receiver, exp } = await setup({ hmac_secret: 's3cret', headers: { authorization: 'Bearer t' } }, 's3cret');
    const n = makeNotification(['webhook/ops', 'slack/oncall']);
    await exp.consume({ alerts: [n, makeNotification(['webhook/other'])] });
    await waitFor(() => receiver.accepted.length === 1, 5000, 'delivery');
    expect(receiver.badSignatures).toHaveLength(0);
    const req = receiver.accepted[0]!;
    expect(req.headers.authorization).toBe('Bearer t');
    expect(req.headers['content-type']).toBe('application/json');
    // product/version, as Alertmanager's `Alertmanager/0.25.0`
    expect(req.headers['user-agent']).toBe(USER_AGENT);
    expect(USER_AGENT).toMatch(/^vigil\/\d+\.\d+\.\d+/);
    const body = req.json as WebhookPayload;
    expect(body).toEqual({
      version: '4',
      groupKey: n.groupKey,
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'webhook/ops',
      groupLabels: n.groupLabels,
      commonLabels: n.commonLabels,
      commonAnnotations: n.commonAnnotations,
      externalURL: 'http://vigil.local',
      alerts: [
        {
          status: 'firing',
          labels: n.alerts[0]!.labels,
          annotations: n.alerts[0]!.annotations,
          startsAt: n.alerts[0]!.startsAt,
          endsAt: n.alerts[0]!.endsAt,
          generatorURL: n.alerts[0]!.generatorURL,
          fingerprint: n.alerts[0]!.fingerprint,
          value: 2345.5,
        },
      ],
    });
    // Nothing routed elsewhere arrived.
    await new Promise((r) => setTimeout(r, 50));
    expect(receiver.requests).toHaveLength(1);
  });

  it('a wrong secret fails the signature check on the receiving side (and is dead-lettered as permanent)', async () => {
    const { receiver, exp, settings, metrics } = await setup({ hmac_secret: 'wrong' }, 's3cret');
    await exp.consume({ alerts: [makeNotification(['webhook/ops'])] });
    const dl = path.join(stateDirFor(settings), 'dead-letter.jsonl');
    await waitFor(() => fs.existsSync(dl), 5000, 'dead letter');
    expect(receiver.badSignatures).toHaveLength(1);
    const line = JSON.parse(fs.readFileSync(dl, 'utf8').trim()) as { reason: string; attempts: number; notification: { groupKey: string } };
    expect(line.reason).toMatch(/permanent error: .*401/);
    expect(line.attempts).toBe(1);
    expect(line.notification.groupKey).toContain('HighP95Latency');
    const text = await metrics();
    expect(text).toMatch(/vigil_exporter_dead_letter_notifications_total\{exporter="webhook\/ops"\} 1/);
    expect(text).toMatch(/vigil_exporter_send_failed_items_total\{exporter="webhook\/ops",signal="alerts"\} 1/);
    expect(text).toMatch(/vigil_exporter_queue_size\{exporter="webhook\/ops"\} 0/);
  });

  it('retries after 503 (honouring Retry-After) and delivers', async () => {
    const { receiver, exp } = await setup({});
    receiver.script.push({ status: 503, body: 'busy' }, { status: 503, headers: { 'retry-after': '0' } });
    await exp.consume({ alerts: [makeNotification(['webhook/ops'])] });
    await waitFor(() => receiver.accepted.length === 1, 5000, 'delivery after retries');
    expect(receiver.requests).toHaveLength(3);
    const fps = receiver.requests.map((r) => (r.json as WebhookPayload).alerts[0]!.fingerprint);
    expect(new Set(fps).size).toBe(1);
  });

  it('max_alerts keeps the first N and counts the rest in truncatedAlerts', async () => {
    const { receiver, exp } = await setup({ max_alerts: 2 });
    const alerts = [1, 2, 3, 4, 5].map((i) => makeAlert({ alertname: 'HighP95Latency', severity: 'warning', pod: `p${i}` }));
    await exp.consume({ alerts: [makeNotification(['webhook/ops'], { alerts })] });
    await waitFor(() => receiver.accepted.length === 1, 5000, 'delivery');
    const body = receiver.payloads<WebhookPayload>()[0]!;
    expect(body.truncatedAlerts).toBe(3);
    expect(body.alerts.map((a) => a.labels.pod)).toEqual(['p1', 'p2']);
  });

  it('ignores other signals and notifications for other exporters', async () => {
    const { receiver, exp } = await setup({});
    await exp.consume({ resourceSpans: [], alerts: [makeNotification(['webhook/x'])] });
    await exp.consume({});
    await new Promise((r) => setTimeout(r, 50));
    expect(receiver.requests).toHaveLength(0);
  });
});
