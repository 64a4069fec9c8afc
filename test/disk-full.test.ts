/**
 * A bad disk day (issue 12): state and output on a 1 MiB tmpfs. For the webhook exporter's queue, the otlp
 * exporter's queue and the file exporter, in a child process: write, fill the disk, write, free it, write,
 * kill -9, restart. Every acknowledged item must come out (queues: delivered exactly once here, since the
 * target was down the whole time before the kill; the README promises at least once in general), nothing
 * refused half-written, the refusals retryable, /readyz naming the exporter while the disk is full and ready
 * again once it has room, the queue gauge counting only what is on disk. State files (alert state,
 * alertmanager set, budgets, silences) written on a full disk keep their previous version, parse, and leave
 * no temp file.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Exporter } from '../src/component.ts';
import { StateWriteError, writeFileAtomic, writeFileAtomicSync } from '../src/atomic-file.ts';
import { DiskQueue } from '../src/delivery/disk-queue.ts';
import { webhookExporterFactory } from '../exporters/webhook/index.ts';
import type { WebhookPayload } from '../src/delivery/webhook-payload.ts';
import { otlpExporterFactory } from '../exporters/otlp/index.ts';
import { alertmanagerExporterFactory } from '../exporters/alertmanager/index.ts';
import { pagerdutyExporterFactory } from '../exporters/pagerduty/index.ts';
import { opsgenieExporterFactory } from '../exporters/opsgenie/index.ts';
import { prometheusExporterFactory } from '../exporters/prometheus/index.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import type { Factory } from '../src/component.ts';
import type { NotificationExporter } from '../src/delivery/notification-exporter.ts';
import type { AlertmanagerSender } from '../exporters/alertmanager/alertmanager-exporter.ts';
import { SinkConsumer, configFor, testSettings, waitFor } from './helpers/index.ts';
import { alertsProcessorFactory } from '../processors/alerts/index.ts';
import type { AlertsProcessor } from '../processors/alerts/alerts-processor.ts';
import { batchOf, gauge } from '../processors/alerts/testdata/batches.ts';
import { costProcessorFactory } from '../processors/cost/index.ts';
import type { CostProcessor } from '../processors/cost/cost-processor.ts';
import { getAttr, type NumberDataPoint } from '../src/model.ts';
import { attrs, resourceSpans, span } from './percentiles-helpers.ts';
import { freePort } from './helpers/daemon.ts';
import { mountTmpfs, skipBanner, type Tmpfs } from './helpers/tmpfs.ts';
import { RecordingServer } from './doubles/http-server.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';

const MiB = 1024 * 1024;
const probe = mountTmpfs(MiB);
const canMount = typeof probe !== 'string';
if (typeof probe === 'string') skipBanner(probe);
else probe.unmount();

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tmpfs(): Tmpfs {
  const t = mountTmpfs(MiB);
  if (typeof t === 'string') throw new Error(t);
  cleanup.push(() => t.unmount());
  return t;
}

interface Reply {
  seq: number;
  ok?: boolean;
  error?: string;
  retryable?: boolean;
  ready?: string;
  queued?: number;
}

/** The disk-full child (test/doubles/disk-full-child.ts) and a request/answer channel to it. */
async function child(kind: 'webhook' | 'otlp' | 'file', stateDir: string, target: string) {
  const proc: ChildProcess = fork(new URL('./doubles/disk-full-child.ts', import.meta.url).pathname, [kind, stateDir, target], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  cleanup.push(() => void proc.kill('SIGKILL'));
  const waiting = new Map<number, (r: Reply) => void>();
  proc.on('message', (r: Reply) => waiting.get(r.seq)?.(r));
  await new Promise<void>((resolve, reject) => {
    waiting.set(0, () => resolve());
    proc.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
  let seq = 0;
  const ask = (msg: object): Promise<Reply> =>
    new Promise((resolve) => {
      const s = ++seq;
      waiting.set(s, resolve);
      proc.send({ ...msg, seq: s });
    });
  return {
    consume: (n: number) => ask({ op: 'consume', n }),
    status: () => ask({ op: 'status' }),
    async kill9() {
      proc.kill('SIGKILL');
      if (proc.exitCode === null && proc.signalCode === null) await new Promise((r) => proc.once('exit', r));
    },
  };
}

/**
 * Runs the day: 5 writes, disk filled, 5 writes, disk freed, 10 writes, kill -9. Returns the numbers of
 * the items acknowledged and refused.
 */
async function badDiskDay(t: Tmpfs, c: Awaited<ReturnType<typeof child>>, kindLabel: string) {
  const acked: number[] = [];
  const refused: number[] = [];
  const write = async (n: number) => {
    const r = await c.consume(n);
    if (r.ok) acked.push(n);
    else {
      refused.push(n);
      expect(r.retryable, `refusal of ${n} is retryable: ${r.error}`).toBe(true);
    }
    return r;
  };
  for (let n = 0; n < 5; n++) expect((await write(n)).ok).toBe(true);
  t.fill();
  let sawFull: Reply | undefined;
  for (let n = 5; n < 10; n++) {
    const r = await write(n);
    if (!r.ok) sawFull = r;
  }
  expect(sawFull, 'a write on the full disk is refused').toBeDefined();
  expect(sawFull!.error).toMatch(/no space left on device \(ENOSPC\)/);
  expect(sawFull!.error).toMatch(/\d+ bytes/);
  expect(sawFull!.ready, '/readyz names the exporter that cannot write').toContain(`exporter/${kindLabel}`);
  const full = await c.status();
  if (full.queued !== undefined) expect(full.queued, 'the queue gauge counts only what is on disk').toBe(acked.length);
  t.free();
  for (let n = 10; n < 20; n++) expect((await write(n)).ok, `write ${n} after the disk was freed`).toBe(true);
  const after = await c.status();
  expect(after.ready, 'ready again once a write worked').toBeUndefined();
  if (after.queued !== undefined) expect(after.queued).toBe(acked.length);
  await c.kill9();
  return { acked, refused };
}

describe.skipIf(!canMount)('disk full: tmpfs of 1 MiB', () => {
  afterAll(() => undefined);

  it('webhook exporter queue: every acknowledged notification is delivered once after fill, free, kill -9 and restart', async () => {
    const t = tmpfs();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    const c = await child('webhook', t.dir, url);
    const { acked, refused } = await badDiskDay(t, c, 'webhook/disk');
    expect(refused.length).toBeGreaterThan(0);

    const target = await new RecordingServer().start(port);
    cleanup.push(() => target.close());
    const exp = webhookExporterFactory.create(testSettings('exporter', 'webhook/disk', { stateDir: t.dir }), configFor(webhookExporterFactory, { url })) as Exporter;
    await exp.start({ reportFatal: () => undefined });
    cleanup.push(() => exp.shutdown());
    const got = () => target.requests.map((r) => Number((r.json as WebhookPayload).alerts[0]!.labels.n));
    await waitFor(() => acked.every((n) => got().includes(n)), 20_000, 'every acknowledged notification');
    await new Promise((r) => setTimeout(r, 300));
    const counts = new Map<number, number>();
    for (const n of got()) counts.set(n, (counts.get(n) ?? 0) + 1);
    for (const n of acked) expect(counts.get(n), `notification ${n}`).toBe(1);
    for (const n of refused) expect(counts.has(n), `refused notification ${n} is not delivered`).toBe(false);
  }, 60_000);

  it('otlp exporter queue: every acknowledged span is forwarded once after fill, free, kill -9 and restart', async () => {
    const t = tmpfs();
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const c = await child('otlp', t.dir, endpoint);
    const { acked, refused } = await badDiskDay(t, c, 'otlp/disk');
    expect(refused.length).toBeGreaterThan(0);

    const target = await new RecordingServer().start(port);
    cleanup.push(() => target.close());
    const exp = otlpExporterFactory.create(
      testSettings('exporter', 'otlp/disk', { stateDir: t.dir }),
      configFor(otlpExporterFactory, { endpoint, protocol: 'http/json', compression: 'none' }),
    ) as Exporter;
    await exp.start({ reportFatal: () => undefined });
    cleanup.push(() => exp.shutdown());
    const names = () =>
      target.requests.flatMap((r) =>
        ((r.json as { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] }).resourceSpans ?? []).flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))),
      );
    await waitFor(() => acked.every((n) => names().includes(`op-${n}`)), 20_000, 'every acknowledged span');
    await new Promise((r) => setTimeout(r, 300));
    for (const n of acked) expect(names().filter((x) => x === `op-${n}`).length, `span op-${n}`).toBe(1);
    for (const n of refused) expect(names().includes(`op-${n}`), `refused span op-${n}`).toBe(false);
  }, 60_000);

  it('file exporter: the output stays valid JSON lines with every acknowledged alert once and nothing refused', async () => {
    const t = tmpfs();
    const file = path.join(t.dir, 'out', 'alerts.jsonl');
    const c = await child('file', path.join(t.dir, 'state'), file);
    const { acked, refused } = await badDiskDay(t, c, 'file/disk');
    expect(refused.length).toBeGreaterThan(0);
    const text = fs.readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.split('\n').slice(0, -1);
    const ns = lines.map((l, i) => {
      let o: { alert: { labels: { n: string } } };
      try {
        o = JSON.parse(l) as typeof o;
      } catch {
        throw new Error(`line ${i + 1} is not JSON: ${l.slice(0, 80)}...`);
      }
      return Number(o.alert.labels.n);
    });
    expect(ns.sort((a, b) => a - b)).toEqual([...acked].sort((a, b) => a - b));
  }, 60_000);

  it('a dead letter that cannot be written on a full disk keeps the notification queued until it can', async () => {
    const t = tmpfs();
    const target = await new RecordingServer(() => ({ status: 400, body: 'invalid_payload' })).start();
    cleanup.push(() => target.close());
    target.script.push({ status: 503 });
    const exp = webhookExporterFactory.create(
      testSettings('exporter', 'webhook/dl', { stateDir: t.dir }),
      configFor(webhookExporterFactory, { url: `${target.url}/hook`, retry: { initial_interval: '300ms' } }),
    ) as Exporter & { queue: { size: number } };
    await exp.start({ reportFatal: () => undefined });
    cleanup.push(() => exp.shutdown());
    await exp.consume({ alerts: [makeNotification(['webhook/dl'], { alerts: [makeAlert({ alertname: 'DL', pad: 'q'.repeat(2000) })] })] });
    await waitFor(() => target.requests.length >= 1, 5000, 'the first (retryable) attempt');
    t.fill();
    await waitFor(() => target.requests.length >= 2, 5000, 'the second attempt, answered 400 (permanent)');
    await new Promise((r) => setTimeout(r, 300));
    const dlFile = path.join(t.dir, 'exporters', 'webhook_dl', 'dead-letter.jsonl');
    expect(exp.queue.size, 'kept queued while the dead letter cannot be written').toBe(1);
    expect(fs.existsSync(dlFile) ? fs.readFileSync(dlFile, 'utf8') : '').toBe('');
    t.free();
    await waitFor(() => exp.queue.size === 0, 10_000, 'the dead letter written once there is room');
    const lines = fs.readFileSync(dlFile, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).reason).toMatch(/permanent error/);
  }, 30_000);

  it('disk queue: a failed append is cut back, counters drop it, good records after a bad one replay', async () => {
    const t = tmpfs();
    const dir = path.join(t.dir, 'q');
    const q = await DiskQueue.open<{ n: number; pad: string }>(dir);
    const pad = 'x'.repeat(5000);
    for (let n = 0; n < 5; n++) await q.append([{ item: { n, pad }, severity: 0 }]);
    const bytes = q.bytes;
    t.fill();
    let failures = 0;
    for (let n = 5; n < 10; n++) await q.append([{ item: { n, pad }, severity: 0 }]).catch(() => failures++);
    expect(failures).toBeGreaterThan(0);
    expect(q.writeError?.code).toBe('ENOSPC');
    expect(q.size).toBe(5 + 5 - failures);
    expect(q.bytes).toBeLessThanOrEqual(bytes + (5 - failures) * (bytes / 5) + 100);
    t.free();
    for (let n = 10; n < 20; n++) await q.append([{ item: { n, pad }, severity: 0 }]);
    expect(q.writeError).toBeUndefined();
    const expected = [...q.values()].map((e) => e.item.n);
    // no close: as a kill -9 leaves it
    const again = await DiskQueue.open<{ n: number; pad: string }>(dir);
    expect([...again.values()].map((e) => e.item.n)).toEqual(expected);
    expect(again.stats.tornRecords).toBe(0);
    await again.close();
  });

  it('state files: a write on a full disk fails whole, keeps the previous file, leaves no temp file; it works again once freed', async () => {
    const t = tmpfs();
    const file = path.join(t.dir, 'processors', 'alerts', 'state.json');
    writeFileAtomicSync(file, JSON.stringify({ version: 1, n: 'old' }));
    t.fill();
    const big = JSON.stringify({ version: 1, n: 'new', pad: 'z'.repeat(20_000) });
    expect(() => writeFileAtomicSync(file, big)).toThrow(StateWriteError);
    expect(() => writeFileAtomicSync(file, big)).toThrow(/no space left on device \(ENOSPC\) writing 20\d\d\d bytes/);
    await expect(writeFileAtomic(file, big)).rejects.toThrow(StateWriteError);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ version: 1, n: 'old' });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['state.json']);
    t.free();
    writeFileAtomicSync(file, big);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).n).toBe('new');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['state.json']);
  });
});

