/**
 * Alerts processors for tests: one started on the fake clock, and one with a `QueueBacklog` rule (`queue_depth` > 0 per `user.id`) routed to
 * `webhook/ops`, grouped by user, on the fake clock (2026-11-23T10:00:00Z): what the rule-limit and
 * aggregation-group-limit tests storm. Call inside a test that restores real timers afterwards.
 */
import { vi } from 'vitest';
import { SinkConsumer, configFor, tempDir, testSettings } from '../../../test/helpers/index.ts';
import type { Consumer } from '../../../src/component.ts';
import type { AlertEngine } from '../alert-engine.ts';
import type { AlertsProcessor } from '../alerts-processor.ts';
import { alertsProcessorFactory } from '../index.ts';
import { batchOf, gauge } from './batches.ts';

/**
 * An alerts processor started on the fake clock (2026-11-23T10:00:00Z) in a temp state dir (pushed onto
 * `dirs`), in one pipeline `main` -> `webhook/ops`, with `config` (its `interval`, rules, routes...);
 * notifications go to `emit` (a SinkConsumer by default). Call inside a test that restores real timers.
 */
export async function startAlertsProcessor<E extends Consumer = SinkConsumer>(dirs: string[], config: Record<string, unknown>, emit?: E) {
  vi.useFakeTimers({ now: new Date('2026-11-23T10:00:00Z') });
  const dir = tempDir();
  dirs.push(dir);
  const emitted = emit ?? (new SinkConsumer() as unknown as E);
  const settings = testSettings('processor', 'alerts', {
    stateDir: dir,
    emit: emitted,
    service: { componentIds: { receiver: [], processor: ['alerts'], exporter: ['webhook/ops'] }, pipelines: { main: { receivers: [], processors: ['alerts'], exporters: ['webhook/ops'] } } },
  });
  const proc = alertsProcessorFactory.create(settings, configFor(alertsProcessorFactory, config)) as AlertsProcessor;
  await proc.start({ reportFatal: () => undefined });
  return { proc, emitted, dir };
}

/** `rule` is merged into the rule, `extra` into the processor config; the state dir is pushed onto `dirs`. */
export async function startQueueBacklog(dirs: string[], rule: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const { proc, emitted } = await startAlertsProcessor(dirs, {
    interval: '10s',
    rules: [{ name: 'QueueBacklog', metric: 'queue_depth', stat: 'last', group_by: ['user.id'], window: '1m', op: '>', threshold: 0, ...rule }],
    route_defaults: { group_wait: '0s', group_interval: '10s', group_by: ['alertname', 'user.id'] },
    ...extra,
  });
  /** queue_depth = `value` now for users u<from> .. u<to - 1>. */
  const send = async (from: number, to: number, value = 5) => {
    const points = Array.from({ length: to - from }, (_, i) => gauge('queue_depth', { 'user.id': `u${from + i}` }, value, Date.now()));
    await proc.process(batchOf(points), new SinkConsumer());
  };
  return { proc, emitted, send, engine: (proc as unknown as { engine: AlertEngine }).engine };
}
