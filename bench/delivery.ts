/**
 * Delivery benchmark: vigil's webhook exporter (durable: every notification fdatasync'd to the on-disk queue
 * before it is accepted) side by side with Debian's real Alertmanager (`/usr/bin/prometheus-alertmanager`,
 * which keeps alerts in memory and does not write to disk per notification) delivering the same 1,000 and
 * 5,000 alerts, one notification per alert, to the same local webhook receiver.
 *
 * - The receiver runs in a process of its own (plain Node HTTP server, answers 200), so neither side pays
 *   for it; it tells this process over IPC when it has counted N requests.
 * - Alertmanager: a fresh process per run (loopback, ephemeral port, clustering off, `group_by: ['...']` so
 *   every alert is a group of its own, `group_wait: 0s`), the alerts POSTed to `/api/v2/alerts` in requests
 *   of 500; the clock runs from the first POST to the Nth webhook received; CPU from /proc/<pid>/stat.
 * - vigil: a fresh webhook exporter and state folder per run (`sending_queue.num_consumers: 16`; a row
 *   with the default 4 too: Alertmanager sends every group's notification at once, unbounded; disk
 *   queue, fdatasync on), fed the way the alerts processor feeds an exporter after an evaluation round: one
 *   `consume()` per notification, all issued at once (they share fdatasyncs: group commit). The clock runs
 *   from the first `consume()` to the Nth webhook received; CPU from process.cpuUsage() (this process runs
 *   only vigil). A second row issues the calls one at a time (each waits for its own fdatasync: the disk's
 *   sync latency bounds it).
 * - vigil's whole path (rows "rule -> alerts processor -> exporter"): n series over a rule's threshold, one
 *   evaluation round of the alerts processor (one alert and one group per series), the same exporter; the
 *   clock runs from the evaluation to the Nth webhook received. This is the counterpart of Alertmanager's
 *   API -> dispatcher -> notify path.
 * Runs alternate (Alertmanager, vigil, vigil's whole path, Alertmanager...) so that load on the machine moves both; the
 * best of the rounds is printed with the load average. One unmeasured vigil run of 500 comes first (JIT
 * warm-up: a running daemon has compiled its delivery path long before a burst of 1,000 alerts). The goal is the README's row "notifications through
 * the fsync'd disk queue to a webhook".
 */
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
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
import { AlertmanagerProcess, alertmanagerBinary } from '../test/doubles/alertmanager.ts';
import { alertsProcessorFactory } from '../processors/alerts/index.ts';
import type { AlertsProcessor } from '../processors/alerts/alerts-processor.ts';
import { batchOf, gauge } from '../processors/alerts/testdata/batches.ts';
import { SinkConsumer, configFor, testSettings } from '../test/helpers/index.ts';
import { cpuSecondsOf, loadAverage } from './_proc.ts';

const SIZES = [1_000, 5_000];
const ROUNDS = Number(process.env.BENCH_DELIVERY_ROUNDS ?? 3);
/** Whole-run bound: a stuck side fails the bench instead of hanging it. */
const RUN_TIMEOUT_MS = 60_000;

