/** Alert state survives a clean restart and a kill -9: nothing is paged twice, no resolve is lost. */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { configFor, recordingLogger, testSettings, tempDir } from './helpers/index.ts';
import type { AlertNotification, Batch } from '../src/model.ts';
import { retryableError } from '../src/errors.ts';
import { alertsProcessorFactory } from '../processors/alerts/index.ts';
import type { AlertsProcessor } from '../processors/alerts/alerts-processor.ts';
import { batchOf, gauge } from '../processors/alerts/testdata/batches.ts';

const dirs: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const M = 60_000;
const raw = {
  interval: '1h',
  rules: [{ name: 'HighLoad', metric: 'load', group_by: ['host'], stat: 'last', window: '5m', op: '>', threshold: 10, for: '1m', severity: 'critical' }],
  routes: [{ exporters: ['webhook/ops', 'file/log'], group_wait: '0s', group_interval: '1m', repeat_interval: '4h' }],
};

function instance(stateDir: string, fail?: { on: boolean }, logger = recordingLogger().logger) {
  const got: AlertNotification[] = [];
  const settings = testSettings('processor', 'alerts', {
    stateDir,
    logger,
    emit: {
      consume: async (b: Batch) => {
        if (fail?.on) throw retryableError('downstream full');
        got.push(...(b.alerts ?? []));
      },
    },
    service: { componentIds: { receiver: [], processor: ['alerts'], exporter: ['webhook/ops', 'file/log'] }, pipelines: {} },
  });
  const proc = alertsProcessorFactory.create(settings, configFor(alertsProcessorFactory, raw)) as AlertsProcessor;
  const next = { consume: async () => undefined };
  const feed = (host: string, v: number, t: number) => proc.process(batchOf([gauge('load', { host }, v, t)]), next);
  return { proc, got, feed };
}

const summary = (ns: AlertNotification[]) => ns.flatMap((n) => n.exporters.flatMap((e) => n.alerts.map((a) => `${e} ${a.status} ${a.labels.host}`))).sort();

