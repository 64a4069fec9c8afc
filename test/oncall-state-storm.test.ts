/**
 * An alert storm through the exporters that keep state in arrival order (pagerduty, opsgenie: incidents.json;
 * alertmanager: active.json). The alerts processor hands each notification over on its own; each used to
 * rewrite the whole state file synchronously (temp file, fsync, rename), 1,000 notifications holding the event
 * loop 1.6 s. The state file is now written once for all the notifications accepted while a write runs
 * (src/delivery/state-file-writer.ts), and each notification is queued only once the state it changed is on
 * disk. Counted here: renames onto the state file (one per write), and what the file holds; no timing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Exporter, Factory } from '../src/component.ts';
import type { NotificationExporter } from '../src/delivery/notification-exporter.ts';
import { StateFileWriter } from '../src/delivery/state-file-writer.ts';
import { alertmanagerExporterFactory } from '../exporters/alertmanager/index.ts';
import { opsgenieExporterFactory } from '../exporters/opsgenie/index.ts';
import { pagerdutyExporterFactory } from '../exporters/pagerduty/index.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';
import { configFor, tempDir, testSettings } from './helpers/index.ts';

const N = 1000;
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
  vi.restoreAllMocks();
});

/** Counts renames onto a file named `name` (each atomic write of a state file ends with one), sync or not. */
function countRenamesOnto(name: string): () => number {
  let n = 0;
  const onto = (to: fs.PathLike) => path.basename(String(to)) === name && n++;
  const sync = fs.renameSync;
  const async = fs.promises.rename;
  vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
    onto(to);
    return sync(from, to);
  });
  vi.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
    onto(to);
    return async(from, to);
  });
  return () => n;
}

describe('state file writes in an alert storm', () => {
  const cases: [string, Factory, Record<string, unknown>, string, (file: string) => number][] = [
    [
      'pagerduty',
      pagerdutyExporterFactory as Factory,
      { url: 'http://127.0.0.1:9/v2/enqueue', routing_key: 'R0UT1NGKEY0000000000000000000000' },
      'incidents.json',
      (f) => Object.values(JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, { firing: string[] }>).filter((i) => i.firing.length).length,
    ],
    [
      'opsgenie',
      opsgenieExporterFactory as Factory,
      { api_url: 'http://127.0.0.1:9', api_key: '00000000-0000-0000-0000-000000000000' },
      'incidents.json',
      (f) => Object.values(JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, { firing: string[] }>).filter((i) => i.firing.length).length,
    ],
    ['alertmanager', alertmanagerExporterFactory as Factory, { url: 'http://127.0.0.1:9' }, 'active.json', (f) => (JSON.parse(fs.readFileSync(f, 'utf8')) as unknown[]).length],
  ];

  it.each(cases)('%s: 1,000 notifications handed over one by one: a few writes of the state file, which then holds every one', async (type, factory, target, name, held) => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const exp = factory.create(testSettings('exporter', type, { stateDir: dir }), configFor(factory, { ...target, sending_queue: { max_items: 5000 } })) as Exporter as NotificationExporter;
    await exp.start();
    cleanup.push(() => exp.shutdown());
    const renames = countRenamesOnto(name);
    // each its own group (its own incident), each handed over as the alerts processor hands them: one consume each
    const consumes: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const alertname = `Storm${i}`;
      consumes.push(exp.consume({ alerts: [makeNotification([type], { groupKey: `{}:{alertname="${alertname}"}`, alerts: [makeAlert({ alertname })] })] }));
    }
    await Promise.all(consumes);
    expect(renames(), 'writes of the state file for 1,000 notifications').toBeLessThanOrEqual(10);
    expect(renames()).toBeGreaterThanOrEqual(1);
    // every notification's change was on disk before it was queued: the file holds all of them
    expect(held(path.join(dir, 'exporters', type, name))).toBe(N);
    expect(exp.delivery!.stats().queued + exp.delivery!.stats().delivered + exp.delivery!.stats().deadLettered).toBeGreaterThanOrEqual(N);
  });
});

describe('StateFileWriter', () => {
  it('a save resolves once a write that started after it has ended; saves during a write share the next one', async () => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'state.json');
    let state = 0;
    let snapshots = 0;
    const outcomes: (Error | undefined)[] = [];
    const w = new StateFileWriter(
      file,
      () => {
        snapshots++;
        return JSON.stringify({ state });
      },
      (err) => outcomes.push(err),
    );
    const seen: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 1; i <= 100; i++) {
      state = i;
      const mine = i;
      all.push(
        w.save().then(() => {
          seen.push((JSON.parse(fs.readFileSync(file, 'utf8')) as { state: number }).state - mine);
        }),
      );
      // a few changes arrive while the first write runs
      if (i === 50) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(snapshots, 'one write for the first 50 changes, one for the rest').toBeLessThanOrEqual(3);
    expect(seen.every((d) => d >= 0), 'when a save resolves, the file holds that change or a later one').toBe(true);
    expect(outcomes.every((e) => e === undefined)).toBe(true);
    await w.idle();
    expect(w.busy).toBe(false);
  });

  it('a failed write is reported to its owner and the save still resolves; the previous file stays', async () => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'state.json');
    fs.writeFileSync(file, '"before"');
    const outcomes: (Error | undefined)[] = [];
    // a state file whose folder is a file cannot be written (ENOTDIR)
    const bad = new StateFileWriter(path.join(file, 'inside.json'), () => '"after"', (err) => outcomes.push(err));
    await bad.save();
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.message).toMatch(/cannot write .*inside\.json/);
    expect(fs.readFileSync(file, 'utf8')).toBe('"before"');
  });
});