function procWriteBytes(): number | undefined {
  try {
    const m = /write_bytes:\s+(\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, in ms. */
function cpuMsOf(pid: number): number {
  return cpuSecondsOf(pid) * 1000;
}

function alertLabels(i: number): Record<string, string> {
  return { alertname: 'HighP95Latency', severity: i % 5 === 0 ? 'critical' : 'warning', service_name: `svc-${i}`, team: 'payments' };
}

function notification(i: number, startsAt: string): AlertNotification {
  const labels = alertLabels(i);
  const alert: Alert = {
    status: 'firing',
    labels,
    annotations: { summary: `p95 latency of svc-${i} is ${2000 + i} ms` },
    startsAt,
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://vigil.local/rules/HighP95Latency',
    fingerprint: (0x1000000 + i).toString(16),
    value: 2000 + i,
  };
  return {
    exporters: ['webhook/bench'],
    groupKey: `{}:{alertname="HighP95Latency", service_name="svc-${i}"}`,
    status: 'firing',
    groupLabels: labels,
    commonLabels: labels,
    commonAnnotations: alert.annotations,
    externalURL: 'http://vigil.local',
    alerts: [alert],
  };
}

/** The webhook receiver in a child process: `wait(n)` resolves when it has answered n more requests. */
class Receiver {
  private child!: ChildProcess;
  url = '';
  private waiter: (() => void) | undefined;

  async start(): Promise<void> {
    const src = `
      const http = require('node:http');
      let count = 0, target = Infinity;
      const server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
          if (++count === target) { target = Infinity; process.send({ done: count }); }
        });
      });
      server.keepAliveTimeout = 30000;
      process.on('message', (m) => { if (m.expect !== undefined) { count = 0; target = m.expect; } if (m.stop) process.exit(0); });
      server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));`;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-recv-')), 'receiver.cjs');
    fs.writeFileSync(file, src);
    this.child = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    this.child.on('message', (m: { port?: number; done?: number }) => {
      if (m.port) this.url = `http://127.0.0.1:${m.port}/hook`;
      if (m.done) this.waiter?.();
    });
    while (!this.url) await new Promise((r) => setTimeout(r, 10));
  }

  /** Arms the count; the promise resolves at the n-th request after this call. */
  expect(n: number): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`receiver: ${n} webhooks not received within ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
      this.waiter = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.child.send({ expect: n });
    return p;
  }

  async stop(): Promise<void> {
    this.child.send({ stop: true });
    await new Promise((r) => this.child.once('exit', r));
  }
}

interface Result {
  rate: number;
  cpuMsPer1k: number;
  extra?: { fsyncs: number; writes: number; queueBytes: number; diskBytes: number | undefined };
}

async function runAlertmanager(bin: string, recv: Receiver, n: number): Promise<Result> {
  const config = [
    'route:',
    "  receiver: hook",
    "  group_by: ['...']",
    '  group_wait: 0s',
    '  group_interval: 5m',
    '  repeat_interval: 4h',
    'receivers:',
    '  - name: hook',
    '    webhook_configs:',
    `      - url: ${recv.url}`,
    '        send_resolved: false',
    '',
  ].join('\n');
  const am = await new AlertmanagerProcess(bin, config).start();
  try {
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const alerts = Array.from({ length: n }, (_, i) => ({
      labels: alertLabels(i),
      annotations: { summary: `p95 latency of svc-${i} is ${2000 + i} ms` },
      startsAt,
      generatorURL: 'http://vigil.local/rules/HighP95Latency',
    }));
    const bodies: string[] = [];
    for (let i = 0; i < n; i += 500) bodies.push(JSON.stringify(alerts.slice(i, i + 500)));
    const pid = am.pid!;
    const done = recv.expect(n);
    const cpu0 = cpuMsOf(pid);
    const t0 = performance.now();
    for (const body of bodies) {
      const r = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      if (!r.ok) throw new Error(`Alertmanager answered ${r.status}: ${await r.text()}`);
    }
    await done;
    const ms = performance.now() - t0;
    const cpu = cpuMsOf(pid) - cpu0;
    return { rate: (n / ms) * 1000, cpuMsPer1k: (cpu / n) * 1000 };
  } finally {
    await am.stop();
  }
}

async function runVigil(recv: Receiver, n: number, together: boolean, consumers = 16): Promise<Result> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-delivery-'));
  const telemetry = new ServiceTelemetry();
  const config = structuredClone({ url: recv.url, sending_queue: { num_consumers: consumers, max_items: n + 10 } }) as unknown as WebhookConfig;
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
  try {
    const startsAt = new Date().toISOString();
    const batches = Array.from({ length: n }, (_, i) => ({ alerts: [notification(i, startsAt)] }));
    const done = recv.expect(n);
    const io0 = procWriteBytes();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    if (together) await Promise.all(batches.map((b) => exp.consume(b)));
    else for (const b of batches) await exp.consume(b);
    await done;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    // the DONE records of the last deliveries are written by shutdown: count them too
    await exp.shutdown();
    const io1 = procWriteBytes();
    const st = exp.delivery!.diskStats!;
    return {
      rate: (n / ms) * 1000,
      cpuMsPer1k: ((cpu.user + cpu.system) / 1000 / n) * 1000,
      extra: { fsyncs: st.fsyncs, writes: st.writes, queueBytes: st.bytesWritten / n, diskBytes: io0 !== undefined && io1 !== undefined ? (io1 - io0) / n : undefined },
    };
  } finally {
    await exp.shutdown();
    await telemetry.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

/**
 * vigil's whole path from data to webhook, the counterpart of Alertmanager's API -> dispatcher -> notify:
 * n series over a threshold, one evaluation round of the alerts processor (one alert and one group per
 * series, as `group_by: ['...']` in Alertmanager), the webhook exporter's durable queue, the webhook. The
 * clock runs from the evaluation to the Nth webhook received.
 */
async function runVigilPipeline(recv: Receiver, n: number): Promise<Result> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-delivery-'));
  const telemetry = new ServiceTelemetry();
  const exp = webhookExporterFactory.create(
    { ...testSettings('exporter', 'webhook/bench', { stateDir }), telemetry: telemetry.forComponent('exporter', 'webhook/bench') },
    configFor(webhookExporterFactory, { url: recv.url, sending_queue: { num_consumers: 16, max_items: n + 10 } }),
  ) as NotificationExporter;
  await exp.start({ reportFatal: () => undefined });
  const proc = alertsProcessorFactory.create(
    testSettings('processor', 'alerts', {
      stateDir,
      emit: { consume: (b) => exp.consume(b) },
      service: { componentIds: { receiver: [], processor: ['alerts'], exporter: ['webhook/bench'] }, pipelines: { main: { receivers: [], processors: ['alerts'], exporters: ['webhook/bench'] } } },
    }),
    configFor(alertsProcessorFactory, {
      interval: '1h', // evaluated by the bench's own tick()
      max_aggregation_groups: n + 10,
      rules: [{ name: 'HighP95Latency', metric: 'latency.p95', stat: 'last', op: '>', threshold: 1000, group_by: ['service_name'], limit: 0, annotations: { summary: 'p95 latency of {{ $labels.service_name }} is {{ $value }} ms' } }],
      route_defaults: { group_wait: '0s', group_by: ['...'] },
    }),
  ) as AlertsProcessor;
  await proc.start({ reportFatal: () => undefined });
  try {
    const now = Date.now();
    await proc.process(batchOf(Array.from({ length: n }, (_, i) => gauge('latency.p95', { service_name: `svc-${i}` }, 2000 + i, now))), new SinkConsumer());
    const done = recv.expect(n);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await proc.tick(Date.now());
    await done;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await proc.shutdown();
    await exp.shutdown();
    const st = exp.delivery!.diskStats!;
    return { rate: (n / ms) * 1000, cpuMsPer1k: ((cpu.user + cpu.system) / 1000 / n) * 1000, extra: { fsyncs: st.fsyncs, writes: st.writes, queueBytes: st.bytesWritten / n, diskBytes: undefined } };
  } finally {
    await proc.shutdown();
    await exp.shutdown();
    await telemetry.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

const best = (rs: Result[]) => rs.reduce((a, b) => (b.rate > a.rate ? b : a));

export async function run(): Promise<void> {
  const recv = new Receiver();
  await recv.start();
  // BENCH_DELIVERY_SIDES=vigil skips Alertmanager (profiling vigil alone)
  const bin = process.env.BENCH_DELIVERY_SIDES === 'vigil' ? undefined : alertmanagerBinary();
  if (!bin) console.log('Alertmanager is not installed (.ci/steps/40-alertmanager.sh installs it): vigil figures only');
  const rows: string[][] = [
    ['alerts (vigil: consume() per notification, all at once)', 'Alertmanager /s', 'AM CPU ms/1k', 'vigil /s (durable)', 'vigil CPU ms/1k', 'vigil / AM', 'fdatasyncs', 'writes', 'queue B/notif', 'disk B/notif (/proc)'],
  ];
  const payloadBytes = Buffer.byteLength(JSON.stringify(notification(1, new Date().toISOString())));
  const verdicts: string[] = [];
  try {
    // one unmeasured run first: a daemon's JIT is warm after its first minutes, a fresh bench process's is not
    await runVigil(recv, 500, true);
    for (const n of SIZES) {
      const am: Result[] = [];
      const vg: Result[] = [];
      const pl: Result[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        if (bin) am.push(await runAlertmanager(bin, recv, n));
        vg.push(await runVigil(recv, n, true));
        pl.push(await runVigilPipeline(recv, n));
      }
      const a = bin ? best(am) : undefined;
      const v = best(vg);
      const p = best(pl);
      const x = v.extra!;
      rows.push([
        `${n}`,
        a ? a.rate.toFixed(0) : 'n/a',
        a ? a.cpuMsPer1k.toFixed(0) : 'n/a',
        v.rate.toFixed(0),
        v.cpuMsPer1k.toFixed(0),
        a ? (v.rate / a.rate).toFixed(2) : 'n/a',
        String(x.fsyncs),
        String(x.writes),
        x.queueBytes.toFixed(0),
        x.diskBytes !== undefined ? x.diskBytes.toFixed(0) : 'n/a',
      ]);
      rows.push([`${n}, rule -> alerts processor -> exporter`, '', '', p.rate.toFixed(0), p.cpuMsPer1k.toFixed(0), a ? (p.rate / a.rate).toFixed(2) : 'n/a', String(p.extra!.fsyncs), String(p.extra!.writes), p.extra!.queueBytes.toFixed(0), 'n/a']);
      if (a)
        verdicts.push(
          `${n} alerts: exporter ${v.rate >= a.rate ? 'at or above' : 'BELOW'} Alertmanager's rate (${(v.rate / a.rate).toFixed(2)}x), whole path ${p.rate >= a.rate ? 'at or above' : 'BELOW'} (${(p.rate / a.rate).toFixed(2)}x)`,
        );
    }
    const dflt = best([await runVigil(recv, 1000, true, 4), await runVigil(recv, 1000, true, 4)]);
    rows.push(['1000, num_consumers 4 (default)', '', '', dflt.rate.toFixed(0), dflt.cpuMsPer1k.toFixed(0), '', String(dflt.extra!.fsyncs), String(dflt.extra!.writes), dflt.extra!.queueBytes.toFixed(0), dflt.extra!.diskBytes?.toFixed(0) ?? 'n/a']);
    const seq = await runVigil(recv, 300, false);
    rows.push(['300, one consume() at a time', '', '', seq.rate.toFixed(0), seq.cpuMsPer1k.toFixed(0), '', String(seq.extra!.fsyncs), String(seq.extra!.writes), seq.extra!.queueBytes.toFixed(0), seq.extra!.diskBytes?.toFixed(0) ?? 'n/a']);
  } finally {
    await recv.stop();
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((v, c) => v.padEnd(widths[c]!)).join('  '));
  console.log(`best of ${ROUNDS} alternating rounds; webhook payload ${payloadBytes} bytes; load average ${loadAverage()}`);
  console.log(`goal: at or above Alertmanager's rate for 1,000 and 5,000 alerts, durable: ${verdicts.join('; ') || 'n/a (no Alertmanager)'}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