describe('restart in-process', () => {
  it('keeps firing alerts, pending timers and notification times; resolves after the restart', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const t0 = Date.now();
    const a = instance(dir);
    await a.proc.start({ reportFatal: () => undefined });
    await a.feed('h1', 50, t0);
    await a.feed('h2', 50, t0 + M);
    await a.proc.tick(t0);
    await a.proc.tick(t0 + M); // h1 fires (for: 1m); h2 pending since t0+1m
    expect(summary(a.got)).toEqual(['file/log firing h1', 'webhook/ops firing h1']);
    await a.proc.shutdown();
    await a.proc.shutdown(); // idempotent
    expect(fs.existsSync(path.join(dir, 'processors/alerts/state.json'))).toBe(true);

    const b = instance(dir);
    await b.proc.start({ reportFatal: () => undefined });
    await b.feed('h1', 50, t0 + 2 * M);
    await b.feed('h2', 50, t0 + 2 * M);
    await b.proc.tick(t0 + 2 * M);
    // h2's pending timer survived, so it fires now; the notification is the group's state (h1 comes along:
    // the group's notification log survived too, so h1 alone would not have been sent inside its repeat interval)
    expect(summary(b.got)).toEqual(['file/log firing h1', 'file/log firing h2', 'webhook/ops firing h1', 'webhook/ops firing h2']);
    expect(b.got[0]!.alerts.find((a) => a.labels.host === 'h2')!.startsAt).toBe(new Date(t0 + M).toISOString());
    b.got.length = 0;
    // the 5m window has not been observed for its full length since the restart: no data for clearing
    await b.feed('h1', 1, t0 + 3 * M);
    await b.proc.tick(t0 + 3 * M);
    expect(summary(b.got)).toEqual([]);
    // once it has, the cleared condition resolves the alert
    await b.feed('h1', 1, t0 + 7 * M);
    await b.proc.tick(t0 + 7 * M);
    expect(summary(b.got)).toEqual(['file/log firing h2', 'file/log resolved h1', 'webhook/ops firing h2', 'webhook/ops resolved h1']);
    await b.proc.shutdown();
  });

  /** A processor that started with no alert state fires its alert as a new one, then shuts down (and saves); returns the time it began. */
  async function firesAsNew(a: ReturnType<typeof instance>): Promise<number> {
    const t0 = Date.now();
    await a.feed('h1', 50, t0);
    await a.proc.tick(t0);
    await a.proc.tick(t0 + M);
    expect(summary(a.got)).toEqual(['file/log firing h1', 'webhook/ops firing h1']);
    await a.proc.shutdown();
    return t0;
  }

  it('a damaged state file does not stop the processor', async () => {
    const dir = tempDir();
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, 'processors/alerts'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'processors/alerts/state.json'), '{"version": 1, "instances": [nul');
    const a = instance(dir);
    await a.proc.start({ reportFatal: () => undefined });
    await firesAsNew(a);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'processors/alerts/state.json'), 'utf8')).instances).toHaveLength(1);
  });

  it('saved alerts whose fields have the wrong types are skipped with a warning; the others are kept and evaluation goes on', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const a = instance(dir);
    await a.proc.start({ reportFatal: () => undefined });
    const t0 = await firesAsNew(a);
    const file = path.join(dir, 'processors/alerts/state.json');
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as { instances: Record<string, unknown>[] };
    const good = state.instances[0]!;
    // valid JSON, wrong types: what a hand edit or a bad disk can leave
    state.instances.push({ ...good, key: `${good.key as string}x`, labels: null }, { ...good, key: `${good.key as string}y`, labels: { host: 5 } }, { ...good, key: `${good.key as string}z`, state: 'weird' }, 7 as never);
    fs.writeFileSync(file, JSON.stringify(state));
    const log = recordingLogger();
    const b = instance(dir, undefined, log.logger);
    await b.proc.start({ reportFatal: () => undefined });
    await b.feed('h1', 50, t0 + 2 * M);
    await b.feed('h2', 50, t0 + 2 * M);
    await b.proc.tick(t0 + 2 * M);
    await b.proc.tick(t0 + 3 * M);
    const lines = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(lines.filter((l) => l.skipped !== undefined)).toEqual([expect.objectContaining({ level: 'warn', file, skipped: 4 })]);
    // h1 kept firing with its startsAt (and its group's notification log): h2 fires and brings it along
    expect(summary(b.got)).toEqual(['file/log firing h1', 'file/log firing h2', 'webhook/ops firing h1', 'webhook/ops firing h2']);
    expect(b.got[0]!.alerts.find((x) => x.labels.host === 'h1')!.startsAt).toBe(new Date(t0).toISOString());
    await b.proc.shutdown();
  });

  it('a state file of another version or shape is moved aside and named in an error; the processor starts with no state', async () => {
    for (const content of ['{"version": 3, "instances": []}', '{"version": 2, "instances": 5}', '{"version": 2, "instances": [], "dispatcher": {"groups": 7}}', '[1, 2]']) {
      const dir = tempDir();
      dirs.push(dir);
      const file = path.join(dir, 'processors/alerts/state.json');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      const log = recordingLogger();
      const a = instance(dir, undefined, log.logger);
      await a.proc.start({ reportFatal: () => undefined });
      // kept for a look, not overwritten by the next save
      expect(fs.readFileSync(`${file}.corrupt`, 'utf8')).toBe(content);
      const errors = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'error');
      expect(errors).toEqual([expect.objectContaining({ file, message: 'alert state file unreadable; starting with no alert state (old file kept as state.json.corrupt)' })]);
      await firesAsNew(a);
      expect(JSON.parse(fs.readFileSync(file, 'utf8')).version).toBe(2);
    }
  });

  it('a refused emit is retried at the next evaluation, not lost', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const t0 = Date.now();
    const fail = { on: true };
    const a = instance(dir, fail);
    await a.proc.start({ reportFatal: () => undefined });
    await a.feed('h1', 50, t0);
    await a.proc.tick(t0);
    await a.proc.tick(t0 + M);
    expect(a.got).toHaveLength(0);
    fail.on = false;
    await a.proc.tick(t0 + M + 10_000);
    expect(summary(a.got)).toEqual(['file/log firing h1', 'webhook/ops firing h1']);
    await a.proc.shutdown();
    return t0;
  });
});

describe('kill -9', () => {
  function child(stateDir: string) {
    const c = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '../processors/alerts/testdata/crash-child.ts'), stateDir], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(c);
    const lines = readline.createInterface({ input: c.stdout })[Symbol.asyncIterator]();
    const next = async () => JSON.parse(((await lines.next()).value as string) ?? 'null') as { tick?: number; notifications: AlertNotification[] };
    const send = (o: object) => c.stdin.write(`${JSON.stringify(o)}\n`);
    return { c, next, send };
  }

  it('a killed daemon neither pages twice nor loses the resolve', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const t0 = Date.now();
    const a = child(dir);
    await a.next(); // ready
    a.send({ feed: 50, t: t0 });
    a.send({ tick: t0 });
    const first = await a.next();
    expect(first.notifications.map((n) => `${n.status} ${n.alerts[0]!.labels.alertname}`)).toEqual(['firing HighLoad']);
    a.c.kill('SIGKILL');
    await new Promise((r) => a.c.once('exit', r));

    const b = child(dir);
    await b.next();
    // the window (1m) has not been observed for its full length since the restart: a low value is no
    // data for clearing, so the alert neither resolves nor pages again
    b.send({ feed: 2, t: t0 + M });
    b.send({ tick: t0 + M });
    expect((await b.next()).notifications).toEqual([]);
    // a minute after the restart it has: the cleared condition resolves the alert (same startsAt)
    b.send({ feed: 2, t: t0 + 2 * M + 30_000 });
    b.send({ tick: t0 + 2 * M + 30_000 });
    const resolved = (await b.next()).notifications;
    expect(resolved.map((n) => `${n.exporters.join(',')} ${n.status} ${n.alerts[0]!.labels.alertname}`)).toEqual(['webhook/ops resolved HighLoad']);
    expect(resolved[0]!.alerts[0]!.startsAt).toBe(new Date(t0).toISOString());
    b.c.stdin.end();
  }, 30_000);
});
