/**
 * The per-rule alert limit (Prometheus's rule `limit`): beyond it the rule's alerts are withheld and one
 * RuleLimitExceeded alert carries the count; back within the limit, that alert resolves and the rule's
 * alerts return. The default limit bounds a rule that nobody limited.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SinkConsumer, configFor, tempDir, testSettings } from '../../test/helpers/index.ts';
import type { AlertsProcessor } from './alerts-processor.ts';
import { batchOf, gauge } from './testdata/batches.ts';
import { alertsProcessorFactory } from './index.ts';

const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(rule: Record<string, unknown>) {
  vi.useFakeTimers({ now: new Date('2026-11-23T10:00:00Z') });
  const dir = tempDir();
  dirs.push(dir);
  const emitted = new SinkConsumer();
  const settings = testSettings('processor', 'alerts', {
    stateDir: dir,
    emit: emitted,
    service: { componentIds: { receiver: [], processor: ['alerts'], exporter: ['webhook/ops'] }, pipelines: { main: { receivers: [], processors: ['alerts'], exporters: ['webhook/ops'] } } },
  });
  const proc = alertsProcessorFactory.create(
    settings,
    configFor(alertsProcessorFactory, {
      interval: '10s',
      rules: [{ name: 'QueueBacklog', metric: 'queue_depth', stat: 'last', group_by: ['user.id'], window: '1m', op: '>', threshold: 0, ...rule }],
      route_defaults: { group_wait: '0s', group_interval: '10s', group_by: ['alertname', 'user.id'] },
    }),
  ) as AlertsProcessor;
  await proc.start({ reportFatal: () => undefined });
  const send = async (users: number, value = 5) => {
    const points = Array.from({ length: users }, (_, i) => gauge('queue_depth', { 'user.id': `u${i}` }, value, Date.now()));
    await proc.process(batchOf(points), new SinkConsumer());
  };
  return { proc, emitted, send };
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
