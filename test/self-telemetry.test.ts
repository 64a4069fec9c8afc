/**
 * `service.telemetry` exports vigil's own metrics, logs and traces over OTLP (as the Collector's does):
 * a real `vigil run` sends them, with the official OTel JS exporters, to a second vigil that receives them
 * with its otlp receiver and writes them to a file. Each signal uses another protocol.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Daemon, freePort, startDaemon, writeConfig } from './helpers/daemon.ts';
import { tempDir, waitFor } from './helpers/index.ts';

const daemons: Daemon[] = [];
afterAll(async () => {
  for (const d of daemons) await d.stop();
});

interface Line {
  resourceMetrics?: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeMetrics: { metrics: { name: string }[] }[] }[];
  resourceLogs?: { scopeLogs: { logRecords: { body?: { stringValue?: string }; severityText?: string }[] }[] }[];
  resourceSpans?: { scopeSpans: { spans: { name: string; attributes: { key: string; value: { stringValue?: string } }[] }[] }[] }[];
}

describe('service.telemetry over OTLP', () => {
  it('sends vigil\'s own metrics (http/protobuf), logs (grpc) and traces (http/json) to an OTLP receiver', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'own.jsonl');
    const collector = { http: await freePort(), grpc: await freePort(), tel: await freePort() };
    daemons.push(
      await startDaemon(
        [
          writeConfig(path.join(dir, 'collector.yaml'), {
            receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${collector.http}` }, grpc: { endpoint: `127.0.0.1:${collector.grpc}` } } } },
            exporters: { file: { path: out } },
            service: { state_dir: path.join(dir, 'collector-state'), telemetry: { endpoint: `127.0.0.1:${collector.tel}` }, pipelines: { main: { receivers: ['otlp'], exporters: ['file'] } } },
          }),
        ],
        collector.tel,
      ),
    );

    const app = { http: await freePort(), tel: await freePort() };
    const otlp = (protocol: string, port: number) => ({ otlp: { protocol, endpoint: `http://127.0.0.1:${port}` } });
    const vigil = await startDaemon(
      [
        writeConfig(path.join(dir, 'vigil.yaml'), {
          receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${app.http}` } } } },
          exporters: { nop: {} },
          service: {
            state_dir: path.join(dir, 'vigil-state'),
            telemetry: {
              endpoint: `127.0.0.1:${app.tel}`,
              resource: { 'deployment.environment': 'test' },
              metrics: { readers: [{ periodic: { interval: '1s', exporter: otlp('http/protobuf', collector.http) } }] },
              logs: { level: 'info', processors: [{ batch: { exporter: otlp('grpc', collector.grpc) } }] },
              traces: { processors: [{ batch: { exporter: otlp('http/json', collector.http) } }] },
            },
            pipelines: { main: { receivers: ['otlp'], exporters: ['nop'] } },
          },
        }),
      ],
      app.tel,
    );
    daemons.push(vigil);
    // one request through vigil, so that there is a receive span and a non-zero accepted counter
    const now = BigInt(Date.now()) * 1_000_000n;
    const res = await fetch(`http://127.0.0.1:${app.http}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'op', startTimeUnixNano: String(now - 1000n), endTimeUnixNano: String(now) }] }] }],
      }),
    });
    expect(res.status).toBe(200);
    await vigil.stop(); // flushes every exporter on the way out

    const lines = (): Line[] => (fs.existsSync(out) ? fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line) : []);
    const metricNames = () => new Set(lines().flatMap((l) => (l.resourceMetrics ?? []).flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name)))));
    const logBodies = () => lines().flatMap((l) => (l.resourceLogs ?? []).flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords.map((r) => r.body?.stringValue))));
    const spans = () => lines().flatMap((l) => (l.resourceSpans ?? []).flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
    await waitFor(() => metricNames().has('vigil_receiver_accepted_items') && logBodies().includes('everything is ready') && spans().length > 0, 20_000, 'own telemetry in the file');

    const rm = lines().flatMap((l) => l.resourceMetrics ?? [])[0]!;
    const attr = (k: string) => rm.resource.attributes.find((a) => a.key === k)?.value.stringValue;
    expect(attr('service.name')).toBe('vigil');
    expect(attr('deployment.environment')).toBe('test');
    expect(logBodies()).toContain('stopped');
    const receive = spans().find((s) => s.name === 'receive otlp')!;
    expect(receive.attributes.find((a) => a.key === 'vigil.receiver')?.value.stringValue).toBe('otlp');
    expect(spans().some((s) => s.name === 'export nop')).toBe(true);
  }, 120_000);
});
