/**
 * Notifications queued for an exporter that the config no longer has (a reload removed or renamed it, or a
 * restart with a new config): they stay on disk, undelivered. Before, nothing said so. Now the start and every
 * reload warn with the folder and the count, read without changing the folder, and the queue is delivered when
 * an exporter with that id comes back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { DiskQueue } from '../src/delivery/disk-queue.ts';
import { recordingLogger, tempDir } from './helpers/index.ts';
import { startService } from './helpers/service.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const yaml = (dir: string, exporter: string) => `receivers: {nop: {}}
exporters: {${exporter}: {}}
service:
  state_dir: ${dir}/state
  telemetry: {endpoint: "127.0.0.1:0"}
  pipelines: {main: {receivers: [nop], exporters: [${exporter}]}}
`;

describe('the sending queue of an exporter no longer configured', () => {
  it('is reported at start and at reload with its folder and count, and left as it was', async () => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const qdir = path.join(dir, 'state', 'exporters', 'webhook_gone', 'queue');
    const q = await DiskQueue.open<{ n: number }>(qdir);
    const entries = await q.append([1, 2, 3].map((n) => ({ item: { n }, severity: 0 })));
    q.remove(entries[0]!.id);
    await q.close();
    const before = fs.readdirSync(qdir).map((f) => [f, fs.statSync(path.join(qdir, f)).size]);

    const file = path.join(dir, 'pipelines.yaml');
    const { logger, lines } = recordingLogger();
    const service = await startService(dir, yaml(dir, 'nop'), logger);
    cleanup.push(async () => {
      await service.shutdown();
    });
    const warned = () => lines.filter((l) => l.includes('no longer configured')).map((l) => JSON.parse(l) as { level: string; queue: string; items: number });
    expect(warned()).toEqual([expect.objectContaining({ level: 'warn', queue: qdir, items: 2 })]);
    expect(fs.readdirSync(qdir).map((f) => [f, fs.statSync(path.join(qdir, f)).size])).toEqual(before);

    fs.writeFileSync(file, yaml(dir, 'debug'));
    expect(await service.reload([file])).toBe(true);
    expect(warned()).toHaveLength(2);
    expect(warned()[1]).toMatchObject({ queue: qdir, items: 2 });
  });
});
