/**
 * A reload or a restart pages no one (issue 12): `vigil run` with the OTel JS SDK sending spans over
 * OTLP/HTTP (keep-alive), percentiles (1s windows) -> alerts (`sum(span.calls) over 20s > 20`, checked
 * every second) -> a webhook. Once the alert fires: SIGHUP with the config unchanged, then SIGTERM and a
 * new start. Through both the alert stays firing with the same startsAt and the webhook receives nothing
 * more (before the fix, each made the 20s window restart empty: resolved a second later, fired again with
 * a new startsAt). Across the reload: no export request fails (the receiver, its sockets and keep-alive
 * connections are kept) and each percentile window is emitted once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, type ReadableSpan, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ExportResult } from '@opentelemetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from './helpers/index.ts';
import { freePort, startDaemon, writeConfig, type Daemon } from './helpers/daemon.ts';
import { WebhookReceiver } from './doubles/webhook-receiver.ts';
import http from 'node:http';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import { SinkConsumer, configFor, testSettings } from './helpers/index.ts';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Payload {
  status: string;
  alerts: { status: string; startsAt: string; fingerprint: string }[];
}

/** Counts the result of every export request the SDK makes. */
class CountingExporter implements SpanExporter {
  ok = 0;
  failed = 0;
  constructor(private readonly inner: OTLPTraceExporter) {}
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.inner.export(spans, (r) => {
      if (r.code === 0) this.ok++;
      else this.failed++;
      done(r);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reload and restart keep a firing alert firing', () => {
  it('SIGHUP with an unchanged config and SIGTERM + start: same startsAt, nothing sent, no failed export, each window once', async () => {
    const hook = await new WebhookReceiver().start();
    cleanup.push(() => hook.close());
    const dir = tempDir('vigil-reload-');
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const [httpPort, telPort] = [await freePort(), await freePort()];
    const metricsFile = path.join(dir, 'metrics.jsonl');
    const config = writeConfig(
      path.join(dir, 'pipelines.yaml'),
      `receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${httpPort}}
processors:
  percentiles: {window: 1s, late_windows: 0, dimensions: [service.name]}
  alerts:
    interval: 1s
    rules:
      - name: Busy
        metric: span.calls
        stat: sum
        group_by: [service.name]
        window: 20s
        op: ">"
        threshold: 20
        severity: critical
    routes:
      - exporters: [webhook/ops]
        group_wait: 0s
        repeat_interval: 1h
exporters:
  webhook/ops:
    url: ${hook.url}/hook
  file/metrics:
    path: ${metricsFile}
    signals: [metrics]
    fsync: false
service:
  state_dir: ${dir}/state
  shutdown_timeout: 10s
  telemetry:
    logs: {level: info}
    endpoint: 127.0.0.1:${telPort}
  pipelines:
    main:
      receivers: [otlp]
      processors: [percentiles, alerts]
      exporters: [webhook/ops, file/metrics]
`,
    );
    let daemon: Daemon = await startDaemon([config], telPort);
    cleanup.push(() => daemon.stop('SIGKILL'));

    const counting = new CountingExporter(new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` }));
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout' }),
      spanProcessors: [new SimpleSpanProcessor(counting)],
    });
    cleanup.push(() => provider.shutdown());
    const tracer = provider.getTracer('reload-restart');
    // 4 spans a second, one export request each, for the whole test
    let sending = true;
    const loop = (async () => {
      while (sending) {
        tracer.startSpan('GET /cart').end();
        await sleep(250);
      }
    })();
    cleanup.push(async () => {
      sending = false;
      await loop;
    });

    const payloads = () => hook.payloads<Payload>();
    await waitFor(() => payloads().some((p) => p.status === 'firing'), 30_000, 'the alert to fire');
    const startsAt = payloads()[0]!.alerts[0]!.startsAt;
    await sleep(2000);
    expect(payloads()).toHaveLength(1);

    // reload with the config unchanged
    const failedBefore = counting.failed;
    daemon.proc.kill('SIGHUP');
    await daemon.waitForLog((l) => l['message'] === 'config reloaded');
    const reloadedAt = Date.now();
    await sleep(8000);
    expect(payloads().map((p) => p.status), 'nothing sent after the reload').toEqual(['firing']);
    expect(counting.failed - failedBefore, 'export requests failed across the reload').toBe(0);
    const okBefore = counting.ok;

    // restart
    const sigtermAt = Date.now();
    expect(await daemon.stop('SIGTERM')).toBe(0);
    daemon = await startDaemon([config], telPort);
    await sleep(8000);
    expect(counting.ok).toBeGreaterThan(okBefore);
    expect(payloads().map((p) => p.status), 'nothing sent after the restart').toEqual(['firing']);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state/processors/alerts/state.json'), 'utf8')) as {
      instances: { state: string; activeSince: number }[];
    };
    expect(state.instances.map((i) => [i.state, new Date(i.activeSince).toISOString()])).toEqual([['firing', startsAt]]);

    // each 1s window of span.calls once, from the start to the restart (the reload in the middle)
    const seen = new Map<string, number>();
    for (const line of fs.readFileSync(metricsFile, 'utf8').split('\n')) {
      if (!line) continue;
      const req = JSON.parse(line) as { resourceMetrics: { scopeMetrics: { metrics: { name: string; sum?: { dataPoints: { startTimeUnixNano: string; timeUnixNano: string }[] } }[] }[] }[] };
      for (const rm of req.resourceMetrics)
        for (const sm of rm.scopeMetrics)
          for (const m of sm.metrics) {
            if (m.name !== 'span.calls') continue;
            for (const dp of m.sum!.dataPoints) {
              if (Number(BigInt(dp.timeUnixNano) / 1_000_000n) > sigtermAt - 1000) continue;
              const k = `${dp.startTimeUnixNano}-${dp.timeUnixNano}`;
              seen.set(k, (seen.get(k) ?? 0) + 1);
            }
          }
    }
    expect(seen.size).toBeGreaterThan(10);
    expect([...seen].filter(([, n]) => n > 1), `windows emitted twice (reload at ${new Date(reloadedAt).toISOString()})`).toEqual([]);
  }, 90_000);
});

describe('a receiver that stops (SIGTERM, or a reload that changed it) drains its keep-alive connections', () => {
  it('no request on an open keep-alive connection is reset: each is answered (with Connection: close) or finds the port closed', async () => {
    const sink = new SinkConsumer();
    const r = otlpReceiverFactory.create(
      testSettings('receiver', 'otlp', { emit: sink }),
      configFor(otlpReceiverFactory, { protocols: { http: { endpoint: '127.0.0.1:0' } } }),
    ) as OtlpReceiver;
    await r.start({ reportFatal: () => undefined });
    const url = `http://${r.httpAddress}/v1/traces`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const body = JSON.stringify({ resourceSpans: [] });
    const outcomes: string[] = [];
    const post = () =>
      new Promise<void>((resolve) => {
        const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => {
            outcomes.push(String(res.statusCode));
            resolve();
          });
        });
        req.on('error', (e: NodeJS.ErrnoException) => {
          outcomes.push(e.code ?? e.message);
          resolve();
        });
        req.end(body);
      });
    let running = true;
    const loops = Array.from({ length: 8 }, async () => {
      while (running) {
        await post();
        await sleep(Math.random() * 20);
      }
    });
    await sleep(500);
    await r.shutdown();
    await sleep(300);
    running = false;
    await Promise.all(loops);
    agent.destroy();
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
    // ECONNREFUSED: the port is closed (the sender retries, nothing was half-sent); anything else is a reset
    const resets = outcomes.filter((o) => o !== '200' && o !== 'ECONNREFUSED');
    expect(counts['200'], JSON.stringify(counts)).toBeGreaterThan(20);
    expect(resets, JSON.stringify(counts)).toEqual([]);
  });
});
