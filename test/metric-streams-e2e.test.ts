/**
 * End to end with the official OpenTelemetry JS SDK as the client: a service's cumulative latency
 * histogram (the SDK default) holds 1,000 fast requests recorded before vigil started. vigil (otlp receiver
 * -> alerts -> webhook) then receives its exports, each with two more 500 ms requests. The p95 rule fires on
 * the new slow requests, and a rule on the window's count never sees the lifetime total (before issue 13,
 * the first point after a start counted 1,000+ requests in the window and p95 stayed at the old fast ones).
 */
import fs from 'node:fs';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
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
  alerts: { status: string; labels: Record<string, string>; value: number }[];
}

describe('metric streams end to end', () => {
  it('an SDK cumulative histogram running before vigil: p95 fires on the new slow requests, the count is only the new ones', async () => {
    const httpPort = await freePort();
    // the service has been running: 1,000 fast requests recorded before vigil starts
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.instance.id': 'pod-1' }),
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({ url: `http://127.0.0.1:${httpPort}/v1/metrics` }),
          exportIntervalMillis: 3_600_000,
        }),
      ],
    });
    cleanup.push(() => provider.shutdown());
    const latency = provider.getMeter('checkout').createHistogram('http.server.request.duration', { unit: 'ms' });
    for (let i = 0; i < 1000; i++) latency.record(8, { 'http.route': '/pay' });
    await new Promise((r) => setTimeout(r, 20)); // the stream's start time is now before vigil's

    const hook = await new WebhookReceiver().start();
    cleanup.push(() => hook.close());
    const dir = tempDir('vigil-streams-e2e-');
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const service = await startService(
      dir,
      `receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${httpPort}}
processors:
  alerts:
    interval: 1s
    rules:
      - name: SlowP95
        metric: http.server.request.duration
        stat: p95
        window: 5s
        op: ">"
        threshold: 100
      - name: LifetimeCountedAsRecent
        metric: http.server.request.duration
        stat: count
        window: 5s
        op: ">"
        threshold: 100
    routes:
      - exporters: [webhook/ops]
        group_by: [alertname]
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
      processors: [alerts]
      exporters: [webhook/ops]
`,
    );
    cleanup.push(() => service.shutdown());

    const firing = (name: string) => hook.payloads<Payload>().flatMap((p) => p.alerts).filter((a) => a.status === 'firing' && a.labels.alertname === name);
    let exports = 0;
    await waitFor(
      async () => {
        latency.record(500, { 'http.route': '/pay' });
        latency.record(500, { 'http.route': '/pay' });
        await provider.forceFlush();
        exports++;
        await new Promise((r) => setTimeout(r, 300));
        return firing('SlowP95').length > 0;
      },
      20_000,
      'the SlowP95 alert',
    );
    // every request in the window took 500 ms: the p95 is that bucket's (250, 500] midpoint, ~354 ms
    const p95 = firing('SlowP95')[0]!.value;
    expect(p95).toBeGreaterThan(250);
    expect(p95).toBeLessThanOrEqual(500);
    // two more evaluations: the count rule never saw the 1,000 old requests (at most 2 per export came)
    for (let i = 0; i < 2; i++) {
      latency.record(500, { 'http.route': '/pay' });
      await provider.forceFlush();
      exports++;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(exports).toBeLessThan(50);
    expect(firing('LifetimeCountedAsRecent')).toEqual([]);
  }, 60_000);
});
