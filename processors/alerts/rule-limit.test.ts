/**
 * The per-rule alert limit (Prometheus's rule `limit`): beyond it the rule's alerts are withheld and one
 * RuleLimitExceeded alert carries the count; back within the limit, that alert resolves and the rule's
 * alerts return. The default limit bounds a rule that nobody limited.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SinkConsumer, configFor } from '../../test/helpers/index.ts';
import { startQueueBacklog } from './testdata/queue-backlog.ts';
import { alertsProcessorFactory } from './index.ts';

const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(rule: Record<string, unknown>) {
  const r = await startQueueBacklog(dirs, rule);
  /** queue_depth for users u0 .. u<users - 1>. */
  const send = (users: number, value = 5) => r.send(0, users, value);
  return { proc: r.proc, emitted: r.emitted, send };
}

const names = (s: SinkConsumer) => s.alerts.flatMap((n) => n.alerts.map((a) => `${a.labels.alertname}:${a.status}`));

describe('rule limit', () => {
  it('replaces an alert storm by one RuleLimitExceeded alert with the count, and resolves it once the rule is back within its limit', async () => {
    const { proc, emitted, send } = await setup({ limit: 10 });
    await send(5);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(names(emitted).filter((n) => n === 'QueueBacklog:firing')).toHaveLength(5);
    emitted.batches.length = 0;

    await send(2000);
    await vi.advanceTimersByTimeAsync(10_000);
    const storm = emitted.alerts.flatMap((n) => n.alerts);
    const limit = storm.filter((a) => a.labels.alertname === 'RuleLimitExceeded');
    expect(limit).toHaveLength(1);
    expect(limit[0]).toMatchObject({ status: 'firing', labels: { alertname: 'RuleLimitExceeded', rule: 'QueueBacklog', severity: 'warning' }, value: 2000 });
    expect(limit[0]!.annotations.summary).toBe('rule QueueBacklog would raise 2000 alerts, over its limit of 10: its alerts are withheld until it is back within the limit');
    // The 5 that fired before are resolved; none of the 2000 is sent.
    expect(storm.filter((a) => a.labels.alertname === 'QueueBacklog').map((a) => a.status)).toEqual(['resolved', 'resolved', 'resolved', 'resolved', 'resolved']);
    emitted.batches.length = 0;

    // Still over: no new notification for it (repeat_interval), the rule's alerts stay withheld.
    await send(2000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(names(emitted).filter((n) => n.startsWith('QueueBacklog'))).toEqual([]);

    // Back within the limit once the window forgets the burst: RuleLimitExceeded resolves, the rule's alerts return.
    await vi.advanceTimersByTimeAsync(70_000);
    expect(names(emitted)).toEqual(['RuleLimitExceeded:resolved']);
    await send(3);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(names(emitted).filter((n) => n === 'QueueBacklog:firing')).toHaveLength(3);
    await proc.shutdown();
  });

  it('has a default limit of 500, and 0 means none', async () => {
    expect(configFor(alertsProcessorFactory, { rules: [{ name: 'R', metric: 'm', stat: 'last', op: '>', threshold: 1 }] }).rules[0]!.limit).toBe(500);
    const { proc, emitted, send } = await setup({ limit: 0 });
    await send(600);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(names(emitted).filter((n) => n === 'QueueBacklog:firing')).toHaveLength(600);
    expect(names(emitted)).not.toContain('RuleLimitExceeded:firing');
    await proc.shutdown();
  });
});
