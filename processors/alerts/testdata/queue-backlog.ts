/**
 * An alerts processor with one `QueueBacklog` rule (`queue_depth` > 0 per `user.id`) routed to
 * `webhook/ops`, grouped by user, on the fake clock (2026-11-23T10:00:00Z): what the rule-limit and
 * aggregation-group-limit tests storm. Call inside a test that restores real timers afterwards.
 */
import { vi } from 'vitest';
import { SinkConsumer, configFor, tempDir, testSettings } from '../../../test/helpers/index.ts';
import type { AlertEngine } from '../alert-engine.ts';
import type { AlertsProcessor } from '../alerts-processor.ts';
import { alertsProcessorFactory } from '../index.ts';
import { batchOf, gauge } from './batches.ts';

/** `rule` is merged into the rule, `extra` into the processor config; the state dir is pushed onto `dirs`. */
export async function startQueueBacklog(dirs: string[], rule: Record<string, unknown>, extra: Record<string, unknown> = {}) {
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
      ...extra,
    }),
  ) as AlertsProcessor;
  await proc.start({ reportFatal: () => undefined });
  /** queue_depth = `value` now for users u<from> .. u<to - 1>. */
  const send = async (from: number, to: number, value = 5) => {
    const points = Array.from({ length: to - from }, (_, i) => gauge('queue_depth', { 'user.id': `u${from + i}` }, value, Date.now()));
    await proc.process(batchOf(points), new SinkConsumer());
  };
  return { proc, emitted, send, engine: (proc as unknown as { engine: AlertEngine }).engine };
}
