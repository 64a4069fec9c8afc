/**
 * End to end through an in-process Service: the OpenTelemetry JS SDK sends slow spans over OTLP/HTTP to
 * vigil (otlp receiver -> percentiles -> alerts -> webhook exporter); a p95 rule fires and a local HTTP
 * server receives the Alertmanager-shaped webhook; the spans get fast again and the resolve arrives.
 */
import fs from 'node:fs';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { startService } from './helpers/service.ts';
import { tempDir, waitFor } from './helpers/index.ts';
import { WebhookReceiver } from './doubles/webhook-receiver.ts';
import { freePort } from './helpers/daemon.ts';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});


interface Payload {
  status: string;
  receiver: string;
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string>; value: number; fingerprint: string; endsAt: string }[];
}

describe('alerts end to end', () => {
  it('OTel SDK slow spans -> p95 rule fires -> webhook; fast spans -> resolve', async () => {
    const hook = await new WebhookReceiver().start();
    cleanup.push(() => hook.close());
    const dir = tempDir('vigil-alerts-e2e-');
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const httpPort = await freePort();
    const service = await startService(
      dir,
      `receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${httpPort}}
processors:
  percentiles: {window: 1s, late_windows: 0}
  alerts:
    interval: 1s
    external_url: http://vigil.test:8888
    rules:
      - name: HighP95Latency
        metric: span.duration
        stat: p95
        where: {service.name: checkout}
        group_by: [service.name]
        window: 3s
        op: ">"
        threshold: 500
        severity: critical
        annotations:
          summary: "p95 of {{ labels.service.name }} is {{ value | printf \\"%.0f\\" }} ms"
    routes:
      - exporters: [webhook/ops]
        group_by: [alertname, service.name]
        group_wait: 0s
exporters:
  webhook/ops:
    url: ${hook.url}/hook
    retry: {initial_interval: 50ms}
service:
  state_dir: ${dir}/state
  telemetry:
    logs: {level: error}
    endpoint: 127.0.0.1:0
  pipelines:
    main:
      receivers: [otlp]
      processors: [percentiles, alerts]
      exporters: [webhook/ops]
`,
    );
    cleanup.push(() => service.shutdown());

    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` }))],
    });
    cleanup.push(() => provider.shutdown());
    const tracer = provider.getTracer('alerts-e2e');
    const sendSpans = async (durationMs: number) => {
      const end = Date.now();
      for (let i = 0; i < 5; i++) tracer.startSpan('POST /pay', { startTime: end - durationMs }).end(end);
      await provider.forceFlush();
    };
    const payloads = () => hook.payloads<Payload>();

    // slow spans until the alert fires
    await waitFor(
      async () => {
        await sendSpans(1500);
        return payloads().some((p) => p.status === 'firing');
      },
      20_000,
      'the firing webhook',
    );
    const firing = payloads().find((p) => p.status === 'firing')!;
    expect(firing.receiver).toBe('webhook/ops');
    expect(firing.groupLabels).toEqual({ alertname: 'HighP95Latency', 'service.name': 'checkout' });
    const alert = firing.alerts[0]!;
    expect(alert.labels).toEqual({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout' });
    expect(alert.value).toBeGreaterThan(1400);
    expect(alert.value).toBeLessThan(1600);
    expect(alert.annotations.summary).toMatch(/^p95 of checkout is 1\d{3} ms$/);

    // fast spans until the resolve arrives
    await waitFor(
      async () => {
        await sendSpans(20);
        return payloads().some((p) => p.status === 'resolved');
      },
      20_000,
      'the resolved webhook',
    );
    const resolved = payloads().find((p) => p.status === 'resolved')!;
    expect(resolved.alerts[0]!.fingerprint).toBe(alert.fingerprint);
    expect(resolved.alerts[0]!.endsAt).not.toBe('0001-01-01T00:00:00Z');
    // paged once (repeat_interval 4h), resolved once
    expect(payloads().filter((p) => p.status === 'firing')).toHaveLength(1);
    expect(payloads().filter((p) => p.status === 'resolved')).toHaveLength(1);
  }, 60_000);
});
