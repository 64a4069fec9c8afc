/**
 * Delivery benchmark: notifications per second through the on-disk queue (fsync on) to a local webhook
 * server, and the write amplification (bytes written to disk per notification: the queue's own count of
 * ENTRY + DONE record bytes, and the process's storage writes from /proc/self/io, which include the
 * filesystem's own overhead). Target: over 2,000 notifications per second.
 *
 * Two arrival patterns: 64 consume() calls in flight (many pipelines / a burst: appends share an fsync,
 * "group commit"), and one call at a time (every notification waits for its own fsync).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { validateComponentConfig } from '../src/config/ajv.ts';
import type { Factory } from '../src/component.ts';
import { silentLogger } from '../src/logger.ts';
import type { Alert, AlertNotification } from '../src/model.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import type { NotificationExporter } from '../src/delivery/notification-exporter.ts';
import { webhookExporterFactory } from '../exporters/webhook/index.ts';
import type { WebhookConfig } from '../exporters/webhook/config.ts';

function procWriteBytes(): number | undefined {
  try {
    const m = /write_bytes:\s+(\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function notification(i: number): AlertNotification {
  const alert: Alert = {
    status: 'firing',
    labels: { alertname: 'HighP95Latency', severity: i % 5 === 0 ? 'critical' : 'warning', 'service.name': `svc-${i % 50}`, team: 'payments' },
    annotations: { summary: `p95 latency of svc-${i % 50} is ${2000 + i} ms` },
    startsAt: new Date().toISOString(),
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://vigil.local/rules/HighP95Latency',
    fingerprint: (0x1000000 + i).toString(16),
    value: 2000 + i,
  };
  return {
    exporters: ['webhook/bench'],
    groupKey: `{}:{alertname="HighP95Latency", service.name="svc-${i}"}`,
    status: 'firing',
    groupLabels: { alertname: 'HighP95Latency', 'service.name': `svc-${i % 50}` },
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL: 'http://vigil.local',
    alerts: [alert],
  };
}

async function scenario(label: string, n: number, inFlight: number, url: string, received: () => number): Promise<string[]> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-delivery-'));
  const telemetry = new ServiceTelemetry();
  const config = structuredClone({ url, sending_queue: { num_consumers: 16, max_items: n + 10 } }) as unknown as WebhookConfig;
  const issues = validateComponentConfig(webhookExporterFactory as Factory, config);
  if (issues.length) throw new Error(JSON.stringify(issues));
  const exp = webhookExporterFactory.create(
    {
      id: 'webhook/bench',
      kind: 'exporter',
      logger: silentLogger(),
      telemetry: telemetry.forComponent('exporter', 'webhook/bench'),
      stateDir,
      emit: { consume: async () => undefined },
      service: { componentIds: { receiver: [], processor: [], exporter: [] }, pipelines: {} },
    },
    config,
  ) as NotificationExporter;
  await exp.start({ reportFatal: () => undefined });
  const batches = Array.from({ length: n }, (_, i) => ({ alerts: [notification(i)] }));
  const base = received();
  const io0 = procWriteBytes();
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) await exp.consume(batches[next++]!);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const tAccepted = performance.now();
  while (received() - base < n) await new Promise((r) => setTimeout(r, 2));
  const tDone = performance.now();
  const stats = exp.delivery!.diskStats!;
  await exp.shutdown();
  const io1 = procWriteBytes();
  await telemetry.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
  const payload = Buffer.byteLength(JSON.stringify(notification(1)));
  return [
    label,
    String(n),
    ((n / (tAccepted - t0)) * 1000).toFixed(0),
    ((n / (tDone - t0)) * 1000).toFixed(0),
    (stats.bytesWritten / n).toFixed(0),
    io0 !== undefined && io1 !== undefined ? ((io1 - io0) / n).toFixed(0) : 'n/a',
    String(payload),
    (n / Math.max(1, stats.fsyncs)).toFixed(1),
  ];
}

export async function run(): Promise<void> {
  let count = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const rows = [
    ['arrival', 'notifications', 'accepted/s (queued+fsync)', 'delivered/s (end to end)', 'queue bytes/notif', 'disk write bytes/notif (/proc)', 'payload bytes', 'notifs per fsync'],
    await scenario('64 consume() in flight', 20_000, 64, url, () => count),
    await scenario('1 consume() at a time', 3_000, 1, url, () => count),
  ];
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((v, c) => v.padEnd(widths[c]!)).join('  '));
  console.log('target: over 2,000 notifications/s delivered end to end (fsync on); queue bytes = ENTRY + DONE records written per notification');
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
