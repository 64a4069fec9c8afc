/**
 * Crash safety of the delivery queue: 1,000 notifications queued for a target that is down, kill -9, restart,
 * target up: every notification arrives with the same fingerprint and groupKey.
 *
 * Delivery is at least once, not exactly once: a kill between the target's 200 and the queue's DONE
 * record makes the next start send that notification again (nothing can make the two one atomic step
 * without the target's help). Receivers dedupe on groupKey + fingerprint, as Alertmanager does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import type { Exporter } from '../src/component.ts';
import { webhookExporterFactory } from '../exporters/webhook/index.ts';
import type { WebhookPayload } from '../src/delivery/webhook-payload.ts';
import { configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { WebhookReceiver } from './doubles/webhook-receiver.ts';
import { freePort } from './helpers/daemon.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});


describe('delivery crash safety', () => {
  it('1,000 notifications queued for a down target survive kill -9 and all arrive after restart', async () => {
    const N = 1000;
    const stateDir = tempDir();
    cleanup.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    const child = fork(new URL('./doubles/webhook-child.ts', import.meta.url).pathname, [url, stateDir, String(N)], {
      execArgv: ['--import', 'tsx'],
      stdio: 'ignore',
    });
    cleanup.push(() => void child.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`child exited with ${code} before queueing`)));
    });
    // Let it fail a few rounds of retries against the closed port, then kill it hard.
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const receiver = await new WebhookReceiver().start(port);
    cleanup.push(() => receiver.close());
    const exp = webhookExporterFactory.create(
      testSettings('exporter', 'webhook/crash', { stateDir }),
      configFor(webhookExporterFactory, { url, sending_queue: { num_consumers: 8 } }),
    ) as Exporter;
    await exp.start({ reportFatal: () => undefined });
    cleanup.push(() => exp.shutdown());

    const seen = new Map<string, WebhookPayload>();
    await waitFor(
      () => {
        for (const r of receiver.accepted) {
          const p = r.json as WebhookPayload;
          seen.set(p.groupKey, p);
        }
        return seen.size === N;
      },
      20_000,
      'all 1,000 notifications',
    );
    for (let i = 0; i < N; i++) {
      const p = seen.get(`{}:{n="${i}"}`)!;
      expect(p, `notification ${i}`).toBeDefined();
      expect(p.alerts[0]!.labels.n).toBe(String(i));
      expect(p.receiver).toBe('webhook/crash');
    }
    // Fingerprints are those the child queued: the same label set gives the same fingerprint on every delivery.
    const byFp = new Map<string, string>();
    for (const r of receiver.accepted) {
      const p = r.json as WebhookPayload;
      const prev = byFp.get(p.alerts[0]!.fingerprint);
      if (prev) expect(prev).toBe(p.groupKey);
      byFp.set(p.alerts[0]!.fingerprint, p.groupKey);
    }
    expect(byFp.size).toBe(N);
    // At least once: duplicates are possible only for deliveries cut by the kill (none here: the target was down).
    expect(receiver.accepted.length).toBe(N);
    await exp.shutdown();
    expect((exp as unknown as { delivery: { size: number } }).delivery.size).toBe(0);
  });
});
