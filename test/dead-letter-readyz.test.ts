/**
 * A dead-letter line that cannot be written (here the path is a folder: EISDIR; on a bad disk day, a line larger
 * than the room left while the queue's small DONE records still fit) keeps the notification queued and is
 * retried. Before, only the log said so and /readyz answered 200; now /readyz names `(dead letter)` until a
 * write works, and the line is then written once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Exporter } from '../src/component.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { webhookExporterFactory } from '../exporters/webhook/index.ts';
import { configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { RecordingServer } from './doubles/http-server.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('a dead-letter file that cannot be written', () => {
  it('is on /readyz while it fails, and clears once the line is written', async () => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const target = await new RecordingServer(() => ({ status: 400, body: 'invalid_payload' })).start();
    cleanup.push(() => target.close());
    const dlFile = path.join(dir, 'exporters', 'webhook_dl', 'dead-letter.jsonl');
    fs.mkdirSync(dlFile, { recursive: true }); // a folder where the file goes
    const telemetry = new ServiceTelemetry();
    telemetry.phase = 'running';
    const exp = webhookExporterFactory.create(
      testSettings('exporter', 'webhook/dl', { stateDir: dir, telemetry: telemetry.forComponent('exporter', 'webhook/dl') }),
      configFor(webhookExporterFactory, { url: `${target.url}/hook` }),
    ) as Exporter & { queue: { size: number } };
    await exp.start({ reportFatal: () => undefined });
    cleanup.push(() => exp.shutdown());
    expect(telemetry.notReadyReason()).toBeUndefined();
    await exp.consume({ alerts: [makeNotification(['webhook/dl'], { alerts: [makeAlert({ alertname: 'DL' })] })] });
    await waitFor(() => telemetry.notReadyReason() !== undefined, 10_000, '/readyz to name the dead letter');
    expect(telemetry.notReadyReason()).toMatch(/exporter\/webhook\/dl \(dead letter\): cannot write the dead-letter file: .*dead-letter\.jsonl/);
    expect(exp.queue.size, 'kept queued').toBe(1);
    fs.rmSync(dlFile, { recursive: true });
    await waitFor(() => exp.queue.size === 0, 15_000, 'the dead letter written');
    expect(telemetry.notReadyReason()).toBeUndefined();
    expect(fs.readFileSync(dlFile, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  }, 30_000);
});
