/**
 * The gateway deployment end to end, as deploy/kubernetes/gateway.yaml and sidecar-forwarding.yaml run
 * it, on loopback: two "sidecar" vigils (otlp receiver -> percentiles -> otlp exporter) forward their
 * span.duration exponential histograms to a "gateway" vigil (otlp receiver -> alerts with a p95 rule ->
 * file exporter). Spans with known durations go to each sidecar through the official OTel JS exporter.
 * The alert fires at the gateway, and the p95 it reports is the p95 of one sketch over all the data at
 * once (same scale: exact equality), within the relative accuracy of the exact p95, and different from
 * either sidecar's own p95 (so both sidecars' histograms were merged).
 */
import fs from 'node:fs';
import path from 'node:path';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { Sketch, accuracyOfScale, scaleForAccuracy } from '../src/sketch.ts';
import { type Daemon, freePort, startDaemon, writeConfig } from './helpers/daemon.ts';
import { tempDir, waitFor } from './helpers/index.ts';

const RELATIVE_ACCURACY = 0.01;
const daemons: Daemon[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Sends spans named `chat` of service `checkout` with the given durations (ms) through the OTel SDK. */
async function sendSpans(httpPort: number, durationsMs: number[]): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` }), { maxExportBatchSize: 200, scheduledDelayMillis: 50 })],
  });
  const tracer = provider.getTracer('deploy-two-tier');
  const endMs = Date.now();
  const end: [number, number] = [Math.floor(endMs / 1000), (endMs % 1000) * 1e6];
  for (const d of durationsMs) {
    const startMs = endMs - d;
    const span = tracer.startSpan('chat', { startTime: [Math.floor(startMs / 1000), (startMs % 1000) * 1e6] });
    span.end(end);
  }
  await provider.forceFlush();
  await provider.shutdown();
}

function p95Of(values: number[]): number {
  const s = new Sketch(scaleForAccuracy(RELATIVE_ACCURACY));
  for (const v of values) s.add(v);
  return s.quantile(0.95);
}

describe('sidecars forwarding to a gateway', () => {
  it('fire the gateway p95 alert on the histograms merged from both sidecars, exactly as one sketch of all the data', async () => {
    const dir = tempDir('vigil-two-tier-');
    dirs.push(dir);
    const alertsFile = path.join(dir, 'gateway-alerts.jsonl');

    // gateway: otlp -> alerts (p95 over everything it received) -> file
    const gw = { http: await freePort(), grpc: await freePort(), tel: await freePort() };
    const gatewayConfig = writeConfig(path.join(dir, 'gateway.yaml'), {
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${gw.http}` }, grpc: { endpoint: `127.0.0.1:${gw.grpc}` } } } },
      processors: {
        alerts: {
          interval: '1s',
          rules: [
            {
              name: 'HighP95Latency',
              metric: 'span.duration',
              stat: 'p95',
              group_by: ['service.name'],
              window: '10m',
              op: '>',
              threshold: 100,
              severity: 'critical',
            },
          ],
          // a notification every second while firing, each with the value of the latest evaluation
          routes: [{ exporters: ['file/alerts'], group_wait: '0s', group_interval: '1s', repeat_interval: '1s' }],
        },
      },
      exporters: { 'file/alerts': { path: alertsFile, signals: ['alerts'] } },
      service: {
        state_dir: path.join(dir, 'gateway-state'),
        telemetry: { endpoint: `127.0.0.1:${gw.tel}` },
        pipelines: { main: { receivers: ['otlp'], processors: ['alerts'], exporters: ['file/alerts'] } },
      },
    });
    const gatewayStarted = startDaemon([gatewayConfig], gw.tel).then((d) => (daemons.push(d), d));

    // two sidecars: otlp -> percentiles -> otlp exporter to the gateway (metrics only)
    const sidecars: { http: number; grpc: number; tel: number; daemon?: Daemon }[] = [];
    const started: Promise<unknown>[] = [gatewayStarted];
    for (const name of ['a', 'b']) {
      const sc = { http: await freePort(), grpc: await freePort(), tel: await freePort() };
      const config = writeConfig(path.join(dir, `sidecar-${name}.yaml`), {
        receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${sc.http}` }, grpc: { endpoint: `127.0.0.1:${sc.grpc}` } } } },
        // late_windows 10: on a loaded CI runner the spans can reach a sidecar after their 1 s window closed
        // (with 0 they were dropped as late, and the gateway never got the metrics); SIGTERM flushes every window
        processors: { percentiles: { window: '1s', late_windows: 10, relative_accuracy: RELATIVE_ACCURACY, dimensions: ['service.name', 'span.name'] } },
        exporters: { 'otlp/gateway': { endpoint: `http://127.0.0.1:${gw.grpc}`, protocol: 'grpc', signals: ['metrics'] } },
        service: {
          state_dir: path.join(dir, `sidecar-${name}-state`),
          telemetry: { endpoint: `127.0.0.1:${sc.tel}` },
          pipelines: { main: { receivers: ['otlp'], processors: ['percentiles'], exporters: ['otlp/gateway'] } },
        },
      });
      const entry: (typeof sidecars)[number] = { ...sc };
      sidecars.push(entry);
      started.push(startDaemon([config], sc.tel).then((d) => (daemons.push(d), (entry.daemon = d))));
    }
    await Promise.all(started);

    // known durations: sidecar a sees many short calls, sidecar b fewer long ones
    const a = Array.from({ length: 300 }, (_, i) => 20 + i); // 20..319 ms
    const b = Array.from({ length: 60 }, (_, i) => 400 + 25 * i); // 400..1875 ms
    await Promise.all([sendSpans(sidecars[0]!.http, a), sendSpans(sidecars[1]!.http, b)]);
    // drain the sidecars: percentiles emits the windows it holds, the otlp exporter delivers them before exit
    for (const sc of sidecars) expect(await sc.daemon!.stop('SIGTERM')).toBe(0);
    // every window of both sidecars carries span.duration, span.duration.summary and span.calls
    const accepted = async () => {
      const text = await (await fetch(`http://127.0.0.1:${gw.tel}/metrics`)).text();
      return Number(/vigil_receiver_accepted_items_total\{receiver="otlp",signal="metrics"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    await waitFor(async () => (await accepted()) >= 6, 10_000, 'the gateway to accept both sidecars\' metrics');

    type Line = { alert: { labels: Record<string, string>; status: string; value: number } };
    const firing = (): Line[] =>
      fs.existsSync(alertsFile)
        ? fs.readFileSync(alertsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line)
            .filter((l) => l.alert.labels.alertname === 'HighP95Latency' && l.alert.status === 'firing')
        : [];
    // the alert may have fired on part of the data (one sidecar's histogram arrived first); the second
    // notification written after all data arrived comes from an evaluation that saw all of it
    const seen = firing().length;
    await waitFor(() => firing().length >= seen + 2, 20_000, 'the gateway to notify HighP95Latency on all the data');
    const line = firing().at(-1);

    const all = [...a, ...b];
    const expected = p95Of(all);

    expect(line!.alert.labels['service.name']).toBe('checkout');
    // exact: the same quantile one sketch of all 360 durations gives
    expect(line!.alert.value).toBe(expected);
    // and within the sketch's relative accuracy of the exact p95 of the data
    const sorted = [...all].sort((x, y) => x - y);
    const exact = sorted[Math.floor(0.95 * (sorted.length - 1))]!;
    expect(Math.abs(line!.alert.value - exact) / exact).toBeLessThanOrEqual(accuracyOfScale(scaleForAccuracy(RELATIVE_ACCURACY)));
    // neither sidecar alone would have given it: the gateway merged both
    expect(line!.alert.value).not.toBe(p95Of(a));
    expect(line!.alert.value).not.toBe(p95Of(b));
  }, 60_000);
});
