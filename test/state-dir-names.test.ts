/**
 * Each component's state folder (its sending queue, alert state, budgets) is its own: the folder name of an id
 * (src/component.ts stateDirName) is different for different ids. Before, every character outside
 * `[A-Za-z0-9_.-]` became `_`, so `webhook/a@b` and `webhook/a_b` wrote one queue, and each replayed the other's
 * notifications to its own endpoint after a restart. An upgrade moves a folder of the old naming to the new one,
 * unless two configured ids shared it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { legacyStateDirName, stateDirName } from '../src/component.ts';
import { DiskQueue } from '../src/delivery/disk-queue.ts';
import { recordingLogger, tempDir } from './helpers/index.ts';
import { startService } from './helpers/service.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('stateDirName', () => {
  it('gives different ids different folders, and ids of plain characters the name they always had', () => {
    const ids = ['webhook', 'webhook/a_b', 'webhook/a@b', 'webhook/a/b', 'webhook/a b', 'webhook/a%40b', 'webhook/a%b', 'webhook/ü', 'webhook/u', 'webhook/é', 'webhook/😀', 'webhook/..', 'webhook/.', 'webhook/a.b', 'webhook/A', 'http_json/x:1', 'http_json/x;1', 'memory_limiter'];
    const names = ids.map(stateDirName);
    expect(new Set(names).size).toBe(ids.length);
    for (const n of names) expect(n).toMatch(/^[A-Za-z0-9_.%-]+$/);
    for (const id of ['webhook', 'webhook/a_b', 'webhook/a.b', 'slack/on-call', 'http_json', 'memory_limiter', 'cost/team_1']) expect(stateDirName(id)).toBe(legacyStateDirName(id));
    expect(stateDirName('webhook/a@b')).toBe('webhook_a%40b');
    expect(legacyStateDirName('webhook/a@b')).toBe(legacyStateDirName('webhook/a_b'));
  });
});

const yaml = (dir: string, exporters: string[]) => `receivers: {nop: {}}
processors: {alerts: {rules: [{name: R, metric: m, stat: last, op: ">", threshold: 0}], route: {exporters: [${exporters.map((e) => JSON.stringify(e)).join(', ')}]}}}
exporters: {${exporters.map((e) => `${JSON.stringify(e)}: {url: "http://127.0.0.1:9/hook"}`).join(', ')}}
service:
  state_dir: ${dir}/state
  telemetry: {endpoint: "127.0.0.1:0"}
  pipelines: {main: {receivers: [nop], processors: [alerts], exporters: [${exporters.map((e) => JSON.stringify(e)).join(', ')}]}}
`;

/** A sending queue of `n` items in `dir` (as an earlier version left it). */
async function queueOf(dir: string, n: number): Promise<void> {
  const q = await DiskQueue.open<{ n: number }>(dir);
  await q.append(Array.from({ length: n }, (_, i) => ({ item: { n: i }, severity: 0 })));
  await q.close();
}

async function started(dir: string, exporters: string[]): Promise<string[]> {
  const { logger, lines } = recordingLogger();
  const service = await startService(dir, yaml(dir, exporters), logger);
  cleanup.push(async () => {
    await service.shutdown();
  });
  return lines;
}

describe('state folders of the old naming', () => {
  it('are moved to the new name at start, with what they hold', async () => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const root = path.join(dir, 'state', 'exporters');
    await queueOf(path.join(root, 'webhook_a_b', 'queue'), 3);
    const lines = await started(dir, ['webhook/a@b']);
    expect(fs.existsSync(path.join(root, 'webhook_a_b'))).toBe(false);
    expect(await DiskQueue.countLive(path.join(root, 'webhook_a%40b', 'queue'))).toBe(3);
    expect(lines.some((l) => l.includes('moved the state of exporter \\"webhook/a@b\\"'))).toBe(true);
    // nothing is reported as the queue of an exporter no longer configured
    expect(lines.filter((l) => l.includes('no longer configured'))).toEqual([]);
  });

  it('stay with the id whose name they still are when two configured ids shared them, with a warning naming both', async () => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const root = path.join(dir, 'state', 'exporters');
    await queueOf(path.join(root, 'webhook_a_b', 'queue'), 2);
    const lines = await started(dir, ['webhook/a@b', 'webhook/a_b']);
    expect(await DiskQueue.countLive(path.join(root, 'webhook_a_b', 'queue'))).toBe(2);
    expect(fs.existsSync(path.join(root, 'webhook_a%40b', 'queue')) ? await DiskQueue.countLive(path.join(root, 'webhook_a%40b', 'queue')) : 0).toBe(0);
    const warned = lines.filter((l) => l.includes('was shared by')).map((l) => JSON.parse(l) as { level: string; ids: string[] });
    expect(warned).toEqual([expect.objectContaining({ level: 'warn', ids: ['webhook/a@b', 'webhook/a_b'] })]);
  });
});
