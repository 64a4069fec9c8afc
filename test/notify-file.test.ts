import { afterEach, describe, expect, it } from 'vitest';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Exporter } from '../src/component.ts';
import { parseOtlpJson, toOtlpJson } from '../src/otlp/json.ts';
import { fileExporterFactory } from '../exporters/file/index.ts';
import { repairTornTail } from '../exporters/file/file-exporter.ts';
import { configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function dir(): string {
  const d = tempDir();
  cleanup.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

async function setup(raw: Record<string, unknown>) {
  const d = dir();
  const file = path.join(d, 'out', 'vigil.jsonl');
  const exp = fileExporterFactory.create(testSettings('exporter', 'file/alerts', { stateDir: d }), configFor(fileExporterFactory, { path: file, ...raw })) as Exporter;
  await exp.start({ reportFatal: () => undefined });
  cleanup.push(() => exp.shutdown());
  return { exp, file, d };
}

const readLines = (f: string) =>
  fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/otlp-examples/${name}`, import.meta.url), 'utf8');

describe('file exporter', () => {
  it('writes OTLP/JSON export requests for telemetry and one {"alert"} line per routed alert', async () => {
    const { exp, file } = await setup({});
    const traces = parseOtlpJson('traces', fixture('trace.json'));
    const metrics = parseOtlpJson('metrics', fixture('metrics.json'));
    const alerts = [makeAlert({ alertname: 'A', severity: 'warning', pod: '1' }), makeAlert({ alertname: 'A', severity: 'warning', pod: '2' }, { value: NaN })];
    await exp.consume({ ...traces, ...metrics, alerts: [makeNotification(['file/alerts'], { alerts }), makeNotification(['slack/oncall'])] });
    const lines = readLines(file);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual(JSON.parse(JSON.stringify(toOtlpJson(traces, 'traces'))));
    expect(lines[1]).toEqual(JSON.parse(JSON.stringify(toOtlpJson(metrics, 'metrics'))));
    expect(lines[2]).toEqual({
      alert: {
        status: 'firing',
        labels: alerts[0]!.labels,
        annotations: alerts[0]!.annotations,
        startsAt: alerts[0]!.startsAt,
        endsAt: alerts[0]!.endsAt,
        generatorURL: alerts[0]!.generatorURL,
        fingerprint: alerts[0]!.fingerprint,
        value: 2345.5,
        receiver: 'file/alerts',
      },
    });
    expect((lines[3]!.alert as { value: unknown }).value).toBeNull();
    // The trace line reads back into the same batch.
    expect(parseOtlpJson('traces', JSON.stringify(lines[0]))).toEqual(traces);
  });

  it('signals narrows what is written', async () => {
    const { exp, file } = await setup({ signals: ['logs'] });
    await exp.consume({ ...parseOtlpJson('traces', fixture('trace.json')), alerts: [makeNotification(['file/alerts'])] });
    expect(fs.existsSync(file) ? readLines(file) : []).toHaveLength(0);
    await exp.consume(parseOtlpJson('logs', fixture('logs.json')));
    expect(Object.keys(readLines(file)[0]!)).toEqual(['resourceLogs']);
  });

  it('rotates by size: path -> path.1 -> path.2, keeping max_backups', async () => {
    const { exp, file } = await setup({ max_megabytes: 0.001, max_backups: 2 }); // ~1 KiB
    for (let i = 0; i < 12; i++) {
      const a = makeAlert({ alertname: 'R', severity: 'info', i: String(i) }, { annotations: { summary: 'z'.repeat(300) } });
      await exp.consume({ alerts: [makeNotification(['file/alerts'], { alerts: [a] })] });
    }
    const names = fs.readdirSync(path.dirname(file)).sort();
    expect(names).toEqual(['vigil.jsonl', 'vigil.jsonl.1', 'vigil.jsonl.2']);
    for (const n of names) expect(fs.statSync(path.join(path.dirname(file), n)).size).toBeLessThanOrEqual(1048 + 600);
    const idx = (f: string) => readLines(f).map((l) => Number((l.alert as { labels: { i: string } }).labels.i));
    const current = idx(file);
    const b1 = idx(`${file}.1`);
    const b2 = idx(`${file}.2`);
    expect(current.at(-1)).toBe(11);
    expect(b1.at(-1)! + 1).toBe(current[0]);
    expect(b2.at(-1)! + 1).toBe(b1[0]);
  });

  it('writes to /dev/null (a device: fdatasync EINVAL is not an error, no rotation, no cut back)', async () => {
    for (const fsync of ['batch', 'interval', 'none', true] as const) {
      const exp = fileExporterFactory.create(testSettings('exporter', 'file/null'), configFor(fileExporterFactory, { path: '/dev/null', fsync, max_megabytes: 0.001 })) as Exporter;
      await exp.start({ reportFatal: () => undefined });
      const traces = parseOtlpJson('traces', fixture('trace.json'));
      for (let i = 0; i < 5; i++) await expect(exp.consume(traces), `fsync: ${String(fsync)}`).resolves.toBeUndefined();
      await exp.shutdown();
    }
    expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('batches that arrive together are written as one group, each whole and in arrival order, under every fsync policy', async () => {
    for (const fsync of ['batch', 'interval', 'none'] as const) {
      const { exp, file } = await setup({ fsync, fsync_interval: '10ms' });
      const batches = Array.from({ length: 50 }, (_, i) => ({
        alerts: [makeNotification(['file/alerts'], { alerts: [makeAlert({ alertname: 'G', severity: 'info', i: String(i) })] })],
      }));
      await Promise.all(batches.map((b) => exp.consume(b)));
      const order = readLines(file).map((l) => Number((l.alert as { labels: { i: string } }).labels.i));
      expect(order, `fsync: ${fsync}`).toEqual(batches.map((_, i) => i));
    }
  });

  it('rejects an unknown fsync policy with the choices', () => {
    expect(() => configFor(fileExporterFactory, { path: '/tmp/x.jsonl', fsync: 'always' })).toThrow(/fsync/);
  });

  it('cuts a torn last line on start', async () => {
    const d = dir();
    const file = path.join(d, 'x.jsonl');
    fs.writeFileSync(file, '{"alert":{"a":1}}\n{"alert":{"a":2}}\n{"alert":{"a":');
    expect(repairTornTail(file)).toBe('{"alert":{"a":'.length);
    fs.appendFileSync(file, 'no newline at all');
    const exp = fileExporterFactory.create(testSettings('exporter', 'file/alerts', { stateDir: d }), configFor(fileExporterFactory, { path: file })) as Exporter;
    await exp.start({ reportFatal: () => undefined });
    await exp.consume({ alerts: [makeNotification(['file/alerts'])] });
    await exp.shutdown();
    const lines = readLines(file);
    expect(lines).toHaveLength(3);
    expect(lines[2]!.alert).toBeDefined();
  });

  it('after kill -9 in the middle of writing, every line that remains is whole', async () => {
    const d = dir();
    const file = path.join(d, 'crash.jsonl');
    const child = fork(new URL('./doubles/file-writer-child.ts', import.meta.url).pathname, [file, d], { execArgv: ['--import', 'tsx'], stdio: 'ignore' });
    cleanup.push(() => void child.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    await waitFor(() => fs.existsSync(file) && fs.statSync(file).size > 3_000_000, 20_000, 'child writing');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const exp = fileExporterFactory.create(testSettings('exporter', 'file/alerts', { stateDir: d }), configFor(fileExporterFactory, { path: file })) as Exporter;
    await exp.start({ reportFatal: () => undefined });
    await exp.shutdown();
    const text = fs.readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(10);
    lines.forEach((l, i) => expect((JSON.parse(l) as { alert: { labels: { i: string } } }).alert.labels.i).toBe(String(i)));
  });
});