describe.skipIf(!canMount)('disk full: a reload takes over state that could not be saved', () => {
  const pipelines = { main: { receivers: [], processors: ['alerts'], exporters: ['webhook/ops'] } };
  const service = { componentIds: { receiver: [], processor: ['alerts'], exporter: ['webhook/ops'] }, pipelines };
  const alertsConfig = (interval: string) => ({
    interval,
    rules: [{ name: 'Backlog', metric: 'queue_depth', stat: 'last', window: '5s', op: '>', threshold: 0 }],
    routes: [{ exporters: ['webhook/ops'], group_wait: '0s', repeat_interval: '4h' }],
  });

  it('alerts: a reload that changes the processor while state.json cannot be written neither re-pages a firing alert nor forgets it', async () => {
    const t = tmpfs();
    const emitted = new SinkConsumer();
    const settingsA = testSettings('processor', 'alerts', { stateDir: t.dir, emit: emitted, service });
    const a = alertsProcessorFactory.create(settingsA, configFor(alertsProcessorFactory, alertsConfig('10s'))) as AlertsProcessor;
    await a.start({ reportFatal: () => undefined });
    t.fill();
    const now = Date.now();
    await a.process(batchOf([gauge('queue_depth', {}, 5, now)]), new SinkConsumer());
    await a.tick(now);
    expect(emitted.alerts.map((n) => n.status)).toEqual(['firing']);
    const startsAt = emitted.alerts[0]!.alerts[0]!.startsAt;
    await a.shutdown(); // its state.json cannot be written: the disk is full
    // the reload (interval changed) replaces the processor; the disk is still full
    const settingsB = testSettings('processor', 'alerts', { stateDir: t.dir, emit: emitted, service, previous: a });
    const b = alertsProcessorFactory.create(settingsB, configFor(alertsProcessorFactory, alertsConfig('5s'))) as AlertsProcessor;
    await b.start({ reportFatal: () => undefined });
    await b.process(batchOf([gauge('queue_depth', {}, 5, now + 5000)]), new SinkConsumer());
    await b.tick(now + 5000);
    expect(emitted.alerts.map((n) => n.status), 'no second page for an alert already notified').toEqual(['firing']);
    // it resolves: the resolve goes out with the same startsAt
    await b.process(batchOf([gauge('queue_depth', {}, 0, now + 20_000)]), new SinkConsumer());
    await b.tick(now + 20_000);
    expect(emitted.alerts.map((n) => n.status)).toEqual(['firing', 'resolved']);
    expect(emitted.alerts[1]!.alerts[0]!.startsAt).toBe(startsAt);
    t.free();
    await b.tick(now + 25_000);
    await b.shutdown();
    expect(fs.readdirSync(path.join(t.dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('cost: a reload that changes the processor while budgets.json cannot be written keeps the spend', async () => {
    const t = tmpfs();
    const budgets = [{ name: 'daily', period: 'day', limit_usd: 10 }];
    const make = (previous?: CostProcessor) => {
      const emitted = new SinkConsumer();
      const proc = costProcessorFactory.create(
        testSettings('processor', 'cost', { stateDir: t.dir, emit: emitted, ...(previous ? { previous } : {}) }),
        configFor(costProcessorFactory, { budgets, persist_interval: '100ms', ...(previous ? { interval: '30s' } : {}) }),
      ) as CostProcessor;
      return { proc, emitted };
    };
    const spent = async ({ proc, emitted }: ReturnType<typeof make>) => {
      emitted.batches.length = 0;
      await proc.flush();
      const points = emitted.metrics.filter((m) => m.name === 'llm.budget.spent').flatMap((m) => m.data!.dataPoints as NumberDataPoint[]);
      return Number(points.find((dp) => getAttr(dp.attributes, 'budget') === 'daily')!.value);
    };
    // $2 of gpt-4o input at $2.50 per 1M tokens
    const spend = (proc: CostProcessor) =>
      proc.process({ resourceSpans: [resourceSpans('bot', [span(Date.now(), 10, { attributes: attrs({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 800_000 }) })])] }, new SinkConsumer());
    const a = make();
    await a.proc.start();
    await spend(a.proc);
    await a.proc.persistNow();
    t.fill();
    await spend(a.proc);
    await spend(a.proc);
    expect(await spent(a)).toBeCloseTo(6, 9);
    await a.proc.shutdown(); // budgets.json keeps the $2 version: the disk is full
    expect(JSON.parse(fs.readFileSync(a.proc.budgetFile, 'utf8')).budgets.daily.groups[0].spent).toBeCloseTo(2, 9);
    const b = make(a.proc);
    await b.proc.start();
    expect(await spent(b), 'the spend of before the reload is kept').toBeCloseTo(6, 9);
    t.free();
    await b.proc.shutdown();
    expect(JSON.parse(fs.readFileSync(b.proc.budgetFile, 'utf8')).budgets.daily.groups[0].spent, 'and written once the disk has room').toBeCloseTo(6, 9);
  });

  it('alertmanager exporter: the firing set that could not be saved is saved once there is room, and a reload keeps it', async () => {
    const t = tmpfs();
    const make = (previous?: Exporter) =>
      alertmanagerExporterFactory.create(
        testSettings('exporter', 'alertmanager', { stateDir: t.dir, ...(previous ? { previous } : {}) }),
        configFor(alertmanagerExporterFactory, { url: 'http://127.0.0.1:9', ...(previous ? { resend_delay: '2m' } : {}) }),
      ) as NotificationExporter;
    const firing = (name: string) => ({ alerts: [makeNotification(['alertmanager'], { alerts: [makeAlert({ alertname: name, severity: 'critical' })] })] });
    const saved = () => {
      const dir = path.join(t.dir, 'exporters', 'alertmanager');
      return (JSON.parse(fs.readFileSync(path.join(dir, 'active.json'), 'utf8')) as { labels: Record<string, string> }[]).map((a) => a.labels.alertname).sort();
    };
    const a = make();
    await a.start();
    await a.consume(firing('One'));
    expect(saved()).toEqual(['One']);
    t.fill();
    // (whether the queue takes it depends on the slack in its segment's last page; if not, the refusal is
    // retryable) the firing set holds it, and cannot save it
    await a.consume(firing('Two')).catch((e: Error) => expect(e.message).toMatch(/no space left on device/));
    await a.shutdown(); // the disk is still full
    expect(saved()).toEqual(['One']);
    const b = make(a);
    await b.start();
    expect((b as unknown as { sender: AlertmanagerSender }).sender.activeCount, 'the reload keeps the firing set held in memory').toBe(2);
    t.free();
    await b.shutdown();
    expect(saved(), 'saved once the disk has room, without waiting for another change').toEqual(['One', 'Two']);
  });
});

/**
 * A running service's telemetry, and what its /readyz says of state files (the queue, on the same full disk, has
 * its own part); the clock of the retry timers (setInterval) is mocked, nothing else.
 */
function stateFileReadiness(): { telemetry: ServiceTelemetry; stateFile: () => string | undefined } {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  cleanup.push(() => void vi.useRealTimers());
  const telemetry = new ServiceTelemetry();
  telemetry.phase = 'running';
  return { telemetry, stateFile: () => telemetry.notReadyReason()?.split('; ').find((p) => p.includes('(state file)')) };
}

describe.skipIf(!canMount)('disk full: the incident state of the on-call exporters', () => {
  const cases: [string, Factory, Record<string, unknown>][] = [
    ['pagerduty', pagerdutyExporterFactory as Factory, { url: 'http://127.0.0.1:9/v2/enqueue', routing_key: 'R0UT1NGKEY0000000000000000000000' }],
    ['opsgenie', opsgenieExporterFactory as Factory, { api_url: 'http://127.0.0.1:9', api_key: '00000000-0000-0000-0000-000000000000' }],
  ];
  it.each(cases)('%s: a state that could not be saved is on /readyz, retried until saved, at shutdown, and a reload keeps it', async (type, factory, target) => {
    const t = tmpfs();
    const { telemetry, stateFile } = stateFileReadiness();
    const make = (previous?: Exporter) =>
      factory.create(
        testSettings('exporter', type, { stateDir: t.dir, telemetry: telemetry.forComponent('exporter', type), ...(previous ? { previous } : {}) }),
        // the reload changes the config (timeout), so the exporter is replaced
        configFor(factory, { ...target, shutdown_timeout: '100ms', ...(previous ? { timeout: '5s' } : {}) }),
      ) as NotificationExporter;
    const group = (name: string, status: 'firing' | 'resolved') => ({
      alerts: [makeNotification([type], { groupKey: `{}:{alertname="${name}"}`, status, alerts: [makeAlert({ alertname: name }, { status })] })],
    });
    const file = path.join(t.dir, 'exporters', type, 'incidents.json');
    const openIncidents = () => Object.values(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { firing: string[] }>).filter((i) => i.firing.length).length;
    // (whether the queue takes a notice on the full disk depends on the slack in its segment's last page; if
    // not, the refusal is retryable) the incident state has it either way, and cannot save it
    const consume = (exp: NotificationExporter, batch: ReturnType<typeof group>) => exp.consume(batch).catch((e: Error) => expect(e.message).toMatch(/no space left on device/));

    const a = make();
    await a.start();
    await consume(a, group('One', 'firing'));
    expect(openIncidents()).toBe(1);
    t.fill();
    await consume(a, group('Two', 'firing'));
    expect(stateFile(), '/readyz names the state file that cannot be saved').toMatch(
      new RegExp(`exporter/${type} \\(state file\\): cannot save the incident state: .*no space left on device`),
    );
    await a.shutdown(); // the disk is still full
    expect(openIncidents()).toBe(1);

    const b = make(a);
    await b.start();
    expect(stateFile(), 'still unsaved after the reload').toMatch(/state file/);
    t.free();
    // the saves run off the event loop (only setInterval is mocked): the retry timer is moved on until one of its
    // saves has worked (the save the reload started on the full disk may still be failing at this point)
    await waitFor(
      () => {
        vi.advanceTimersByTime(5000);
        return stateFile() === undefined;
      },
      5000,
      'the retried save',
    ).catch(() => undefined);
    expect(openIncidents(), 'saved by the retry, without waiting for a change; the reload kept the state held in memory').toBe(2);
    expect(stateFile(), 'ready once saved').toBeUndefined();

    t.fill();
    await consume(b, group('One', 'resolved'));
    expect(stateFile()).toMatch(/state file/);
    t.free();
    await b.shutdown();
    expect(openIncidents(), 'saved at shutdown').toBe(1);
    expect(stateFile()).toBeUndefined();
  });
});

describe.skipIf(!canMount)('disk full: the prometheus exporter\'s ALERTS file', () => {
  it('a firing set that could not be saved is on /readyz, saved at the next sweep and at shutdown, and a reload keeps it', async () => {
    const t = tmpfs();
    const { telemetry, stateFile } = stateFileReadiness();
    const make = (previous?: Exporter) =>
      prometheusExporterFactory.create(
        testSettings('exporter', 'prometheus', { stateDir: t.dir, telemetry: telemetry.forComponent('exporter', 'prometheus'), ...(previous ? { previous } : {}) }),
        // the reload changes the config, so the exporter is replaced; expiry sweeps every 60 s
        configFor(prometheusExporterFactory, { endpoint: '127.0.0.1:0', metric_expiration: previous ? '4m' : '5m' }),
      ) as Exporter;
    const alert = (name: string, status: 'firing' | 'resolved') => ({ alerts: [makeNotification([], { status, alerts: [makeAlert({ alertname: name }, { status })] })] });
    const file = path.join(t.dir, 'exporters', 'prometheus', 'alerts.json');
    const saved = () => Object.values(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { labels: Record<string, string> }>).map((a) => a.labels.alertname).sort();

    const a = make();
    await a.start({ reportFatal: () => undefined });
    await a.consume(alert('One', 'firing'));
    expect(saved()).toEqual(['One']);
    t.fill();
    await a.consume(alert('Two', 'firing'));
    expect(stateFile(), '/readyz names the file that cannot be saved').toMatch(/exporter\/prometheus \(state file\): cannot save the firing alerts: .*no space left on device/);
    await a.shutdown(); // the disk is still full
    expect(saved()).toEqual(['One']);

    const b = make(a);
    await b.start({ reportFatal: () => undefined });
    cleanup.push(() => b.shutdown());
    t.free();
    vi.advanceTimersByTime(60_000);
    expect(saved(), 'saved at the sweep, without waiting for a change; the reload kept the alerts held in memory').toEqual(['One', 'Two']);
    expect(stateFile()).toBeUndefined();

    t.fill();
    await b.consume(alert('One', 'resolved'));
    expect(stateFile()).toMatch(/state file/);
    t.free();
    await b.shutdown();
    expect(saved(), 'saved at shutdown').toEqual(['Two']);
    expect(stateFile()).toBeUndefined();
  });
});

describe.skipIf(!canMount)('disk full: a full queue', () => {
  it('drops nothing to make room for a notification the full disk then refuses', async () => {
    const t = tmpfs();
    const exp = webhookExporterFactory.create(
      testSettings('exporter', 'webhook/ops', { stateDir: t.dir }),
      configFor(webhookExporterFactory, { url: 'http://127.0.0.1:9/hook', sending_queue: { max_items: 2 }, retry: { initial_interval: '10m', max_interval: '10m' } }),
    ) as NotificationExporter;
    await exp.start();
    cleanup.push(() => exp.shutdown());
    const big = 'x'.repeat(16 * 1024); // bigger than the slack in the last page of a segment
    const notice = (name: string, severity: string) => ({
      alerts: [makeNotification(['webhook/ops'], { alerts: [makeAlert({ alertname: name, severity }, { annotations: { summary: big } })] })],
    });
    await exp.consume(notice('W1', 'warning'));
    await exp.consume(notice('W2', 'warning'));
    expect(exp.delivery!.stats(), JSON.stringify(exp.delivery!.recent())).toMatchObject({ queued: 2 });
    t.fill();
    await expect(exp.consume(notice('C1', 'critical'))).rejects.toMatchObject({ permanent: false });
    expect(exp.delivery!.stats(), 'the warnings stay queued: nothing was dropped for an item that was not queued').toMatchObject({ queued: 2, dropped: 0 });
    t.free();
    await exp.consume(notice('C1', 'critical'));
    expect(exp.delivery!.stats(), 'once queued, the critical takes the place of the oldest warning').toMatchObject({ queued: 2, dropped: 1 });
  });
});
